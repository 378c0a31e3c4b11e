//! `POST /api/v1/documents/{id}/{visa,reject,sign,refuse}` with an optional `{"comment"}`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::{access, documents};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use bytes::Bytes;
use parapheur_domain::{Action, DocumentId};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    comment: Option<String>,
}

async fn run(
    state: AppState,
    caller: Caller,
    id: String,
    body: Bytes,
    action: Action,
) -> Result<Json<Value>, ApiError> {
    let id = DocumentId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let b: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadParameter(format!("JSON body {{\"comment\"}} expected ({e})"))
        })?
    };
    if b.comment.as_ref().is_some_and(|c| c.chars().count() > 4000) {
        return Err(ApiError::BadParameter(
            "comment longer than 4000 characters".into(),
        ));
    }
    documents::act(&state, &caller, id, action, b.comment).await?;
    let doc = access::load(&state, &caller, id).await?;
    Ok(Json(
        json!({ "id": doc.id, "status": doc.status.as_str(), "currentStep": doc.current_step }),
    ))
}

pub async fn visa(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<Value>, ApiError> {
    run(s, c, id, b, Action::Visa).await
}
pub async fn reject(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<Value>, ApiError> {
    run(s, c, id, b, Action::Reject).await
}
pub async fn sign(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<Value>, ApiError> {
    run(s, c, id, b, Action::Sign).await
}
pub async fn refuse(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<Value>, ApiError> {
    run(s, c, id, b, Action::Refuse).await
}
