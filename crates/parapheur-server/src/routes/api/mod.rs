//! The native JSON API (`/api/v1`): proper HTTP statuses, problem+json errors.

pub mod actions;
pub mod annexes;
pub mod delegation;
pub mod health;
pub mod inbound;
pub mod lifecycle;
pub mod tasks;

use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The native API, each route registered through its handler's OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tasks::tasks))
        .routes(routes!(actions::visa))
        .routes(routes!(actions::reject))
        .routes(routes!(actions::sign))
        .routes(routes!(actions::sign_prepare))
        .routes(routes!(actions::sign_complete))
        .routes(routes!(actions::refuse))
        .routes(routes!(lifecycle::replace))
        .routes(routes!(lifecycle::add_comment, lifecycle::list_comments))
        .routes(routes!(lifecycle::add_annex, annexes::list))
        .routes(routes!(annexes::download))
        .routes(routes!(lifecycle::interrupt))
        .routes(routes!(delegation::reassign))
        .routes(routes!(
            delegation::put_mine,
            delegation::get_mine,
            delegation::delete_mine
        ))
        .routes(routes!(
            delegation::get_notifications,
            delegation::put_notifications
        ))
        .routes(routes!(delegation::put_for))
        .routes(routes!(health::ca_pem))
        .routes(routes!(health::crl))
        .routes(routes!(health::ocsp))
        .routes(routes!(inbound::inbound))
}
