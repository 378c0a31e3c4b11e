//! The signing agent: signs a user's pending documents with the user's own key, held on a
//! PKCS#11 token (a smart card; SoftHSM2 in the tests). The key never leaves the token and
//! the server never sees it: for each document the agent asks the server for the data to sign
//! (`POST /api/v1/documents/{id}/sign/prepare` with the token's certificate), signs it on the
//! token, and sends the value back (`POST /api/v1/documents/{id}/sign/complete`); the server
//! embeds it (PAdES, with the timestamps and validation data of its configured level).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::{Args, Parser, Subcommand};
use parapheur_sign::pkcs11::{HsmKey, HsmKeyRef, signing_keys};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Usage(String),
    #[error("the environment variable {0} is not set")]
    MissingEnv(String),
    #[error("token: {0}")]
    Token(#[from] parapheur_sign::SignError),
    #[error("the token {0:?} holds no key with a certificate beside it")]
    NoKey(String),
    #[error("server: {0}")]
    Http(#[from] reqwest::Error),
    #[error("server answered HTTP {status} to {what}: {body}")]
    Refused {
        what: String,
        status: u16,
        body: String,
    },
}

#[derive(Parser, Debug)]
#[command(
    name = "parapheur-agent",
    about = "Signs pending documents with your own PKCS#11 token"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Signs the signature steps waiting for the user.
    Sign(SignArgs),
    /// Stores a certificate (DER or PEM file) on the token beside the key of the same label,
    /// as a card's issuer does: `sign` uses the keys that have one.
    StoreCertificate(StoreArgs),
}

#[derive(Args, Debug)]
struct StoreArgs {
    #[arg(long)]
    pkcs11_module: String,
    #[arg(long)]
    token_label: Option<String>,
    #[arg(long)]
    pin_env: String,
    /// The label of the key the certificate belongs to.
    #[arg(long)]
    label: String,
    /// The certificate file.
    #[arg(long)]
    file: std::path::PathBuf,
}

#[derive(Args, Debug)]
struct SignArgs {
    /// The parapheur's address, e.g. https://parapheur.example.fr
    #[arg(long)]
    server: String,
    /// The user's e-mail (their parapheur account).
    #[arg(long)]
    user: String,
    /// The environment variable holding the account's password.
    #[arg(long)]
    password_env: String,
    /// The PKCS#11 module of the card (e.g. /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so).
    #[arg(long)]
    pkcs11_module: String,
    /// The token's label (default: the first token present).
    #[arg(long)]
    token_label: Option<String>,
    /// The environment variable holding the card's PIN.
    #[arg(long)]
    pin_env: String,
    /// Every document waiting for the user's signature.
    #[arg(long, conflicts_with = "document")]
    all: bool,
    /// One document.
    #[arg(long)]
    document: Option<i64>,
}

/// What was signed, and what could not be.
#[derive(Debug, Default)]
pub struct Report {
    pub signed: Vec<(i64, String)>,
    pub failed: Vec<(i64, String)>,
}

impl Report {
    /// One line per document, in French (the user reads them).
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .signed
            .iter()
            .map(|(id, name)| format!("signé : document {id} ({name})"))
            .collect();
        out.extend(
            self.failed
                .iter()
                .map(|(id, why)| format!("échec : document {id} : {why}")),
        );
        if out.is_empty() {
            out.push("aucun document à signer".into());
        }
        out
    }
}

#[derive(Deserialize)]
struct Task {
    id: i64,
    name: String,
    step: String,
}

#[derive(Deserialize)]
struct Prepared {
    data_to_sign: String,
    /// Every data to sign (a PES has one per Bordereau); older servers send `data_to_sign`
    /// only.
    #[serde(default)]
    data_to_sign_all: Vec<String>,
    signing_time: String,
}

