//! `POST /api/v1/documents/{id}/replace` (multipart `file`), `.../comments` (`{"text"}`; GET
//! lists them), `.../annexes` (multipart `file`) and `.../interrupt` (`{"comment"}`).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::form::Form;
use crate::routes::openapi::{Created, Interrupted};
use crate::service::lifecycle;
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use parapheur_domain::DocumentId;
use serde_json::Value;

fn id(raw: &str) -> Result<DocumentId, ApiError> {
    DocumentId::parse(raw).map_err(|_| ApiError::NotFound)
}

async fn file(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<crate::files::Upload, ApiError> {
    Form::read(headers, body, state.cfg.max_upload_bytes)
        .await?
        .file(&["file"])?
        .ok_or_else(|| ApiError::BadParameter("the file part `file` is missing".into()))
}

fn field(body: &Bytes, name: &str) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadParameter(format!("JSON body {{\"{name}\"}} expected ({e})")))?;
    let text = v.get(name).and_then(Value::as_str).map(str::to_owned);
    if let Some(t) = &text {
        crate::routes::no_nul(name, t)?;
    }
    Ok(text)
}

/// Replaces the main file (allowed states only); the circuit restarts.
#[utoipa::path(post, path = "/api/v1/documents/{id}/replace", operation_id = "replace", tag = "native", params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = crate::routes::openapi::FileForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "Replaced", body = crate::routes::openapi::Created)))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Created>, ApiError> {
    let id = id(&raw)?;
    let f = file(&state, &headers, body).await?;
    lifecycle::replace(&state, &caller, id, f).await?;
    Ok(Json(Created { id: id.get() }))
}

#[utoipa::path(post, path = "/api/v1/documents/{id}/comments", operation_id = "addComment", tag = "native", params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = crate::routes::openapi::CommentText, content_type = "application/json"),
    responses((status = 201, description = "The comment's identifier", body = crate::routes::openapi::Created)))]
pub async fn add_comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let text = field(&body, "text")?.unwrap_or_default();
    let cid = lifecycle::comment(&state, &caller, id(&raw)?, &text).await?;
    Ok((StatusCode::CREATED, Json(Created { id: cid })))
}

#[utoipa::path(get, path = "/api/v1/documents/{id}/comments", operation_id = "listComments", tag = "native", params(("id" = i64, Path, description = "The document identifier")),
    responses((status = 200, description = "The comments, oldest first", body = Vec<crate::routes::openapi::CommentView>)))]
pub async fn list_comments(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(lifecycle::comments(&state, &caller, id(&raw)?).await?))
}

#[utoipa::path(post, path = "/api/v1/documents/{id}/annexes", operation_id = "addAnnex", tag = "native", params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = crate::routes::openapi::FileForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "The annex's identifier", body = crate::routes::openapi::Created)))]
pub async fn add_annex(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = id(&raw)?;
    let f = file(&state, &headers, body).await?;
    let aid = lifecycle::annex(&state, &caller, id, f).await?;
    Ok((StatusCode::CREATED, Json(Created { id: aid })))
}

/// An administrator stops the circuit: "Classé (interrompu)".
#[utoipa::path(post, path = "/api/v1/documents/{id}/interrupt", operation_id = "interrupt", tag = "native", params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = Option<crate::routes::openapi::ActionComment>, content_type = "application/json"),
    responses((status = 200, description = "Stopped", body = crate::routes::openapi::Interrupted)))]
pub async fn interrupt(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<Json<Interrupted>, ApiError> {
    let comment = field(&body, "comment")?;
    let id = id(&raw)?;
    lifecycle::interrupt(&state, &caller, id, comment).await?;
    Ok(Json(Interrupted {
        id: id.get(),
        state: "Classé (interrompu)",
    }))
}
