//! Configuration: code defaults < TOML file (`--config`) < `PARAPHEUR_*` environment variables,
//! parsed once at start-up into the typed [`Config`] handed to the rest of the server.
//!
//! [`ConfigFile`] is the file format (strings, as written); [`ConfigFile::parse`] turns it into
//! [`Config`], whose transports are enums and whose secrets are [`SecretString`]s, or fails with
//! a [`ConfigError`] naming the key. No code matches a transport name after loading.

mod example;
mod file;
mod secret;
mod sections;
#[cfg(test)]
mod tests;
mod transports;

pub use example::EXAMPLE;
pub use file::{
    ArchiveFile, ConfigFile, DeliverFile, HeliosFile, HsmSealFile, HsmUserFile, MailFile,
    SigningFile, SmsFile,
};
pub use secret::DatabaseUrl;
pub use sections::{
    FastConfig, JobsConfig, LimitsConfig, OtpConfig, RemindersConfig, RetentionConfig,
    TelemetryConfig, TlsConfig, WebhooksConfig,
};
pub use transports::{
    ArchiveConfig, ArchiveFormat, DeliverConnector, HeliosConfig, HeliosTransmitter, MailConfig,
    MailTransport, OvhSettings, S2lowLogin, S2lowSettings, SmsProvider, SmtpSettings, StorageUrl,
};

use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// The configuration of a running server, parsed and checked.
#[derive(Debug, Clone)]
pub struct Config {
    /// An address such as `127.0.0.1:8080` (checked at load).
    pub listen: String,
    /// Base of the links sent to people; defaults to `http(s)://<listen>`.
    pub public_url: String,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// Where document bytes are stored (`blob_url`).
    pub blobs: StorageUrl,
    /// A provisioning file applied at start-up.
    pub provision: Option<PathBuf>,
    /// Largest accepted request body on upload routes, in bytes.
    pub max_upload_bytes: u64,
    /// `tracing` filter, e.g. `info` or `parapheur=debug`.
    pub log: String,
    pub log_format: LogFormat,
    /// The reverse proxies believed about the client's address: the top-level
    /// `trusted_proxies` and `[tls] trusted_proxies` together.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The zone dates are shown in, whatever the host's `TZ`.
    pub time_zone: chrono_tz::Tz,
    pub fast: FastConfig,
    pub mail: MailConfig,
    pub sms: SmsProvider,
    pub helios: HeliosConfig,
    pub archive: ArchiveConfig,
    pub retention: RetentionConfig,
    pub tls: TlsConfig,
    pub signing: SigningConfig,
    pub jobs: JobsConfig,
    pub otp: OtpConfig,
    pub deliver: DeliverConnector,
    pub limits: LimitsConfig,
    /// `[telemetry]`: OpenTelemetry traces, when an OTLP endpoint is set.
    pub telemetry: TelemetryConfig,
    pub reminders: RemindersConfig,
    pub webhooks: WebhooksConfig,
    /// `[[ldap]]`: directories synchronised into subscribers.
    pub ldap: Vec<LdapConfig>,
    /// `[oidc]`: OpenID Connect sign-in for the portal, when configured.
    pub oidc: Option<OidcConfig>,
}

/// `[signing] level`: the PAdES baseline level of the signatures the server makes (CONTRACT §12).
/// Unset, B-T when a time-stamping authority is configured, else B-B.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum SignatureLevel {
    /// A CMS signature with its signing certificate.
    #[default]
    BB,
    /// B-B with a signature timestamp from `tsa_url`.
    BT,
    /// B-T with the validation data (certificates, OCSP responses, CRL) in the file's DSS.
    BLT,
    /// B-LT with a document timestamp over it.
    BLTA,
}

/// `[signing]`: trust anchors, timestamp authority, keys on PKCS#11 tokens.
#[derive(Debug, Clone, Default)]
pub struct SigningConfig {
    /// PEM bundle of extra trust anchors for the verification step (the internal CA is always
    /// trusted), e.g. the CA of imported PKCS#12 keys.
    pub trust_anchors: Option<PathBuf>,
    /// An EU trusted list (ETSI TS 119 612 XML) whose granted CAs and timestamp authorities
    /// verification trusts too.
    pub trusted_list: Option<PathBuf>,
    /// Verification fetches the CRL of a trusted signer whose file carries no revocation data
    /// (default true).
    pub online_revocation: bool,
    /// RFC 3161 timestamp authority (an http(s) URL, or `internal` for the built-in one).
    pub tsa_url: String,
    /// The PAdES level of the signatures the server makes.
    pub level: SignatureLevel,
    /// The passphrase the internal CA's private keys are encrypted with on disk (`None`: in
    /// clear, readable by the service's account only).
    pub pki_passphrase: Option<SecretString>,
    /// Subscribers' seals held on a PKCS#11 token (HSM) instead of the internal CA's files.
    pub hsm_seals: Vec<HsmSeal>,
    /// Users' signing keys held on a PKCS#11 token (HSM): their signatures use that key.
    pub hsm_users: Vec<HsmUser>,
}

