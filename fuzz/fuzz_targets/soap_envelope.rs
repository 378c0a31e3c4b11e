//! The SOAP envelope of a Documents request.
//! The body is `parapheur_server::fuzzing::soap_envelope`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::soap_envelope(data));
