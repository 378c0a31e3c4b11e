//! Helpers for the pages and message tests: a browser-like HTTP client (cookies, forms, no
//! automatic redirects, no credentials), a real SMTP server (Python `aiosmtpd`), an HTTP
//! endpoint that fails then recovers, and readers of the outboxes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A page as a browser receives it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the hidden `csrf` field of the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf field in:\n{}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("end of csrf") + start;
        self.body[start..end].to_owned()
    }
}

/// Keeps cookies, posts forms, and does not follow redirects.
pub struct Browser {
    http: reqwest::blocking::Client,
    pub base: String,
    pub cookies: Mutex<BTreeMap<String, String>>,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self::from_address(base, None)
    }

    /// A browser whose connections come from `local` (a loopback address such as 127.0.0.2:
    /// another machine, as a proxy in front sees it).
    pub fn from_address(base: &str, local: Option<std::net::IpAddr>) -> Self {
        Self {
            http: reqwest::blocking::Client::builder()
                // Plain HTTP to the test app: no system roots to parse for every browser.
                .tls_built_in_root_certs(false)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .local_address(local)
                .build()
                .expect("client"),
            base: base.to_owned(),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn send(&self, r: reqwest::blocking::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .lock()
            .expect("cookies")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = if cookie.is_empty() {
            r
        } else {
            r.header("cookie", cookie)
        };
        let res = r.send().expect("request");
        for v in res.headers().get_all("set-cookie") {
            let s = v.to_str().unwrap_or_default();
            if let Some((k, rest)) = s.split_once('=') {
                let val = rest.split(';').next().unwrap_or_default();
                self.cookies
                    .lock()
                    .expect("cookies")
                    .insert(k.trim().to_owned(), val.to_owned());
            }
        }
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = res.text().unwrap_or_default();
        Page {
            status,
            location,
            headers,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Page {
        self.send(self.http.get(self.url(path)))
    }

    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let cookie = self
            .cookies
            .lock()
            .expect("cookies")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut r = self.http.get(self.url(path));
        if !cookie.is_empty() {
            r = r.header("cookie", cookie);
        }
        let res = r.send().expect("request");
        let status = res.status().as_u16();
        (status, res.bytes().expect("body").to_vec())
    }

    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(self.http.post(self.url(path)).form(fields))
    }

    /// A `multipart/form-data` form: text fields, then files `(field, file name, bytes)`.
    pub fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: Vec<(&str, &str, Vec<u8>)>,
    ) -> Page {
        let mut form = reqwest::blocking::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (k, name, bytes) in files {
            form = form.part(
                k.to_string(),
                reqwest::blocking::multipart::Part::bytes(bytes).file_name(name.to_string()),
            );
        }
        self.send(self.http.post(self.url(path)).multipart(form))
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub use crate::wait::wait_for;

/// A free port outside the kernel's ephemeral range, for a service a test starts later on a
/// port chosen now: no port-0 bind of a concurrent test can take it in between.
pub fn reserved_port() -> u16 {
    let seed = std::process::id()
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
    (0..2000u32)
        .map(|i| u16::try_from(20_000 + (seed.wrapping_add(i * 7919)) % 10_000).unwrap_or(20_000))
        .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port in 20000-29999")
}

/// A real SMTP server (aiosmtpd) storing what it accepts.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

/// A message received by the sink.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: String,
    pub envelope_to: Vec<String>,
}

impl SmtpSink {
    /// Starts on `port`, refusing the first `fail_first` messages with 451.
    pub fn start(port: u16, dir: &Path, fail_first: u32) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                port.to_string(),
                dir.display().to_string(),
                fail_first.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd is required (pip install aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sink output");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Self {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    /// Messages accepted so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let env = std::fs::read_to_string(self.dir.join("envelopes.jsonl")).unwrap_or_default();
        env.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| Received {
                raw: std::fs::read_to_string(self.dir.join(v["file"].as_str().unwrap_or_default()))
                    .unwrap_or_default(),
                envelope_to: v["to"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Standard Webhooks receiver (`scripts/webhook_receiver.py`, the reference Python library):
/// answers 503 to the first `fail_first` requests, then verifies each signature.
pub struct WebhookReceiver {
    child: std::process::Child,
    pub url: String,
    pub dir: PathBuf,
}

impl WebhookReceiver {
    pub fn start(dir: &Path, secret: &str, fail_first: u32) -> Self {
        let port = reserved_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/webhook_receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                port.to_string(),
                dir.display().to_string(),
                secret.to_owned(),
                fail_first.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with standardwebhooks is required (pip install standardwebhooks)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("receiver output");
        assert_eq!(line.trim(), "ready", "the webhook receiver did not start");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}/hook"),
            dir: dir.to_owned(),
        }
    }

    fn lines(&self, file: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Verified deliveries in arrival order: `(webhook-id, parsed body)`.
    pub fn received(&self) -> Vec<(String, serde_json::Value)> {
        self.lines("received.jsonl")
            .into_iter()
            .map(|v| {
                (
                    v["id"].as_str().unwrap_or_default().to_owned(),
                    serde_json::from_str(v["body"].as_str().unwrap_or_default())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Every request with the status answered (503 outage, 400 not verified, 204).
    pub fn statuses(&self) -> Vec<u16> {
        self.lines("requests.jsonl")
            .iter()
            .filter_map(|v| v["status"].as_u64())
            .map(|s| s as u16)
            .collect()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request received by a `FlakyEndpoint`, with the status it was answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub status: u16,
    pub path: String,
    /// Lower-case names.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// An HTTP endpoint answering `fail_status` to the first `fail_first` requests, then 200; it
/// records every request.
pub struct FlakyEndpoint {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FlakyEndpoint {
    pub fn start(fail_first: usize, fail_status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut reader = BufReader::new(s.try_clone().expect("clone"));
                let mut headers = BTreeMap::new();
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                line.clear();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let l = line.trim_end().to_owned();
                    line.clear();
                    if l.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = l.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    }
                }
                let len: usize = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let mut all = seen.lock().expect("requests");
                let status = if all.len() < fail_first {
                    fail_status
                } else {
                    200
                };
                all.push(Recorded {
                    status,
                    path,
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                drop(all);
                let reason = if status == 200 { "OK" } else { "Failed" };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} {reason}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                );
            }
        });
        Self { url, requests }
    }
}

/// The SMS written to an outbox file: `(to, text)`.
pub fn sms_outbox(file: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["to"].as_str().unwrap_or_default().to_owned(),
                v["text"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// An e-mail parsed by Python's `email` package: `{"subject", "to", "cc", "message_id",
/// "text", "html"}` (parts decoded).
pub fn parse_eml(raw: &str) -> serde_json::Value {
    let script = r#"
import email, json, sys
from email import policy
m = email.message_from_string(sys.stdin.read(), policy=policy.default)
def part(kind):
    p = m.get_body(preferencelist=(kind,))
    return p.get_content() if p is not None else None
print(json.dumps({"subject": m["subject"], "to": m["to"], "cc": m["cc"],
                  "message_id": m["message-id"], "text": part("plain"), "html": part("html")}))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(raw.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 output");
    serde_json::from_slice(&out.stdout).expect("parsed e-mail")
}

/// The standalone 6-digit number of a message (the OTP code).
pub fn otp_code(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .map(str::to_owned)
}

/// Runs PHP's `SoapClient` (`scripts/soap_client.php`, Debian `php-cli php-soap`) on the WSDL at
/// `wsdl` with SoapClient `options` and a list of `{"op", "args"}` calls; one JSON value per
/// call: `{"ok": result}` or `{"fault": {"code", "string", "errorCode"}}`.
pub fn php_soap(
    wsdl: &str,
    options: serde_json::Value,
    calls: serde_json::Value,
) -> Vec<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/soap_client.php");
    let plan = serde_json::json!({ "wsdl": wsdl, "options": options, "calls": calls });
    let mut child = Command::new("php")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("php (Debian php-cli php-soap; scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(plan.to_string().as_bytes())
        .expect("write the plan");
    let out = child.wait_with_output().expect("php output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "php failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
