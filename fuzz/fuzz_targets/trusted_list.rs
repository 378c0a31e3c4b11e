//! The EU trusted-list reader (`[signing] trusted_list`, ETSI TS 119 612 XML).
//! The body is `parapheur_server::fuzzing::trusted_list`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::trusted_list(data));
