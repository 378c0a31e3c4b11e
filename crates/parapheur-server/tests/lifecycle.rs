//! The rest of the circuit: seal, verification and archive steps run by the parapheur, the
//! vault and its SEDA export, replacement, comments and annexes, agents, interruption, and the
//! retention purge.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::wait_for;
use parapheur_test_utils::{Client, Part, SIREN_A, TestApp, pdf};
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";
const PROVISION: &str = r#"
[[circuits]]
siren = "200000001"
id = "ARCH"
type = "BUREAUTIQUE_PDF"
steps = [
  { step = "visa", members = ["v1@a.fr"] },
  { step = "serverSignature" },
  { step = "verification" },
  { step = "archive" },
]

[[circuits]]
siren = "200000001"
id = "DELIVER"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "signature", members = ["s1@a.fr"] }, { step = "deliver" } ]
"#;

fn wait_state(c: &Client, id: i64, state: &str) -> Vec<String> {
    wait_for(Duration::from_secs(20), state, || {
        let s = c.states(id);
        s.iter().any(|x| x == state).then_some(s)
    })
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[test]
fn visa_seal_verification_archive_ends_archived_with_a_matching_manifest() {
    let app = TestApp::start_with(BIN, "", PROVISION, &[]);
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(
            SIREN_A,
            "ARCH",
            "deliberation.pdf",
            pdf::sample("Délibération", 2, 800),
            "Conseil",
        )
        .id();
    assert!(app.as_user("admin@a.fr").act(id, "visa", None).status == 403);
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    let states = wait_state(&c, id, "Classé");
    assert_eq!(
        states,
        [
            "Préparé",
            "Envoyé pour visa",
            "Visa approuvé",
            "Envoyé pour signature",
            "Signé",
            "Signature validée",
            "Archivé",
            "Classé"
        ]
    );
    let h = c.get(&format!("{V1}/documents/v2/{id}/history")).json();
    assert_eq!(h[4]["userFullname"], "Commune A", "signed by the seal");
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let ca = Client::new(&app.base, None).get("/api/v1/pki/ca.pem").body;
    let (n, report) = parapheur_test_utils::pyhanko_valid(&signed, &ca);
    assert_eq!(n, 1, "{report}");

    // The vault entry: every file listed with a matching hash, the document as downloaded.
    let dir = app
        .data_dir()
        .join("vault")
        .join(SIREN_A)
        .join(id.to_string());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["documentId"], id);
    let files = manifest["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"document/deliberation.pdf")
            && paths.contains(&"fiche-de-circulation.pdf")
            && paths.contains(&"history.json"),
        "{paths:?}"
    );
    for f in files {
        let bytes = std::fs::read(dir.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["sha256"], sha(&bytes), "{}", f["path"]);
        assert_eq!(f["size"], bytes.len());
    }
    assert_eq!(
        std::fs::read(dir.join("document/deliberation.pdf")).unwrap(),
        signed
    );
    let history: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("history.json")).unwrap()).unwrap();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["stateName"] == "Signature validée")
    );
    // Written once: read-only files.
    assert!(
        std::fs::metadata(dir.join("manifest.json"))
            .unwrap()
            .permissions()
            .readonly()
    );
}

