#![doc = include_str!("../README.md")]

pub mod absences;
pub mod accounts;
pub mod blob;
pub mod db;
pub mod decode;
pub mod deposit_cache;
pub mod documents;
pub mod effects;
pub mod error;
mod group_commit;
pub mod helios;
pub mod history_cache;
pub mod jobs;
pub mod lifecycle;
pub mod otp;
pub mod pki;
pub mod portal;
pub mod reminders;
pub mod s3;
pub mod single_flight;
pub mod sweep;
pub mod throttle;
pub mod verification;
pub mod visibility;
pub mod webhooks;

pub use blob::{BlobStore, Blobs, LocalBlobStore};
pub use db::{Db, Engine};
pub use error::StoreError;

/// Milliseconds since the Unix epoch, the unit of every stored instant.
/// The id of the request being served, set by the server around each request (a task-local
/// value: the request's database calls run in its task). Jobs enqueued then record it.
pub mod context {
    tokio::task_local! {
        pub static REQUEST_ID: String;
    }

    /// The current request's id, if any.
    pub fn request_id() -> Option<String> {
        REQUEST_ID
            .try_with(Clone::clone)
            .ok()
            .filter(|id| !id.is_empty())
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
