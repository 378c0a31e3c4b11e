//! The FAST Parapheur REST routes, wire-compatible with existing clients.

mod delete;
pub mod download;
pub mod history;
mod metadata;
mod ondemand;
mod otp;
mod refusal;
mod returns;
mod search;
mod upload;
mod users;

use crate::state::AppState;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// The FAST routes, each registered through its handler's OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
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
}

/// Parses a document id from the path: anything else is the FAST "Invalid docId".
fn doc_id(raw: &str) -> Result<parapheur_domain::DocumentId, crate::error::ApiError> {
    parapheur_domain::DocumentId::parse(raw).map_err(|_| crate::error::ApiError::InvalidDocId)
}

/// The bare integer body of upload responses.
fn id_body(id: parapheur_domain::DocumentId) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        id.to_string(),
    )
        .into_response()
}
