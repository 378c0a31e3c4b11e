//! Outgoing transports (connectors): e-mail, SMS, the Helios transmitter and document
//! delivery, each behind a trait chosen from the configuration at start-up.

pub mod delivery;
pub mod ldap;
pub mod mail;
pub mod s2low_answers;
pub mod sms;
pub mod transmitter;

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
