//! FAST deposit routes against the real binary: v2 upload, on-demand upload, their error codes,
//! and bad input that must change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::wait_for;
use parapheur_test_utils::{Part, SIREN_A, SIREN_B, TestApp, make_zip, pdf, unzip};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

fn ondemand(
    app: &TestApp,
    user: &str,
    siren: &str,
    parts: Vec<Part>,
) -> parapheur_test_utils::Resp {
    app.as_user(user).multipart(
        Method::POST,
        &format!("/parapheur-ws/rest/v1/documents/ondemand/{siren}/upload"),
        parts,
    )
}

fn circuit_part(v: serde_json::Value) -> Part {
    Part::Text("circuit", v.to_string())
}

#[test]
fn v2_upload_accepts_doc_and_content_and_enforces_the_triplet() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let bytes = pdf::small("Délibération");
    let r = c.upload(SIREN_A, "VV", "acte.pdf", bytes.clone(), "Conseil");
    assert_eq!(r.status, 200);
    let id = r.id();
    assert!(id > 0, "bare integer id: {}", r.text());
    assert!(r.text().trim().chars().all(|c| c.is_ascii_digit()));

    // Same circuit, label and file name: refused; another label: accepted.
    let dup = c.upload(SIREN_A, "VV", "acte.pdf", bytes.clone(), "Conseil");
    assert_eq!(
        (dup.status, dup.error_code()),
        (200, Some(105)),
        "{}",
        dup.text()
    );
    let other = c.upload(SIREN_A, "VV", "acte.pdf", bytes.clone(), "Bureau");
    assert_eq!(other.status, 200, "{}", other.text());
    assert_ne!(other.id(), id);

    // The part may be named `content`, as clients send it.
    let r = c.multipart(
        Method::POST,
        &format!("/parapheur-ws/rest/v1/documents/v2/{SIREN_A}/VV/upload"),
        vec![
            Part::File("content", "via-content.pdf".into(), bytes.clone()),
            Part::Text("comment", "à viser rapidement".into()),
            Part::Text("emailDestinataire", "a@x.fr; b@x.fr".into()),
        ],
    );
    let id2 = r.id();
    let dl = c.get(&format!(
        "/parapheur-ws/rest/v1/documents/v2/{id2}/download"
    ));
    assert_eq!(dl.status, 200);
    assert_eq!(dl.content_type, "application/pdf");
    assert_eq!(dl.body, bytes, "download returns the deposited bytes");
    assert_eq!(c.states(id2), ["Préparé", "Envoyé pour visa"]);
}

