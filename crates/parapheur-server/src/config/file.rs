//! The configuration as written (TOML file and `PARAPHEUR_*` variables), before parsing.

use super::sections::{
    FastConfig, JobsConfig, LimitsConfig, OtpConfig, RemindersConfig, RetentionConfig,
    TelemetryConfig, TlsConfig, WebhooksConfig,
};
use super::{ConfigError, KeyError, Problem};
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Top-level keys, used to keep unrelated `PARAPHEUR_*` variables out of the configuration.
pub(super) const TOP_KEYS: [&str; 29] = [
    "listen",
    "oidc",
    "ldap",
    "log_format",
    "trusted_proxies",
    "time_zone",
    "public_url",
    "data_dir",
    "database_url",
    "database_url_file",
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
    "telemetry",
    "reminders",
    "webhooks",
];

/// Every key, with the defaults of the code; `Config` is parsed from it. Secret keys are
/// [`SecretString`]s from the start (redacted `Debug`), each with a `<key>_file` sibling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// Where the values came from (the file name, or `environment`), for error messages.
    #[serde(skip)]
    pub origin: String,
    pub listen: String,
    pub public_url: String,
    pub data_dir: PathBuf,
    /// Empty: `sqlite://<data_dir>/parapheur.db`.
    pub database_url: Option<SecretString>,
    pub database_url_file: Option<PathBuf>,
    /// Empty: `file://<data_dir>/blobs`.
    pub blob_url: String,
    pub provision: String,
    pub max_upload_bytes: u64,
    pub log: String,
    /// `text` (default) or `json` (one JSON object a line).
    pub log_format: String,
    /// Addresses or networks (`127.0.0.1`, `10.0.0.0/8`) of the reverse proxies whose
    /// `X-Forwarded-For`/`Forwarded` header gives the client's address.
    pub trusted_proxies: Vec<String>,
    /// The zone dates are shown in (IANA name); Europe/Paris when empty.
    pub time_zone: String,
    pub fast: FastConfig,
    pub mail: MailFile,
    pub sms: SmsFile,
    pub helios: HeliosFile,
    pub archive: ArchiveFile,
    pub retention: RetentionConfig,
    pub tls: TlsConfig,
    pub signing: SigningFile,
    pub jobs: JobsConfig,
    pub otp: OtpConfig,
    pub deliver: DeliverFile,
    pub limits: LimitsConfig,
    pub telemetry: TelemetryConfig,
    pub reminders: RemindersConfig,
    pub webhooks: WebhooksConfig,
    /// Directories whose users are synchronised into a subscriber (CONTRACT §13).
    pub ldap: Vec<LdapFile>,
    /// OpenID Connect sign-in for the portal (CONTRACT §13).
    pub oidc: OidcFile,
}

/// `[oidc]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcFile {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub client_secret_file: Option<PathBuf>,
    pub redirect_url: String,
}

/// `[[ldap]]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LdapFile {
    pub url: String,
    pub bind_dn: String,
    pub bind_password: Option<SecretString>,
    pub bind_password_file: Option<PathBuf>,
    pub base_dn: String,
    pub user_filter: String,
    pub siren: String,
    pub interval_s: u64,
}

/// `[mail]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailFile {
    pub transport: String,
    pub outbox_dir: String,
    /// May carry credentials (`smtp://user:password@host`), hence a secret.
    pub smtp_url: Option<SecretString>,
    pub smtp_url_file: Option<PathBuf>,
    pub smtp_user: String,
    pub smtp_password: Option<SecretString>,
    pub smtp_password_file: Option<PathBuf>,
    pub from: String,
    pub link_ttl_days: u64,
}

/// `[sms]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsFile {
    pub provider: String,
    pub outbox_file: String,
    /// May carry a token, hence a secret.
    pub webhook_url: Option<SecretString>,
    pub webhook_url_file: Option<PathBuf>,
    pub ovh_endpoint: String,
    pub ovh_application_key: Option<SecretString>,
    pub ovh_application_key_file: Option<PathBuf>,
    pub ovh_application_secret: Option<SecretString>,
    pub ovh_application_secret_file: Option<PathBuf>,
    pub ovh_consumer_key: Option<SecretString>,
    pub ovh_consumer_key_file: Option<PathBuf>,
    pub ovh_service_name: String,
    pub ovh_sender: String,
}

/// `[helios]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeliosFile {
    pub transmitter: String,
    pub simulator_ack_delay_ms: u64,
    pub simulator_fail_percent: u32,
    pub poll_ms: u64,
    pub pes_retour_poll_s: u64,
    pub s2low_url: String,
    pub s2low_cert: String,
    pub s2low_key: String,
    pub s2low_ca: String,
    pub s2low_login: String,
    pub s2low_password: Option<SecretString>,
    pub s2low_password_file: Option<PathBuf>,
}

