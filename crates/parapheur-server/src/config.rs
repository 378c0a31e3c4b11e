//! Configuration: code defaults < TOML file (`--config`) < `PARAPHEUR_*` environment variables.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Top-level keys, used to keep unrelated `PARAPHEUR_*` variables out of the configuration.
const TOP_KEYS: [&str; 20] = [
    "listen",
    "public_url",
    "data_dir",
    "database_url",
    "blob_url",
    "provision",
    "max_upload_bytes",
    "fast",
    "mail",
    "sms",
    "helios",
    "archive",
    "retention",
    "tls",
    "log",
    "signing",
    "jobs",
    "otp",
    "deliver",
    "limits",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    pub public_url: String,
    pub data_dir: PathBuf,
    /// Defaults to `sqlite://<data_dir>/parapheur.db`.
    pub database_url: String,
    /// Defaults to `file://<data_dir>/blobs`.
    pub blob_url: String,
    pub provision: String,
    /// Largest accepted request body on upload routes, in bytes.
    pub max_upload_bytes: u64,
    /// `tracing` filter, e.g. `info` or `parapheur=debug`.
    pub log: String,
    pub fast: FastConfig,
    pub mail: MailConfig,
    pub sms: SmsConfig,
    pub helios: HeliosConfig,
    pub archive: ArchiveConfig,
    pub retention: RetentionConfig,
    pub tls: TlsConfig,
    pub signing: SigningConfig,
    pub jobs: JobsConfig,
    pub otp: OtpConfig,
    pub deliver: DeliverConfig,
    pub limits: LimitsConfig,
}

/// Request governance: authentication throttling and connection limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Failed authentications of one account within the window before HTTP 429.
    pub auth_failures_per_account: i64,
    /// Failed authentications from one client address within the window before HTTP 429.
    pub auth_failures_per_ip: i64,
    /// The counting window of failed authentications, in seconds.
    pub auth_window_s: u64,
    /// Password hashes computed at once (argon2id takes 19 MiB each); 0 = the number of CPUs.
    pub password_hash_concurrency: usize,
    /// Open connections at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// A request's headers (and an idle keep-alive connection's next request) must arrive
    /// within this many seconds.
    pub header_timeout_s: u64,
    /// A request's body must arrive within this many seconds.
    pub body_timeout_s: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            auth_failures_per_account: 5,
            auth_failures_per_ip: 50,
            auth_window_s: 900,
            password_hash_concurrency: 0,
            max_connections: 1024,
            header_timeout_s: 30,
            body_timeout_s: 300,
        }
    }
}

/// `deliver` steps: the connector to the recipients' digital safe.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverConfig {
    /// `outbox` (a directory per delivery).
    pub connector: String,
    pub outbox_dir: String,
}

impl Default for DeliverConfig {
    fn default() -> Self {
        Self {
            connector: "outbox".into(),
            outbox_dir: String::new(),
        }
    }
}

/// The durable job queue that delivers e-mails and SMS.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            poll_ms: 1000,
            retry_base_ms: 2000,
            retry_max_ms: 15 * 60 * 1000,
            keep_done_days: 7,
            automatic_retry_ms: 30_000,
        }
    }
}

/// The OTP signing page.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// PEM bundle of extra trust anchors for the verification step (the internal CA is always
    /// trusted), e.g. the CA of imported PKCS#12 keys.
    pub trust_anchors: String,
    /// RFC 3161 timestamp authority: when set, PAdES signatures are B-T (timestamped).
    pub tsa_url: String,
    /// Subscribers' seals held on a PKCS#11 token (HSM) instead of the internal CA's files.
    pub hsm_seals: Vec<HsmSealConfig>,
    /// Users' signing keys held on a PKCS#11 token (HSM): their signatures use that key.
    pub hsm_users: Vec<HsmUserConfig>,
}

/// `[[signing.hsm_users]]`: one user's signing key on a PKCS#11 token (same fields as a seal,
/// with the user's e-mail instead of a SIREN).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HsmUserConfig {
    pub email: String,
    pub module: String,
    pub token: String,
    pub pin: String,
    pub key_label: String,
    pub certificate: String,
}

