//! Services: the operations behind the routes, free of HTTP concerns.

pub mod access;
pub mod annexes;
pub mod archive;
pub mod automatic;
pub mod batch_sign;
pub mod circuits;
pub mod commit;
pub mod delegation;
pub mod deposit;
pub mod documents;
pub mod download;
pub mod fdc;
pub mod helios;
pub mod lifecycle;
pub mod links;
pub mod notify;
pub mod oidc;
pub mod online_revocation;
pub mod otp;
pub mod preview;
pub mod reminders;
pub mod revocation;
pub mod sessions;
pub mod signing;
pub mod tasks;
pub mod transition;
pub mod users;
pub mod verifier;
pub mod webhooks;

/// Reads a blob.
pub async fn get_blob(
    state: &crate::state::AppState,
    key: &str,
) -> Result<Vec<u8>, crate::error::ApiError> {
    Ok(state.blobs.get(key).await?)
}

/// Whether a failed change surely did not commit: a refusal decided before or by the database
/// (validation, a constraint, a conflict), as opposed to a lost connection during the commit,
/// after which the row may exist.
pub fn surely_not_committed(e: &crate::error::ApiError) -> bool {
    match e {
        crate::error::ApiError::Internal(inner) => inner
            .downcast_ref::<parapheur_store::StoreError>()
            .is_some_and(parapheur_store::StoreError::surely_not_committed),
        _ => true,
    }
}

/// After a failed change: deletes the files written for it, but only when the failure proves
/// the transaction did not commit; otherwise they stay (a committed row may refer to them; the
/// orphan sweep removes them later if none does).
pub async fn discard_uncommitted(
    state: &crate::state::AppState,
    e: &crate::error::ApiError,
    keys: Vec<String>,
) {
    if !surely_not_committed(e) {
        tracing::warn!(error = %e, files = keys.len(), "a write failed in an unknown state: its files are kept");
        return;
    }
    for (k, e) in state.blobs.delete_all(&keys).await {
        tracing::warn!(key = %k, error = %e, "cannot delete the file of a failed write");
    }
}

/// Stores bytes durably in the blob store.
pub async fn put_blob(
    state: &crate::state::AppState,
    bytes: impl Into<Vec<u8>>,
) -> Result<parapheur_store::blob::StoredBlob, crate::error::ApiError> {
    Ok(state.blobs.put(bytes.into()).await?)
}

/// ISO-8601 with milliseconds and the configured zone's UTC offset, as history dates are
/// rendered.
pub fn iso_date(ms: i64) -> String {
    crate::clock::at_ms(ms)
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// Day and time for people, in the configured zone: `27/11/2026 09:41:10`.
pub fn human_date(ms: i64) -> String {
    crate::clock::at_ms(ms)
        .format("%d/%m/%Y %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod commit_state_tests {
    use super::surely_not_committed;
    use crate::error::ApiError;
    use parapheur_store::StoreError;

    #[test]
    fn only_a_proven_failure_releases_the_files() {
        // Refused before or by the database: nothing committed.
        assert!(surely_not_committed(&ApiError::from(StoreError::Duplicate)));
        assert!(surely_not_committed(&ApiError::from(StoreError::Conflict)));
        assert!(surely_not_committed(&ApiError::from(StoreError::Database(
            sqlx::Error::PoolTimedOut
        ))));
        assert!(surely_not_committed(&ApiError::InvalidState("x".into())));
        // The connection lost (perhaps after the COMMIT reached the server): unknown.
        let lost = StoreError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )));
        assert!(!surely_not_committed(&ApiError::from(lost)));
        assert!(!surely_not_committed(&ApiError::Internal(anyhow::anyhow!(
            "something else"
        ))));
    }
}
