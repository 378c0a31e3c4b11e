//! Durability: SIGKILL during a burst of concurrent uploads, restart on the same data, and
//! every id acknowledged before the kill downloads with identical bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::wait_for;
use parapheur_test_utils::{Client, SIREN_A, TestApp, pdf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

#[test]
fn acknowledged_uploads_survive_kill_9() {
    let mut app = TestApp::start_process(BIN, "", "", &[]);
    type Acked = Arc<Mutex<Vec<(i64, Vec<u8>)>>>;
    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (acked, stop) = (acked.clone(), stop.clone());
            let client = Client::new(
                &app.base,
                Some(("depot@a.fr".into(), "password-depot".into())),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    // Distinct bytes per document, so a mix-up would show.
                    let bytes = pdf::sample(&format!("crash {w}-{n}"), 1, 20_000 + n * 13);
                    let url = format!(
                        "{}/parapheur-ws/rest/v1/documents/v2/{SIREN_A}/VV/upload",
                        client.base
                    );
                    let form = reqwest::blocking::multipart::Form::new()
                        .text("label", format!("w{w}-{n}"))
                        .part(
                            "doc",
                            reqwest::blocking::multipart::Part::bytes(bytes.clone())
                                .file_name("c.pdf"),
                        );
                    let res = reqwest::blocking::Client::new()
                        .post(url)
                        .basic_auth("depot@a.fr", Some("password-depot"))
                        .multipart(form)
                        .timeout(Duration::from_secs(10))
                        .send();
                    // Only a complete 200 with an id counts as acknowledged.
                    let id = res
                        .ok()
                        .filter(|r| r.status() == 200)
                        .and_then(|r| r.text().ok())
                        .and_then(|body| body.trim().parse::<i64>().ok());
                    if let Some(id) = id {
                        acked.lock().unwrap().push((id, bytes));
                    }
                }
            })
        })
        .collect();
    // Let the burst run (forty acknowledged, then a few more: uploads are in flight), then kill
    // the server in the middle of it.
    for target in [40, 45] {
        wait_for(Duration::from_secs(30), "acknowledged uploads", || {
            (acked.lock().unwrap().len() >= target).then_some(())
        });
    }
    app.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 40,
        "the burst acknowledged only {} uploads",
        acked.len()
    );

    app.restart();
    let c = app.as_user("depot@a.fr");
    for (id, bytes) in &acked {
        let r = c.get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/download"));
        assert_eq!(r.status, 200, "document {id}: {}", r.text());
        assert!(r.body == *bytes, "document {id} changed across the crash");
        assert_eq!(
            c.states(*id),
            ["Préparé", "Envoyé pour visa"],
            "history of {id}"
        );
    }
    // The restarted server keeps working.
    assert_eq!(
        c.upload(SIREN_A, "VV", "after.pdf", pdf::small("after"), "")
            .status,
        200
    );
}

/// A document waiting at an automatic step with no job to run it (written before steps had
/// durable jobs) is taken up at start-up, beside the server: here a verification step.
#[test]
fn an_automatic_step_without_a_job_runs_at_start_up() {
    let mut app = TestApp::start_process(BIN, "", "", &[]);
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(
            SIREN_A,
            "SV",
            "a-verifier.pdf",
            pdf::small("à vérifier"),
            "",
        )
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let done = |c: &Client| c.states(id).last().is_some_and(|s| s == "Classé");
    parapheur_test_utils::browser::wait_for(Duration::from_secs(20), "the verification", || {
        done(&c).then_some(())
    });
    let validated = |c: &Client| {
        c.states(id)
            .iter()
            .filter(|s| *s == "Signature validée")
            .count()
    };
    assert_eq!(validated(&c), 1);
    // Back at the verification step (index 1), in progress, and no job for it.
    app.kill9();
    app.sql(&format!(
        "UPDATE documents SET status = 'in_progress', current_step = 1 WHERE id = {id}"
    ));
    app.sql("DELETE FROM jobs");
    app.restart();
    let c = app.as_user("depot@a.fr");
    parapheur_test_utils::browser::wait_for(Duration::from_secs(20), "the recovery", || {
        (validated(&c) == 2).then_some(())
    });
    assert_eq!(c.states(id).last().map(String::as_str), Some("Classé"));
}