/// A certificate file, DER or PEM.
fn certificate_der(bytes: &[u8]) -> Result<Vec<u8>, AgentError> {
    let text = String::from_utf8_lossy(bytes);
    if let Some(start) = text.find("-----BEGIN CERTIFICATE-----") {
        let body: String = text[start + 27..]
            .lines()
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        return B64
            .decode(body.trim())
            .map_err(|e| AgentError::Usage(format!("the PEM certificate is not base64 ({e})")));
    }
    Ok(bytes.to_vec())
}

fn env(name: &str) -> Result<String, AgentError> {
    std::env::var(name).map_err(|_| AgentError::MissingEnv(name.to_owned()))
}

/// The API as the user.
struct Api {
    http: reqwest::blocking::Client,
    base: String,
    user: String,
    password: String,
}

impl Api {
    fn send(&self, what: &str, r: reqwest::blocking::RequestBuilder) -> Result<Value, AgentError> {
        let res = r.basic_auth(&self.user, Some(&self.password)).send()?;
        let status = res.status().as_u16();
        let body = res.text()?;
        if !(200..300).contains(&status) {
            return Err(AgentError::Refused {
                what: what.to_owned(),
                status,
                body,
            });
        }
        serde_json::from_str(&body).map_err(|e| AgentError::Refused {
            what: what.to_owned(),
            status,
            body: format!("not JSON ({e})"),
        })
    }

