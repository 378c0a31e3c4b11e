//! The `circuit` JSON of an on-demand upload.
//! The body is `parapheur_server::fuzzing::circuit_json`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::circuit_json(data));
