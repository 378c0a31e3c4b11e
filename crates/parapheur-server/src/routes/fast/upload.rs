//! `POST documents/v2/{siren}/{circuit_id}/upload`: deposit into a provisioned circuit.

use super::id_body;
use crate::auth::FastCaller;
use crate::error::{ApiError, FastError};
use crate::routes::form::Form;
use crate::service::deposit::{CircuitSource, DepositRequest, deposit};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use parapheur_domain::{CircuitId, Email, Siren};

/// Deposits a document into a provisioned circuit; answers its identifier.
#[utoipa::path(post, path = "/parapheur-ws/rest/v1/documents/v2/{id}/{circuit}/upload", operation_id = "upload", tag = "FAST",
    params(("id" = String, Path, description = "The subscriber's SIREN (nine digits)"), ("circuit" = String, Path, description = "The circuit identifier")),
    request_body(content = crate::routes::openapi::UploadForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "The new document's identifier", body = i64, content_type = "application/json")))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Result<FastCaller, FastError>,
    Path((siren, circuit)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, FastError> {
    // The body is read first: answering before the client has sent it all makes it see a reset.
    let (caller, form) =
        Form::read_authenticated(caller, &headers, body, state.cfg.max_upload_bytes).await?;
    let siren = Siren::parse(&siren)?;
    let circuit = CircuitId::parse(&circuit)?;
    let file = form.file(&["doc", "content"])?.ok_or_else(|| {
        ApiError::BadParameter("the file part `doc` (or `content`) is missing".into())
    })?;
    let req = DepositRequest {
        deadline: form.text("date_limite")?,
        siren,
        circuit: CircuitSource::Provisioned(circuit),
        file,
        annexes: form.files("annexes")?,
        label: form.text("label")?,
        comment: form.text("comment")?,
        email_to: Email::parse_list(&form.text("emailDestinataire")?)?,
        email_cc: Email::parse_list(&form.text("email_cc")?)?,
        agents: Vec::new(),
        otp: None,
        pictograms: None,
    };
    Ok(id_body(deposit(&state, &caller, req).await?))
}
