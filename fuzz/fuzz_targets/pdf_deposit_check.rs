//! The check of a deposited PDF.
//! The body is `parapheur_server::fuzzing::pdf_deposit_check`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::pdf_deposit_check(data));
