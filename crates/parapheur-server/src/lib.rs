#![doc = include_str!("../README.md")]

pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod messaging;
pub mod pdfgen;
pub mod pki;
pub mod provision;
pub mod routes;
pub mod service;
pub mod state;
pub mod tls;

use anyhow::Context;
use config::Config;
use parapheur_store::{Db, LocalBlobStore};
use state::AppState;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Opens the database (running migrations) and the blob store described by the configuration.
pub async fn open_state(cfg: Config) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data_dir {}", cfg.data_dir.display()))?;
    if let Some(path) = cfg.database_url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    let db = Db::connect(&cfg.database_url)
        .await
        .context("opening the database")?
        .with_history_ttl(std::time::Duration::from_millis(cfg.fast.history_cache_ms));
    let blobs: Arc<dyn parapheur_store::blob::BlobStore> = if cfg.blob_url.starts_with("s3://") {
        let s3 = parapheur_store::s3::S3BlobStore::open(&cfg.blob_url)
            .context("opening the S3 blob store")?;
        // A bucket that does not answer at start is a configuration error, not a later 500.
        let probe = Arc::new(s3);
        let p = probe.clone();
        tokio::task::spawn_blocking(move || parapheur_store::blob::BlobStore::check(&*p))
            .await
            .context("checking the S3 bucket")?
            .context("the S3 bucket does not answer (AWS_* variables, endpoint, bucket name)")?;
        probe
    } else {
        Arc::new(LocalBlobStore::open(cfg.blob_dir()).context("opening the blob store")?)
    };
    let extra = (!cfg.signing.trust_anchors.is_empty())
        .then(|| std::path::PathBuf::from(&cfg.signing.trust_anchors));
    let pki = pki::Pki::open(&cfg.data_dir, extra.as_deref())
        .context("opening the internal certification authority and the trust anchors")?;
    for seal in &cfg.signing.hsm_seals {
        parapheur_domain::Siren::parse(&seal.siren)
            .with_context(|| format!("[[signing.hsm_seals]] siren {:?}", seal.siren))?;
        pki.install_hsm_seal(seal).with_context(|| {
            format!(
                "[[signing.hsm_seals]] of {}: token {:?}, key {:?}",
                seal.siren, seal.token, seal.key_label
            )
        })?;
    }
    for user in &cfg.signing.hsm_users {
        parapheur_domain::Email::parse(&user.email)
            .with_context(|| format!("[[signing.hsm_users]] email {:?}", user.email))?;
        pki.install_hsm_user(user).with_context(|| {
            format!(
                "[[signing.hsm_users]] of {}: token {:?}, key {:?}",
                user.email, user.token, user.key_label
            )
        })?;
    }
    AppState::new(cfg, db, blobs, pki)
}

/// Binds `cfg.listen` before the state is opened, so that with port 0 the real port is known:
/// `listen` and a derived `public_url` are updated to it.
pub fn bind_early(cfg: &mut Config) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(&cfg.listen)
        .with_context(|| format!("binding {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    for scheme in ["http", "https"] {
        if cfg.public_url == format!("{scheme}://{}", cfg.listen) {
            cfg.public_url = format!("{scheme}://{addr}");
        }
    }
    cfg.listen = addr.to_string();
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves on an already bound listener until SIGINT or SIGTERM.
pub async fn serve_on(state: AppState, listener: TcpListener) -> anyhow::Result<()> {
    serve_until(state, listener, shutdown_signal()).await
}

/// Serves on an already bound listener, with the background tasks, until `shutdown` completes
/// (the test harness runs the server in its own process this way).
pub async fn serve_until(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let tls = tls::server_config(&state.cfg.tls)?;
    tracing::info!(%addr, tls = tls.is_some(), "listening");
    println!(
        "listening on {}://{addr}",
        if tls.is_some() { "https" } else { "http" }
    );
    messaging::worker::spawn(state.clone());
    auth::spawn_epoch_watch(state.clone());
    service::lifecycle::spawn_purge(state.clone());
    service::lifecycle::spawn_housekeeping(state.clone());
    service::helios::spawn_pes_retour_poll(state.clone());
    let limits = state.cfg.limits.clone();
    let app = routes::router(state);
    let app = tower::Layer::layer(&axum::middleware::from_fn(routes::collapse_slashes), app);
    tls::serve(
        listener,
        tls,
        axum::Router::new().fallback_service(app),
        &limits,
        shutdown,
    )
    .await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
