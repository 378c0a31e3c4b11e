//! Whole circuits through the native action API (CONTRACT §5) against the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::{Part, SIREN_A, TestApp, pdf, unzip};
use reqwest::Method;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

#[test]
fn visa_visa_is_classified() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "VV", "vv.pdf", pdf::small("vv"), "").id();
    let tasks = app.as_user("v1@a.fr").get("/api/v1/tasks").json();
    assert_eq!(
        tasks,
        json!([{"id": id, "name": "vv.pdf", "siren": SIREN_A, "circuit": "VV", "step": "visa",
                "deadline": null, "overdue": false}])
    );
    assert_eq!(
        app.as_user("v2@a.fr").get("/api/v1/tasks").json(),
        json!([])
    );
    // The second visa member cannot act on the first step.
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 403);
    let r = app
        .as_user("v1@a.fr")
        .act(id, "visa", Some("Bon pour accord"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        app.as_user("v1@a.fr").get("/api/v1/tasks").json(),
        json!([])
    );
    assert_eq!(
        app.as_user("v2@a.fr").get("/api/v1/tasks").json()[0]["id"],
        id
    );
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(
        c.states(id),
        [
            "Préparé",
            "Envoyé pour visa",
            "Visa approuvé",
            "Envoyé pour visa",
            "Visa approuvé",
            "Classé"
        ]
    );
    let h = c.get(&format!("{V1}/documents/v2/{id}/history")).json();
    assert_eq!(
        h[5]["userFullname"], "",
        "classification is a system action"
    );
    assert_eq!(h[4]["userFullname"], "Véra Deux");
    // Nothing more to do.
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 409);
}

#[test]
fn visa_visa_signature_ends_classified_with_a_genuinely_signed_pdf() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let original = pdf::sample("Délibération à signer", 2, 2000);
    let id = c
        .upload(SIREN_A, "VVS", "vvs.pdf", original.clone(), "")
        .id();
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    // Signing on a visa step is refused whoever asks.
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 409);
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(c.states(id).last().unwrap(), "Envoyé pour signature");
    assert_eq!(
        app.as_user("s1@a.fr").get("/api/v1/tasks").json()[0]["step"],
        "signature"
    );
    assert_eq!(
        app.as_user("v1@a.fr").act(id, "sign", None).status,
        403,
        "not a member"
    );
    let r = app
        .as_user("s1@a.fr")
        .act(id, "sign", Some("Lu et approuvé"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        c.states(id),
        [
            "Préparé",
            "Envoyé pour visa",
            "Visa approuvé",
            "Envoyé pour visa",
            "Visa approuvé",
            "Envoyé pour signature",
            "Signé",
            "Classé"
        ]
    );
    let h = c.get(&format!("{V1}/documents/v2/{id}/history")).json();
    assert_eq!(h[6]["userFullname"], "Sophie Signe");
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    assert!(
        signed.starts_with(&original),
        "an incremental update keeps the deposited bytes"
    );
    assert!(signed.len() > original.len());
    let ca = parapheur_test_utils::Client::new(&app.base, None).get("/api/v1/pki/ca.pem");
    assert!(ca.text().starts_with("-----BEGIN CERTIFICATE-----"));
    let (n, out) = parapheur_test_utils::pyhanko_valid(&signed, &ca.body);
    assert_eq!(n, 1, "{out}");
    assert!(
        out.contains("Sophie Signe") || parapheur_test_utils::qpdf_check(&signed),
        "{out}"
    );
    assert!(parapheur_test_utils::qpdf_check(&signed));
    // The fiche de circulation records the signature.
    let fdc = c.get(&format!("{V1}/documents/v2/{id}/getFdc"));
    assert!(fdc.body.starts_with(b"%PDF-"));
}

#[test]
fn two_signature_steps_give_two_valid_signatures() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "SS", "ss.pdf", pdf::sample("Convention", 1, 0), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let after_first = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    assert_eq!(app.as_user("v2@a.fr").act(id, "sign", None).status, 200);
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    assert!(signed.starts_with(&after_first));
    let ca = parapheur_test_utils::Client::new(&app.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    let (n, out) = parapheur_test_utils::pyhanko_valid(&signed, &ca);
    assert_eq!(n, 2, "{out}");
    assert_eq!(c.states(id).iter().filter(|s| *s == "Signé").count(), 2);
    assert_eq!(c.states(id).last().unwrap(), "Classé");
}

