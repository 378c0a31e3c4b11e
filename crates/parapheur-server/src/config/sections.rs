//! The plain sections of the configuration (numbers and paths, read as written): `[fast]`,
//! `[jobs]`, `[otp]`, `[limits]`, `[retention]`, `[tls]`, and their checks.

use super::{KeyError, Problem};
use serde::Deserialize;

/// Request governance: authentication throttling and connection limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Failed authentications of one account within the window before HTTP 429.
    pub auth_failures_per_account: i64,
    /// Failed authentications from one client address within the window before HTTP 429.
    pub auth_failures_per_ip: i64,
    /// The counting window of failed authentications, in seconds.
    pub auth_window_s: u64,
    /// Requests to the public verification service (`/verifier`) from one client address per
    /// minute before HTTP 429.
    pub verifications_per_ip: i64,
    /// Single sign-on starts (`/parapheur/oidc/login`) from one client address per minute
    /// before HTTP 429.
    pub sign_ons_per_ip: i64,
    /// Password hashes computed at once (argon2id takes 19 MiB each); 0 = the number of CPUs.
    pub password_hash_concurrency: usize,
    /// Open connections at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// A request's headers (and an idle keep-alive connection's next request) must arrive
    /// within this many seconds.
    pub header_timeout_s: u64,
    /// A request's body must arrive within this many seconds.
    pub body_timeout_s: u64,
    /// After SIGTERM: how long requests in progress and the job worker's current batch may
    /// take to finish before the process exits anyway.
    pub shutdown_grace_s: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            auth_failures_per_account: 5,
            auth_failures_per_ip: 50,
            auth_window_s: 900,
            verifications_per_ip: 30,
            sign_ons_per_ip: 20,
            password_hash_concurrency: 0,
            max_connections: 1024,
            header_timeout_s: 30,
            body_timeout_s: 300,
            shutdown_grace_s: 30,
        }
    }
}

/// The durable job queue that delivers e-mails and SMS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// How often the worker looks for due jobs when nothing woke it.
    pub poll_ms: u64,
    /// First retry delay after a failed delivery; doubles at each attempt.
    pub retry_base_ms: u64,
    /// Longest delay between two attempts (failures are retried without end).
    pub retry_max_ms: u64,
    /// Delivered jobs (and finished portal batches) are deleted after this many days (0: kept).
    pub keep_done_days: u32,
    /// The durable run of an automatic step (seal, verification, archive, delivery) is due this
    /// long after the transition that enters it; it does the step if the immediate run failed
    /// (a timestamp authority down...) and is then retried with the backoff above.
    pub automatic_retry_ms: u64,
    /// A claimed job belongs to its worker this long; past it another instance takes it over
    /// (an instance that died mid-job). Longer than any transport timeout.
    pub lease_ms: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            poll_ms: 1000,
            retry_base_ms: 2000,
            retry_max_ms: 15 * 60 * 1000,
            keep_done_days: 7,
            automatic_retry_ms: 30_000,
            lease_ms: 5 * 60 * 1000,
        }
    }
}

/// The OTP signing page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtpConfig {
    /// How long an OTP signing link stays usable.
    pub link_ttl_hours: u64,
}

impl Default for OtpConfig {
    fn default() -> Self {
        Self {
            link_ttl_hours: 30 * 24,
        }
    }
}

/// `[fast]`: the FAST routes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FastConfig {
    pub error_status: u16,
    /// How long a document's history may be served from memory (0 disables). Writes through
    /// this instance invalidate at once; other instances' writes are seen within this delay.
    pub history_cache_ms: u64,
}

/// `[telemetry]`: OpenTelemetry traces (OTLP over HTTP, protobuf). Off while `otlp_endpoint` is
/// empty.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// The collector's traces URL, e.g. `http://otel-collector:4318/v1/traces`.
    pub otlp_endpoint: String,
    /// `service.name` of the spans.
    pub service_name: String,
    /// The share of traces kept (0.0–1.0) when the caller did not decide (a `traceparent`
    /// header's sampled flag is followed).
    pub sample_ratio: f64,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: String::new(),
            service_name: "parapheur".into(),
            sample_ratio: 1.0,
        }
    }
}

impl TelemetryConfig {
    pub(super) fn check(&self) -> Result<(), KeyError> {
        let e = &self.otlp_endpoint;
        if !(e.is_empty() || e.starts_with("http://") || e.starts_with("https://")) {
            return Err(KeyError::new(
                "telemetry.otlp_endpoint",
                Problem::Invalid {
                    value: e.clone(),
                    expected: "an http:// or https:// URL",
                },
            ));
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(KeyError::new(
                "telemetry.sample_ratio",
                Problem::Rule("between 0.0 and 1.0"),
            ));
        }
        Ok(())
    }
}

