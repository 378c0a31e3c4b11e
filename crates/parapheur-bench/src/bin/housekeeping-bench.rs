//! The retention purge and the orphan sweep on a large dataset (made by `gen-dataset`), with
//! their duration and the process's peak memory: `bench/housekeeping.sh` runs each step in a
//! process of its own so that each peak is its own.
//!
//! - `prepare --referenced N --orphans M`: documents 1..=N get a file of their own (the dataset
//!   shares one), and M more files no row refers to are written beside them (local blob
//!   directory only; plain writes, this is set-up).
//! - `sweep`: the orphan sweep as the server runs it (chunks of the store checked against the
//!   `blob_key` indexes), every file counting as old enough. `sweep --load-all` is the reference
//!   it replaced: every stored key and every referenced key in memory, orphans counted, nothing
//!   deleted.
//! - `purge --runs R`: R runs of the retention purge as the server schedules it (1,000 documents
//!   a run); the configuration must set `[retention] purge_after_days`.
//!
//! Each prints one `key=value` line on stdout.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use parapheur_server::config::StorageUrl;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

#[derive(Parser)]
#[command(about = "Time the retention purge and the orphan sweep on a large dataset")]
struct Args {
    /// The server's configuration file (the dataset's).
    #[arg(long)]
    config: PathBuf,
    #[command(subcommand)]
    step: Step,
}

#[derive(Subcommand)]
enum Step {
    Prepare {
        #[arg(long)]
        referenced: i64,
        #[arg(long)]
        orphans: i64,
    },
    Sweep {
        #[arg(long)]
        load_all: bool,
    },
    Purge {
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
}

/// The key of file number `i`, in the stores' form (`<2 hex>/<30 hex>`).
fn key(i: i64) -> String {
    format!("{:02x}/{:030x}", i % 256, i)
}

/// The process's peak resident memory so far, in KiB (`VmHWM`).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cfg = parapheur_server::config::Config::load(Some(&args.config))
        .with_context(|| format!("reading {}", args.config.display()))?;
    let blob_dir = match &cfg.blobs {
        StorageUrl::Directory(d) => Some(d.clone()),
        StorageUrl::S3(_) => None,
    };
    let state = parapheur_server::open_state(cfg).await?;
    let db = &state.db;
    let before = peak_kib();
    match args.step {
        Step::Prepare {
            referenced,
            orphans,
        } => {
            let Some(dir) = blob_dir else {
                bail!("prepare writes into a local blob directory");
            };
            let t = Instant::now();
            for p in 0..256 {
                std::fs::create_dir_all(dir.join(format!("{p:02x}")))?;
            }
            for i in 1..=referenced + orphans {
                std::fs::write(dir.join(key(i)), b"%PDF-1.4 bench")?;
            }
            let files_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            // The same key, made by the database.
            let expr = match db.engine {
                parapheur_store::Engine::Sqlite => "printf('%02x/%030x', id % 256, id)",
                parapheur_store::Engine::Postgres => {
                    "lpad(to_hex(id % 256), 2, '0') || '/' || lpad(to_hex(id), 30, '0')"
                }
            };
            let r = sqlx::query(&format!(
                "UPDATE documents SET blob_key = {expr} WHERE id <= $1"
            ))
            .bind(referenced)
            .execute(&db.write)
            .await?;
            // The statistics `gen-dataset` left describe one key shared by every document:
            // planners would take each lookup for a scan. A base whose documents have files of
            // their own has statistics saying so.
            sqlx::query("ANALYZE").execute(&db.write).await?;
            let (check,): (String,) = sqlx::query_as("SELECT blob_key FROM documents WHERE id = 1")
                .fetch_one(&db.read)
                .await?;
            if check != key(1) {
                bail!("the database made key {check:?}, not {:?}", key(1));
            }
            println!(
                "step=prepare files={} rows={} files_s={files_s:.1} rows_s={:.1}",
                referenced + orphans,
                r.rows_affected(),
                t.elapsed().as_secs_f64()
            );
        }
        Step::Sweep { load_all } => {
            // Every file written so far counts as old enough.
            let cutoff = SystemTime::now() + Duration::from_secs(60);
            let t = Instant::now();
            let (candidates, orphans, deleted) = if load_all {
                let mut all = Vec::new();
                let mut chunks = state.blobs.old_keys(cutoff, parapheur_store::sweep::CHUNK);
                while let Some(keys) = chunks.recv().await {
                    all.extend(keys?);
                }
                let referenced = db.referenced_blob_keys().await?;
                let orphans = all.iter().filter(|k| !referenced.contains(*k)).count();
                (all.len() as u64, orphans as u64, 0)
            } else {
                let r = parapheur_store::sweep::sweep_orphans(
                    db,
                    &state.blobs,
                    cutoff,
                    parapheur_store::sweep::CHUNK,
                )
                .await?;
                (r.candidates, r.deleted + r.failed, r.deleted)
            };
            println!(
                "step=sweep mode={} candidates={candidates} orphans={orphans} deleted={deleted} \
                 seconds={:.1} peak_before_kib={before} peak_kib={}",
                if load_all { "load-all" } else { "chunked" },
                t.elapsed().as_secs_f64(),
                peak_kib()
            );
        }
        Step::Purge { runs } => {
            let mut times = Vec::new();
            let mut purged = 0;
            for _ in 0..runs {
                let t = Instant::now();
                purged += parapheur_server::service::lifecycle::purge_due(&state)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                times.push(format!("{:.2}", t.elapsed().as_secs_f64()));
            }
            if purged == 0 {
                bail!("nothing was purged: is [retention] purge_after_days set?");
            }
            println!(
                "step=purge runs={runs} purged={purged} seconds={} peak_before_kib={before} \
                 peak_kib={}",
                times.join(","),
                peak_kib()
            );
        }
    }
    Ok(())
}