/// Signing continues the SHA-256 state the store kept for the file; a file without one (stored
/// before states were kept) or with a state of other bytes is hashed whole, and every signature
/// is valid either way.
#[test]
fn signatures_are_valid_with_or_without_a_kept_digest_state() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let ca = parapheur_test_utils::Client::new(&app.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    let a = c
        .upload(SIREN_A, "SS", "a.pdf", pdf::sample("Sans état", 2, 500), "")
        .id();
    let b = c
        .upload(
            SIREN_A,
            "SS",
            "b.pdf",
            pdf::sample("État d'un autre", 1, 0),
            "",
        )
        .id();
    // `a` as a row written before the column existed; `b` with the state of `a`'s bytes (a
    // different length): neither may be continued.
    app.sql(&format!(
        "UPDATE documents SET digest_state = (SELECT digest_state FROM documents WHERE id = {a}) \
         WHERE id = {b}"
    ));
    app.sql(&format!(
        "UPDATE documents SET digest_state = NULL WHERE id = {a}"
    ));
    for id in [a, b] {
        assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
        // The second signature continues the state stored with the first one's result.
        assert_eq!(app.as_user("v2@a.fr").act(id, "sign", None).status, 200);
        let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
        let (n, out) = parapheur_test_utils::pyhanko_valid(&signed, &ca);
        assert_eq!(n, 2, "document {id}: {out}");
        assert!(parapheur_test_utils::qpdf_check(&signed));
    }
}

#[test]
fn pictograms_place_the_stamp_and_bad_pdfs_are_not_recorded_as_signed() {
    let app = TestApp::start(BIN, "");
    let circuit = json!({"type": "BUREAUTIQUE_PDF", "steps": [{"step": "signature", "members": ["s1@a.fr"]}]});
    let id = app
        .as_user("depot@a.fr")
        .multipart(
            Method::POST,
            &format!("{V1}/documents/ondemand/{SIREN_A}/upload"),
            vec![
                Part::File("doc", "picto.pdf".into(), pdf::sample("picto", 3, 0)),
                Part::Text("circuit", circuit.to_string()),
                Part::Text("pictograms", r#"<pictograms><pictogram page="2" x="100" y="300" width="200" height="50"/></pictograms>"#.into()),
            ],
        )
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let signed = app
        .as_user("depot@a.fr")
        .get(&format!("{V1}/documents/v2/{id}/download"))
        .body;
    let doc = lopdf::Document::load_mem(&signed).unwrap();
    let page2 = doc.get_pages()[&2];
    let annots = doc
        .get_dictionary(page2)
        .unwrap()
        .get(b"Annots")
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let widget = doc
        .get_dictionary(annots[0].as_reference().unwrap())
        .unwrap();
    let rect: Vec<f32> = widget
        .get(b"Rect")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_float().unwrap())
        .collect();
    assert_eq!(rect, [100.0, 300.0, 300.0, 350.0]);
}

/// xmlsec1 on a detached XAdES signature, run from the directory holding the signed file.
fn xmlsec1_detached(dir: &std::path::Path, sig: &str) -> (bool, String) {
    parapheur_test_utils::run_tool(
        dir,
        "xmlsec1",
        &[
            "--verify",
            "--trusted-pem",
            "ca.pem",
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "--enabled-reference-uris",
            "same-doc,local,remote",
            sig,
        ],
    )
}

