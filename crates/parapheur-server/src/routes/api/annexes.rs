//! `GET /api/v1/documents/{id}/annexes` (`[{"id", "name", "size", "sha256"}]`) and
//! `GET /api/v1/documents/{id}/annexes/{annex_id}` (the bytes, always as an attachment).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::stored::{Disposition, stored_file};
use crate::service::annexes::{self, Annex};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use parapheur_domain::DocumentId;

fn id(raw: &str) -> Result<DocumentId, ApiError> {
    DocumentId::parse(raw).map_err(|_| ApiError::NotFound)
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<Annex>>, ApiError> {
    Ok(Json(annexes::list(&state, &caller, id(&raw)?).await?))
}

pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path((raw, annex)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = id(&raw)?;
    let annex_id = annex.parse::<i64>().map_err(|_| ApiError::NotFound)?;
    let (name, bytes) = annexes::file(&state, &caller, id, annex_id).await?;
    // Untrusted bytes: an attachment whatever they are.
    Ok(stored_file(&name, bytes, Disposition::Attachment))
}
