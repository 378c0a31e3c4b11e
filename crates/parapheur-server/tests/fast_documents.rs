//! FAST routes on deposited documents: history, delete, metadata, refusal, search, transport
//! quirks (double slashes, chunked multipart with Expect: 100-continue) and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use parapheur_test_utils::{Client, Part, SIREN_A, SIREN_B, TestApp, pdf};
use reqwest::Method;
use serde_json::json;
use std::io::{Read, Write};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

#[test]
fn history_entries_have_the_fast_shape() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "VV", "h.pdf", pdf::small("h"), "").id();
    app.as_user("v1@a.fr").act(id, "visa", None);
    let h = c.get(&format!("{V1}/documents/v2/{id}/history")).json();
    let entries = h.as_array().unwrap();
    assert_eq!(entries.len(), 4);
    for e in entries {
        let obj = e.as_object().unwrap();
        assert_eq!(obj.len(), 3, "{e}");
        let date = e["date"].as_str().unwrap();
        // 2026-11-27T09:41:10.123+01:00
        assert_eq!(date.len(), 29, "{date}");
        assert_eq!(&date[19..20], ".");
        assert!(
            date[23..].starts_with('+') || date[23..].starts_with('-'),
            "{date}"
        );
    }
    assert_eq!(entries[0]["userFullname"], "Denise Dépôt");
    assert_eq!(entries[1]["userFullname"], "");
    assert_eq!(entries[2]["userFullname"], "Victor Un");
    assert_eq!(entries[2]["stateName"], "Visa approuvé");
    let bad = c.get(&format!("{V1}/documents/v2/abc/history"));
    assert_eq!((bad.status, bad.error_code()), (200, Some(103)));
    assert_eq!(
        bad.json()["developerMessage"],
        "Internal error: Invalid docId"
    );
}

/// The history of a document is answered ahead of the router when its path is plain (the hot
/// lane); a percent-encoded digit in the id takes the router. Both must give the same answer
/// to every caller, and count under the same route in the metrics.
#[test]
fn the_polled_history_answers_as_the_router_does() {
    let app = TestApp::start(BIN, "");
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "VV", "p.pdf", pdf::small("p"), "")
        .id();
    app.as_user("v1@a.fr").act(id, "visa", None);
    let callers = [
        ("the depositor", app.as_user("depot@a.fr")),
        ("a member of the circuit", app.as_user("v1@a.fr")),
        ("another subscriber", app.as_user("depot@b.fr")),
        // Four failures at most: a fifth would lock the account and change the answer.
        (
            "a wrong password",
            app.client("personne@a.fr", "mauvais-secret"),
        ),
        ("no credentials", Client::new(&app.base, None)),
    ];
    let ids = [id.to_string(), "999999".to_owned()];
    let mut asked = 0;
    for (who, c) in &callers {
        for plain in &ids {
            // "%3" + a digit is that digit, percent-encoded.
            let encoded = format!("%3{}{}", &plain[..1], &plain[1..]);
            let hot = c.get(&format!("{V1}/documents/v2/{plain}/history"));
            let routed = c.get(&format!("{V1}/documents/v2/{encoded}/history"));
            asked += 2;
            assert_eq!(hot.status, routed.status, "{who}, {plain}");
            assert_eq!(hot.content_type, routed.content_type, "{who}, {plain}");
            assert_eq!(comparable(&hot), comparable(&routed), "{who}, {plain}");
        }
    }
    // The depositor reads the four entries; the other subscriber gets the FAST error.
    let own = depot.get(&format!("{V1}/documents/v2/{id}/history")).json();
    assert_eq!(own.as_array().map(Vec::len), Some(4), "{own}");
    let other = app
        .as_user("depot@b.fr")
        .get(&format!("{V1}/documents/v2/{id}/history"));
    assert!(other.error_code().is_some(), "{}", other.text());
    asked += 2;
    // Both lanes count under the router's template, and only under it.
    let metrics = reqwest::blocking::get(format!("{}/metrics", app.base))
        .unwrap()
        .text()
        .unwrap();
    let mut counted = 0;
    for line in metrics.lines() {
        let Some(rest) =
            line.strip_prefix("parapheur_http_request_duration_seconds_count{route=\"")
        else {
            continue;
        };
        if !rest.contains("/history\"") {
            continue;
        }
        assert!(
            rest.starts_with("/parapheur-ws/rest/v1/documents/v2/{id}/history\","),
            "{line}"
        );
        counted += line
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_default();
    }
    assert_eq!(counted, asked, "{metrics}");
}

