//! The orphan sweep: stored files no row refers to, left by a crash between a commit and the
//! deletion of the files it unlinked, or by a deposit that failed after writing its files.
//!
//! It runs in bounded memory whatever the size of the store: the store is walked as a stream of
//! chunks ([`Blobs::old_keys`]) and each chunk is checked against the `blob_key` indexes in one
//! statement ([`Db::unreferenced_blob_keys`]) and its orphans deleted before the next is read.

use crate::{Blobs, Db, StoreError};
use std::time::SystemTime;

/// Keys checked per statement (and held per chunk): well under SQLite's and PostgreSQL's bound
/// parameter limits, and a few dozen kilobytes.
pub const CHUNK: usize = 500;

/// What a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Files old enough to be candidates.
    pub candidates: u64,
    /// Orphans deleted.
    pub deleted: u64,
    /// Orphans whose deletion failed (logged; tried again at the next sweep).
    pub failed: u64,
}

/// Deletes the files written before `cutoff` that no row refers to, `chunk` keys at a time.
///
/// Candidates first, references second: a file old enough is never newly referenced (rows only
/// ever point at files written just before them), so a reference committed during the walk is
/// to a younger file and nothing referenced is deleted.
pub async fn sweep_orphans(
    db: &Db,
    blobs: &Blobs,
    cutoff: SystemTime,
    chunk: usize,
) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    let mut chunks = blobs.old_keys(cutoff, chunk);
    while let Some(keys) = chunks.recv().await {
        let keys = keys?;
        report.candidates += keys.len() as u64;
        let orphans = db.unreferenced_blob_keys(&keys).await?;
        let failed = blobs.delete_all(&orphans).await;
        for (k, e) in &failed {
            tracing::warn!(blob = %k, error = %e, "orphan file could not be deleted");
        }
        report.failed += failed.len() as u64;
        report.deleted += (orphans.len() - failed.len()) as u64;
    }
    Ok(report)
}
