//! CONTRACT §8: a document is readable by its depositor, the members of its steps, its agents,
//! their delegates and the administrators of its subscriber; anybody else of the same subscriber
//! gets exactly the answer of an unknown id, on every route. Circuits may open their documents
//! to the whole subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::Browser;
use parapheur_test_utils::{Client, Part, Resp, SIREN_A, TestApp, pdf};
use reqwest::Method;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";
/// An id no document has.
const UNKNOWN: i64 = 987_654;

const OPEN_CIRCUIT: &str = r#"
[[circuits]]
siren = "200000001"
id = "OPEN"
type = "BUREAUTIQUE_PDF"
visibility = "subscriber"
steps = [ { step = "visa", members = ["v1@a.fr"] } ]
"#;

/// A response as the caller can compare it: status, content type, and the body without the
/// FAST error's `generation` timestamp.
fn seen(r: &Resp) -> (u16, String, Value) {
    let body = match serde_json::from_slice::<Value>(&r.body) {
        Ok(Value::Object(mut o)) => {
            o.remove("generation");
            Value::Object(o)
        }
        Ok(v) => v,
        Err(_) => Value::String(r.text()),
    };
    (r.status, r.content_type.clone(), body)
}

/// Every API route that reveals a document, for document `id` (and its annex `annex`).
fn api_reads(c: &Client, id: i64, annex: i64) -> Vec<(String, Resp)> {
    let mut out = Vec::new();
    for path in [
        format!("/api/v1/documents/{id}/annexes"),
        format!("/api/v1/documents/{id}/annexes/{annex}"),
        format!("{V1}/documents/v2/{id}/download"),
        format!("{V1}/documents/v2/{id}/download?FdC=true"),
        format!("{V1}/documents/v2/{id}/getFdc"),
        format!("{V1}/documents/v2/{id}/history"),
        format!("{V1}/documents/{id}/metas"),
        format!("{V1}/documents/v2/{id}/comments/refusal"),
        format!("{V1}/documents/v2/{id}/ack/download"),
        format!("/api/v1/documents/{id}/comments"),
        format!("{V1}/documents/v2/otp/url?id={id}"),
    ] {
        let r = c.get(&path);
        out.push((path, r));
    }
    let path = format!("/api/v1/documents/{id}/comments");
    out.push((
        format!("POST {path}"),
        c.post_json(&path, json!({"text": "vu"})),
    ));
    let path = format!("{V1}/documents/v2/{id}");
    out.push((format!("DELETE {path}"), c.delete(&path)));
    let path = format!("{V1}/documents/v2/{id}/metadata/define");
    let meta = b"<?xml version=\"1.0\"?><meta-data-list><meta-data><name>A</name><value>1</value></meta-data></meta-data-list>";
    out.push((
        format!("PUT {path}"),
        c.multipart(
            Method::PUT,
            &path,
            vec![Part::File("metadata", "m.xml".into(), meta.to_vec())],
        ),
    ));
    for action in ["visa", "reject"] {
        out.push((action.to_owned(), c.act(id, action, Some("motif"))));
    }
    out
}

fn soap(app: &TestApp, email: &str, password: &str, op: &str, id: i64) -> (u16, String) {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns2="http://sei.ws.fast.cdc.com/"><soap:Body><ns2:{op}><documentId>{id}</documentId></ns2:{op}></soap:Body></soap:Envelope>"#
    );
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/parapheur-soap/soap/v1/Documents", app.base))
        .basic_auth(email, Some(password))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
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

fn portal_reads(b: &Browser, id: i64, annex: i64) -> Vec<(String, u16, String)> {
    [
        format!("/parapheur/documents/{id}/annexes/{annex}"),
        format!("/parapheur/documents/{id}"),
        format!("/parapheur/documents/{id}/telecharger"),
        format!("/parapheur/documents/{id}/apercu"),
        format!("/parapheur/documents/{id}/fiche"),
        format!("/parapheur/documents/{id}/pages/1"),
    ]
    .into_iter()
    .map(|p| {
        let (status, bytes) = b.get_bytes(&p);
        (p, status, String::from_utf8_lossy(&bytes).into_owned())
    })
    .collect()
}

fn search(c: &Client) -> Vec<i64> {
    search_in(c, json!({"siren": SIREN_A}))
}

