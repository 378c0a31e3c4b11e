//! Deadlines, reminders and the daily digest (CONTRACT §11), observed from outside: the tasks
//! API and the e-mails written to the outbox, with two instances on the same database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{parse_eml, wait_for};
use parapheur_test_utils::{Client, Part, SIREN_A, TestApp, pdf};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";
const CONFIG: &str = "[jobs]\npoll_ms = 50\n[reminders]\ncheck_interval_s = 1\nbefore_days = [2]\nafter_days = [1, 3, 7]\ndigest_hour = 0\n";
const LATE_CIRCUIT: &str = r#"
[[circuits]]
siren = "200000001"
id = "DELAI"
type = "BUREAUTIQUE_PDF"
deadline_days = 5
steps = [ { step = "visa", members = ["v2@a.fr"] } ]
"#;

fn day(offset: i64) -> String {
    (parapheur_server::clock::now().date_naive() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn upload(
    c: &Client,
    circuit: &str,
    name: &str,
    date_limite: Option<&str>,
) -> parapheur_test_utils::Resp {
    let mut parts = vec![Part::File("doc", name.into(), pdf::small(name))];
    if let Some(d) = date_limite {
        parts.push(Part::Text("date_limite", d.into()));
    }
    c.multipart(
        Method::POST,
        &format!("{V1}/documents/v2/{SIREN_A}/{circuit}/upload"),
        parts,
    )
}

/// `(To header, subject)` of every e-mail in the outbox.
fn mails(app: &TestApp) -> Vec<(String, String, Value)> {
    std::fs::read_dir(app.data_dir().join("outbox/mail"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .map(|raw| {
                    let to = raw
                        .lines()
                        .find(|l| l.starts_with("To: "))
                        .unwrap_or_default()
                        .to_owned();
                    let m = parse_eml(&raw);
                    (to, m["subject"].as_str().unwrap_or_default().to_owned(), m)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn count(app: &TestApp, subject_start: &str) -> usize {
    mails(app)
        .iter()
        .filter(|(_, s, _)| s.starts_with(subject_start))
        .count()
}

#[test]
fn deadlines_show_in_tasks_and_each_reminder_goes_once_across_two_instances() {
    let app = TestApp::start_with(BIN, CONFIG, LATE_CIRCUIT, &[]);
    let depot = app.as_user("depot@a.fr");
    // A bad or past date is refused with the FAST parameter error.
    for bad in ["31/12/2030", &day(-1)] {
        let r = upload(&depot, "VV", "bad.pdf", Some(bad));
        assert_eq!(r.error_code(), Some(112), "{bad}: {}", r.text());
    }
    let soon = upload(&depot, "VV", "soon.pdf", Some(&day(1))).id();
    let later = upload(&depot, "DELAI", "later.pdf", None).id();
    let tasks = app.as_user("v1@a.fr").get("/api/v1/tasks").json();
    assert_eq!(tasks[0]["id"], soon);
    assert_eq!(tasks[0]["deadline"], day(1));
    assert_eq!(tasks[0]["overdue"], false);
    let tasks = app.as_user("v2@a.fr").get("/api/v1/tasks").json();
    assert_eq!(tasks[0]["id"], later);
    assert_eq!(tasks[0]["deadline"], day(5), "the circuit's deadline_days");

    // Two days before the deadline: the members of the current step are reminded, once.
    let reminder = wait_for(Duration::from_secs(15), "the reminder", || {
        mails(&app)
            .into_iter()
            .find(|(_, s, _)| s.starts_with("Rappel : soon.pdf"))
    });
    assert!(
        reminder.0.contains("v1@a.fr") && reminder.0.contains("admin@a.fr"),
        "{}",
        reminder.0
    );
    assert!(!reminder.0.contains("depot@a.fr"), "{}", reminder.0);
    // A second instance on the same database runs its own checks.
    let _second = app.another_instance();
    // Ten days late: one "en retard" e-mail (the largest offset missed), to the members and
    // the depositor; the document is marked overdue.
    app.sql(&format!(
        "UPDATE documents SET deadline = '{}' WHERE id = {soon}",
        day(-10)
    ));
    let late = wait_for(Duration::from_secs(15), "the overdue reminder", || {
        mails(&app)
            .into_iter()
            .find(|(_, s, _)| s.starts_with("Document en retard : soon.pdf"))
    });
    assert!(
        late.0.contains("depot@a.fr") && late.0.contains("v1@a.fr"),
        "{}",
        late.0
    );
    let tasks = app.as_user("v1@a.fr").get("/api/v1/tasks").json();
    assert_eq!(tasks[0]["overdue"], true);
    // Several more checks by both instances: nothing is sent twice.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(count(&app, "Rappel : soon.pdf"), 1);
    assert_eq!(count(&app, "Document en retard : soon.pdf"), 1);
    assert_eq!(
        count(&app, "Rappel : later.pdf"),
        0,
        "five days ahead: not yet"
    );
    let sent = app.query(&format!(
        "SELECT kind || ':' || offset_days FROM reminders_sent WHERE document_id = {soon} ORDER BY kind, offset_days"
    ));
    assert_eq!(
        sent.lines().collect::<Vec<_>>(),
        ["after:1", "after:3", "after:7", "before:2"]
    );
}

#[test]
fn a_user_who_chose_the_digest_gets_one_summary_a_day_instead_of_each_document() {
    let app = TestApp::start(BIN, CONFIG);
    let v1 = app.as_user("v1@a.fr");
    assert_eq!(
        v1.get("/api/v1/me/notifications").json(),
        json!({"daily_digest": false})
    );
    let r = v1.put_json("/api/v1/me/notifications", json!({"daily_digest": true}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        v1.get("/api/v1/me/notifications").json()["daily_digest"],
        true
    );
    assert_eq!(
        v1.put_json("/api/v1/me/notifications", json!({"digest": 1}))
            .status,
        400
    );
    let depot = app.as_user("depot@a.fr");
    upload(&depot, "VV", "un.pdf", None).id();
    upload(&depot, "VV", "deux.pdf", None).id();
    let digest = wait_for(Duration::from_secs(15), "the digest", || {
        mails(&app)
            .into_iter()
            .find(|(to, s, _)| s.starts_with("Récapitulatif du") && to.contains("v1@a.fr"))
    });
    let text = digest.2["text"].as_str().unwrap();
    assert!(
        text.contains("un.pdf") && text.contains("deux.pdf"),
        "{text}"
    );
    app.run_pending_jobs();
    // The per-document e-mails went to the other member only.
    let per_doc: Vec<_> = mails(&app)
        .into_iter()
        .filter(|(_, s, _)| s.starts_with("Document à viser"))
        .collect();
    assert_eq!(per_doc.len(), 2);
    for (to, _, _) in &per_doc {
        assert!(to.contains("admin@a.fr") && !to.contains("v1@a.fr"), "{to}");
    }
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(count(&app, "Récapitulatif du"), 1, "one digest a day");
}