/// `[retention]`: purge of classified documents and of orphan files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub purge_after_days: u32,
    /// How often classified documents are checked for the purge (seconds).
    pub check_interval_s: u64,
    /// Stored files no row refers to (left by a crash between a commit and a file deletion,
    /// or by a deposit that failed after its files were written) are deleted once older than
    /// this (seconds; 0 disables).
    pub orphan_blob_age_s: u64,
    /// How often that sweep runs (seconds): it lists every stored file and every reference, so
    /// it runs daily by default; the first run comes one `check_interval_s` after the start.
    pub orphan_sweep_interval_s: u64,
}

/// `[tls]`: HTTPS and client certificates (paths to PEM files; empty = unset).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    pub cert: String,
    pub key: String,
    pub client_ca: String,
    /// PEM CRLs checked for client certificates.
    pub crl: String,
    /// A header in which a trusted reverse proxy forwards the client certificate (URL-escaped
    /// PEM); empty = off.
    pub proxy_cert_header: String,
    /// Addresses of the reverse proxies whose `proxy_cert_header` and `X-Forwarded-For` (the
    /// client address of the authentication throttle) are believed.
    pub trusted_proxies: Vec<String>,
}

impl Default for FastConfig {
    fn default() -> Self {
        Self {
            error_status: 200,
            history_cache_ms: 1000,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            purge_after_days: 0,
            check_interval_s: 3600,
            orphan_blob_age_s: 86_400,
            orphan_sweep_interval_s: 86_400,
        }
    }
}

impl FastConfig {
    pub(super) fn check(&self) -> Result<(), KeyError> {
        if !(200..=599).contains(&self.error_status) {
            return Err(KeyError::new(
                "fast.error_status",
                Problem::Invalid {
                    value: self.error_status.to_string(),
                    expected: "an HTTP status",
                },
            ));
        }
        Ok(())
    }
}

impl JobsConfig {
    pub(super) fn check(&self) -> Result<(), KeyError> {
        if self.retry_base_ms == 0 || self.retry_max_ms < self.retry_base_ms {
            return Err(KeyError::new(
                "jobs.retry_base_ms",
                Problem::Rule("must be > 0 and <= jobs.retry_max_ms"),
            ));
        }
        if self.lease_ms < 1000 {
            return Err(KeyError::new(
                "jobs.lease_ms",
                Problem::Rule("must be at least 1000"),
            ));
        }
        Ok(())
    }
}

impl LimitsConfig {
    pub(super) fn check(&self) -> Result<(), KeyError> {
        if self.auth_failures_per_account < 1
            || self.auth_failures_per_ip < 1
            || self.verifications_per_ip < 1
        {
            return Err(KeyError::new(
                "limits.auth_failures_per_* and verifications_per_ip",
                Problem::Rule("at least 1"),
            ));
        }
        if self.auth_window_s == 0
            || self.max_connections == 0
            || self.header_timeout_s == 0
            || self.body_timeout_s == 0
        {
            return Err(KeyError::new(
                "limits",
                Problem::Rule(
                    "auth_window_s, max_connections, header_timeout_s and body_timeout_s must be > 0",
                ),
            ));
        }
        Ok(())
    }
}

impl TlsConfig {
    pub(super) fn check(&self) -> Result<(), KeyError> {
        if self.cert.is_empty() != self.key.is_empty() {
            return Err(KeyError::new(
                "tls",
                Problem::Rule("`cert` and `key` go together"),
            ));
        }
        if !self.proxy_cert_header.is_empty() && self.client_ca.is_empty() {
            return Err(KeyError::new(
                "tls.proxy_cert_header",
                Problem::Rule("needs `client_ca` and `trusted_proxies`"),
            ));
        }
        for p in &self.trusted_proxies {
            super::proxy_net("tls.trusted_proxies", p)?;
        }
        Ok(())
    }
}

/// `[reminders]` (CONTRACT §11): reminder e-mails around a document's deadline, and the daily
/// digest of the users who chose it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemindersConfig {
    /// Days before the deadline when the members of the current step are reminded.
    pub before_days: Vec<u32>,
    /// Days after the deadline when the members (and the depositor) are reminded.
    pub after_days: Vec<u32>,
    /// How often the reminders and digests due are looked for.
    pub check_interval_s: u64,
    /// The hour (server time, 0–23) from which the daily digest of the day is sent.
    pub digest_hour: u32,
}

impl Default for RemindersConfig {
    fn default() -> Self {
        Self {
            before_days: vec![2],
            after_days: vec![1, 3, 7],
            check_interval_s: 3600,
            digest_hour: 7,
        }
    }
}

/// `[webhooks]` (CONTRACT §11): delivery of the events to the subscribers' endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Attempts of one delivery before it is recorded as failed.
    pub max_attempts: u32,
    /// Time allowed to an endpoint to answer.
    pub timeout_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            timeout_ms: 10_000,
        }
    }
}
