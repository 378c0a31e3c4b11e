//! The webhooks tab: the latest deliveries to the subscriber's endpoints with their status, and
//! the replay of a failed one (CONTRACT §11).

use super::{Frame, admin, done, ok_banner, page};
use crate::routes::html::{PageError, require_csrf};
use crate::service::human_date;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

/// Deliveries shown.
const SHOWN: i64 = 100;

struct DeliveryView {
    id: i64,
    date: String,
    url: String,
    document: String,
    status: &'static str,
    failed: bool,
    attempts: i64,
    error: String,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage<'a> {
    f: &'a Frame,
    message: Option<crate::routes::html::Banner>,
    deliveries: Vec<DeliveryView>,
}

fn status_fr(s: &str) -> &'static str {
    match s {
        "delivered" => "Remis",
        "failed" => "Échec",
        _ => "En attente",
    }
}

pub(super) async fn webhooks_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, siren, f) = admin(&state, &headers, &siren, "webhooks").await?;
    let deliveries = state
        .db
        .recent_deliveries(siren.as_str(), SHOWN)
        .await?
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            date: human_date(d.created_at),
            url: d.url,
            document: d.document_id.map(|i| i.to_string()).unwrap_or_default(),
            status: status_fr(&d.status),
            failed: d.status == "failed",
            attempts: d.attempts,
            error: d.last_error.unwrap_or_default(),
        })
        .collect();
    let html = WebhooksPage {
        f: &f,
        message: ok_banner(&q),
        deliveries,
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}

pub(super) async fn replay(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, i64)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let (_, siren, _) = admin(&state, &headers, &siren, "webhooks").await?;
    if state.db.replay_delivery(siren.as_str(), id).await? {
        state.wake_jobs();
        tracing::info!(
            delivery.id = id,
            "webhook delivery replayed by an administrator"
        );
        Ok(done(siren.as_str(), "webhooks", "renvoye"))
    } else {
        Err(PageError::NotFound)
    }
}
