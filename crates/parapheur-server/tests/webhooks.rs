//! Webhooks (CONTRACT §11): every history entry of a document reaches the subscriber's
//! endpoints, signed as Standard Webhooks says (checked by the reference library), in order,
//! once per delivery id, through an outage; a dead endpoint's deliveries end `failed`, visible
//! and replayable on the administration page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{Browser, WebhookReceiver, reserved_port, wait_for};
use parapheur_test_utils::{SIREN_A, SIREN_B, TestApp, pdf};
use std::collections::BTreeSet;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FAST: &str =
    "[jobs]\npoll_ms = 50\nretry_base_ms = 50\nretry_max_ms = 200\n[webhooks]\nmax_attempts = 4\n";

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

#[test]
fn every_state_reaches_the_endpoint_signed_in_order_and_once_through_an_outage() {
    let dir = tempfile::tempdir().unwrap();
    // The receiver is down for the first three requests.
    let rx = WebhookReceiver::start(dir.path(), SECRET, 3);
    let dead = format!("http://127.0.0.1:{}/hook", reserved_port());
    let provisioning = format!(
        "[[webhooks]]\nsiren = \"{SIREN_A}\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\nevents = [\"document.state_changed\"]\n\
         [[webhooks]]\nsiren = \"{SIREN_A}\"\nurl = \"{dead}\"\nsecret = \"{SECRET}\"\n",
        rx.url
    );
    let app = TestApp::start_with(BIN, FAST, &provisioning, &[]);
    // A second instance on the same database claims jobs too: still once per delivery.
    let _second = app.another_instance();
    let depot = app.as_user("depot@a.fr");
    let id = depot
        .upload(SIREN_A, "VVS", "marche.pdf", pdf::small("m"), "")
        .id();
    assert_eq!(app.as_user("v1@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(app.as_user("v2@a.fr").act(id, "visa", None).status, 200);
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    // Another subscriber's document tells A's endpoints nothing.
    app.as_user("depot@b.fr")
        .upload(SIREN_B, "VV", "b.pdf", pdf::small("b"), "")
        .id();
    let states = depot.states(id);
    assert_eq!(states.len(), 8, "{states:?}");
    let received = wait_for(
        Duration::from_secs(30),
        "every state at the endpoint",
        || {
            let r = rx.received();
            (r.len() >= states.len()).then_some(r)
        },
    );
    // In order, each verified by the reference library, each id once.
    let got: Vec<&str> = received
        .iter()
        .map(|(_, b)| b["data"]["stateName"].as_str().unwrap())
        .collect();
    assert_eq!(got, states);
    let ids: BTreeSet<&str> = received.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(ids.len(), received.len(), "one delivery per id");
    let (_, first) = &received[0];
    assert_eq!(first["type"], "document.state_changed");
    assert_eq!(first["data"]["id"], id);
    assert_eq!(first["data"]["siren"], SIREN_A);
    assert_eq!(first["data"]["circuit"], "VVS");
    assert_eq!(first["data"]["userFullname"], "Denise Dépôt");
    let history = depot
        .get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/history"))
        .json();
    assert_eq!(first["data"]["date"], history[0]["date"]);
    assert_eq!(received[6].1["data"]["userFullname"], "Sophie Signe");
    let statuses = rx.statuses();
    assert_eq!(statuses[..3], [503, 503, 503], "{statuses:?}");
    assert!(!statuses.contains(&400), "{statuses:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rx.received().len(), states.len(), "nothing sent twice");

    // The dead endpoint: every delivery ends failed after its attempts, shown to the
    // administrators, who may send one again.
    let b = portal(&app, "admin@a.fr");
    let page = wait_for(Duration::from_secs(30), "failed deliveries", || {
        let p = b.get(&format!("/parapheur/admin/{SIREN_A}/webhooks"));
        (p.body.matches("<td>Échec</td>").count() == states.len()).then_some(p)
    });
    assert_eq!(page.body.matches("<td>Remis</td>").count(), states.len());
    assert!(page.body.contains("could not be reached"), "{}", page.body);
    let failed_id = page
        .body
        .split("/webhooks/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_owned();
    let r = b.post_form(
        &format!("/parapheur/admin/{SIREN_A}/webhooks/{failed_id}/renvoyer"),
        &[("csrf", &page.csrf())],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    // A new job for it: the delivery is attempted again (and fails again, the endpoint is dead).
    let jobs = app.query(&format!(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'webhook' AND payload = '{{\"delivery_id\":{failed_id}}}'"
    ));
    assert_eq!(jobs.trim(), "2", "{jobs}");
    // Another subscriber's administrator cannot replay it.
    let r = portal(&app, "admin@a.fr").post_form(
        &format!("/parapheur/admin/{SIREN_B}/webhooks/{failed_id}/renvoyer"),
        &[("csrf", &page.csrf())],
    );
    assert_ne!(r.status, 303);
}

#[test]
fn a_bad_webhook_in_provisioning_is_refused_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    for (entry, field) in [
        (
            "url = \"ftp://x\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
            "url",
        ),
        ("url = \"http://x/h\"\nsecret = \"nope\"", "secret"),
        (
            "url = \"http://x/h\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nevents = [\"document.deleted\"]",
            "events",
        ),
    ] {
        let file = dir.path().join("p.toml");
        std::fs::write(
            &file,
            format!(
                "{}\n[[webhooks]]\nsiren = \"{SIREN_A}\"\n{entry}\n",
                parapheur_test_utils::PROVISIONING
            ),
        )
        .unwrap();
        let out = std::process::Command::new(BIN)
            .args(["provision"])
            .arg(&file)
            .env("PARAPHEUR_DATA_DIR", dir.path().join("data"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{entry}");
        assert!(
            err.contains(&format!("webhooks[0].{field}")),
            "{field}: {err}"
        );
    }
}