/// `[[signing.hsm_seals]]`: the seal of one subscriber on a PKCS#11 token.
#[derive(Debug, Clone)]
pub struct HsmSeal {
    pub siren: parapheur_domain::Siren,
    pub key: HsmKey,
}

/// `[[signing.hsm_users]]`: one user's signing key on a PKCS#11 token.
#[derive(Debug, Clone)]
pub struct HsmUser {
    pub email: parapheur_domain::Email,
    pub key: HsmKey,
}

/// A private key on a PKCS#11 token.
#[derive(Debug, Clone)]
pub struct HsmKey {
    /// The PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so.
    pub module: String,
    /// The token's label.
    pub token: String,
    /// The user PIN (`pin`, or the content of `pin_file`).
    pub pin: SecretString,
    /// CKA_LABEL of the private key (and of its certificate object, when it is on the token).
    pub key_label: String,
    /// PEM of the key's certificate and its chain; `None`: the certificate on the token.
    pub certificate: Option<PathBuf>,
}

/// A configuration problem, reported as one line naming the file, key and reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}: cannot read the configuration file")]
    Unreadable(String),
    /// A figment error that names no key (e.g. TOML syntax).
    #[error("{origin}: {reason}")]
    Syntax { origin: String, reason: String },
    #[error("{origin}: {error}")]
    Key { origin: String, error: KeyError },
}

/// A bad value, with the dotted key it was read from.
#[derive(Debug, thiserror::Error)]
#[error("key `{key}`: {problem}")]
pub struct KeyError {
    pub key: String,
    pub problem: Problem,
}

impl KeyError {
    fn new(key: impl Into<String>, problem: Problem) -> Self {
        Self {
            key: key.into(),
            problem,
        }
    }
}

/// What is wrong with a value.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Reported by the TOML or environment reader (unknown key, wrong type...).
    #[error("{0}")]
    Unreadable(String),
    #[error("{value:?} is not {expected}")]
    Invalid {
        value: String,
        expected: &'static str,
    },
    /// A secret that is not of the expected form (the value is not repeated).
    #[error("the value (not shown) is not {expected}")]
    InvalidSecret { expected: &'static str },
    #[error("{what} is required by {by}")]
    Required {
        what: &'static str,
        by: &'static str,
    },
    #[error("{0}")]
    Rule(&'static str),
    #[error("`{key}` and `{key}_file` are both set; keep one")]
    BothSet { key: String },
    #[error("reading {}: {source}", path.display())]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is empty", path.display())]
    EmptySecretFile { path: PathBuf },
}

impl Config {
    /// Loads defaults, then `file` (if any), then the environment, and parses the result.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        ConfigFile::load(file)?.parse()
    }
}

impl ConfigFile {
    /// Parses the values as written into a [`Config`]: derived defaults filled in (paths under
    /// `data_dir`, `public_url` from `listen`), transports decided, secrets read.
    pub fn parse(self) -> Result<Config, ConfigError> {
        let origin = self.origin.clone();
        self.parse_keys()
            .map_err(|error| ConfigError::Key { origin, error })
    }

