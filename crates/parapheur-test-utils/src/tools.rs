//! Wrappers of the independent command-line tools the tests check results with (pyHanko,
//! qpdf, any program through `run_tool`).

use std::path::Path;
use std::process::Command;

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
