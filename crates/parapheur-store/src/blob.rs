//! The blob store: document bytes, written durably before a deposit is acknowledged.

use crate::StoreError;
use sha2_11::Digest;
use sha2_11::digest::common::hazmat::SerializableState;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a successful `put` knows about the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    /// [`FileDigest::to_bytes`] of the stored bytes.
    pub digest_state: Vec<u8>,
}

/// The SHA-256 of a file kept resumable: the hash state after its last byte (not finalized) and
/// its length. A signature appended to the file later is hashed alone, continuing this state,
/// instead of reading the whole file again (when it is signed, and when the result is stored).
#[derive(Clone, Default)]
pub struct FileDigest {
    len: u64,
    hasher: sha2_11::Sha256,
}

/// Marks the serialized form (so that another layout is never misread).
const DIGEST_STATE_TAG: &[u8; 4] = b"S256";

impl FileDigest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// How many bytes were hashed.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The hash state, to continue with more bytes.
    pub fn hasher(&self) -> sha2_11::Sha256 {
        self.hasher.clone()
    }

    /// The SHA-256 of the bytes so far, in lowercase hexadecimal.
    pub fn hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// A tag, the length (8 bytes, big-endian) and the hash state.
    pub fn to_bytes(&self) -> Vec<u8> {
        let state = self.hasher.serialize();
        let mut out = Vec::with_capacity(12 + state.len());
        out.extend_from_slice(DIGEST_STATE_TAG);
        out.extend_from_slice(&self.len.to_be_bytes());
        out.extend_from_slice(&state);
        out
    }

    /// The inverse of [`to_bytes`](Self::to_bytes); `None` for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let rest = bytes.strip_prefix(DIGEST_STATE_TAG)?;
        let (len, state) = rest.split_at_checked(8)?;
        let len = u64::from_be_bytes(len.try_into().ok()?);
        let state = state.try_into().ok()?;
        let hasher = sha2_11::Sha256::deserialize(state).ok()?;
        Some(Self { len, hasher })
    }

    /// The digest of `parts` concatenated, continuing `known` when it is the digest of the
    /// first part (same length), so that part is not read again.
    pub fn of_parts(known: Option<&FileDigest>, parts: &[&[u8]]) -> Self {
        match (known, parts.split_first()) {
            (Some(k), Some((first, rest))) if k.len == first.len() as u64 => {
                let mut d = k.clone();
                for p in rest {
                    d.update(p);
                }
                d
            }
            _ => {
                let mut d = Self::new();
                for p in parts {
                    d.update(p);
                }
                d
            }
        }
    }

    /// What a store returns for bytes stored under `key`.
    pub(crate) fn stored(&self, key: String) -> StoredBlob {
        StoredBlob {
            key,
            size: self.len,
            sha256: self.hex(),
            digest_state: self.to_bytes(),
        }
    }
}

impl std::fmt::Debug for FileDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDigest")
            .field("len", &self.len)
            .finish()
    }
}

/// Where document bytes live. Implementations return only once the bytes are durable.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    fn put(&self, bytes: &[u8]) -> Result<StoredBlob, StoreError> {
        self.put_parts(&[bytes])
    }
    /// Stores the concatenation of `parts` (e.g. a PDF and its signed revision) without
    /// building it in memory.
    fn put_parts(&self, parts: &[&[u8]]) -> Result<StoredBlob, StoreError> {
        self.put_parts_after(None, parts)
    }
    /// [`put_parts`](Self::put_parts) where `known`, when it is the digest of `parts[0]`, is
    /// continued instead of hashing that part again.
    fn put_parts_after(
        &self,
        known: Option<&FileDigest>,
        parts: &[&[u8]],
    ) -> Result<StoredBlob, StoreError>;
    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// The keys of the blobs last written before `cutoff` (for the orphan sweep), handed to
    /// `each` in chunks of at most `chunk` keys as the store is walked, never all at once; the
    /// walk stops early when `each` returns `false`.
    fn scan_older(
        &self,
        cutoff: std::time::SystemTime,
        chunk: usize,
        each: &mut dyn FnMut(Vec<String>) -> bool,
    ) -> Result<(), StoreError>;
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

