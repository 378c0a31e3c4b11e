//! Fake external services for the tests: an S3-compatible server (moto).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// An S3-compatible server for the tests: moto (PyPI `moto[server]`, which `scripts/test.sh`
/// installs) on a free port, with one bucket. Killed on drop.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
    boto3: Mutex<Option<Boto3>>,
}

impl S3Server {
    pub fn start(bucket: &str) -> Self {
        let port = crate::browser::free_port();
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
            boto3: Mutex::new(None),
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
    /// tests. `script` sees `s3` (a client), `bucket` and `arg`, and writes its answer to
    /// stdout. One Python interpreter serves every call (importing boto3 takes a second).
    fn boto3(&self, script: &str, arg: &str) -> Vec<u8> {
        let mut guard = self.boto3.lock().unwrap_or_else(|e| e.into_inner());
        let helper = guard.get_or_insert_with(|| Boto3::start(&self.endpoint, &self.bucket));
        helper.call(script, arg)
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

/// A Python interpreter with a boto3 client of the bucket, running scripts sent on its stdin
/// (one JSON line each) and answering each with one line: the hex of what it wrote, or `!` and
/// the error.
struct Boto3 {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

const BOTO3_LOOP: &str = r#"
import io, json, sys, traceback, boto3
s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',
                  aws_access_key_id='test', aws_secret_access_key='test')
bucket = sys.argv[2]
real = sys.stdout
for line in sys.stdin:
    req = json.loads(line)
    buf = io.BytesIO()
    sys.stdout = io.TextIOWrapper(buf, encoding='utf-8')
    try:
        exec(req['script'], {'s3': s3, 'bucket': bucket, 'arg': req['arg'], 'sys': sys})
        sys.stdout.flush()
        answer = buf.getvalue().hex()
    except Exception:
        answer = '!' + traceback.format_exc().replace('\n', ' | ')
    sys.stdout = real
    real.write(answer + '\n')
    real.flush()
"#;

impl Boto3 {
    fn start(endpoint: &str, bucket: &str) -> Self {
        let mut child = Command::new("python3")
            .args(["-c", BOTO3_LOOP, endpoint, bucket])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with boto3 (installed with moto)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
        }
    }

    fn call(&mut self, script: &str, arg: &str) -> Vec<u8> {
        let req = serde_json::json!({ "script": script, "arg": arg });
        writeln!(self.stdin, "{req}").expect("write to boto3");
        self.stdin.flush().expect("flush boto3");
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).expect("read from boto3");
        assert!(n > 0, "the boto3 helper stopped");
        let line = line.trim_end();
        if let Some(err) = line.strip_prefix('!') {
            panic!("boto3: {err}");
        }
        (0..line.len() / 2)
            .map(|i| u8::from_str_radix(&line[2 * i..2 * i + 2], 16).expect("hex"))
            .collect()
    }
}

impl Drop for Boto3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
