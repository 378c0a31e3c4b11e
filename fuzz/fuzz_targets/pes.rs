//! A PES_Aller: deposit check, inspection, signature verification and preparation.
//! The body is `parapheur_server::fuzzing::pes`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::pes(data));
