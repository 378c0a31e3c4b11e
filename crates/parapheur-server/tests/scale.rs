//! Scale-out: documents in an S3-compatible bucket (moto, installed by `scripts/test.sh`), and
//! two `parapheur serve` instances on one PostgreSQL database and one bucket — concurrent
//! signatures of one document give exactly one transition, a transmission to Helios happens
//! once, every notification is sent once, and everything is readable from both instances.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::{parse_eml, wait_for};
use parapheur_test_utils::{S3Server, SIREN_A, TestApp, pdf, pes_aller};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";

fn s3_app(s3: &S3Server, extra_config: &str, provisioning: &str) -> TestApp {
    TestApp::start_env(
        BIN,
        &format!(
            "blob_url = \"s3://{}/documents\"\n{extra_config}",
            s3.bucket
        ),
        provisioning,
        &[],
        &s3.env(),
    )
}

#[test]
fn documents_live_in_the_s3_bucket() {
    let s3 = S3Server::start("parapheur-blobs");
    // The orphan sweep runs every second for objects older than two seconds (see the end).
    let app = s3_app(
        &s3,
        "[retention]\ncheck_interval_s = 1\norphan_blob_age_s = 2\norphan_sweep_interval_s = 1\n",
        "",
    );
    let c = app.as_user("depot@a.fr");
    let original = pdf::sample("Convention S3", 2, 20_000);
    let id = c
        .upload(SIREN_A, "S", "convention.pdf", original.clone(), "")
        .id();
    let keys = s3.keys("documents/");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("documents/") && keys[0].len() == "documents/".len() + 33);
    assert!(s3.object(&keys[0]) == original, "stored byte for byte");
    assert_eq!(app.blob_count(), 0, "nothing in the local blob directory");

    // Signing reads the document from the bucket and writes the signed one there.
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    assert!(signed.starts_with(&original) && signed.len() > original.len());
    let keys = s3.keys("documents/");
    assert!(
        keys.iter().any(|k| s3.object(k) == signed),
        "the signed revision is in the bucket: {keys:?}"
    );
    // A deleted document leaves the bucket.
    let before = s3.keys("documents/").len();
    let gone = c
        .upload(SIREN_A, "S", "brouillon.pdf", pdf::small("brouillon"), "")
        .id();
    assert_eq!(s3.keys("documents/").len(), before + 1);
    assert_eq!(c.delete(&format!("{V1}/documents/v2/{gone}")).status, 200);
    assert_eq!(s3.keys("documents/").len(), before);
    assert_eq!(c.get("/healthz").status, 200);

    // An object no row refers to (a crash between a commit and a deletion) is swept once old
    // enough; the documents' objects, older still, stay; what is not a blob key is not touched.
    let kept = s3.keys("documents/");
    s3.put(
        "documents/ab/0123456789abcdef0123456789abcd",
        "left by a crash",
    );
    s3.put("documents/LISEZMOI.txt", "not a blob");
    wait_for(Duration::from_secs(30), "the sweep", || {
        (!s3.keys("documents/ab/").iter().any(|k| k.ends_with("abcd"))).then_some(())
    });
    let now = s3.keys("documents/");
    for k in &kept {
        assert!(now.contains(k), "{k} was referenced: {now:?}");
    }
    assert!(now.iter().any(|k| k == "documents/LISEZMOI.txt"), "{now:?}");
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{id}/download")).body,
        signed
    );
}

const ARCHIVE: &str = r#"
[[circuits]]
siren = "200000001"
id = "ARCH"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "serverSignature" }, { step = "archive" } ]
"#;

#[test]
fn archives_go_to_the_s3_vault_with_a_matching_manifest() {
    let s3 = S3Server::start("parapheur-vault");
    let app = s3_app(
        &s3,
        &format!("[archive]\nvault_url = \"s3://{}/vault\"\n", s3.bucket),
        ARCHIVE,
    );
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "ARCH", "arrete.pdf", pdf::small("Arrêté"), "")
        .id();
    wait_for(Duration::from_secs(20), "the archive", || {
        c.states(id).iter().any(|s| s == "Classé").then_some(())
    });
    assert!(c.states(id).iter().any(|s| s == "Archivé"));
    let prefix = format!("vault/{SIREN_A}/{id}/");
    let keys = s3.keys(&prefix);
    let manifest: serde_json::Value =
        serde_json::from_slice(&s3.object(&format!("{prefix}manifest.json"))).unwrap();
    assert_eq!(manifest["documentId"], id);
    let files = manifest["files"].as_array().unwrap();
    assert!(files.len() >= 3, "{manifest}");
    for f in files {
        let key = format!("{prefix}{}", f["path"].as_str().unwrap());
        assert!(keys.contains(&key), "{key} in {keys:?}");
        let bytes = s3.object(&key);
        assert_eq!(
            f["sha256"],
            hex::encode(openssl::sha::sha256(&bytes)),
            "{key}"
        );
        assert_eq!(f["size"], bytes.len());
    }
    let signed = c.get(&format!("{V1}/documents/v2/{id}/download")).body;
    assert!(s3.object(&format!("{prefix}document/arrete.pdf")) == signed);
    assert!(
        !app.data_dir().join("vault").exists(),
        "nothing in the local vault directory"
    );
}

