//! The store error.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("blob store I/O error on {key}: {source}")]
    Blob { key: String, source: std::io::Error },
    #[error("blob {0} not found")]
    BlobNotFound(String),
    #[error("a document with the same circuit, label and file name already exists")]
    Duplicate,
    #[error("a PES with the file name {0:?} was already deposited by this subscriber")]
    DuplicatePes(String),
    #[error("the document changed concurrently; retry")]
    Conflict,
    #[error("unsupported database URL {0:?} (sqlite:// or postgres://)")]
    UnsupportedUrl(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// True when a unique constraint was violated (duplicate key).
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(d) => matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation),
            _ => false,
        }
    }
}
