//! Fake external services for the tests: an S3-compatible server (moto).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// An S3-compatible server for the tests: moto (PyPI `moto[server]`, which `scripts/test.sh`
/// installs) on a free port, with one bucket. Killed on drop.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
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
