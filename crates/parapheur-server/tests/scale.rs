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

#[test]
fn two_instances_on_one_postgresql_and_one_bucket() {
    if std::env::var("PARAPHEUR_TEST_SERVER_DATABASE_URL").is_err() {
        eprintln!(
            "two instances need PostgreSQL: this test runs in the PostgreSQL pass of scripts/test.sh \
             (PARAPHEUR_TEST_SERVER_DATABASE_URL), which CI always runs"
        );
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