#[test]
fn an_unreachable_bucket_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("parapheur.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nblob_url = \"s3://nowhere/x\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ENDPOINT", "http://127.0.0.1:9")
        .env("AWS_ALLOW_HTTP", "true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the S3 bucket does not answer"), "{err}");
}

const HELIOS: &str = parapheur_test_utils::HELIOS_CIRCUIT;

/// Whether this is the suite's PostgreSQL pass; two instances need one database server (says
/// why on stderr when not).
fn on_postgresql() -> bool {
    let on = std::env::var("PARAPHEUR_TEST_SERVER_DATABASE_URL").is_ok();
    if !on {
        eprintln!(
            "two instances need PostgreSQL: this test runs in the PostgreSQL pass of scripts/test.sh \
             (PARAPHEUR_TEST_SERVER_DATABASE_URL), which CI always runs"
        );
    }
    on
}

#[test]
fn two_instances_on_one_postgresql_and_one_bucket() {
    if !on_postgresql() {
        return;
    }
    let s3 = S3Server::start("parapheur-shared");
    let a = s3_app(
        &s3,
        "[jobs]\npoll_ms = 50\nretry_base_ms = 100\n[helios]\npoll_ms = 50\nsimulator_ack_delay_ms = 200\n",
        HELIOS,
    );
    let b = a.another_instance();
    let (depot_a, depot_b) = (
        a.as_user("depot@a.fr"),
        b.client("depot@a.fr", "password-depot"),
    );

    // The portal's login throttle is shared: five failures on one, the sixth try on the other
    // is paused.
    let try_login = |base: &str, password: &str| {
        let b = parapheur_test_utils::browser::Browser::new(base);
        let p = b.get("/parapheur/login");
        b.post_form(
            "/parapheur/login",
            &[
                ("csrf", &p.csrf()),
                ("email", "v2@a.fr"),
                ("password", password),
                ("next", "/parapheur/"),
            ],
        )
        .status
    };
    for _ in 0..5 {
        assert_eq!(try_login(&a.base, "wrong"), 401);
    }
    assert_eq!(try_login(&b.base, "password-v2"), 429);

    // Deposited on one, visible on the other.
    let id = depot_a
        .upload(SIREN_A, "S", "arrete.pdf", pdf::small("Arrêté"), "")
        .id();
    assert_eq!(depot_b.states(id), ["Préparé", "Envoyé pour signature"]);

    // Eight concurrent signatures of the same document, half on each instance: one wins.
    let results: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let base = if i % 2 == 0 {
                    a.base.clone()
                } else {
                    b.base.clone()
                };
                scope.spawn(move || {
                    parapheur_test_utils::Client::new(
                        &base,
                        Some(("s1@a.fr".into(), "password-s1".into())),
                    )
                    .act(id, "sign", None)
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|s| **s == 200).count(),
        1,
        "{results:?}"
    );
    assert!(
        results.iter().all(|s| *s == 200 || *s == 409),
        "{results:?}\n{}",
        a.server_logs()
    );
    // The other instance sees the transition within its history cache delay (1 s).
    let states = wait_for(Duration::from_secs(5), "the signature seen from B", || {
        let s = depot_b.states(id);
        s.iter().any(|x| x == "Signé").then_some(s)
    });
    assert_eq!(
        states.iter().filter(|s| *s == "Signé").count(),
        1,
        "{states:?}"
    );
    let from_a = depot_a
        .get(&format!("{V1}/documents/v2/{id}/download"))
        .body;
    let from_b = depot_b
        .get(&format!("{V1}/documents/v2/{id}/download"))
        .body;
    assert!(from_a == from_b, "both instances serve the same bytes");
    assert_eq!(
        from_a.windows(10).filter(|w| w == b"/ByteRange").count(),
        1,
        "exactly one signature in the PDF"
    );

    // A signed PES is transmitted once although both instances run the job worker.
    let pes = depot_b
        .upload(
            SIREN_A,
            "PESAVEC",
            "mandats.xml",
            pes_aller("PESALR2_TWO_INSTANCES"),
            "",
        )
        .id();
    assert_eq!(a.as_user("s1@a.fr").act(pes, "sign", None).status, 200);
    let states = wait_for(Duration::from_secs(30), "the acknowledgement", || {
        let s = depot_a.states(pes);
        s.iter().any(|x| x == "Classé").then_some(s)
    });
    for once in [
        "En cours d'envoi",
        "Envoyé à FAST",
        "Transmis à Hélios",
        "Acquittance Hélios",
    ] {
        assert_eq!(
            states.iter().filter(|s| *s == once).count(),
            1,
            "{once}: {states:?}"
        );
    }

    // Every notification is sent once: ten deposits, alternating instances, each announced to
    // the first visa member by exactly one e-mail.
    let ids: Vec<i64> = (0..10)
        .map(|i| {
            let c = if i % 2 == 0 { &depot_a } else { &depot_b };
            c.upload(
                SIREN_A,
                "VVS",
                &format!("lot-{i}.pdf"),
                pdf::small("lot"),
                "",
            )
            .id()
        })
        .collect();
    let mail_dir = a.data_dir().join("outbox/mail");
    let to_v1 = || -> Vec<String> {
        std::fs::read_dir(&mail_dir)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .filter(|m| m.contains("To: v1@a.fr"))
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_for(Duration::from_secs(30), "the ten e-mails", || {
        (to_v1().len() >= ids.len()).then_some(())
    });
    // Every job delivered or given up: a duplicate would be in the outbox by now.
    a.settle_jobs();
    let mails = to_v1();
    let mut announced: Vec<i64> = mails
        .iter()
        .map(|raw| {
            let text = parse_eml(raw)["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            text.split("documentid=")
                .nth(1)
                .and_then(|t| {
                    t.split(|c: char| !c.is_ascii_digit())
                        .next()
                        .and_then(|n| n.parse().ok())
                })
                .unwrap_or_else(|| panic!("no document link in {text}"))
        })
        .collect();
    announced.sort_unstable();
    assert_eq!(announced, ids, "one e-mail per document, none twice");
}

/// Issue 22: two instances on one PostgreSQL database and one bucket under a mixed load
/// (deposits on both, signatures, history reads), and `kill -9` of one mid-run. Every
/// acknowledged deposit downloads with its bytes and every acknowledged signature is in the
/// history once, from the survivor; the jobs the dead instance had claimed are finished by the
/// survivor once their lease ends; every deposit is announced by e-mail (a real SMTP server)
/// exactly once, a second copy being allowed only for a job the dead instance had claimed (the
/// at-least-once window of docs/deployment.md).
#[test]
fn kill_9_of_one_instance_under_load_loses_nothing_and_sends_nothing_twice() {
    use parapheur_test_utils::browser::{SmtpSink, reserved_port};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    if !on_postgresql() {
        return;
    }
    let s3 = S3Server::start("parapheur-kill9");
    let port = reserved_port();
    let sink_dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start(port, sink_dir.path(), 0);
    const LEASE_MS: u64 = 3000;
    let a = s3_app(
        &s3,
        &format!(
            "[jobs]\npoll_ms = 50\nretry_base_ms = 100\nlease_ms = {LEASE_MS}\n\
             [mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\n\
             from = \"parapheur@commune.fr\"\n"
        ),
        "",
    );
    let mut b = a.another_instance();
    let bases = [a.base.clone(), b.base.clone()];

    // A client that reports a dead instance instead of panicking.
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    type Acked = Arc<Mutex<Vec<(i64, String, Vec<u8>)>>>;
    let deposits: Acked = Arc::default();
    let signed: Arc<Mutex<Vec<i64>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (http, bases, deposits, stop) =
            (http.clone(), bases.clone(), deposits.clone(), stop.clone());
        workers.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let base = &bases[(w + n) % 2];
                let name = format!("k9-{w}-{n}.pdf");
                let bytes = pdf::small(&name);
                let form = reqwest::blocking::multipart::Form::new().part(
                    "doc",
                    reqwest::blocking::multipart::Part::bytes(bytes.clone())
                        .file_name(name.clone()),
                );
                let r = http
                    .post(format!("{base}{V1}/documents/v2/{SIREN_A}/VVS/upload"))
                    .basic_auth("depot@a.fr", Some("password-depot"))
                    .multipart(form)
                    .send()
                    .and_then(|r| r.error_for_status())
                    .and_then(|r| r.text());
                if let Ok(t) = r
                    && let Ok(id) = t.trim().parse::<i64>()
                {
                    deposits.lock().unwrap().push((id, name, bytes));
                }
            }
        }));
    }
    // Signatures (circuit S, one signatory) alternating between the instances.
    {
        let (http, bases, signed, stop) =
            (http.clone(), bases.clone(), signed.clone(), stop.clone());
        let depot = a.as_user("depot@a.fr");
        workers.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id = depot
                    .upload(SIREN_A, "S", &format!("s-{n}.pdf"), pdf::small("s"), "")
                    .id();
                let r = http
                    .post(format!("{}/api/v1/documents/{id}/sign", bases[n % 2]))
                    .basic_auth("s1@a.fr", Some("password-s1"))
                    .send();
                if r.is_ok_and(|r| r.status() == 200) {
                    signed.lock().unwrap().push(id);
                }
            }
        }));
    }
    // History reads on both; the survivor (`bases[0]`) must answer every one.
    {
        let (http, bases, stop) = (http.clone(), bases.clone(), stop.clone());
        workers.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let r = http
                    .get(format!("{}{V1}/documents/v2/1/history", bases[n % 2]))
                    .basic_auth("depot@a.fr", Some("password-depot"))
                    .send();
                if n % 2 == 0 {
                    assert!(r.is_ok(), "the survivor failed a read");
                }
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(2500));
    let before_kill = deposits.lock().unwrap().len();
    b.kill9();
    std::thread::sleep(Duration::from_millis(2500));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let deposits = deposits.lock().unwrap().clone();
    let signed = signed.lock().unwrap().clone();
    assert!(
        before_kill >= 4 && deposits.len() > before_kill,
        "deposits before the kill: {before_kill}, in all: {}",
        deposits.len()
    );
    assert!(!signed.is_empty(), "no signature acknowledged");

    // Nothing acknowledged is lost, whichever instance acknowledged it.
    let depot = a.as_user("depot@a.fr");
    for (id, name, bytes) in &deposits {
        let got = depot.get(&format!("{V1}/documents/v2/{id}/download"));
        assert_eq!(got.status, 200, "{name} ({id})");
        assert!(got.body == *bytes, "{name} ({id}): other bytes");
    }
    for id in &signed {
        let states = depot.states(*id);
        assert_eq!(
            states.iter().filter(|s| *s == "Signé").count(),
            1,
            "{id}: {states:?}"
        );
    }

    // The dead instance's claimed jobs are taken over once their lease ends.
    let unfinished = || {
        a.query("SELECT COUNT(*) FROM jobs WHERE status = 'pending'")
            .trim()
            .to_owned()
    };
    let waited = std::time::Instant::now();
    wait_for(
        Duration::from_millis(LEASE_MS * 5),
        "every job finished by the survivor",
        || (unfinished() == "0").then_some(()),
    );
    eprintln!(
        "jobs finished {} ms after the kill's end of load (lease {LEASE_MS} ms)",
        waited.elapsed().as_millis()
    );
    // Taken over: jobs attempted more than once (claimed by the dead instance first).
    let retried: i64 = a
        .query("SELECT COUNT(*) FROM jobs WHERE attempts > 1")
        .trim()
        .parse()
        .unwrap();

    // One announcement per deposit to v1 (the first visa member), a second one only within the
    // at-least-once window (at most one per job taken over).
    let mut per_file = std::collections::HashMap::<String, usize>::new();
    for m in sink.received() {
        if m.envelope_to != ["v1@a.fr"] {
            continue;
        }
        let subject = parse_eml(&m.raw)["subject"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if let Some(name) = subject.strip_prefix("Document à viser : ") {
            *per_file.entry(name.to_owned()).or_default() += 1;
        }
    }
    for (_, name, _) in &deposits {
        assert!(
            per_file.get(name).copied().unwrap_or(0) >= 1,
            "{name} was never announced"
        );
    }
    let twice: usize = per_file.values().map(|n| n.saturating_sub(1)).sum();
    assert!(
        per_file.values().all(|n| *n <= 2) && i64::try_from(twice).unwrap() <= retried,
        "{twice} duplicate announcements for {retried} jobs taken over: {per_file:?}"
    );
    eprintln!(
        "{} deposits ({before_kill} before the kill), {} signatures, {retried} jobs taken over, \
         {twice} announcements sent twice",
        deposits.len(),
        signed.len()
    );
}
