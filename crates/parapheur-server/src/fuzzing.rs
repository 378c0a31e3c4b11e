//! The bodies of the fuzz targets in `fuzz/` (one function per target, reached by name), shared
//! with the test that replays `fuzz/regressions/`. Not an API.

use crate::error::ApiError;
use crate::files::{Upload, check_content, check_pdf, check_xml, unpack};
use crate::routes::form::Form;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use bytes::Bytes;
use futures_util::FutureExt;
use openssl::x509::X509;
use parapheur_domain::metadata::{parse_metadata_list, render_metadata_list};
use parapheur_domain::{FileName, OnDemandCircuit};
use parapheur_sign::keys::Algorithm;
use parapheur_sign::pades::SignOptions;
use parapheur_sign::pes::PesOptions;
use std::collections::HashMap;
use std::sync::OnceLock;

/// What a target does with one input: anything but panic, hang or eat memory.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs`.
pub const TARGETS: [(&str, Target); 12] = [
    ("pdf_reader", pdf_reader),
    ("pdf_deposit_check", pdf_deposit_check),
    ("metadata_xml", metadata_xml),
    ("pes", pes),
    ("xades_verify", xades_verify),
    ("soap_envelope", soap_envelope),
    ("mtom_multipart", mtom_multipart),
    ("zip_unpack", zip_unpack),
    ("circuit_json", circuit_json),
    ("ocsp_request", ocsp_request),
    ("tsa_request", tsa_request),
    ("trusted_list", trusted_list),
];

/// Separates the two documents of an input that needs two (signature and signed data,
/// Content-Type and body). Without it the whole input is the first and the second is empty.
pub const SEPARATOR: &[u8] = b"\n--FUZZ-SPLIT--\n";

pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        Some(i) => (&data[..i], &data[i + SEPARATOR.len()..]),
        None => (data, &[]),
    }
}

/// A validation context trusting the fuzz signer, made once per process.
fn validation() -> &'static parapheur_sign::policy::ValidationContext {
    static CTX: OnceLock<parapheur_sign::policy::ValidationContext> = OnceLock::new();
    CTX.get_or_init(|| {
        parapheur_sign::policy::ValidationContext::new(signer().cloned().into_iter().collect())
    })
}

/// A self-signed P-256 signer, made once per process.
fn signer() -> Option<&'static X509> {
    static CERT: OnceLock<Option<X509>> = OnceLock::new();
    CERT.get_or_init(|| {
        let ca = parapheur_sign::ca::generate_key(parapheur_sign::ca::KeyKind::Person).ok()?;
        let mut name = openssl::x509::X509NameBuilder::new().ok()?;
        name.append_entry_by_text("CN", "Fuzz Signer").ok()?;
        let name = name.build();
        let mut b = X509::builder().ok()?;
        b.set_version(2).ok()?;
        b.set_subject_name(&name).ok()?;
        b.set_issuer_name(&name).ok()?;
        b.set_pubkey(&ca).ok()?;
        b.set_not_before(&*openssl::asn1::Asn1Time::days_from_now(0).ok()?)
            .ok()?;
        b.set_not_after(&*openssl::asn1::Asn1Time::days_from_now(365).ok()?)
            .ok()?;
        b.sign(&ca, openssl::hash::MessageDigest::sha256()).ok()?;
        Some(b.build())
    })
    .as_ref()
}

/// The lazy PDF reader as signing and verification use it (open, page count, page lookup,
/// signature fields), then a whole verification and the preparation of a signature.
pub fn pdf_reader(data: &[u8]) {
    parapheur_sign::fuzzing::pdf_reader(data);
    let _ = parapheur_sign::verify::verify_pdf(data, validation());
    if let Some(der) = signer().and_then(|c| c.to_der().ok()) {
        let opts = SignOptions::new("Fuzz");
        let _ = parapheur_sign::pades::prepare(data, &[der], Algorithm::EcdsaP256Sha256, &opts);
    }
}

/// The check of a deposited PDF (header, `%%EOF`, the cross-reference chain, the page tree and
/// the form's fields through the lazy reader), and the page walk's partial reading of a
/// dictionary against the full one on the same bytes.
pub fn pdf_deposit_check(data: &[u8]) {
    let _ = check_pdf(data);
    parapheur_sign::fuzzing::pdf_object_skim(data);
}

/// The `meta-data-list` XML: what parses must render and parse back to the same list.
pub fn metadata_xml(data: &[u8]) {
    let Ok(list) = parse_metadata_list(data) else {
        return;
    };
    let again = parse_metadata_list(render_metadata_list(&list).as_bytes());
    assert_eq!(again.ok().as_ref(), Some(&list), "render/parse round trip");
}

