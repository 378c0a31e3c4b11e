//! A throw-away RFC 3161 timestamp authority: `openssl ts -reply` with a self-signed
//! certificate (critical timeStamping EKU), callable directly or over HTTP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct TestTsa {
    dir: tempfile::TempDir,
    server: Option<(Child, u16)>,
}

const CONFIG: &str = "[ tsa ]\ndefault_tsa = t\n[ t ]\ndir = .\nserial = ./serial\ncrypto_device = builtin\n\
signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\nordering = yes\n\
tsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n";

const SERVER: &str = r#"
import http.server, os, subprocess, sys
d = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        q = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        open(os.path.join(d, "q.der"), "wb").write(q)
        r = subprocess.run(["openssl", "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.der",
                            "-signer", "tsa.pem", "-inkey", "tsa.key", "-out", "r.der"], cwd=d, capture_output=True)
        if r.returncode:
            self.send_response(500); self.end_headers(); return
        body = open(os.path.join(d, "r.der"), "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

impl TestTsa {
    /// Creates the TSA key and certificate (needs the `openssl` command).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let out = Command::new("openssl")
            .current_dir(d)
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out",
                "tsa.pem", "-days", "30",
            ])
            .args([
                "-subj",
                "/CN=Horodatage de test",
                "-addext",
                "extendedKeyUsage=critical,timeStamping",
            ])
            .output()
            .expect("the openssl command is required by these tests");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(d.join("serial"), "01\n").expect("serial");
        std::fs::write(d.join("tsa.cnf"), CONFIG).expect("config");
        Self { dir, server: None }
    }

    pub fn cert_pem(&self) -> Vec<u8> {
        std::fs::read(self.dir.path().join("tsa.pem")).expect("tsa.pem")
    }

    /// Answers one DER query.
    pub fn reply(&self, query: &[u8]) -> Vec<u8> {
        let d = self.dir.path();
        std::fs::write(d.join("q.der"), query).expect("query");
        let out = Command::new("openssl")
            .current_dir(d)
            .args([
                "ts",
                "-reply",
                "-config",
                "tsa.cnf",
                "-queryfile",
                "q.der",
                "-signer",
                "tsa.pem",
                "-inkey",
                "tsa.key",
            ])
            .args(["-out", "r.der"])
            .output()
            .expect("openssl ts");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(d.join("r.der")).expect("reply")
    }

    /// Starts an HTTP front (Python's http.server) and returns its URL.
    pub fn serve(&mut self) -> String {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(SERVER)
            .arg(self.dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 is required by these tests");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        let port: u16 = line.trim().parse().expect("a port");
        self.server = Some((child, port));
        format!("http://127.0.0.1:{port}/tsr")
    }
}

impl Default for TestTsa {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestTsa {
    fn drop(&mut self) {
        if let Some((mut c, _)) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
