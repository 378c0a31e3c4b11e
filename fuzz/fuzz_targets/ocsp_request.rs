//! The internal CA's OCSP responder, on the DER request body of `POST /api/v1/pki/ocsp`.
//! The body is `parapheur_server::fuzzing::ocsp_request`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::ocsp_request(data));