/// A new random key (`<2 hex>/<30 hex>`) and the 32-hex id it is made of.
pub(crate) fn new_key() -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let key = format!("{}/{}", &id[..2], &id[2..]);
    (id, key)
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
    fn put_parts_after(
        &self,
        known: Option<&FileDigest>,
        parts: &[&[u8]],
    ) -> Result<StoredBlob, StoreError> {
        let (id, key) = new_key();
        let tmp = self.root.join("tmp").join(&id);
        let mut f = File::create(&tmp).map_err(io(&key))?;
        for p in parts {
            f.write_all(p).map_err(io(&key))?;
        }
        let digest = FileDigest::of_parts(known, parts);
        f.sync_all().map_err(io(&key))?;
        drop(f);
        let dir = self.root.join(&id[..2]);
        if !dir.exists() {
            fs::create_dir_all(&dir).map_err(io(&key))?;
            sync_dir(&self.root).map_err(io(&key))?;
        }
        fs::rename(&tmp, dir.join(&id[2..])).map_err(io(&key))?;
        sync_dir(&dir).map_err(io(&key))?;
        Ok(digest.stored(key))
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

    fn scan_older(
        &self,
        cutoff: std::time::SystemTime,
        chunk: usize,
        each: &mut dyn FnMut(Vec<String>) -> bool,
    ) -> Result<(), StoreError> {
        let chunk = chunk.max(1);
        let mut keys = Vec::with_capacity(chunk);
        // One prefix directory at a time, each read as a stream: what is held is one chunk.
        for dir in fs::read_dir(&self.root).map_err(io("."))?.flatten() {
            let prefix = dir.file_name().to_string_lossy().into_owned();
            if prefix.len() != 2 || !dir.path().is_dir() {
                continue;
            }
            for f in fs::read_dir(dir.path()).map_err(io(&prefix))?.flatten() {
                let key = format!("{prefix}/{}", f.file_name().to_string_lossy());
                let old = f
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t < cutoff);
                if old && valid_key(&key) {
                    keys.push(key);
                    if keys.len() == chunk
                        && !each(std::mem::replace(&mut keys, Vec::with_capacity(chunk)))
                    {
                        return Ok(());
                    }
                }
            }
        }
        if !keys.is_empty() {
            each(keys);
        }
        Ok(())
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

    #[test]
    fn a_kept_digest_is_continued_and_survives_serialization() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = LocalBlobStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let first = s
            .put(b"%PDF-1.7 original")
            .unwrap_or_else(|e| panic!("{e}"));
        let kept = FileDigest::from_bytes(&first.digest_state).unwrap_or_else(|| panic!("state"));
        assert_eq!(kept.len(), 17);
        assert_eq!(kept.hex(), first.sha256);
        // Continued over the appended part: the same hash as the whole file read again.
        let both = s
            .put_parts_after(Some(&kept), &[b"%PDF-1.7 original", b" + signature"])
            .unwrap_or_else(|e| panic!("{e}"));
        let whole = s
            .put(b"%PDF-1.7 original + signature")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(both.sha256, whole.sha256);
        assert_eq!(both.digest_state, whole.digest_state);
        assert_eq!(
            s.get(&both.key).ok(),
            Some(b"%PDF-1.7 original + signature".to_vec())
        );
        // A state of other bytes (another length) is not used.
        let other = FileDigest::of_parts(None, &[b"abc"]);
        let d = FileDigest::of_parts(Some(&other), &[b"%PDF-1.7 original", b" + signature"]);
        assert_eq!(d.hex(), whole.sha256);
        // Anything but a serialized state is refused.
        assert!(FileDigest::from_bytes(b"").is_none());
        assert!(FileDigest::from_bytes(&first.digest_state[..20]).is_none());
        assert!(FileDigest::from_bytes(b"XXXX0000000000000000").is_none());
    }
}

