//! `GET documents/v2/{id}/comments/refusal`: `{"comment": "..."}`, or error 102.

use super::doc_id;
use crate::auth::FastCaller;
use crate::error::FastError;
use crate::service::documents;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

pub async fn refusal(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Json<Value>, FastError> {
    let comment = documents::refusal_comment(&state, &caller, doc_id(&id)?).await?;
    Ok(Json(json!({ "comment": comment })))
}
