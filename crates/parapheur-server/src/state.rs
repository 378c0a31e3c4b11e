//! The shared application state handed to every handler.

use crate::auth::AuthCache;
use crate::config::Config;
use crate::config::DeliverConnector;
use crate::connectors::mail::Mailer;
use crate::connectors::sms::SmsSender;
use crate::pki::Pki;
use parapheur_store::{Blobs, Db};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub cfg: Config,
    pub db: Db,
    pub blobs: Blobs,
    pub auth: AuthCache,
    pub metrics: Metrics,
    /// Serialised task lists (`service::tasks`).
    pub tasks: crate::service::tasks::TasksCache,
    pub pki: Pki,
    /// Outgoing HTTP (timestamp authority, SMS gateways), built once.
    pub http: reqwest::Client,
    pub mailer: Box<dyn Mailer>,
    pub sms: Box<dyn SmsSender>,
    pub transmitter: Box<dyn crate::connectors::transmitter::Transmitter>,
    pub delivery: Box<dyn crate::connectors::delivery::DeliveryConnector>,
    /// `[tls] client_ca` as an OpenSSL store, for certificates forwarded by a trusted proxy.
    pub client_ca: Option<CaStore>,
    /// Wakes the job worker after a commit that enqueued messages.
    pub jobs_wake: tokio::sync::Notify,
    /// Set once the server stops: the job worker finishes its batch and claims no more.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

/// An OpenSSL certificate store (`Debug` without its contents).
pub struct CaStore(pub openssl::x509::store::X509Store);

impl std::fmt::Debug for CaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaStore")
    }
}

pub use crate::metrics::Metrics;

impl AppState {
    pub fn new(cfg: Config, db: Db, blobs: Blobs, pki: Pki) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        let mailer = crate::connectors::mail::from_config(&cfg.mail)?;
        let sms = crate::connectors::sms::from_config(&cfg.sms, &http);
        let transmitter = crate::connectors::transmitter::from_config(&cfg.helios.transmitter)?;
        let client_ca = if cfg.tls.client_ca.is_empty() {
            None
        } else {
            let pem = std::fs::read(&cfg.tls.client_ca)
                .map_err(|e| anyhow::anyhow!("key `tls.client_ca`: {e}"))?;
            let mut b = openssl::x509::store::X509StoreBuilder::new()?;
            for c in openssl::x509::X509::stack_from_pem(&pem)? {
                b.add_cert(c)?;
            }
            // Forwarded certificates are checked against the same CRLs as direct TLS.
            if !cfg.tls.crl.is_empty() {
                b.add_lookup(openssl::x509::store::X509Lookup::file())?
                    .load_crl_file(&cfg.tls.crl, openssl::ssl::SslFiletype::PEM)
                    .map_err(|e| anyhow::anyhow!("key `tls.crl`: {e}"))?;
                b.set_flags(openssl::x509::verify::X509VerifyFlags::CRL_CHECK)?;
            }
            Some(CaStore(b.build()))
        };
        let delivery: Box<dyn crate::connectors::delivery::DeliveryConnector> = match &cfg.deliver {
            DeliverConnector::Outbox { dir } => {
                Box::new(crate::connectors::delivery::OutboxDelivery { dir: dir.clone() })
            }
        };
        Ok(Self(Arc::new(Inner {
            cfg,
            db,
            blobs,
            auth: AuthCache::default(),
            metrics: Metrics::default(),
            tasks: Default::default(),
            pki,
            http,
            mailer,
            sms,
            transmitter,
            delivery,
            client_ca,
            jobs_wake: tokio::sync::Notify::new(),
            stopping: tokio::sync::watch::Sender::new(false),
        })))
    }

    /// Tells the job worker that messages were just committed.
    pub fn wake_jobs(&self) {
        self.jobs_wake.notify_one();
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
