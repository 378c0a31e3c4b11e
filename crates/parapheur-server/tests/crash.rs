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

/// A request body that trickles: at most 8 KiB at a time, each after `pause`.
struct Trickle {
    pause: Duration,
    data: std::io::Cursor<Vec<u8>>,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.pause);
        let n = buf.len().min(8 * 1024);
        self.data.read(&mut buf[..n])
    }
}

/// Issue 21: SIGTERM under load. The server stops accepting, lets every request in progress
/// finish — a slow upload included — and the job worker finish its batch, then exits 0. Of the
/// requests that reached it (its access log names their ids), none fails; the others are
/// refused at connection, or reset before the server read them (what a load balancer retries
/// elsewhere).
#[test]
fn sigterm_under_load_lets_every_request_in_progress_finish() {
    let mut app = TestApp::start_env(
        BIN,
        "[limits]\nshutdown_grace_s = 20\n",
        "",
        &[],
        &[("RUST_LOG".into(), "info".into())],
    );
    let base = app.base.clone();
    let slow = std::thread::spawn({
        let base = base.clone();
        move || {
            // About 1.5 s to send: the signal arrives in the middle.
            let pdf = pdf::sample("lent", 40, 0);
            let pause = Duration::from_millis(1500 / (pdf.len() as u64 / 8192 + 1));
            let reader = Trickle {
                pause,
                data: std::io::Cursor::new(pdf),
            };
            let form = reqwest::blocking::multipart::Form::new().part(
                "doc",
                reqwest::blocking::multipart::Part::reader(reader)
                    .file_name("lent.pdf")
                    .mime_str("application/pdf")
                    .unwrap(),
            );
            let r = reqwest::blocking::Client::new()
                .post(format!(
                    "{base}/parapheur-ws/rest/v1/documents/v2/{SIREN_A}/S/upload"
                ))
                .basic_auth("depot@a.fr", Some("password-depot"))
                .multipart(form)
                .send();
            r.map(|r| (r.status().as_u16(), r.text().unwrap_or_default()))
                .map_err(|e| e.to_string())
        }
    });
    let load: Vec<_> = (0..4)
        .map(|t| {
            let base = base.clone();
            std::thread::spawn(move || {
                let c = reqwest::blocking::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap();
                let (mut ok, mut failed) = (0usize, Vec::new());
                for n in 0.. {
                    let id = format!("load-{t}-{n}");
                    match c
                        .get(format!("{base}/api/v1/tasks"))
                        .basic_auth("s1@a.fr", Some("password-s1"))
                        .header("x-request-id", &id)
                        .send()
                    {
                        Ok(r) if r.status() == 200 => ok += 1,
                        Ok(r) => failed.push((id, format!("HTTP {}", r.status()))),
                        // Refused at connection: the server no longer accepts.
                        Err(e) if e.is_connect() => break,
                        Err(e) => {
                            failed.push((id, format!("{e:?}")));
                            // The listener may be gone: the next connection tells.
                        }
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(600));
    let status = app.terminate(Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        app.server_log()
    );
    let log = app.server_log();
    let mut served = 0;
    for t in load {
        let (ok, failed) = t.join().unwrap();
        // A failure is allowed only for a request the server never read.
        for (id, e) in &failed {
            assert!(
                !log.contains(&format!("request_id={id} ")),
                "{id} reached the server and failed: {e}"
            );
        }
        assert!(failed.len() <= 4, "{failed:?}");
        served += ok;
    }
    assert!(served > 10, "the load ran: {served} requests");
    let (code, body) = slow.join().unwrap().expect("the slow upload completed");
    assert_eq!(code, 200, "{body}");
    let id: i64 = body
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an id: {body}"));
    assert!(
        log.contains("job worker stopped") && log.contains("stopped"),
        "{log}"
    );
    // Acknowledged, hence kept.
    app.restart();
    assert_eq!(
        app.as_user("depot@a.fr").states(id),
        ["Préparé", "Envoyé pour signature"]
    );
}
