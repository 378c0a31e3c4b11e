//! `PUT documents/v2/{id}/metadata/define` (part `metadata`) and `GET documents/{id}/metas`.

use super::doc_id;
use crate::auth::FastCaller;
use crate::error::{ApiError, FastError};
use crate::routes::form::Form;
use crate::service::{access, documents};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use parapheur_domain::metadata::{MetaData, render_metadata_list};

/// Metadata files are small; anything larger is refused before parsing.
const MAX_METADATA_BYTES: usize = 1024 * 1024;

#[utoipa::path(put, path = "/parapheur-ws/rest/v1/documents/v2/{id}/metadata/define", operation_id = "defineMetadata", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit")),
    request_body(content = crate::routes::openapi::MetadataForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "Recorded.")))]
pub async fn define(
    State(state): State<AppState>,
    caller: Result<FastCaller, FastError>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(), FastError> {
    // The body is read first: answering before the client has sent it all makes it see a reset.
    let (caller, form) =
        Form::read_authenticated(caller, &headers, body, state.cfg.max_upload_bytes).await?;
    let id = doc_id(&id)?;
    access::authorize_read(&state, &caller, id).await?;
    let part = form
        .parts
        .iter()
        .find(|p| p.name == "metadata")
        .ok_or_else(|| ApiError::BadParameter("the part `metadata` is missing".into()))?;
    if part.bytes.len() > MAX_METADATA_BYTES {
        return Err(
            ApiError::InvalidMetadata("the metadata file is larger than 1 MiB".into()).into(),
        );
    }
    documents::define_metadata(&state, &caller, id, &part.bytes).await?;
    Ok(())
}

#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/{id}/metas", operation_id = "getMetas", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit")),
    responses((status = 200, description = "The metadata, XML", body = String, content_type = "application/xml")))]
pub async fn metas(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    let id = doc_id(&id)?;
    access::authorize_read(&state, &caller, id).await?;
    let items: Vec<MetaData> = state
        .db
        .metadata(id.get())
        .await?
        .into_iter()
        .map(|(name, value)| MetaData { name, value })
        .collect();
    Ok((
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        render_metadata_list(&items),
    )
        .into_response())
}