/// A body to compare: a FAST error's `generation` (the instant it was made) left out.
fn comparable(r: &parapheur_test_utils::Resp) -> String {
    match serde_json::from_slice::<serde_json::Value>(&r.body) {
        Ok(serde_json::Value::Object(mut o)) => {
            assert!(o.remove("generation").is_some(), "{o:?}");
            serde_json::Value::Object(o).to_string()
        }
        _ => r.text(),
    }
}

#[test]
fn delete_only_in_allowed_states() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let up = |label: &str| {
        c.upload(SIREN_A, "VV", "d.pdf", pdf::small("d"), label)
            .id()
    };
    let blobs0 = app.blob_count();

    // Just deposited (nobody acted yet): deletable, then gone, blob removed.
    let id = up("prepared");
    assert_eq!(app.blob_count(), blobs0 + 1);
    let r = c.delete(&format!("{V1}/documents/v2/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.error_code(), None);
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/history"))
            .error_code(),
        Some(103)
    );
    assert_eq!(app.blob_count(), blobs0);
    // The triplet is free again.
    up("prepared");

    // After a visa: refused. After classification: refused.
    let id = up("in-progress");
    app.as_user("v1@a.fr").act(id, "visa", None);
    assert_eq!(
        c.delete(&format!("{V1}/documents/v2/{id}")).error_code(),
        Some(104)
    );
    app.as_user("v2@a.fr").act(id, "visa", None);
    assert_eq!(c.states(id).last().unwrap(), "Classé");
    assert_eq!(
        c.delete(&format!("{V1}/documents/v2/{id}")).error_code(),
        Some(104)
    );
    assert_eq!(c.states(id).last().unwrap(), "Classé", "still there");

    // Only the depositor or an administrator deletes.
    let id = up("other-user");
    assert_eq!(
        app.as_user("v2@a.fr")
            .delete(&format!("{V1}/documents/v2/{id}"))
            .error_code(),
        Some(100)
    );
    assert_eq!(
        app.as_user("admin@a.fr")
            .delete(&format!("{V1}/documents/v2/{id}"))
            .status,
        200
    );
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/history"))
            .error_code(),
        Some(103)
    );
}

#[test]
fn metadata_definition_and_safe_xml() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "META", "m.pdf", pdf::small("m"), "").id();
    assert_eq!(c.states(id), ["Préparé"]);
    // The circuit waits: no visa possible yet.
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 409);
    let define = |xml: &str| {
        c.multipart(
            Method::PUT,
            &format!("{V1}/documents/v2/{id}/metadata/define"),
            vec![Part::File(
                "metadata",
                "meta.xml".into(),
                xml.as_bytes().to_vec(),
            )],
        )
    };
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<meta-data-list><meta-data name="TEXT_001" value="&x;"/></meta-data-list>"#;
    let lol = r#"<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<meta-data-list><meta-data name="TEXT_001" value="&d;"/></meta-data-list>"#;
    for bad in [xxe, lol, "<meta-data-list><meta-data", "<autre/>"] {
        let r = define(bad);
        assert_eq!(
            (r.status, r.error_code()),
            (200, Some(110)),
            "{bad}: {}",
            r.text()
        );
    }
    assert_eq!(c.states(id), ["Préparé"], "bad metadata changes nothing");
    let ok = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<meta-data-list>
  <meta-data name="TEXT_001" value="John"/>
  <meta-data name="TEXT_002" value="Doe &amp; fils"/>
  <meta-data name="NUM_001" value="45812"/>
