//! Pages for people without an account: the OTP signing page (CONTRACT §7) and the download
//! link sent with signed documents. Forms carry a CSRF token checked against a cookie
//! (double submit, `SameSite=Strict`); pages are never cached and never leak their URL (which
//! holds the token) in a `Referer`.

use crate::routes::html::{Banner, PageError, harden, html, redirect, require_csrf, with_csrf};
use crate::routes::stored::{Disposition, stored_file};
use crate::service::links::{self, DownloadLinkError};
use crate::service::otp::{self, Page};
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use parapheur_domain::otp::CodeProblem;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/otp/{token}", get(otp_page))
        .route("/otp/{token}/code", post(otp_code))
        .route("/otp/{token}/sign", post(otp_sign))
        .route("/otp/{token}/refus", post(otp_refuse))
        .route("/otp/{token}/documents/{id}", get(otp_document))
        .route("/otp/{token}/annexes/{annex_id}", get(otp_annex))
        .route("/public/download/{token}", get(public_download))
}

#[derive(Template)]
#[template(path = "otp/page.html")]
struct OtpPage<'a> {
    p: &'a Page,
    token: &'a str,
    csrf: &'a str,
    message: Option<Banner>,
    pending: bool,
    preview: Option<i64>,
}

/// An OTP page failure: an invalid link says only that, anything else is an internal error.
impl From<otp::PageError> for PageError {
    fn from(e: otp::PageError) -> Self {
        match e {
            otp::PageError::InvalidLink => Self::InvalidLink,
            other @ (otp::PageError::NothingToSign
            | otp::PageError::NoContact
            | otp::PageError::TooManyCodes
            | otp::PageError::Code(_)
            | otp::PageError::WrongCode { .. }
            | otp::PageError::ReasonRequired
            | otp::PageError::Failed(_)) => {
                Self::InternalRetry(anyhow::anyhow!("OTP page failed: {other:?}"))
            }
        }
    }
}

async fn render_otp(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    status: StatusCode,
    banner: Option<Banner>,
) -> Result<Response, PageError> {
    let p = otp::page(state, token).await?;
    let pending = p.docs.iter().any(|d| d.pending);
    let preview = p
        .docs
        .iter()
        .find(|d| d.pending && d.filename.to_ascii_lowercase().ends_with(".pdf"))
        .map(|d| d.id);
    let banner = banner.or_else(|| {
        let all_done = p
            .docs
            .iter()
            .all(|d| matches!(d.status, "Signé" | "Terminé"));
        (!pending && !p.docs.is_empty()).then(|| {
            if all_done {
                Banner::success("Tous les documents de ce lien sont signés.")
            } else {
                Banner::info("Aucun document n'attend votre signature pour le moment.")
            }
        })
    });
    with_csrf(state, headers, |csrf| {
        let page = OtpPage {
            p: &p,
            token,
            csrf,
            message: banner,
            pending,
            preview,
        };
        page.render()
            .map(|b| html(status, b))
            .map_err(|e| PageError::Internal(anyhow::Error::new(e).context("OTP page template")))
    })
}

/// The French message of a refusal, with its HTTP status.
fn explain(e: &otp::PageError) -> (StatusCode, String) {
    use otp::PageError as E;
    match e {
        E::InvalidLink => (StatusCode::NOT_FOUND, String::new()),
        E::ReasonRequired => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Indiquez pourquoi vous refusez de signer.".into(),
        ),
        E::NothingToSign => (
            StatusCode::CONFLICT,
            "Aucun document n'attend votre signature sur ce lien.".into(),
        ),
        E::NoContact => (
            StatusCode::CONFLICT,
            "Aucun numéro de téléphone ni adresse e-mail n'est connu pour vous envoyer un code.".into(),
        ),
        E::TooManyCodes => (
            StatusCode::TOO_MANY_REQUESTS,
            "Trop de codes ont été demandés pour ce document. Réessayez dans une heure.".into(),
        ),
        E::Code(CodeProblem::NoCode) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Aucun code valide : demandez un nouveau code.".into(),
        ),
        E::Code(CodeProblem::Expired) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Ce code a expiré : demandez un nouveau code.".into(),
        ),
        E::Code(CodeProblem::Locked) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Trop d'essais incorrects : ce code est bloqué. Demandez un nouveau code.".into(),
        ),
        E::WrongCode { remaining } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "Code incorrect. Il vous reste {remaining} essai{}.",
                if *remaining > 1 { "s" } else { "" }
            ),
        ),
        E::Failed(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "La signature n'a pas pu être appliquée à tous les documents. Réessayez ou contactez l'organisme demandeur.".into(),
        ),
    }
}

