//! A `X.pdf.zip` deposit: unpacking, then the check of each file.
//! The body is `parapheur_server::fuzzing::zip_unpack`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::zip_unpack(data));
