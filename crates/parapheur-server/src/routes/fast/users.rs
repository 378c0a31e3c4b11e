//! `GET exportUsersData?siren=` and `PUT synchronization/{siren}/users` (administrators).

use crate::auth::FastCaller;
use crate::error::{ApiError, FastError};
use crate::service::users;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use parapheur_domain::Siren;
use serde_json::Value;
use std::collections::HashMap;

#[utoipa::path(get, path = "/parapheur-ws/rest/v1/exportUsersData", operation_id = "exportUsersData", tag = "FAST",
    params(("siren" = String, Query, description = "The subscriber's SIREN")),
    responses((status = 200, description = "The subscriber's users, groups and circuit roles", body = crate::routes::openapi::UsersExport)))]
pub async fn export(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, FastError> {
    let siren = q
        .get("siren")
        .ok_or_else(|| ApiError::BadParameter("the parameter `siren` is missing".into()))?;
    let siren = Siren::parse(siren)?;
    Ok(Json(users::export(&state, &caller, &siren).await?))
}

/// The largest synchronisation body (10 000 users of a few hundred bytes each).
pub const SYNC_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Nothing when everything applied; otherwise the problems, as JSON.
#[utoipa::path(put, path = "/parapheur-ws/rest/v1/synchronization/{siren}/users", operation_id = "synchronizeUsers", tag = "FAST",
    params(("siren" = String, Path, description = "The subscriber's SIREN (nine digits)")),
    request_body(content = Vec<crate::routes::openapi::SyncUser>, content_type = "application/json"),
    responses((status = 200, description = "Empty when every user was applied, else the users that were not, and why",
        body = Vec<crate::routes::openapi::SyncProblem>)))]
pub async fn synchronize(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(siren): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, FastError> {
    let body = body.map_err(|_| ApiError::TooLarge(SYNC_BODY_LIMIT as u64))?;
    let siren = Siren::parse(&siren)?;
    let problems = users::synchronize(&state, &caller, &siren, &body).await?;
    if problems.is_empty() {
        return Ok(().into_response());
    }
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Value::Array(problems).to_string(),
    )
        .into_response())
}
