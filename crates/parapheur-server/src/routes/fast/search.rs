//! `POST documents/search` with `{"siren", "state", "circuit"}`: an array of document ids.

use crate::auth::FastCaller;
use crate::error::{ApiError, FastError};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use bytes::Bytes;
use parapheur_domain::{DocumentStatus, Siren};
use serde::Deserialize;

#[derive(Deserialize)]
struct SearchBody {
    siren: Option<String>,
    state: Option<String>,
    circuit: Option<String>,
}

#[utoipa::path(post, path = "/parapheur-ws/rest/v1/documents/search", operation_id = "search", tag = "FAST",
    request_body(content = crate::routes::openapi::SearchQuery, content_type = "application/json"),
    responses((status = 200, description = "The identifiers of the matching documents", body = Vec<i64>)))]
pub async fn search(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Vec<i64>>, FastError> {
    let body = body.map_err(|_| ApiError::TooLarge(crate::routes::FORM_BODY_LIMIT as u64))?;
    let b: SearchBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadParameter(format!(
            "a JSON body {{\"siren\", \"state\", \"circuit\"}} is expected ({e})"
        ))
    })?;
    let siren = Siren::parse(b.siren.as_deref().unwrap_or_default())?;
    crate::service::access::authorize_subscriber(&state, &caller, &siren).await?;
    let statuses: Option<Vec<DocumentStatus>> =
        match b.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                DocumentStatus::from_search_term(s)
                    .ok_or_else(|| ApiError::BadParameter(format!("unknown state {s:?}")))?
                    .into_iter()
                    .collect(),
            ),
        };
    let circuit = b
        .circuit
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    // Administrators see every document of the subscriber; others those they take part in.
    let today = crate::service::access::today();
    let viewer = (!caller.is_admin(siren.as_str())).then_some((caller.user_id, today.as_str()));
    Ok(Json(
        state
            .db
            .search(siren.as_str(), statuses.as_deref(), circuit, viewer)
            .await?,
    ))
}