</meta-data-list>"#;
    let r = define(ok);
    assert_eq!((r.status, r.error_code()), (200, None), "{}", r.text());
    assert_eq!(
        c.states(id),
        ["Préparé", "Métadonnées définies", "Envoyé pour visa"]
    );
    let metas = c.get(&format!("{V1}/documents/{id}/metas"));
    assert!(metas.content_type.starts_with("application/xml"));
    let t = metas.text();
    assert!(
        t.contains(r#"name="TEXT_002" value="Doe &amp; fils""#) && t.contains("45812"),
        "{t}"
    );

    // A circuit without a metadata step refuses metadata.
    let other = c.upload(SIREN_A, "VV", "n.pdf", pdf::small("n"), "").id();
    let r = c.multipart(
        Method::PUT,
        &format!("{V1}/documents/v2/{other}/metadata/define"),
        vec![Part::File(
            "metadata",
            "meta.xml".into(),
            ok.as_bytes().to_vec(),
        )],
    );
    assert_eq!(r.error_code(), Some(110));
}

#[test]
fn refusal_comment_and_search() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let id = c.upload(SIREN_A, "S", "r.pdf", pdf::small("r"), "").id();
    let none = c.get(&format!("{V1}/documents/v2/{id}/comments/refusal"));
    assert_eq!(none.error_code(), Some(102));
    let r = app
        .as_user("s1@a.fr")
        .act(id, "refuse", Some("Montant erroné"));
    assert_eq!(r.status, 200, "{}", r.text());
    let got = c
        .get(&format!("{V1}/documents/v2/{id}/comments/refusal"))
        .json();
    assert_eq!(got, json!({"comment": "Montant erroné"}));
    let other = c.upload(SIREN_A, "VV", "s.pdf", pdf::small("s"), "").id();

    let search = |body: serde_json::Value| c.post_json(&format!("{V1}/documents/search"), body);
    assert_eq!(search(json!({"siren": SIREN_A})).json(), json!([id, other]));
    assert_eq!(
        search(json!({"siren": SIREN_A, "state": "Refusé"})).json(),
        json!([id])
    );
    assert_eq!(
        search(json!({"siren": SIREN_A, "circuit": "VV"})).json(),
        json!([other])
    );
    assert_eq!(
        search(json!({"siren": SIREN_A, "state": "Classé"})).json(),
        json!([])
    );
    assert_eq!(search(json!({"siren": SIREN_B})).error_code(), Some(100));
    assert_eq!(
        search(json!({"siren": SIREN_A, "state": "nimporte"})).error_code(),
        Some(112)
    );
    assert_eq!(
        c.post_json(&format!("{V1}/documents/search"), json!("x"))
            .error_code(),
        Some(112)
    );
}

