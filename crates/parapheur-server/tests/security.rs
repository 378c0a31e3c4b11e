//! Regression tests of the attacker's review (issue 16), each through the real binary: stored
//! files never active, accounts scoped to their subscriber, failed authentications counted
//! atomically and shared, sessions and cached credentials ending with a credential change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{Browser, wait_for};
use parapheur_test_utils::{Client, SIREN_A, SIREN_B, TestApp, pdf};
use serde_json::json;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

/// An XML file that is also an XHTML page with a script.
const XHTML: &[u8] = b"<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><body>\
<script>fetch('/parapheur/').then(r => r.text()).then(t => document.title = t)</script></body></html>";

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
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

/// The subscriber's users as synchronisation entries, from its export (what an administrator
/// sends back to change one thing).
fn sync_entries(admin: &Client, siren: &str) -> Vec<serde_json::Value> {
    let export: serde_json::Value = admin
        .get(&format!("{V1}/exportUsersData?siren={siren}"))
        .json();
    export["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            json!({"email": u["email"], "firstName": u["prenom"], "lastName": u["nom"],
                   "authenticationType": u["authenticationType"], "groups": u["groups"]})
        })
        .collect()
}

#[test]
fn stored_files_are_never_served_as_active_content() {
    let app = TestApp::start(BIN, "");
    let depot = app.as_user("depot@a.fr");
    let xml = depot
        .upload(SIREN_A, "XML", "page.xml", XHTML.to_vec(), "xhtml")
        .id();
    let pdf_id = depot
        .upload(SIREN_A, "S", "a.pdf", pdf::small("a"), "pdf")
        .id();
    // The FAST download: an attachment in a sandbox, never sniffed.
    let r = reqwest::blocking::Client::new()
        .get(format!("{}{V1}/documents/v2/{xml}/download", app.base))
        .basic_auth("depot@a.fr", Some("password-depot"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(r.headers(), "content-disposition").starts_with("attachment;"));
    assert!(header(r.headers(), "content-security-policy").starts_with("sandbox"));
    assert_eq!(header(r.headers(), "x-content-type-options"), "nosniff");
    // The portal's preview of the XML: an attachment too; of a PDF: inline, sandboxed.
    let s1 = portal(&app, "s1@a.fr");
    for (id, inline) in [(xml, false), (pdf_id, true)] {
        for route in ["apercu", "telecharger"] {
            let p = s1.get(&format!("/parapheur/documents/{id}/{route}"));
            assert_eq!(p.status, 200, "{route} {id}");
            let d = header(&p.headers, "content-disposition");
            let expected = if inline && route == "apercu" {
                "inline;"
            } else {
                "attachment;"
            };
            assert!(d.starts_with(expected), "{route} {id}: {d}");
            assert!(
                header(&p.headers, "content-security-policy").starts_with("sandbox"),
                "{route} {id}"
            );
            assert_eq!(header(&p.headers, "x-content-type-options"), "nosniff");
        }
    }
}

#[test]
fn one_subscriber_never_changes_the_identity_of_another_subscribers_user() {
    let app = TestApp::start_with(
        BIN,
        "",
        r#"
[[users]]
email = "adminb@b.fr"
first_name = "Berthe"
last_name = "Admin"
password = "password-adminb"
subscribers = ["200000002"]
roles = ["admin"]

[[users]]
email = "both@a.fr"
first_name = "Basile"
last_name = "Deux-Communes"
password = "password-both"
subscribers = ["200000001", "200000002"]
"#,
        &[],
    );
    let admin_a = app.as_user("admin@a.fr");
    let mut body = sync_entries(&admin_a, SIREN_A);
    body.retain(|u| u["email"] != "both@a.fr");
    // The attack: B's administrator and a user of both, listed as CERTIFICAT with new names.
    for email in ["adminb@b.fr", "both@a.fr"] {
        body.push(
            json!({"email": email, "firstName": "Pirate", "lastName": "Renamed",
                         "authenticationType": "CERTIFICAT"}),
        );
    }
    let r = admin_a.put_json(
        &format!("{V1}/synchronization/{SIREN_A}/users"),
        json!(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let problems = r.json();
    for email in ["adminb@b.fr", "both@a.fr"] {
        assert!(
            problems
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["email"] == email
                    && p["errors"][0]
                        .as_str()
                        .unwrap()
                        .contains("another subscriber")),
            "{email}: {problems}"
        );
    }
    // Both still sign in with their passwords, under their own names, in B's export too.
    let tasks = "/api/v1/tasks";
    assert_eq!(
        Client::new(
            &app.base,
            Some(("adminb@b.fr".into(), "password-adminb".into()))
        )
        .get(tasks)
        .status,
        200
    );
    assert_eq!(
        Client::new(
            &app.base,
            Some(("both@a.fr".into(), "password-both".into()))
        )
        .get(tasks)
        .status,
        200
    );
    let export_b: serde_json::Value = Client::new(
        &app.base,
        Some(("adminb@b.fr".into(), "password-adminb".into())),
    )
    .get(&format!("{V1}/exportUsersData?siren={SIREN_B}"))
    .json();
    let users_b = export_b["users"].as_array().unwrap();
    for email in ["adminb@b.fr", "both@a.fr"] {
        let u = users_b.iter().find(|u| u["email"] == email).unwrap();
        assert_eq!(u["authenticationType"], "BASIC", "{u}");
        assert_ne!(u["nom"], "Renamed", "{u}");
    }
}

#[test]
fn parallel_wrong_passwords_are_counted_atomically_and_answered_429() {
    let app = TestApp::start(BIN, "");
    let base = app.base.clone();
    let codes: Vec<(u16, String, serde_json::Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..30)
            .map(|_| {
                let base = base.clone();
                s.spawn(move || {
                    let r = reqwest::blocking::Client::new()
                        .get(format!("{base}{V1}/exportUsersData?siren={SIREN_A}"))
                        .basic_auth("admin@a.fr", Some("wrong"))
                        .send()
                        .unwrap();
                    let status = r.status().as_u16();
                    let retry = header(r.headers(), "retry-after");
                    (status, retry, r.json().unwrap_or_default())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let unauthorized = codes.iter().filter(|c| c.0 == 401).count();
    let throttled: Vec<_> = codes.iter().filter(|c| c.0 == 429).collect();
    assert_eq!(unauthorized, 5, "{codes:?}");
    assert_eq!(throttled.len(), 25, "{codes:?}");
    for (_, retry, body) in &throttled {
        assert!(retry.parse::<u64>().is_ok_and(|s| s > 0), "{retry}");
        // A FAST route: the FAST error body, as a real 429 despite `error_status = 200`.
        assert_eq!(body["errorCode"], 128, "{body}");
    }
    // Locked: the right password waits too, on every route kind.
    let admin = app.as_user("admin@a.fr");
    assert_eq!(admin.get("/api/v1/tasks").status, 429);
    // The pause ends with its window.
    app.sql("UPDATE auth_failures SET first_at = first_at - 16 * 60 * 1000");
    assert_eq!(admin.get("/api/v1/tasks").status, 200);
}

#[test]
fn parallel_first_requests_with_the_right_password_are_all_served() {
    let app = TestApp::start(BIN, "");
    let base = app.base.clone();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                let base = base.clone();
                s.spawn(move || {
                    Client::new(&base, Some(("v1@a.fr".into(), "password-v1".into())))
                        .get("/api/v1/tasks")
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses, vec![200; 12]);
}

#[test]
fn failed_authentications_are_counted_per_client_address_too() {
    let app = TestApp::start(BIN, "[limits]\nauth_failures_per_ip = 8\n");
    let statuses: Vec<u16> = (0..10)
        .map(|i| {
            Client::new(&app.base, Some((format!("nobody{i}@a.fr"), "x".into())))
                .get("/api/v1/tasks")
                .status
        })
        .collect();
    assert_eq!(&statuses[..8], &[401; 8], "{statuses:?}");
    assert_eq!(&statuses[8..], &[429; 2], "{statuses:?}");
    // The portal shares the count.
    let b = Browser::new(&app.base);
    let p = b.get("/parapheur/login");
    let r = b.post_form(
        "/parapheur/login",
        &[
            ("csrf", &p.csrf()),
            ("email", "v1@a.fr"),
            ("password", "password-v1"),
            ("next", "/parapheur/"),
        ],
    );
    assert_eq!(r.status, 429);
    assert!(r.headers.contains_key("retry-after"));
}

#[test]
fn unknown_accounts_take_as_long_as_known_ones() {
    let app = TestApp::start(BIN, "[limits]\nauth_failures_per_ip = 1000\n");
    let time = |email: &str| {
        let mut v: Vec<Duration> = (0..4)
            .map(|i| {
                let c = Client::new(&app.base, Some((email.to_owned(), format!("wrong{i}"))));
                let t = Instant::now();
                assert_eq!(c.get("/api/v1/tasks").status, 401);
                t.elapsed()
            })
            .collect();
        v.sort();
        v[1]
    };
    let known = time("v1@a.fr");
    let unknown = time("personne@a.fr");
    // Both verify an argon2 hash; an unknown account used to answer in about a millisecond,
    // an order of magnitude (or two) under a verification.
    assert!(
        unknown * 3 > known,
        "unknown {unknown:?} vs known {known:?}"
    );
}

#[test]
fn sessions_and_cached_credentials_end_with_a_credential_change_on_every_instance() {
    let app = TestApp::start(BIN, "");
    let other = app.another_instance();
    let v2 = portal(&app, "v2@a.fr");
    assert_eq!(v2.get("/parapheur/").status, 200);
    // v2's Basic credentials, cached by both instances.
    let basic_here = app.as_user("v2@a.fr");
    let basic_there = other.client("v2@a.fr", "password-v2");
    assert_eq!(basic_here.get("/api/v1/tasks").status, 200);
    assert_eq!(basic_there.get("/api/v1/tasks").status, 200);
    // The administrator makes v2 a CERTIFICAT user (names unchanged) on the first instance.
    let admin = app.as_user("admin@a.fr");
    let mut body = sync_entries(&admin, SIREN_A);
    for u in body.iter_mut().filter(|u| u["email"] == "v2@a.fr") {
        u["authenticationType"] = json!("CERTIFICAT");
    }
    let r = admin.put_json(
        &format!("{V1}/synchronization/{SIREN_A}/users"),
        json!(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The portal session is over; the password no longer works, here and on the other
    // instance (which learns of the change from the database within its poll interval).
    let p = v2.get("/parapheur/");
    assert_eq!(p.status, 303, "{}", p.body);
    assert!(p.location.unwrap_or_default().contains("/parapheur/login"));
    assert_eq!(basic_here.get("/api/v1/tasks").status, 401);
    wait_for(
        Duration::from_secs(10),
        "the other instance to refuse",
        || (basic_there.get("/api/v1/tasks").status == 401).then_some(()),
    );
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Sends `head` on a new connection and reads what comes back within `wait` (empty when
/// the server said nothing).
fn raw(app: &TestApp, head: &[u8], wait: Duration) -> (std::net::TcpStream, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr(app)).unwrap();
    s.write_all(head).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    (s, String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn large_bodies_are_refused_before_they_are_read() {
    let app = TestApp::start(BIN, "");
    // A form route takes 64 KiB at most (the OTP code form needs no login).
    let big = "x".repeat(200 * 1024);
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/otp/abc/code", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf=a&code={big}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    // SOAP answers an unauthenticated caller before reading the body it announces.
    let head = format!(
        "POST /parapheur-soap/soap/v1/Documents HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n\
         Content-Length: {}\r\n\r\n<soap",
        100 * 1024 * 1024
    );
    let (_s, answer) = raw(&app, head.as_bytes(), Duration::from_secs(10));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer:?}");
}

#[test]
fn slow_clients_are_cut_and_connections_are_capped() {
    let app = TestApp::start(BIN, "[limits]\nheader_timeout_s = 2\nmax_connections = 3\n");
    // Headers trickled past the header timeout: the connection is closed (hyper answers 408
    // or closes), well before the client is done.
    let t = Instant::now();
    let (_s, answer) = raw(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(15),
    );
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "held {:?}: {answer:?}",
        t.elapsed()
    );
    assert!(answer.is_empty() || answer.contains(" 408 "), "{answer:?}");
    // Three connections open at once at most: a fourth is answered only when one closes.
    let idle: Vec<_> = (0..3)
        .map(|_| std::net::TcpStream::connect(addr(&app)).unwrap())
        .collect();
    // No pause needed: the server takes a permit before each accept, and the kernel queues
    // connections in order, so the fourth one waits behind the three idle ones.
    let (_s, answer) = raw(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_millis(800),
    );
    assert!(answer.is_empty(), "served beyond the cap: {answer:?}");
    drop(idle);
    let (_s, answer) = raw(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[test]
fn slow_bodies_are_cut() {
    let app = TestApp::start(BIN, "[limits]\nbody_timeout_s = 1\n");
    // A form announces 100 bytes and sends 6, then nothing: the read of its body ends after
    // the body timeout (1 s) with an error answer, long before the header timeout (30 s) or
    // the client's patience (15 s).
    let t = Instant::now();
    let (_s, answer) = raw(
        &app,
        b"POST /otp/abc/code HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ncsrf=a",
        Duration::from_secs(15),
    );
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "held {:?}: {answer:?}",
        t.elapsed()
    );
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer:?}");
    // A request without a body is served as before.
    let (_s, answer) = raw(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[test]
fn delivered_messages_do_not_keep_their_links() {
    let app = TestApp::start(BIN, "");
    let admin = app.as_user("admin@a.fr");
    let mut body = sync_entries(&admin, SIREN_A);
    body.push(
        json!({"email": "new@a.fr", "firstName": "N", "lastName": "Ew",
                     "authenticationType": "BASIC"}),
    );
    let r = admin.put_json(
        &format!("{V1}/synchronization/{SIREN_A}/users"),
        json!(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The invitation is delivered (to the outbox), then its job no longer holds the link.
    app.run_pending_jobs();
    wait_for(Duration::from_secs(20), "the mail delivered", || {
        (app.query("SELECT COUNT(*) FROM jobs WHERE kind = 'mail' AND status = 'done'") != "0")
            .then_some(())
    });
    let payloads = app.query("SELECT payload FROM jobs WHERE kind = 'mail' AND status = 'done'");
    assert!(!payloads.contains("/motdepasse/"), "{payloads}");
    let outbox = std::fs::read_dir(app.data_dir().join("outbox/mail"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(
        outbox.contains("motdepasse"),
        "the mail itself carries the link"
    );
}

#[test]
fn bannettes_need_a_current_membership() {
    let app = TestApp::start(BIN, "");
    let depot = app.as_user("depot@a.fr");
    depot.upload(SIREN_A, "VVS", "secret-rh.pdf", pdf::small("rh"), "rh");
    let v1 = portal(&app, "v1@a.fr");
    assert!(
        v1.get("/parapheur/?bannette=a-viser")
            .body
            .contains("secret-rh")
    );
    let d = portal(&app, "depot@a.fr");
    assert!(
        d.get("/parapheur/?bannette=mes-depots")
            .body
            .contains("secret-rh")
    );
    // v1 and the depositor leave the subscriber (the steps of the document in flight keep v1).
    let admin = app.as_user("admin@a.fr");
    let mut body = sync_entries(&admin, SIREN_A);
    body.retain(|u| u["email"] != "v1@a.fr" && u["email"] != "depot@a.fr");
    let r = admin.put_json(
        &format!("{V1}/synchronization/{SIREN_A}/users"),
        json!(body),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    for (b, bannette) in [(&v1, "a-viser"), (&d, "mes-depots")] {
        let p = b.get(&format!("/parapheur/?bannette={bannette}"));
        assert_eq!(p.status, 200);
        assert!(!p.body.contains("secret-rh"), "{bannette}: {}", p.body);
    }
}

/// Forwards every connection accepted on `listener` to `target` (both ways), in threads.
fn forward(listener: std::net::TcpListener, target: String) {
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = std::net::TcpStream::connect(&target) else {
                continue;
            };
            let (mut c1, mut s1) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut c2, mut s2) = (client, server);
            std::thread::spawn(move || std::io::copy(&mut c1, &mut s1));
            std::thread::spawn(move || std::io::copy(&mut s2, &mut c2));
        }
    });
}

#[test]
fn an_automatic_step_that_failed_is_retried_by_its_job() {
    // The timestamp authority's address answers nothing at first (connection refused).
    let port = parapheur_test_utils::browser::reserved_port();
    let app = TestApp::start_with(
        BIN,
        &format!(
            "[signing]\ntsa_url = \"http://127.0.0.1:{port}/\"\n\
             [jobs]\nautomatic_retry_ms = 500\nretry_base_ms = 300\nretry_max_ms = 1000\n"
        ),
        r#"
[[circuits]]
siren = "200000001"
id = "SEAL"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "serverSignature" } ]
"#,
        &[],
    );
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "SEAL", "cachet.pdf", pdf::small("cachet"), "")
        .id();
    // The automatic step fails, is retried as a job and fails again.
    wait_for(Duration::from_secs(20), "a failed retry", || {
        (app.query(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'automatic' AND attempts >= 2 AND locked_until = 0",
        ) != "0")
            .then_some(())
    });
    let states = depot.states(id);
    assert_eq!(
        states.last().unwrap(),
        "Envoyé pour signature",
        "{states:?}"
    );
    // The authority comes back: the job signs without a restart.
    let mut tsa = parapheur_test_utils::tsa::TestTsa::new();
    let url = tsa.serve();
    let target = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    forward(
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap(),
        target,
    );
    wait_for(Duration::from_secs(30), "the document classified", || {
        depot
            .states(id)
            .last()
            .is_some_and(|s| s == "Classé")
            .then_some(())
    });
}

#[test]
fn a_user_of_two_subscribers_signs_each_ones_documents_with_a_certificate_naming_it() {
    let app = TestApp::start_with(
        BIN,
        "",
        r#"
[[users]]
email = "both@a.fr"
first_name = "Basile"
last_name = "Deux-Communes"
password = "password-both"
subscribers = ["200000001", "200000002"]

[[circuits]]
siren = "200000001"
id = "BOTH"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "signature", members = ["both@a.fr"] } ]

[[circuits]]
siren = "200000002"
id = "BOTH"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "signature", members = ["both@a.fr"] } ]
"#,
        &[],
    );
    let both = Client::new(
        &app.base,
        Some(("both@a.fr".into(), "password-both".into())),
    );
    let dir = tempfile::tempdir().unwrap();
    for (siren, depositor, org) in [
        (SIREN_A, "depot@a.fr", "Commune A"),
        (SIREN_B, "depot@b.fr", "Commune B"),
    ] {
        let depot = app.as_user(depositor);
        let id = depot
            .upload(siren, "BOTH", "deux.pdf", pdf::small(siren), "")
            .id();
        let r = both.act(id, "sign", None);
        assert_eq!(r.status, 200, "{}", r.text());
        let signed = depot.get(&format!("{V1}/documents/v2/{id}/download")).body;
        std::fs::write(dir.path().join("s.pdf"), &signed).unwrap();
        let (_, out) = parapheur_test_utils::run_tool(dir.path(), "pdfsig", &["s.pdf"]);
        let dn = out
            .lines()
            .find(|l| l.contains("Signer full Distinguished Name"))
            .unwrap_or_default()
            .to_owned();
        assert!(dn.contains(&format!("O={org}")), "{siren}: {dn}\n{out}");
        assert!(dn.contains("Deux-Communes"), "{dn}");
    }
}
