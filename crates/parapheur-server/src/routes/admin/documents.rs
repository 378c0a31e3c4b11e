//! The documents tab: every document of the subscriber, paged.

use super::{Frame, admin, page};
use crate::routes::html::PageError;
use crate::routes::portal::{PAGE, Row, page_number};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "admin/documents.html")]
struct DocumentsPage<'a> {
    f: &'a Frame,
    docs: Vec<Row>,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

pub(super) async fn documents_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, siren, f) = admin(&state, &headers, &siren, "documents").await?;
    let page_no = page_number(&q);
    let (docs, total) = state
        .db
        .subscriber_documents(siren.as_str(), (page_no - 1) * PAGE, PAGE)
        .await?;
    let link = |p: i64| format!("/parapheur/admin/{siren}/documents?page={p}");
    let html = DocumentsPage {
        f: &f,
        docs: docs.into_iter().map(Row::from).collect(),
        total,
        prev: (page_no > 1).then(|| link(page_no - 1)),
        next: (page_no * PAGE < total).then(|| link(page_no + 1)),
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}