#[test]
fn the_seda_export_validates_against_the_seda_2_1_schema() {
    let xsd = std::env::var("PARAPHEUR_SEDA_XSD").expect(
        "PARAPHEUR_SEDA_XSD must name seda-2.1-main.xsd: ./scripts/test.sh downloads it (PyPI cubicweb-seda)",
    );
    let app = TestApp::start_with(BIN, "[archive]\nformat = \"seda\"\n", PROVISION, &[]);
    let c = app.as_user("depot@a.fr");
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/v2/{SIREN_A}/ARCH/upload"),
        vec![
            Part::File("doc", "contrat & avenant.pdf".into(), pdf::small("contrat")),
            Part::File("annexes", "annexe <1>.txt".into(), b"annexe".to_vec()),
            Part::Text("label", "Marchés \"2026\"".into()),
        ],
    );
    let id = r.id();
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    wait_state(&c, id, "Archivé");
    let dir = app
        .data_dir()
        .join("vault")
        .join(SIREN_A)
        .join(id.to_string());
    let xml = dir.join("manifest.xml");
    let script = "import sys\nfrom lxml import etree\ns = etree.XMLSchema(etree.parse(sys.argv[1]))\nd = etree.parse(sys.argv[2])\nok = s.validate(d)\nprint(s.error_log)\nsys.exit(0 if ok else 1)";
    let out = std::process::Command::new("python3")
        .args(["-c", script, &xsd])
        .arg(&xml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(&xml).unwrap();
    let doc_bytes = std::fs::read(dir.join("document/contrat & avenant.pdf")).unwrap();
    assert!(
        text.contains(&sha(&doc_bytes)),
        "the SEDA digest is the document's"
    );
    assert!(text.contains("contrat &amp; avenant.pdf"));
    // A broken package is refused by the same check (the check can fail).
    let broken = dir.parent().unwrap().join("broken.xml");
    std::fs::write(
        &broken,
        text.replace("<MessageIdentifier>", "<MessageIdentifiant>")
            .replace("</MessageIdentifier>", "</MessageIdentifiant>"),
    )
    .unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", script, &xsd])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn replacement_keeps_versions_and_restarts_the_circuit() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "VV", "v1.pdf", pdf::small("first"), "")
        .id();
    let replace = |who: &Client, name: &str, bytes: Vec<u8>| {
        who.multipart(
            Method::POST,
            &format!("/api/v1/documents/{id}/replace"),
            vec![Part::File("file", name.into(), bytes)],
        )
    };
    assert_eq!(
        app.as_user("v1@a.fr")
            .act(id, "reject", Some("chiffres faux"))
            .status,
        200
    );
    // Only the depositor (or an administrator); same format; a valid file.
    assert_eq!(
        replace(&app.as_user("v1@a.fr"), "v2.pdf", pdf::small("second")).status,
        403
    );
    assert_eq!(
        replace(&c, "v2.xml", b"<a/>".to_vec()).error_code(),
        Some(106)
    );
    assert_eq!(
        replace(&c, "v2.pdf", b"not a pdf".to_vec()).error_code(),
        Some(108)
    );
    let blobs = app.blob_count();
    let second = pdf::small("second");
    let r = replace(&c, "v2.pdf", second.clone());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.blob_count(), blobs + 1, "the first version is kept");
    let states = c.states(id);
    assert_eq!(
        &states[states.len() - 3..],
        ["Visa désapprouvé", "Document remplacé", "Envoyé pour visa"]
    );
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/download")).body,
        second
    );
    // The circuit restarts: visa, visa, classified; replacing after an approval is refused.
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(replace(&c, "v3.pdf", pdf::small("third")).status, 409);
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(c.states(id).last().unwrap(), "Classé");
}

