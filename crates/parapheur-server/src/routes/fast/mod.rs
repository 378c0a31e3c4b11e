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
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete as del, get, post, put};
use std::sync::atomic::Ordering;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/documents/v2/{id}/{circuit}/upload", post(upload::upload))
        .route("/documents/ondemand/{siren}/upload", post(ondemand::upload))
        .route("/documents/v2/{id}/download", get(download::download))
        .route("/documents/v2/{id}/getFdc", get(download::get_fdc))
        .route("/documents/v2/{id}/history", get(history::history))
        .route("/documents/v2/{id}", del(delete::delete))
        .route("/documents/v2/{id}/metadata/define", put(metadata::define))
        .route("/documents/{id}/metas", get(metadata::metas))
        .route("/documents/v2/{id}/comments/refusal", get(refusal::refusal))
        .route("/documents/search", post(search::search))
        .route("/documents/v2/otp/{id}/{circuit}/upload", post(otp::upload))
        .route("/documents/v2/otp/{id}/metadata/define", put(otp::define))
        .route("/documents/v2/otp/url", get(otp::url))
        .route("/exportUsersData", get(users::export))
        .route(
            "/synchronization/{siren}/users",
            put(users::synchronize)
                .layer(axum::extract::DefaultBodyLimit::max(users::SYNC_BODY_LIMIT)),
        )
        .route(
            "/documents/v2/{id}/ack/remaining",
            get(returns::ack_remaining),
        )
        .route(
            "/documents/v2/{id}/pes-retour/remaining",
            get(returns::pes_retour_remaining),
        )
        .route(
            "/documents/v2/{id}/chorus/remaining",
            get(returns::chorus_remaining),
        )
        .route(
            "/documents/v2/{id}/ack/download",
            get(returns::ack_download),
        )
        .route(
            "/documents/v2/{id}/pes-retour/download",
            get(returns::pes_retour_download),
        )
        .route(
            "/documents/v2/{id}/chorus/download",
            get(returns::chorus_download),
        )
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
