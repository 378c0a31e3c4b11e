//! Helios circuits: PES checks at deposit, transmission of signed PES through the simulator and
//! through the S²LOW connector (against a local HTTPS fake requiring a client certificate), the
//! acknowledgement, and the return flows listed and downloaded per subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::browser::wait_for;
use parapheur_test_utils::{Client, Part, SIREN_A, SIREN_B, TestApp, pes_aller, unzip};
use reqwest::Method;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");
const V1: &str = "/parapheur-ws/rest/v1";
const PROVISION: &str = parapheur_test_utils::HELIOS_CIRCUIT;
const FAST: &str = "[jobs]\npoll_ms = 50\nretry_base_ms = 100\nretry_max_ms = 300\n";

fn start(helios: &str) -> TestApp {
    TestApp::start_with(
        BIN,
        &format!("{FAST}[helios]\npoll_ms = 50\n{helios}"),
        PROVISION,
        &[],
    )
}

fn wait_state(c: &Client, id: i64, state: &str) -> Vec<String> {
    wait_for(Duration::from_secs(20), state, || {
        let s = c.states(id);
        s.iter().any(|x| x == state).then_some(s)
    })
}

#[test]
fn a_signed_pes_is_transmitted_acknowledged_and_its_acknowledgement_fetched_once() {
    let app = start("simulator_ack_delay_ms = 400\n");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(
            SIREN_A,
            "PESAVEC",
            "mandats.xml",
            pes_aller("PESALR2_AVEC_1"),
            "",
        )
        .id();
    assert_eq!(c.states(id), ["Préparé", "Envoyé pour signature"]);
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let states = wait_state(&c, id, "Classé");
    assert_eq!(
        states,
        [
            "Préparé",
            "Envoyé pour signature",
            "Signé",
            "En cours d'envoi",
            "Envoyé à FAST",
            "Transmis à Hélios",
            "Acquittance Hélios",
            "Classé"
        ]
    );
    let remaining = format!("{V1}/documents/v2/{SIREN_A}/ack/remaining");
    assert_eq!(c.get(&remaining).json(), serde_json::json!([id]));
    // Another subscriber sees neither the list nor the acknowledgement.
    let b = app.as_user("depot@b.fr");
    assert_eq!(b.get(&remaining).error_code(), Some(100));
    assert_eq!(
        b.get(&format!("{V1}/documents/v2/{id}/ack/download"))
            .error_code(),
        Some(103)
    );
    assert_eq!(
        b.get(&format!("{V1}/documents/v2/{SIREN_B}/ack/remaining"))
            .json(),
        serde_json::json!([])
    );
    // With the acknowledgement: a ZIP of the signed PES and the PES_Acquit.
    let zip = c.get(&format!("{V1}/documents/v2/{id}/download?acquit=true"));
    let files = unzip(&zip.body);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["mandats.xml", "mandats-acquit.xml"]);
    assert!(String::from_utf8_lossy(&files[0].1).contains("ds:SignatureValue"));
    let ack = c.get(&format!("{V1}/documents/v2/{id}/ack/download"));
    assert_eq!(ack.status, 200);
    let text = ack.text();
    assert!(
        text.contains("<PES_ACQUIT>") && text.contains("PESALR2_AVEC_1"),
        "{text}"
    );
    assert_eq!(ack.body, files[1].1);
    assert_eq!(
        c.get(&remaining).json(),
        serde_json::json!([]),
        "fetched once"
    );
}

