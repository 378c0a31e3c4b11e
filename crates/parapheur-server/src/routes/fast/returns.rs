//! Return flows: `documents/v2/{siren}/{ack|pes-retour|chorus}/remaining` (JSON array of ids
//! not fetched yet) and `documents/v2/{id}/{ack|pes-retour|chorus}/download` (the XML, marked
//! fetched). Acknowledgements are keyed by their document's id; PES Retour and Chorus files by
//! their own id.

use super::{doc_id, download::attachment};
use crate::auth::FastCaller;
use crate::error::FastError;
use crate::service::helios::{self, ACK, CHORUS, PES_RETOUR};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use parapheur_domain::Siren;

async fn remaining(
    state: &AppState,
    caller: FastCaller,
    siren: &str,
    kind: &str,
) -> Result<Json<Vec<i64>>, FastError> {
    let siren = Siren::parse(siren)?;
    Ok(Json(
        helios::remaining(state, &caller.0, &siren, kind).await?,
    ))
}

/// The identifiers of the Helios acknowledgements not fetched yet.
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/ack/remaining", operation_id = "listRemainingAcknowledgements", tag = "FAST",
    params(("id" = String, Path, description = "The subscriber's SIREN (nine digits)")),
    responses((status = 200, description = "Identifiers to download", body = Vec<i64>)))]
pub async fn ack_remaining(
    State(state): State<AppState>,
    caller: FastCaller,
    Path(siren): Path<String>,
) -> Result<Json<Vec<i64>>, FastError> {
    remaining(&state, caller, &siren, ACK).await
}
/// The identifiers of the PES Retour not fetched yet.
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/pes-retour/remaining", operation_id = "listRemainingPesRetour", tag = "FAST",
    params(("id" = String, Path, description = "The subscriber's SIREN (nine digits)")),
    responses((status = 200, description = "Identifiers to download", body = Vec<i64>)))]
pub async fn pes_retour_remaining(
    State(state): State<AppState>,
    caller: FastCaller,
    Path(siren): Path<String>,
) -> Result<Json<Vec<i64>>, FastError> {
    remaining(&state, caller, &siren, PES_RETOUR).await
}
/// The identifiers of the Chorus Pro flows not fetched yet.
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/chorus/remaining", operation_id = "listRemainingChorus", tag = "FAST",
    params(("id" = String, Path, description = "The subscriber's SIREN (nine digits)")),
    responses((status = 200, description = "Identifiers to download", body = Vec<i64>)))]
pub async fn chorus_remaining(
    State(state): State<AppState>,
    caller: FastCaller,
    Path(siren): Path<String>,
) -> Result<Json<Vec<i64>>, FastError> {
    remaining(&state, caller, &siren, CHORUS).await
}

/// The Helios acknowledgement of a document, XML; fetched once, it leaves the remaining list.
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/ack/download", operation_id = "downloadAcknowledgement", tag = "FAST",
    params(("id" = i64, Path, description = "An identifier from the remaining list")),
    responses((status = 200, description = "The flow, as an attachment", content(("application/xml"), ("application/octet-stream")))))]
pub async fn ack_download(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let (name, bytes) = helios::download_ack(&state, &caller, doc_id(&id)?).await?;
    Ok(attachment(&name, bytes))
}
/// The PES Retour, XML; fetched once, it leaves the remaining list.
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/pes-retour/download", operation_id = "downloadPesRetour", tag = "FAST",
    params(("id" = i64, Path, description = "An identifier from the remaining list")),
    responses((status = 200, description = "The flow, as an attachment", content(("application/xml"), ("application/octet-stream")))))]
pub async fn pes_retour_download(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let (name, bytes) = helios::download_flow(&state, &caller, &id, PES_RETOUR).await?;
    Ok(attachment(&name, bytes))
}
/// The Chorus Pro flow, XML; fetched once, it leaves the remaining list.
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/chorus/download", operation_id = "downloadChorus", tag = "FAST",
    params(("id" = i64, Path, description = "An identifier from the remaining list")),
    responses((status = 200, description = "The flow, as an attachment", content(("application/xml"), ("application/octet-stream")))))]
pub async fn chorus_download(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let (name, bytes) = helios::download_flow(&state, &caller, &id, CHORUS).await?;
    Ok(attachment(&name, bytes))
}
