//! The internal CA behaves like a CA (issue 20 §2, part): its certificates name a CRL
//! distribution point, `GET /api/v1/pki/crl` publishes what it revoked, a user who leaves a
//! subscriber has the certificate issued for it revoked, so has a key replaced by an imported
//! PKCS#12 (a user's or a seal), and verification steps consult the CRL. Checked with OpenSSL's
//! command line, poppler's pdfsig, and pyHanko's certificate validator (offline, given our OCSP
//! response or our CRL).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::{Client, SIREN_A, TestApp, pdf, run_tool};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

/// The signer certificate of the first signature of `signed` (PEM), through pdfsig's dump.
fn signer_pem(dir: &std::path::Path, signed: &[u8]) -> String {
    std::fs::write(dir.join("s.pdf"), signed).unwrap();
    let (ok, out) = run_tool(dir, "pdfsig", &["-dump", "s.pdf"]);
    assert!(ok, "{out}");
    let (ok, out) = run_tool(
        dir,
        "openssl",
        &[
            "pkcs7",
            "-inform",
            "DER",
            "-in",
            "s.pdf.sig0",
            "-print_certs",
        ],
    );
    assert!(ok, "{out}");
    // Blocks of `subject=`, `issuer=` and the PEM; the signer's is the one not self-issued.
    out.split("-----END CERTIFICATE-----")
        .filter_map(|block| {
            let subject = block.lines().find(|l| l.starts_with("subject="))?;
            let issuer = block.lines().find(|l| l.starts_with("issuer="))?;
            let begin = block.find("-----BEGIN CERTIFICATE-----")?;
            (subject["subject=".len()..] != issuer["issuer=".len()..])
                .then(|| format!("{}-----END CERTIFICATE-----\n", &block[begin..]))
        })
        .next()
        .unwrap_or_else(|| panic!("no signer certificate in {out}"))
}

fn crl_pem(app: &TestApp, dir: &std::path::Path) -> String {
    let r = Client::new(&app.base, None).get("/api/v1/pki/crl");
    assert_eq!(r.status, 200, "{} {}", r.text(), app.server_log());
    assert_eq!(r.content_type, "application/pkix-crl");
    std::fs::write(dir.join("crl.der"), &r.body).unwrap();
    let (ok, out) = run_tool(
        dir,
        "openssl",
        &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"],
    );
    assert!(ok, "{out}");
    let (ok, text) = run_tool(
        dir,
        "openssl",
        &["crl", "-in", "crl.pem", "-noout", "-text"],
    );
    assert!(ok, "{text}");
    text
}

/// `openssl ocsp` against the server's responder: the status line of `signer.pem`.
fn ocsp(app: &TestApp, dir: &std::path::Path) -> String {
    let url = format!("{}/api/v1/pki/ocsp", app.base);
    let (ok, out) = run_tool(
        dir,
        "openssl",
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "signer.pem",
            "-url",
            &url,
            "-CAfile",
            "ca.pem",
            "-respout",
            "ocsp.der",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Response verify OK"), "{out}");
    out
}

/// pyHanko's certificate validator (pyhanko-certvalidator, what pyHanko validates signatures
/// with) on `signer.pem`, offline, with revocation required, given only the last OCSP response
/// (`ocsp.der`), then only the CRL (`crl.der`): "ocsp OK"/"ocsp FAIL …", "crl OK"/"crl FAIL …".
fn certvalidator(dir: &std::path::Path) -> String {
    const SCRIPT: &str = r#"
import asyncio
from asn1crypto import ocsp, crl
from pyhanko_certvalidator import ValidationContext, CertificateValidator
from pyhanko.keys import load_cert_from_pemder
ca = load_cert_from_pemder("ca.pem")
signer = load_cert_from_pemder("signer.pem")
sources = [
    ("ocsp", dict(ocsps=[ocsp.OCSPResponse.load(open("ocsp.der", "rb").read())])),
    ("crl", dict(crls=[crl.CertificateList.load(open("crl.der", "rb").read())])),
]
for label, revinfo in sources:
    vc = ValidationContext(trust_roots=[ca], allow_fetching=False, revocation_mode="hard-fail", **revinfo)
    try:
        asyncio.run(CertificateValidator(signer, validation_context=vc).async_validate_usage(set()))
        print(label, "OK")
    except Exception as e:
        print(label, "FAIL", type(e).__name__, e)
"#;
    std::fs::write(dir.join("certvalidator.py"), SCRIPT).unwrap();
    let (ok, out) = run_tool(dir, "python3", &["certvalidator.py"]);
    assert!(ok, "{out}");
    out
}

fn verify(dir: &std::path::Path) -> (bool, String) {
    run_tool(
        dir,
        "openssl",
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "-purpose",
            "any",
            "signer.pem",
        ],
    )
}

