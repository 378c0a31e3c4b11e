//! Delivery of signed documents to their recipients by `deliver` steps (the Digiposte use
//! case): behind one trait, with the `outbox` connector (JSON lines, the embedded default). The
//! recipients also receive an e-mail with an expiring download link.

use super::{SendError, write_durably};
use crate::jobs::DeliveryJob;
use futures_util::future::BoxFuture;
use std::path::PathBuf;

/// Hands documents to a digital safe.
pub trait DeliveryConnector: Send + Sync + std::fmt::Debug {
    fn deliver<'a>(
        &'a self,
        job: &'a DeliveryJob,
        document: &'a [u8],
    ) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Writes each delivery to `<dir>/<document id>-<sha256 prefix>/` (the file and a
/// `delivery.json`), fsynced; a retry rewrites the same directory.
#[derive(Debug)]
pub struct OutboxDelivery {
    pub dir: PathBuf,
}

impl DeliveryConnector for OutboxDelivery {
    fn deliver<'a>(
        &'a self,
        job: &'a DeliveryJob,
        document: &'a [u8],
    ) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let dir = self.dir.join(format!(
                "{}-{}",
                job.document_id,
                &job.sha256[..job.sha256.len().min(16)]
            ));
            let name: String = job
                .filename
                .chars()
                .map(|c| if c == '/' || c == '\\' { '_' } else { c })
                .collect();
            let meta =
                serde_json::to_vec_pretty(job).map_err(|e| SendError::permanent(e.to_string()))?;
            let bytes = document.to_vec();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                write_durably(&dir.join(name.trim_start_matches('.')), &bytes)?;
                write_durably(&dir.join("delivery.json"), &meta)
            })
            .await
            .map_err(|e| SendError::transient(e.to_string()))?
            .map_err(|e| SendError::transient(format!("writing the delivery outbox: {e}")))
        })
    }
}
