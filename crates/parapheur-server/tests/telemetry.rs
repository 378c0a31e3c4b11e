//! OpenTelemetry traces (issue 21): with `[telemetry] otlp_endpoint`, the request spans reach an
//! OTLP/HTTP receiver as protobuf, named by method and route template, children of the caller's
//! W3C `traceparent`. The receiver decodes with the OpenTelemetry project's own protobuf
//! definitions (PyPI `opentelemetry-proto`, installed by scripts/test.sh) and answers as a
//! collector does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::{SIREN_A, TestApp, pdf};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

/// An OTLP/HTTP receiver: every span of every export as one JSON line in `spans.jsonl`.
const RECEIVER: &str = r#"
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

port, out = int(sys.argv[1]), sys.argv[2]

def value(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        with open(out, "a") as f:
            for rs in request.resource_spans:
                resource = {a.key: value(a.value) for a in rs.resource.attributes}
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        f.write(json.dumps({
                            "name": s.name,
                            "kind": s.kind,
                            "trace_id": s.trace_id.hex(),
                            "parent_span_id": s.parent_span_id.hex(),
                            "attributes": {a.key: value(a.value) for a in s.attributes},
                            "resource": resource,
                            "content_type": self.headers["Content-Type"],
                        }) + "\n")
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
"#;

struct Receiver(Child);

impl Receiver {
    fn start(dir: &Path, port: u16) -> Self {
        let script = dir.join("receiver.py");
        std::fs::write(&script, RECEIVER).unwrap();
        let child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(dir.join("spans.jsonl"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        parapheur_test_utils::wait::wait_for_port(port, "the OTLP receiver");
        Self(child)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spans(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("spans.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn request_spans_reach_an_otlp_receiver_under_the_callers_trace() {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.proto.collector.trace.v1.trace_service_pb2",
        ])
        .status()
        .expect("python3");
    assert!(
        probe.success(),
        "PyPI opentelemetry-proto is required by this test: scripts/test.sh installs it"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = parapheur_test_utils::wait::free_port();
    let _receiver = Receiver::start(dir.path(), port);
    let mut app = TestApp::start_env(
        BIN,
        &format!(
            "[telemetry]\notlp_endpoint = \"http://127.0.0.1:{port}/v1/traces\"\n\
             service_name = \"parapheur-test\"\n"
        ),
        "",
        &[],
        &[("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into())],
    );
    let depot = app.client("depot@a.fr", "password-depot");
    let id = depot
        .upload(
            SIREN_A,
            "VVS",
            "contrat.pdf",
            pdf::small("Contrat"),
            "contrat",
        )
        .id();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let r = reqwest::blocking::Client::new()
        .get(format!(
            "{}/parapheur-ws/rest/v1/documents/v2/{id}/history",
            app.base
        ))
        .basic_auth("depot@a.fr", Some("password-depot"))
        .header("traceparent", format!("00-{trace}-{parent}-01"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let wanted = |s: &Value| s["trace_id"] == trace;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !spans(dir.path()).iter().any(wanted) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let all = spans(dir.path());
    let ours: Vec<&Value> = all.iter().filter(|s| wanted(s)).collect();
    assert_eq!(ours.len(), 1, "{all:#?}");
    let span = ours[0];
    assert_eq!(
        span["name"],
        "GET /parapheur-ws/rest/v1/documents/v2/{id}/history"
    );
    assert_eq!(span["kind"], 2, "SPAN_KIND_SERVER");
    assert_eq!(span["parent_span_id"], parent);
    assert_eq!(span["attributes"]["http.response.status_code"], 200);
    assert_eq!(
        span["attributes"]["http.route"],
        "/parapheur-ws/rest/v1/documents/v2/{id}/history"
    );
    assert_eq!(span["attributes"]["http.request.method"], "GET");
    assert!(
        span["attributes"]["request_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(span["resource"]["service.name"], "parapheur-test");
    assert_eq!(span["content_type"], "application/x-protobuf");
    // The deposit, without a `traceparent`, began a trace of its own.
    assert!(
        all.iter().any(|s| s["name"]
            == "POST /parapheur-ws/rest/v1/documents/v2/{id}/{circuit}/upload"
            && s["parent_span_id"] == ""),
        "{all:#?}"
    );

    // The jobs the deposit caused (the e-mail to the first member) are spans too.
    let deadline = Instant::now() + Duration::from_secs(20);
    let is_job = |s: &Value| {
        s["name"].as_str().is_some_and(|n| n.starts_with("job "))
            && s["attributes"]["job.kind"].is_string()
    };
    while !spans(dir.path()).iter().any(is_job) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let all = spans(dir.path());
    assert!(all.iter().any(is_job), "{all:#?}");

    // The receiver stops: requests are served as before (spans are dropped, not waited for).
    drop(_receiver);
    let started = Instant::now();
    assert_eq!(
        depot
            .get(&format!("/parapheur-ws/rest/v1/documents/v2/{id}/history"))
            .status,
        200
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(app.terminate(Duration::from_secs(20)).is_some());
}