#[test]
fn xml_documents_get_a_detached_xades_signature() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<convention><objet>Prêt de matériel</objet></convention>\n";
    let id = c
        .upload(
            SIREN_A,
            "XML",
            "convention.xml",
            xml.as_bytes().to_vec(),
            "",
        )
        .id();
    let before = c.get(&format!("{V1}/documents/v2/{id}/download"));
    assert_eq!(before.body, xml.as_bytes(), "unsigned: the raw file");
    let r = app.as_user("s1@a.fr").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.states(id)[2..], ["Signé", "Classé"]);
    let dl = c.get(&format!("{V1}/documents/v2/{id}/download"));
    assert_eq!(dl.content_type, "application/zip");
    let entries = unzip(&dl.body);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["convention.xml", "convention-signature-1.xml"]);
    assert_eq!(entries[0].1, xml.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    for (n, b) in &entries {
        std::fs::write(dir.path().join(n), b).unwrap();
    }
    let ca = parapheur_test_utils::Client::new(&app.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
    let (ok, out) = xmlsec1_detached(dir.path(), "convention-signature-1.xml");
    assert!(ok, "{out}");
    // The same check fails once the document is altered.
    std::fs::write(
        dir.path().join("convention.xml"),
        xml.replace("Prêt", "Don"),
    )
    .unwrap();
    let (ok, out) = xmlsec1_detached(dir.path(), "convention-signature-1.xml");
    assert!(!ok, "{out}");
}

/// `ds:SignatureValue` canonicalised (exclusive c14n) by lxml, and the `EncapsulatedTimeStamp`
/// of a XAdES signature: (SHA-256 of the former in hexadecimal, the token written to `out`).
const XADES_T_PARTS: &str = r#"
import base64, hashlib, sys
from lxml import etree
ns = {"ds": "http://www.w3.org/2000/09/xmldsig#", "xad": "http://uri.etsi.org/01903/v1.3.2#"}
doc = etree.parse(sys.argv[1])
sv = doc.find(".//ds:SignatureValue", ns)
ts = doc.find(".//xad:SignatureTimeStamp", ns)
method = ts.find("ds:CanonicalizationMethod", ns).get("Algorithm")
assert method == "http://www.w3.org/2001/10/xml-exc-c14n#", method
c14n = etree.tostring(sv, method="c14n", exclusive=True)
token = base64.b64decode("".join(ts.find("xad:EncapsulatedTimeStamp", ns).text.split()))
open(sys.argv[2], "wb").write(token)
print(hashlib.sha256(c14n).hexdigest())
"#;

#[test]
fn xml_signatures_reach_xades_t_with_the_internal_authority() {
    let app = TestApp::start(BIN, "[signing]\ntsa_url = \"internal\"");
    let c = app.as_user("depot@a.fr");
    let xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<arrete><objet>Voirie</objet></arrete>\n";
    let id = c
        .upload(SIREN_A, "XML", "arrete.xml", xml.as_bytes().to_vec(), "")
        .id();
    let r = app.as_user("s1@a.fr").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let entries = unzip(&c.get(&format!("{V1}/documents/v2/{id}/download")).body);
    let dir = tempfile::tempdir().unwrap();
    for (n, b) in &entries {
        std::fs::write(dir.path().join(n), b).unwrap();
    }
    let ca = parapheur_test_utils::Client::new(&app.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
    // The signature itself, as before.
    let (ok, out) = xmlsec1_detached(dir.path(), "arrete-signature-1.xml");
    assert!(ok, "{out}");
    // Its timestamp stamps the canonical SignatureValue (computed by lxml) and verifies with
    // OpenSSL against the internal CA.
    std::fs::write(dir.path().join("parts.py"), XADES_T_PARTS).unwrap();
    let (ok, digest) = parapheur_test_utils::run_tool(
        dir.path(),
        "python3",
        &["parts.py", "arrete-signature-1.xml", "token.der"],
    );
    assert!(ok, "{digest}");
    let (ok, out) = parapheur_test_utils::run_tool(
        dir.path(),
        "openssl",
        &[
            "ts",
            "-verify",
            "-digest",
            digest.trim(),
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let (ok, out) = parapheur_test_utils::run_tool(
        dir.path(),
        "openssl",
        &[
            "ts",
            "-verify",
            "-digest",
            &"0".repeat(64),
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(!ok, "another digest: {out}");
    // Our own verifier accepts it too, and checks the timestamp against the authority's root
    // (the chain is then checked at the timestamp's time).
    let anchor = openssl::x509::X509::from_pem(&ca).unwrap();
    let mut ctx = parapheur_sign::policy::ValidationContext::new(vec![anchor.clone()]);
    let report =
        parapheur_sign::xmlverify::verify_xades_detached(&entries[1].1, xml.as_bytes(), &ctx);
    assert!(
        !report.valid && report.signatures[0].errors[0].contains("signature timestamp"),
        "without a trusted timestamp authority: {report:?}"
    );
    ctx.tsa_anchors = vec![anchor];
    let report =
        parapheur_sign::xmlverify::verify_xades_detached(&entries[1].1, xml.as_bytes(), &ctx);
    assert!(report.valid, "{report:?}");
    assert!(report.signatures[0].timestamp_time.is_some(), "{report:?}");
}

#[test]
fn pes_documents_are_signed_per_bordereau() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let pes = parapheur_test_utils::pes_aller("PESALR2_test");
    let id = c.upload(SIREN_A, "PES", "pes.xml", pes.clone(), "").id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    assert_eq!(c.states(id).last().unwrap(), "Classé");
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    assert_ne!(signed, pes);
    assert_eq!(
        signed
            .windows(15)
            .filter(|w| w == b"</ds:Signature>")
            .count(),
        2,
        "one signature per Bordereau"
    );
    let ca_pem = parapheur_test_utils::Client::new(&app.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    let ca = openssl::x509::X509::from_pem(&ca_pem).unwrap();
    let report = parapheur_sign::xmlverify::verify_pes(
        &signed,
        &parapheur_sign::policy::ValidationContext::new(vec![ca.clone()]),
    );
    assert!(report.valid, "{report:?}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.xml"), &signed).unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
    let (ok, out) = parapheur_test_utils::run_tool(
        dir.path(),
        "xmlsec1",
        &[
            "--verify",
            "--trusted-pem",
            "ca.pem",
            "--id-attr:Id",
            "Bordereau",
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.1.1#:SignedProperties",
            "f.xml",
        ],
    );
    assert!(ok, "{out}");
    let mut bad = signed.clone();
    let pos = bad.windows(6).position(|w| w == b"1100.0").unwrap();
    bad[pos] = b'9';
    assert!(
        !parapheur_sign::xmlverify::verify_pes(
            &bad,
            &parapheur_sign::policy::ValidationContext::new(vec![ca])
        )
        .valid
    );
}

#[test]
fn visa_rejection_then_deletion() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "VVS", "rej.pdf", pdf::small("rej"), "")
        .id();
    let v1 = app.as_user("v1@a.fr");
    let r = v1.act(id, "reject", None);
    assert_eq!(
        (r.status, r.error_code()),
        (400, Some(115)),
        "a reason is mandatory"
    );
    let r = v1.act(id, "reject", Some("   "));
    assert_eq!(r.status, 400, "a blank reason is no reason");
    assert_eq!(v1.act(id, "reject", Some("Pièce manquante")).status, 200);
    assert_eq!(
        c.states(id),
        ["Préparé", "Envoyé pour visa", "Visa désapprouvé"]
    );
    let refusal = c
        .get(&format!("{V1}/documents/v2/{id}/comments/refusal"))
        .json();
    assert_eq!(refusal["comment"], "Pièce manquante");
    assert_eq!(v1.act(id, "visa", None).status, 409, "terminal state");
    assert_eq!(c.delete(&format!("{V1}/documents/v2/{id}")).status, 200);
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/history"))
            .error_code(),
        Some(103)
    );
}

#[test]
fn signature_refusal_with_its_comment_then_deletion() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "S", "ref.pdf", pdf::small("ref"), "")
        .id();
    let s1 = app.as_user("s1@a.fr");
    assert_eq!(
        s1.act(id, "visa", None).status,
        409,
        "a signature step takes no visa"
    );
    assert_eq!(s1.act(id, "refuse", None).status, 400);
    assert_eq!(
        s1.act(id, "refuse", Some("Je ne signe pas ce montant"))
            .status,
        200
    );
    assert_eq!(c.states(id), ["Préparé", "Envoyé pour signature", "Refusé"]);
    let fdc = c.get(&format!("{V1}/documents/v2/{id}/getFdc"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("f.pdf"), &fdc.body).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(dir.path().join("f.pdf"))
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Je ne signe pas ce montant") && text.contains("Refusé"),
        "{text}"
    );
    assert_eq!(c.delete(&format!("{V1}/documents/v2/{id}")).status, 200);
}

