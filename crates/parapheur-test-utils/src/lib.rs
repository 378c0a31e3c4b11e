#![doc = include_str!("../README.md")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness fails loudly by design

pub mod browser;
pub mod pdf;
pub mod tsa;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SIREN_A: &str = "200000001";
pub const SIREN_B: &str = "200000002";

/// The provisioning every test app starts with.
pub const PROVISIONING: &str = r#"
[[subscribers]]
siren = "200000001"
name = "Commune A"

[[subscribers]]
siren = "200000002"
name = "Commune B"

[[users]]
email = "depot@a.fr"
first_name = "Denise"
last_name = "Dépôt"
password = "password-depot"
subscribers = ["200000001"]

[[users]]
email = "admin@a.fr"
first_name = "Adam"
last_name = "Admin"
password = "password-admin"
subscribers = ["200000001"]
roles = ["admin"]

[[users]]
email = "v1@a.fr"
first_name = "Victor"
last_name = "Un"
password = "password-v1"
subscribers = ["200000001"]

[[users]]
email = "v2@a.fr"
first_name = "Véra"
last_name = "Deux"
password = "password-v2"
subscribers = ["200000001"]

[[users]]
email = "s1@a.fr"
first_name = "Sophie"
last_name = "Signe"
password = "password-s1"
subscribers = ["200000001"]
groups = ["Élus"]

[[users]]
email = "agent@a.fr"
first_name = "Aline"
last_name = "Agent"
password = "password-agent"
subscribers = ["200000001"]

[[users]]
email = "depot@b.fr"
first_name = "Bruno"
last_name = "Bé"
password = "password-depot-b"
subscribers = ["200000002"]

[[users]]
email = "v@b.fr"
first_name = "Berthe"
last_name = "Visa"
password = "password-v-b"
subscribers = ["200000002"]

[[circuits]]
siren = "200000001"
id = "VVS"
type = "BUREAUTIQUE_PDF"
steps = [
  { step = "visa", members = ["v1@a.fr"] },
  { step = "visa", members = ["v2@a.fr"] },
  { step = "signature", members = ["s1@a.fr"] },
]

[[circuits]]
siren = "200000001"
id = "VV"
type = "BUREAUTIQUE_PDF"
steps = [
  { step = "visa", members = ["v1@a.fr", "admin@a.fr"] },
  { step = "visa", members = ["v2@a.fr"] },
]

[[circuits]]
siren = "200000001"
id = "S"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "signature", members = ["s1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "META"
type = "BUREAUTIQUE_PDF"
metadata = true
steps = [ { step = "visa", members = ["v1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "XML"
type = "BUREAUTIQUE_XML"
steps = [ { step = "signature", members = ["s1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "RESTRICTED"
type = "BUREAUTIQUE_PDF"
depositors = ["admin@a.fr"]
steps = [ { step = "visa", members = ["v1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "SS"
type = "BUREAUTIQUE_PDF"
steps = [
  { step = "signature", members = ["s1@a.fr"] },
  { step = "signature", members = ["v2@a.fr"] },
]

[[circuits]]
siren = "200000001"
id = "SV"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "signature", members = ["s1@a.fr"] }, { step = "verification" } ]

[[circuits]]
siren = "200000001"
id = "CHECK"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "verification" } ]

[[circuits]]
siren = "200000001"
id = "PES"
type = "HELIOS_SANS_TELETRANSMISSION"
steps = [ { step = "signature", members = ["s1@a.fr"] } ]

[[circuits]]
siren = "200000001"
id = "OTP"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "OTPSignature" } ]

[[circuits]]
siren = "200000001"
id = "VOTP"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "visa", members = ["v1@a.fr"] }, { step = "OTPSignature" } ]

[[circuits]]
siren = "200000002"
id = "VV"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "visa", members = ["v@b.fr"] } ]
"#;

/// A running `parapheur serve` on a private data directory.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub base: String,
    bin: PathBuf,
    extra_config: String,
    /// Environment of the server process (e.g. the `AWS_*` variables of an S3 store).
    envs: Vec<(String, String)>,
    child: Option<Child>,
}

