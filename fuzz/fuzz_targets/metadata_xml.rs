//! The `meta-data-list` XML (and its render/parse round trip).
//! The body is `parapheur_server::fuzzing::metadata_xml`, which `fuzz/regressions/` are replayed on.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parapheur_server::fuzzing::metadata_xml(data));
