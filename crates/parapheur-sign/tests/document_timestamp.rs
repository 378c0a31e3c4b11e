//! PAdES B-LT and B-LTA built from their parts: the DSS (validation data) and the document
//! timestamp (an invisible `/DocTimeStamp` field, its token from the built-in authority), each
//! appended as an incremental update. Checked by independent tools: pyHanko validates the
//! timestamp (and still the signature before it, the update judged harmless) and, in its AdES
//! mode, the whole from the file alone; OpenSSL verifies the token over the byte range pyHanko
//! reads; qpdf accepts the files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
use parapheur_sign::pades::{SignOptions, prepare_document_timestamp};
use parapheur_sign::pdfcheck::Limits;
use parapheur_sign::tsa;
use parapheur_sign::tsa_authority::Authority;
use parapheur_test_utils::{pdf, qpdf_check, run_tool};

/// Reads the document timestamp with pyHanko: its validation, the signature before it, and the
/// byte range's data written to `range.bin` with the token to `token.der`.
const CHECK: &str = r#"
import sys
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.keys import load_cert_from_pemder
from pyhanko.sign.validation import validate_pdf_timestamp, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
ca = load_cert_from_pemder("ca.pem")
with open("stamped.pdf", "rb") as f:
    data = f.read()
    f.seek(0)
    r = PdfFileReader(f)
    ts = r.embedded_timestamp_signatures
    print("timestamps", len(ts), "signatures", len(r.embedded_regular_signatures))
    st = validate_pdf_timestamp(ts[0], validation_context=ValidationContext(trust_roots=[ca]))
    print("timestamp valid", st.valid, "intact", st.intact, "trusted", st.trusted)
    sig = validate_pdf_signature(
        r.embedded_regular_signatures[0],
        signer_validation_context=ValidationContext(trust_roots=[ca]),
    )
    print("signature", sig.bottom_line, sig.modification_level)
    br = ts[0].sig_object["/ByteRange"]
    open("range.bin", "wb").write(data[br[0]:br[0] + br[1]] + data[br[2]:br[2] + br[3]])
    # /Contents is zero-padded: the token is its first DER object.
    open("token.der", "wb").write(cms.ContentInfo.load(bytes(ts[0].pkcs7_content)).dump())
    print("covers whole file", br[2] + br[3] == len(data))
"#;

