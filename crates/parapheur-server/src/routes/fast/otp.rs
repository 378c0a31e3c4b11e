//! OTP routes: `uploadOTP` (`POST documents/v2/otp/{siren}/{circuit}/upload`),
//! `uploadOTPInformation` (`PUT documents/v2/otp/{id}/metadata/define`) and `getSMSURL`
//! (`GET documents/v2/otp/url?id=..&id=..`).

use super::doc_id;
use crate::auth::FastCaller;
use crate::error::{ApiError, FastError};
use crate::routes::form::Form;
use crate::routes::openapi::{OtpDeposited, OtpUrl};
use crate::service::deposit::{CircuitSource, DepositRequest, OtpDeposit, deposit_with};
use crate::service::otp;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use parapheur_domain::{CircuitId, Email, Siren};

/// The OTP information part, size-checked.
fn information(form: &Form, names: &[&str]) -> Result<Vec<u8>, ApiError> {
    let part = form
        .parts
        .iter()
        .find(|p| names.contains(&p.name.as_str()))
        .ok_or_else(|| ApiError::BadParameter(format!("the part `{}` is missing", names[0])))?;
    if part.bytes.len() > otp::MAX_OTP_XML {
        return Err(ApiError::InvalidMetadata(
            "the OTP information file is larger than 1 MiB".into(),
        ));
    }
    Ok(part.bytes.to_vec())
}

/// Deposits a document for an OTP signature (`uploadOTP`).
#[utoipa::path(post, path = "/parapheur-ws/rest/v1/documents/v2/otp/{id}/{circuit}/upload", operation_id = "uploadOTP", tag = "FAST",
    params(("id" = String, Path, description = "The subscriber's SIREN (nine digits)"), ("circuit" = String, Path, description = "The circuit identifier")),
    request_body(content = crate::routes::openapi::OtpUploadForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "The document and its signing page", body = crate::routes::openapi::OtpDeposited)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Result<FastCaller, FastError>,
    Path((siren, circuit)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<OtpDeposited>, FastError> {
    let (caller, form) =
        Form::read_authenticated(caller, &headers, body, state.cfg.max_upload_bytes).await?;
    let siren = Siren::parse(&siren)?;
    let circuit = CircuitId::parse(&circuit)?;
    let file = form.file(&["doc", "content"])?.ok_or_else(|| {
        ApiError::BadParameter("the file part `doc` (or `content`) is missing".into())
    })?;
    let referer = form.text("referer")?;
    if referer.chars().count() > 255 {
        return Err(ApiError::BadParameter("referer longer than 255 characters".into()).into());
    }
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
        pictograms: None,
        otp: Some(OtpDeposit {
            information: information(&form, &["meta", "otpinformation"])?,
            referer: Some(referer.trim().to_owned()).filter(|r| !r.is_empty()),
            invite: false,
        }),
    };
    let d = deposit_with(&state, &caller, req).await?;
    Ok(Json(OtpDeposited {
        id: d.id.get(),
        url: d.otp_url,
    }))
}

/// Replaces the OTP information of a document (`uploadOTPInformation`).
#[utoipa::path(put, path = "/parapheur-ws/rest/v1/documents/v2/otp/{id}/metadata/define", operation_id = "uploadOTPInformation", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit")),
    request_body(content = crate::routes::openapi::OtpInformationForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "Recorded.")))]
pub async fn define(
    State(state): State<AppState>,
    caller: Result<FastCaller, FastError>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(), FastError> {
    let (caller, form) =
        Form::read_authenticated(caller, &headers, body, state.cfg.max_upload_bytes).await?;
    let id = doc_id(&id)?;
    let xml = information(&form, &["otpinformation", "meta"])?;
    otp::define_information(&state, &caller, id, &xml).await?;
    Ok(())
}

/// The signing page for several OTP documents of one signer (`getSMSURL`).
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/otp/url", operation_id = "getSMSURL", tag = "FAST",
    params(("id" = Vec<i64>, Query, description = "Document identifiers (repeated, or comma-separated)", explode)),
    responses((status = 200, description = "The signing page's address", body = crate::routes::openapi::OtpUrl)))]
pub async fn url(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    RawQuery(query): RawQuery,
) -> Result<Json<OtpUrl>, FastError> {
    let mut ids = Vec::new();
    for pair in query.unwrap_or_default().split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "id" || k == "id[]" || k == "id%5B%5D" {
            for one in v.split(',').filter(|s| !s.is_empty()) {
                ids.push(doc_id(one)?);
            }
        }
    }
    let url = otp::url_for(&state, &caller, &ids).await?;
    Ok(Json(OtpUrl { url }))
}