#[test]
fn v2_upload_errors() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let p = pdf::small("x");
    let code = |r: parapheur_test_utils::Resp| (r.status, r.error_code());
    assert_eq!(
        code(c.upload("999999999", "VV", "a.pdf", p.clone(), "")),
        (200, Some(111))
    );
    assert_eq!(
        code(c.upload(SIREN_B, "VV", "a.pdf", p.clone(), "")),
        (200, Some(100))
    );
    assert_eq!(
        code(c.upload(SIREN_A, "NOPE", "a.pdf", p.clone(), "")),
        (200, Some(107))
    );
    assert_eq!(
        code(c.upload(SIREN_A, "RESTRICTED", "a.pdf", p.clone(), "")),
        (200, Some(100))
    );
    assert_eq!(
        code(c.upload(SIREN_A, "VV", "a.xml", b"<a/>".to_vec(), "")),
        (200, Some(106))
    );
    assert_eq!(
        code(c.upload(SIREN_A, "XML", "a.pdf", p.clone(), "")),
        (200, Some(106))
    );
    let missing = c.multipart(
        Method::POST,
        &format!("/parapheur-ws/rest/v1/documents/v2/{SIREN_A}/VV/upload"),
        vec![Part::Text("label", "x".into())],
    );
    assert_eq!(code(missing), (200, Some(112)));
    // The administrator is an allowed depositor of RESTRICTED.
    assert_eq!(
        app.as_user("admin@a.fr")
            .upload(SIREN_A, "RESTRICTED", "a.pdf", p.clone(), "")
            .status,
        200
    );
    // XML circuit: well-formed XML accepted, DOCTYPE refused.
    assert_eq!(
        c.upload(
            SIREN_A,
            "XML",
            "c.xml",
            b"<convention><a/></convention>".to_vec(),
            ""
        )
        .status,
        200
    );
    let xxe =
        b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>"
            .to_vec();
    assert_eq!(
        code(c.upload(SIREN_A, "XML", "x.xml", xxe, "")),
        (200, Some(108))
    );
    // Authentication.
    let anon =
        app.client("depot@a.fr", "wrong-password")
            .upload(SIREN_A, "VV", "a.pdf", p.clone(), "");
    assert_eq!((anon.status, anon.error_code()), (401, Some(101)));
    let nobody =
        parapheur_test_utils::Client::new(&app.base, None).upload(SIREN_A, "VV", "a.pdf", p, "");
    assert_eq!(nobody.status, 401);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let app = TestApp::start(BIN, "max_upload_bytes = 300000");
    let c = app.as_user("depot@a.fr");
    let search = || {
        c.post_json(
            "/parapheur-ws/rest/v1/documents/search",
            json!({"siren": SIREN_A}),
        )
        .json()
    };
    let good = pdf::small("ok");
    let before = (search(), app.blob_count());
    let cases: Vec<(&str, Vec<u8>, i64)> = vec![
        ("empty.pdf", Vec::new(), 108),
        ("fake.pdf", b"GIF89a this is not a PDF at all".to_vec(), 108),
        ("truncated.pdf", good[..good.len() * 2 / 3].to_vec(), 108),
        ("big.pdf", pdf::sample("big", 1, 400_000), 109),
        ("../../etc/passwd.pdf", good.clone(), 108),
        ("..\\evil.pdf", good.clone(), 108),
        ("broken.pdf.zip", b"PK not really a zip".to_vec(), 108),
    ];
    for (name, bytes, expected) in cases {
        let r = c.upload(SIREN_A, "VV", name, bytes, "bad");
        assert_eq!(
            (r.status, r.error_code()),
            (200, Some(expected)),
            "{name}: {}",
            r.text()
        );
        let body = r.json();
        assert!(body["generation"].as_i64().is_some());
        assert!(
            !body["developerMessage"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
        assert!(
            !body["userFriendlyMessage"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
        assert!(
            !r.text().contains(app.dir.path().to_str().unwrap()),
            "no server path leaks"
        );
    }
    assert_eq!((search(), app.blob_count()), before, "nothing stored");
    assert!(c.upload(SIREN_A, "VV", "fine.pdf", good, "bad").status == 200);
    assert_eq!(app.blob_count(), before.1 + 1);
}

#[test]
fn zip_deposit_splits_main_document_and_annexes() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let main = pdf::small("principal");
    let annex = pdf::small("annexe");
    let z = make_zip(&[
        ("dossier/acte.pdf", &main),
        ("annexe-1.pdf", &annex),
        ("note.txt", b"note"),
    ]);
    let id = c.upload(SIREN_A, "VV", "acte.pdf.zip", z, "zip").id();
    let dl = c.get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/download"));
    assert_eq!(dl.body, main);
    let fdc = c.get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/getFdc"));
    let text = pdftotext(&fdc.body);
    assert!(
        text.contains("annexe-1.pdf") && text.contains("note.txt"),
        "{text}"
    );
    let missing = make_zip(&[("autre.pdf", &main)]);
    let r = c.upload(SIREN_A, "VV", "acte.pdf.zip", missing, "zip2");
    assert_eq!(r.error_code(), Some(108));
}

#[test]
fn ondemand_upload_and_its_error_codes() {
    let app = TestApp::start(BIN, "");
    let doc = || Part::File("doc", "od.pdf".into(), pdf::small("ondemand"));
    let ok_circuit = json!({"type": "BUREAUTIQUE_PDF", "steps": [
        {"step": "visa", "members": ["V1@a.fr", "v2@a.fr"]},
        {"step": "signature", "members": ["s1@a.fr"]},
        {"step": "OTPSignature"}
    ]});
    let r = ondemand(
        &app,
        "depot@a.fr",
        SIREN_A,
        vec![
            doc(),
            circuit_part(ok_circuit.clone()),
            Part::File("annexes", "an1.pdf".into(), pdf::small("a1")),
            Part::File("annexes", "an2.txt".into(), b"annexe texte".to_vec()),
            Part::Text("agents", "agent@a.fr".into()),
            Part::Text("comment", "dépôt à la volée".into()),
            Part::Text("email_destinataire", "x@y.fr;z@y.fr".into()),
            Part::Text("email_CC", "cc@y.fr".into()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.id();
    let c = app.as_user("depot@a.fr");
    assert_eq!(c.states(id), ["Préparé", "Envoyé pour visa"]);
    // Either visa member may act.
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(
        c.states(id).last().map(String::as_str),
        Some("Envoyé pour signature")
    );
    let fdc = pdftotext(
        &c.get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/getFdc"))
            .body,
    );
    assert!(
        fdc.contains("an1.pdf") && fdc.contains("an2.txt") && fdc.contains("circuit à la volée"),
        "{fdc}"
    );

    // email_cc in another case is read as well.
    let r = ondemand(
        &app,
        "depot@a.fr",
        SIREN_A,
        vec![
            doc(),
            circuit_part(ok_circuit.clone()),
            Part::Text("EMAIL_CC", "cc@y.fr".into()),
        ],
    );
    assert_eq!(r.status, 200);
    r.id();

    let cases: Vec<(&str, &str, Vec<Part>, i64)> = vec![
        (
            "not a member",
            "depot@b.fr",
            vec![doc(), circuit_part(ok_circuit.clone())],
            100,
        ),
        (
            "unknown siren",
            "depot@a.fr",
            vec![doc(), circuit_part(ok_circuit.clone())],
            111,
        ),
        (
            "bad type",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(
                    json!({"type": "PDF", "steps": [{"step": "visa", "members": ["v1@a.fr"]}]}),
                ),
            ],
            117,
        ),
        (
            "bad step",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(
                    json!({"type": "BUREAUTIQUE_PDF", "steps": [{"step": "cachet", "members": ["v1@a.fr"]}]}),
                ),
            ],
            118,
        ),
        (
            "unknown member",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(
                    json!({"type": "BUREAUTIQUE_PDF", "steps": [{"step": "visa", "members": ["ghost@a.fr"]}]}),
                ),
            ],
            119,
        ),
        (
            "member of another siren",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(
                    json!({"type": "BUREAUTIQUE_PDF", "steps": [{"step": "visa", "members": ["v@b.fr"]}]}),
                ),
            ],
            119,
        ),
        (
            "invalid member",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(
                    json!({"type": "BUREAUTIQUE_PDF", "steps": [{"step": "visa", "members": ["not-an-email"]}]}),
                ),
            ],
            119,
        ),
        (
            "missing doc",
            "depot@a.fr",
            vec![circuit_part(ok_circuit.clone())],
            120,
        ),
        (
            "not json",
            "depot@a.fr",
            vec![doc(), Part::Text("circuit", "{type: visa".into())],
            121,
        ),
        (
            "no steps",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(json!({"type": "BUREAUTIQUE_PDF", "steps": []})),
            ],
            121,
        ),
        ("no circuit", "depot@a.fr", vec![doc()], 121),
        (
            "depositor signs",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(
                    json!({"type": "BUREAUTIQUE_PDF", "steps": [{"step": "signature", "members": ["depot@a.fr"]}]}),
                ),
            ],
            122,
        ),
        (
            "depositor visas",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(
                    json!({"type": "BUREAUTIQUE_PDF", "steps": [{"step": "visa", "members": ["v1@a.fr", "DEPOT@a.fr"]}]}),
                ),
            ],
            122,
        ),
        (
            "unknown agent",
            "depot@a.fr",
            vec![
                doc(),
                circuit_part(ok_circuit.clone()),
                Part::Text("agents", "ghost@a.fr".into()),
            ],
            119,
        ),
    ];
    for (what, user, parts, expected) in cases {
        let siren = if what == "unknown siren" {
            "999999999"
        } else {
            SIREN_A
        };
        let r = ondemand(&app, user, siren, parts);
        assert_eq!(
            (r.status, r.error_code()),
            (200, Some(expected)),
            "{what}: {}",
            r.text()
        );
    }
}