    fn parse_keys(self) -> Result<Config, KeyError> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(KeyError::new(
                "listen",
                Problem::Invalid {
                    value: self.listen,
                    expected: "an address such as 127.0.0.1:8080",
                },
            ));
        }
        let dd = self.data_dir.display().to_string();
        let database_url = secret::secret(
            "database_url",
            self.database_url,
            self.database_url_file.as_deref(),
        )?
        .unwrap_or_else(|| SecretString::from(format!("sqlite://{dd}/parapheur.db")));
        let blob_url = if self.blob_url.is_empty() {
            format!("file://{dd}/blobs")
        } else {
            self.blob_url
        };
        let blobs = StorageUrl::parse("blob_url", &blob_url)?;
        let public_url = if self.public_url.is_empty() {
            let scheme = if self.tls.cert.is_empty() {
                "http"
            } else {
                "https"
            };
            format!("{scheme}://{}", self.listen)
        } else {
            self.public_url
        };
        if self.max_upload_bytes < 1024 {
            return Err(KeyError::new(
                "max_upload_bytes",
                Problem::Rule("at least 1024"),
            ));
        }
        self.fast.check()?;
        self.jobs.check()?;
        self.limits.check()?;
        self.telemetry.check()?;
        self.tls.check()?;
        let log_format = match self.log_format.as_str() {
            "" | "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(KeyError::new(
                    "log_format",
                    Problem::Invalid {
                        value: other.to_owned(),
                        expected: "\"text\" or \"json\"",
                    },
                ));
            }
        };
        let mut trusted_proxies = Vec::new();
        for (key, list) in [
            ("trusted_proxies", &self.trusted_proxies),
            ("tls.trusted_proxies", &self.tls.trusted_proxies),
        ] {
            for p in list {
                trusted_proxies.push(proxy_net(key, p)?);
            }
        }
        if !self.tls.proxy_cert_header.is_empty() && trusted_proxies.is_empty() {
            return Err(KeyError::new(
                "tls.proxy_cert_header",
                Problem::Rule("needs `client_ca` and `trusted_proxies`"),
            ));
        }
        let time_zone = if self.time_zone.trim().is_empty() {
            crate::clock::DEFAULT_ZONE
        } else {
            self.time_zone
                .trim()
                .parse::<chrono_tz::Tz>()
                .map_err(|_| {
                    KeyError::new(
                        "time_zone",
                        Problem::Invalid {
                            value: self.time_zone.clone(),
                            expected: "an IANA time zone name, e.g. \"Europe/Paris\"",
                        },
                    )
                })?
        };
        Ok(Config {
            listen: self.listen,
            public_url,
            database_url: DatabaseUrl::new(database_url),
            blobs,
            provision: secret::path(&self.provision),
            max_upload_bytes: self.max_upload_bytes,
            log: self.log,
            log_format,
            trusted_proxies,
            time_zone,
            fast: self.fast,
            mail: self.mail.parse(&dd)?,
            sms: self.sms.parse(&dd)?,
            helios: self.helios.parse()?,
            archive: self.archive.parse(&dd)?,
            retention: self.retention,
            tls: self.tls,
            signing: self.signing.parse()?,
            jobs: self.jobs,
            otp: self.otp,
            deliver: self.deliver.parse(&dd)?,
            limits: self.limits,
            telemetry: self.telemetry,
            reminders: self.reminders,
            webhooks: self.webhooks,
            ldap: ldap_configs(self.ldap)?,
            oidc: oidc_config(self.oidc)?,
            data_dir: self.data_dir,
        })
    }
}

/// One `[[ldap]]` directory: its users are synchronised into `siren` every `interval_s`.
#[derive(Debug, Clone)]
pub struct LdapConfig {
    pub url: String,
    pub bind_dn: String,
    pub bind_password: Option<SecretString>,
    pub base_dn: String,
    pub user_filter: String,
    pub siren: parapheur_domain::Siren,
    pub interval_s: u64,
}

fn ldap_configs(list: Vec<file::LdapFile>) -> Result<Vec<LdapConfig>, KeyError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, l) in list.into_iter().enumerate() {
        let at = |k: &str| format!("ldap[{i}].{k}");
        if !(l.url.starts_with("ldap://") || l.url.starts_with("ldaps://")) {
            return Err(KeyError::new(
                at("url"),
                Problem::Invalid {
                    value: l.url,
                    expected: "ldap://host:port or ldaps://host:port",
                },
            ));
        }
        if l.base_dn.trim().is_empty() {
            return Err(KeyError::new(at("base_dn"), Problem::Rule("required")));
        }
        let siren = parapheur_domain::Siren::parse(&l.siren).map_err(|_| {
            KeyError::new(
                at("siren"),
                Problem::Invalid {
                    value: l.siren.clone(),
                    expected: "a SIREN (9 digits)",
                },
            )
        })?;
        let bind_password = secret::secret(
            &at("bind_password"),
            l.bind_password,
            l.bind_password_file.as_deref(),
        )?;
        out.push(LdapConfig {
            url: l.url,
            bind_dn: l.bind_dn,
            bind_password,
            base_dn: l.base_dn,
            user_filter: if l.user_filter.trim().is_empty() {
                "(objectClass=inetOrgPerson)".into()
            } else {
                l.user_filter
            },
            siren,
            interval_s: if l.interval_s == 0 {
                3600
            } else {
                l.interval_s
            },
        });
    }
    Ok(out)
}

/// `[oidc]`: the provider (discovered from `issuer`), this client, and its callback
/// (`redirect_url`, normally `<public_url>/parapheur/oidc/callback`).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    /// Empty: `<public_url>/parapheur/oidc/callback`.
    pub redirect_url: String,
}

