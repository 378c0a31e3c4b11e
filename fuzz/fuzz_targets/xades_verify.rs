//! A detached XAdES signature and its data (`signature SEPARATOR data`).
//! The body is `parapheur_server::fuzzing::xades_verify`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::xades_verify(data));
