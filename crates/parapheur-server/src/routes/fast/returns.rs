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

pub async fn ack_remaining(
    State(state): State<AppState>,
    caller: FastCaller,
    Path(siren): Path<String>,
) -> Result<Json<Vec<i64>>, FastError> {
    remaining(&state, caller, &siren, ACK).await
}
pub async fn pes_retour_remaining(
    State(state): State<AppState>,
    caller: FastCaller,
    Path(siren): Path<String>,
) -> Result<Json<Vec<i64>>, FastError> {
    remaining(&state, caller, &siren, PES_RETOUR).await
}
pub async fn chorus_remaining(
    State(state): State<AppState>,
    caller: FastCaller,
    Path(siren): Path<String>,
) -> Result<Json<Vec<i64>>, FastError> {
    remaining(&state, caller, &siren, CHORUS).await
}

pub async fn ack_download(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let (name, bytes) = helios::download_ack(&state, &caller, doc_id(&id)?).await?;
    Ok(attachment(&name, bytes))
}
pub async fn pes_retour_download(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let (name, bytes) = helios::download_flow(&state, &caller, &id, PES_RETOUR).await?;
    Ok(attachment(&name, bytes))
}
pub async fn chorus_download(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let (name, bytes) = helios::download_flow(&state, &caller, &id, CHORUS).await?;
    Ok(attachment(&name, bytes))
}
