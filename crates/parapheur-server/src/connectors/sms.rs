//! SMS providers: `outbox` (JSON lines, the embedded default), `webhook` (HTTP POST of
//! `{"to","text"}`), and the OVHcloud SMS API.

use super::SendError;
use crate::config::{OvhSettings, SmsProvider};
use crate::jobs::SmsJob;
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};
use std::path::PathBuf;

/// Delivers SMS. `key` identifies the message across retries (for idempotent providers).
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, sms: &'a SmsJob, key: &'a str) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Appends `{"to","text"}` lines to a file, fsynced.
#[derive(Debug)]
pub struct OutboxSms {
    pub file: PathBuf,
}

impl SmsSender for OutboxSms {
    fn send<'a>(&'a self, sms: &'a SmsJob, _key: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let line = serde_json::json!({"to": sms.to, "text": sms.text}).to_string();
            let file = self.file.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                use std::io::Write;
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&file)?;
                f.write_all(format!("{line}\n").as_bytes())?;
                f.sync_all()
            })
            .await
            .map_err(|e| SendError::transient(e.to_string()))?
            .map_err(|e| SendError::transient(format!("writing the SMS outbox: {e}")))
        })
    }
}

/// POSTs `{"to","text"}` as JSON, with an `Idempotency-Key` header stable across retries.
#[derive(Debug)]
pub struct WebhookSms {
    /// May carry a token.
    pub url: SecretString,
    pub http: reqwest::Client,
}

impl SmsSender for WebhookSms {
    fn send<'a>(&'a self, sms: &'a SmsJob, key: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let r = self
                .http
                .post(self.url.expose_secret())
                .header("Idempotency-Key", key)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::json!({"to": sms.to, "text": sms.text}).to_string())
                .send()
                .await
                .map_err(|e| SendError::transient(format!("webhook: {e}")))?;
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            SendError::from_http(status, &body)
        })
    }
}

/// The OVHcloud SMS API: `POST {endpoint}/sms/{service}/jobs`, signed with the application
/// secret and consumer key as OVHcloud's API requires.
#[derive(Debug)]
pub struct OvhSms {
    pub settings: OvhSettings,
    pub http: reqwest::Client,
}

/// `$1$` + SHA-1 of `secret+consumer+METHOD+url+body+timestamp`, OVHcloud's request signature.
pub fn ovh_signature(
    secret: &str,
    consumer: &str,
    method: &str,
    url: &str,
    body: &str,
    timestamp: i64,
) -> String {
    let mut h = Sha1::new();
    h.update(format!("{secret}+{consumer}+{method}+{url}+{body}+{timestamp}").as_bytes());
    format!("$1${}", hex::encode(h.finalize()))
}

impl SmsSender for OvhSms {
    fn send<'a>(&'a self, sms: &'a SmsJob, _key: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let o = &self.settings;
            let url = format!(
                "{}/sms/{}/jobs",
                o.endpoint.trim_end_matches('/'),
                o.service_name
            );
            let mut body = serde_json::json!({
                "charset": "UTF-8",
                "coding": "7bit",
                "message": sms.text,
                "noStopClause": true,
                "priority": "high",
                "receivers": [sms.to],
            });
            match &o.sender {
                None => body["senderForResponse"] = serde_json::Value::Bool(true),
                Some(sender) => body["sender"] = serde_json::Value::String(sender.clone()),
            }
            let body = body.to_string();
            let ts = chrono::Utc::now().timestamp();
            let sig = ovh_signature(
                o.application_secret.expose_secret(),
                o.consumer_key.expose_secret(),
                "POST",
                &url,
                &body,
                ts,
            );
            let r = self
                .http
                .post(&url)
                .header("X-Ovh-Application", o.application_key.expose_secret())
                .header("X-Ovh-Consumer", o.consumer_key.expose_secret())
                .header("X-Ovh-Timestamp", ts.to_string())
                .header("X-Ovh-Signature", sig)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| SendError::transient(format!("OVHcloud SMS: {e}")))?;
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            SendError::from_http(status, &text)?;
            // A 200 that lists the receiver as invalid did not send anything.
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if v["invalidReceivers"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                return Err(SendError::permanent(format!(
                    "OVHcloud SMS refused the receiver {}",
                    sms.to
                )));
            }
            Ok(())
        })
    }
}

/// The provider chosen by `[sms] provider`.
pub fn from_config(cfg: &SmsProvider, http: &reqwest::Client) -> Box<dyn SmsSender> {
    match cfg {
        SmsProvider::Webhook { url } => Box::new(WebhookSms {
            url: url.clone(),
            http: http.clone(),
        }),
        SmsProvider::Ovh(settings) => Box::new(OvhSms {
            settings: settings.clone(),
            http: http.clone(),
        }),
        SmsProvider::Outbox { file } => Box::new(OutboxSms { file: file.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::ovh_signature;

    #[test]
    fn ovh_signature_is_sha1_of_the_joined_fields() {
        // echo -n 'S+C+GET+https://eu.api.ovh.com/1.0/me++1700000000' | sha1sum
        assert_eq!(
            ovh_signature(
                "S",
                "C",
                "GET",
                "https://eu.api.ovh.com/1.0/me",
                "",
                1_700_000_000
            ),
            "$1$3eb8c66c10306cbcfaa466a945d7544571dbf1a4"
        );
    }
}