/// `[[signing.hsm_seals]]`: the seal of one subscriber on a PKCS#11 token.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct HsmSealConfig {
    pub siren: String,
    /// The PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    pub module: String,
    /// The token's label.
    pub token: String,
    /// The user PIN.
    pub pin: String,
    /// CKA_LABEL of the private key (and of its certificate object, when it is on the token).
    pub key_label: String,
    /// PEM of the key's certificate and its chain; empty: the certificate on the token.
    pub certificate: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FastConfig {
    pub error_status: u16,
    /// How long a document's history may be served from memory (0 disables). Writes through
    /// this instance invalidate at once; other instances' writes are seen within this delay.
    pub history_cache_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    pub transport: String,
    pub outbox_dir: String,
    pub smtp_url: String,
    pub from: String,
    /// Validity of the download links sent to recipients of a signed document.
    pub link_ttl_days: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    pub provider: String,
    pub outbox_file: String,
    pub webhook_url: String,
    /// OVHcloud SMS API (`provider = "ovh"`).
    pub ovh_endpoint: String,
    pub ovh_application_key: String,
    pub ovh_application_secret: String,
    pub ovh_consumer_key: String,
    pub ovh_service_name: String,
    /// Sender name registered with OVHcloud; empty = a short number that accepts replies.
    pub ovh_sender: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeliosConfig {
    /// `simulator` (default) or `s2low`.
    pub transmitter: String,
    /// The simulator acknowledges this long after a send ("Transmis à Hélios" at half).
    pub simulator_ack_delay_ms: u64,
    /// Share of simulated sends that fail (0-100), deterministically spread, failures first.
    pub simulator_fail_percent: u32,
    /// How often a transmission's status is asked for.
    pub poll_ms: u64,
    /// How often the platform is asked for PES Retour files (seconds; 0: never). S²LOW only.
    pub pes_retour_poll_s: u64,
    /// S²LOW: base URL, client certificate and key (PEM), optional CA of the server (PEM),
    /// optional login and password (when the certificate has several accounts).
    pub s2low_url: String,
    pub s2low_cert: String,
    pub s2low_key: String,
    pub s2low_ca: String,
    pub s2low_login: String,
    pub s2low_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    pub vault_url: String,
    pub format: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
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

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            blob_url: String::new(),
            provision: String::new(),
            max_upload_bytes: 100 * 1024 * 1024,
            log: "info".into(),
            fast: FastConfig::default(),
            mail: MailConfig::default(),
            sms: SmsConfig::default(),
            helios: HeliosConfig::default(),
            archive: ArchiveConfig::default(),
            retention: RetentionConfig::default(),
            tls: TlsConfig::default(),
            signing: SigningConfig::default(),
            jobs: JobsConfig::default(),
            otp: OtpConfig::default(),
            deliver: DeliverConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

impl Default for FastConfig {
    fn default() -> Self {
        Self {
            error_status: 200,
            history_cache_ms: 1000,
        }
    }
}
impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: "outbox".into(),
            outbox_dir: String::new(),
            smtp_url: "smtp://127.0.0.1:25".into(),
            from: "parapheur@localhost".into(),
            link_ttl_days: 30,
        }
    }
}
impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: "outbox".into(),
            outbox_file: String::new(),
            webhook_url: String::new(),
            ovh_endpoint: "https://eu.api.ovh.com/1.0".into(),
            ovh_application_key: String::new(),
            ovh_application_secret: String::new(),
            ovh_consumer_key: String::new(),
            ovh_service_name: String::new(),
            ovh_sender: String::new(),
        }
    }
}
impl Default for HeliosConfig {
    fn default() -> Self {
        Self {
            transmitter: "simulator".into(),
            simulator_ack_delay_ms: 1000,
            simulator_fail_percent: 0,
            poll_ms: 5000,
            pes_retour_poll_s: 600,
            s2low_url: String::new(),
            s2low_cert: String::new(),
            s2low_key: String::new(),
            s2low_ca: String::new(),
            s2low_login: String::new(),
            s2low_password: String::new(),
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

impl Default for ArchiveConfig {
    fn default() -> Self {
        Self {
            vault_url: String::new(),
            format: "manifest".into(),
        }
    }
}

/// A configuration problem, reported as one line naming the file, key and reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Loads defaults, then `file` (if any), then the environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.is_file() {
                return Err(ConfigError(format!(
                    "{}: cannot read the configuration file",
                    f.display()
                )));
            }
            fig = fig.merge(Toml::file_exact(f));
        }
        fig = fig.merge(
            Env::prefixed("PARAPHEUR_")
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    // The key may reach the filter before or after `split` maps `__` to `.`.
                    let top = k
                        .split("__")
                        .next()
                        .unwrap_or_default()
                        .split('.')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    TOP_KEYS.contains(&top.as_str())
                })
                .split("__"),
        );
        let name = file
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "environment".into());
        let mut cfg: Config = fig.extract().map_err(|e| {
            let key = e.path.join(".");
            let reason = e.kind.to_string();
            ConfigError(if key.is_empty() {
                format!("{name}: {reason}")
            } else {
                format!("{name}: key `{key}`: {reason}")
            })
        })?;
        cfg.finish()
            .map_err(|m| ConfigError(format!("{name}: {m}")))?;
        Ok(cfg)
    }

    /// Fills derived defaults and checks values.
    pub fn finish(&mut self) -> Result<(), String> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "key `listen`: {:?} is not an address such as 127.0.0.1:8080",
                self.listen
            ));
        }
        let dd = self.data_dir.display().to_string();
        if self.database_url.is_empty() {
            self.database_url = format!("sqlite://{dd}/parapheur.db");
        }
        if self.blob_url.is_empty() {
            self.blob_url = format!("file://{dd}/blobs");
        }
        if !file_or_s3(&self.blob_url) {
            return Err(format!(
                "key `blob_url`: {:?} is neither file://DIR nor s3://BUCKET[/PREFIX]",
                self.blob_url
            ));
        }
        if self.public_url.is_empty() {
            let scheme = if self.tls.cert.is_empty() {
                "http"
            } else {
                "https"
            };
            self.public_url = format!("{scheme}://{}", self.listen);
        }
        if self.mail.outbox_dir.is_empty() {
            self.mail.outbox_dir = format!("{dd}/outbox/mail");
        }
        if self.sms.outbox_file.is_empty() {
            self.sms.outbox_file = format!("{dd}/outbox/sms.jsonl");
        }
        if self.deliver.outbox_dir.is_empty() {
            self.deliver.outbox_dir = format!("{dd}/outbox/deliveries");
        }
        if self.deliver.connector != "outbox" {
            return Err(format!(
                "key `deliver.connector`: {:?} is not \"outbox\"",
                self.deliver.connector
            ));
        }
        if self.archive.vault_url.is_empty() {
            self.archive.vault_url = format!("file://{dd}/vault");
        }
        match self.mail.transport.as_str() {
            "outbox" => {}
            "smtp" => {
                if !(self.mail.smtp_url.starts_with("smtp://")
                    || self.mail.smtp_url.starts_with("smtps://"))
                {
                    return Err(format!(
                        "key `mail.smtp_url`: {:?} is not an smtp:// or smtps:// URL",
                        self.mail.smtp_url
                    ));
                }
            }
            other => {
                return Err(format!(
                    "key `mail.transport`: {other:?} is not \"outbox\" or \"smtp\""
                ));
            }
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(format!(
                "key `mail.from`: {:?} is not an e-mail address",
                self.mail.from
            ));
        }
        match self.sms.provider.as_str() {
            "outbox" => {}
            "webhook" => {
                if !(self.sms.webhook_url.starts_with("http://")
                    || self.sms.webhook_url.starts_with("https://"))
                {
                    return Err(
                        "key `sms.webhook_url`: an http(s) URL is required by the webhook provider"
                            .into(),
                    );
                }
            }
            "ovh" => {
                for (k, v) in [
                    ("ovh_application_key", &self.sms.ovh_application_key),
                    ("ovh_application_secret", &self.sms.ovh_application_secret),
                    ("ovh_consumer_key", &self.sms.ovh_consumer_key),
                    ("ovh_service_name", &self.sms.ovh_service_name),
                ] {
                    if v.is_empty() {
                        return Err(format!("key `sms.{k}`: required by the ovh provider"));
                    }
                }
            }
            other => {
                return Err(format!(
                    "key `sms.provider`: {other:?} is not \"outbox\", \"webhook\" or \"ovh\""
                ));
            }
        }
        match self.helios.transmitter.as_str() {
            "simulator" => {
                if self.helios.simulator_fail_percent > 100 {
                    return Err("key `helios.simulator_fail_percent`: 0 to 100".into());
                }
            }
            "s2low" => {
                if !(self.helios.s2low_url.starts_with("https://")
                    || self.helios.s2low_url.starts_with("http://"))
                {
                    return Err("key `helios.s2low_url`: an http(s) URL is required by the s2low transmitter".into());
                }
            }
            other => {
                return Err(format!(
                    "key `helios.transmitter`: {other:?} is not \"simulator\" or \"s2low\""
                ));
            }
        }
        if !file_or_s3(&self.archive.vault_url) {
            return Err(format!(
                "key `archive.vault_url`: {:?} is neither file://DIR nor s3://BUCKET[/PREFIX]",
                self.archive.vault_url
            ));
        }
        if !matches!(self.archive.format.as_str(), "manifest" | "seda") {
            return Err(format!(
                "key `archive.format`: {:?} is not \"manifest\" or \"seda\"",
                self.archive.format
            ));
        }
        if self.jobs.retry_base_ms == 0 || self.jobs.retry_max_ms < self.jobs.retry_base_ms {
            return Err("key `jobs.retry_base_ms`: must be > 0 and <= jobs.retry_max_ms".into());
        }
        if !(200..=599).contains(&self.fast.error_status) {
            return Err(format!(
                "key `fast.error_status`: {} is not an HTTP status",
                self.fast.error_status
            ));
        }
        if self.limits.auth_failures_per_account < 1 || self.limits.auth_failures_per_ip < 1 {
            return Err("key `limits.auth_failures_per_*`: at least 1".into());
        }
        if self.limits.auth_window_s == 0
            || self.limits.max_connections == 0
            || self.limits.header_timeout_s == 0
            || self.limits.body_timeout_s == 0
        {
            return Err(
                "key `limits`: auth_window_s, max_connections, header_timeout_s and body_timeout_s must be > 0"
                    .into(),
            );
        }
        if self.max_upload_bytes < 1024 {
            return Err("key `max_upload_bytes`: at least 1024".into());
        }
        if self.tls.cert.is_empty() != self.tls.key.is_empty() {
            return Err("key `tls`: `cert` and `key` go together".into());
        }
        if !self.tls.proxy_cert_header.is_empty()
            && (self.tls.client_ca.is_empty() || self.tls.trusted_proxies.is_empty())
        {
            return Err(
                "key `tls.proxy_cert_header`: needs `client_ca` and `trusted_proxies`".into(),
            );
        }
        for p in &self.tls.trusted_proxies {
            if p.parse::<std::net::IpAddr>().is_err() {
                return Err(format!(
                    "key `tls.trusted_proxies`: {p:?} is not an IP address"
                ));
            }
        }
        Ok(())
    }

    pub fn blob_dir(&self) -> PathBuf {
        PathBuf::from(self.blob_url.trim_start_matches("file://"))
    }
}