impl TestApp {
    /// Starts the binary with the standard provisioning. `extra_config` is appended to the
    /// TOML configuration (e.g. `max_upload_bytes = 300000`).
    pub fn start(bin: &str, extra_config: &str) -> Self {
        Self::start_with(bin, extra_config, "", &[])
    }

    /// Like `start`, with `extra_provisioning` appended to the standard provisioning and `files`
    /// written beside it (provisioning paths are relative to its directory).
    pub fn start_with(
        bin: &str,
        extra_config: &str,
        extra_provisioning: &str,
        files: &[(&str, Vec<u8>)],
    ) -> Self {
        Self::start_env(bin, extra_config, extra_provisioning, files, &[])
    }

    /// Like `start_with`, with environment variables for the server process.
    pub fn start_env(
        bin: &str,
        extra_config: &str,
        extra_provisioning: &str,
        files: &[(&str, Vec<u8>)],
        envs: &[(String, String)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).expect("write file");
        }
        std::fs::write(
            dir.path().join("provision.toml"),
            format!("{PROVISIONING}\n{extra_provisioning}"),
        )
        .expect("write provisioning");
        let mut app = Self {
            dir,
            base: String::new(),
            bin: PathBuf::from(bin),
            extra_config: extra_config.to_owned(),
            envs: envs.to_vec(),
            child: None,
        };
        app.launch();
        app
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one SQL statement on the app's database (SQLite file through Python's sqlite3,
    /// or PostgreSQL through psql): for tests that move time forward.
    pub fn sql(&self, statement: &str) {
        self.run_sql(statement);
    }

    /// Runs one SQL query on the app's database and returns its rows, one line each, columns
    /// separated by `|`.
    pub fn query(&self, statement: &str) -> String {
        self.run_sql(statement)
    }

    /// Runs `statement` (committed) and returns what it selected, one row a line.
    fn run_sql(&self, statement: &str) -> String {
        let out = if self.dir.path().join("pg-database").exists() {
            let base = std::env::var("PARAPHEUR_TEST_SERVER_DATABASE_URL").expect("pg url");
            let name = std::fs::read_to_string(self.dir.path().join("pg-database")).expect("db");
            let prefix = base.rsplit_once('/').map_or(base.as_str(), |(p, _)| p);
            Command::new("psql")
                .arg(format!("{prefix}/{name}"))
                .args(["-q", "-A", "-t", "-c", statement])
                .output()
        } else {
            Command::new("python3")
                .args([
                    "-c",
                    "import sqlite3,sys; c=sqlite3.connect(sys.argv[1])\n\
                     for r in c.execute(sys.argv[2]): print('|'.join(str(x) for x in r))\n\
                     c.commit()",
                ])
                .arg(self.data_dir().join("parapheur.db"))
                .arg(statement)
                .output()
        }
        .expect("run sql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn config_path(&self) -> PathBuf {
        let d = self.dir.path();
        let cfg = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nprovision = \"{}\"\nlog = \"warn\"\n{}{}\n",
            d.join("data").display(),
            d.join("provision.toml").display(),
            self.database_line(),
            self.extra_config
        );
        let p = d.join("parapheur.toml");
        std::fs::write(&p, cfg).expect("write config");
        p
    }

    /// With `PARAPHEUR_TEST_SERVER_DATABASE_URL=postgres://user@host/db`, each app gets a fresh
    /// PostgreSQL database (created with `psql` on first launch); SQLite otherwise.
    fn database_line(&self) -> String {
        let Ok(base) = std::env::var("PARAPHEUR_TEST_SERVER_DATABASE_URL") else {
            return String::new();
        };
        let marker = self.dir.path().join("pg-database");
        let name = match std::fs::read_to_string(&marker) {
            Ok(n) => n,
            Err(_) => {
                let n = format!(
                    "parapheur_app_{}_{}",
                    std::process::id(),
                    self.dir
                        .path()
                        .file_name()
                        .and_then(|f| f.to_str())
                        .unwrap_or("x")
                        .replace(|c: char| !c.is_ascii_alphanumeric(), "")
                )
                .to_lowercase();
                let out = Command::new("psql")
                    .arg(&base)
                    .args(["-q", "-c", &format!("CREATE DATABASE {n}")])
                    .output()
                    .expect("psql is required for the PostgreSQL run");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                std::fs::write(&marker, &n).expect("marker");
                n
            }
        };
        let prefix = base.rsplit_once('/').map_or(base.as_str(), |(p, _)| p);
        format!("database_url = \"{prefix}/{name}\"\n")
    }