pub fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.pdf");
    std::fs::write(&p, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&p)
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils) is required by these tests");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn download_zip_with_fiche_de_circulation() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let bytes = pdf::sample("Arrêté", 3, 1000);
    let id = c
        .upload(SIREN_A, "VV", "arrete.pdf", bytes.clone(), "")
        .id();
    app.as_user("v1@a.fr").act(id, "visa", Some("vu, conforme"));
    for q in ["FdC=true", "fdc=true&acquit=false", "acquit=true"] {
        let r = c.get(&format!(
            "/parapheur-ws/rest/v1/documents/v2/{id}/download?{q}"
        ));
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "application/zip", "{q}");
        let entries = unzip(&r.body);
        assert_eq!(entries[0], ("arrete.pdf".to_owned(), bytes.clone()), "{q}");
        let has_fdc = entries
            .iter()
            .any(|(n, b)| n.starts_with("fiche-de-circulation") && b.starts_with(b"%PDF-"));
        assert_eq!(has_fdc, q.starts_with("FdC") || q.starts_with("fdc"), "{q}");
    }
    let raw = c.get(&format!(
        "/parapheur-ws/rest/v1/documents/v2/{id}/download?FdC=false&acquit=false"
    ));
    assert_eq!(raw.body, bytes);
    let fdc = c.get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/getFdc"));
    assert_eq!(fdc.content_type, "application/pdf");
    let text = pdftotext(&fdc.body);
    for needle in [
        "Fiche de circulation",
        "arrete.pdf",
        "VV",
        "Préparé",
        "Envoyé pour visa",
        "Visa approuvé",
        "Victor Un",
        "vu, conforme",
        "Denise Dépôt",
        "Commune A",
    ] {
        assert!(text.contains(needle), "fiche lacks {needle:?}:\n{text}");
    }
}