#[test]
fn agents_read_but_never_act_and_depositors_never_approve() {
    let app = TestApp::start(BIN, "");
    let circuit =
        json!({"type": "BUREAUTIQUE_PDF", "steps": [{"step": "visa", "members": ["v1@a.fr"]}]});
    let id = app
        .as_user("depot@a.fr")
        .multipart(
            Method::POST,
            &format!("{V1}/documents/ondemand/{SIREN_A}/upload"),
            vec![
                Part::File("doc", "ag.pdf".into(), pdf::small("ag")),
                Part::Text("circuit", circuit.to_string()),
                Part::Text("agents", "agent@a.fr".into()),
            ],
        )
        .id();
    let agent = app.as_user("agent@a.fr");
    assert_eq!(
        agent.get(&format!("{V1}/documents/v2/{id}/history")).status,
        200
    );
    assert_eq!(agent.act(id, "visa", None).status, 403);
    assert_eq!(agent.act(id, "reject", Some("non")).status, 403);
    assert_eq!(app.as_user("depot@a.fr").act(id, "visa", None).status, 403);
    let unauth = parapheur_test_utils::Client::new(&app.base, None).act(id, "visa", None);
    assert_eq!((unauth.status, unauth.error_code()), (401, Some(101)));
    let bad = app.as_user("v1@a.fr").post_json(
        &format!("/api/v1/documents/{id}/visa"),
        json!({"commentaire": 1}),
    );
    assert_eq!((bad.status, bad.error_code()), (400, Some(112)));
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(
        app.as_user("depot@a.fr").states(id).last().unwrap(),
        "Classé"
    );
}