/// `[archive]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveFile {
    /// Empty: `file://<data_dir>/vault`.
    pub vault_url: String,
    pub format: String,
}

/// `[deliver]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverFile {
    pub connector: String,
    pub outbox_dir: String,
}

/// `[signing]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningFile {
    pub trust_anchors: String,
    pub trusted_list: String,
    pub online_revocation: Option<bool>,
    pub tsa_url: String,
    pub level: String,
    pub pki_passphrase: Option<SecretString>,
    pub pki_passphrase_file: Option<PathBuf>,
    pub hsm_seals: Vec<HsmSealFile>,
    pub hsm_users: Vec<HsmUserFile>,
}

/// `[[signing.hsm_seals]]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HsmSealFile {
    pub siren: String,
    pub module: String,
    pub token: String,
    pub pin: Option<SecretString>,
    pub pin_file: Option<PathBuf>,
    pub key_label: String,
    pub certificate: String,
}

/// `[[signing.hsm_users]]` as written: the fields of a seal, with an e-mail instead of a SIREN.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HsmUserFile {
    pub email: String,
    pub module: String,
    pub token: String,
    pub pin: Option<SecretString>,
    pub pin_file: Option<PathBuf>,
    pub key_label: String,
    pub certificate: String,
}

impl Default for ConfigFile {
    fn default() -> Self {
        Self {
            origin: "defaults".into(),
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            database_url_file: None,
            blob_url: String::new(),
            provision: String::new(),
            max_upload_bytes: 100 * 1024 * 1024,
            log: "info".into(),
            log_format: String::new(),
            trusted_proxies: Vec::new(),
            time_zone: String::new(),
            fast: FastConfig::default(),
            mail: MailFile::default(),
            sms: SmsFile::default(),
            helios: HeliosFile::default(),
            archive: ArchiveFile::default(),
            retention: RetentionConfig::default(),
            tls: TlsConfig::default(),
            signing: SigningFile::default(),
            jobs: JobsConfig::default(),
            otp: OtpConfig::default(),
            deliver: DeliverFile::default(),
            limits: LimitsConfig::default(),
            telemetry: TelemetryConfig::default(),
            reminders: RemindersConfig::default(),
            webhooks: WebhooksConfig::default(),
            ldap: Vec::new(),
            oidc: OidcFile::default(),
        }
    }
}

impl Default for MailFile {
    fn default() -> Self {
        Self {
            transport: "outbox".into(),
            outbox_dir: String::new(),
            smtp_url: None,
            smtp_url_file: None,
            smtp_user: String::new(),
            smtp_password: None,
            smtp_password_file: None,
            from: "parapheur@localhost".into(),
            link_ttl_days: 30,
        }
    }
}

impl Default for SmsFile {
    fn default() -> Self {
        Self {
            provider: "outbox".into(),
            outbox_file: String::new(),
            webhook_url: None,
            webhook_url_file: None,
            ovh_endpoint: "https://eu.api.ovh.com/1.0".into(),
            ovh_application_key: None,
            ovh_application_key_file: None,
            ovh_application_secret: None,
            ovh_application_secret_file: None,
            ovh_consumer_key: None,
            ovh_consumer_key_file: None,
            ovh_service_name: String::new(),
            ovh_sender: String::new(),
        }
    }
}

impl Default for HeliosFile {
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
            s2low_password: None,
            s2low_password_file: None,
        }
    }
}

impl Default for ArchiveFile {
    fn default() -> Self {
        Self {
            vault_url: String::new(),
            format: "manifest".into(),
        }
    }
}

impl Default for DeliverFile {
    fn default() -> Self {
        Self {
            connector: "outbox".into(),
            outbox_dir: String::new(),
        }
    }
}

impl ConfigFile {
    /// Reads the defaults, then `file` (if any), then the `PARAPHEUR_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::new();
        if let Some(f) = file {
            if !f.is_file() {
                return Err(ConfigError::Unreadable(f.display().to_string()));
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
        let origin = file
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "environment".into());
        let mut raw: ConfigFile = fig.extract().map_err(|e| {
            let key = e.path.join(".");
            let reason = e.kind.to_string();
            if key.is_empty() {
                ConfigError::Syntax {
                    origin: origin.clone(),
                    reason,
                }
            } else {
                ConfigError::Key {
                    origin: origin.clone(),
                    error: KeyError::new(key, Problem::Unreadable(reason)),
                }
            }
        })?;
        raw.origin = origin;
        Ok(raw)
    }
}
