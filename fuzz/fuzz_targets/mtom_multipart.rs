//! MTOM/XOP and multipart/form-data bodies (`Content-Type SEPARATOR body`).
//! The body is `parapheur_server::fuzzing::mtom_multipart`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::mtom_multipart(data));
