//! `GET /api/v1/tasks`: the documents waiting for the caller.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::tasks::Task;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// The documents waiting for the caller's action.
#[utoipa::path(get, path = "/api/v1/tasks", operation_id = "tasks", tag = "native",
    responses((status = 200, description = "Documents waiting for the caller", body = Vec<Task>)))]
pub async fn tasks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    let json = crate::service::tasks::tasks_json(&state, &caller).await?;
    Ok(([(CONTENT_TYPE, "application/json")], json))
}