/// A PES_Aller: the deposit check, its inspection (NomFic, SIREN), the verification of its
/// signatures and the preparation of a signature.
pub fn pes(data: &[u8]) {
    let _ = check_xml(data);
    let _ = parapheur_domain::pes::inspect_pes_aller(data);
    let _ = parapheur_domain::pes::collectivity_siren(data);
    let _ = parapheur_sign::xmlverify::verify_pes(data, validation());
    if let Some(cert) = signer() {
        let chain = std::slice::from_ref(cert);
        let opts = PesOptions::default();
        let _ = parapheur_sign::pes::prepare(data, chain, Algorithm::EcdsaP256Sha256, &opts);
    }
}

/// A detached XAdES signature and the file it signs: `signature SEPARATOR data`.
pub fn xades_verify(data: &[u8]) {
    let (signature, signed) = split(data);
    let _ = parapheur_sign::xmlverify::verify_xades_detached(signature, signed, validation());
}

/// The SOAP 1.1 envelope of a Documents request.
pub fn soap_envelope(data: &[u8]) {
    let _ = crate::routes::soap::message::parse_request(data);
}

/// Multipart bodies, `Content-Type SEPARATOR body`: the MTOM/XOP splitter of the SOAP endpoint
/// and the `multipart/form-data` reader of the FAST routes. The body is all there, so both
/// complete on their first poll.
pub fn mtom_multipart(data: &[u8]) {
    let (content_type, body) = split(data);
    let Ok(ct) = std::str::from_utf8(content_type) else {
        return;
    };
    let body = Bytes::copy_from_slice(body);
    let _ = split_mtom(ct, body.clone()).now_or_never();
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(ct) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    let _ = Form::read(&headers, Body::from(body), 1 << 20).now_or_never();
}

/// The MTOM/XOP splitter: the root part and the attachments by Content-ID.
pub async fn split_mtom(
    content_type: &str,
    body: Bytes,
) -> Result<(Bytes, HashMap<String, Bytes>), ApiError> {
    crate::routes::soap::split_mtom(content_type, body).await
}

/// A `X.pdf.zip` deposit unpacked under a 1 MiB limit, then each file checked as a deposit is.
pub fn zip_unpack(data: &[u8]) {
    let Ok(name) = FileName::parse("acte.pdf.zip") else {
        return;
    };
    let upload = Upload {
        name,
        bytes: Bytes::copy_from_slice(data),
    };
    if let Ok((main, annexes)) = unpack(upload, 1 << 20) {
        let _ = check_content(&main);
        for a in &annexes {
            let _ = check_content(a);
        }
    }
}

/// The `circuit` JSON of an on-demand upload.
pub fn circuit_json(data: &[u8]) {
    if let Ok(json) = std::str::from_utf8(data) {
        let _ = OnDemandCircuit::parse(json);
    }
}

/// The internal CA of the OCSP and TSA targets, made once per process in a directory of its own.
fn fuzz_ca() -> Option<&'static parapheur_sign::ca::InternalCa> {
    static CA: OnceLock<Option<parapheur_sign::ca::InternalCa>> = OnceLock::new();
    CA.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("parapheur-fuzz-ocsp-{}", std::process::id()));
        parapheur_sign::ca::InternalCa::open_or_create(&dir, "parapheur fuzz CA").ok()
    })
    .as_ref()
}

/// A DER OCSP request as the responder of `POST /api/v1/pki/ocsp` receives it; the serials
/// whose hexadecimal form starts with `A` count as revoked, so both answers are reached.
pub fn ocsp_request(data: &[u8]) {
    if let Some(ca) = fuzz_ca() {
        let _ = parapheur_sign::ocsp::respond(
            ca,
            data,
            |serial| serial.starts_with('A').then_some(1_700_000_000),
            1_800_000_000,
        );
    }
}

/// A DER RFC 3161 request as the built-in time-stamping authority receives it.
pub fn tsa_request(data: &[u8]) {
    static TSA: OnceLock<Option<parapheur_sign::tsa_authority::Authority>> = OnceLock::new();
    let tsa = TSA.get_or_init(|| {
        fuzz_ca()
            .and_then(|ca| ca.tsa_credential().ok())
            .map(parapheur_sign::tsa_authority::Authority::new)
    });
    if let Some(tsa) = tsa {
        let _ = tsa.respond(data, 1_800_000_000_000);
    }
}

/// An EU trusted list as `[signing] trusted_list` names it (read at start-up, within the
/// reader's default limits).
pub fn trusted_list(data: &[u8]) {
    let _ =
        parapheur_sign::trusted_list::read(data, &parapheur_sign::trusted_list::Limits::default());
}
