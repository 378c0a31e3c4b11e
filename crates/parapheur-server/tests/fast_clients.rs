//! What real FAST clients still hit (issue 18 §5): Maarch's text `annexes` part, English state
//! names and `circuit-a-la-volee` in `documents/search`, the triplet rule for on-demand
//! deposits naming a `circuit_id`, `uploadMeta` on OTP circuits, and the triplet freed once the
//! earlier document is finished.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::{Client, Part, Resp, SIREN_A, TestApp, pdf};
use reqwest::Method;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";
const VISA_CIRCUIT: &str =
    r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["v1@a.fr"]}]}"#;

fn ondemand(c: &Client, mut parts: Vec<Part>) -> Resp {
    parts.push(Part::Text("circuit", VISA_CIRCUIT.into()));
    c.multipart(
        Method::POST,
        &format!("{V1}/documents/ondemand/{SIREN_A}/upload"),
        parts,
    )
}

/// The file names of a document's annexes, one a line.
fn annex_names(app: &TestApp, id: i64) -> String {
    app.query(&format!(
        "SELECT filename FROM annexes WHERE document_id = {id} ORDER BY id"
    ))
    .trim()
    .to_owned()
}

fn doc(name: &str) -> Part {
    Part::File("doc", name.into(), pdf::small(name))
}

#[test]
fn a_text_annexes_part_as_maarch_sends_it_is_ignored_on_every_upload_route() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    // Maarch Courrier's on-demand upload without appendices (PHP turns [] into "Array").
    let r = ondemand(
        &c,
        vec![
            Part::Text("comment", "courrier".into()),
            doc("courrier.pdf"),
            Part::Text("annexes", "Array".into()),
        ],
    );
    assert_eq!((r.status, r.error_code()), (200, None), "{}", r.text());
    let id = r.id();
    assert_eq!(annex_names(&app, id), "");

    // v2 upload and uploadOTP read their annexes the same way.
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/v2/{SIREN_A}/VV/upload"),
        vec![doc("v2.pdf"), Part::Text("annexes", "Array".into())],
    );
    assert_eq!(r.status, 200);
    r.id();
    let meta = br#"<meta-data-list><meta-data name="OTP_firstname_0" value="J"/><meta-data name="OTP_lastname_0" value="D"/><meta-data name="OTP_phonenumber_0" value="0612345678"/><meta-data name="OTP_email_0" value="j@exemple.fr"/></meta-data-list>"#;
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/v2/otp/{SIREN_A}/OTP/upload"),
        vec![
            doc("otp.pdf"),
            Part::File("meta", "meta.xml".into(), meta.to_vec()),
            Part::Text("annexes", "Array".into()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["id"].as_i64().is_some(), "{}", r.text());

    // Real annexes beside a text part are still read; a file part without a name is refused.
    let r = ondemand(
        &c,
        vec![
            doc("avec.pdf"),
            Part::Text("annexes", "Array".into()),
            Part::File("annexes", "a.txt".into(), b"annexe".to_vec()),
        ],
    );
    let id = r.id();
    assert_eq!(annex_names(&app, id), "a.txt");
    let r = ondemand(
        &c,
        vec![
            doc("sans-nom.pdf"),
            Part::File("annexes", String::new(), b"x".to_vec()),
        ],
    );
    assert_eq!(r.error_code(), Some(112), "{}", r.text());
}

#[test]
fn search_accepts_fast_english_state_names_and_circuit_a_la_volee() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let od = ondemand(&c, vec![doc("od.pdf")]).id();
    let prov = c.upload(SIREN_A, "VV", "p.pdf", pdf::small("p"), "").id();
    let done = c.upload(SIREN_A, "S", "s.pdf", pdf::small("s"), "").id();
    assert_eq!(app.as_user("s1@a.fr").act(done, "sign", None).status, 200);
    let refused = c.upload(SIREN_A, "S", "r.pdf", pdf::small("r"), "").id();
    assert_eq!(
        app.as_user("s1@a.fr")
            .act(refused, "refuse", Some("non"))
            .status,
        200
    );
    let search = |body: serde_json::Value| -> Vec<i64> {
        let r = c.post_json(&format!("{V1}/documents/search"), body);
        assert_eq!(r.error_code(), None, "{}", r.text());
        serde_json::from_value(r.json()).unwrap()
    };
    // Maarch's own call.
    assert_eq!(
        search(json!({"siren": SIREN_A, "state": "Prepared", "circuit": "circuit-a-la-volee"})),
        [od]
    );
    assert_eq!(
        search(json!({"siren": SIREN_A, "circuit": "circuit-a-la-volee"})),
        [od]
    );
    assert_eq!(
        search(json!({"siren": SIREN_A, "state": "Prepared"})),
        search(json!({"siren": SIREN_A, "state": "Préparé"}))
    );
    assert_eq!(
        search(json!({"siren": SIREN_A, "state": "Prepared", "circuit": "VV"})),
        [prov]
    );
    for (en, fr, ids) in [
        ("Signed", "Signé", vec![done]),
        ("Classified", "Classé", vec![done]),
        ("Refused", "Refusé", vec![refused]),
    ] {
        assert_eq!(search(json!({"siren": SIREN_A, "state": en})), ids, "{en}");
        assert_eq!(search(json!({"siren": SIREN_A, "state": fr})), ids, "{fr}");
    }
    let r = c.post_json(
        &format!("{V1}/documents/search"),
        json!({"siren": SIREN_A, "state": "Unknown"}),
    );
    assert_eq!(r.error_code(), Some(112));
}

