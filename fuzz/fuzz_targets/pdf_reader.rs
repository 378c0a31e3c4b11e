//! The lazy PDF reader: open, page lookup, signature fields, verification, signing preparation.
//! The body is `parapheur_server::fuzzing::pdf_reader`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::pdf_reader(data));