/// `file://DIR`, or `s3://BUCKET[/PREFIX]` with a bucket name.
fn file_or_s3(url: &str) -> bool {
    url.starts_with("file://")
        || url
            .strip_prefix("s3://")
            .is_some_and(|r| !r.split('/').next().unwrap_or_default().is_empty())
}

/// The commented example printed by `parapheur gen-config`.
pub const EXAMPLE: &str = r#"# parapheur configuration. Every key is optional; each may be overridden by an environment
# variable PARAPHEUR_<KEY> (`__` for nesting, e.g. PARAPHEUR_FAST__ERROR_STATUS=400).
# Relative paths are relative to the working directory.

listen       = "127.0.0.1:8080"
public_url   = "http://127.0.0.1:8080"        # base of links sent to people
data_dir     = "data"
database_url = "sqlite://data/parapheur.db"   # or postgres://user@host/db
blob_url     = "file://data/blobs"            # document bytes (fsynced before acknowledging), or
                                              # s3://bucket/prefix with the standard AWS_* variables
provision    = ""                             # a provisioning file applied at start-up
max_upload_bytes = 104857600                  # largest accepted upload body (100 MiB)
log          = "info"                         # tracing filter

[fast]
error_status = 200        # HTTP status of business errors on FAST routes (clients expect 200)
history_cache_ms = 1000   # histories served from memory this long (0 = off); local writes invalidate

