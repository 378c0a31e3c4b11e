//! `POST /api/v1/subscribers/{siren}/inbound/{kind}`: records a return flow (`ack` with
//! `document_id`, `pes-retour`, `chorus`) as a real connector would. Subscriber administrators.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::form::Form;
use crate::routes::openapi::Inbound;
use crate::service::helios;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use parapheur_domain::{DocumentId, Siren};

#[utoipa::path(post, path = "/api/v1/subscribers/{siren}/inbound/{kind}", operation_id = "recordInbound", tag = "native",
    params(("siren" = String, Path, description = "The subscriber's SIREN (nine digits)"), ("kind" = String, Path, description = "`ack`, `pes-retour` or `chorus`")),
    request_body(content = crate::routes::openapi::InboundForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "Recorded", body = crate::routes::openapi::Inbound)))]
pub async fn inbound(
    State(state): State<AppState>,
    caller: Caller,
    Path((siren, kind)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Inbound>), ApiError> {
    let form = Form::read(&headers, body, state.cfg.max_upload_bytes).await?;
    let siren = Siren::parse(&siren).map_err(|_| ApiError::SubscriberNotFound)?;
    let file = form
        .file(&["file"])?
        .ok_or_else(|| ApiError::BadParameter("the file part `file` is missing".into()))?;
    let document_id = match form.text("document_id")?.trim() {
        "" => None,
        v => Some(DocumentId::parse(v).map_err(|_| ApiError::InvalidDocId)?),
    };
    let id = helios::inbound(&state, &caller, &siren, &kind, file, document_id).await?;
    Ok((StatusCode::CREATED, Json(Inbound { id, kind })))
}