#[test]
fn agents_comment_and_annex_but_never_approve_and_administrators_interrupt() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let circuit = r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["v1@a.fr"]},{"step":"signature","members":["s1@a.fr"]}]}"#;
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/ondemand/{SIREN_A}/upload"),
        vec![
            Part::File("doc", "a.pdf".into(), pdf::small("a")),
            Part::Text("circuit", circuit.into()),
            Part::Text("agents", "agent@a.fr".into()),
        ],
    );
    let id = r.id();
    let agent = app.as_user("agent@a.fr");
    let r = agent.post_json(
        &format!("/api/v1/documents/{id}/comments"),
        json!({"text": "Pièce ajoutée au dossier"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = agent.multipart(
        Method::POST,
        &format!("/api/v1/documents/{id}/annexes"),
        vec![Part::File("file", "note.txt".into(), b"note".to_vec())],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        agent.act(id, "visa", None).status,
        403,
        "an agent never approves"
    );
    assert_eq!(agent.act(id, "reject", Some("non")).status, 403);
    // Members and the depositor comment; others of the subscriber do not even see the document
    // (CONTRACT §8: the answer of an unknown id).
    assert_eq!(
        app.as_user("v1@a.fr")
            .post_json(
                &format!("/api/v1/documents/{id}/comments"),
                json!({"text": "vu"})
            )
            .status,
        201
    );
    assert_eq!(
        app.as_user("v2@a.fr")
            .post_json(
                &format!("/api/v1/documents/{id}/comments"),
                json!({"text": "x"})
            )
            .status,
        404
    );
    assert_eq!(
        c.post_json(
            &format!("/api/v1/documents/{id}/comments"),
            json!({"text": ""})
        )
        .status,
        400
    );
    let list = c.get(&format!("/api/v1/documents/{id}/comments")).json();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["text"], "Pièce ajoutée au dossier");
    // The annex travels with the document.
    let zip = c.get(&format!("{V1}/documents/v2/{id}/download?FdC=true"));
    assert_eq!(zip.status, 200);

    // Interruption: administrators only, with a reason.
    assert_eq!(
        c.post_json(
            &format!("/api/v1/documents/{id}/interrupt"),
            json!({"comment": "x"})
        )
        .status,
        403
    );
    let admin = app.as_user("admin@a.fr");
    assert_eq!(
        admin
            .post_empty(&format!("/api/v1/documents/{id}/interrupt"))
            .status,
        400
    );
    let r = admin.post_json(
        &format!("/api/v1/documents/{id}/interrupt"),
        json!({"comment": "dossier abandonné"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.states(id).last().unwrap(), "Classé (interrompu)");
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 409);
    assert_eq!(
        admin
            .post_json(
                &format!("/api/v1/documents/{id}/interrupt"),
                json!({"comment": "encore"})
            )
            .status,
        409
    );
}

#[test]
fn the_retention_purge_removes_content_but_keeps_history_and_fiche() {
    let app = TestApp::start(
        BIN,
        "[retention]\npurge_after_days = 1\ncheck_interval_s = 1\n",
    );
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "S", "old.pdf", pdf::small("old"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let fresh = c
        .upload(SIREN_A, "S", "fresh.pdf", pdf::small("fresh"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(fresh, "sign", None).status, 200);
    // A purge pass now (the periodic one runs every second as well).
    app.run(|s| async move {
        parapheur_server::service::lifecycle::purge_due(&s)
            .await
            .unwrap()
    });
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/download")).status,
        200,
        "not old enough yet"
    );
    let blobs = app.blob_count();
    app.sql(&format!(
        "UPDATE documents SET updated_at = 0 WHERE id = {id}"
    ));
    let r = wait_for(Duration::from_secs(10), "the purge", || {
        let r = c.get(&format!("{V1}/documents/v2/{id}/download"));
        (r.error_code() == Some(127)).then_some(r)
    });
    assert!(
        r.json()["userFriendlyMessage"]
            .as_str()
            .unwrap()
            .contains("conservation")
    );
    assert!(app.blob_count() < blobs, "the files are deleted");
    assert_eq!(
        c.states(id).last().unwrap(),
        "Classé",
        "the history remains"
    );
    let fdc = c.get(&format!("{V1}/documents/v2/{id}/getFdc"));
    assert!(fdc.body.starts_with(b"%PDF-"), "the fiche remains");
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{fresh}/download")).status,
        200,
        "recent documents stay"
    );
}

#[test]
fn a_tampered_signature_stops_the_circuit_and_deliver_hands_the_document_over() {
    let app = TestApp::start_with(BIN, "", PROVISION, &[]);
    let c = app.as_user("depot@a.fr");
    // A signed document, then a copy with one byte changed inside the signed range.
    let id = c
        .upload(
            SIREN_A,
            "S",
            "t.pdf",
            pdf::sample("Tampered Title", 1, 100),
            "",
        )
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let at = signed.windows(8).position(|w| w == b"Tampered").unwrap();
    let mut tampered = signed.clone();
    tampered[at] = b'X';
    let bad = c
        .upload(SIREN_A, "CHECK", "tampered.pdf", tampered, "")
        .id();
    assert_eq!(c.states(bad), ["Préparé", "signature rejetée"]);
    let good = c.upload(SIREN_A, "CHECK", "intact.pdf", signed, "").id();
    assert_eq!(c.states(good), ["Préparé", "Signature validée", "Classé"]);

    // deliver: the recipients' safe (outbox) gets the signed file, and they get one e-mail.
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/v2/{SIREN_A}/DELIVER/upload"),
        vec![
            Part::File("doc", "remise.pdf".into(), pdf::small("remise")),
            Part::Text("emailDestinataire", "usager@exemple.fr".into()),
        ],
    );
    let id = r.id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    assert_eq!(
        wait_state(&c, id, "Classé")[2..],
        ["Signé", "Remis aux destinataires", "Classé"]
    );
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let dir = app.data_dir().join("outbox/deliveries");
    let delivered = wait_for(Duration::from_secs(10), "the delivery", || {
        let d = std::fs::read_dir(&dir).ok()?.flatten().next()?.path();
        let file = std::fs::read(d.join("remise.pdf")).ok()?;
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("delivery.json")).ok()?).ok()?;
        Some((file, meta))
    });
    assert_eq!(delivered.0, signed);
    assert_eq!(delivered.1["recipients"], json!(["usager@exemple.fr"]));
    assert_eq!(delivered.1["sha256"], sha(&signed));
    let to_usager = || -> Vec<String> {
        std::fs::read_dir(app.data_dir().join("outbox/mail"))
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .filter(|raw| raw.contains("To: usager@exemple.fr"))
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_for(Duration::from_secs(10), "the e-mail", || {
        (!to_usager().is_empty()).then_some(())
    });
    // Every job done: a second e-mail would be in the outbox by now.
    app.settle_jobs();
    assert_eq!(
        to_usager().len(),
        1,
        "one e-mail, not a second one at classification"
    );
}