#[test]
fn concurrent_visas_give_exactly_one_transition() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "VV", "race.pdf", pdf::small("race"), "")
        .id();
    // Two members of the first step approve at the same time.
    let results: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = ["v1@a.fr", "admin@a.fr", "v1@a.fr", "admin@a.fr"]
            .into_iter()
            .map(|u| {
                let cl = app.as_user(u);
                s.spawn(move || cl.act(id, "visa", None).status)
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|s| **s == 200).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|s| [200, 403, 409].contains(s)),
        "{results:?}"
    );
    let states = c.states(id);
    assert_eq!(
        states.iter().filter(|s| *s == "Visa approuvé").count(),
        1,
        "{states:?}"
    );
}

#[test]
fn health_and_metrics() {
    let app = TestApp::start(BIN, "");
    let anon = parapheur_test_utils::Client::new(&app.base, None);
    let h = anon.get("/healthz");
    assert_eq!((h.status, h.text().as_str()), (200, "ok"));
    app.as_user("depot@a.fr")
        .upload(SIREN_A, "VV", "m.pdf", pdf::small("m"), "")
        .id();
    let m = anon.get("/metrics").text();
    assert!(m.contains("parapheur_uploads_total 1"), "{m}");
    assert!(
        m.contains("parapheur_documents{status=\"in_progress\"} 1"),
        "{m}"
    );
}

#[test]
fn an_imported_pkcs12_signs_for_its_user() {
    use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
    let ext = tempfile::tempdir().unwrap();
    let their_ca = InternalCa::open_or_create(ext.path(), "Autorité externe").unwrap();
    let subject = Subject {
        common_name: "Sophie Signe (carte)".into(),
        email: Some("s1@a.fr".into()),
        organization: Some("Commune A".into()),
        organization_id: None,
    };
    let cred = their_ca.issue(&subject, KeyKind::Seal).unwrap();
    let mut chain = openssl::stack::Stack::new().unwrap();
    chain.push(their_ca.certificate().clone()).unwrap();
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("s1")
        .pkey(cred.key.soft().unwrap())
        .cert(cred.certificate())
        .ca(chain)
        .build2("secret-p12")
        .unwrap()
        .to_der()
        .unwrap();
    let extra = r#"
[[users]]
email = "s1@a.fr"
first_name = "Sophie"
last_name = "Signe"
subscribers = ["200000001"]
pkcs12 = "s1.p12"
pkcs12_password = "secret-p12"
"#;
    let app = TestApp::start_with(BIN, "", extra, &[("s1.p12", p12)]);
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "S", "p12.pdf", pdf::small("p12"), "")
        .id();
    let r = app.as_user("s1@a.fr").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let (n, out) =
        parapheur_test_utils::pyhanko_valid(&signed, &their_ca.certificate().to_pem().unwrap());
    assert_eq!(n, 1, "{out}");
    assert!(out.contains("Sophie Signe (carte)") || !out.is_empty());
    // Our own CA does not vouch for that key.
    let ours = parapheur_test_utils::Client::new(&app.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    assert_eq!(parapheur_test_utils::pyhanko_valid(&signed, &ours).0, 0);
}

