//! S3-compatible object storage for blobs (`blob_url = "s3://bucket/prefix"`), through the
//! `object_store` crate; credentials, region and endpoint come from the standard `AWS_*`
//! variables (`AWS_ENDPOINT` / `AWS_ALLOW_HTTP` for MinIO, Garage, Ceph or moto). A PUT is
//! answered by the service once the object is stored durably, so an acknowledged deposit
//! survives the loss of the instance. Keys are the local store's (`<2 hex>/<30 hex>`) under the
//! prefix, so a directory can be copied into a bucket as is.

use crate::StoreError;
use crate::blob::{FileDigest, StoredBlob, new_key, valid_key};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use std::sync::Arc;

/// A bucket and a prefix of S3-compatible storage, used asynchronously (never blocking a
/// runtime thread): the blob store and the archive vault both write there.
#[derive(Debug, Clone)]
pub struct S3Objects {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("object storage: {e}"))
}

impl S3Objects {
    /// Opens `s3://bucket[/prefix]` (no request is made).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| unavailable(format!("{url:?} is not an s3:// URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(unavailable(format!("{url:?} names no bucket")));
        }
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(unavailable)?;
        Ok(Self {
            store: Arc::new(store),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn path(&self, key: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// `s3://bucket/prefix/key`, for records and messages.
    pub fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.path(key))
    }

    /// Stores `bytes` under `key` (acknowledged once stored durably by the service).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.store
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// The bytes under `key`, `None` when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.store.get(&self.path(key)).await {
            Ok(r) => r
                .bytes()
                .await
                .map(|b| Some(b.to_vec()))
                .map_err(unavailable),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Deletes `key` (absent is fine).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Keys under the prefix (relative to it) last modified before `cutoff` and accepted by
    /// `keep`, sent in chunks of at most `chunk` as the listing's pages arrive (the listing is
    /// a stream of pages of 1,000: nothing is collected whole). Stops when the receiver is gone;
    /// an error is sent and ends the walk.
    pub async fn scan_older(
        &self,
        cutoff: std::time::SystemTime,
        chunk: usize,
        keep: impl Fn(&str) -> bool,
        tx: tokio::sync::mpsc::Sender<Result<Vec<String>, StoreError>>,
    ) {
        use futures_util::StreamExt;
        let chunk = chunk.max(1);
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let mut listing = self.store.list(prefix.as_ref());
        let mut keys = Vec::with_capacity(chunk);
        while let Some(meta) = listing.next().await {
            let meta = match meta {
                Ok(m) => m,
                Err(e) => {
                    let _ = tx.send(Err(unavailable(e))).await;
                    return;
                }
            };
            if std::time::SystemTime::from(meta.last_modified) >= cutoff {
                continue;
            }
            let Some(key) = meta.location.as_ref().strip_prefix(strip.as_str()) else {
                continue;
            };
            if keep(key) {
                keys.push(key.to_owned());
            }
            if keys.len() == chunk
                && tx
                    .send(Ok(std::mem::replace(&mut keys, Vec::with_capacity(chunk))))
                    .await
                    .is_err()
            {
                return;
            }
        }
        if !keys.is_empty() {
            let _ = tx.send(Ok(keys)).await;
        }
    }

    /// The bucket answers (a missing object is an answer).
    pub async fn check(&self) -> Result<(), StoreError> {
        match self.store.head(&self.path("00/health-check")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(format!("bucket {}: {e}", self.bucket))),
        }
    }
}

/// The blob store on S3: keys as the local store's.
#[derive(Debug)]
pub struct S3BlobStore {
    objects: S3Objects,
}

impl S3BlobStore {
    /// Opens `s3://bucket[/prefix]`; must be called inside the tokio runtime that will serve it.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Ok(Self {
            objects: S3Objects::open(url)?,
        })
    }
}

impl S3BlobStore {
    /// Stores the concatenation of `parts` under a new key (see `BlobStore::put_parts_after`).
    pub async fn put_parts_after(
        &self,
        known: Option<&FileDigest>,
        parts: &[Vec<u8>],
    ) -> Result<StoredBlob, StoreError> {
        let (_, key) = new_key();
        let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let digest = FileDigest::of_parts(known, &slices);
        let body = parts.concat();
        self.objects.put(&key, body).await?;
        Ok(digest.stored(key))
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        if !valid_key(key) {
            return Err(StoreError::BlobNotFound(key.to_owned()));
        }
        self.objects
            .get(key)
            .await?
            .ok_or_else(|| StoreError::BlobNotFound(key.to_owned()))
    }

    /// See [`S3Objects::scan_older`]: only keys of the blob store's form.
    pub async fn scan_older(
        &self,
        cutoff: std::time::SystemTime,
        chunk: usize,
        tx: tokio::sync::mpsc::Sender<Result<Vec<String>, StoreError>>,
    ) {
        self.objects.scan_older(cutoff, chunk, valid_key, tx).await;
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if !valid_key(key) {
            return Err(StoreError::BlobNotFound(key.to_owned()));
        }
        self.objects.delete(key).await
    }

    pub async fn check(&self) -> Result<(), StoreError> {
        self.objects.check().await
    }
}