#[test]
fn a_user_who_leaves_has_their_certificate_revoked_in_the_published_crl() {
    let app = TestApp::start(BIN, "");
    let dir = tempfile::tempdir().unwrap();
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "S", "acte.pdf", pdf::small("acte"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let signed = depot.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let pem = signer_pem(dir.path(), &signed);
    std::fs::write(dir.path().join("signer.pem"), &pem).unwrap();
    let ca = Client::new(&app.base, None).get("/api/v1/pki/ca.pem").body;
    std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
    // The certificate names where its CRL is published.
    let (ok, ext) = run_tool(
        dir.path(),
        "openssl",
        &[
            "x509",
            "-in",
            "signer.pem",
            "-noout",
            "-ext",
            "crlDistributionPoints",
        ],
    );
    assert!(ok, "{ext}");
    assert!(
        ext.contains(&format!("URI:{}/api/v1/pki/crl", app.base)),
        "{ext}"
    );
    let (ok, aia) = run_tool(
        dir.path(),
        "openssl",
        &[
            "x509",
            "-in",
            "signer.pem",
            "-noout",
            "-ext",
            "authorityInfoAccess",
        ],
    );
    assert!(ok, "{aia}");
    assert!(
        aia.contains(&format!("OCSP - URI:{}/api/v1/pki/ocsp", app.base)),
        "{aia}"
    );
    let (ok, serial) = run_tool(
        dir.path(),
        "openssl",
        &["x509", "-in", "signer.pem", "-noout", "-serial"],
    );
    assert!(ok);
    let serial = serial.trim().trim_start_matches("serial=").to_owned();

    // Before: an empty CRL signed by the CA; the certificate verifies with the CRL checked.
    let text = crl_pem(&app, dir.path());
    assert!(text.contains("No Revoked Certificates"), "{text}");
    let (ok, out) = verify(dir.path());
    assert!(ok, "{out}");
    let status = ocsp(&app, dir.path());
    assert!(status.contains("signer.pem: good"), "{status}");
    // pyHanko's validator accepts either, offline.
    let pyhanko = certvalidator(dir.path());
    assert!(
        pyhanko.contains("ocsp OK") && pyhanko.contains("crl OK"),
        "{pyhanko}"
    );
    // A request that is not one gets the protocol's malformedRequest, signed nothing.
    let r = Client::new(&app.base, None).post_empty("/api/v1/pki/ocsp");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &[0x30, 0x03, 0x0a, 0x01, 0x01][..])
    );
    // The signed document passes a verification step.
    let first = depot
        .upload(SIREN_A, "CHECK", "avant.pdf", signed.clone(), "avant")
        .id();
    assert_eq!(
        depot.states(first).last().unwrap(),
        "Classé",
        "{:?}",
        depot.states(first)
    );

    // s1 leaves the subscriber: their certificate for it is revoked.
    let admin = app.as_user("admin@a.fr");
    let export: Value = admin
        .get(&format!("{V1}/exportUsersData?siren={SIREN_A}"))
        .json();
    let entries: Vec<Value> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] != "s1@a.fr")
        .map(|u| {
            json!({"email": u["email"], "firstName": u["prenom"], "lastName": u["nom"],
                   "authenticationType": u["authenticationType"], "groups": u["groups"]})
        })
        .collect();
    let r = admin.put_json(
        &format!("{V1}/synchronization/{SIREN_A}/users"),
        Value::Array(entries),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let text = crl_pem(&app, dir.path());
    assert!(
        text.to_uppercase().contains(&serial.to_uppercase()),
        "{serial} not in {text}"
    );
    // With the reason RFC 5280 §5.3.1 codes.
    assert!(
        text.contains("X509v3 CRL Reason Code") && text.contains("Affiliation Changed"),
        "{text}"
    );
    let (ok, out) = verify(dir.path());
    assert!(!ok && out.contains("revoked"), "{out}");
    let status = ocsp(&app, dir.path());
    assert!(status.contains("signer.pem: revoked"), "{status}");
    assert!(status.contains("Reason: affiliationChanged"), "{status}");
    // A serial the CA never issued, under its name and key: `unknown`, not `good`.
    let url = format!("{}/api/v1/pki/ocsp", app.base);
    let (ok, out) = run_tool(
        dir.path(),
        "openssl",
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-serial",
            "0x1234ABCD",
            "-url",
            &url,
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(ok && out.contains("0x1234ABCD: unknown"), "{out}");
    let pyhanko = certvalidator(dir.path());
    assert!(
        pyhanko.contains("ocsp FAIL") && pyhanko.contains("crl FAIL"),
        "{pyhanko}"
    );
    assert!(
        pyhanko.to_lowercase().matches("revoked").count() >= 2,
        "{pyhanko}"
    );
    // A verification step now rejects the signature (no timestamp proves it came before).
    let second = depot
        .upload(SIREN_A, "CHECK", "apres.pdf", signed, "apres")
        .id();
    let states = depot.states(second);
    assert!(
        states
            .iter()
            .any(|s| s.eq_ignore_ascii_case("signature rejetée")),
        "{states:?}"
    );
}

/// The serial (upper-case hexadecimal) of the signer certificate of `signed`.
fn signer_serial(dir: &std::path::Path, signed: &[u8]) -> String {
    std::fs::write(dir.join("signer.pem"), signer_pem(dir, signed)).unwrap();
    let (ok, serial) = run_tool(
        dir,
        "openssl",
        &["x509", "-in", "signer.pem", "-noout", "-serial"],
    );
    assert!(ok, "{serial}");
    serial.trim().trim_start_matches("serial=").to_uppercase()
}

/// A PKCS#12 file of a key issued by another authority for `name`.
fn pkcs12(name: &str, password: &str) -> Vec<u8> {
    use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
    let ext = tempfile::tempdir().unwrap();
    let their_ca = InternalCa::open_or_create(ext.path(), "Autorité externe").unwrap();
    let cred = their_ca
        .issue(
            &Subject {
                common_name: name.into(),
                email: None,
                organization: Some("Commune A".into()),
                organization_id: None,
            },
            KeyKind::Seal,
        )
        .unwrap();
    let mut chain = openssl::stack::Stack::new().unwrap();
    chain.push(their_ca.certificate().clone()).unwrap();
    openssl::pkcs12::Pkcs12::builder()
        .name(name)
        .pkey(cred.key.soft().unwrap())
        .cert(cred.certificate())
        .ca(chain)
        .build2(password)
        .unwrap()
        .to_der()
        .unwrap()
}

#[test]
fn keys_replaced_by_imported_ones_are_revoked_and_no_longer_used() {
    const SEALED: &str = r#"
[[circuits]]
siren = "200000001"
id = "CACHET"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "serverSignature" } ]
"#;
    let mut app = TestApp::start_process(BIN, "", SEALED, &[]);
    let dir = tempfile::tempdir().unwrap();
    let depot = app.as_user("depot@a.fr");
    let signed_by = |app: &TestApp, circuit: &str, name: &str| {
        let c = app.as_user("depot@a.fr");
        let id = c.upload(SIREN_A, circuit, name, pdf::small(name), "").id();
        if circuit == "S" {
            let r = app.as_user("s1@a.fr").act(id, "sign", None);
            assert_eq!(r.status, 200, "{}", r.text());
        }
        assert_eq!(c.states(id).last().unwrap(), "Classé", "{:?}", c.states(id));
        signer_serial(
            dir.path(),
            &c.get(&format!("{V1}/documents/v2/{id}/download")).body,
        )
    };
    // Keys the internal CA issued: s1's for subscriber A, and A's seal.
    let user_serial = signed_by(&app, "S", "avant.pdf");
    let seal_serial = signed_by(&app, "CACHET", "cachet-avant.pdf");
    assert_ne!(user_serial, seal_serial);
    let text = crl_pem(&app, dir.path());
    assert!(text.contains("No Revoked Certificates"), "{text}");

    // The provisioning now gives both their own PKCS#12: the issued certificates are revoked
    // (superseded), and the next signatures use the imported keys.
    let extra = format!(
        "{SEALED}\n[[subscribers]]\nsiren = \"200000001\"\nname = \"Commune A\"\n\
         seal_pkcs12 = \"seal.p12\"\nseal_pkcs12_password = \"p12-seal\"\n\
         [[users]]\nemail = \"s1@a.fr\"\nfirst_name = \"Sophie\"\nlast_name = \"Signe\"\n\
         subscribers = [\"200000001\"]\npkcs12 = \"s1.p12\"\npkcs12_password = \"p12-s1\"\n"
    );
    let d = app.dir.path().to_owned();
    std::fs::write(
        d.join("seal.p12"),
        pkcs12("Cachet de la commune A", "p12-seal"),
    )
    .unwrap();
    std::fs::write(d.join("s1.p12"), pkcs12("Sophie Signe (carte)", "p12-s1")).unwrap();
    let base = std::fs::read_to_string(d.join("provision.toml")).unwrap();
    std::fs::write(d.join("provision.toml"), format!("{base}\n{extra}")).unwrap();
    app.restart();
    let text = crl_pem(&app, dir.path()).to_uppercase();
    assert!(text.contains(&user_serial), "{user_serial} not in {text}");
    assert!(text.contains(&seal_serial), "{seal_serial} not in {text}");
    let reasons = app.query("SELECT reason FROM pki_revocations ORDER BY serial");
    assert_eq!(
        reasons.lines().collect::<Vec<_>>(),
        ["superseded", "superseded"]
    );
    let after_user = signed_by(&app, "S", "apres.pdf");
    let after_seal = signed_by(&app, "CACHET", "cachet-apres.pdf");
    assert!(!text.contains(&after_user) && !text.contains(&after_seal));
    let pem = std::fs::read_to_string(dir.path().join("signer.pem")).unwrap();
    std::fs::write(dir.path().join("last.pem"), pem).unwrap();
    let (ok, subject) = run_tool(
        dir.path(),
        "openssl",
        &["x509", "-in", "last.pem", "-noout", "-subject"],
    );
    assert!(
        ok && subject.contains("Cachet de la commune A"),
        "{subject}"
    );
    // Provisioning again changes nothing: nothing more to revoke.
    app.restart();
    let again = app.query("SELECT COUNT(*) FROM pki_revocations");
    assert_eq!(again.trim(), "2");
    drop(depot);
}

