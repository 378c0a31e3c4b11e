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

#[utoipa::path(get, path = "/api/v1/documents/{id}/annexes", operation_id = "listAnnexes", tag = "native", params(("id" = i64, Path, description = "The document identifier")),
    responses((status = 200, description = "The annexes, each with its SHA-256", body = Vec<Annex>)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Vec<Annex>>, ApiError> {
    Ok(Json(annexes::list(&state, &caller, id(&raw)?).await?))
}

#[utoipa::path(get, path = "/api/v1/documents/{id}/annexes/{annex_id}", operation_id = "downloadAnnex", tag = "native",
    params(("id" = i64, Path, description = "The document identifier"), ("annex_id" = i64, Path, description = "The annex identifier")),
    responses((status = 200, description = "The annex, always as an attachment",
        content(("application/pdf"), ("application/xml"), ("application/zip"), ("application/octet-stream")))))]
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
