//! The document page's changes besides actions: replacing the main file, adding a comment,
//! adding an annex (through `service::lifecycle`, as the native API).

use super::document::render_document;
use super::list::ListContext;
use super::signed_in;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::files::Upload;
use crate::routes::form::Form as Multipart;
use crate::routes::html::{Banner, PageError, redirect, require_csrf};
use crate::service::lifecycle;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use parapheur_domain::DocumentId;
use std::collections::HashMap;

/// The page back to after a change (`ok` names it), keeping the list it was opened from.
fn done(id: DocumentId, ok: &str, list: Option<&ListContext>) -> Response {
    redirect(&match list {
        Some(l) => format!("{}&ok={ok}", l.document_link(id.get())),
        None => format!("/parapheur/documents/{}?ok={ok}", id.get()),
    })
}

/// The document page again with the reason of a failed change.
async fn failed(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: DocumentId,
    e: ApiError,
    list: Option<&ListContext>,
) -> Result<Response, PageError> {
    if let ApiError::Internal(_) = e {
        return Err(e.into());
    }
    let b = Banner::error(e.user_message());
    render_document(state, caller, headers, id, e.status(), Some(b), list).await
}

/// A multipart form of the page: the caller, the document, the CSRF-checked form and its file
/// (`Err` with the page to show when the form cannot be read).
async fn upload_form(
    state: &AppState,
    headers: &HeaderMap,
    raw: &str,
    body: Body,
) -> Result<
    (
        Caller,
        DocumentId,
        Result<(Upload, Option<ListContext>), ApiError>,
    ),
    PageError,
> {
    let caller = signed_in(state, headers, format!("/parapheur/documents/{raw}")).await?;
    let id = DocumentId::parse(raw).map_err(|_| PageError::NotFound)?;
    let form = match Multipart::read(headers, body, state.cfg.max_upload_bytes).await {
        Ok(f) => f,
        Err(e) => return Ok((caller, id, Err(e))),
    };
    let mut check = HashMap::new();
    check.insert("csrf".to_owned(), form.text("csrf").unwrap_or_default());
    require_csrf(headers, &check)?;
    let list = ListContext::from_params(|k| form.text(k).ok());
    let file = match form.file(&["file"]) {
        Ok(Some(f)) => Ok((f, list)),
        Ok(None) => Err(ApiError::BadParameter("the file is missing".into())),
        Err(e) => Err(e),
    };
    Ok((caller, id, file))
}

/// `POST /parapheur/documents/{id}/remplacer` (multipart `csrf`, `file`, `suivant`).
pub(super) async fn replace(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let (caller, id, form) = upload_form(&state, &headers, &raw, body).await?;
    let (file, list) = match form {
        Ok(f) => f,
        Err(e) => return failed(&state, &caller, &headers, id, e, None).await,
    };
    match lifecycle::replace(&state, &caller, id, file).await {
        Ok(()) => Ok(done(id, "remplacement", list.as_ref())),
        Err(e) => failed(&state, &caller, &headers, id, e, list.as_ref()).await,
    }
}

/// `POST /parapheur/documents/{id}/annexes` (multipart `csrf`, `file`, `suivant`).
pub(super) async fn annex(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let (caller, id, form) = upload_form(&state, &headers, &raw, body).await?;
    let (file, list) = match form {
        Ok(f) => f,
        Err(e) => return failed(&state, &caller, &headers, id, e, None).await,
    };
    match lifecycle::annex(&state, &caller, id, file).await {
        Ok(_) => Ok(done(id, "annexe", list.as_ref())),
        Err(e) => failed(&state, &caller, &headers, id, e, list.as_ref()).await,
    }
}

/// `POST /parapheur/documents/{id}/commentaires` (`csrf`, `text`, `suivant`).
pub(super) async fn comment(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let caller = signed_in(&state, &headers, format!("/parapheur/documents/{raw}")).await?;
    let id = DocumentId::parse(&raw).map_err(|_| PageError::NotFound)?;
    let text = form.get("text").map(String::as_str).unwrap_or_default();
    let list = ListContext::from_params(|k| form.get(k).cloned());
    match lifecycle::comment(&state, &caller, id, text).await {
        Ok(_) => Ok(done(id, "commentaire", list.as_ref())),
        Err(e) => failed(&state, &caller, &headers, id, e, list.as_ref()).await,
    }
}
