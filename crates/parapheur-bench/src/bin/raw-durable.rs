//! `raw-durable --dir DIR -n N -c C`: the reference for durable uploads. Each operation writes a
//! 100 KB file under a temporary name, fsyncs it, renames it, fsyncs the directory, then inserts
//! one row into a SQLite database (WAL, synchronous=FULL) in its own committed transaction —
//! the minimum a server must do before acknowledging a deposit. Prints the rate in ops/s.

use anyhow::Context;
use clap::Parser;
use parapheur_bench::{open_reference_db, write_durably};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Working directory (created; its previous contents are left alone).
    #[arg(long)]
    dir: PathBuf,
    /// Total number of operations.
    #[arg(short = 'n', long, default_value_t = 2000)]
    ops: u64,
    /// Concurrent tasks.
    #[arg(short = 'c', long, default_value_t = 1)]
    concurrency: u64,
    /// Size of each file, in bytes.
    #[arg(long, default_value_t = 100 * 1024)]
    size: usize,
    /// Connections of the write pool (SQLite serializes writers anyway).
    #[arg(long, default_value_t = 1)]
    db_conns: u32,
    /// Diagnostic: extra one-row INSERT statements in each transaction (a FAST deposit of the
    /// demo circuit runs 7 besides the document row: steps, members, history entries).
    #[arg(long, default_value_t = 0)]
    extra_rows: u32,
    /// Print one line of machine-readable output (`ops_per_s=...`) only.
    #[arg(long)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = args.dir.clone();
    std::fs::create_dir_all(root.join("tmp"))?;
    std::fs::create_dir_all(root.join("blobs"))?;
    let pool = open_reference_db(&root.join("raw.db"), args.db_conns)
        .await
        .context("opening the database")?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS docs (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE, \
         blob_key TEXT NOT NULL, size INTEGER NOT NULL, created_at INTEGER NOT NULL)",
    )
    .execute(&pool)
    .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS extra (doc_id INTEGER NOT NULL, idx INTEGER NOT NULL, \
         note TEXT NOT NULL, PRIMARY KEY (doc_id, idx))",
    )
    .execute(&pool)
    .await?;

    // Pseudo-random, incompressible-looking bytes (no page-cache dedup tricks).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let payload: Arc<Vec<u8>> = Arc::new(
        (0..args.size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect(),
    );
    let run = format!(
        "{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    );
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (pool, root, payload, next, run) = (
            pool.clone(),
            root.clone(),
            payload.clone(),
            next.clone(),
            run.clone(),
        );
        let (total, extra) = (args.ops, args.extra_rows);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                let name = format!("{run}-{i}");
                let (r2, n2, p2) = (root.clone(), name.clone(), payload.clone());
                tokio::task::spawn_blocking(move || write_durably(&r2, &n2, &p2)).await??;
                let mut tx = pool.begin().await?;
                let id = sqlx::query(
                    "INSERT INTO docs (label, blob_key, size, created_at) VALUES (?, ?, ?, ?)",
                )
                .bind(format!("label-{name}"))
                .bind(&name)
                .bind(i64::try_from(payload.len())?)
                .bind(i64::try_from(start.elapsed().as_millis())?)
                .execute(&mut *tx)
                .await?
                .last_insert_rowid();
                for k in 0..extra {
                    sqlx::query("INSERT INTO extra (doc_id, idx, note) VALUES (?, ?, ?)")
                        .bind(id)
                        .bind(i64::from(k))
                        .bind("Préparé")
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = args.ops as f64 / secs;
    if args.quiet {
        println!("ops_per_s={rate:.1}");
    } else {
        println!(
            "raw-durable: {} ops of {} bytes, concurrency {}, {} extra rows, {:.2} s: {rate:.1} ops/s",
            args.ops,
            args.size,
            args.concurrency.max(1),
            args.extra_rows,
            secs
        );
    }
    Ok(())
}