#[test]
fn an_on_demand_deposit_naming_a_circuit_id_follows_the_triplet_rule() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let named = |circuit: &str, label: &str| {
        ondemand(
            &c,
            vec![
                doc("acte.pdf"),
                Part::Text("circuit_id", circuit.into()),
                Part::Text("label", label.into()),
            ],
        )
    };
    let first = named("courrier-arrivee", "Mairie");
    assert_eq!(first.error_code(), None, "{}", first.text());
    let id = first.id();
    let dup = named("courrier-arrivee", "Mairie");
    assert_eq!(
        (dup.status, dup.error_code()),
        (200, Some(105)),
        "{}",
        dup.text()
    );
    // Another label or another circuit: accepted.
    named("courrier-arrivee", "Cabinet").id();
    named("courrier-depart", "Mairie").id();
    // The circuit named by an on-demand deposit is the triplet's circuit, provisioned or not.
    assert_eq!(
        c.upload(SIREN_A, "VV", "x.pdf", pdf::small("x"), "Mairie")
            .error_code(),
        None
    );
    let r = ondemand(
        &c,
        vec![
            doc("x.pdf"),
            Part::Text("circuit_id", "VV".into()),
            Part::Text("label", "Mairie".into()),
        ],
    );
    assert_eq!(r.error_code(), Some(105), "{}", r.text());
    // Without `circuit_id` (Maarch): no circuit is named, no rule, as before.
    ondemand(
        &c,
        vec![doc("acte.pdf"), Part::Text("label", "Mairie".into())],
    )
    .id();
    ondemand(
        &c,
        vec![doc("acte.pdf"), Part::Text("label", "Mairie".into())],
    )
    .id();
    // Search finds the deposits that named the circuit.
    let r = c.post_json(
        &format!("{V1}/documents/search"),
        json!({"siren": SIREN_A, "circuit": "courrier-arrivee"}),
    );
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    assert!(r.json().as_array().unwrap().contains(&json!(id)));
    // Once the first document is finished, the triplet is free again.
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(c.states(id).last().unwrap(), "Classé");
    named("courrier-arrivee", "Mairie").id();
}

#[test]
fn upload_meta_is_accepted_on_otp_circuits() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let meta = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<meta-data-list>
  <meta-data name="TEXT_001" value="John"/>
  <meta-data name="NUM_001" value="45812"/>
</meta-data-list>"#;
    let define = |id: i64| {
        c.multipart(
            Method::PUT,
            &format!("{V1}/documents/v2/{id}/metadata/define"),
            vec![Part::File("metadata", "meta.xml".into(), meta.to_vec())],
        )
    };
    let otp = c
        .upload(SIREN_A, "VOTP", "otp.pdf", pdf::small("otp"), "")
        .id();
    let r = define(otp);
    assert_eq!((r.status, r.error_code()), (200, None), "{}", r.text());
    assert_eq!(
        c.states(otp),
        ["Préparé", "Envoyé pour visa", "Métadonnées définies"]
    );
    let metas = c.get(&format!("{V1}/documents/{otp}/metas")).text();
    assert!(
        metas.contains("TEXT_001") && metas.contains("45812"),
        "{metas}"
    );
    // The circuit goes on as before.
    assert_eq!(app.as_user("v1@a.fr").act(otp, "visa", None).status, 200);

    // A circuit with no metadata-definition, OTP or delivery step: still 110.
    let plain = c
        .upload(SIREN_A, "VV", "plain.pdf", pdf::small("p"), "")
        .id();
    assert_eq!(define(plain).error_code(), Some(110));
}

#[test]
fn the_triplet_is_free_again_once_the_earlier_document_is_finished() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let up = |circuit: &str| c.upload(SIREN_A, circuit, "acte.pdf", pdf::small("acte"), "L");

    // In progress: refused.
    let first = up("VV").id();
    assert_eq!(up("VV").error_code(), Some(105));
    app.as_user("v1@a.fr").act(first, "visa", None);
    assert_eq!(up("VV").error_code(), Some(105), "still in progress");
    app.as_user("v2@a.fr").act(first, "visa", None);
    assert_eq!(c.states(first).last().unwrap(), "Classé");
    // Classified: accepted.
    let second = up("VV");
    assert_eq!(second.error_code(), None, "{}", second.text());
    assert_eq!(up("VV").error_code(), Some(105));

    // Refused: accepted; the refused document then cannot come back into progress by a
    // replacement while the new one holds the triplet.
    let refused = up("S").id();
    app.as_user("s1@a.fr").act(refused, "refuse", Some("non"));
    let again = up("S");
    assert_eq!(again.error_code(), None, "{}", again.text());
    let r = c.multipart(
        Method::POST,
        &format!("/api/v1/documents/{refused}/replace"),
        vec![Part::File("file", "acte.pdf".into(), pdf::small("v2"))],
    );
    assert_eq!((r.status, r.error_code()), (409, Some(105)), "{}", r.text());
    assert_eq!(c.states(refused).last().unwrap(), "Refusé", "unchanged");

    // Visa disapproved: accepted.
    let disapproved = up("VVS").id();
    assert_eq!(up("VVS").error_code(), Some(105));
    app.as_user("v1@a.fr")
        .act(disapproved, "reject", Some("non"));
    assert_eq!(c.states(disapproved).last().unwrap(), "Visa désapprouvé");
    assert_eq!(up("VVS").error_code(), None);
}
