//! The FAST Parapheur REST routes, wire-compatible with existing clients.

mod delete;
pub mod download;
mod history;
mod metadata;
mod ondemand;
mod otp;
mod refusal;
mod returns;
mod search;
mod upload;
mod users;

use crate::error::FastErrorMarker;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::atomic::Ordering;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// The FAST routes, each registered through its handler's OpenAPI description.
pub fn router(state: AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload::upload))
        .routes(routes!(ondemand::upload))
        .routes(routes!(download::download))
        .routes(routes!(download::get_fdc))
        .routes(routes!(history::history))
        .routes(routes!(delete::delete))
        .routes(routes!(metadata::define))
        .routes(routes!(metadata::metas))
        .routes(routes!(refusal::refusal))
        .routes(routes!(search::search))
        .routes(routes!(otp::upload))
        .routes(routes!(otp::define))
        .routes(routes!(otp::url))
        .routes(routes!(users::export))
        .routes(
            routes!(users::synchronize)
                .layer(axum::extract::DefaultBodyLimit::max(users::SYNC_BODY_LIMIT)),
        )
        .routes(routes!(returns::ack_remaining))
        .routes(routes!(returns::pes_retour_remaining))
        .routes(routes!(returns::chorus_remaining))
        .routes(routes!(returns::ack_download))
        .routes(routes!(returns::pes_retour_download))
        .routes(routes!(returns::chorus_download))
        .layer(axum::middleware::map_response_with_state(
            state,
            fast_status,
        ))
}

/// Business errors of FAST routes answer with `[fast] error_status` (200 by default).
async fn fast_status(State(state): State<AppState>, mut r: Response) -> Response {
    if r.extensions().get::<FastErrorMarker>().is_some() {
        state.metrics.fast_errors.fetch_add(1, Ordering::Relaxed);
        *r.status_mut() =
            StatusCode::from_u16(state.cfg.fast.error_status).unwrap_or(StatusCode::OK);
    }
    r
}

/// Parses a document id from the path: anything else is the FAST "Invalid docId".
fn doc_id(raw: &str) -> Result<parapheur_domain::DocumentId, crate::error::ApiError> {
    parapheur_domain::DocumentId::parse(raw).map_err(|_| crate::error::ApiError::InvalidDocId)
}

/// The bare integer body of upload responses.
fn id_body(id: parapheur_domain::DocumentId) -> Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        id.to_string(),
    )
        .into_response()
}
