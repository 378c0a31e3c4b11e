//! `POST documents/ondemand/{siren}/upload`: deposit with a circuit defined by the caller
//! (optionally named by a `circuit_id` part, to which the FAST triplet rule then applies).

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
use parapheur_domain::{CircuitId, Email, OnDemandCircuit, Siren};

#[utoipa::path(post, path = "/parapheur-ws/rest/v1/documents/ondemand/{siren}/upload", operation_id = "uploadOnDemand", tag = "FAST",
    params(("siren" = String, Path, description = "The subscriber's SIREN (nine digits)")),
    request_body(content = crate::routes::openapi::OnDemandForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "The new document's identifier", body = i64, content_type = "application/json")))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Result<FastCaller, FastError>,
    Path(siren): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, FastError> {
    // The body is read first: answering before the client has sent it all makes it see a reset.
    let (caller, form) =
        Form::read_authenticated(caller, &headers, body, state.cfg.max_upload_bytes).await?;
    let siren = Siren::parse(&siren)?;
    crate::service::access::authorize_subscriber(&state, &caller, &siren).await?;
    let circuit_json = form.text("circuit")?;
    if circuit_json.is_empty() {
        return Err(ApiError::CircuitDefinition("the `circuit` part is missing".into()).into());
    }
    let circuit = OnDemandCircuit::parse(&circuit_json)?;
    // The documentation's `circuit_id`: when given, the FAST triplet rule applies to it.
    let named = Some(form.text("circuit_id")?)
        .filter(|c| !c.is_empty())
        .map(|c| CircuitId::parse(&c))
        .transpose()?;
    let file = form
        .file(&["doc", "content"])?
        .ok_or_else(|| ApiError::UploadError("the file part `doc` is missing".into()))?;
    let agents = Email::parse_list(&form.text("agents")?)
        .map_err(|e| ApiError::InvalidStepMember(format!("agents: {e}")))?;
    let pictograms = Some(form.text("pictograms")?).filter(|p| !p.is_empty());
    if let Some(p) = &pictograms {
        crate::files::check_xml(p.as_bytes())
            .map_err(|m| ApiError::BadParameter(format!("pictograms: {m}")))?;
    }
    let req = DepositRequest {
        deadline: form.text("date_limite")?,
        siren,
        circuit: CircuitSource::OnDemand(circuit, named),
        file,
        annexes: form.files("annexes")?,
        label: form.text("label")?,
        comment: form.text("comment")?,
        email_to: Email::parse_list(&form.text("email_destinataire")?)?,
        email_cc: Email::parse_list(&form.text("email_cc")?)?,
        agents,
        pictograms,
        otp: None,
    };
    Ok(id_body(deposit(&state, &caller, req).await?))
}