#[test]
fn verification_steps_validate_our_signatures_and_reject_untrusted_ones() {
    use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
    let ext = tempfile::tempdir().unwrap();
    let their_ca = InternalCa::open_or_create(ext.path(), "Autorité inconnue").unwrap();
    std::fs::write(
        ext.path().join("their-ca.pem"),
        their_ca.certificate().to_pem().unwrap(),
    )
    .unwrap();
    let subject = Subject {
        common_name: "Signataire externe".into(),
        email: None,
        organization: None,
        organization_id: None,
    };
    let outsider = their_ca.issue(&subject, KeyKind::Person).unwrap();
    let signed_elsewhere = parapheur_sign::pades::sign(
        &pdf::small("externe"),
        &outsider,
        &parapheur_sign::pades::SignOptions::new("Externe"),
    )
    .unwrap();

    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    // Our own signature, then the verification step: validated, then classified.
    let id = c.upload(SIREN_A, "SV", "sv.pdf", pdf::small("sv"), "").id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    assert_eq!(
        c.states(id)[1..],
        [
            "Envoyé pour signature",
            "Signé",
            "Signature validée",
            "Classé"
        ]
    );
    // A file signed by an unknown authority stops at "signature rejetée" and may be deleted.
    let bad = c
        .upload(
            SIREN_A,
            "CHECK",
            "externe.pdf",
            signed_elsewhere.clone(),
            "",
        )
        .id();
    assert_eq!(c.states(bad), ["Préparé", "signature rejetée"]);
    let search = c.post_json(
        &format!("{V1}/documents/search"),
        json!({"siren": SIREN_A, "state": "signature rejetée"}),
    );
    assert_eq!(search.json(), json!([bad]));
    assert_eq!(c.delete(&format!("{V1}/documents/v2/{bad}")).status, 200);
    let unsigned = c
        .upload(SIREN_A, "CHECK", "nu.pdf", pdf::small("nu"), "")
        .id();
    assert_eq!(
        c.states(unsigned),
        ["Préparé", "signature rejetée"],
        "no signature is not a valid signature"
    );
    // With that authority configured as a trust anchor, the same file is validated.
    let cfg = format!(
        "[signing]\ntrust_anchors = \"{}\"",
        ext.path().join("their-ca.pem").display()
    );
    let app = TestApp::start(BIN, &cfg);
    let c = app.as_user("depot@a.fr");
    let good = c
        .upload(SIREN_A, "CHECK", "externe.pdf", signed_elsewhere, "")
        .id();
    assert_eq!(c.states(good), ["Préparé", "Signature validée", "Classé"]);
}

#[test]
fn the_internal_timestamp_authority_makes_b_t_signatures_anyone_can_check() {
    let app = TestApp::start(BIN, "[signing]\ntsa_url = \"internal\"");
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "S", "bt.pdf", pdf::small("bt"), "").id();
    let r = app.as_user("s1@a.fr").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    // The internal CA alone is the root of the signer and of the authority.
    let ca = parapheur_test_utils::Client::new(&app.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
    std::fs::write(dir.path().join("signed.pdf"), &signed).unwrap();
    let (ok, out) = parapheur_test_utils::run_tool(
        dir.path(),
        "pyhanko",
        &[
            "sign",
            "validate",
            "--trust",
            "ca.pem",
            "--trust-replace",
            "--no-revocation-check",
            "--pretty-print",
            "signed.pdf",
        ],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("horodatage interne"),
        "the timestamp's authority: {out}"
    );
    let (n, out) = parapheur_test_utils::pyhanko_valid(&signed, &ca);
    assert_eq!(n, 1, "{out}");
    let anchor = openssl::x509::X509::from_pem(&ca).unwrap();
    let mut ctx = parapheur_sign::policy::ValidationContext::new(vec![anchor.clone()]);
    ctx.tsa_anchors = vec![anchor];
    let report = parapheur_sign::verify::verify_pdf(&signed, &ctx).unwrap();
    assert!(report.signatures[0].timestamped, "{report:?}");
    assert!(report.valid, "{report:?}");
}