async fn otp_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let banner = if q.contains_key("signed") {
        Some(Banner::success("Merci : les documents ont été signés."))
    } else if q.contains_key("refused") {
        Some(Banner::info(
            "Votre refus a été enregistré et transmis à l'émetteur.",
        ))
    } else if q.contains_key("sent") {
        Some(Banner::info("Le code a été envoyé."))
    } else {
        None
    };
    render_otp(&state, &token, &headers, StatusCode::OK, banner).await
}

async fn otp_code(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    match otp::send_code(&state, &token).await {
        Ok(()) => Ok(redirect(&format!("/otp/{token}?sent=1"))),
        Err(e) => otp_error(&state, &token, &headers, &e).await,
    }
}

async fn otp_sign(
    State(state): State<AppState>,
    Path(token): Path<String>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    // The evidence names the signer's address: behind a trusted proxy, the one it forwards.
    let ip = crate::auth::client_ip_of(&state, &headers, &extensions)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "inconnue".into());
    let code = form.get("code").map(String::as_str).unwrap_or_default();
    let outcome = otp::submit_code(&state, &token, code, &ip).await;
    otp_done(&state, &token, &headers, outcome, "signed").await
}

async fn otp_refuse(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let reason = form.get("reason").map(String::as_str).unwrap_or_default();
    let outcome = otp::refuse(&state, &token, reason).await;
    otp_done(&state, &token, &headers, outcome, "refused").await
}

/// After signing or refusing on the OTP page: back to the client's `referer`, or to the page
/// with `?{flag}=1`; an error shows the page again with its explanation.
async fn otp_done(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    outcome: Result<Option<String>, otp::PageError>,
    flag: &str,
) -> Result<Response, PageError> {
    match outcome {
        Ok(Some(referer)) => Ok(redirect(&referer)),
        Ok(None) => Ok(redirect(&format!("/otp/{token}?{flag}=1"))),
        Err(e) => otp_error(state, token, headers, &e).await,
    }
}

/// The OTP page again with the error explained (an invalid link says only that).
async fn otp_error(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    e: &otp::PageError,
) -> Result<Response, PageError> {
    if matches!(e, otp::PageError::InvalidLink) {
        return Err(PageError::InvalidLink);
    }
    let (status, text) = explain(e);
    render_otp(state, token, headers, status, Some(Banner::error(text))).await
}

async fn otp_document(
    State(state): State<AppState>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let id = id.parse::<i64>().map_err(|_| PageError::InvalidLink)?;
    let (name, bytes) = otp::document_file(&state, &token, id).await?;
    // Shown in the page's preview frame when it is a PDF.
    Ok(harden(
        stored_file(&name, bytes, Disposition::PdfPreview),
        true,
    ))
}

/// An annex of one of the link's documents, always as an attachment (untrusted bytes).
async fn otp_annex(
    State(state): State<AppState>,
    Path((token, annex_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let annex_id = annex_id
        .parse::<i64>()
        .map_err(|_| PageError::InvalidLink)?;
    let (name, bytes) = otp::annex_file(&state, &token, annex_id).await?;
    Ok(harden(
        stored_file(&name, bytes, Disposition::Attachment),
        false,
    ))
}

async fn public_download(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let doc = match links::download_document(&state, &token).await {
        Ok(d) => d,
        Err(DownloadLinkError::Invalid) => {
            return Err(PageError::Refused {
                status: StatusCode::NOT_FOUND,
                title: "Lien invalide",
                text: "Ce lien de téléchargement n'est pas valide ou a expiré.".into(),
            });
        }
        Err(DownloadLinkError::Removed) => {
            return Err(PageError::Refused {
                status: StatusCode::GONE,
                title: "Document supprimé",
                text: "Ce document n'est plus disponible.".into(),
            });
        }
        Err(DownloadLinkError::Store(e)) => return Err(PageError::InternalRetry(e.into())),
    };
    match crate::routes::fast::download::package(&state, &doc, false, false).await {
        Ok(r) => Ok(harden(r, false)),
        Err(e) => Err(PageError::InternalRetry(e.into())),
    }
}