/// Sets a file's modification time `age` in the past.
fn age_file(path: &std::path::Path, age: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(std::time::SystemTime::now() - age).unwrap();
}

/// Files no row refers to (a crash between a commit and the deletion of the files it unlinked)
/// are deleted once older than `orphan_blob_age_s`; every referenced file stays, however old:
/// the current file, an earlier version kept by a replacement, an annex, a detached signature.
#[test]
fn the_sweep_deletes_old_unreferenced_files_only() {
    let app = TestApp::start(
        BIN,
        "[retention]\ncheck_interval_s = 1\norphan_blob_age_s = 3600\norphan_sweep_interval_s = 1\n",
    );
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "VV", "v1.pdf", pdf::small("first"), "")
        .id();
    assert_eq!(
        app.as_user("v1@a.fr")
            .act(id, "reject", Some("à refaire"))
            .status,
        200
    );
    let second = pdf::small("second");
    let r = c.multipart(
        Method::POST,
        &format!("/api/v1/documents/{id}/replace"),
        vec![Part::File("file", "v2.pdf".into(), second.clone())],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = c.multipart(
        Method::POST,
        &format!("/api/v1/documents/{id}/annexes"),
        vec![Part::File("file", "note.txt".into(), b"note".to_vec())],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let xml = c
        .upload(
            SIREN_A,
            "XML",
            "deliberation.xml",
            b"<deliberation>1</deliberation>".to_vec(),
            "",
        )
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(xml, "sign", None).status, 200);
    let signed_xml = c.get(&format!("{V1}/documents/v2/{xml}/download")).body;

    let dir = app.data_dir().join("blobs");
    let referenced = app.blob_files();
    assert!(referenced.len() >= 5, "{referenced:?}");
    // Everything is made two hours old, then two files nobody refers to appear: an old one and
    // a recent one (a write whose row is not committed yet looks like this).
    for f in &referenced {
        age_file(f, Duration::from_secs(7200));
    }
    let old_orphan = dir.join("ab").join("0123456789abcdef0123456789abcd");
    let young_orphan = dir.join("cd").join("0123456789abcdef0123456789abcd");
    for f in [&old_orphan, &young_orphan] {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, b"left by a crash").unwrap();
    }
    age_file(&old_orphan, Duration::from_secs(7200));
    wait_for(Duration::from_secs(15), "the sweep", || {
        (!old_orphan.exists()).then_some(())
    });
    assert!(young_orphan.exists(), "too recent to be swept");
    for f in &referenced {
        assert!(f.exists(), "{} was referenced", f.display());
    }
    // And everything still reads.
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/download")).body,
        second
    );
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{xml}/download")).body,
        signed_xml
    );
}
