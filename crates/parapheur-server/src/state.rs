//! The shared application state handed to every handler.

use crate::auth::AuthCache;
use crate::config::Config;
use crate::pki::Pki;
use parapheur_store::{BlobStore, Db};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub cfg: Config,
    pub db: Db,
    pub blobs: Arc<dyn BlobStore>,
    pub auth: AuthCache,
    pub metrics: Metrics,
    pub pki: Pki,
    /// Outgoing HTTP (timestamp authority), built once.
    pub http: reqwest::Client,
}

/// Counters exported on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub uploads: AtomicU64,
    pub fast_errors: AtomicU64,
}

impl AppState {
    pub fn new(cfg: Config, db: Db, blobs: Arc<dyn BlobStore>, pki: Pki) -> Self {
        Self(Arc::new(Inner {
            cfg,
            db,
            blobs,
            auth: AuthCache::default(),
            metrics: Metrics::default(),
            pki,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap_or_default(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