fn oidc_config(f: file::OidcFile) -> Result<Option<OidcConfig>, KeyError> {
    if f.issuer.trim().is_empty() {
        return Ok(None);
    }
    for (key, value) in [
        ("oidc.issuer", &f.issuer),
        ("oidc.redirect_url", &f.redirect_url),
    ] {
        if key == "oidc.redirect_url" && value.is_empty() {
            continue;
        }
        if !(value.starts_with("https://") || value.starts_with("http://")) {
            return Err(KeyError::new(
                key,
                Problem::Invalid {
                    value: value.clone(),
                    expected: "an http(s) URL",
                },
            ));
        }
    }
    if f.client_id.trim().is_empty() {
        return Err(KeyError::new("oidc.client_id", Problem::Rule("required")));
    }
    let client_secret = secret::secret(
        "oidc.client_secret",
        f.client_secret,
        f.client_secret_file.as_deref(),
    )?;
    Ok(Some(OidcConfig {
        issuer: f.issuer.trim().to_owned(),
        client_id: f.client_id,
        client_secret,
        redirect_url: f.redirect_url,
    }))
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object a line (for log platforms).
    Json,
}

/// A trusted proxy: an address, or a network in CIDR notation.
pub(super) fn proxy_net(key: &str, p: &str) -> Result<ipnet::IpNet, KeyError> {
    let p = p.trim();
    p.parse::<ipnet::IpNet>()
        .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            KeyError::new(
                key,
                Problem::Invalid {
                    value: p.to_owned(),
                    expected: "an IP address or a network (10.0.0.0/8)",
                },
            )
        })
}

impl SigningFile {
    fn parse(self) -> Result<SigningConfig, KeyError> {
        let mut hsm_seals = Vec::with_capacity(self.hsm_seals.len());
        for (i, s) in self.hsm_seals.into_iter().enumerate() {
            let at = format!("signing.hsm_seals[{i}]");
            let siren = parapheur_domain::Siren::parse(&s.siren).map_err(|_| {
                KeyError::new(
                    format!("{at}.siren"),
                    Problem::Invalid {
                        value: s.siren.clone(),
                        expected: "a SIREN (9 digits)",
                    },
                )
            })?;
            let pin = secret::secret(&format!("{at}.pin"), s.pin, s.pin_file.as_deref())?;
            hsm_seals.push(HsmSeal {
                siren,
                key: HsmKey {
                    module: s.module,
                    token: s.token,
                    pin: pin.unwrap_or_default(),
                    key_label: s.key_label,
                    certificate: secret::path(&s.certificate),
                },
            });
        }
        let mut hsm_users = Vec::with_capacity(self.hsm_users.len());
        for (i, u) in self.hsm_users.into_iter().enumerate() {
            let at = format!("signing.hsm_users[{i}]");
            let email = parapheur_domain::Email::parse(&u.email).map_err(|_| {
                KeyError::new(
                    format!("{at}.email"),
                    Problem::Invalid {
                        value: u.email.clone(),
                        expected: "an e-mail address",
                    },
                )
            })?;
            let pin = secret::secret(&format!("{at}.pin"), u.pin, u.pin_file.as_deref())?;
            hsm_users.push(HsmUser {
                email,
                key: HsmKey {
                    module: u.module,
                    token: u.token,
                    pin: pin.unwrap_or_default(),
                    key_label: u.key_label,
                    certificate: secret::path(&u.certificate),
                },
            });
        }
        let level = match (self.level.trim(), self.tsa_url.is_empty()) {
            ("", true) | ("B-B", _) => SignatureLevel::BB,
            ("", false) | ("B-T", false) => SignatureLevel::BT,
            ("B-LT", false) => SignatureLevel::BLT,
            ("B-LTA", false) => SignatureLevel::BLTA,
            ("B-T" | "B-LT" | "B-LTA", true) => {
                return Err(KeyError::new(
                    "signing.tsa_url",
                    Problem::Required {
                        what: "a time-stamping authority (an URL, or \"internal\")",
                        by: "signing.level B-T, B-LT and B-LTA",
                    },
                ));
            }
            (other, _) => {
                return Err(KeyError::new(
                    "signing.level",
                    Problem::Invalid {
                        value: other.to_owned(),
                        expected: "B-B, B-T, B-LT or B-LTA",
                    },
                ));
            }
        };
        let tsa = self.tsa_url.trim();
        if !(tsa.is_empty()
            || tsa == "internal"
            || tsa.starts_with("http://")
            || tsa.starts_with("https://"))
        {
            return Err(KeyError::new(
                "signing.tsa_url",
                Problem::Invalid {
                    value: tsa.to_owned(),
                    expected: "an http(s) URL or \"internal\"",
                },
            ));
        }
        let pki_passphrase = secret::secret(
            "signing.pki_passphrase",
            self.pki_passphrase,
            self.pki_passphrase_file.as_deref(),
        )?;
        Ok(SigningConfig {
            trust_anchors: secret::path(&self.trust_anchors),
            trusted_list: secret::path(&self.trusted_list),
            online_revocation: self.online_revocation.unwrap_or(true),
            level,
            pki_passphrase,
            tsa_url: tsa.to_owned(),
            hsm_seals,
            hsm_users,
        })
    }
}
