//! The transports of the configuration, decided at load: mail, SMS, Helios, storage, archive
//! and delivery, each an enum whose variant carries the settings it needs.

use super::file::{ArchiveFile, DeliverFile, HeliosFile, MailFile, SmsFile};
use super::secret::{path, secret};
use super::{KeyError, Problem};
use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;

/// `file://DIR` or `s3://BUCKET[/PREFIX]`: where bytes are kept (`blob_url`,
/// `archive.vault_url`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    Directory(PathBuf),
    /// The whole `s3://` URL, as the S3 client reads it.
    S3(String),
}

impl StorageUrl {
    pub(super) fn parse(key: &str, url: &str) -> Result<Self, KeyError> {
        if let Some(dir) = url.strip_prefix("file://") {
            return Ok(Self::Directory(PathBuf::from(dir)));
        }
        let bucket = url
            .strip_prefix("s3://")
            .and_then(|r| r.split('/').next())
            .unwrap_or_default();
        if bucket.is_empty() {
            return Err(KeyError::new(
                key,
                Problem::Invalid {
                    value: url.to_owned(),
                    expected: "file://DIR or s3://BUCKET[/PREFIX]",
                },
            ));
        }
        Ok(Self::S3(url.to_owned()))
    }
}

/// `[mail]`.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    /// The sender of every e-mail.
    pub from: Mailbox,
    /// Validity of the download links sent to recipients of a signed document.
    pub link_ttl_days: u64,
}

/// `[mail] transport`.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// One RFC 5322 `.eml` file per message in `dir`.
    Outbox {
        dir: PathBuf,
    },
    Smtp(SmtpSettings),
}

/// `transport = "smtp"`: lettre's `smtp://` / `smtps://` URL (`?tls=required` for STARTTLS),
/// and credentials given apart from it.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub url: SecretString,
    /// `smtp_user` with `smtp_password`; `None`: the URL's own credentials, if any.
    pub credentials: Option<(String, SecretString)>,
}

impl MailFile {
    pub(super) fn parse(self, data_dir: &str) -> Result<MailConfig, KeyError> {
        let from = self.from.parse::<Mailbox>().map_err(|_| {
            KeyError::new(
                "mail.from",
                Problem::Invalid {
                    value: self.from.clone(),
                    expected: "an e-mail address",
                },
            )
        })?;
        let transport = match self.transport.as_str() {
            "outbox" => MailTransport::Outbox {
                dir: PathBuf::from(if self.outbox_dir.is_empty() {
                    format!("{data_dir}/outbox/mail")
                } else {
                    self.outbox_dir
                }),
            },
            "smtp" => {
                let url = secret(
                    "mail.smtp_url",
                    self.smtp_url,
                    self.smtp_url_file.as_deref(),
                )?
                .unwrap_or_else(|| SecretString::from("smtp://127.0.0.1:25"));
                let u = url.expose_secret();
                if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                    return Err(KeyError::new(
                        "mail.smtp_url",
                        Problem::InvalidSecret {
                            expected: "an smtp:// or smtps:// URL",
                        },
                    ));
                }
                let password = secret(
                    "mail.smtp_password",
                    self.smtp_password,
                    self.smtp_password_file.as_deref(),
                )?;
                let credentials = match (self.smtp_user.is_empty(), password) {
                    (true, None) => None,
                    (false, Some(p)) => Some((self.smtp_user, p)),
                    (true, Some(_)) => {
                        return Err(KeyError::new(
                            "mail.smtp_user",
                            Problem::Required {
                                what: "a user name",
                                by: "`smtp_password`",
                            },
                        ));
                    }
                    (false, None) => {
                        return Err(KeyError::new(
                            "mail.smtp_password",
                            Problem::Required {
                                what: "a password",
                                by: "`smtp_user`",
                            },
                        ));
                    }
                };
                MailTransport::Smtp(SmtpSettings { url, credentials })
            }
            other => {
                return Err(KeyError::new(
                    "mail.transport",
                    Problem::Invalid {
                        value: other.to_owned(),
                        expected: "\"outbox\" or \"smtp\"",
                    },
                ));
            }
        };
        Ok(MailConfig {
            transport,
            from,
            link_ttl_days: self.link_ttl_days,
        })
    }
}

