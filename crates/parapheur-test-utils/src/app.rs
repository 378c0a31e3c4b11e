//! `TestApp`: a server on a private data directory (in this process, or the real binary),
//! with its configuration, its database (SQLite, or a fresh PostgreSQL database) and clients.

use crate::client::Client;
use crate::fixtures::PROVISIONING;
use crate::inproc::InProcess;
use crate::template;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running server on a private data directory: in this process by default, or the real
/// `parapheur serve` binary where the process matters (see [`TestApp::start_process`]).
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub base: String,
    bin: PathBuf,
    extra_config: String,
    /// Environment of the server process (e.g. the `AWS_*` variables of an S3 store).
    envs: Vec<(String, String)>,
    in_process: bool,
    /// The data directory was copied from an already provisioned one: no provisioning at start.
    provisioned: bool,
    server: Option<Server>,
}

/// What serves a [`TestApp`].
enum Server {
    Process(Child),
    InProcess(InProcess),
}

impl TestApp {
    /// Starts the server in this process with the standard provisioning. `extra_config` is
    /// appended to the TOML configuration (e.g. `max_upload_bytes = 300000`). `bin` serves
    /// [`TestApp::another_instance`].
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
        Self::prepare(bin, extra_config, extra_provisioning, files, &[], true)
    }

    /// Starts the `parapheur serve` binary, for tests where the process matters (kill -9,
    /// restart, its logs, a browser against it).
    pub fn start_process(
        bin: &str,
        extra_config: &str,
        extra_provisioning: &str,
        files: &[(&str, Vec<u8>)],
    ) -> Self {
        Self::prepare(bin, extra_config, extra_provisioning, files, &[], false)
    }

    /// Like `start_process`, with environment variables for the server process.
    pub fn start_env(
        bin: &str,
        extra_config: &str,
        extra_provisioning: &str,
        files: &[(&str, Vec<u8>)],
        envs: &[(String, String)],
    ) -> Self {
        Self::prepare(bin, extra_config, extra_provisioning, files, envs, false)
    }

    fn prepare(
        bin: &str,
        extra_config: &str,
        extra_provisioning: &str,
        files: &[(&str, Vec<u8>)],
        envs: &[(String, String)],
        in_process: bool,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).expect("write file");
        }
        let provisioning = format!("{PROVISIONING}\n{extra_provisioning}");
        std::fs::write(dir.path().join("provision.toml"), &provisioning)
            .expect("write provisioning");
        // In-process SQLite apps start from a copy of the first one of their kind.
        let template = (in_process
            && std::env::var_os("PARAPHEUR_TEST_SERVER_DATABASE_URL").is_none())
        .then(|| template::key(extra_config, &provisioning, files));
        let from_template = template
            .as_ref()
            .is_some_and(|k| template::restore(k, &dir.path().join("data")));
        let mut app = Self {
            dir,
            base: String::new(),
            bin: PathBuf::from(bin),
            extra_config: extra_config.to_owned(),
            envs: envs.to_vec(),
            in_process,
            provisioned: from_template,
            server: None,
        };
        app.launch();
        if let (Some(k), false, Some(Server::InProcess(s))) =
            (&template, from_template, &app.server)
        {
            template::save(k, &app.data_dir(), s);
        }
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
        let provision = if self.provisioned {
            String::new()
        } else {
            format!("provision = \"{}\"\n", d.join("provision.toml").display())
        };
        let cfg = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n{provision}log = \"warn\"\n{}{}\n",
            d.join("data").display(),
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
        if self.in_process {
            let server = InProcess::start(&self.config_path());
            self.base = server.base.clone();
            self.server = Some(Server::InProcess(server));
        } else {
            let (child, base) = self.spawn_instance("server.log");
            self.base = base;
            self.server = Some(Server::Process(child));
        }
    }

    /// Runs every background job that is due now (messages, automatic steps, transmissions) and
    /// waits for those already running, instead of sleeping. In-process apps only.
    pub fn run_pending_jobs(&self) {
        match &self.server {
            Some(Server::InProcess(s)) => s.run_pending_jobs(),
            Some(Server::Process(_)) | None => {
                panic!("run_pending_jobs needs an in-process app (TestApp::start)")
            }
        }
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

    /// Runs every pending job now, delayed ones and retries included (their time is moved
    /// forward in SQL), until none is pending (at most 30 s): every message is delivered or
    /// given up, so none can arrive later. In-process apps run the jobs themselves; a process
    /// app's worker picks them up within its poll interval.
    pub fn settle_jobs(&self) {
        let started = std::time::Instant::now();
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_millis();
            self.sql(&format!(
                "UPDATE jobs SET run_at = {now} WHERE status = 'pending' AND run_at > {now}"
            ));
            if let Some(Server::InProcess(s)) = &self.server {
                s.run_pending_jobs();
            }
            let pending = self.query("SELECT kind, attempts FROM jobs WHERE status = 'pending'");
            if pending.is_empty() {
                return;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "jobs still pending after 30 s: {pending}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Runs `f` with the in-process server's state on its runtime: a periodic task's body (a
    /// purge, a poll) runs now instead of being waited for. In-process apps only.
    pub fn run<T, F: std::future::Future<Output = T>>(
        &self,
        f: impl FnOnce(parapheur_server::state::AppState) -> F,
    ) -> T {
        match &self.server {
            Some(Server::InProcess(s)) => s.run(f),
            Some(Server::Process(_)) | None => {
                panic!("run needs an in-process app (TestApp::start)")
            }
        }
    }

    /// SIGKILL, as a crash would (a process app); an in-process app is stopped.
    pub fn kill9(&mut self) {
        match self.server.take() {
            Some(Server::Process(mut c)) => {
                let _ = c.kill();
                let _ = c.wait();
            }
            Some(Server::InProcess(s)) => drop(s),
            None => {}
        }
    }

    /// Starts again on the same data directory.
    /// Sends SIGTERM to the server process (`TestApp::start_process`) and waits for it to exit
    /// (at most `timeout`); its exit status, `None` when it had not exited by then (it is then
    /// killed).
    pub fn terminate(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let Some(Server::Process(mut c)) = self.server.take() else {
            panic!("terminate needs a server process (TestApp::start_process)");
        };
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

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

/// A second server process of a [`TestApp`] (see [`TestApp::another_instance`]).
pub struct Instance {
    child: Child,
    pub base: String,
}

impl Instance {
    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

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
