//! Reading a document's annexes: the list (name, size, SHA-256) and one annex's bytes, for the
//! native API, the portal, the OTP page and the fiche de circulation.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::access;
use crate::state::AppState;
use parapheur_domain::DocumentId;
use parapheur_store::documents::{AnnexRow, DocumentRow};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// An annex as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Annex {
    pub id: i64,
    pub name: String,
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// The annexes of a document, each with its SHA-256. Annexes stored before the digest was
/// recorded get it computed from their file (and recorded), never guessed.
pub async fn of_document(state: &AppState, document_id: i64) -> Result<Vec<Annex>, ApiError> {
    let mut out = Vec::new();
    for row in state.db.annexes(document_id).await? {
        out.push(with_digest(state, row).await?);
    }
    Ok(out)
}

async fn with_digest(state: &AppState, row: AnnexRow) -> Result<Annex, ApiError> {
    let sha256 = match row.sha256 {
        Some(s) => s,
        None => {
            let bytes = state.blobs.get(&row.blob_key).await?;
            let s = tokio::task::spawn_blocking(move || hex::encode(Sha256::digest(&bytes)))
                .await
                .map_err(anyhow::Error::from)?;
            state.db.set_annex_sha256(row.id, &s).await?;
            tracing::info!(annex.id = row.id, "annex digest computed and recorded");
            s
        }
    };
    Ok(Annex {
        id: row.id,
        name: row.filename,
        size: row.size,
        sha256,
    })
}

/// `GET /api/v1/documents/{id}/annexes`: a document the caller may see.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
) -> Result<Vec<Annex>, ApiError> {
    let doc = access::load(state, caller, id).await?;
    of_document(state, doc.id).await
}

/// One annex of a document the caller may see: its name and bytes. An annex of another
/// document is unknown (`NotFound`), like an unknown id.
pub async fn file(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    annex_id: i64,
) -> Result<(String, Vec<u8>), ApiError> {
    let doc = access::load(state, caller, id).await?;
    file_of(state, &doc, annex_id).await
}

/// The annex `annex_id` of `doc` (already authorized by the caller's own rule).
pub async fn file_of(
    state: &AppState,
    doc: &DocumentRow,
    annex_id: i64,
) -> Result<(String, Vec<u8>), ApiError> {
    let row = state
        .db
        .annex(doc.id, annex_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let bytes = state.blobs.get(&row.blob_key).await?;
    Ok((row.filename, bytes))
}
