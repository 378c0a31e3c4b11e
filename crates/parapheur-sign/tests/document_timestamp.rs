//! Document timestamps (the building block of PAdES B-LTA): an invisible `/DocTimeStamp` field
//! appended after a signature, its token from the built-in authority. Checked by independent
//! tools: pyHanko validates the timestamp (and still the signature before it, with the
//! incremental update judged harmless), OpenSSL verifies the token over the byte range that
//! pyHanko reads, qpdf accepts the file.
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
