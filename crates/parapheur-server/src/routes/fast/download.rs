//! `GET documents/v2/{id}/download` (raw file, or a ZIP with `FdC` / `acquit`) and `getFdc`.

use super::doc_id;
use crate::auth::FastCaller;
use crate::error::{ApiError, FastError};
use crate::routes::stored::{Disposition, stored_file};
use crate::service::download::{fdc_name, package_bytes};
use crate::service::{access, fdc};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use std::collections::HashMap;

fn flag(q: &HashMap<String, String>, name: &str) -> bool {
    q.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case(name)
            && matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes")
    })
}

/// A stored file as a download (see [`crate::routes::stored`]).
pub fn attachment(name: &str, bytes: Vec<u8>) -> Response {
    stored_file(name, bytes, Disposition::Attachment)
}

/// The document as delivered: its file, or a ZIP with the signature sheet (`FdC=true`) or the
/// Helios acknowledgement (`acquit=true`).
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/download", operation_id = "download", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit"),
        ("FdC" = Option<bool>, Query, description = "Add the signature sheet (a ZIP is answered)"),
        ("acquit" = Option<bool>, Query, description = "Add the Helios acknowledgement (a ZIP is answered)")),
    responses((status = 200, description = "The file, as an attachment", content(("application/pdf"), ("application/zip"), ("application/xml"), ("application/octet-stream")))))]
pub async fn download(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, FastError> {
    let doc = access::load(&state, &caller, doc_id(&id)?).await?;
    if doc.purged_at.is_some() {
        return Err(ApiError::ContentPurged.into());
    }
    Ok(package(&state, &doc, flag(&q, "FdC"), flag(&q, "acquit")).await?)
}

/// The document as delivered, as a download response (see [`crate::service::download::package_bytes`]).
pub async fn package(
    state: &AppState,
    doc: &parapheur_store::documents::DocumentRow,
    with_fdc: bool,
    with_acquit: bool,
) -> Result<Response, ApiError> {
    let (name, bytes) = package_bytes(state, doc, with_fdc, with_acquit).await?;
    Ok(attachment(&name, bytes))
}

/// The signature sheet (fiche de circulation) of a document, PDF.
#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/getFdc", operation_id = "getFdc", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit")),
    responses((status = 200, description = "The signature sheet", content(("application/pdf")))))]
pub async fn get_fdc(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let doc = access::load(&state, &caller, doc_id(&id)?).await?;
    let pdf = fdc::build(&state, &doc).await?;
    Ok(attachment(&fdc_name(doc.id), pdf))
}
