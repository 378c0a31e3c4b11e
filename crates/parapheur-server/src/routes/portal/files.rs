//! A document's files on the portal: download, the preview frame, the fiche de circulation,
//! its annexes and the pages rendered as images.

use super::{shows_pdf, signed_in};
use crate::error::ApiError;
use crate::routes::html::{PageError, harden};
use crate::routes::stored::{Disposition, stored_file};
use crate::service::{access, preview};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use parapheur_domain::DocumentId;

/// Which file of a document is asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The document (signed file, or the package with its annexes) as an attachment.
    Document,
    /// The document in the page's preview frame.
    Preview,
    /// The fiche de circulation (PDF).
    Fiche,
}

async fn file_response(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
    kind: Kind,
) -> Result<Response, PageError> {
    let caller = signed_in(state, headers, format!("/parapheur/documents/{id}")).await?;
    let id = DocumentId::parse(id).map_err(|_| PageError::NotFound)?;
    let doc = access::load(state, &caller, id)
        .await
        .map_err(|_| PageError::NotFound)?;
    let how = match kind {
        Kind::Preview => Disposition::PdfPreview,
        Kind::Document | Kind::Fiche => Disposition::Attachment,
    };
    let r = match kind {
        Kind::Fiche => crate::service::fdc::build(state, &doc)
            .await
            .map(|pdf| (crate::service::download::fdc_name(doc.id), pdf)),
        Kind::Document | Kind::Preview if doc.purged_at.is_some() => Err(ApiError::ContentPurged),
        Kind::Document | Kind::Preview => {
            crate::service::download::package_bytes(state, &doc, false, false).await
        }
    };
    match r {
        Ok((name, bytes)) => Ok(harden(
            stored_file(&name, bytes, how),
            kind == Kind::Preview,
        )),
        Err(error) => Err(PageError::Api {
            title: "Téléchargement impossible",
            error,
        }),
    }
}

pub(super) async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    file_response(&state, &headers, &id, Kind::Document).await
}

pub(super) async fn preview(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    file_response(&state, &headers, &id, Kind::Preview).await
}

pub(super) async fn fiche(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    file_response(&state, &headers, &id, Kind::Fiche).await
}

/// `GET /parapheur/documents/{id}/annexes/{annex_id}`: an annex, always as an attachment.
pub(super) async fn annex(
    State(state): State<AppState>,
    Path((id, annex)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, format!("/parapheur/documents/{id}")).await?;
    let (Ok(id), Ok(annex_id)) = (DocumentId::parse(&id), annex.parse::<i64>()) else {
        return Err(PageError::NotFound);
    };
    match crate::service::annexes::file(&state, &caller, id, annex_id).await {
        Ok((name, bytes)) => Ok(harden(
            stored_file(&name, bytes, Disposition::Attachment),
            false,
        )),
        Err(ApiError::InvalidDocId | ApiError::NotFound) => Err(PageError::NotFound),
        Err(error) => Err(PageError::Api {
            title: "Téléchargement impossible",
            error,
        }),
    }
}

/// `GET /parapheur/documents/{id}/pages/{n}`: page `n` of the document as a PNG.
pub(super) async fn page_image(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, format!("/parapheur/documents/{id}")).await?;
    let (Ok(id), Ok(n)) = (DocumentId::parse(&id), n.parse::<u32>()) else {
        return Err(PageError::NotFound);
    };
    let doc = access::load(&state, &caller, id)
        .await
        .map_err(|_| PageError::NotFound)?;
    if !shows_pdf(&doc)
        || !preview::available()
        || n == 0
        || n > preview::stored_layout(&state, &doc.blob_key).await.total
    {
        return Err(PageError::NotFound);
    }
    let rendered = match crate::service::get_blob(&state, &doc.blob_key).await {
        Ok(bytes) => preview::render(&bytes, n).await,
        Err(e) => Err(e),
    };
    match rendered {
        Ok(png) => Ok(harden(
            ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
            false,
        )),
        Err(ApiError::NotFound) => Err(PageError::NotFound),
        Err(e) => Err(e.into()),
    }
}