#[test]
fn a_document_timestamp_after_a_signature_is_valid_for_pyhanko_and_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = InternalCa::open_or_create(&d.join("ca"), "parapheur test CA").unwrap();
    std::fs::write(d.join("ca.pem"), ca.certificate().to_pem().unwrap()).unwrap();
    let seal = ca
        .issue(
            &Subject {
                common_name: "Commune A".into(),
                email: None,
                organization: Some("Commune A".into()),
                organization_id: Some("200000001".into()),
            },
            KeyKind::Seal,
        )
        .unwrap();
    let signed = parapheur_sign::pades::sign(
        &pdf::sample("Arrêté", 2, 0),
        &seal,
        &SignOptions::new("Maire"),
    )
    .unwrap();
    let tsa_authority = Authority::new(ca.tsa_credential().unwrap());

    let prepared = prepare_document_timestamp(&signed, &Limits::default()).unwrap();
    let request = tsa::request_for_digest(prepared.digest()).unwrap();
    let reply = tsa_authority
        .respond(&request.der, 1_800_000_000_000)
        .unwrap();
    let token = tsa::checked_token(&request, &reply).unwrap();
    let suffix = prepared.complete(&token).unwrap();
    let stamped = [signed.as_slice(), &suffix].concat();
    assert!(stamped.starts_with(&signed), "an incremental update");
    assert!(qpdf_check(&stamped));

    std::fs::write(d.join("stamped.pdf"), &stamped).unwrap();
    std::fs::write(d.join("check.py"), CHECK).unwrap();
    let (ok, out) = run_tool(d, "python3", &["check.py"]);
    assert!(ok, "{out}");
    assert!(out.contains("timestamps 1 signatures 1"), "{out}");
    assert!(
        out.contains("timestamp valid True intact True trusted True"),
        "{out}"
    );
    // The signature before it: still valid, the update judged a timestamp's (LTA) update.
    assert!(
        out.contains("signature True ModificationLevel.LTA_UPDATES"),
        "{out}"
    );
    assert!(out.contains("covers whole file True"), "{out}");
    let (ok, out) = run_tool(
        d,
        "openssl",
        &[
            "ts",
            "-verify",
            "-data",
            "range.bin",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(ok && out.contains("Verification: OK"), "{out}");
    // A byte changed inside the range: the token no longer matches.
    let mut range = std::fs::read(d.join("range.bin")).unwrap();
    range[100] ^= 1;
    std::fs::write(d.join("range.bin"), range).unwrap();
    let (ok, out) = run_tool(
        d,
        "openssl",
        &[
            "ts",
            "-verify",
            "-data",
            "range.bin",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(!ok, "{out}");
}

/// A DER OCSP request for `cert` issued by `issuer`.
fn ocsp_request(cert: &openssl::x509::X509, issuer: &openssl::x509::X509) -> Vec<u8> {
    let id =
        openssl::ocsp::OcspCertId::from_cert(openssl::hash::MessageDigest::sha1(), cert, issuer)
            .unwrap();
    let mut req = openssl::ocsp::OcspRequest::new().unwrap();
    req.add_id(id).unwrap();
    req.to_der().unwrap()
}

/// B-T, then a DSS holding the chains with OCSP responses and the CRL (B-LT), then a document
/// timestamp (B-LTA): pyHanko's AdES validation accepts both offline (the certificates name
/// endpoints that do not answer), from the file alone; without the DSS it cannot.
#[test]
fn b_lta_from_the_file_alone_for_pyhanko_adesverify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Nothing listens there: revocation data can only come from the file.
    let ca = InternalCa::open_or_create(&d.join("ca"), "parapheur test CA")
        .unwrap()
        .with_crl_url("http://127.0.0.1:9/crl")
        .with_ocsp_url("http://127.0.0.1:9/ocsp");
    std::fs::write(d.join("ca.pem"), ca.certificate().to_pem().unwrap()).unwrap();
    let seal = ca
        .issue(
            &Subject {
                common_name: "Commune A".into(),
                email: None,
                organization: Some("Commune A".into()),
                organization_id: Some("200000001".into()),
            },
            KeyKind::Seal,
        )
        .unwrap();
    let tsa_cred = ca.tsa_credential().unwrap();
    let tsa_cert = tsa_cred.certificate().clone();
    let authority = Authority::new(tsa_cred);
    let now = || chrono::Utc::now().timestamp_millis();

    // B-T.
    let original = pdf::sample("Délibération", 2, 0);
    let mut opts = SignOptions::new("Maire");
    opts.timestamped = true;
    let chain: Vec<Vec<u8>> = seal.chain.iter().map(|c| c.to_der().unwrap()).collect();
    let prepared =
        parapheur_sign::pades::prepare(&original, &chain, seal.algorithm(), &opts).unwrap();
    let value = seal.sign(prepared.data_to_sign()).unwrap();
    let request = tsa::request(&value).unwrap();
    let reply = authority.respond(&request.der, now()).unwrap();
    let attrs = tsa::token_attributes(&request, &reply).unwrap();
    let signed = [
        original.clone(),
        prepared.complete(&value, Some(attrs)).unwrap(),
    ]
    .concat();

    // B-LT: the DSS.
    let revoked_at = |_: &str| None;
    let data = parapheur_sign::pades::ValidationData {
        certificates: vec![
            seal.certificate().to_der().unwrap(),
            tsa_cert.to_der().unwrap(),
            ca.certificate().to_der().unwrap(),
        ],
        ocsp_responses: [seal.certificate(), &tsa_cert]
            .iter()
            .map(|c| {
                parapheur_sign::ocsp::respond(
                    &ca,
                    &ocsp_request(c, ca.certificate()),
                    revoked_at,
                    now() / 1000,
                )
            })
            .collect(),
        crls: vec![ca.crl(&[], 1, 86_400).unwrap()],
    };
    let lt = [
        signed.clone(),
        parapheur_sign::pades::dss_suffix(&signed, &data, &Limits::default()).unwrap(),
    ]
    .concat();
    assert!(qpdf_check(&lt));

    // B-LTA: the document timestamp over it.
    let prepared = prepare_document_timestamp(&lt, &Limits::default()).unwrap();
    let request = tsa::request_for_digest(prepared.digest()).unwrap();
    let reply = authority.respond(&request.der, now()).unwrap();
    let token = tsa::checked_token(&request, &reply).unwrap();
    let lta = [lt.clone(), prepared.complete(&token).unwrap()].concat();
    assert!(qpdf_check(&lta));

    for (name, pdf) in [("lt.pdf", &lt), ("lta.pdf", &lta)] {
        std::fs::write(d.join(name), pdf).unwrap();
    }
    let (ok, out) = run_tool(
        d,
        "pyhanko",
        &[
            "sign",
            "adesverify",
            "--trust",
            "ca.pem",
            "--trust-replace",
            "--pretty-print",
            "lta.pdf",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("judged VALID"), "{out}");

    // Controls: without the DSS, the same timestamps leave the revocation status unknown.
    let prepared = prepare_document_timestamp(&signed, &Limits::default()).unwrap();
    let request = tsa::request_for_digest(prepared.digest()).unwrap();
    let reply = authority.respond(&request.der, now()).unwrap();
    let token = tsa::checked_token(&request, &reply).unwrap();
    let no_dss = [signed.clone(), prepared.complete(&token).unwrap()].concat();
    std::fs::write(d.join("no-dss.pdf"), &no_dss).unwrap();
    let adesverify = |name: &str| {
        run_tool(
            d,
            "pyhanko",
            &[
                "sign",
                "adesverify",
                "--trust",
                "ca.pem",
                "--trust-replace",
                "--executive-summary",
                name,
            ],
        )
    };
    let (ok, out) = adesverify("no-dss.pdf");
    assert!(!ok && out.contains("no revocation information"), "{out}");
    // Our own verification: the signature and the document timestamp, both valid; a token
    // altered in the file is not.
    let anchor = ca.certificate().clone();
    let mut ctx = parapheur_sign::policy::ValidationContext::new(vec![anchor.clone()]);
    ctx.tsa_anchors = vec![anchor];
    let report = parapheur_sign::verify::verify_pdf(&lta, &ctx).unwrap();
    assert!(report.valid, "{report:?}");
    assert_eq!(report.signatures.len(), 2, "{report:?}");
    assert!(report.signatures[1].document_timestamp && report.signatures[1].timestamped);
    assert!(!report.signatures[0].document_timestamp && report.signatures[0].timestamped);
    let hole = lta.len() - suffix_len_hint(&lta);
    let mut bad = lta.clone();
    bad[hole] = if bad[hole] == b'a' { b'b' } else { b'a' };
    let report = parapheur_sign::verify::verify_pdf(&bad, &ctx).unwrap();
    assert!(!report.valid, "{report:?}");
    assert!(!report.signatures[1].errors.is_empty(), "{report:?}");
    // B-LT alone (the DSS, no document timestamp) passes too.
    let (ok, out) = adesverify("lt.pdf");
    assert!(ok && out.contains(":VALID"), "{out}");
}

/// The offset of a hex digit inside the token of the last `/Contents<…>` of `pdf` (well inside
/// the token: its 200th digit).
fn suffix_len_hint(pdf: &[u8]) -> usize {
    let start = pdf
        .windows(10)
        .rposition(|w| w == b"/Contents<")
        .expect("a /Contents")
        + 10;
    pdf.len() - (start + 200)
}
