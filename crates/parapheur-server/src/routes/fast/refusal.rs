//! `GET documents/v2/{id}/comments/refusal`: `{"comment": "..."}`, or error 102.

use super::doc_id;
use crate::auth::FastCaller;
use crate::error::FastError;
use crate::routes::openapi::RefusalComment;
use crate::service::documents;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};

#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/comments/refusal", operation_id = "getRefusalComment", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit")),
    responses((status = 200, description = "The refusal comment", body = crate::routes::openapi::RefusalComment)))]
pub async fn refusal(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Json<RefusalComment>, FastError> {
    let comment = documents::refusal_comment(&state, &caller, doc_id(&id)?).await?;
    Ok(Json(RefusalComment { comment }))
}
