//! Steps with several members (CONTRACT §9) and absences, delegation and reassignment (§10),
//! through the native API, the FAST history and the portal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{Browser, parse_eml, wait_for};
use parapheur_test_utils::{Client, Part, SIREN_A, TestApp, pdf, pyhanko_valid, qpdf_check};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

const ALL_CIRCUITS: &str = r#"
[[circuits]]
siren = "200000001"
id = "COSIGN"
type = "BUREAUTIQUE_PDF"
steps = [
  { step = "visa", members = ["v1@a.fr", "admin@a.fr"], rule = "all" },
  { step = "signature", members = ["s1@a.fr", "v2@a.fr"], rule = "all" },
]
"#;

fn history(c: &Client, id: i64) -> Vec<(String, String)> {
    c.get(&format!("{V1}/documents/v2/{id}/history"))
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["userFullname"].as_str().unwrap().to_owned(),
                e["stateName"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn task_ids(c: &Client) -> Vec<i64> {
    c.get("/api/v1/tasks")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

fn portal(app: &TestApp, email: &str) -> Browser {
    let b = Browser::new(&app.base);
    let p = b.get("/parapheur/login");
    let password = format!("password-{}", email.split('@').next().unwrap());
    let r = b.post_form(
        "/parapheur/login",
        &[
            ("csrf", &p.csrf()),
            ("email", email),
            ("password", &password),
            ("next", "/parapheur/"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    b
}

/// The e-mails written to the outbox so far, as parsed messages with their raw text.
fn mails(app: &TestApp) -> Vec<(String, Value)> {
    let dir = app.data_dir().join("outbox/mail");
    std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .map(|raw| {
                    let m = parse_eml(&raw);
                    (raw, m)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn an_all_step_waits_for_every_member_and_each_signature_stays_valid() {
    let app = TestApp::start_with(BIN, "", ALL_CIRCUITS, &[]);
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "COSIGN", "convention.pdf", pdf::small("co"), "")
        .id();
    let (v1, admin, s1, v2) = (
        app.as_user("v1@a.fr"),
        app.as_user("admin@a.fr"),
        app.as_user("s1@a.fr"),
        app.as_user("v2@a.fr"),
    );
    assert!(task_ids(&v1).contains(&id) && task_ids(&admin).contains(&id));
    assert_eq!(v1.act(id, "visa", None).status, 200);
    // Still on the visa step: v1 has done their part, the administrator has not.
    assert!(!task_ids(&v1).contains(&id));
    assert_eq!(v1.act(id, "visa", None).status, 409, "a member acts once");
    assert!(task_ids(&admin).contains(&id));
    assert!(
        !task_ids(&s1).contains(&id),
        "the signature step is not reached"
    );
    let page = portal(&app, "depot@a.fr")
        .get(&format!("/parapheur/documents/{id}"))
        .body;
    assert!(page.contains("Victor Un (a agi)"), "{page}");
    assert!(page.contains("Adam Admin (en attente)"), "{page}");
    assert_eq!(admin.act(id, "visa", None).status, 200);
    // Both signers, in any order: v2 first.
    assert!(task_ids(&s1).contains(&id) && task_ids(&v2).contains(&id));
    assert_eq!(v2.act(id, "sign", None).status, 200);
    assert_eq!(
        depot.states(id).last().unwrap(),
        "Signé",
        "waits for s1 after v2's signature"
    );
    assert_eq!(s1.act(id, "sign", None).status, 200);
    let h = history(&depot, id);
    assert_eq!(
        h.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(),
        [
            "Préparé",
            "Envoyé pour visa",
            "Visa approuvé",
            "Visa approuvé",
            "Envoyé pour signature",
            "Signé",
            "Signé",
            "Classé"
        ]
    );
    assert_eq!(h[2].0, "Victor Un");
    assert_eq!(h[3].0, "Adam Admin");
    assert_eq!(h[5].0, "Véra Deux");
    assert_eq!(h[6].0, "Sophie Signe");
    // One PAdES signature per member, in the order they signed, each still valid.
    let signed = depot.get(&format!("{V1}/documents/v2/{id}/download")).body;
    let ca = Client::new(&app.base, None).get("/api/v1/pki/ca.pem").body;
    let (n, out) = pyhanko_valid(&signed, &ca);
    assert_eq!(n, 2, "{out}");
    assert!(qpdf_check(&signed));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("signed.pdf");
    std::fs::write(&file, &signed).unwrap();
    let out = std::process::Command::new("pdfsig")
        .arg(&file)
        .output()
        .expect("pdfsig (poppler-utils) is required by this test");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("Signature Validation: Signature is Valid.")
            .count(),
        2,
        "{text}"
    );
    let first = text.split("Signature #2").next().unwrap();
    assert!(first.contains("Véra Deux"), "{text}");
}

#[test]
fn one_refusal_refuses_an_all_step_and_pes_signatures_stay_single() {
    let app = TestApp::start_with(BIN, "", ALL_CIRCUITS, &[]);
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "COSIGN", "refus.pdf", pdf::small("r"), "")
        .id();
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    let r = app
        .as_user("admin@a.fr")
        .act(id, "reject", Some("Pièce manquante"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(depot.states(id).last().unwrap(), "Visa désapprouvé");
    assert!(task_ids(&app.as_user("s1@a.fr")).is_empty());

    // On demand: `"rule": "all"` is read; PES signatures are refused with a clear error.
    let ondemand = |circuit: Value, name: &str, bytes: Vec<u8>| {
        depot.multipart(
            Method::POST,
            &format!("{V1}/documents/ondemand/{SIREN_A}/upload"),
            vec![
                Part::File("doc", name.into(), bytes),
                Part::Text("circuit", circuit.to_string()),
            ],
        )
    };
    let r = ondemand(
        json!({"type": "HELIOS_SANS_TELETRANSMISSION",
               "steps": [{"step": "signature", "members": ["s1@a.fr", "v2@a.fr"], "rule": "all"}]}),
        "pes.xml",
        parapheur_test_utils::pes_aller("PES_ALL_1"),
    );
    assert_eq!(r.error_code(), Some(121), "{}", r.text());
    assert!(r.text().contains("single signature"), "{}", r.text());
    let id = ondemand(
        json!({"type": "BUREAUTIQUE_PDF",
               "steps": [{"step": "visa", "members": ["v1@a.fr", "v2@a.fr"], "rule": "all"}]}),
        "od.pdf",
        pdf::small("od"),
    )
    .id();
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(depot.states(id).last().unwrap(), "Visa approuvé");
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(depot.states(id).last().unwrap(), "Classé");

    // An XML document signed by every member: one detached XAdES signature each.
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<convention>co</convention>\n";
    let id = ondemand(
        json!({"type": "BUREAUTIQUE_XML",
               "steps": [{"step": "signature", "members": ["s1@a.fr", "v2@a.fr"], "rule": "all"}]}),
        "co.xml",
        xml.as_bytes().to_vec(),
    )
    .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    assert_eq!(app.as_user("v2@a.fr").act(id, "sign", None).status, 200);
    assert_eq!(depot.states(id).last().unwrap(), "Classé");
    let zip =
        parapheur_test_utils::unzip(&depot.get(&format!("{V1}/documents/v2/{id}/download")).body);
    let names: Vec<&str> = zip.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["co.xml", "co-signature-1.xml", "co-signature-2.xml"]
    );
    // Each signature's (first) certificate names its signer.
    let signer = |i: usize| {
        use base64::Engine;
        let text = String::from_utf8_lossy(&zip[i].1).into_owned();
        let b64 = text
            .split("<ds:X509Certificate>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_else(|| panic!("no certificate in {text}"));
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        String::from_utf8_lossy(&der).into_owned()
    };
    assert!(signer(1).contains("Sophie Signe"));
    assert!(signer(2).contains("Véra Deux"));
}

#[test]
fn a_delegate_acts_for_an_absent_signer_during_the_period_only() {
    let app = TestApp::start(BIN, "");
    let depot = app.as_user("depot@a.fr");
    let (s1, v1) = (app.as_user("s1@a.fr"), app.as_user("v1@a.fr"));
    let today = parapheur_server::clock::now().date_naive();
    let day = |d: i64| {
        (today + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };

    // Bad periods and delegates are refused with the reason.
    for (body, why) in [
        (
            json!({"from": "demain", "until": day(3), "delegate": "v1@a.fr"}),
            "from",
        ),
        (
            json!({"from": day(3), "until": day(0), "delegate": "v1@a.fr"}),
            "until",
        ),
        (
            json!({"from": day(0), "until": day(3), "delegate": "v@b.fr"}),
            "same subscriber",
        ),
        (
            json!({"from": day(0), "until": day(3), "delegate": "s1@a.fr"}),
            "themselves",
        ),
    ] {
        let r = s1.put_json("/api/v1/me/absence", body);
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains(why), "{why}: {}", r.text());
    }
    // An absence in the future does nothing yet.
    let r = s1.put_json(
        "/api/v1/me/absence",
        json!({"from": day(2), "until": day(5), "delegate": "v1@a.fr"}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["active"], false);
    let id = depot
        .upload(SIREN_A, "S", "arrete.pdf", pdf::small("a"), "")
        .id();
    assert!(!task_ids(&v1).contains(&id));
    assert_eq!(v1.act(id, "sign", None).status, 404, "v1 takes no part yet");
    let reads = |c: &Client, id: i64| {
        c.get(&format!("{V1}/documents/v2/{id}/history"))
            .error_code()
            .is_none()
    };
    assert!(
        !reads(&v1, id) && !reads(&v1, id),
        "twice: the decision is kept"
    );

    // From today: v1 sees s1's task, reads the document, and is told by e-mail.
    let r = s1.put_json(
        "/api/v1/me/absence",
        json!({"from": day(0), "until": day(5), "delegate": "v1@a.fr"}),
    );
    assert_eq!(r.json()["active"], true, "{}", r.text());
    assert!(reads(&v1, id), "the delegate reads at once");
    assert_eq!(task_ids(&v1), [id], "and has the task at once");
    assert_eq!(s1.get("/api/v1/me/absence").json()["delegate"], "v1@a.fr");
    let second = depot
        .upload(SIREN_A, "S", "second.pdf", pdf::small("b"), "")
        .id();
    assert_eq!(task_ids(&v1), [id, second]);
    assert!(reads(&v1, second));
    let b = portal(&app, "v1@a.fr");
    let to_sign = b.get("/parapheur/?bannette=a-signer").body;
    assert!(to_sign.contains("arrete.pdf"), "{to_sign}");
    app.run_pending_jobs();
    let told = wait_for(
        Duration::from_secs(10),
        "the e-mail to the delegate",
        || {
            mails(&app).into_iter().find(|(raw, m)| {
                raw.contains("v1@a.fr")
                    && m["subject"]
                        .as_str()
                        .is_some_and(|s| s.contains("second.pdf"))
            })
        },
    );
    assert!(told.0.contains("s1@a.fr"), "the absent signer is told too");

    assert_eq!(v1.act(id, "sign", None).status, 200);
    let h = history(&depot, id);
    assert_eq!(
        h.iter().find(|(_, s)| s == "Signé").unwrap().0,
        "Victor Un (pour Sophie Signe)"
    );
    assert_eq!(depot.states(id).last().unwrap(), "Classé");

    // Back: the delegate no longer acts.
    assert_eq!(s1.delete("/api/v1/me/absence").status, 204);
    assert_eq!(s1.get("/api/v1/me/absence").status, 404);
    // v1 signed `id` for s1, as s1: the delegation over, neither document is theirs to read.
    assert!(!reads(&v1, id), "no longer the delegate: gone at once");
    assert!(!reads(&v1, second));
    assert!(task_ids(&v1).is_empty());
    assert_eq!(v1.act(second, "sign", None).status, 404);
    assert_eq!(s1.act(second, "sign", None).status, 200);

    // An administrator sets it for a user of the subscriber; others may not.
    let path = format!("/api/v1/subscribers/{SIREN_A}/users/s1@a.fr/absence");
    let body = json!({"from": day(0), "until": day(1), "delegate": "v2@a.fr"});
    assert_eq!(v1.put_json(&path, body.clone()).status, 403);
    let r = app.as_user("admin@a.fr").put_json(&path, body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s1.get("/api/v1/me/absence").json()["delegate"], "v2@a.fr");
    let r = app.as_user("admin@a.fr").put_json(
        &format!("/api/v1/subscribers/{SIREN_A}/users/v@b.fr/absence"),
        json!({"from": day(0), "until": day(1), "delegate": "v2@a.fr"}),
    );
    assert_eq!(r.status, 404, "{}", r.text());
}

#[test]
fn an_administrator_reassigns_the_current_step() {
    let app = TestApp::start(BIN, "");
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "VVS", "bloque.pdf", pdf::small("b"), "")
        .id();
    let path = format!("/api/v1/documents/{id}/steps/current/members");
    let admin = app.as_user("admin@a.fr");
    // Only an administrator, with members of the subscriber, never the depositor.
    let r = app
        .as_user("v1@a.fr")
        .put_json(&path, json!({"members": ["s1@a.fr"]}));
    assert_eq!(r.status, 403, "{}", r.text());
    for (members, code) in [
        (json!([]), 112),
        (json!(["v@b.fr"]), 119),
        (json!(["depot@a.fr"]), 122),
    ] {
        let r = admin.put_json(&path, json!({ "members": members }));
        assert_eq!(r.error_code(), Some(code), "{members}: {}", r.text());
    }
    let r = admin.put_json(&path, json!({"members": ["s1@a.fr"]}));
    assert_eq!(r.status, 204, "{}", r.text());
    // v1 no longer takes part in the document at all: it is an unknown id for them.
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 404);
    assert!(task_ids(&app.as_user("v1@a.fr")).is_empty());
    assert!(task_ids(&app.as_user("s1@a.fr")).contains(&id));
    assert_eq!(app.as_user("s1@a.fr").act(id, "visa", None).status, 200);
    // The next step is untouched.
    assert!(task_ids(&app.as_user("v2@a.fr")).contains(&id));
    let comments = depot
        .get(&format!("/api/v1/documents/{id}/comments"))
        .json();
    assert!(
        comments.to_string().contains("réattribuée à : s1@a.fr"),
        "{comments}"
    );
    app.run_pending_jobs();
    wait_for(Duration::from_secs(10), "the e-mail to s1", || {
        mails(&app).into_iter().find(|(raw, m)| {
            raw.contains("s1@a.fr") && m["subject"] == "Document à viser : bloque.pdf"
        })
    });
    // A classified document has no step to reassign.
    let done = depot
        .upload(SIREN_A, "S", "fini.pdf", pdf::small("f"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(done, "sign", None).status, 200);
    let r = admin.put_json(
        &format!("/api/v1/documents/{done}/steps/current/members"),
        json!({"members": ["v1@a.fr"]}),
    );
    assert_eq!(r.status, 409, "{}", r.text());
}

#[test]
fn the_portal_sets_absences_and_administrators_unblock_documents_whose_signer_left() {
    let app = TestApp::start(BIN, "");
    let depot = app.as_user("depot@a.fr");
    let today = parapheur_server::clock::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();

    // A signer declares an absence on their own page; a delegate of another subscriber is
    // refused in French.
    let s1 = portal(&app, "s1@a.fr");
    let page = s1.get("/parapheur/absence");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Aucune absence enregistrée."),
        "{}",
        page.body
    );
    let r = s1.post_form(
        "/parapheur/absence",
        &[
            ("csrf", &page.csrf()),
            ("from", &today),
            ("until", &today),
            ("delegate", "v@b.fr"),
        ],
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body
            .contains("un autre utilisateur de votre collectivité"),
        "{}",
        r.body
    );
    let r = s1.post_form(
        "/parapheur/absence",
        &[
            ("csrf", &page.csrf()),
            ("from", &today),
            ("until", &today),
            ("delegate", "v2@a.fr"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = s1.get("/parapheur/absence?ok=enregistree");
    assert!(page.body.contains("Vous êtes absent(e)"), "{}", page.body);
    assert!(page.body.contains("Véra Deux"), "{}", page.body);
    let id = depot
        .upload(SIREN_A, "S", "pendant.pdf", pdf::small("p"), "")
        .id();
    let v2 = portal(&app, "v2@a.fr");
    assert!(
        v2.get("/parapheur/?bannette=a-signer")
            .body
            .contains("pendant.pdf")
    );
    let r = s1.post_form(
        "/parapheur/absence",
        &[("csrf", &page.csrf()), ("end", "1")],
    );
    assert_eq!(r.status, 303);
    assert!(
        !v2.get("/parapheur/?bannette=a-signer")
            .body
            .contains("pendant.pdf")
    );

    // s1 leaves the collectivité: the document waits at a step nobody can act on. The
    // administrators are told by e-mail and find it on the documents page.
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
    app.run_pending_jobs();
    let (raw, m) = wait_for(
        Duration::from_secs(10),
        "the report to the administrators",
        || {
            mails(&app)
                .into_iter()
                .find(|(_, m)| m["subject"] == "Documents bloqués dans le parapheur")
        },
    );
    assert!(raw.contains("admin@a.fr"), "{raw}");
    assert!(m["text"].as_str().unwrap().contains("pendant.pdf"), "{m}");
    let b = portal(&app, "admin@a.fr");
    let page = b.get(&format!("/parapheur/admin/{SIREN_A}/documents"));
    assert!(page.body.contains("Documents bloqués"), "{}", page.body);
    assert!(page.body.contains("pendant.pdf"), "{}", page.body);
    let action = format!("/parapheur/admin/{SIREN_A}/documents/{id}/reattribuer");
    let r = b.post_form(
        &action,
        &[("csrf", &page.csrf()), ("members", "depot@a.fr")],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("a déposé le document"), "{}", r.body);
    // The document page offers the same form to administrators.
    let doc_page = b.get(&format!("/parapheur/documents/{id}"));
    assert!(doc_page.body.contains(&action), "{}", doc_page.body);
    let r = b.post_form(&action, &[("csrf", &page.csrf()), ("members", "v2@a.fr")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(&format!(
        "/parapheur/admin/{SIREN_A}/documents?ok=reattribue"
    ));
    assert!(
        page.body.contains("Aucun document n'attend"),
        "{}",
        page.body
    );
    assert_eq!(app.as_user("v2@a.fr").act(id, "sign", None).status, 200);
    assert_eq!(depot.states(id).last().unwrap(), "Classé");
}