/// `POST /verifier` of `file` as the form's "rapport JSON" button does.
fn verify_json(app: &TestApp, file: Vec<u8>) -> Value {
    let r = Client::new(&app.base, None).multipart(
        reqwest::Method::POST,
        "/verifier",
        vec![
            parapheur_test_utils::Part::File("file", "f.pdf".into(), file),
            parapheur_test_utils::Part::Text("format", "json".into()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(openssl::hash::hash(openssl::hash::MessageDigest::sha256(), b).unwrap())
}

/// Issue 20 §3: anyone checks a signed file on `/verifier` (page, JSON, PDF report) and a
/// document by the verification code printed on its fiche de circulation; the ETSI verdicts
/// follow the file (B-LTA passed, a changed byte failed, no signature indeterminate); the
/// service is throttled per client address.
#[test]
fn anyone_verifies_a_signed_file_and_a_document_by_its_printed_code() {
    let app = TestApp::start(
        BIN,
        "[signing]\ntsa_url = \"internal\"\nlevel = \"B-LTA\"\n[limits]\nverifications_per_ip = 8\n",
    );
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "S", "v.pdf", pdf::small("v"), "").id();
    let r = app.as_user("s1@a.fr").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let anon = Client::new(&app.base, None);

    // 1. The page.
    let page = anon.get("/verifier");
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("Vérifier un document signé"),
        "{}",
        page.text()
    );

    // 2. The signed file: passed, B-LTA, its hash.
    let v = verify_json(&app, signed.clone());
    assert_eq!(v["indication"], "TOTAL_PASSED", "{v:#}");
    assert_eq!(v["format"], "PDF");
    assert_eq!(v["sha256"], sha256_hex(&signed));
    let s = &v["signatures"][0];
    assert_eq!(s["level"], "PAdES-BASELINE-LTA", "{v:#}");
    assert_eq!(s["indication"], "TOTAL_PASSED");
    assert_eq!(s["signer"], "Sophie Signe", "{v:#}");
    assert!(s["timestamped"].as_bool().unwrap(), "{v:#}");
    assert_eq!(v["document_timestamps"][0]["indication"], "TOTAL_PASSED");

    // 3. A byte of the signed content changed: failed, hash failure.
    let text = String::from_utf8_lossy(&signed).into_owned();
    let at = text.find("/MediaBox").unwrap();
    let mut tampered = signed.clone();
    tampered[at + 1] = b'N';
    let v = verify_json(&app, tampered);
    assert_eq!(v["indication"], "TOTAL_FAILED", "{v:#}");
    assert_eq!(v["signatures"][0]["subindication"], "HASH_FAILURE", "{v:#}");

    // 4. No signature at all: indeterminate, nothing listed.
    let v = verify_json(&app, pdf::small("rien"));
    assert_eq!(v["indication"], "INDETERMINATE", "{v:#}");
    assert_eq!(v["signatures"].as_array().unwrap().len(), 0);

    // 5. The page's own answer, in French, and the PDF report.
    let r = anon.multipart(
        reqwest::Method::POST,
        "/verifier",
        vec![parapheur_test_utils::Part::File(
            "file",
            "f.pdf".into(),
            signed.clone(),
        )],
    );
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    assert!(r.text().contains("Signature valide"), "{}", r.text());
    let r = anon.multipart(
        reqwest::Method::POST,
        "/verifier",
        vec![
            parapheur_test_utils::Part::File("file", "f.pdf".into(), signed.clone()),
            parapheur_test_utils::Part::Text("format", "pdf".into()),
        ],
    );
    assert_eq!(r.content_type, "application/pdf");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.pdf"), &r.body).unwrap();
    let (ok, out) = run_tool(dir.path(), "pdftotext", &["report.pdf", "-"]);
    assert!(
        ok && out.contains("TOTAL_PASSED") && out.contains(&sha256_hex(&signed)),
        "{out}"
    );

    // 6. The code printed on the fiche de circulation opens the document's report.
    let fdc = c.get(&format!("{V1}/documents/v2/{id}/getFdc")).body;
    std::fs::write(dir.path().join("fdc.pdf"), &fdc).unwrap();
    let (ok, out) = run_tool(dir.path(), "pdftotext", &["fdc.pdf", "-"]);
    assert!(ok, "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("Code de vérification"))
        .unwrap_or_else(|| panic!("no code in {out}"));
    let code = line.rsplit(' ').next().unwrap().to_owned();
    assert_eq!(code.len(), 19, "{line}");
    assert!(out.contains(&format!("/verifier/{code}")), "{out}");
    // ... and as a QR code that a reader (zbar) decodes to the verification address.
    let (ok, out) = run_tool(
        dir.path(),
        "pdftoppm",
        &[
            "-r", "150", "-png", "-f", "1", "-l", "1", "fdc.pdf", "fiche",
        ],
    );
    assert!(ok, "{out}");
    let png = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("fiche") && n.ends_with(".png"))
        .unwrap();
    let (ok, out) = run_tool(dir.path(), "zbarimg", &["--quiet", "--raw", &png]);
    assert!(ok, "{out}");
    // (zbar may add D-Bus complaints on stderr: the decoded text is its own line.)
    let url = format!("{}/verifier/{code}", app.base);
    assert!(out.lines().any(|l| l.trim() == url), "{out}");
    let page = anon.get(&format!(
        "/verifier/{}",
        code.to_lowercase().replace('-', "")
    ));
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(
        html.contains(&code) && html.contains(&sha256_hex(&signed)),
        "{html}"
    );
    assert!(html.contains("Signature valide"), "{html}");
    // A code that designates nothing, and one that cannot be a code.
    assert_eq!(anon.get("/verifier/0000-0000-0000-0000").status, 404);
    assert_eq!(anon.get("/verifier/pas-un-code").status, 404);

    // 7. Eight requests counted (five uploads, three codes; the form page is free): the
    // ninth of the minute gets 429 with Retry-After.
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/verifier/{code}", app.base))
        .header("accept", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    let body: Value = r.json().unwrap();
    assert_eq!(body["status"], 429, "{body}");
}

/// Issue 20 §2: with `[signing] pki_passphrase`, the internal CA's private keys (its own, the
/// users' and the seals') are encrypted at rest in the database (PKCS#8, PBES2) and signatures
/// still work.
#[test]
fn the_internal_ca_keys_are_encrypted_at_rest_with_the_configured_passphrase() {
    let app = TestApp::start(BIN, "[signing]\npki_passphrase = \"une phrase de passe\"\n");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "S", "chiffre.pdf", pdf::small("c"), "")
        .id();
    let r = app.as_user("s1@a.fr").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let ca = Client::new(&app.base, None).get("/api/v1/pki/ca.pem").body;
    let (n, out) = parapheur_test_utils::pyhanko_valid(&signed, &ca);
    assert_eq!(n, 1, "{out}");
    // Every private key the CA keeps (its own, the user's and the seal's, in the database).
    let mut keys = vec![app.query("SELECT private_key FROM pki_authority")];
    for name in app.query("SELECT name FROM pki_credentials").lines() {
        keys.push(app.query(&format!(
            "SELECT private_key FROM pki_credentials WHERE name = '{name}'"
        )));
    }
    assert!(keys.len() >= 2, "{keys:?}");
    let dir = tempfile::tempdir().unwrap();
    for (i, pem) in keys.iter().enumerate() {
        assert!(
            pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{i}: {}",
            &pem[..40.min(pem.len())]
        );
        // OpenSSL's own command line opens it with the passphrase, and not without.
        let name = format!("key-{i}.pem");
        std::fs::write(dir.path().join(&name), format!("{pem}\n")).unwrap();
        let (ok, out) = run_tool(
            dir.path(),
            "openssl",
            &[
                "pkey",
                "-in",
                &name,
                "-passin",
                "pass:une phrase de passe",
                "-noout",
            ],
        );
        assert!(ok, "{out}");
        let (ok, _) = run_tool(
            dir.path(),
            "openssl",
            &["pkey", "-in", &name, "-passin", "pass:", "-noout"],
        );
        assert!(!ok);
    }
}

/// A serial as OpenSSL prints it and as the CA records it, compared without leading zeros.
fn same_serial(a: &str, b: &str) -> bool {
    a.trim()
        .trim_start_matches('0')
        .eq_ignore_ascii_case(b.trim().trim_start_matches('0'))
}

/// Issue 20 §2: the CA's state (its key and certificate, the credentials it issued, the log of
/// issued certificates) lives in the database. Nothing is written under `data_dir`, and an
/// instance whose disk has none of it (another machine on the same database) serves the same CA
/// and signs with the same key.
#[test]
fn the_ca_state_is_in_the_database_so_another_instance_signs_with_the_same_keys() {
    let app = TestApp::start(BIN, "");
    let dir = tempfile::tempdir().unwrap();
    let depot = app.as_user("depot@a.fr");
    let first = depot
        .upload(SIREN_A, "S", "un.pdf", pdf::small("un"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(first, "sign", None).status, 200);
    let signed = depot
        .get(&format!("{V1}/documents/v2/{first}/download"))
        .body;
    let serial = signer_serial(dir.path(), &signed);
    assert!(
        !app.data_dir().join("pki").exists(),
        "nothing of the CA is kept on disk"
    );
    let s1 = app.query("SELECT id FROM users WHERE email = 's1@a.fr'");
    let name = format!("user-{s1}-{SIREN_A}");
    let recorded = app.query(&format!(
        "SELECT serial FROM pki_credentials WHERE name = '{name}'"
    ));
    assert!(same_serial(&recorded, &serial), "{recorded} != {serial}");
    let logged = app.query(&format!(
        "SELECT credential, serial FROM pki_issued WHERE credential = '{name}'"
    ));
    assert_eq!(logged.lines().count(), 1, "{logged}");

    let other = app.another_instance();
    let ca = Client::new(&app.base, None).get("/api/v1/pki/ca.pem").body;
    let ca_other = Client::new(&other.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    assert!(
        !ca.is_empty() && ca == ca_other,
        "one CA for both instances"
    );
    let second = depot
        .upload(SIREN_A, "S", "deux.pdf", pdf::small("deux"), "")
        .id();
    let r = other
        .client("s1@a.fr", "password-s1")
        .act(second, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let signed = depot
        .get(&format!("{V1}/documents/v2/{second}/download"))
        .body;
    assert!(same_serial(&signer_serial(dir.path(), &signed), &serial));
    // The other instance answers OCSP for the certificate the first one issued: good.
    std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
    let url = format!("{}/api/v1/pki/ocsp", other.base);
    let (ok, out) = run_tool(
        dir.path(),
        "openssl",
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "signer.pem",
            "-url",
            &url,
            "-CAfile",
            "ca.pem",
        ],
    );
    assert!(ok && out.contains("signer.pem: good"), "{out}");
    assert!(!app.data_dir().join("pki").exists());
}

/// Issue 20 §2: the CA and the keys an earlier version kept under `data_dir/pki` are imported
/// into a database that has none: the same CA, the same user key, still encrypted at rest when
/// a passphrase is configured.
#[test]
fn the_ca_files_of_an_earlier_version_are_imported_into_the_database() {
    use parapheur_sign::ca::{InternalCa, KeyKind, KeyProtection, Subject};
    let passphrase = "une autre phrase";
    let app = TestApp::start(
        BIN,
        &format!("[signing]\npki_passphrase = \"{passphrase}\"\n"),
    );
    let s1 = app.query("SELECT id FROM users WHERE email = 's1@a.fr'");
    // What an earlier version left: the CA's files and s1's key for subscriber A, in clear
    // (written before the passphrase was configured); the database knows nothing of them.
    let legacy = app.data_dir().join("pki");
    let ca = InternalCa::open_or_create(&legacy, "autorité d'une version antérieure").unwrap();
    let issued = ca
        .credential(
            &format!("user-{s1}-{SIREN_A}"),
            &Subject {
                common_name: "Sophie Signataire".into(),
                email: Some("s1@a.fr".into()),
                organization: None,
                organization_id: Some(SIREN_A.into()),
            },
            KeyKind::Person,
        )
        .unwrap();
    let old_serial = parapheur_sign::ca::serial_hex(&issued.chain[0]).unwrap();
    app.sql("DELETE FROM pki_issued");
    app.sql("DELETE FROM pki_credentials");
    app.sql("DELETE FROM pki_authority");

    // The next instance to start imports them.
    let other = app.another_instance();
    let served = Client::new(&other.base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    assert_eq!(served, ca.certificate().to_pem().unwrap());
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "S", "ancien.pdf", pdf::small("ancien"), "")
        .id();
    let r = other.client("s1@a.fr", "password-s1").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let signed = depot.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let dir = tempfile::tempdir().unwrap();
    assert!(same_serial(
        &signer_serial(dir.path(), &signed),
        &old_serial
    ));
    let logged = app.query(&format!(
        "SELECT credential FROM pki_issued WHERE serial = '{old_serial}'"
    ));
    assert_eq!(logged, format!("user-{s1}-{SIREN_A}"));
    // Kept encrypted in the database, and the CA opens with the passphrase only.
    let key = app.query("SELECT private_key FROM pki_authority");
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{key}"
    );
    let cert = app.query("SELECT certificate FROM pki_authority");
    assert!(
        InternalCa::from_pem(
            cert.as_bytes(),
            key.as_bytes(),
            KeyProtection::passphrase(passphrase.as_bytes())
        )
        .is_ok()
    );
    assert!(
        InternalCa::from_pem(cert.as_bytes(), key.as_bytes(), KeyProtection::default()).is_err()
    );
}

/// An EU trusted list (ETSI TS 119 612) naming `granted` and `withdrawn` CAs (`CA/QC`).
fn trusted_list(granted: &openssl::x509::X509, withdrawn: &openssl::x509::X509) -> String {
    use base64::Engine;
    let service = |cert: &openssl::x509::X509, status: &str| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.to_der().unwrap());
        format!(
            "<tsl:TSPService><tsl:ServiceInformation>\
             <tsl:ServiceTypeIdentifier>http://uri.etsi.org/TrstSvc/Svctype/CA/QC</tsl:ServiceTypeIdentifier>\
             <tsl:ServiceName><tsl:Name xml:lang=\"fr\">AC de test</tsl:Name></tsl:ServiceName>\
             <tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>{b64}</tsl:X509Certificate>\
             </tsl:DigitalId></tsl:ServiceDigitalIdentity>\
             <tsl:ServiceStatus>http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/{status}</tsl:ServiceStatus>\
             </tsl:ServiceInformation></tsl:TSPService>"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <tsl:TrustServiceStatusList xmlns:tsl=\"http://uri.etsi.org/02231/v2#\" TSLTag=\"http://uri.etsi.org/19612/TSLTag\">\
         <tsl:SchemeInformation><tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>\
         <tsl:SchemeTerritory>FR</tsl:SchemeTerritory></tsl:SchemeInformation>\
         <tsl:TrustServiceProviderList><tsl:TrustServiceProvider><tsl:TSPInformation>\
         <tsl:TSPName><tsl:Name xml:lang=\"fr\">Prestataire de test</tsl:Name></tsl:TSPName></tsl:TSPInformation>\
         <tsl:TSPServices>{}{}</tsl:TSPServices></tsl:TrustServiceProvider></tsl:TrustServiceProviderList>\
         </tsl:TrustServiceStatusList>",
        service(granted, "granted"),
        service(withdrawn, "withdrawn")
    )
}

/// Issue 20 §3: `[signing] trusted_list` makes the granted CAs of an EU trusted list trust
/// anchors of verification (`/verifier` here), and not its withdrawn ones.
#[test]
fn the_granted_cas_of_a_configured_trusted_list_are_trusted_and_withdrawn_ones_are_not() {
    use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
    let dir = tempfile::tempdir().unwrap();
    let granted = InternalCa::open_or_create(&dir.path().join("q"), "AC qualifiée").unwrap();
    let withdrawn = InternalCa::open_or_create(&dir.path().join("w"), "AC retirée").unwrap();
    let tl = dir.path().join("tl-fr.xml");
    std::fs::write(
        &tl,
        trusted_list(granted.certificate(), withdrawn.certificate()),
    )
    .unwrap();
    let subject = Subject {
        common_name: "Agent signataire".into(),
        email: Some("agent@exemple.fr".into()),
        organization: None,
        organization_id: None,
    };
    let signed_by = |ca: &InternalCa| {
        let cred = ca.issue(&subject, KeyKind::Person).unwrap();
        parapheur_sign::pades::sign(
            &pdf::small("liste"),
            &cred,
            &parapheur_sign::pades::SignOptions::new("Agent signataire"),
        )
        .unwrap()
    };
    let app = TestApp::start(
        BIN,
        &format!("[signing]\ntrusted_list = \"{}\"\n", tl.display()),
    );
    let ok = verify_json(&app, signed_by(&granted));
    let sig = &ok["signatures"][0];
    assert_ne!(sig["subindication"], "NO_CERTIFICATE_CHAIN_FOUND", "{ok}");
    assert_eq!(
        (sig["indication"].as_str(), sig["subindication"].as_str()),
        (Some("INDETERMINATE"), Some("TRY_LATER")),
        "trusted, without revocation data in the file: {ok}"
    );
    let refused = verify_json(&app, signed_by(&withdrawn));
    assert_eq!(
        refused["signatures"][0]["subindication"], "NO_CERTIFICATE_CHAIN_FOUND",
        "{refused}"
    );
    // A list that is not one stops the start, naming the file.
    std::fs::write(&tl, "<html/>").unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n[signing]\ntrusted_list = \"{}\"\n",
            dir.path().join("data").display(),
            tl.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("tl-fr.xml") && err.contains("not a TrustServiceStatusList"),
        "{err}"
    );
}