[mail]
transport  = "outbox"     # "outbox" (one .eml file per message) | "smtp"
outbox_dir = "data/outbox/mail"
smtp_url   = "smtp://127.0.0.1:25"
from       = "parapheur@localhost"
link_ttl_days = 30        # validity of the download links sent with signed documents

[sms]
provider    = "outbox"    # "outbox" (JSON lines) | "webhook" (POST {"to","text"}) | "ovh"
outbox_file = "data/outbox/sms.jsonl"
webhook_url = ""
# OVHcloud SMS API (provider = "ovh"): keys from https://eu.api.ovh.com/createToken/
ovh_endpoint = "https://eu.api.ovh.com/1.0"
ovh_application_key = ""
ovh_application_secret = ""
ovh_consumer_key = ""
ovh_service_name = ""     # the SMS account, e.g. sms-ab12345-1
ovh_sender = ""           # a registered sender name; empty = short number

[jobs]                    # the durable queue that delivers every e-mail and SMS
poll_ms = 1000
retry_base_ms = 2000      # first retry delay, doubled at each failure...
retry_max_ms = 900000     # ...up to this; deliveries are retried until they succeed
keep_done_days = 7        # delivered jobs and finished portal batches are deleted after (0: kept)
automatic_retry_ms = 30000 # an automatic step whose immediate run failed is run again by a job

