//! `GET documents/v2/{id}/history`: the chronological history of a document.

use super::doc_id;
use crate::auth::FastCaller;
use crate::error::ApiError;
use crate::error::FastError;
use crate::service::{documents, iso_date};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use std::sync::Arc;

/// One event of a document's history.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    user_fullname: String,
    date: String,
    state_name: String,
}

#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/history", operation_id = "history", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit")),
    responses((status = 200, description = "The history, oldest first", body = Vec<HistoryEntry>)))]
pub async fn history(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let snap = documents::history(&state, &caller, doc_id(&id)?).await?;
    // Encoded once per cached snapshot: clients poll the history far more than it changes.
    let body = match snap.encoded.get() {
        Some(b) => b.clone(),
        None => {
            let entries: Vec<HistoryEntry> = snap
                .entries
                .iter()
                .map(|h| HistoryEntry {
                    user_fullname: h.user_fullname.clone(),
                    date: iso_date(h.at_ms),
                    state_name: h.state_name.clone(),
                })
                .collect();
            let json: Arc<[u8]> = serde_json::to_vec(&entries)
                .map_err(|e| ApiError::Internal(e.into()))?
                .into();
            snap.encoded.get_or_init(|| json).clone()
        }
    };
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        Bytes::from_owner(body),
    )
        .into_response())
}
