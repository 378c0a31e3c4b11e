//! Annexes that can be read (issue 18 §2): listed with their name, size and SHA-256 and
//! downloaded (always as an attachment) through the native API, linked from the portal's
//! document page and from the OTP page, and listed on the fiche de circulation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::Browser;
use parapheur_test_utils::{Part, SIREN_A, TestApp, pdf};
use reqwest::Method;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A GET with the headers kept: (status, headers, body).
fn get_full(app: &TestApp, user: &str, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let password = format!("password-{}", user.split('@').next().unwrap());
    let r = reqwest::blocking::Client::new()
        .get(format!("{}{path}", app.base))
        .basic_auth(user, Some(password))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().unwrap().to_vec())
}

const HOSTILE: &[u8] = b"<html><script>alert(document.cookie)</script></html>";

/// An on-demand document with two annexes at deposit and one added later; returns its id.
fn deposit_with_annexes(app: &TestApp, label: &str) -> i64 {
    let c = app.as_user("depot@a.fr");
    let circuit = r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["v1@a.fr"]}]}"#;
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/ondemand/{SIREN_A}/upload"),
        vec![
            Part::File("doc", "acte.pdf".into(), pdf::small("acte")),
            Part::Text("circuit", circuit.into()),
            Part::Text("label", label.into()),
            Part::File("annexes", "plan.pdf".into(), pdf::small("plan")),
            Part::File("annexes", "page.html".into(), HOSTILE.to_vec()),
        ],
    );
    let id = r.id();
    let r = app.as_user("v1@a.fr").multipart(
        Method::POST,
        &format!("/api/v1/documents/{id}/annexes"),
        vec![Part::File(
            "file",
            "note.txt".into(),
            b"note du viseur".to_vec(),
        )],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    id
}

#[test]
fn annexes_are_listed_with_their_digest_and_served_as_attachments() {
    let app = TestApp::start(BIN, "");
    let id = deposit_with_annexes(&app, "L1");
    let other = deposit_with_annexes(&app, "L2");
    let c = app.as_user("depot@a.fr");

    let list = c.get(&format!("/api/v1/documents/{id}/annexes"));
    assert_eq!(list.status, 200, "{}", list.text());
    assert!(list.content_type.starts_with("application/json"));
    let list = list.json();
    let items = list.as_array().unwrap();
    let expected: [(&str, Vec<u8>); 3] = [
        ("plan.pdf", pdf::small("plan")),
        ("page.html", HOSTILE.to_vec()),
        ("note.txt", b"note du viseur".to_vec()),
    ];
    assert_eq!(items.len(), 3, "{list}");
    for (item, (name, bytes)) in items.iter().zip(&expected) {
        assert_eq!(item["name"], *name);
        assert_eq!(item["size"], bytes.len() as u64);
        assert_eq!(item["sha256"], sha(bytes), "{name}");
        assert!(item["id"].as_i64().unwrap() > 0);
        // Every member of the document reads them: here a visa member.
        let (st, h, body) = get_full(
            &app,
            "v1@a.fr",
            &format!("/api/v1/documents/{id}/annexes/{}", item["id"]),
        );
        assert_eq!(st, 200);
        assert_eq!(&body, bytes, "{name}");
        let disp = h["content-disposition"].to_str().unwrap();
        assert!(
            disp.starts_with("attachment;") && disp.contains(name),
            "{disp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox")
        );
    }
    // The HTML annex is never served as a page of this origin.
    let (_, h, _) = get_full(
        &app,
        "depot@a.fr",
        &format!("/api/v1/documents/{id}/annexes/{}", items[1]["id"]),
    );
    assert_eq!(h["content-type"], "application/octet-stream");

    // An annex of another document, an unknown annex, a document of another subscriber: the
    // unknown-id answer, all alike.
    let foreign = c.get(&format!("/api/v1/documents/{other}/annexes")).json()[0]["id"].clone();
    let unknown = |path: String, who: &str| {
        let r = app.as_user(who).get(&path);
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_eq!(r.content_type, "application/problem+json", "{path}");
        assert_eq!(r.error_code(), Some(103), "{path}");
    };
    unknown(
        format!("/api/v1/documents/{id}/annexes/{foreign}"),
        "depot@a.fr",
    );
    unknown(
        format!("/api/v1/documents/{id}/annexes/99999999"),
        "depot@a.fr",
    );
    unknown(format!("/api/v1/documents/{id}/annexes/x"), "depot@a.fr");
    unknown("/api/v1/documents/99999999/annexes".into(), "depot@a.fr");
    unknown(format!("/api/v1/documents/{id}/annexes"), "depot@b.fr");
    unknown(
        format!("/api/v1/documents/{id}/annexes/{}", items[0]["id"]),
        "depot@b.fr",
    );
    // Without credentials: 401.
    let anonymous = parapheur_test_utils::Client::new(&app.base, None);
    assert_eq!(
        anonymous
            .get(&format!("/api/v1/documents/{id}/annexes"))
            .status,
        401
    );
}

#[test]
fn an_annex_stored_without_a_digest_gets_it_computed_from_its_file() {
    let app = TestApp::start(BIN, "");
    let id = deposit_with_annexes(&app, "ancien");
    // Annexes written before the digest was recorded.
    app.sql("UPDATE annexes SET sha256 = NULL");
    let list = app
        .as_user("depot@a.fr")
        .get(&format!("/api/v1/documents/{id}/annexes"))
        .json();
    assert_eq!(list[0]["sha256"], sha(&pdf::small("plan")));
    assert_eq!(list[1]["sha256"], sha(HOSTILE));
    assert_eq!(list[2]["sha256"], sha(b"note du viseur"));
    // And recorded.
    let stored = app.query(&format!(
        "SELECT sha256 FROM annexes WHERE document_id = {id} ORDER BY id"
    ));
    assert_eq!(
        stored.lines().map(str::trim).collect::<Vec<_>>(),
        [
            sha(&pdf::small("plan")),
            sha(HOSTILE),
            sha(b"note du viseur")
        ]
    );
}

