//! CONTRACT §10: `PUT|GET|DELETE /api/v1/me/absence`,
//! `PUT /api/v1/subscribers/{siren}/users/{email}/absence` and
//! `PUT /api/v1/documents/{id}/steps/current/members`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::delegation::{self, AbsenceInput, AbsenceView};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use parapheur_domain::{DocumentId, Siren};
use serde::de::DeserializeOwned;

fn body<T: DeserializeOwned>(raw: &Bytes, expected: &str) -> Result<T, ApiError> {
    serde_json::from_slice(raw)
        .map_err(|e| ApiError::BadParameter(format!("a JSON body {expected} is expected ({e})")))
}

const ABSENCE: &str = r#"{"from": "YYYY-MM-DD", "until": "YYYY-MM-DD", "delegate": "<email>"}"#;

/// Declares the caller's absence and delegate.
#[utoipa::path(put, path = "/api/v1/me/absence", operation_id = "setMyAbsence", tag = "native",
    request_body(content = AbsenceInput, content_type = "application/json"),
    responses((status = 200, description = "The absence", body = AbsenceView)))]
pub async fn put_mine(
    State(state): State<AppState>,
    caller: Caller,
    raw: Bytes,
) -> Result<Json<AbsenceView>, ApiError> {
    let input: AbsenceInput = body(&raw, ABSENCE)?;
    Ok(Json(delegation::set_mine(&state, &caller, &input).await?))
}

#[utoipa::path(get, path = "/api/v1/me/absence", operation_id = "getMyAbsence", tag = "native",
    responses((status = 200, description = "The caller's absence (404 when none)", body = AbsenceView)))]
pub async fn get_mine(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AbsenceView>, ApiError> {
    delegation::current(&state, caller.user_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(delete, path = "/api/v1/me/absence", operation_id = "endMyAbsence", tag = "native",
    responses((status = 204, description = "Ended")))]
pub async fn delete_mine(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    delegation::clear_mine(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An administrator declares a user's absence.
#[utoipa::path(put, path = "/api/v1/subscribers/{siren}/users/{email}/absence", operation_id = "setAbsence", tag = "native",
    params(("siren" = String, Path, description = "The subscriber's SIREN (nine digits)"), ("email" = String, Path, description = "The absent user's e-mail")),
    request_body(content = AbsenceInput, content_type = "application/json"),
    responses((status = 200, description = "The absence", body = AbsenceView)))]
pub async fn put_for(
    State(state): State<AppState>,
    caller: Caller,
    Path((siren, email)): Path<(String, String)>,
    raw: Bytes,
) -> Result<Json<AbsenceView>, ApiError> {
    let siren = Siren::parse(&siren).map_err(|_| ApiError::SubscriberNotFound)?;
    let input: AbsenceInput = body(&raw, ABSENCE)?;
    Ok(Json(
        delegation::set_for(&state, &caller, &siren, &email, &input).await?,
    ))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Members {
    members: Vec<String>,
}

/// An administrator replaces the members of the current step.
#[utoipa::path(put, path = "/api/v1/documents/{id}/steps/current/members", operation_id = "reassign", tag = "native",
    params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = inline(Members), content_type = "application/json"),
    responses((status = 204, description = "Reassigned")))]
pub async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw_id): Path<String>,
    raw: Bytes,
) -> Result<StatusCode, ApiError> {
    let id = DocumentId::parse(&raw_id).map_err(|_| ApiError::NotFound)?;
    let m: Members = body(&raw, r#"{"members": ["<email>", ...]}"#)?;
    delegation::reassign(&state, &caller, id, &m.members).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET|PUT /api/v1/me/notifications` (CONTRACT §11): `{"daily_digest": bool}` — one e-mail a
/// day listing what waits for the caller instead of one e-mail per document.
#[derive(serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    daily_digest: bool,
}

#[utoipa::path(get, path = "/api/v1/me/notifications", operation_id = "getNotifications", tag = "native",
    responses((status = 200, description = "The caller's notification settings", body = Notifications)))]
pub async fn get_notifications(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Notifications>, ApiError> {
    Ok(Json(Notifications {
        daily_digest: state.db.daily_digest(caller.user_id).await?,
    }))
}

#[utoipa::path(put, path = "/api/v1/me/notifications", operation_id = "setNotifications", tag = "native",
    request_body(content = Notifications, content_type = "application/json"),
    responses((status = 200, description = "The new settings", body = Notifications)))]
pub async fn put_notifications(
    State(state): State<AppState>,
    caller: Caller,
    raw: Bytes,
) -> Result<Json<Notifications>, ApiError> {
    let n: Notifications = body(&raw, r#"{"daily_digest": true|false}"#)?;
    state
        .db
        .set_daily_digest(caller.user_id, n.daily_digest)
        .await?;
    Ok(Json(n))
}
