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
    #[error("cannot encode a value for storage: {0}")]
    Encoding(String),
    #[error("stored data does not decode: {0}")]
    Corrupt(#[from] crate::decode::Corrupt),
}

impl StoreError {
    /// True when the failure proves that the write it interrupted was not committed: the
    /// database refused a statement (a constraint, a conflict), or no connection was obtained.
    /// A connection lost while the commit was in flight is not such a proof: the transaction
    /// may have committed, and the files it refers to must stay.
    pub fn surely_not_committed(&self) -> bool {
        match self {
            Self::Duplicate | Self::DuplicatePes(_) | Self::Conflict => true,
            Self::Database(e) => matches!(
                e,
                sqlx::Error::Database(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::RowNotFound
            ),
            Self::Migration(_)
            | Self::Blob { .. }
            | Self::BlobNotFound(_)
            | Self::UnsupportedUrl(_)
            | Self::Unavailable(_) => false,
            Self::Encoding(_) => true,
            Self::Corrupt(_) => false,
        }
    }

    /// True when a unique constraint was violated (duplicate key).
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Database(d) => matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation),
            _ => false,
        }
    }
}