/// The blob store as services use it: asynchronous, and the one place that decides what blocks
/// (the local directory's fsyncs run on blocking threads; S3 requests are awaited, never
/// blocked on).
#[derive(Debug, Clone)]
pub struct Blobs(Backend);

#[derive(Debug, Clone)]
enum Backend {
    Local(Arc<LocalBlobStore>),
    S3(Arc<crate::s3::S3BlobStore>),
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Unavailable(format!("blob store task: {e}")))?
}

impl Blobs {
    pub fn local(store: LocalBlobStore) -> Self {
        Self(Backend::Local(Arc::new(store)))
    }

    pub fn s3(store: crate::s3::S3BlobStore) -> Self {
        Self(Backend::S3(Arc::new(store)))
    }

    /// Stores `bytes` durably under a new key.
    pub async fn put(&self, bytes: Vec<u8>) -> Result<StoredBlob, StoreError> {
        self.put_parts_after(None, vec![bytes]).await
    }

    /// Stores the concatenation of `parts` durably; `known`, when it is the digest of
    /// `parts[0]`, is continued instead of hashing that part again.
    pub async fn put_parts_after(
        &self,
        known: Option<FileDigest>,
        parts: Vec<Vec<u8>>,
    ) -> Result<StoredBlob, StoreError> {
        match &self.0 {
            Backend::Local(l) => {
                let l = l.clone();
                blocking(move || {
                    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
                    l.put_parts_after(known.as_ref(), &slices)
                })
                .await
            }
            Backend::S3(s) => s.put_parts_after(known.as_ref(), &parts).await,
        }
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        match &self.0 {
            Backend::Local(l) => {
                let (l, key) = (l.clone(), key.to_owned());
                blocking(move || l.get(&key)).await
            }
            Backend::S3(s) => s.get(key).await,
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Local(l) => {
                let (l, key) = (l.clone(), key.to_owned());
                blocking(move || l.delete(&key)).await
            }
            Backend::S3(s) => s.delete(key).await,
        }
    }

    /// Deletes every key, going on after a failure; the failures are returned.
    pub async fn delete_all(&self, keys: &[String]) -> Vec<(String, StoreError)> {
        let mut failed = Vec::new();
        for k in keys {
            if let Err(e) = self.delete(k).await {
                failed.push((k.clone(), e));
            }
        }
        failed
    }

    /// The keys of the blobs last written before `cutoff` (for the orphan sweep), in chunks of
    /// at most `chunk` keys produced as the store is walked: the walk waits while a chunk is
    /// being handled, so memory holds three chunks at most (handled, queued, being filled)
    /// whatever the size of the store. An error ends the stream.
    pub fn old_keys(
        &self,
        cutoff: std::time::SystemTime,
        chunk: usize,
    ) -> tokio::sync::mpsc::Receiver<Result<Vec<String>, StoreError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        match &self.0 {
            Backend::Local(l) => {
                let l = l.clone();
                tokio::task::spawn_blocking(move || {
                    let walked = l.scan_older(cutoff, chunk, &mut |keys| {
                        tx.blocking_send(Ok(keys)).is_ok()
                    });
                    if let Err(e) = walked {
                        let _ = tx.blocking_send(Err(e));
                    }
                });
            }
            Backend::S3(s) => {
                let s = s.clone();
                tokio::spawn(async move { s.scan_older(cutoff, chunk, tx).await });
            }
        }
        rx
    }

    /// A cheap check that the store answers (used by `/healthz` and at start).
    pub async fn check(&self) -> Result<(), StoreError> {
        match &self.0 {
            Backend::Local(l) => {
                let l = l.clone();
                blocking(move || l.check()).await
            }
            Backend::S3(s) => s.check().await,
        }
    }
}