#[test]
fn b_lt_and_b_lta_signatures_validate_from_the_file_alone_once_the_server_is_gone() {
    for level in ["B-LT", "B-LTA"] {
        let app = TestApp::start(
            BIN,
            &format!("[signing]\ntsa_url = \"internal\"\nlevel = \"{level}\""),
        );
        let c = app.as_user("depot@a.fr");
        let id = c.upload(SIREN_A, "S", "lt.pdf", pdf::small("lt"), "").id();
        let r = app.as_user("s1@a.fr").act(id, "sign", None);
        assert_eq!(r.status, 200, "{level}: {}", r.text());
        let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
        let ca = parapheur_test_utils::Client::new(&app.base, None)
            .get("/api/v1/pki/ca.pem")
            .body;
        // Our own verification step accepts it (the document timestamp included).
        let check = c
            .upload(SIREN_A, "CHECK", "lt-check.pdf", signed.clone(), "")
            .id();
        assert_eq!(
            c.states(check),
            ["Préparé", "Signature validée", "Classé"],
            "{level}"
        );
        // The server stops: its CRL and OCSP addresses in the certificates answer no more.
        drop(app);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
        std::fs::write(dir.path().join("signed.pdf"), &signed).unwrap();
        assert!(parapheur_test_utils::qpdf_check(&signed), "{level}");
        let (ok, out) = parapheur_test_utils::run_tool(
            dir.path(),
            "pyhanko",
            &[
                "sign",
                "adesverify",
                "--trust",
                "ca.pem",
                "--trust-replace",
                "--pretty-print",
                "signed.pdf",
            ],
        );
        assert!(ok && out.contains("judged VALID"), "{level}: {out}");
        let (ok, out) = parapheur_test_utils::run_tool(dir.path(), "pdfsig", &["signed.pdf"]);
        assert!(ok, "{out}");
        assert!(out.contains("Signature is Valid."), "{level}: {out}");
        // B-LTA adds the document timestamp's field (pdfsig lists it, without validating
        // that kind; pyHanko did above).
        let fields = out.matches("Signature Field Name").count();
        assert_eq!(fields, 1 + usize::from(level == "B-LTA"), "{level}: {out}");
    }
}

#[test]
fn a_configured_timestamp_authority_makes_b_t_signatures() {
    let mut tsa = parapheur_test_utils::tsa::TestTsa::new();
    let url = tsa.serve();
    let app = TestApp::start(BIN, &format!("[signing]\ntsa_url = \"{url}\""));
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "S", "bt.pdf", pdf::small("bt"), "").id();
    let r = app.as_user("s1@a.fr").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let mut trust = parapheur_test_utils::Client::new(&app.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    trust.extend(tsa.cert_pem());
    let (n, out) = parapheur_test_utils::pyhanko_valid(&signed, &trust);
    assert_eq!(n, 1, "{out}");
    let ca = openssl::x509::X509::from_pem(&trust).unwrap();
    let mut ctx = parapheur_sign::policy::ValidationContext::new(vec![ca]);
    ctx.tsa_anchors = openssl::x509::X509::stack_from_pem(&tsa.cert_pem()).unwrap();
    let report = parapheur_sign::verify::verify_pdf(&signed, &ctx).unwrap();
    assert!(report.signatures[0].timestamped, "{report:?}");
    assert!(report.valid, "{report:?}");

    // The authority down: the signature is refused with a clear error, nothing is recorded.
    drop(tsa);
    let id2 = c
        .upload(SIREN_A, "S", "bt2.pdf", pdf::small("bt2"), "")
        .id();
    let r = app.as_user("s1@a.fr").act(id2, "sign", None);
    assert_eq!((r.status, r.error_code()), (502, Some(124)), "{}", r.text());
    assert_eq!(c.states(id2).last().unwrap(), "Envoyé pour signature");
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id2}/download")).body,
        pdf::small("bt2")
    );
}
