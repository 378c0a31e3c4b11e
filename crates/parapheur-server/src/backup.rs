//! `parapheur backup DIR` and `parapheur restore DIR` for the embedded setup (issue 21): SQLite
//! and a blob directory (and a local archive vault). PostgreSQL and S3 deployments use their own
//! tools (`pg_dump`, bucket versioning): `docs/deployment.md` says how.
//!
//! A backup is consistent while the server runs: the database is copied first, in one
//! statement (`VACUUM INTO`, a transaction's snapshot), then exactly the files its rows refer
//! to (a stored file is never rewritten, so the copy is the one the row names; a file missing
//! then is an error, not a silent hole). The internal CA's keys are rows: they come along,
//! encrypted if `[signing] pki_passphrase` is set — keep the passphrase apart from backups.
//! A restore writes into an empty place only, never over live data.

use crate::config::{Config, StorageUrl};
use parapheur_store::Db;
use std::path::{Path, PathBuf};

/// What a backup holds (`backup.json`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub version: String,
    pub created_at: String,
    pub documents: i64,
    pub files: usize,
    pub bytes: u64,
    pub vault: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Store(#[from] parapheur_store::StoreError),
    #[error("{}: not empty; a backup goes into a new directory", .0.display())]
    NotEmpty(PathBuf),
    #[error("{}: exists; a restore never writes over data (move it away first)", .0.display())]
    WouldOverwrite(PathBuf),
    #[error("{}: not a parapheur backup ({reason})", path.display())]
    NotABackup { path: PathBuf, reason: String },
    #[error("the stored file {0} a row refers to is missing")]
    MissingFile(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The SQLite file and the blob directory of an embedded setup.
fn embedded(cfg: &Config) -> Result<(PathBuf, PathBuf), BackupError> {
    let db = cfg
        .database_url
        .sqlite_path()
        .ok_or(BackupError::Unsupported(
            "backup and restore cover the embedded setup (SQLite); for PostgreSQL use pg_dump \
             and the blob store's own copies (see docs/deployment.md)",
        ))?
        .to_owned();
    let StorageUrl::Directory(blobs) = &cfg.blobs else {
        return Err(BackupError::Unsupported(
            "backup and restore cover a blob directory; an S3 bucket is kept by its own \
             versioning or replication (see docs/deployment.md)",
        ));
    };
    Ok((db, blobs.clone()))
}

fn vault_dir(cfg: &Config) -> Option<PathBuf> {
    match &cfg.archive.vault {
        StorageUrl::Directory(d) => Some(d.clone()),
        StorageUrl::S3(_) => None,
    }
}

/// Whether `dir` does not exist or holds no file (empty sub-directories allowed).
fn is_empty(dir: &Path) -> Result<bool, BackupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(io(dir)(e)),
    };
    for e in entries {
        let e = e.map_err(io(dir))?;
        if e.file_type().map_err(io(dir))?.is_dir() {
            if !is_empty(&e.path())? {
                return Ok(false);
            }
        } else {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Copies a file durably, creating its directory.
fn copy_file(from: &Path, to: &Path) -> Result<u64, BackupError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let n = std::fs::copy(from, to).map_err(io(from))?;
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(io(to))?;
    Ok(n)
}

/// Copies a directory tree (files and sub-directories).
fn copy_tree(from: &Path, to: &Path) -> Result<(usize, u64), BackupError> {
    let (mut files, mut bytes) = (0, 0);
    let entries = match std::fs::read_dir(from) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(io(from)(e)),
    };
    for e in entries {
        let e = e.map_err(io(from))?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().map_err(io(&src))?.is_dir() {
            let (f, b) = copy_tree(&src, &dst)?;
            files += f;
            bytes += b;
        } else {
            bytes += copy_file(&src, &dst)?;
            files += 1;
        }
    }
    Ok((files, bytes))
}

/// A stored file's path under `root`, refusing keys that would leave it.
fn key_path(root: &Path, key: &str) -> Result<PathBuf, BackupError> {
    let p = Path::new(key);
    let plain = p
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if key.is_empty() || !plain {
        return Err(BackupError::MissingFile(key.to_owned()));
    }
    Ok(root.join(p))
}

/// How many stored files' keys a backup or a restore holds at once.
const KEYS_PER_PAGE: i64 = 1000;

/// Calls `f` on every blob key the rows of `db` refer to, in key order, a page at a time: the
/// memory held does not grow with the number of files.
async fn for_each_referenced_key(
    db: &Db,
    mut f: impl FnMut(&str) -> Result<(), BackupError>,
) -> Result<(), BackupError> {
    let mut after = String::new();
    loop {
        let page = db.referenced_blob_keys_after(&after, KEYS_PER_PAGE).await?;
        for key in &page {
            f(key)?;
        }
        match page.into_iter().last() {
            Some(last) => after = last,
            None => return Ok(()),
        }
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Backs up the embedded setup of `cfg` into `dir` (new or empty).
pub async fn backup(cfg: &Config, dir: &Path) -> Result<Manifest, BackupError> {
    let (_, blob_root) = embedded(cfg)?;
    if !is_empty(dir)? {
        return Err(BackupError::NotEmpty(dir.to_owned()));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // 1. The database, as one snapshot.
    let live = Db::connect(cfg.database_url.expose()).await?;
    let snapshot = dir.join("parapheur.db");
    live.snapshot_into(&snapshot).await?;
    live.close().await;
    // 2. Exactly the files its rows refer to.
    let copy = Db::connect(&sqlite_url(&snapshot)).await?;
    let documents = copy.count_by_status().await?.iter().map(|(_, n)| n).sum();
    let (mut files, mut bytes) = (0, 0);
    let walked = for_each_referenced_key(&copy, |key| {
        let from = key_path(&blob_root, key)?;
        if !from.exists() {
            return Err(BackupError::MissingFile(key.to_owned()));
        }
        bytes += copy_file(&from, &key_path(&dir.join("blobs"), key)?)?;
        files += 1;
        Ok(())
    })
    .await;
    copy.close().await;
    walked?;
    // 3. The archive vault (its packages are never rewritten).
    let vault = match vault_dir(cfg) {
        Some(v) if v.exists() => {
            let (_, b) = copy_tree(&v, &dir.join("vault"))?;
            bytes += b;
            true
        }
        Some(_) | None => false,
    };
    let manifest = Manifest {
        format: 1,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: chrono::Utc::now().to_rfc3339(),
        documents,
        files,
        bytes,
        vault,
    };
    let path = dir.join("backup.json");
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::NotABackup {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&path, text).map_err(io(&path))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(manifest)
}

/// Restores the backup in `dir` into the (empty) places `cfg` names.
pub async fn restore(cfg: &Config, dir: &Path) -> Result<Manifest, BackupError> {
    let (db_path, blob_root) = embedded(cfg)?;
    let path = dir.join("backup.json");
    let text = std::fs::read(&path).map_err(|e| BackupError::NotABackup {
        path: dir.to_owned(),
        reason: format!("backup.json: {e}"),
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| BackupError::NotABackup {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    if manifest.format != 1 {
        return Err(BackupError::NotABackup {
            path,
            reason: format!("format {} (this version reads 1)", manifest.format),
        });
    }
    if db_path.exists() {
        return Err(BackupError::WouldOverwrite(db_path));
    }
    if !is_empty(&blob_root)? {
        return Err(BackupError::WouldOverwrite(blob_root));
    }
    let vault = vault_dir(cfg).filter(|_| manifest.vault);
    if let Some(v) = &vault
        && !is_empty(v)?
    {
        return Err(BackupError::WouldOverwrite(v.clone()));
    }
    copy_file(&dir.join("parapheur.db"), &db_path)?;
    copy_tree(&dir.join("blobs"), &blob_root)?;
    if let Some(v) = &vault {
        copy_tree(&dir.join("vault"), v)?;
    }
    // Opened once (a newer version migrates it) and checked: every file a row names is there.
    let db = Db::connect(cfg.database_url.expose()).await?;
    let checked = for_each_referenced_key(&db, |key| {
        if key_path(&blob_root, key)?.exists() {
            Ok(())
        } else {
            Err(BackupError::MissingFile(key.to_owned()))
        }
    })
    .await;
    db.close().await;
    checked?;
    Ok(manifest)
}
