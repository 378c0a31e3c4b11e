//! `DELETE documents/v2/{id}`: definitive deletion, in the allowed states only.

use super::doc_id;
use crate::auth::FastCaller;
use crate::error::FastError;
use crate::service::documents;
use crate::state::AppState;
use axum::extract::{Path, State};

/// Deletes a document that is not in a circuit any more (or refused).
#[utoipa::path(delete, path = "/parapheur-ws/rest/v1/documents/v2/{id}", operation_id = "delete", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit")),
    responses((status = 200, description = "Deleted.")))]
pub async fn delete(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<(), FastError> {
    documents::delete(&state, &caller, doc_id(&id)?).await?;
    Ok(())
}