/// `[sms] provider`.
#[derive(Debug, Clone)]
pub enum SmsProvider {
    /// `{"to","text"}` JSON lines appended to `file`.
    Outbox { file: PathBuf },
    /// An HTTP POST of `{"to","text"}` to `url` (which may carry a token).
    Webhook { url: SecretString },
    /// The OVHcloud SMS API.
    Ovh(OvhSettings),
}

/// `provider = "ovh"`: the keys from <https://eu.api.ovh.com/createToken/>.
#[derive(Debug, Clone)]
pub struct OvhSettings {
    pub endpoint: String,
    pub application_key: SecretString,
    pub application_secret: SecretString,
    pub consumer_key: SecretString,
    /// The SMS account, e.g. `sms-ab12345-1`.
    pub service_name: String,
    /// A registered sender name; `None`: a short number that accepts replies.
    pub sender: Option<String>,
}

impl SmsFile {
    pub(super) fn parse(self, data_dir: &str) -> Result<SmsProvider, KeyError> {
        let required = |key: &str| {
            KeyError::new(
                format!("sms.{key}"),
                Problem::Required {
                    what: "a value",
                    by: "the ovh provider",
                },
            )
        };
        match self.provider.as_str() {
            "outbox" => Ok(SmsProvider::Outbox {
                file: PathBuf::from(if self.outbox_file.is_empty() {
                    format!("{data_dir}/outbox/sms.jsonl")
                } else {
                    self.outbox_file
                }),
            }),
            "webhook" => {
                let url = secret(
                    "sms.webhook_url",
                    self.webhook_url,
                    self.webhook_url_file.as_deref(),
                )?
                .filter(|u| {
                    let u = u.expose_secret();
                    u.starts_with("http://") || u.starts_with("https://")
                })
                .ok_or_else(|| {
                    KeyError::new(
                        "sms.webhook_url",
                        Problem::Required {
                            what: "an http(s) URL",
                            by: "the webhook provider",
                        },
                    )
                })?;
                Ok(SmsProvider::Webhook { url })
            }
            "ovh" => {
                let key = |name: &'static str, v, f: Option<PathBuf>| {
                    secret(&format!("sms.{name}"), v, f.as_deref())?.ok_or_else(|| required(name))
                };
                let application_key = key(
                    "ovh_application_key",
                    self.ovh_application_key,
                    self.ovh_application_key_file,
                )?;
                let application_secret = key(
                    "ovh_application_secret",
                    self.ovh_application_secret,
                    self.ovh_application_secret_file,
                )?;
                let consumer_key = key(
                    "ovh_consumer_key",
                    self.ovh_consumer_key,
                    self.ovh_consumer_key_file,
                )?;
                if self.ovh_service_name.is_empty() {
                    return Err(required("ovh_service_name"));
                }
                Ok(SmsProvider::Ovh(OvhSettings {
                    endpoint: self.ovh_endpoint,
                    application_key,
                    application_secret,
                    consumer_key,
                    service_name: self.ovh_service_name,
                    sender: (!self.ovh_sender.is_empty()).then_some(self.ovh_sender),
                }))
            }
            other => Err(KeyError::new(
                "sms.provider",
                Problem::Invalid {
                    value: other.to_owned(),
                    expected: "\"outbox\", \"webhook\" or \"ovh\"",
                },
            )),
        }
    }
}

/// `[helios]`.
#[derive(Debug, Clone)]
pub struct HeliosConfig {
    pub transmitter: HeliosTransmitter,
    /// How often a transmission's status is asked for.
    pub poll_ms: u64,
    /// How often the platform is asked for PES Retour files (seconds; 0: never). S²LOW only.
    pub pes_retour_poll_s: u64,
}

/// `[helios] transmitter`.
#[derive(Debug, Clone)]
pub enum HeliosTransmitter {
    /// Acknowledges `ack_delay_ms` after a send ("Transmis à Hélios" at half); `fail_percent`
    /// of the sends (0-100) fail, deterministically spread, failures first.
    Simulator {
        ack_delay_ms: u64,
        fail_percent: u32,
    },
    S2low(S2lowSettings),
}