#[test]
fn a_failed_send_is_recorded_and_retried_until_it_succeeds() {
    let app = start("simulator_ack_delay_ms = 200\nsimulator_fail_percent = 50\n");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "PESAVEC", "r.xml", pes_aller("PESALR2_RETRY"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    let states = wait_state(&c, id, "Classé");
    assert_eq!(
        states,
        [
            "Préparé",
            "Envoyé pour signature",
            "Signé",
            "En cours d'envoi",
            "Échec de l'envoi à FAST",
            "En cours d'envoi",
            "Envoyé à FAST",
            "Transmis à Hélios",
            "Acquittance Hélios",
            "Classé"
        ]
    );
    let h = c.get(&format!("{V1}/documents/v2/{id}/history")).json();
    assert!(h[4]["userFullname"] == "");
}

#[test]
fn sans_teletransmission_never_transmits_and_nomfic_is_unique() {
    let app = start("");
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "PES", "sans.xml", pes_aller("PESALR2_SANS"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    assert_eq!(
        c.states(id),
        ["Préparé", "Envoyé pour signature", "Signé", "Classé"]
    );
    app.run_pending_jobs();
    assert_eq!(c.states(id).len(), 4);
    assert_eq!(
        c.get(&format!("{V1}/documents/v2/{SIREN_A}/ack/remaining"))
            .json(),
        serde_json::json!([])
    );
    // The same NomFic again, under another file name and label: refused, whatever the circuit.
    for circuit in ["PES", "PESAVEC"] {
        let r = c.upload(
            SIREN_A,
            circuit,
            "autre.xml",
            pes_aller("PESALR2_SANS"),
            "x",
        );
        assert_eq!(r.error_code(), Some(126), "{}", r.text());
    }
    // Another subscriber may use the same name.
    let r = app.as_user("depot@b.fr").upload(
        SIREN_B,
        "VV",
        "b.pdf",
        parapheur_test_utils::pdf::small("b"),
        "",
    );
    assert_eq!(r.status, 200);
    // What is not a PES_Aller is refused before anything is stored.
    let blobs = app.blob_count();
    for bad in [
        b"<?xml version=\"1.0\"?><PES_Retour><Enveloppe/></PES_Retour>".to_vec(),
        b"<?xml version=\"1.0\"?><n:PES_Aller xmlns:n=\"x\"><Enveloppe><Parametres><NomFic V=\"A\"/></Parametres></Enveloppe><EnTetePES/></n:PES_Aller>".to_vec(),
        b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><PES_Aller>&e;</PES_Aller>".to_vec(),
    ] {
        let r = c.upload(SIREN_A, "PES", "bad.xml", bad, "");
        assert_eq!(r.error_code(), Some(108), "{}", r.text());
    }
    assert_eq!(app.blob_count(), blobs);
}

fn inbound(
    c: &Client,
    kind: &str,
    name: &str,
    xml: &str,
    document: Option<i64>,
) -> parapheur_test_utils::Resp {
    let mut parts = vec![Part::File("file", name.into(), xml.as_bytes().to_vec())];
    if let Some(d) = document {
        parts.push(Part::Text("document_id", d.to_string()));
    }
    c.multipart(
        Method::POST,
        &format!("/api/v1/subscribers/{SIREN_A}/inbound/{kind}"),
        parts,
    )
}

#[test]
fn inbound_return_flows_are_listed_and_downloaded_per_subscriber() {
    let app = start("simulator_ack_delay_ms = 600000\n");
    let admin = app.as_user("admin@a.fr");
    let depot = app.as_user("depot@a.fr");
    let retour = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><PES_Retour><Enveloppe/></PES_Retour>";
    let chorus = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CPPFactureNotification/>";
    // Only an administrator of the subscriber records flows.
    let r = inbound(&depot, "pes-retour", "r.xml", retour, None);
    assert_eq!((r.status, r.error_code()), (403, Some(100)));
    assert_eq!(inbound(&admin, "other", "r.xml", retour, None).status, 400);
    assert_eq!(
        inbound(&admin, "pes-retour", "r.xml", "<not xml", None).error_code(),
        Some(108)
    );
    let r = inbound(&admin, "pes-retour", "retour-1.xml", retour, None);
    assert_eq!(r.status, 201, "{}", r.text());
    let retour_id = r.json()["id"].as_i64().unwrap();
    let chorus_id = inbound(&admin, "chorus", "chorus-1.xml", chorus, None).json()["id"]
        .as_i64()
        .unwrap();

    let list = |kind: &str| {
        depot
            .get(&format!("{V1}/documents/v2/{SIREN_A}/{kind}/remaining"))
            .json()
    };
    assert_eq!(list("pes-retour"), serde_json::json!([retour_id]));
    assert_eq!(list("chorus"), serde_json::json!([chorus_id]));
    let b = app.as_user("depot@b.fr");
    assert_eq!(
        b.get(&format!(
            "{V1}/documents/v2/{retour_id}/pes-retour/download"
        ))
        .error_code(),
        Some(103)
    );
    assert_eq!(
        depot
            .get(&format!("{V1}/documents/v2/{retour_id}/chorus/download"))
            .error_code(),
        Some(103),
        "kinds do not mix"
    );
    let d = depot.get(&format!(
        "{V1}/documents/v2/{retour_id}/pes-retour/download"
    ));
    assert_eq!(d.text(), retour);
    assert_eq!(list("pes-retour"), serde_json::json!([]));
    assert_eq!(
        depot
            .get(&format!("{V1}/documents/v2/{chorus_id}/chorus/download"))
            .text(),
        chorus
    );
    assert_eq!(list("chorus"), serde_json::json!([]));

    // An acknowledgement delivered by a connector moves a document waiting for it.
    let id = depot
        .upload(
            SIREN_A,
            "PESAVEC",
            "m.xml",
            pes_aller("PESALR2_INBOUND"),
            "",
        )
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    wait_state(&depot, id, "Envoyé à FAST");
    let ack = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><PES_ACQUIT><ACQUIT/></PES_ACQUIT>";
    assert_eq!(
        inbound(&admin, "ack", "a.xml", ack, None).status,
        400,
        "document_id is required"
    );
    assert_eq!(
        inbound(&admin, "ack", "a.xml", ack, Some(999_999)).error_code(),
        Some(103)
    );
    let r = inbound(&admin, "ack", "a.xml", ack, Some(id));
    assert_eq!(r.status, 201, "{}", r.text());
    let states = depot.states(id);
    assert_eq!(
        &states[states.len() - 3..],
        ["Transmis à Hélios", "Acquittance Hélios", "Classé"]
    );
    assert_eq!(list("ack"), serde_json::json!([id]));
    assert_eq!(
        depot
            .get(&format!("{V1}/documents/v2/{id}/ack/download"))
            .text(),
        ack
    );
    // A document without acknowledgement: nothing to return (102).
    let other = depot
        .upload(SIREN_A, "PES", "o.xml", pes_aller("PESALR2_NOACK"), "")
        .id();
    assert_eq!(
        depot
            .get(&format!("{V1}/documents/v2/{other}/ack/download"))
            .error_code(),
        Some(102)
    );
}

/// The S²LOW fake (Python, HTTPS with a required client certificate), killed on drop.
struct S2lowFake {
    child: std::process::Child,
    url: String,
    log: std::path::PathBuf,
}

impl Drop for S2lowFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S2lowFake {
    fn start(dir: &std::path::Path) -> Self {
        use std::io::BufRead;
        let ssl = |args: &[&str]| {
            let (ok, out) = parapheur_test_utils::run_tool(dir, "openssl", args);
            assert!(ok, "openssl {args:?}: {out}");
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let req = |name: &str, subj: &str| {
            let mut a = vec!["req"];
            a.extend(ec);
            let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
            a.extend(["-keyout", &key, "-out", &csr, "-subj", subj]);
            ssl(&a);
        };
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Fake S2LOW CA",
        ]);
        ssl(&ca);
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("client.ext"),
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        for (name, subj) in [
            ("server", "/CN=127.0.0.1"),
            (
                "client",
                "/CN=Commune A teletransmission/emailAddress=tdt@a.fr",
            ),
        ] {
            req(name, subj);
            let (csr, pem, ext) = (
                format!("{name}.csr"),
                format!("{name}.pem"),
                format!("{name}.ext"),
            );
            ssl(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ]);
        }
        let port = parapheur_test_utils::browser::free_port();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../parapheur-test-utils/scripts/s2low_fake.py");
        let log = dir.join("s2low.jsonl");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .args(["server.pem", "server.key", "ca.pem"])
            .arg(&log)
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        Self {
            child,
            url: format!("https://127.0.0.1:{port}"),
            log,
        }
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[test]
fn the_s2low_connector_transmits_with_its_client_certificate_and_reports_refusals() {
    let pki = tempfile::tempdir().unwrap();
    let fake = S2lowFake::start(pki.path());
    let p = |f: &str| pki.path().join(f).display().to_string();
    let app = start(&format!(
        "transmitter = \"s2low\"\ns2low_url = \"{}\"\ns2low_cert = \"{}\"\ns2low_key = \"{}\"\ns2low_ca = \"{}\"\ns2low_login = \"collectivite-a\"\ns2low_password = \"secret\"\n",
        fake.url,
        p("client.pem"),
        p("client.key"),
        p("ca.pem")
    ));
    let c = app.as_user("depot@a.fr");
    let s1 = app.as_user("s1@a.fr");
    let id = c
        .upload(SIREN_A, "PESAVEC", "t.xml", pes_aller("PESALR2_S2LOW"), "")
        .id();
    assert_eq!(s1.act(id, "sign", None).status, 200);
    let states = wait_state(&c, id, "Classé");
    assert_eq!(
        &states[2..],
        [
            "Signé",
            "En cours d'envoi",
            "Envoyé à FAST",
            "Transmis à Hélios",
            "Acquittance Hélios",
            "Classé"
        ]
    );
    let ack = c
        .get(&format!("{V1}/documents/v2/{id}/ack/download"))
        .text();
    assert!(
        ack.contains("S2LOW fake") && ack.contains("PESALR2_S2LOW"),
        "{ack}"
    );
    let reqs = fake.requests();
    let upload = reqs
        .iter()
        .find(|r| r["method"] == "POST")
        .expect("an upload");
    assert_eq!(upload["filename"], "PESALR2_S2LOW.xml");
    assert_eq!(upload["signed"], true, "the signed PES is sent");
    assert!(
        reqs.iter().all(|r| r["client"]
            .as_str()
            .unwrap()
            .contains("Commune A teletransmission")),
        "{reqs:?}"
    );
    assert!(reqs.iter().all(|r| r["user"] == "collectivite-a"));

    // S²LOW refuses a file: "Échec du traitement FAST", and the document stays there.
    let refused = c
        .upload(SIREN_A, "PESAVEC", "k.xml", pes_aller("PESALR2_REFUSE"), "")
        .id();
    assert_eq!(s1.act(refused, "sign", None).status, 200);
    let states = wait_state(&c, refused, "Échec du traitement FAST");
    assert!(!states.contains(&"Classé".to_owned()));
    let h = c
        .get(&format!("{V1}/documents/v2/{refused}/history"))
        .json();
    let last = h.as_array().unwrap().last().unwrap().clone();
    assert!(last["stateName"] == "Échec du traitement FAST");
    // Helios rejects one: "Échec de l'envoi à Hélios", sent again.
    let failing = c
        .upload(SIREN_A, "PESAVEC", "e.xml", pes_aller("PESALR2_ERREUR"), "")
        .id();
    assert_eq!(s1.act(failing, "sign", None).status, 200);
    wait_state(&c, failing, "Échec de l'envoi à Hélios");
    wait_for(
        Duration::from_secs(10),
        "a second upload of the failing PES",
        || {
            (fake
                .requests()
                .iter()
                .filter(|r| r["nomfic"] == "PESALR2_ERREUR")
                .count()
                >= 2)
                .then_some(())
        },
    );
}

#[test]
fn without_its_client_certificate_the_connector_cannot_send_and_retries() {
    let pki = tempfile::tempdir().unwrap();
    let fake = S2lowFake::start(pki.path());
    let app = start(&format!(
        "transmitter = \"s2low\"\ns2low_url = \"{}\"\ns2low_ca = \"{}\"\n",
        fake.url,
        pki.path().join("ca.pem").display()
    ));
    let c = app.as_user("depot@a.fr");
    let id = c
        .upload(SIREN_A, "PESAVEC", "n.xml", pes_aller("PESALR2_NOCERT"), "")
        .id();
    assert_eq!(app.as_user("s1@a.fr").act(id, "sign", None).status, 200);
    wait_state(&c, id, "Échec de l'envoi à FAST");
    // Let it retry a few times before counting the history entries.
    wait_for(Duration::from_secs(20), "three failed attempts", || {
        (job_failures(&app) >= 3).then_some(())
    });
    let states = c.states(id);
    assert_eq!(
        states
            .iter()
            .filter(|s| *s == "Échec de l'envoi à FAST")
            .count(),
        1,
        "one entry per failure streak, not per retry: {states:?}"
    );
    assert!(
        fake.requests().is_empty(),
        "the fake refused the TLS handshake"
    );
    assert!(job_failures(&app) >= 2, "retried");
}

/// `parapheur_job_failures_total` of `/metrics`.
fn job_failures(app: &TestApp) -> u64 {
    let m = Client::new(&app.base, None).get("/metrics").text();
    m.lines()
        .find_map(|l| l.strip_prefix("parapheur_job_failures_total "))
        .unwrap_or_else(|| panic!("{m}"))
        .parse()
        .unwrap()
}

#[test]
fn pes_retour_files_are_fetched_from_s2low_and_filed_under_their_subscriber() {
    let pki = tempfile::tempdir().unwrap();
    let fake = S2lowFake::start(pki.path());
    let p = |f: &str| pki.path().join(f).display().to_string();
    let app = start(&format!(
        "transmitter = \"s2low\"\npes_retour_poll_s = 1\ns2low_url = \"{}\"\ns2low_cert = \"{}\"\ns2low_key = \"{}\"\ns2low_ca = \"{}\"\n",
        fake.url,
        p("client.pem"),
        p("client.key"),
        p("ca.pem")
    ));
    let c = app.as_user("depot@a.fr");
    let remaining = format!("{V1}/documents/v2/{SIREN_A}/pes-retour/remaining");
    let ids = wait_for(Duration::from_secs(20), "the PES Retour", || {
        let v = c.get(&remaining).json();
        (!v.as_array().unwrap().is_empty()).then_some(v)
    });
    let id = ids[0].as_i64().unwrap();
    // Marked read on S²LOW once filed; the file for an unknown SIRET is left unread.
    let reqs = wait_for(Duration::from_secs(10), "the change of status", || {
        let r = fake.requests();
        r.iter()
            .any(|x| {
                x["path"]
                    .as_str()
                    .is_some_and(|p| p.contains("helios_change_status.php?id=1"))
            })
            .then_some(r)
    });
    assert!(
        !reqs.iter().any(|x| x["path"]
            .as_str()
            .is_some_and(|p| p.contains("helios_change_status.php?id=2"))),
        "the unknown collectivité's file stays unread"
    );
    // Further polls file nothing twice (the platform no longer lists it; the name is known).
    for _ in 0..2 {
        app.run(|s| async move {
            parapheur_server::service::helios::fetch_pes_retours(&s)
                .await
                .unwrap()
        });
    }
    assert_eq!(c.get(&remaining).json(), serde_json::json!([id]));
    let file = c
        .get(&format!("{V1}/documents/v2/{id}/pes-retour/download"))
        .text();
    assert!(
        file.contains("PES_RETOUR_A_20261127") && file.contains("20000000100017"),
        "{file}"
    );
    assert_eq!(
        c.get(&remaining).json(),
        serde_json::json!([]),
        "fetched once"
    );
    let b = app.as_user("depot@b.fr");
    assert_eq!(
        b.get(&format!("{V1}/documents/v2/{SIREN_B}/pes-retour/remaining"))
            .json(),
        serde_json::json!([])
    );
}