#[test]
fn the_portal_page_links_each_annex_and_the_fiche_lists_them() {
    let app = TestApp::start(BIN, "");
    let id = deposit_with_annexes(&app, "portail");
    let other = deposit_with_annexes(&app, "autre");
    let list = app
        .as_user("depot@a.fr")
        .get(&format!("/api/v1/documents/{id}/annexes"))
        .json();
    let b = Browser::new(&app.base);
    let login = b.get("/parapheur/login");
    let r = b.post_form(
        "/parapheur/login",
        &[
            ("csrf", &login.csrf()),
            ("email", "v1@a.fr"),
            ("password", "password-v1"),
            ("next", "/parapheur/"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let page = b.get(&format!("/parapheur/documents/{id}"));
    assert_eq!(page.status, 200);
    for a in list.as_array().unwrap() {
        let href = format!("/parapheur/documents/{id}/annexes/{}", a["id"]);
        assert!(page.body.contains(&href), "{href} in:\n{}", page.body);
        assert!(page.body.contains(a["sha256"].as_str().unwrap()));
    }
    let first = &list[1];
    let (st, bytes) = b.get_bytes(&format!(
        "/parapheur/documents/{id}/annexes/{}",
        first["id"]
    ));
    assert_eq!((st, bytes.as_slice()), (200, HOSTILE));
    let r = b.get(&format!(
        "/parapheur/documents/{id}/annexes/{}",
        first["id"]
    ));
    let disp = r.headers["content-disposition"].to_str().unwrap();
    assert!(disp.starts_with("attachment;"), "{disp}");
    // Another document's annex under this document: not found.
    let foreign = app
        .as_user("depot@a.fr")
        .get(&format!("/api/v1/documents/{other}/annexes"))
        .json()[0]["id"]
        .clone();
    assert_eq!(
        b.get(&format!("/parapheur/documents/{id}/annexes/{foreign}"))
            .status,
        404
    );
    // Signed out: to the login page.
    let anonymous = Browser::new(&app.base);
    assert_eq!(
        anonymous
            .get(&format!(
                "/parapheur/documents/{id}/annexes/{}",
                first["id"]
            ))
            .status,
        303
    );

    // The fiche de circulation lists each annex with its size and SHA-256.
    let fdc = app
        .as_user("depot@a.fr")
        .get(&format!("{V1}/documents/v2/{id}/getFdc"));
    let text = crate::fast_upload::pdftotext(&fdc.body);
    for a in list.as_array().unwrap() {
        assert!(
            text.contains(&format!(
                "{} ({} octets)",
                a["name"].as_str().unwrap(),
                a["size"]
            )),
            "{text}"
        );
        assert!(text.contains(a["sha256"].as_str().unwrap()), "{text}");
    }
}

#[test]
fn the_otp_page_links_the_annexes_of_its_documents_only() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let meta = br#"<?xml version="1.0" encoding="UTF-8"?>
<meta-data-list>
  <meta-data name="OTP_firstname_0" value="Jeanne"/>
  <meta-data name="OTP_lastname_0" value="Dupont"/>
  <meta-data name="OTP_phonenumber_0" value="0612345678"/>
  <meta-data name="OTP_email_0" value="jeanne@exemple.fr"/>
</meta-data-list>"#;
    let r = c.multipart(
        Method::POST,
        &format!("{V1}/documents/v2/otp/{SIREN_A}/OTP/upload"),
        vec![
            Part::File("doc", "convention.pdf".into(), pdf::small("convention")),
            Part::File("meta", "meta.xml".into(), meta.to_vec()),
            Part::File("annexes", "conditions.html".into(), HOSTILE.to_vec()),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let out = r.json();
    let id = out["id"].as_i64().unwrap();
    let url = out["url"].as_str().unwrap();
    let page = &url[app.base.len()..];
    let annex = c.get(&format!("/api/v1/documents/{id}/annexes")).json()[0].clone();
    assert_eq!(annex["name"], "conditions.html");

    let b = Browser::new(&app.base);
    let p = b.get(page);
    assert_eq!(p.status, 200);
    let href = format!("{page}/annexes/{}", annex["id"]);
    assert!(p.body.contains(&href), "{href} in:\n{}", p.body);
    assert!(p.body.contains("conditions.html"));
    let r = b.get(&href);
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(r.headers["content-type"], "application/octet-stream");
    assert_eq!(b.get_bytes(&href).1, HOSTILE);

    // An annex of a document outside the link, and an unknown one: the invalid-link answer.
    let outside = deposit_with_annexes(&app, "hors-lien");
    let foreign = c
        .get(&format!("/api/v1/documents/{outside}/annexes"))
        .json()[0]["id"]
        .clone();
    assert_eq!(b.get(&format!("{page}/annexes/{foreign}")).status, 404);
    assert_eq!(b.get(&format!("{page}/annexes/99999999")).status, 404);
    // Another token: nothing.
    assert_eq!(
        b.get(&format!(
            "/otp/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/annexes/{}",
            annex["id"]
        ))
        .status,
        404
    );
}
