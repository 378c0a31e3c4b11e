//! The blob store: document bytes, written durably before a deposit is acknowledged.

use crate::StoreError;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// What a successful `put` knows about the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

/// Where document bytes live. Implementations return only once the bytes are durable.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, StoreError> {
        self.put_parts(&[bytes])
    }
    /// Stores the concatenation of `parts` (e.g. a PDF and its signed revision) without
    /// building it in memory.
    fn put_parts(&self, parts: &[&[u8]]) -> Result<StoredBlob, StoreError>;
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// A cheap check that the store answers (used by `/healthz`).
    fn check(&self) -> Result<(), StoreError>;
}

/// Whether `key` has the form every store gives (`<2 hex>/<30 hex>`): anything else (a path
/// traversal, say) is never looked up.
pub(crate) fn valid_key(key: &str) -> bool {
    key.len() == 33
        && key.as_bytes()[2] == b'/'
        && key
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 2 || b.is_ascii_hexdigit())
}

/// Temporary files older than this are leftovers of a crash; younger ones may be another
/// instance's write in progress (a directory shared by several instances).
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// A local directory: `<root>/<2 hex>/<uuid>`; each file is written to a temporary name, fsynced,
/// renamed, and its directory fsynced, so a crash never leaves a half-written blob under its key.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

fn io(key: &str) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Blob {
        key: key.to_owned(),
        source,
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl LocalBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp).map_err(io("tmp"))?;
        // Leftovers of writes interrupted by a crash were never acknowledged.
        if let Ok(entries) = fs::read_dir(&tmp) {
            for e in entries.flatten() {
                let stale = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_none_or(|age| age > STALE_TMP);
                if stale {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
        Ok(Self { root })
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        if !valid_key(key) {
            return Err(StoreError::BlobNotFound(key.to_owned()));
        }
        Ok(self.root.join(key))
    }
}

impl BlobStore for LocalBlobStore {
    fn put_parts(&self, parts: &[&[u8]]) -> Result<StoredBlob, StoreError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let key = format!("{}/{}", &id[..2], &id[2..]);
        let tmp = self.root.join("tmp").join(&id);
        let mut f = File::create(&tmp).map_err(io(&key))?;
        let mut h = Sha256::new();
        let mut size = 0u64;
        for p in parts {
            f.write_all(p).map_err(io(&key))?;
            h.update(p);
            size += p.len() as u64;
        }
        f.sync_all().map_err(io(&key))?;
        drop(f);
        let dir = self.root.join(&id[..2]);
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(io(&key))?;
            sync_dir(&self.root).map_err(io(&key))?;
        }
        fs::rename(&tmp, dir.join(&id[2..])).map_err(io(&key))?;
        sync_dir(&dir).map_err(io(&key))?;
        Ok(StoredBlob {
            key,
            size,
            sha256: hex::encode(h.finalize()),
        })
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let p = self.path_of(key)?;
        fs::read(p).map_err(|e| match e.kind() {
            ErrorKind::NotFound => StoreError::BlobNotFound(key.to_owned()),
            _ => StoreError::Blob {
                key: key.to_owned(),
                source: e,
            },
        })
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let p = self.path_of(key)?;
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Blob {
                key: key.to_owned(),
                source: e,
            }),
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        fs::metadata(self.root.join("tmp"))
            .map(|_| ())
            .map_err(io("tmp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete() {
        let dir = std::env::temp_dir().join(format!("blobtest-{}", uuid::Uuid::new_v4()));
        let s = LocalBlobStore::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        let b = s.put(b"hello").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.size, 5);
        assert_eq!(
            b.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(s.get(&b.key).ok(), Some(b"hello".to_vec()));
        assert!(matches!(
            s.get("../../etc/passwd"),
            Err(StoreError::BlobNotFound(_))
        ));
        s.delete(&b.key).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(s.get(&b.key), Err(StoreError::BlobNotFound(_))));
        let _ = fs::remove_dir_all(dir);
    }
}