    fn launch(&mut self) {
        let (child, base) = self.spawn_instance("server.log");
        self.base = base;
        self.child = Some(child);
    }

    /// Another `parapheur serve` on the same configuration (same database, blob store and data
    /// directory), on its own port: a second instance behind the same load balancer. Killed
    /// when the returned value is dropped.
    pub fn another_instance(&self) -> Instance {
        let n = std::fs::read_dir(self.dir.path())
            .map(|d| d.count())
            .unwrap_or(0);
        let (child, base) = self.spawn_instance(&format!("server-{n}.log"));
        Instance { child, base }
    }

    fn spawn_instance(&self, log: &str) -> (Child, String) {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(log))
            .expect("log file");
        let mut child = Command::new(&self.bin)
            .args(["serve", "--config"])
            .arg(self.config_path())
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn parapheur");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(a) = l.strip_prefix("listening on ") {
                        break a.trim().to_owned();
                    }
                }
                _ => {
                    let log =
                        std::fs::read_to_string(self.dir.path().join(log)).unwrap_or_default();
                    panic!("parapheur did not start:\n{log}");
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        (child, addr)
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.launch();
    }

    pub fn client(&self, email: &str, password: &str) -> Client {
        Client::new(&self.base, Some((email.to_owned(), password.to_owned())))
    }

    /// A client with the provisioned password of `email` (`password-<local part>`, with `-b`
    /// for subscriber B).
    pub fn as_user(&self, email: &str) -> Client {
        let pw = match email {
            "depot@b.fr" => "password-depot-b".to_owned(),
            "v@b.fr" => "password-v-b".to_owned(),
            e => format!("password-{}", e.split('@').next().unwrap_or_default()),
        };
        self.client(email, &pw)
    }

    /// The logs of every instance (see [`TestApp::another_instance`]).
    pub fn server_logs(&self) -> String {
        let mut out = String::new();
        if let Ok(d) = std::fs::read_dir(self.dir.path()) {
            for e in d.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("server") && name.ends_with(".log") {
                    out.push_str(&format!("--- {name}\n"));
                    out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }

    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Files stored in the blob directory (excluding in-flight temporary files).
    pub fn blob_count(&self) -> usize {
        self.blob_files().len()
    }

    /// The paths of those files.
    pub fn blob_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        collect_files(&self.data_dir().join("blobs"), &mut out);
        out
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if !p.is_dir() {
            out.push(p);
        } else if p.file_name().is_none_or(|n| n != "tmp") {
            collect_files(&p, out);
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.kill9();
        if let (Ok(base), Ok(name)) = (
            std::env::var("PARAPHEUR_TEST_SERVER_DATABASE_URL"),
            std::fs::read_to_string(self.dir.path().join("pg-database")),
        ) {
            let _ = Command::new("psql")
                .arg(&base)
                .args([
                    "-q",
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .output();
        }
    }
}

/// A response reduced to what tests look at.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// The FAST error code of the body, if it is a FAST or problem error.
    pub fn error_code(&self) -> Option<i64> {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()?
            .get("errorCode")?
            .as_i64()
    }
    /// The id returned by an upload (bare integer body).
    pub fn id(&self) -> i64 {
        self.text()
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("not an id: {} {}", self.status, self.text()))
    }
}

/// A second server process of a [`TestApp`] (see [`TestApp::another_instance`]).
pub struct Instance {
    child: Child,
    pub base: String,
}

impl Instance {
    /// A client of this instance.
    pub fn client(&self, email: &str, password: &str) -> Client {
        Client::new(&self.base, Some((email.to_owned(), password.to_owned())))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An S3-compatible server for the tests: moto (PyPI `moto[server]`, which `scripts/test.sh`
/// installs) on a free port, with one bucket. Killed on drop.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
}

impl S3Server {
    pub fn start(bucket: &str) -> Self {
        let port = browser::free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server (pip install 'moto[server]'; scripts/test.sh installs it)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::new();
        let started = std::time::Instant::now();
        // moto accepts unsigned requests: the bucket is created with a plain PUT.
        loop {
            if let Ok(r) = http.put(format!("{endpoint}/{bucket}")).send()
                && r.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            endpoint,
            bucket: bucket.to_owned(),
        }
    }

    /// The standard variables that point the server at this bucket.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ENDPOINT", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// Runs boto3 (installed with moto) against the bucket: the independent S3 client of the
    /// tests. `script` sees `s3` (a client) and `bucket`, and writes its answer to stdout.
    fn boto3(&self, script: &str, arg: &str) -> Vec<u8> {
        let program = format!(
            "import sys, boto3\ns3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
             aws_access_key_id='test', aws_secret_access_key='test')\nbucket = sys.argv[2]\narg = sys.argv[3]\n{script}"
        );
        let out = Command::new("python3")
            .args(["-c", &program, &self.endpoint, &self.bucket, arg])
            .output()
            .expect("python3 with boto3 (installed with moto)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The keys stored under `prefix`.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self.boto3(
            "r = s3.list_objects_v2(Bucket=bucket, Prefix=arg)\nprint('\\n'.join(o['Key'] for o in r.get('Contents', [])))",
            prefix,
        );
        String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Stores a small object (as another program writing to the bucket would).
    pub fn put(&self, key: &str, body: &str) {
        self.boto3(
            &format!("s3.put_object(Bucket=bucket, Key=arg, Body={body:?}.encode())"),
            key,
        );
    }

    /// The bytes of one object.
    pub fn object(&self, key: &str) -> Vec<u8> {
        self.boto3(
            "sys.stdout.buffer.write(s3.get_object(Bucket=bucket, Key=arg)['Body'].read())",
            key,
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Multipart part description for uploads.
pub enum Part {
    Text(&'static str, String),
    File(&'static str, String, Vec<u8>),
}

pub struct Client {
    http: reqwest::blocking::Client,
    pub base: String,
    auth: Option<(String, String)>,
}

impl Client {
    pub fn new(base: &str, auth: Option<(String, String)>) -> Self {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        Self {
            http,
            base: base.to_owned(),
            auth,
        }
    }

    fn req(&self, m: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        let r = self.http.request(m, format!("{}{}", self.base, path));
        match &self.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }

    fn send(r: reqwest::blocking::RequestBuilder) -> Resp {
        let res = r.send().expect("request");
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = res.bytes().expect("body").to_vec();
        Resp {
            status,
            content_type,
            body,
        }
    }

    pub fn get(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::GET, path))
    }
    pub fn delete(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::DELETE, path))
    }
    pub fn put_json(&self, path: &str, body: serde_json::Value) -> Resp {
        Self::send(self.req(reqwest::Method::PUT, path).json(&body))
    }
    pub fn post_json(&self, path: &str, body: serde_json::Value) -> Resp {
        Self::send(self.req(reqwest::Method::POST, path).json(&body))
    }
    pub fn post_empty(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::POST, path))
    }
    pub fn multipart(&self, method: reqwest::Method, path: &str, parts: Vec<Part>) -> Resp {
        let mut form = reqwest::blocking::multipart::Form::new();
        for p in parts {
            form = match p {
                Part::Text(n, v) => form.text(n, v),
                Part::File(n, name, bytes) => form.part(
                    n,
                    reqwest::blocking::multipart::Part::bytes(bytes).file_name(name),
                ),
            };
        }
        Self::send(self.req(method, path).multipart(form))
    }

    /// v2 upload of one file into a provisioned circuit.
    pub fn upload(
        &self,
        siren: &str,
        circuit: &str,
        name: &str,
        bytes: Vec<u8>,
        label: &str,
    ) -> Resp {
        self.multipart(
            reqwest::Method::POST,
            &format!("/parapheur-ws/rest/v1/documents/v2/{siren}/{circuit}/upload"),
            vec![
                Part::File("doc", name.to_owned(), bytes),
                Part::Text("label", label.to_owned()),
            ],
        )
    }

    /// The `stateName`s of a document's history.
    pub fn states(&self, id: i64) -> Vec<String> {
        let r = self.get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/history"));
        r.json()
            .as_array()
            .unwrap_or_else(|| panic!("history is not an array: {}", r.text()))
            .iter()
            .map(|e| e["stateName"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Native action (`visa`, `reject`, `sign`, `refuse`).
    pub fn act(&self, id: i64, action: &str, comment: Option<&str>) -> Resp {
        let path = format!("/api/v1/documents/{id}/{action}");
        match comment {
            Some(c) => self.post_json(&path, serde_json::json!({ "comment": c })),
            None => self.post_empty(&path),
        }
    }
}

/// Reads the names and bytes of a ZIP archive.
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP archive");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut b = Vec::new();
            f.read_to_end(&mut b).expect("read entry");
            (f.name().to_owned(), b)
        })
        .collect()
}

/// Writes a ZIP archive of the given entries.
pub fn make_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, b) in entries {
        w.start_file(*n, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        w.write_all(b).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// Validates a PDF with pyHanko against `ca_pem` only; returns the number of signatures judged
/// VALID and the tool's output. Panics with a clear message when pyHanko is missing.
pub fn pyhanko_valid(pdf: &[u8], ca_pem: &[u8]) -> (usize, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (f, ca) = (dir.path().join("f.pdf"), dir.path().join("ca.pem"));
    std::fs::write(&f, pdf).expect("write pdf");
    std::fs::write(&ca, ca_pem).expect("write ca");
    let out = Command::new("pyhanko")
        .args(["sign", "validate", "--executive-summary", "--trust"])
        .arg(&ca)
        .args(["--trust-replace", "--no-revocation-check"])
        .arg(&f)
        .output()
        .expect("pyhanko is required by these tests (pip install pyhanko pyhanko-cli)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        text.lines()
            .filter(|l| l.trim_end().ends_with(":VALID"))
            .count(),
        text,
    )
}

/// `qpdf --check` succeeds.
pub fn qpdf_check(pdf: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = dir.path().join("f.pdf");
    std::fs::write(&f, pdf).expect("write pdf");
    Command::new("qpdf")
        .arg("--check")
        .arg(&f)
        .output()
        .expect("qpdf is required by these tests")
        .status
        .success()
}

/// Extra provisioning: `PESAVEC`, a Helios circuit with teletransmission for subscriber A whose
/// only step is s1's signature.
pub const HELIOS_CIRCUIT: &str = r#"
[[circuits]]
siren = "200000001"
id = "PESAVEC"
type = "HELIOS_AVEC_TELETRANSMISSION"
steps = [ { step = "signature", members = ["s1@a.fr"] } ]
"#;

/// A small PES_Aller in ISO-8859-1 with two Bordereaux carrying Ids (accents included).
pub fn pes_aller(nomfic: &str) -> Vec<u8> {
    let bordereau = |n: u32| {
        format!(
            "<Bordereau Id=\"BORD{n}\"><BlocBordereau><Exer V=\"2026\"/><IdBord V=\"{n}\"/>\
             <MtBordHT V=\"1{n}00.00\"/></BlocBordereau><Piece><BlocPiece><InfoPce><IdPce V=\"{n}\"/>\
             <Obj V=\"Cantine de l'école élémentaire\"/></InfoPce></BlocPiece></Piece></Bordereau>\n"
        )
    };
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<n:PES_Aller \
         xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller\" \
         xmlns:xad=\"http://uri.etsi.org/01903/v1.1.1#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n\
         <Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESALR2\"/><NomFic V=\"{nomfic}\"/></Parametres></Enveloppe>\n\
         <EnTetePES><DteStr V=\"2026-11-27\"/><IdPost V=\"042000\"/><LibelleColBud V=\"Commune A - régie\"/></EnTetePES>\n\
         <PES_DepenseAller><EnTeteDepense><IdVer V=\"2\"/></EnTeteDepense>\n{}{}</PES_DepenseAller>\n</n:PES_Aller>\n",
        bordereau(1),
        bordereau(2)
    );
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// Runs a command in `dir`, returning success and its combined output (panics if missing).
pub fn run_tool(dir: &Path, program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is required by these tests ({e}); .ci/run installs it")
        });
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