#[test]
fn double_slashes_are_collapsed() {
    let app = TestApp::start(BIN, "");
    let c = app.as_user("depot@a.fr");
    let r = c.multipart(
        Method::POST,
        &format!("/parapheur-ws/rest/v1//documents/v2/{SIREN_A}/VV/upload"),
        vec![Part::File("doc", "slash.pdf".into(), pdf::small("s"))],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.id();
    let h = c.get(&format!(
        "//parapheur-ws//rest/v1//documents/v2/{id}/history"
    ));
    assert_eq!(h.status, 200);
    assert_eq!(h.json()[0]["stateName"], "Préparé");
}

/// Sends a chunked multipart upload with `Expect: 100-continue` and no Content-Length over a
/// raw socket, parts shaped as PHP clients shape them.
#[test]
fn chunked_multipart_with_expect_continue() {
    let app = TestApp::start(BIN, "");
    let addr = app.base.trim_start_matches("http://").to_owned();
    let pdf_bytes = pdf::sample("chunked", 2, 5000);
    let boundary = "------------------------d74496d66958873e";
    let mut body = Vec::new();
    let mut part = |headers: &str, content: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    part(
        "Content-Disposition: form-data; name=\"label\"\r\n",
        "Dossier chunké".as_bytes(),
    );
    part(
        "Content-Disposition: form-data; name=\"comment\"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
        "Commentaire accentué".as_bytes(),
    );
    part(
        "Content-Disposition: form-data; name=\"emailDestinataire\"\r\n",
        b"",
    );
    part(
        "Content-Disposition: form-data; name=\"content\"; filename=\"chunked.pdf\"\r\nContent-Type: application/pdf\r\n",
        &pdf_bytes,
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());

    let auth = base64::engine::general_purpose::STANDARD.encode("depot@a.fr:password-depot");
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /parapheur-ws/rest/v1//documents/v2/{SIREN_A}/VV/upload HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Basic {auth}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Transfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 25];
    s.read_exact(&mut buf).unwrap();
    assert!(
        buf.starts_with(b"HTTP/1.1 100 Continue"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    for chunk in body.chunks(1000) {
        s.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .unwrap();
        s.write_all(chunk).unwrap();
        s.write_all(b"\r\n").unwrap();
    }
    s.write_all(b"0\r\n\r\n").unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let id: i64 = resp
        .split("\r\n\r\n")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{resp}"));
    let c = app.as_user("depot@a.fr");
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/download")).body,
        pdf_bytes
    );
}

#[test]
fn another_subscriber_cannot_tell_a_document_exists() {
    let app = TestApp::start(BIN, "");
    let a = app.as_user("depot@a.fr");
    let b = app.as_user("depot@b.fr");
    let id = a
        .upload(SIREN_A, "S", "secret.pdf", pdf::small("secret"), "")
        .id();
    app.as_user("s1@a.fr").act(id, "refuse", Some("non"));
    let unknown = 987_654_321;
    let strip = |r: parapheur_test_utils::Resp| {
        let mut v = r.json();
        v.as_object_mut().unwrap().remove("generation");
        (r.status, v)
    };
    for path in [
        "/documents/v2/{}/download",
        "/documents/v2/{}/download?FdC=true",
        "/documents/v2/{}/getFdc",
        "/documents/v2/{}/history",
        "/documents/{}/metas",
        "/documents/v2/{}/comments/refusal",
    ] {
        let foreign = strip(b.get(&format!("{V1}{}", path.replace("{}", &id.to_string()))));
        let missing = strip(b.get(&format!("{V1}{}", path.replace("{}", &unknown.to_string()))));
        assert_eq!(foreign, missing, "{path}");
        assert_eq!(foreign.1["errorCode"], 103, "{path}");
    }
    let del = strip(b.delete(&format!("{V1}/documents/v2/{id}")));
    assert_eq!(
        del,
        strip(b.delete(&format!("{V1}/documents/v2/{unknown}")))
    );
    let meta = |who: &parapheur_test_utils::Client, doc: i64| {
        strip(who.multipart(
            Method::PUT,
            &format!("{V1}/documents/v2/{doc}/metadata/define"),
            vec![Part::File(
                "metadata",
                "m.xml".into(),
                b"<meta-data-list/>".to_vec(),
            )],
        ))
    };
    assert_eq!(meta(&b, id), meta(&b, unknown));
    for action in ["visa", "reject", "sign", "refuse"] {
        let foreign = b.act(id, action, Some("x"));
        let missing = b.act(unknown, action, Some("x"));
        assert_eq!(
            (foreign.status, foreign.error_code()),
            (missing.status, missing.error_code())
        );
        assert_eq!(foreign.status, 404);
    }
    // B's own view is untouched and A still sees everything.
    assert_eq!(
        b.post_json(&format!("{V1}/documents/search"), json!({"siren": SIREN_B}))
            .json(),
        json!([])
    );
    assert_eq!(a.states(id).last().unwrap(), "Refusé");
}

#[test]
fn fast_error_status_is_configurable() {
    let app = TestApp::start(BIN, "[fast]\nerror_status = 400");
    let c = app.as_user("depot@a.fr");
    let r = c.get(&format!("{V1}/documents/v2/12345/history"));
    assert_eq!((r.status, r.error_code()), (400, Some(103)));
    let ok = c.upload(SIREN_A, "VV", "x.pdf", pdf::small("x"), "");
    assert_eq!(ok.status, 200);
}
