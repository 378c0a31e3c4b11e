//! `GET /api/v1/tasks`: the documents waiting for the caller.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

/// A document waiting for the caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Task {
    id: i64,
    name: String,
    siren: String,
    circuit: Option<String>,
    step: String,
    /// `YYYY-MM-DD` (CONTRACT §11).
    deadline: Option<String>,
    /// The deadline has passed.
    overdue: bool,
}

/// The documents waiting for the caller's action.
#[utoipa::path(get, path = "/tasks", operation_id = "tasks", tag = "native",
    responses((status = 200, description = "Documents waiting for the caller", body = Vec<Task>)))]
pub async fn tasks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Task>>, ApiError> {
    let today = crate::service::access::today();
    let rows = state.db.tasks(caller.user_id, &today).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Task {
                id: r.id,
                name: r.filename,
                siren: r.siren,
                circuit: r.circuit_id,
                step: r.kind.as_str().to_owned(),
                overdue: r.deadline.as_deref().is_some_and(|d| d < today.as_str()),
                deadline: r.deadline,
            })
            .collect(),
    ))
}
