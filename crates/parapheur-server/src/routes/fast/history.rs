//! `GET documents/v2/{id}/history`: the chronological history of a document.

use super::doc_id;
use crate::auth::FastCaller;
use crate::error::ApiError;
use crate::error::FastError;
use crate::service::iso_date;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    user_fullname: String,
    date: String,
    state_name: String,
}

pub async fn history(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<HistoryEntry>>, FastError> {
    let id = doc_id(&id)?;
    let snap = match state.db.history_with_siren(id.get()).await? {
        Some(s) if caller.is_member(&s.siren) => s,
        _ => return Err(ApiError::InvalidDocId.into()),
    };
    Ok(Json(
        snap.entries
            .iter()
            .map(|h| HistoryEntry {
                user_fullname: h.user_fullname.clone(),
                date: iso_date(h.at_ms),
                state_name: h.state_name.clone(),
            })
            .collect(),
    ))
}
