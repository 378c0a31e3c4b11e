//! SMS providers: `outbox` (JSON lines, the embedded default), `webhook` (HTTP POST of
//! `{"to","text"}`), and the OVHcloud SMS API.

use super::SendError;
use crate::config::SmsConfig;
use crate::jobs::SmsJob;
use futures_util::future::BoxFuture;
use sha1::{Digest, Sha1};
use std::path::PathBuf;

/// Delivers SMS. `key` identifies the message across retries (for idempotent providers).
pub trait SmsProvider: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, sms: &'a SmsJob, key: &'a str) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Appends `{"to","text"}` lines to a file, fsynced.
#[derive(Debug)]
pub struct OutboxSms {
    pub file: PathBuf,
}

impl SmsProvider for OutboxSms {
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
    pub url: String,
    pub http: reqwest::Client,
}

impl SmsProvider for WebhookSms {
    fn send<'a>(&'a self, sms: &'a SmsJob, key: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let r = self
                .http
                .post(&self.url)
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
    pub endpoint: String,
    pub application_key: String,
    pub application_secret: String,
    pub consumer_key: String,
    pub service_name: String,
    pub sender: String,
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

impl SmsProvider for OvhSms {
    fn send<'a>(&'a self, sms: &'a SmsJob, _key: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let url = format!(
                "{}/sms/{}/jobs",
                self.endpoint.trim_end_matches('/'),
                self.service_name
            );
            let mut body = serde_json::json!({
                "charset": "UTF-8",
                "coding": "7bit",
                "message": sms.text,
                "noStopClause": true,
                "priority": "high",
                "receivers": [sms.to],
            });
            if self.sender.is_empty() {
                body["senderForResponse"] = serde_json::Value::Bool(true);
            } else {
                body["sender"] = serde_json::Value::String(self.sender.clone());
            }
            let body = body.to_string();
            let ts = chrono::Utc::now().timestamp();
            let sig = ovh_signature(
                &self.application_secret,
                &self.consumer_key,
                "POST",
                &url,
                &body,
                ts,
            );
            let r = self
                .http
                .post(&url)
                .header("X-Ovh-Application", &self.application_key)
                .header("X-Ovh-Consumer", &self.consumer_key)
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
pub fn from_config(cfg: &SmsConfig, http: &reqwest::Client) -> Box<dyn SmsProvider> {
    match cfg.provider.as_str() {
        "webhook" => Box::new(WebhookSms {
            url: cfg.webhook_url.clone(),
            http: http.clone(),
        }),
        "ovh" => Box::new(OvhSms {
            endpoint: cfg.ovh_endpoint.clone(),
            application_key: cfg.ovh_application_key.clone(),
            application_secret: cfg.ovh_application_secret.clone(),
            consumer_key: cfg.ovh_consumer_key.clone(),
            service_name: cfg.ovh_service_name.clone(),
            sender: cfg.ovh_sender.clone(),
            http: http.clone(),
        }),
        _ => Box::new(OutboxSms {
            file: PathBuf::from(&cfg.outbox_file),
        }),
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
