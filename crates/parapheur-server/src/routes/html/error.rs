//! `PageError`: why a page is not shown, rendered as the French page of today; a 5xx is logged
//! once with its whole cause chain and shows only a generic message.

use super::{harden, message};
use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parapheur_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in: to the login page, coming back to `next` afterwards.
    #[error("sign-in required")]
    Login { next: String },
    /// Unknown, malformed or not visible document (or page of the portal): the same answer.
    #[error("not found")]
    NotFound,
    /// A link for people without an account that is unknown, malformed or expired.
    #[error("invalid link")]
    InvalidLink,
    /// An administration page for someone who does not administer the subscriber.
    #[error("administrators only")]
    Forbidden,
    /// A form whose CSRF token does not match the cookie.
    #[error("CSRF token refused")]
    Csrf,
    /// A refusal explained on a message page.
    #[error("{title}: {text}")]
    Refused {
        status: StatusCode,
        title: &'static str,
        text: String,
    },
    /// A failed request shown with the French message of its `ApiError` under `title`.
    #[error("{title}")]
    Api {
        title: &'static str,
        #[source]
        error: ApiError,
    },
    /// A failure of the portal or the administration pages.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
    /// A failure of the pages for people without an account (they are asked to retry).
    #[error("internal error")]
    InternalRetry(#[source] anyhow::Error),
    /// A template that did not render.
    #[error("page template failed")]
    Template(#[from] askama::Error),
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Login { .. } => StatusCode::SEE_OTHER,
            Self::NotFound | Self::InvalidLink => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::Csrf => StatusCode::FORBIDDEN,
            Self::Refused { status, .. } => *status,
            Self::Api { error, .. } => error.status(),
            Self::Internal(_) | Self::InternalRetry(_) | Self::Template(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Internal(e) => Self::Internal(e),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// `e` and its sources, joined by `: `.
fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// The answer when even a template failed: plain text.
pub(super) fn template_failed(e: &askama::Error) -> Response {
    tracing::error!(error = cause_chain(e), "page template failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "erreur interne").into_response()
}

/// The login page, with `next` (a local path) escaped in its query.
fn to_login(next: &str) -> Response {
    let enc: String = next
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    harden(
        Redirect::to(&format!("/parapheur/login?next={enc}")).into_response(),
        false,
    )
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && !matches!(self, Self::Template(_)) {
            tracing::error!(error = cause_chain(&self), "page failed");
        }
        match self {
            Self::Login { next } => to_login(&next),
            Self::NotFound => message(
                status,
                "Document introuvable",
                "error",
                "Le document demandé n'existe pas ou ne vous est pas accessible.",
            ),
            Self::InvalidLink => message(
                status,
                "Lien invalide",
                "error",
                "Ce lien n'est pas valide ou a expiré. Contactez l'organisme qui vous l'a envoyé.",
            ),
            Self::Forbidden => message(
                status,
                "Accès réservé",
                "error",
                "Cette page est réservée aux administrateurs de la collectivité.",
            ),
            Self::Csrf => message(
                status,
                "Formulaire expiré",
                "error",
                "Ce formulaire a expiré ou ne vient pas de cette page. Rechargez la page et recommencez.",
            ),
            Self::Refused { title, text, .. } => message(status, title, "error", &text),
            Self::Api { title, error } => message(status, title, "error", error.user_message()),
            Self::Internal(_) => message(
                status,
                "Erreur",
                "error",
                "Une erreur interne est survenue.",
            ),
            Self::InternalRetry(_) => message(
                status,
                "Erreur",
                "error",
                "Une erreur interne est survenue. Réessayez dans quelques instants.",
            ),
            Self::Template(e) => template_failed(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_chain_is_logged_whole() {
        let e = PageError::from(ApiError::Internal(
            anyhow::anyhow!("disk full").context("writing the session"),
        ));
        assert_eq!(
            cause_chain(&e),
            "internal error: writing the session: disk full"
        );
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn an_internal_error_shows_only_the_generic_page() {
        let e = PageError::from(StoreError::Conflict);
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            r.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let body = axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("Une erreur interne est survenue."));
        assert!(!body.contains("onflict"));
    }

    #[test]
    fn refusals_keep_their_status() {
        assert_eq!(PageError::Csrf.status(), StatusCode::FORBIDDEN);
        assert_eq!(PageError::NotFound.status(), StatusCode::NOT_FOUND);
        let e = PageError::Login {
            next: "/parapheur/".into(),
        };
        assert_eq!(e.into_response().status(), StatusCode::SEE_OTHER);
    }
}
