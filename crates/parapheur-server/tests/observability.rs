//! Observability (issue 21): JSON logs with an access line per request (route template, status,
//! duration, request id, client address, user id; no credential), the request id accepted or
//! made and returned, the client address from a trusted proxy (a real nginx in front, with
//! `deploy/nginx/parapheur.conf`), and the request-duration histogram on `/metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::{SIREN_A, TestApp, pdf};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

/// The server's JSON log lines.
fn json_lines(app: &TestApp) -> Vec<Value> {
    app.server_log()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The access line of the request `id`.
fn access_line(app: &TestApp, id: &str) -> Value {
    let lines = json_lines(app);
    lines
        .iter()
        .find(|l| l["target"] == "parapheur::access" && l["request_id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no access line for {id} in\n{}", app.server_log()))
}

fn start() -> TestApp {
    TestApp::start_env(
        BIN,
        "log_format = \"json\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
        "",
        &[],
        &[("RUST_LOG".into(), "info".into())],
    )
}

#[test]
fn every_request_gets_an_id_and_an_access_line_and_counts_in_the_histogram() {
    let app = start();
    let http = reqwest::blocking::Client::new();
    // A deposit with a request id: the e-mail job it enqueued logs under that id.
    let form = reqwest::blocking::multipart::Form::new().part(
        "doc",
        reqwest::blocking::multipart::Part::bytes(pdf::small("observe"))
            .file_name("observe.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let r = http
        .post(format!(
            "{}/parapheur-ws/rest/v1/documents/v2/{SIREN_A}/S/upload",
            app.base
        ))
        .basic_auth("depot@a.fr", Some("password-depot"))
        .header("x-request-id", "deposit-request-1")
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let id: i64 = r.text().unwrap().trim().parse().unwrap();

    // An id the client chose comes back, and names the access line.
    let r = http
        .get(format!("{}/api/v1/documents/{id}/annexes", app.base))
        .basic_auth("depot@a.fr", Some("password-depot"))
        .header("x-request-id", "client-chosen-1")
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-request-id"], "client-chosen-1");
    // One that is not sane is replaced by one of ours.
    let r = http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "pas un id")
        .send()
        .unwrap();
    let made = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 24, "{made}");
    // A FAST route, a wrong password.
    let r = http
        .get(format!(
            "{}/parapheur-ws/rest/v1/documents/v2/{id}/history",
            app.base
        ))
        .basic_auth("depot@a.fr", Some("mauvais-secret"))
        .header("x-request-id", "client-chosen-2")
        .send()
        .unwrap();
    let status = r.status().as_u16();

    let line = access_line(&app, "client-chosen-1");
    assert_eq!(line["route"], "/api/v1/documents/{id}/annexes", "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    // From 127.0.0.1, a trusted proxy: the forwarded address is the client's.
    assert_eq!(line["client_ip"], "203.0.113.7", "{line}");
    let depot_id: i64 = app
        .query("SELECT id FROM users WHERE email = 'depot@a.fr'")
        .parse()
        .unwrap();
    assert_eq!(line["user_id"], depot_id, "{line}");
    assert!(line["duration_ms"].is_u64(), "{line}");
    let line = access_line(&app, &made);
    assert_eq!(line["route"], "/healthz", "{line}");
    let line = access_line(&app, "client-chosen-2");
    assert_eq!(
        line["route"], "/parapheur-ws/rest/v1/documents/v2/{id}/history",
        "{line}"
    );
    assert_eq!(line["status"], status, "{line}");
    assert!(line["user_id"].is_null(), "{line}");
    // Never a credential in the logs.
    let log = app.server_log();
    for secret in ["password-depot", "mauvais-secret", "ZGVwb3RAYS5mcj"] {
        assert!(!log.contains(secret), "{secret} in the logs");
    }
    // An unknown path is counted under one label, not its own.
    http.get(format!("{}/n-importe-quoi/123", app.base))
        .send()
        .unwrap();

    let metrics = http
        .get(format!("{}/metrics", app.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for needle in [
        "parapheur_http_request_duration_seconds_bucket{route=\"/api/v1/documents/{id}/annexes\",status=\"200\",le=",
        "parapheur_http_request_duration_seconds_count{route=\"/healthz\",status=\"200\"} 1",
        "route=\"unmatched\",status=\"404\"",
        "parapheur_build_info{version=",
    ] {
        assert!(metrics.contains(needle), "{needle} not in\n{metrics}");
    }
    assert!(!metrics.contains("n-importe-quoi"), "{metrics}");

    // A signature counts by format and level.
    let r = app.as_user("s1@a.fr").act(id, "sign", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let job_line = loop {
        let found = json_lines(&app).into_iter().find(|l| {
            l["message"] == "job delivered" && l["span"]["request_id"] == "deposit-request-1"
        });
        if let Some(l) = found {
            break l;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no job delivered under the request's id:\n{}",
            app.server_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(job_line["span"]["job.kind"].is_string(), "{job_line}");
    let metrics = http
        .get(format!("{}/metrics", app.base))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("parapheur_signatures_total{format=\"PAdES\",level=\"B-B\"} 1"),
        "{metrics}"
    );
    // Every series the Grafana dashboard in deploy/ plots is one the server exports.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana-dashboard.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut plotted = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (at, _) in expr.match_indices("parapheur_") {
                let name: String = expr[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                // A histogram's series are its name with _bucket, _count or _sum.
                let name = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(&name)
                    .to_owned();
                assert!(
                    metrics.contains(&format!("# TYPE {name} ")),
                    "the dashboard plots {name}, which /metrics does not export"
                );
                plotted += 1;
            }
        }
    }
    assert!(plotted >= 9, "{plotted}");
    assert!(
        metrics.contains("# TYPE parapheur_job_queue_depth gauge")
            && metrics.contains("# TYPE parapheur_job_oldest_due_seconds gauge"),
        "{metrics}"
    );
}

/// nginx, unprivileged, with `deploy/nginx/parapheur.conf` rendered for a free port in front
/// of `upstream`.
pub(crate) struct Nginx {
    child: Child,
    pub port: u16,
}

impl Nginx {
    pub(crate) fn start(dir: &Path, upstream: &str) -> Option<Self> {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        let port = parapheur_test_utils::wait::free_port();
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx/parapheur.conf"),
        )
        .unwrap();
        let conf = template
            .replace("@PREFIX@", &dir.display().to_string())
            .replace("@LISTEN@", &format!("127.0.0.1:{port}"))
            .replace("@UPSTREAM@", upstream);
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let up = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(
            up,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        Some(Self { child, port })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Behind a real nginx: a client connecting from 127.0.0.2 is seen as 127.0.0.2 (nginx, at
/// 127.0.0.1, is a trusted proxy) in the access log and by the login throttle, and a forged
/// `X-Forwarded-For` sent by the client does not replace it (nginx appends, parapheur takes
/// the last entry). Without nginx among the trusted proxies, the header is ignored.
#[test]
fn behind_nginx_the_client_address_is_the_forwarded_one() {
    let app = start();
    let dir = tempfile::tempdir().unwrap();
    let upstream = app.base.trim_start_matches("http://").to_owned();
    let Some(nginx) = Nginx::start(dir.path(), &upstream) else {
        panic!("nginx is required by this test (apt install nginx-light; scripts/test.sh does)");
    };
    let from = |ip: [u8; 4]| {
        reqwest::blocking::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let front = format!("http://127.0.0.1:{}", nginx.port);
    let r = from([127, 0, 0, 2])
        .get(format!("{front}/api/v1/tasks"))
        .basic_auth("depot@a.fr", Some("password-depot"))
        .header("x-forwarded-for", "198.51.100.66")
        .header("x-request-id", "through-nginx-1")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let line = access_line(&app, "through-nginx-1");
    assert_eq!(line["client_ip"], "127.0.0.2", "{line}");
    assert_eq!(line["route"], "/api/v1/tasks", "{line}");

    // The login throttle counts the client's address: the failures recorded for 127.0.0.3.
    for _ in 0..3 {
        let r = from([127, 0, 0, 3])
            .get(format!("{front}/api/v1/tasks"))
            .basic_auth("v1@a.fr", Some("faux"))
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let subjects = app.query("SELECT subject FROM auth_failures");
    assert!(subjects.contains("127.0.0.3"), "{subjects}");
    assert!(!subjects.contains("127.0.0.1"), "{subjects}");

    // Directly, from an address that is no proxy, a forwarded header is ignored.
    let r = from([127, 0, 0, 4])
        .get(format!("{}/healthz", app.base))
        .header("x-forwarded-for", "198.51.100.99")
        .header("x-request-id", "direct-1")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let line = access_line(&app, "direct-1");
    assert_eq!(line["client_ip"], "127.0.0.4", "{line}");
}

/// Issue 21: dates are shown in the configured zone (Europe/Paris by default), whatever the
/// host's `TZ`: the FAST history keeps its format (ISO 8601, milliseconds, an offset), with
/// that zone's offset.
#[test]
fn dates_are_in_the_configured_zone_whatever_the_hosts() {
    let offset_of = |app: &TestApp| {
        let c = app.as_user("depot@a.fr");
        let id = c.upload(SIREN_A, "S", "tz.pdf", pdf::small("tz"), "").id();
        let h = c
            .get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/history"))
            .json();
        let date = h[0]["date"].as_str().unwrap().to_owned();
        // 2026-12-06T16:41:10.123+01:00
        assert_eq!(date.len(), 29, "{date}");
        assert_eq!(&date[19..20], ".", "{date}");
        date[23..].to_owned()
    };
    let kiribati = [("TZ".to_owned(), "Pacific/Kiritimati".to_owned())];
    let paris = TestApp::start_env(BIN, "", "", &[], &kiribati);
    let expected = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%:z")
        .to_string();
    assert_eq!(offset_of(&paris), expected);
    let guyane = TestApp::start_env(BIN, "time_zone = \"America/Cayenne\"\n", "", &[], &kiribati);
    assert_eq!(offset_of(&guyane), "-03:00");
    // A zone that does not exist stops the start, naming the key.
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg({
            let dir = tempfile::tempdir().unwrap().keep();
            let p = dir.join("p.toml");
            std::fs::write(&p, "time_zone = \"Europe/Pariss\"\n").unwrap();
            p
        })
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("time_zone"), "{err}");
}
