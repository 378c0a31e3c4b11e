#![doc = include_str!("../README.md")]

pub mod auth;
pub mod backup;
pub mod check;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod demo;
pub mod error;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod jobs;
pub mod metrics;
pub mod observe;
pub mod pdfgen;
pub mod pki;
pub mod provision;
pub mod routes;
pub mod service;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod worker;

use anyhow::Context;
use config::{Config, StorageUrl};
use parapheur_store::{Blobs, Db, LocalBlobStore};
use state::AppState;
use tokio::net::TcpListener;

/// Opens the database (running migrations) and the blob store described by the configuration.
pub async fn open_state(cfg: Config) -> anyhow::Result<AppState> {
    clock::set_zone(cfg.time_zone);
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating data_dir {}", cfg.data_dir.display()))?;
    if let Some(parent) = cfg
        .database_url
        .sqlite_path()
        .and_then(|p| p.parent())
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let db = Db::connect(cfg.database_url.expose())
        .await
        .context("opening the database")?
        .with_history_ttl(std::time::Duration::from_millis(cfg.fast.history_cache_ms));
    let blobs = match &cfg.blobs {
        StorageUrl::S3(url) => {
            let s3 =
                parapheur_store::s3::S3BlobStore::open(url).context("opening the S3 blob store")?;
            let blobs = Blobs::s3(s3);
            // A bucket that does not answer at start is a configuration error, not a later 500.
            blobs.check().await.context(
                "the S3 bucket does not answer (AWS_* variables, endpoint, bucket name)",
            )?;
            blobs
        }
        StorageUrl::Directory(dir) => {
            Blobs::local(LocalBlobStore::open(dir.clone()).context("opening the blob store")?)
        }
    };
    let protection = match &cfg.signing.pki_passphrase {
        Some(p) => parapheur_sign::ca::KeyProtection::passphrase(
            secrecy::ExposeSecret::expose_secret(p).as_bytes(),
        ),
        None => parapheur_sign::ca::KeyProtection::default(),
    };
    let pki = pki::Pki::open(
        &db,
        &cfg.data_dir,
        cfg.signing.trust_anchors.as_deref(),
        cfg.signing.trusted_list.as_deref(),
        &cfg.public_url,
        protection,
    )
    .await
    .context("opening the internal certification authority and the trust anchors")?;
    for seal in &cfg.signing.hsm_seals {
        pki.install_hsm_seal(seal).with_context(|| {
            format!(
                "[[signing.hsm_seals]] of {}: token {:?}, key {:?}",
                seal.siren, seal.key.token, seal.key.key_label
            )
        })?;
    }
    for user in &cfg.signing.hsm_users {
        pki.install_hsm_user(user).with_context(|| {
            format!(
                "[[signing.hsm_users]] of {}: token {:?}, key {:?}",
                user.email, user.key.token, user.key.key_label
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
    // One row per `[[ldap]]` directory, rescheduled by the worker after each run.
    for (i, l) in state.cfg.ldap.iter().enumerate() {
        let job = jobs::Job::LdapSync(jobs::LdapJob {
            directory: i,
            siren: l.siren.as_str().to_owned(),
        });
        match job.to_new(0) {
            Ok(new) => {
                if let Err(e) = state.db.ensure_job(&new.kind, &new.payload).await {
                    tracing::error!(error = %e, "cannot schedule the directory synchronisation");
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot schedule the directory synchronisation"),
        }
    }
    let worker = worker::spawn(state.clone());
    auth::spawn_epoch_watch(state.clone());
    service::lifecycle::spawn_purge(state.clone());
    service::lifecycle::spawn_housekeeping(state.clone());
    service::helios::spawn_pes_retour_poll(state.clone());
    service::reminders::spawn(state.clone());
    let limits = state.cfg.limits.clone();
    let stopping = state.clone();
    tls::serve(listener, tls, routes::router(state), &limits, shutdown).await;
    // No more requests: the job worker finishes the batch it holds (its jobs are leased: a
    // batch cut short is taken up again by another instance, or at the next start, once the
    // lease expires).
    stopping.stopping.send_replace(true);
    let grace = std::time::Duration::from_secs(limits.shutdown_grace_s);
    if tokio::time::timeout(grace, worker).await.is_err() {
        tracing::warn!(
            grace_s = limits.shutdown_grace_s,
            "the job worker did not finish its batch within the grace period"
        );
    }
    tracing::info!("stopped");
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