    fn get(&self, path: &str) -> Result<Value, AgentError> {
        self.send(path, self.http.get(format!("{}{path}", self.base)))
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, AgentError> {
        self.send(
            path,
            self.http.post(format!("{}{path}", self.base)).json(body),
        )
    }
}

/// Runs the command line `args` (the program name first).
pub fn run(args: impl IntoIterator<Item = String>) -> Result<Report, AgentError> {
    let cli = Cli::try_parse_from(args).map_err(|e| AgentError::Usage(e.to_string()))?;
    let a = match cli.command {
        Command::Sign(a) => a,
        Command::StoreCertificate(s) => {
            let bytes = std::fs::read(&s.file)
                .map_err(|e| AgentError::Usage(format!("{}: {e}", s.file.display())))?;
            let cert = certificate_der(&bytes)?;
            parapheur_sign::pkcs11::store_certificate(
                &s.pkcs11_module,
                s.token_label.as_deref(),
                &env(&s.pin_env)?,
                &s.label,
                &cert,
            )?;
            return Ok(Report::default());
        }
    };
    if !a.all && a.document.is_none() {
        return Err(AgentError::Usage(
            "--all or --document ID is required".into(),
        ));
    }
    let pin = env(&a.pin_env)?;
    let api = Api {
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?,
        base: a.server.trim_end_matches('/').to_owned(),
        user: a.user.clone(),
        password: env(&a.password_env)?,
    };

    // The card's key and certificate.
    let (token, keys) = signing_keys(&a.pkcs11_module, a.token_label.as_deref(), &pin)?;
    let (key_label, cert) = keys
        .into_iter()
        .next()
        .ok_or(AgentError::NoKey(token.clone()))?;
    let key = HsmKey::open(&HsmKeyRef {
        module: a.pkcs11_module.clone(),
        token,
        pin,
        key_label,
    })?;
    // The holder's certificate and its issuers found on the card.
    let on_card = parapheur_sign::pkcs11::token_certificates(
        &a.pkcs11_module,
        a.token_label.as_deref(),
        &env(&a.pin_env)?,
    )?;
    let certificates = parapheur_sign::pkcs11::chain_of(cert, &on_card)
        .iter()
        .map(|c| c.to_der().map(|d| B64.encode(d)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(parapheur_sign::SignError::from)?;

    // What to sign.
    let tasks: Vec<Task> =
        serde_json::from_value(api.get("/api/v1/tasks")?).map_err(|e| AgentError::Refused {
            what: "/api/v1/tasks".into(),
            status: 200,
            body: format!("unexpected answer ({e})"),
        })?;
    let todo: Vec<(i64, String)> = match a.document {
        Some(id) => vec![(
            id,
            tasks
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
        )],
        None => tasks
            .into_iter()
            .filter(|t| t.step == "signature")
            .map(|t| (t.id, t.name))
            .collect(),
    };

    let mut report = Report::default();
    for (id, name) in todo {
        match sign_one(&api, &key, &certificates, id) {
            Ok(()) => report.signed.push((id, name)),
            Err(e) => report.failed.push((id, e.to_string())),
        }
    }
    Ok(report)
}

fn sign_one(api: &Api, key: &HsmKey, certificates: &[String], id: i64) -> Result<(), AgentError> {
    let prepared: Prepared = serde_json::from_value(api.post(
        &format!("/api/v1/documents/{id}/sign/prepare"),
        &json!({ "certificates": certificates }),
    )?)
    .map_err(|e| AgentError::Refused {
        what: "prepare".into(),
        status: 200,
        body: format!("unexpected answer ({e})"),
    })?;
    let all = if prepared.data_to_sign_all.is_empty() {
        vec![prepared.data_to_sign]
    } else {
        prepared.data_to_sign_all
    };
    let mut values = Vec::with_capacity(all.len());
    for data in &all {
        let data = B64
            .decode(data.as_bytes())
            .map_err(|e| AgentError::Refused {
                what: "prepare".into(),
                status: 200,
                body: format!("data_to_sign is not base64 ({e})"),
            })?;
        values.push(B64.encode(key.sign(&data)?));
    }
    api.post(
        &format!("/api/v1/documents/{id}/sign/complete"),
        &json!({
            "certificates": certificates,
            "signing_time": prepared.signing_time,
            "signatures": values,
        }),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = [
            "parapheur-agent",
            "sign",
            "--server",
            "http://127.0.0.1:9",
            "--user",
            "a@b.fr",
            "--password-env",
            "PARAPHEUR_AGENT_TEST_UNSET_PASSWORD",
            "--pkcs11-module",
            "/nonexistent/module.so",
            "--pin-env",
            "PARAPHEUR_AGENT_TEST_UNSET_PIN",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    }

    #[test]
    fn the_command_line_is_checked_before_anything_is_done() {
        // Neither --all nor --document.
        let e = run(args(&[])).unwrap_err();
        assert!(
            matches!(e, AgentError::Usage(ref m) if m.contains("--all")),
            "{e}"
        );
        // Both.
        let e = run(args(&["--all", "--document", "3"])).unwrap_err();
        assert!(matches!(e, AgentError::Usage(_)), "{e}");
        // A missing required option.
        let e = run(vec![
            "parapheur-agent".into(),
            "sign".into(),
            "--all".into(),
        ])
        .unwrap_err();
        assert!(
            matches!(e, AgentError::Usage(ref m) if m.contains("--server")),
            "{e}"
        );
        // The PIN is read from the environment, never from the command line.
        let e = run(args(&["--all"])).unwrap_err();
        assert!(
            matches!(e, AgentError::MissingEnv(ref v) if v == "PARAPHEUR_AGENT_TEST_UNSET_PIN"),
            "{e}"
        );
    }

    #[test]
    fn reports_say_what_was_signed_and_what_failed_in_french() {
        let r = Report {
            signed: vec![(3, "Arrêté".into())],
            failed: vec![(4, "refusé".into())],
        };
        assert_eq!(
            r.lines(),
            ["signé : document 3 (Arrêté)", "échec : document 4 : refusé"]
        );
        assert_eq!(Report::default().lines(), ["aucun document à signer"]);
    }

    #[test]
    fn certificates_are_read_as_pem_or_der() {
        let der = b"\x30\x03\x02\x01\x01".to_vec();
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            B64.encode(&der)
        );
        assert_eq!(certificate_der(pem.as_bytes()).unwrap(), der);
        assert_eq!(certificate_der(&der).unwrap(), der);
    }
}