[otp]
link_ttl_hours = 720      # how long an OTP signing link works

[limits]                  # request governance (counts shared by every instance)
auth_failures_per_account = 5  # failed authentications of an account per window, then HTTP 429
auth_failures_per_ip = 50      # failed authentications from one client address per window
auth_window_s = 900
password_hash_concurrency = 0  # argon2 verifications at once (0 = number of CPUs)
max_connections = 1024         # open connections at once (plain and TLS)
header_timeout_s = 30          # headers, and an idle keep-alive connection's next request
body_timeout_s = 300           # a whole request body

[deliver]                 # `deliver` steps: hand the signed document to its recipients
connector  = "outbox"     # a directory per delivery (plus an e-mail with a download link)
outbox_dir = "data/outbox/deliveries"

[helios]
transmitter = "simulator"     # "simulator" | "s2low" (S²LOW API, client certificate)
simulator_ack_delay_ms = 1000 # the simulator acknowledges this long after a send
simulator_fail_percent = 0    # share of simulated sends that fail (retried)
poll_ms = 5000                # how often a transmission's status is asked for
pes_retour_poll_s = 600       # how often S²LOW is asked for PES Retour files (0: never)
s2low_url = ""                # e.g. https://s2low.example.fr
s2low_cert = ""               # client certificate (PEM) ...
s2low_key = ""                # ... and its key (PEM)
s2low_ca = ""                 # CA of the S²LOW server if not a public one (PEM)
s2low_login = ""              # when the certificate maps to several accounts
s2low_password = ""

[archive]
vault_url = "file://data/vault"   # or s3://bucket/prefix (standard AWS_* variables)
format    = "manifest"    # "manifest" | "seda"

[retention]
purge_after_days = 0      # 0 = keep content forever; N = purge classified documents' content after N days
check_interval_s = 3600   # how often the purge looks for documents
orphan_blob_age_s = 86400 # files no row refers to are deleted once this old (0 = never)
orphan_sweep_interval_s = 86400 # how often the orphan sweep lists the stored files

[signing]
trust_anchors = ""        # PEM bundle trusted by verification steps, beside the internal CA
tsa_url = ""              # RFC 3161 timestamp authority: PAdES B-T when set
# A subscriber's seal on a PKCS#11 token (HSM), instead of a key file of the internal CA:
# [[signing.hsm_seals]]
# siren = "123456789"
# module = "/usr/lib/softhsm/libsofthsm2.so"
# token = "parapheur"     # the token's label
# pin = "1234"            # the user PIN
# key_label = "seal"      # CKA_LABEL of the private key
# certificate = ""        # PEM chain of the key; empty: the certificate object of that label
# A user's signing key on a PKCS#11 token: the same fields with the user's e-mail:
# [[signing.hsm_users]]
# email = "maire@mairie.fr"
# module = "/usr/lib/softhsm/libsofthsm2.so"
# token = "parapheur"
# pin = "1234"
# key_label = "maire"
# certificate = ""

[tls]                     # set cert+key to serve HTTPS (rustls)
cert = ""
key  = ""
client_ca = ""            # PEM bundle: client certificates are requested and verified (mTLS)
crl = ""                  # PEM CRLs checked for client certificates
proxy_cert_header = ""    # e.g. "X-SSL-Client-Cert": a trusted proxy forwards the certificate
trusted_proxies = []      # e.g. ["127.0.0.1"]: the only addresses whose header is believed
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_and_unknown_keys_fail() {
        let dir = std::env::temp_dir().join(format!("cfg-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let ok = dir.join("ok.toml");
        let _ = std::fs::write(&ok, EXAMPLE);
        let c = Config::load(Some(&ok)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.fast.error_status, 200);
        assert_eq!(c.database_url, "sqlite://data/parapheur.db");
        let bad = dir.join("bad.toml");
        let _ = std::fs::write(&bad, "[fast]\nerror_statuz = 400\n");
        let e = Config::load(Some(&bad))
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.toml") && e.contains("error_statuz"), "{e}");
    }

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API returns its own error type"
    )]
    fn environment_overrides_nested_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PARAPHEUR_FAST__ERROR_STATUS", "400");
            jail.set_env("PARAPHEUR_LISTEN", "127.0.0.1:9999");
            jail.set_env("PARAPHEUR_TEST_DATABASE_URL", "postgres://ignored");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.fast.error_status, 400);
            assert_eq!(c.listen, "127.0.0.1:9999");
            Ok(())
        });
    }
}
