//! `durable-axum ADDR --dir DIR`: the HTTP reference for durable uploads (issue 22). Any POST
//! is read as `multipart/form-data` (the same request `bench/upload.lua` sends to the FAST
//! upload); the `doc` part is written under a temporary name, fsynced, renamed, the directory
//! fsynced, then one row is inserted into a SQLite database (WAL, synchronous=FULL) in its own
//! committed transaction, and the new id is answered — the least an HTTP server must do before
//! acknowledging a deposit, with nothing of a parapheur's checks, circuits or history.

use anyhow::Context;
use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::routing::post;
use clap::Parser;
use parapheur_bench::{open_reference_db, write_durably};
use sqlx::SqlitePool;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Parser)]
struct Args {
    /// Listen address.
    #[arg(default_value = "127.0.0.1:18082")]
    addr: String,
    /// Working directory (created): the database and the written files.
    #[arg(long)]
    dir: PathBuf,
}

#[derive(Clone)]
struct App {
    root: Arc<PathBuf>,
    pool: SqlitePool,
    next: Arc<AtomicU64>,
    run: Arc<str>,
}

fn failed(e: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

async fn upload(
    State(app): State<App>,
    mut form: Multipart,
) -> Result<String, (StatusCode, String)> {
    let mut doc = None;
    let mut label = String::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?
    {
        match field.name() {
            Some("doc") => doc = Some(field.bytes().await.map_err(failed)?),
            Some("label") => label = field.text().await.map_err(failed)?,
            _ => {}
        }
    }
    let doc = doc.ok_or((StatusCode::BAD_REQUEST, "no doc part".into()))?;
    let name = format!("{}-{}", app.run, app.next.fetch_add(1, Ordering::Relaxed));
    let (root, n2, size) = (app.root.clone(), name.clone(), doc.len());
    tokio::task::spawn_blocking(move || write_durably(&root, &n2, &doc))
        .await
        .map_err(failed)?
        .map_err(failed)?;
    let mut tx = app.pool.begin().await.map_err(failed)?;
    let id = sqlx::query("INSERT INTO docs (label, blob_key, size) VALUES (?, ?, ?)")
        .bind(label)
        .bind(&name)
        .bind(i64::try_from(size).map_err(failed)?)
        .execute(&mut *tx)
        .await
        .map_err(failed)?
        .last_insert_rowid();
    tx.commit().await.map_err(failed)?;
    Ok(id.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(args.dir.join("tmp"))?;
    std::fs::create_dir_all(args.dir.join("blobs"))?;
    // One writer, as SQLite serialises writers anyway (and as the server's write pool).
    let pool = open_reference_db(&args.dir.join("reference.db"), 1)
        .await
        .context("opening the database")?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, label TEXT NOT NULL, \
         blob_key TEXT NOT NULL, size INTEGER NOT NULL)",
    )
    .execute(&pool)
    .await?;
    let app = App {
        root: Arc::new(args.dir.clone()),
        pool,
        next: Arc::new(AtomicU64::new(0)),
        run: Arc::from(format!("{}", std::process::id())),
    };
    let router = Router::new()
        .fallback(post(upload))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router).await?;
    Ok(())
}
