//! The portal: login with a session cookie, the dashboard's bannettes, the document page with
//! its actions and downloads, deposits, batch signing, and `/parapheur/showDoc.action?documentid=`
//! (the link client software and our e-mails give). Forms carry the double-submit CSRF token of
//! the other pages; logins are throttled.

mod absence;
mod batch;
mod changes;
mod dashboard;
mod deposit;
mod document;
mod files;
mod list;
mod login;

use crate::auth::Caller;
use crate::routes::html::{PageError, cookie};
use crate::service::sessions;
use crate::state::AppState;
use axum::Router;
use axum::http::HeaderMap;
use axum::response::Redirect;
use axum::routing::{get, post};
use parapheur_domain::DocumentStatus;
use parapheur_store::documents::DocumentRow;

/// The cookie holding the session token.
const SESSION_COOKIE: &str = "parapheur_session";
/// Documents per page of a list.
pub(crate) const PAGE: i64 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::root))
        .route("/parapheur", get(|| async { Redirect::to("/parapheur/") }))
        .route("/parapheur/", get(dashboard::dashboard))
        .route(
            "/parapheur/login",
            get(login::login_page).post(login::login),
        )
        .route(
            "/parapheur/login/certificat",
            post(login::login_certificate),
        )
        .route("/parapheur/logout", post(login::logout))
        .route("/parapheur/oidc/login", get(login::oidc_login))
        .route("/parapheur/oidc/callback", get(login::oidc_callback))
        .route("/parapheur/showDoc.action", get(dashboard::show_doc))
        .route("/parapheur/documents/{id}", get(document::document_page))
        .route("/parapheur/documents/{id}/action", post(document::act))
        .route(
            "/parapheur/documents/{id}/remplacer",
            post(changes::replace),
        )
        .route(
            "/parapheur/documents/{id}/commentaires",
            post(changes::comment),
        )
        .route("/parapheur/documents/{id}/annexes", post(changes::annex))
        .route(
            "/parapheur/documents/{id}/telecharger",
            get(files::download),
        )
        .route("/parapheur/documents/{id}/apercu", get(files::preview))
        .route("/parapheur/documents/{id}/fiche", get(files::fiche))
        .route(
            "/parapheur/documents/{id}/annexes/{annex_id}",
            get(files::annex),
        )
        .route(
            "/parapheur/documents/{id}/pages/{n}",
            get(files::page_image),
        )
        .route(
            "/parapheur/deposer",
            get(deposit::deposit_page).post(deposit::deposit),
        )
        .route("/parapheur/signer-lot", post(batch::sign_batch))
        .route("/parapheur/viser-lot", post(batch::approve_batch))
        .route(
            "/parapheur/absence",
            get(absence::absence_page).post(absence::save_absence),
        )
        .route("/parapheur/lots/{batch}", get(batch::batch_page))
}

/// The signed-in user of the request, with the hash of the session token.
pub(crate) async fn session(state: &AppState, headers: &HeaderMap) -> Option<(Caller, String)> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let found = sessions::caller(state, &token).await;
    if let Some((caller, _)) = &found {
        crate::observe::set_user(caller.user_id);
    }
    found
}

/// The signed-in user of the request, or the way to the login page coming back to `next`.
pub(crate) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    next: impl Into<String>,
) -> Result<Caller, PageError> {
    match session(state, headers).await {
        Some((caller, _)) => Ok(caller),
        None => Err(PageError::Login { next: next.into() }),
    }
}

/// A document in a list (dashboard, administration).
pub(crate) struct Row {
    pub id: i64,
    pub filename: String,
    pub label: String,
    pub circuit: String,
    pub state: &'static str,
}

impl From<DocumentRow> for Row {
    fn from(d: DocumentRow) -> Self {
        Self {
            id: d.id,
            state: state_fr(d.status),
            filename: d.filename,
            label: d.label,
            circuit: d.circuit_id.unwrap_or_else(|| "à la demande".into()),
        }
    }
}

/// The French name of a stored status, as the portal shows it.
pub(crate) fn state_fr(status: DocumentStatus) -> &'static str {
    match status {
        DocumentStatus::AwaitingMetadata => "En attente des métadonnées",
        DocumentStatus::InProgress => "En cours",
        DocumentStatus::VisaDisapproved => "Visa désapprouvé",
        DocumentStatus::Refused => "Refusé",
        DocumentStatus::SignatureRejected => "Signature rejetée",
        DocumentStatus::Classified => "Terminé",
    }
}

/// Whether the document's current file is a PDF still held (previews and page images).
pub(crate) fn shows_pdf(doc: &DocumentRow) -> bool {
    doc.filename.to_ascii_lowercase().ends_with(".pdf") && doc.purged_at.is_none()
}

/// `?page=` of a list (1 when absent or invalid).
pub(crate) fn page_number(q: &std::collections::HashMap<String, String>) -> i64 {
    q.get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1)
}