/// Deposits take their circuit and the people it names from a cache (issue 22). A change made
/// elsewhere — here SQL on the database, as another instance, a command-line provisioning or an
/// operator makes it — moves the deposit epoch, and every instance sees the change within its
/// epoch poll (half a second). (Changes made through the instance itself are seen by the very
/// next deposit: `delegation::a_delegate_acts_for_an_absent_signer_during_the_period_only`.)
#[test]
fn deposits_see_circuit_and_membership_changes_made_elsewhere() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    // A new name each time (the FAST triplet rule refuses a second deposit of the same one).
    let n = std::cell::Cell::new(0);
    let code = |circuit: &str| {
        n.set(n.get() + 1);
        let name = format!("a{}.pdf", n.get());
        let r = c.upload(SIREN_A, circuit, &name, pdf::small("x"), "");
        (r.status, r.error_code())
    };
    let epoch = || {
        app.query("SELECT n FROM deposit_epoch WHERE id = 1")
            .trim()
            .to_owned()
    };
    // Twice each: the second deposit is answered from the cache.
    for _ in 0..2 {
        assert_eq!(code("S"), (200, None));
        assert_eq!(code("VVS"), (200, None));
    }
    let before = epoch();

    // The circuit S now admits one depositor, who is not this caller.
    app.sql(&format!(
        "UPDATE circuits SET depositors = '[\"admin@a.fr\"]' WHERE siren = '{SIREN_A}' AND id = 'S'"
    ));
    let moved = epoch();
    assert_ne!(moved, before, "the trigger moves the epoch");
    wait_for(Duration::from_secs(5), "the new depositors seen", || {
        (code("S") == (200, Some(100))).then_some(())
    });

    // v2, a member of VVS's second step, leaves the subscriber.
    app.sql(&format!(
        "DELETE FROM memberships WHERE siren = '{SIREN_A}' AND user_id = \
         (SELECT id FROM users WHERE email = 'v2@a.fr')"
    ));
    assert_ne!(epoch(), moved);
    let refused = wait_for(Duration::from_secs(5), "the membership change seen", || {
        let r = code("VVS");
        (r != (200, None)).then_some(r)
    });
    assert_eq!(refused, (200, Some(119)), "not a member of the subscriber");
    // Unrelated circuits keep working.
    assert_eq!(code("SV"), (200, None));
}
