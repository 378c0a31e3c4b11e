//! `parapheur-agent sign --server URL --user EMAIL --password-env VAR --pkcs11-module PATH
//! [--token-label L] --pin-env VAR (--all | --document ID)` (CONTRACT §12).

fn main() -> std::process::ExitCode {
    match parapheur_agent::run(std::env::args()) {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            if report.failed.is_empty() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("parapheur-agent: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
