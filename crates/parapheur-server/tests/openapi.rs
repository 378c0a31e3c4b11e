//! The OpenAPI description (issue 21, CONTRACT §13): `GET /api/v1/openapi.json` describes the
//! native API, the FAST routes (with the FAST error body) and the operations endpoints, and
//! Schemathesis (PyPI, installed under `target/schemathesis` by scripts/test.sh) runs its
//! generated requests against the live server: no 5xx, every status, media type, header and
//! body as described.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parapheur_test_utils::{Client, SIREN_A, TestApp, pdf};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_parapheur");

fn description(app: &TestApp) -> Value {
    let r = app.client("", "").get("/api/v1/openapi.json");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.content_type.starts_with("application/json"),
        "{}",
        r.content_type
    );
    r.json()
}

#[test]
fn the_description_covers_the_contract_routes_with_their_error_bodies() {
    let app = TestApp::start(BIN, "");
    let doc = description(&app);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    // CONTRACT §5 and §10–13, and the FAST routes of the documentation.
    for (method, path) in [
        ("get", "/api/v1/tasks"),
        ("post", "/api/v1/documents/{id}/visa"),
        ("post", "/api/v1/documents/{id}/reject"),
        ("post", "/api/v1/documents/{id}/sign"),
        ("post", "/api/v1/documents/{id}/refuse"),
        ("post", "/api/v1/documents/{id}/replace"),
        ("post", "/api/v1/documents/{id}/comments"),
        ("post", "/api/v1/documents/{id}/annexes"),
        ("post", "/api/v1/documents/{id}/interrupt"),
        ("get", "/api/v1/pki/ca.pem"),
        ("post", "/api/v1/subscribers/{siren}/inbound/{kind}"),
        ("put", "/api/v1/me/absence"),
        ("put", "/api/v1/documents/{id}/steps/current/members"),
        ("get", "/healthz"),
        ("get", "/metrics"),
        (
            "post",
            "/parapheur-ws/rest/v1/documents/v2/{id}/{circuit}/upload",
        ),
        (
            "post",
            "/parapheur-ws/rest/v1/documents/ondemand/{siren}/upload",
        ),
        ("get", "/parapheur-ws/rest/v1/documents/v2/{id}/download"),
        ("get", "/parapheur-ws/rest/v1/documents/v2/{id}/history"),
        ("delete", "/parapheur-ws/rest/v1/documents/v2/{id}"),
        ("post", "/parapheur-ws/rest/v1/documents/search"),
        ("get", "/parapheur-ws/rest/v1/documents/v2/otp/url"),
        ("get", "/parapheur-ws/rest/v1/exportUsersData"),
        ("put", "/parapheur-ws/rest/v1/synchronization/{siren}/users"),
        (
            "get",
            "/parapheur-ws/rest/v1/documents/v2/{id}/pes-retour/remaining",
        ),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not described"
        );
    }
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            let default = &op["responses"]["default"]["content"];
            if path.starts_with("/parapheur-ws/") {
                assert_eq!(
                    default["application/json"]["schema"]["$ref"], "#/components/schemas/FastError",
                    "{method} {path}"
                );
                assert!(op["security"].as_array().is_some_and(|s| s.len() == 2));
            } else if path.starts_with("/api/v1/") {
                assert_eq!(
                    default["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path}"
                );
            }
        }
    }
    // With the default `[fast] error_status = 200`, a 200 may carry the FAST error body.
    let history = &paths["/parapheur-ws/rest/v1/documents/v2/{id}/history"]["get"]["responses"]["200"]
        ["content"]["application/json"]["schema"]["oneOf"];
    assert_eq!(
        history[1]["$ref"], "#/components/schemas/FastError",
        "{history}"
    );
    let download = &paths["/parapheur-ws/rest/v1/documents/v2/{id}/download"]["get"]["responses"]["200"]
        ["content"];
    assert!(download.get("application/pdf").is_some());
    assert_eq!(
        download["application/json"]["schema"]["$ref"],
        "#/components/schemas/FastError"
    );
    let error = &doc["components"]["schemas"]["FastError"];
    let required: BTreeSet<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        required,
        BTreeSet::from([
            "generation",
            "developerMessage",
            "userFriendlyMessage",
            "errorCode"
        ])
    );
    // The body really sent on a FAST error matches those names.
    let r = app
        .client("depot@a.fr", "password-depot")
        .get("/parapheur-ws/rest/v1/documents/v2/999999/history");
    let body = r.json();
    for k in &required {
        assert!(body.get(*k).is_some(), "{k} missing from {body}");
    }
    assert!(doc["components"]["securitySchemes"]["basic"].is_object());
}

