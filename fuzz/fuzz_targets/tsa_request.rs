//! The built-in time-stamping authority on a DER RFC 3161 request.
//! The body is `parapheur_server::fuzzing::tsa_request`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::tsa_request(data));