/// The search for documents in progress: the store tests each in-progress document of the
/// subscriber against the rule instead of building the user's set (same answers expected).
fn search_in_progress(c: &Client) -> Vec<i64> {
    search_in(c, json!({"siren": SIREN_A, "state": "En cours"}))
}

fn search_in(c: &Client, body: serde_json::Value) -> Vec<i64> {
    let r = c.post_json(&format!("{V1}/documents/search"), body);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

#[test]
fn a_user_of_the_subscriber_who_takes_no_part_sees_an_unknown_id_everywhere() {
    let app = TestApp::start_with(BIN, "", OPEN_CIRCUIT, &[]);
    let depot = app.as_user("depot@a.fr");
    // VV: v1 and admin, then v2. s1 takes no part in it.
    let id = depot
        .multipart(
            Method::POST,
            &format!("{V1}/documents/v2/{SIREN_A}/VV/upload"),
            vec![
                Part::File("doc", "rh.pdf".into(), pdf::small("rh")),
                Part::Text("label", "Décision RH".into()),
                Part::File("annexes", "avis.pdf".into(), pdf::small("avis")),
            ],
        )
        .id();
    let annexes = depot.get(&format!("/api/v1/documents/{id}/annexes")).json();
    let annex = annexes[0]["id"].as_i64().unwrap();
    let outsider = app.as_user("s1@a.fr");

    // Every API route: exactly the answer of an id nobody has.
    let theirs = api_reads(&outsider, id, annex);
    let unknown = api_reads(&outsider, UNKNOWN, annex);
    for ((path, r), (_, u)) in theirs.iter().zip(&unknown) {
        assert_eq!(seen(r), seen(u), "{path}: {} / {}", r.text(), u.text());
        assert!(r.status >= 200, "{path}");
    }
    // What the unknown-id answer is, so that the comparison is not between two successes.
    assert_eq!(theirs[0].1.status, 404, "{}", theirs[0].1.text());
    assert_eq!(theirs[1].1.status, 404, "{}", theirs[1].1.text());
    assert_eq!(
        theirs[5].1.error_code(),
        Some(103),
        "{}",
        theirs[5].1.text()
    );
    assert_eq!(theirs[9].1.status, 404, "{}", theirs[9].1.text());
    assert!(!search(&outsider).contains(&id));
    assert!(!search_in_progress(&outsider).contains(&id));
    assert_eq!(outsider.get("/api/v1/tasks").json(), json!([]));
    // SOAP: the same fault as for an unknown id.
    for op in [
        "history",
        "download",
        "getFdc",
        "getRefusalMessage",
        "downloadAcknowledgement",
    ] {
        let theirs = soap(&app, "s1@a.fr", "password-s1", op, id);
        let unknown = soap(&app, "s1@a.fr", "password-s1", op, UNKNOWN);
        assert_eq!(theirs, unknown, "{op}");
        assert!(theirs.1.contains("103"), "{op}: {}", theirs.1);
        // The depositor gets an answer (or a different fault) for the same operation.
        let depositor = soap(&app, "depot@a.fr", "password-depot", op, id);
        assert_ne!(depositor, theirs, "{op}");
    }

    // The portal: the document page, its files and previews, and the lists.
    let b = portal(&app, "s1@a.fr");
    for ((path, status, body), (_, ustatus, ubody)) in portal_reads(&b, id, annex)
        .iter()
        .zip(portal_reads(&b, UNKNOWN, annex))
    {
        assert_eq!((status, body), (&ustatus, &ubody), "{path}");
        assert_eq!(*status, 404, "{path}");
    }
    let en_cours = b.get("/parapheur/?bannette=en-cours").body;
    assert!(!en_cours.contains("rh.pdf"), "{en_cours}");
    let dashboard = b.get("/parapheur/").body;
    assert!(!dashboard.contains("rh.pdf"), "{dashboard}");

    // Those who take part read it: the depositor, a member of a later step, an administrator
    // (also a member here) and a member of the first step.
    for email in ["depot@a.fr", "v2@a.fr", "admin@a.fr", "v1@a.fr"] {
        let c = app.as_user(email);
        let r = c.get(&format!("{V1}/documents/v2/{id}/history"));
        assert_eq!(r.status, 200, "{email}: {}", r.text());
        assert!(search(&c).contains(&id), "{email}");
        assert!(search_in_progress(&c).contains(&id), "{email}");
        let r = c.get(&format!("/api/v1/documents/{id}/annexes/{annex}"));
        assert_eq!(r.status, 200, "{email}: {}", r.text());
        let b = portal(&app, email);
        assert_eq!(
            b.get(&format!("/parapheur/documents/{id}")).status,
            200,
            "{email}"
        );
        assert!(
            b.get("/parapheur/?bannette=en-cours")
                .body
                .contains("rh.pdf"),
            "{email}"
        );
    }

    // A circuit open to the subscriber: its documents are readable by every member of it.
    let open = depot
        .upload(SIREN_A, "OPEN", "public.pdf", pdf::small("pub"), "Arrêté")
        .id();
    let r = outsider.get(&format!("{V1}/documents/v2/{open}/history"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(search(&outsider).contains(&open));
    assert!(!search(&outsider).contains(&id));
    assert!(search_in_progress(&outsider).contains(&open));
    assert!(!search_in_progress(&outsider).contains(&id));
    // ...but acting stays for the step's members.
    assert_eq!(outsider.act(open, "visa", None).status, 403);
}

#[test]
fn agents_and_administrators_read_and_a_user_of_another_subscriber_never_does() {
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
    for email in ["agent@a.fr", "admin@a.fr", "v1@a.fr", "depot@a.fr"] {
        let r = app
            .as_user(email)
            .get(&format!("{V1}/documents/v2/{id}/history"));
        assert_eq!(r.status, 200, "{email}: {}", r.text());
    }
    for email in ["s1@a.fr", "v2@a.fr", "v@b.fr"] {
        let r = app
            .as_user(email)
            .get(&format!("{V1}/documents/v2/{id}/history"));
        assert_eq!(r.error_code(), Some(103), "{email}: {}", r.text());
    }
    // The administrator's search lists every document of the subscriber.
    assert!(search(&app.as_user("admin@a.fr")).contains(&id));
    assert!(!search(&app.as_user("v2@a.fr")).contains(&id));
    // So do their portal lists and counts, though they take no part in it; not another user's.
    let en_cours = portal(&app, "admin@a.fr")
        .get("/parapheur/?bannette=en-cours")
        .body;
    assert!(en_cours.contains("ag.pdf"), "{en_cours}");
    let theirs = portal(&app, "v2@a.fr")
        .get("/parapheur/?bannette=en-cours")
        .body;
    assert!(!theirs.contains("ag.pdf"), "{theirs}");
}

/// Reads are decided once per user and document and kept a moment (`[fast] history_cache_ms`):
/// a change of the rule on this instance must still be seen by the very next request.
#[test]
fn closing_and_reopening_a_circuit_changes_who_reads_its_documents_at_once() {
    let app = TestApp::start_with(BIN, "", OPEN_CIRCUIT, &[]);
    let open = app
        .as_user("depot@a.fr")
        .upload(SIREN_A, "OPEN", "public.pdf", pdf::small("pub"), "")
        .id();
    let outsider = app.as_user("s1@a.fr");
    let history = format!("{V1}/documents/v2/{open}/history");
    let reads = || {
        let r = outsider.get(&history);
        match r.error_code() {
            None => {
                assert_eq!(r.status, 200, "{}", r.text());
                true
            }
            Some(code) => {
                assert_eq!(code, 103, "{}", r.text());
                false
            }
        }
    };
    assert!(reads() && reads(), "open to the subscriber, twice (cached)");

    let admin = portal(&app, "admin@a.fr");
    let edit = |open: bool| {
        let form = "/parapheur/admin/200000001/circuits/OPEN";
        let page = admin.get(form);
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("existing", "1"),
            ("id", "OPEN"),
            ("type", "BUREAUTIQUE_PDF"),
            ("step_0", "visa"),
            ("members_0", "v1@a.fr"),
        ];
        if open {
            fields.push(("open", "1"));
        }
        let r = admin.post_form("/parapheur/admin/200000001/circuits", &fields);
        assert_eq!(r.status, 303, "{}", r.body);
    };
    edit(false);
    assert!(
        !reads(),
        "closed to the members: the outsider's cached answer is gone"
    );
    assert!(!reads());
    edit(true);
    assert!(reads(), "reopened");
    // A member of the step reads it whatever the circuit says.
    let r = app.as_user("v1@a.fr").get(&history);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.error_code(), None, "{}", r.text());
}