#[test]
fn with_errors_on_their_own_status_a_200_is_success_only() {
    let app = TestApp::start(BIN, "[fast]\nerror_status = 400\n");
    let doc = description(&app);
    let ok = &doc["paths"]["/parapheur-ws/rest/v1/documents/v2/{id}/history"]["get"]["responses"]["200"]
        ["content"]["application/json"]["schema"];
    assert!(ok.get("oneOf").is_none(), "{ok}");
    assert_eq!(ok["type"], "array");
}

/// A document deposited into the standard `VVS` circuit, and its depositor's client.
fn a_document(app: &TestApp) -> (Client, i64) {
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
    (depot, id)
}

/// Schemathesis's command line (`PARAPHEUR_SCHEMATHESIS`, else where scripts/test.sh puts it).
fn schemathesis() -> PathBuf {
    let st = std::env::var_os("PARAPHEUR_SCHEMATHESIS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/schemathesis/bin/st"),
        PathBuf::from,
    );
    assert!(
        st.exists(),
        "Schemathesis is required by this test: scripts/test.sh installs it (PyPI) into target/schemathesis ({})",
        st.display()
    );
    st
}

/// Schemathesis reads the OCSP responder's request body as raw bytes, as it does for
/// application/octet-stream.
const HOOKS: &str = r#"
import schemathesis

schemathesis.serializer.alias("application/ocsp-request", "application/octet-stream")
"#;

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_outside_the_description() {
    let st = schemathesis();
    let app = TestApp::start(BIN, "");
    // Real identifiers, so that generated requests reach the handlers' logic (not only 404s):
    // a document in a circuit, its subscriber, circuit and a member.
    let (_, id) = a_document(&app);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hooks.py"), HOOKS).unwrap();
    std::fs::write(
        dir.path().join("schemathesis.toml"),
        format!(
            "[parameters]\n\"path.id\" = {id}\n\"path.siren\" = \"{SIREN_A}\"\n\
             \"path.circuit\" = \"VVS\"\n\"path.email\" = \"v1@a.fr\"\n"
        ),
    )
    .unwrap();
    // Deleting the document first would leave the other operations only 404s to test: it
    // runs in a second pass.
    let mut report = schemathesis_pass(&st, dir.path(), &app.base, "--exclude-operation-id");
    report.push_str(&schemathesis_pass(
        &st,
        dir.path(),
        &app.base,
        "--include-operation-id",
    ));
    // It did test every described operation.
    let operations = description(&app)["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum::<usize>();
    assert!(
        report.contains(&format!("Tested: {}", operations - 1)) && report.contains("Tested: 1"),
        "expected {operations} operations tested:\n{report}"
    );
    // The server still answers after thousands of generated requests.
    let health = app.client("", "").get("/healthz");
    assert_eq!(health.status, 200, "{}", health.text());
}

/// One Schemathesis run against the server at `base`, with or without (`filter`) the FAST
/// `delete` operation; panics with its report when it finds a problem.
fn schemathesis_pass(st: &Path, dir: &Path, base: &str, filter: &str) -> String {
    let out = Command::new(st)
        .current_dir(dir)
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", dir)
        .args([
            "--config-file",
            "schemathesis.toml",
            "--no-color",
            "run",
            &format!("{base}/api/v1/openapi.json"),
            "--auth",
            "admin@a.fr:password-admin",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
            filter,
            "delete",
            "--max-examples",
            "30",
            "--seed",
            "20261206",
            "--request-timeout",
            "30",
            // One worker: with two threads, CPython 3.11 before 3.11.8 (Debian 12's, this
            // machine's 3.11.7) can raise a spurious "AST constructor recursion depth mismatch"
            // inside Hypothesis (cpython gh-106905), reported as a Schemathesis runtime error.
            "--workers",
            "1",
        ])
        .output()
        .expect("run schemathesis");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "Schemathesis found problems:\n{report}"
    );
    report
}

#[test]
fn text_with_a_nul_character_is_a_bad_parameter_on_every_engine() {
    // Found by Schemathesis on PostgreSQL (which cannot store NUL in text): a 500 before.
    let app = TestApp::start(BIN, "");
    let (depot, id) = a_document(&app);
    let r = depot.post_json(
        &format!("/api/v1/documents/{id}/comments"),
        serde_json::json!({ "text": "avant\u{0}après" }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.error_code(), Some(112));
    let r = app
        .client("v1@a.fr", "password-v1")
        .act(id, "visa", Some("vu\u{0}"));
    assert_eq!(r.status, 400, "{}", r.text());
    // Nothing was recorded: the document still waits for the first visa.
    let comments = depot
        .get(&format!("/api/v1/documents/{id}/comments"))
        .json();
    assert_eq!(comments.as_array().map(Vec::len), Some(0), "{comments}");
    assert_eq!(
        app.client("v1@a.fr", "password-v1")
            .act(id, "visa", None)
            .status,
        200
    );
}
