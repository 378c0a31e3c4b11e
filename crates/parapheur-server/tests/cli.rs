//! The command line of CONTRACT §1: gen-config, provision (idempotent, one-line errors), and
//! the demo whose printed `curl` example must work as printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

#[test]
fn gen_config_output_is_a_valid_configuration() {
    let out = Command::new(BIN).arg("gen-config").output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("p.toml");
    std::fs::write(&cfg, &out.stdout).unwrap();
    let prov = dir.path().join("empty.toml");
    std::fs::write(&prov, "").unwrap();
    let st = Command::new(BIN)
        .current_dir(dir.path())
        .args([
            "provision",
            prov.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    assert!(dir.path().join("data/parapheur.db").exists());
}

#[test]
fn provision_is_idempotent_and_errors_name_file_key_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("data_dir = \"{}\"\n", dir.path().join("data").display()),
    )
    .unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, parapheur_test_utils::PROVISIONING).unwrap();
    for _ in 0..2 {
        let o = Command::new(BIN)
            .args([
                "provision",
                good.to_str().unwrap(),
                "--config",
                cfg.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let cases = [
        (
            "[[users]]\nemail = \"pas-un-email\"\npassword = \"12345678\"\n",
            "users[0].email",
        ),
        (
            "[[circuits]]\nsiren = \"200000001\"\nid = \"X\"\ntype = \"PDF\"\nsteps = [{step = \"visa\", members = [\"v1@a.fr\"]}]\n",
            "circuits[0].type",
        ),
        (
            "[[circuits]]\nsiren = \"200000001\"\nid = \"X\"\ntype = \"BUREAUTIQUE_PDF\"\nsteps = [{step = \"visa\", members = [\"ghost@a.fr\"]}]\n",
            "circuits[0].steps[0].members",
        ),
        (
            "[[subscribers]]\nsiren = \"12\"\nname = \"x\"\n",
            "subscribers[0].siren",
        ),
        (
            "[[users]]\nemail = \"x@y.fr\"\nunknown_key = 1\n",
            "unknown_key",
        ),
    ];
    for (text, key) in cases {
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, text).unwrap();
        let o = Command::new(BIN)
            .args([
                "provision",
                f.to_str().unwrap(),
                "--config",
                cfg.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(!o.status.success(), "{text}");
        let err = String::from_utf8_lossy(&o.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {err}");
        assert!(
            lines[0].contains("bad.toml") && lines[0].contains(key),
            "{err}"
        );
    }
    let o = Command::new(BIN)
        .args(["serve", "--config", "/nonexistent/p.toml"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/p.toml"));
    let bad_cfg = dir.path().join("badcfg.toml");
    std::fs::write(&bad_cfg, "listen = 12\n").unwrap();
    let o = Command::new(BIN)
        .args(["serve", "--config", bad_cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("badcfg.toml") && err.contains("listen"),
        "{err}"
    );
}

#[test]
fn demo_prints_a_curl_example_that_works_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("demo"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        let done = l.starts_with("listening on");
        printed.push(l);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let script: Vec<&str> = printed
        .iter()
        .skip_while(|l| !l.starts_with("Try it"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim())
        .filter(|l| l.starts_with("ID=") || l.starts_with("curl"))
        .collect();
    assert_eq!(script.len(), 6, "{printed:#?}");
    let out = Command::new("bash")
        .arg("-c")
        .arg(script.join("\n"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("document "), "{stdout}");
    for state in ["Préparé", "Visa approuvé", "Signé", "Classé"] {
        assert!(
            stdout.contains(&format!("\"stateName\":\"{state}\"")),
            "{state}: {stdout}"
        );
    }
    let saved: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("signed-"))
        .collect();
    assert_eq!(saved.len(), 1, "{stdout}");
    let signed = std::fs::read(saved[0].path()).unwrap();
    // The CA as the demo's output says where to get it (its state is in the database).
    let base = printed
        .last()
        .and_then(|l| l.strip_prefix("listening on "))
        .unwrap()
        .trim()
        .to_owned();
    let ca = parapheur_test_utils::Client::new(&base, None)
        .get("/api/v1/pki/ca.pem")
        .body;
    assert!(
        printed.iter().any(|l| l.contains("/api/v1/pki/ca.pem")),
        "{printed:#?}"
    );
    let (n, report) = parapheur_test_utils::pyhanko_valid(&signed, &ca);
    assert_eq!(n, 1, "{report}");
    // Timestamped (PAdES B-T) by the built-in authority, whose root is the same CA.
    let anchor = openssl::x509::X509::from_pem(&ca).unwrap();
    let mut ctx = parapheur_sign::policy::ValidationContext::new(vec![anchor.clone()]);
    ctx.tsa_anchors = vec![anchor];
    let ours = parapheur_sign::verify::verify_pdf(&signed, &ctx).unwrap();
    assert!(ours.valid && ours.signatures[0].timestamped, "{ours:?}");
    // The OTP example deposits and gives the signing page.
    let otp: Vec<&str> = printed
        .iter()
        .skip_while(|l| !l.starts_with("OTP signing loop"))
        .map(|l| l.trim())
        .filter(|l| l.starts_with("curl"))
        .collect();
    assert_eq!(otp.len(), 1, "{printed:#?}");
    let out = Command::new("bash")
        .arg("-c")
        .arg(otp[0])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let page = reqwest::blocking::get(v["url"].as_str().unwrap()).unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("Camille Exemple"));
    // Messages land under --data-dir, not in the working directory.
    let mail = dir.path().join("demo/outbox/mail");
    parapheur_test_utils::browser::wait_for(
        std::time::Duration::from_secs(10),
        "the demo's e-mails",
        || (std::fs::read_dir(&mail).ok()?.count() > 0).then_some(()),
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Issue 21: `check-config` prints the effective configuration with its secrets redacted,
/// checks the files it names and applies the provisioning to a throwaway database (nothing
/// written in `data_dir`); errors name the key or the file and exit non-zero.
#[test]
fn check_config_reports_the_effective_configuration_and_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let prov = dir.path().join("provision.toml");
    std::fs::write(&prov, parapheur_test_utils::PROVISIONING).unwrap();
    let anchors = dir.path().join("anchors.pem");
    let ca = parapheur_sign::ca::InternalCa::open_or_create(&dir.path().join("ca"), "AC").unwrap();
    std::fs::write(&anchors, ca.certificate().to_pem().unwrap()).unwrap();
    let config = |extra: &str| {
        let p = dir.path().join("parapheur.toml");
        std::fs::write(
            &p,
            format!(
                "data_dir = \"{}\"\nprovision = \"{}\"\nlog_format = \"json\"\n\
                 [mail]\ntransport = \"smtp\"\nsmtp_url = \"smtp://127.0.0.1:2525\"\n\
                 smtp_user = \"robot\"\nsmtp_password = \"mot-de-passe-secret\"\n\
                 [signing]\ntrust_anchors = \"{}\"\n{extra}",
                data.display(),
                prov.display(),
                anchors.display()
            ),
        )
        .unwrap();
        let out = Command::new(BIN)
            .args(["check-config", "--config"])
            .arg(&p)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, out) = config("");
    assert!(ok, "{out}");
    assert!(out.contains("configuration OK"), "{out}");
    assert!(out.contains("log_format: Json"), "{out}");
    assert!(
        !out.contains("mot-de-passe-secret"),
        "a secret printed: {out}"
    );
    assert!(
        out.contains("ok      signing.trust_anchors: 1 certificate(s)"),
        "{out}"
    );
    assert!(
        out.contains("ok      provision:") && out.contains("user(s)"),
        "{out}"
    );
    assert!(
        !data.join("parapheur.db").exists(),
        "nothing written in data_dir"
    );

    // A provisioning that `provision` would refuse: a circuit member who is no user.
    std::fs::write(
        &prov,
        format!(
            "{}\n[[circuits]]\nsiren = \"200000001\"\nid = \"FAUX\"\ntype = \"BUREAUTIQUE_PDF\"\n\
             steps = [ {{ step = \"signature\", members = [\"personne@nulle-part.fr\"] }} ]\n",
            parapheur_test_utils::PROVISIONING
        ),
    )
    .unwrap();
    let (ok, out) = config("");
    assert!(!ok, "{out}");
    assert!(
        out.contains("ERROR   provision:") && out.contains("personne@nulle-part.fr"),
        "{out}"
    );
    // A trusted list that is not one, a missing TLS key.
    std::fs::write(&prov, parapheur_test_utils::PROVISIONING).unwrap();
    let tl = dir.path().join("tl.xml");
    std::fs::write(&tl, "<html/>").unwrap();
    let (ok, out) = config(&format!("trusted_list = \"{}\"\n", tl.display()));
    assert!(!ok, "{out}");
    assert!(
        out.contains("ERROR   signing.trusted_list:") && out.contains("tl.xml"),
        "{out}"
    );
    // A key that does not parse stops before any check, naming it.
    let (ok, out) = config("level = \"B-Z\"\n");
    assert!(!ok && out.contains("signing.level"), "{out}");
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

/// Issue 21: the restore drill. A backup taken while the server runs, the data directory lost,
/// the backup restored into it: every document downloads with the same SHA-256, every history
/// is the same, the annexes and the internal CA too; a restore never writes over data, and a
/// backup never goes into a directory that holds something. One document of the base was
/// purged by the retention (its row names no file any more): the backup and the restore keep
/// it as it is, history without content.
#[test]
fn the_restore_drill_gives_back_every_document_and_history() {
    use parapheur_test_utils::{Part, SIREN_A, TestApp, pdf};
    const V1: &str = "/parapheur-ws/rest/v1";
    let mut app = TestApp::start_process(
        BIN,
        "[retention]\npurge_after_days = 1\ncheck_interval_s = 1\n",
        "",
        &[],
    );
    let depot = app.as_user("depot@a.fr");
    let purged = depot
        .upload(SIREN_A, "S", "ancien.pdf", pdf::small("ancien"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(purged, "sign", None).status, 200);
    app.sql(&format!(
        "UPDATE documents SET updated_at = 0 WHERE id = {purged}"
    ));
    parapheur_test_utils::browser::wait_for(
        std::time::Duration::from_secs(10),
        "the purge",
        || {
            let r = depot.get(&format!("{V1}/documents/v2/{purged}/download"));
            (r.error_code() == Some(127)).then_some(())
        },
    );
    let mut ids: Vec<i64> = (0..3)
        .map(|i| {
            depot
                .upload(
                    SIREN_A,
                    "S",
                    &format!("acte-{i}.pdf"),
                    pdf::small(&format!("acte {i}")),
                    "",
                )
                .id()
        })
        .collect();
    ids.push(purged);
    assert_eq!(app.as_user("s1@a.fr").act(ids[0], "sign", None).status, 200);
    let r = depot.multipart(
        reqwest::Method::POST,
        &format!("/api/v1/documents/{}/annexes", ids[1]),
        vec![Part::File(
            "file",
            "annexe.pdf".into(),
            pdf::small("annexe"),
        )],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let state = |app: &TestApp| -> Vec<(String, String, String)> {
        let c = app.as_user("depot@a.fr");
        ids.iter()
            .map(|id| {
                let download = c.get(&format!("{V1}/documents/v2/{id}/download"));
                (
                    // The purged document answers its FAST error (whose body holds the time).
                    match download.error_code() {
                        Some(code) => format!("error {code}"),
                        None => sha256_hex(&download.body),
                    },
                    c.get(&format!("{V1}/documents/v2/{id}/history")).text(),
                    c.get(&format!("/api/v1/documents/{id}/annexes")).text(),
                )
            })
            .collect()
    };
    let before = state(&app);
    let ca = |app: &TestApp| {
        parapheur_test_utils::Client::new(&app.base, None)
            .get("/api/v1/pki/ca.pem")
            .body
    };
    let ca_before = ca(&app);
    let config = app.dir.path().join("parapheur.toml");
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("sauvegarde");
    let backup = backup.to_str().unwrap();
    // Taken while the server runs. On PostgreSQL (the second pass of scripts/test.sh) the
    // command says what to use instead, and the drill is the SQLite pass's.
    let (ok, out) = run(&["backup", backup]);
    if std::env::var_os("PARAPHEUR_TEST_SERVER_DATABASE_URL").is_some() {
        assert!(!ok && out.contains("for PostgreSQL use pg_dump"), "{out}");
        return;
    }
    assert!(ok, "{out}");
    assert!(out.contains("4 document(s)"), "{out}");
    let (ok, out) = run(&["backup", backup]);
    assert!(!ok && out.contains("not empty"), "{out}");
    // A restore never writes over data.
    let (ok, out) = run(&["restore", backup]);
    assert!(!ok && out.contains("never writes over data"), "{out}");

    // The data directory is lost; the backup is restored into it.
    app.kill9();
    std::fs::remove_dir_all(app.data_dir()).unwrap();
    let (ok, out) = run(&["restore", backup]);
    assert!(ok, "{out}");
    assert!(out.contains("4 document(s)"), "{out}");
    app.restart();
    assert_eq!(state(&app), before);
    assert_eq!(ca(&app), ca_before);
    // And it works on: the second document can still be signed.
    assert_eq!(app.as_user("s1@a.fr").act(ids[1], "sign", None).status, 200);
}