/// `transmitter = "s2low"`: the S²LOW API.
#[derive(Debug, Clone)]
pub struct S2lowSettings {
    /// Base URL, e.g. `https://s2low.example.fr`.
    pub url: String,
    /// Client certificate (PEM) and its key (PEM; read only with a certificate).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// CA of the S²LOW server, when not a public one (PEM).
    pub ca: Option<PathBuf>,
    /// When the certificate maps to several accounts.
    pub login: Option<S2lowLogin>,
}

/// `s2low_login` and `s2low_password` (HTTP Basic beside the client certificate).
#[derive(Debug, Clone)]
pub struct S2lowLogin {
    pub user: String,
    pub password: SecretString,
}

impl HeliosFile {
    pub(super) fn parse(self) -> Result<HeliosConfig, KeyError> {
        let transmitter = match self.transmitter.as_str() {
            "simulator" => {
                if self.simulator_fail_percent > 100 {
                    return Err(KeyError::new(
                        "helios.simulator_fail_percent",
                        Problem::Rule("0 to 100"),
                    ));
                }
                HeliosTransmitter::Simulator {
                    ack_delay_ms: self.simulator_ack_delay_ms,
                    fail_percent: self.simulator_fail_percent,
                }
            }
            "s2low" => {
                if !(self.s2low_url.starts_with("https://")
                    || self.s2low_url.starts_with("http://"))
                {
                    return Err(KeyError::new(
                        "helios.s2low_url",
                        Problem::Required {
                            what: "an http(s) URL",
                            by: "the s2low transmitter",
                        },
                    ));
                }
                let password = secret(
                    "helios.s2low_password",
                    self.s2low_password,
                    self.s2low_password_file.as_deref(),
                )?;
                HeliosTransmitter::S2low(S2lowSettings {
                    url: self.s2low_url,
                    cert: path(&self.s2low_cert),
                    key: path(&self.s2low_key),
                    ca: path(&self.s2low_ca),
                    login: (!self.s2low_login.is_empty()).then(|| S2lowLogin {
                        user: self.s2low_login,
                        password: password.unwrap_or_default(),
                    }),
                })
            }
            other => {
                return Err(KeyError::new(
                    "helios.transmitter",
                    Problem::Invalid {
                        value: other.to_owned(),
                        expected: "\"simulator\" or \"s2low\"",
                    },
                ));
            }
        };
        Ok(HeliosConfig {
            transmitter,
            poll_ms: self.poll_ms,
            pes_retour_poll_s: self.pes_retour_poll_s,
        })
    }
}

/// `[archive]`: the electronic vault of `archive` steps.
#[derive(Debug, Clone)]
pub struct ArchiveConfig {
    pub vault: StorageUrl,
    pub format: ArchiveFormat,
}

/// `[archive] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// The files and a JSON manifest.
    Manifest,
    /// A SEDA 2.1 package (`manifest.xml`) beside them.
    Seda,
}

impl ArchiveFile {
    pub(super) fn parse(self, data_dir: &str) -> Result<ArchiveConfig, KeyError> {
        let url = if self.vault_url.is_empty() {
            format!("file://{data_dir}/vault")
        } else {
            self.vault_url
        };
        let vault = StorageUrl::parse("archive.vault_url", &url)?;
        let format = match self.format.as_str() {
            "manifest" => ArchiveFormat::Manifest,
            "seda" => ArchiveFormat::Seda,
            other => {
                return Err(KeyError::new(
                    "archive.format",
                    Problem::Invalid {
                        value: other.to_owned(),
                        expected: "\"manifest\" or \"seda\"",
                    },
                ));
            }
        };
        Ok(ArchiveConfig { vault, format })
    }
}

/// `[deliver] connector`: where `deliver` steps hand signed documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliverConnector {
    /// A directory per delivery under `dir`.
    Outbox { dir: PathBuf },
}

impl DeliverFile {
    pub(super) fn parse(self, data_dir: &str) -> Result<DeliverConnector, KeyError> {
        match self.connector.as_str() {
            "outbox" => Ok(DeliverConnector::Outbox {
                dir: PathBuf::from(if self.outbox_dir.is_empty() {
                    format!("{data_dir}/outbox/deliveries")
                } else {
                    self.outbox_dir
                }),
            }),
            other => Err(KeyError::new(
                "deliver.connector",
                Problem::Invalid {
                    value: other.to_owned(),
                    expected: "\"outbox\"",
                },
            )),
        }
    }
}
