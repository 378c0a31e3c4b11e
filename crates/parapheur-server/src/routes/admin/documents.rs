//! The documents tab: the documents waiting at a step where nobody can act (with the form that
//! reassigns that step, CONTRACT §10), then every document of the subscriber, paged.

use super::{Frame, admin, done, ok_banner, page};
use crate::error::ApiError;
use crate::routes::html::{Banner, PageError, require_csrf};
use crate::routes::portal::{PAGE, Row, page_number};
use crate::service::delegation;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parapheur_domain::DocumentId;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "admin/documents.html")]
struct DocumentsPage<'a> {
    f: &'a Frame,
    message: Option<Banner>,
    /// `(id, file name)` of the documents nobody can move on.
    stuck: Vec<(i64, String)>,
    docs: Vec<Row>,
    total: i64,
    prev: Option<String>,
    next: Option<String>,
}

async fn render(
    state: &AppState,
    f: &Frame,
    q: &HashMap<String, String>,
    message: Option<Banner>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let page_no = page_number(q);
    let (docs, total) = state
        .db
        .subscriber_documents(&f.siren, (page_no - 1) * PAGE, PAGE)
        .await?;
    let stuck = state.db.stuck_documents(&f.siren).await?;
    let siren = &f.siren;
    let link = |p: i64| format!("/parapheur/admin/{siren}/documents?page={p}");
    let html = DocumentsPage {
        f,
        message: message.or_else(|| ok_banner(q)),
        stuck,
        docs: docs.into_iter().map(Row::from).collect(),
        total,
        prev: (page_no > 1).then(|| link(page_no - 1)),
        next: (page_no * PAGE < total).then(|| link(page_no + 1)),
    }
    .render();
    page(state, f, html, status)
}

pub(super) async fn documents_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, _, f) = admin(&state, &headers, &siren, "documents").await?;
    render(&state, &f, &q, None, StatusCode::OK).await
}

/// The reassignment form: the current step of document `id` goes to the e-mails typed.
pub(super) async fn reassign(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let (caller, siren, f) = admin(&state, &headers, &siren, "documents").await?;
    let id = DocumentId::parse(&id).map_err(|_| PageError::NotFound)?;
    let members: Vec<String> = form
        .get("members")
        .map(String::as_str)
        .unwrap_or_default()
        .split([',', ';', ' ', '\n'])
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    let refused = match delegation::reassign(&state, &caller, id, &members).await {
        Ok(()) => return Ok(done(siren.as_str(), "documents", "reattribue")),
        Err(ApiError::InvalidDocId | ApiError::NotFound) => return Err(PageError::NotFound),
        Err(e @ ApiError::Internal(_)) => return Err(e.into()),
        Err(e) => e,
    };
    let text = match refused {
        ApiError::InvalidStepMember(m) => {
            format!("{m} n'est pas un utilisateur de la collectivité.")
        }
        ApiError::DepositorIsMember(m) => {
            format!("{m} a déposé le document et ne peut pas le viser ni le signer.")
        }
        ApiError::BadParameter(_) => "Indiquez au moins une adresse e-mail.".into(),
        ApiError::InvalidState(_) => "Le document n'attend plus de visa ni de signature.".into(),
        _ => "La réattribution n'a pas pu être faite.".into(),
    };
    render(
        &state,
        &f,
        &HashMap::new(),
        Some(Banner::error(text)),
        StatusCode::BAD_REQUEST,
    )
    .await
}
