//! Outgoing messages: e-mail and SMS transports, and the worker of the durable job queue that
//! delivers them. Messages are enqueued (`parapheur_store::jobs`) in the transaction of the
//! change that causes them; a transport that fails delays them (retries with a backoff), a
//! committed change never loses them.

pub mod delivery;
pub mod helios;
pub mod mail;
pub mod sms;
pub mod worker;

use serde::{Deserialize, Serialize};

/// Job kind of an e-mail.
pub const MAIL: &str = "mail";
/// Job kind of an SMS.
pub const SMS: &str = "sms";
/// Job kind of a PES transmission to Helios.
pub const HELIOS_SEND: &str = "helios_send";
/// Job kind of the follow-up of a transmission, until its acknowledgement.
pub const HELIOS_POLL: &str = "helios_poll";

/// The payload of Helios jobs. `document_id` is a string so that a deposit's placeholder
/// (`NEW_DOCUMENT_ID`) can stand for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeliosJob {
    pub document_id: String,
    #[serde(default)]
    pub remote_id: String,
}

/// An e-mail, rendered when enqueued (retries send the same bytes and `Message-ID`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailJob {
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Without angle brackets: `<id>@parapheur`.
    pub message_id: String,
}

/// An SMS: `to` in international form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsJob {
    pub to: String,
    pub text: String,
}

/// A failed delivery. Transient failures are retried; permanent ones (the provider refuses
/// the message itself) are recorded as failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub transient: bool,
    pub message: String,
}

impl SendError {
    pub fn transient(m: impl Into<String>) -> Self {
        Self {
            transient: true,
            message: m.into(),
        }
    }
    pub fn permanent(m: impl Into<String>) -> Self {
        Self {
            transient: false,
            message: m.into(),
        }
    }
    /// Classifies an HTTP answer: 2xx ok; 408, 429 and 5xx transient; other 4xx permanent.
    pub fn from_http(status: reqwest::StatusCode, body: &str) -> Result<(), Self> {
        if status.is_success() {
            return Ok(());
        }
        let m = format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        );
        if status.is_server_error()
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        {
            Err(Self::transient(m))
        } else {
            Err(Self::permanent(m))
        }
    }
}

/// A fresh `Message-ID` (128 random bits).
pub fn new_message_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("{}@parapheur", hex::encode(b))
}

/// Writes `bytes` to `path` durably: temporary file, fsync, rename, directory fsync.
pub(crate) fn write_durably(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent directory"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out")
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
