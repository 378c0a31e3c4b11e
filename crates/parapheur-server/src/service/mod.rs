//! Services: the operations behind the routes, free of HTTP concerns.

pub mod archive;
pub mod automatic;
pub mod batch;
pub mod circuits;
pub mod deposit;
pub mod documents;
pub mod fdc;
pub mod helios;
pub mod lifecycle;
pub mod links;
pub mod notify;
pub mod otp;
pub mod preview;
pub mod signing;
pub mod users;

use parapheur_domain::{Actor, Entry};
use parapheur_store::documents::NewEntry;

/// Reads a blob (on a blocking thread).
pub async fn get_blob(
    state: &crate::state::AppState,
    key: &str,
) -> Result<Vec<u8>, crate::error::ApiError> {
    let (blobs, key) = (state.blobs.clone(), key.to_owned());
    Ok(tokio::task::spawn_blocking(move || blobs.get(&key))
        .await
        .map_err(anyhow::Error::from)??)
}

/// Stores bytes durably in the blob store (on a blocking thread).
pub async fn put_blob(
    state: &crate::state::AppState,
    bytes: impl AsRef<[u8]> + Send + 'static,
) -> Result<parapheur_store::blob::StoredBlob, crate::error::ApiError> {
    let blobs = state.blobs.clone();
    Ok(
        tokio::task::spawn_blocking(move || blobs.put(bytes.as_ref()))
            .await
            .map_err(anyhow::Error::from)??,
    )
}

/// Converts domain history entries to rows, naming the caller (system entries have no name).
/// `user_id` is `None` for a caller without an account (an OTP signer).
pub fn entries_for(entries: &[Entry], user_id: Option<i64>, full_name: &str) -> Vec<NewEntry> {
    entries
        .iter()
        .map(|e| match e.actor {
            Actor::Caller => NewEntry {
                state_name: e.state.as_str(),
                user_id,
                user_fullname: full_name.to_owned(),
                comment: e.comment.clone(),
            },
            Actor::System => NewEntry {
                state_name: e.state.as_str(),
                user_id: None,
                user_fullname: String::new(),
                comment: e.comment.clone(),
            },
        })
        .collect()
}

/// ISO-8601 with milliseconds and the server's UTC offset, as history dates are rendered.
pub fn iso_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// Day and time for people: `27/11/2026 09:41:10`.
pub fn human_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono::Local)
        .format("%d/%m/%Y %H:%M:%S")
        .to_string()
}
