//! The native JSON API (`/api/v1`): proper HTTP statuses, problem+json errors.

pub mod actions;
pub mod annexes;
pub mod delegation;
pub mod health;
pub mod inbound;
pub mod lifecycle;
pub mod tasks;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post, put};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(tasks::tasks))
        .route("/documents/{id}/visa", post(actions::visa))
        .route("/documents/{id}/reject", post(actions::reject))
        .route("/documents/{id}/sign", post(actions::sign))
        .route("/documents/{id}/sign/prepare", post(actions::sign_prepare))
        .route(
            "/documents/{id}/sign/complete",
            post(actions::sign_complete),
        )
        .route("/documents/{id}/refuse", post(actions::refuse))
        .route("/documents/{id}/replace", post(lifecycle::replace))
        .route(
            "/documents/{id}/comments",
            post(lifecycle::add_comment).get(lifecycle::list_comments),
        )
        .route(
            "/documents/{id}/annexes",
            post(lifecycle::add_annex).get(annexes::list),
        )
        .route("/documents/{id}/annexes/{annex_id}", get(annexes::download))
        .route("/documents/{id}/interrupt", post(lifecycle::interrupt))
        .route(
            "/documents/{id}/steps/current/members",
            put(delegation::reassign),
        )
        .route(
            "/me/absence",
            put(delegation::put_mine)
                .get(delegation::get_mine)
                .delete(delegation::delete_mine),
        )
        .route(
            "/me/notifications",
            get(delegation::get_notifications).put(delegation::put_notifications),
        )
        .route(
            "/subscribers/{siren}/users/{email}/absence",
            put(delegation::put_for),
        )
        .route("/pki/ca.pem", get(health::ca_pem))
        .route("/pki/crl", get(health::crl))
        .route("/pki/ocsp", post(health::ocsp))
        .route(
            "/subscribers/{siren}/inbound/{kind}",
            post(inbound::inbound),
        )
}