/// A directory served over HTTP by Python's `http.server` on a free local port.
struct Served {
    child: std::process::Child,
    port: u16,
}

impl Served {
    fn start(dir: &std::path::Path) -> Self {
        let port = parapheur_test_utils::wait::free_port();
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        parapheur_test_utils::wait::wait_for_port(port, "python3 -m http.server");
        Self { child, port }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 20 §3: revocation "from the file or online". A PDF signed by a trusted CA's signer,
/// without revocation data, is judged with the CRL its certificate's distribution point serves:
/// unknown while the CRL cannot be had, passed with a CRL that does not list it, failed once it
/// is listed; and nothing is fetched with `online_revocation = false`.
#[test]
fn verification_fetches_the_crl_of_a_trusted_signer_when_the_file_has_none() {
    use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let served = Served::start(&www);
    let ca = InternalCa::open_or_create(&dir.path().join("ca"), "AC publiant sa LCR")
        .unwrap()
        .with_crl_url(format!("http://127.0.0.1:{}/ac.crl", served.port));
    let anchors = dir.path().join("anchors.pem");
    std::fs::write(&anchors, ca.certificate().to_pem().unwrap()).unwrap();
    let cred = ca
        .issue(
            &Subject {
                common_name: "Agent d'une autre AC".into(),
                email: Some("agent@ailleurs.fr".into()),
                organization: None,
                organization_id: None,
            },
            KeyKind::Person,
        )
        .unwrap();
    let signed = parapheur_sign::pades::sign(
        &pdf::small("en ligne"),
        &cred,
        &parapheur_sign::pades::SignOptions::new("Agent"),
    )
    .unwrap();
    let serial = parapheur_sign::ca::serial_hex(cred.certificate()).unwrap();
    let verdict = |app: &TestApp| {
        let r = verify_json(app, signed.clone());
        let s = &r["signatures"][0];
        (
            s["indication"].as_str().unwrap_or_default().to_owned(),
            s["subindication"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let app = TestApp::start(
        BIN,
        &format!("[signing]\ntrust_anchors = \"{}\"\n", anchors.display()),
    );
    // Nothing at the distribution point yet (404).
    assert_eq!(verdict(&app), ("INDETERMINATE".into(), "TRY_LATER".into()));
    // A CRL that does not list the signer.
    std::fs::write(www.join("ac.crl"), ca.crl(&[], 1, 3600).unwrap()).unwrap();
    assert_eq!(verdict(&app), ("TOTAL_PASSED".into(), String::new()));
    // The signer revoked an hour ago: no timestamp proves the signature came before.
    let an_hour_ago = chrono::Utc::now().timestamp() - 3600;
    std::fs::write(
        www.join("ac.crl"),
        ca.crl(&[(serial, an_hour_ago)], 2, 3600).unwrap(),
    )
    .unwrap();
    assert_eq!(
        verdict(&app),
        ("INDETERMINATE".into(), "REVOKED_NO_POE".into())
    );
    // Offline: the CRL is there, but not fetched.
    let offline = TestApp::start(
        BIN,
        &format!(
            "[signing]\ntrust_anchors = \"{}\"\nonline_revocation = false\n",
            anchors.display()
        ),
    );
    assert_eq!(
        verdict(&offline),
        ("INDETERMINATE".into(), "TRY_LATER".into())
    );
}

/// Issue 20 §1: B-LT "for every signature": a seal imported from another CA's PKCS#12 gets
/// that CA's CRL in the DSS, fetched from its distribution point when signing, so the file
/// alone proves the seal unrevoked once that CA's server is gone.
#[test]
fn a_b_lt_seal_of_another_ca_carries_that_cas_crl_fetched_when_signing() {
    use parapheur_sign::ca::{InternalCa, KeyKind, Subject};
    const SEALED: &str = r#"
[[circuits]]
siren = "200000001"
id = "CACHET"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "serverSignature" } ]

[[subscribers]]
siren = "200000001"
name = "Commune A"
seal_pkcs12 = "seal.p12"
seal_pkcs12_password = "p12-seal"
"#;
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let served = Served::start(&www);
    let their_ca = InternalCa::open_or_create(&dir.path().join("ca"), "AC des cachets")
        .unwrap()
        .with_crl_url(format!("http://127.0.0.1:{}/cachets.crl", served.port));
    std::fs::write(
        www.join("cachets.crl"),
        their_ca.crl(&[], 1, 86_400).unwrap(),
    )
    .unwrap();
    let anchors = dir.path().join("anchors.pem");
    std::fs::write(&anchors, their_ca.certificate().to_pem().unwrap()).unwrap();
    let cred = their_ca
        .issue(
            &Subject {
                common_name: "Cachet de la Commune A".into(),
                email: None,
                organization: Some("Commune A".into()),
                organization_id: Some(SIREN_A.into()),
            },
            KeyKind::Seal,
        )
        .unwrap();
    let mut chain = openssl::stack::Stack::new().unwrap();
    chain.push(their_ca.certificate().clone()).unwrap();
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("cachet")
        .pkey(cred.key.soft().unwrap())
        .cert(cred.certificate())
        .ca(chain)
        .build2("p12-seal")
        .unwrap()
        .to_der()
        .unwrap();
    let app = TestApp::start_with(
        BIN,
        &format!(
            "[signing]\nlevel = \"B-LT\"\ntsa_url = \"internal\"\ntrust_anchors = \"{}\"\n",
            anchors.display()
        ),
        SEALED,
        &[("seal.p12", p12)],
    );
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "CACHET", "cachet.pdf", pdf::small("cachet"), "")
        .id();
    assert_eq!(
        depot.states(id).last().unwrap(),
        "Classé",
        "{:?}",
        depot.states(id)
    );
    let signed = depot.get(&format!("{V1}/documents/v2/{id}/download")).body;
    drop(served);

    // Judged from the file alone: their CA for the seal, ours for the timestamp.
    let ours =
        openssl::x509::X509::from_pem(&Client::new(&app.base, None).get("/api/v1/pki/ca.pem").body)
            .unwrap();
    let mut ctx =
        parapheur_sign::policy::ValidationContext::new(vec![their_ca.certificate().clone()]);
    ctx.tsa_anchors = vec![ours];
    let r = parapheur_sign::verify::verify_pdf(&signed, &ctx).unwrap();
    let s = &r.signatures[0];
    assert_eq!(s.signer, "Cachet de la Commune A", "{r:?}");
    assert!(s.revocation_checked, "{r:?}");
    assert_eq!(
        (s.indication, s.level),
        (
            parapheur_sign::etsi::Indication::TotalPassed,
            Some(parapheur_sign::verify::Level::Lt)
        ),
        "{r:?}"
    );
}
