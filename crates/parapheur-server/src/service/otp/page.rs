//! What the public OTP page shows: the link's documents, their annexes and signers, and the
//! files themselves (a document or an annex of the link, and nothing else).

use super::*;

/// Why the page cannot do what was asked (rendered in French by the page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    /// Unknown, malformed or expired link: the page says only that.
    InvalidLink,
    NothingToSign,
    NoContact,
    TooManyCodes,
    Code(CodeProblem),
    WrongCode {
        remaining: i64,
    },
    /// A refusal without its reason.
    ReasonRequired,
    Failed(String),
}

/// A document shown on the page.
#[derive(Debug, Clone)]
pub struct PageDoc {
    pub id: i64,
    pub filename: String,
    pub label: String,
    pub pending: bool,
    pub status: &'static str,
    /// Its annexes, readable by the signer like the document.
    pub annexes: Vec<crate::service::annexes::Annex>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Page {
    pub siren: String,
    pub org: String,
    pub docs: Vec<PageDoc>,
    pub signer: Option<OtpSigner>,
    /// A usable code was sent: where, and until when.
    pub code_sent_to: Option<String>,
    pub code_expires: Option<String>,
    pub referer: Option<String>,
}

pub(super) struct Loaded {
    pub(super) link_hash: String,
    pub(super) page: Page,
    pub(super) pending: Vec<(DocumentRow, Workflow, OtpSigner)>,
}

pub(super) async fn load_link(state: &AppState, token: &str) -> Result<Loaded, PageError> {
    let internal = |e: ApiError| PageError::Failed(e.to_string());
    if !links::well_formed(token) {
        return Err(PageError::InvalidLink);
    }
    let hash = links::hash(token);
    let link = state
        .db
        .link(&hash)
        .await
        .map_err(|e| internal(e.into()))?
        .filter(|l| l.purpose == links::OTP && l.expires_at > now_ms())
        .ok_or(PageError::InvalidLink)?;
    let mut docs = Vec::new();
    let mut pending = Vec::new();
    for id in &link.document_ids {
        let Some(doc) = state
            .db
            .document(*id)
            .await
            .map_err(|e| internal(e.into()))?
        else {
            continue;
        };
        if doc.siren != link.siren {
            continue;
        }
        let w = workflow(state, &doc).await.map_err(internal)?;
        let signer = match w.otp_ordinal() {
            Some(ord) => state
                .db
                .otp_signers(doc.id)
                .await
                .map_err(|e| internal(e.into()))?
                .into_iter()
                .find(|s| usize::try_from(s.ordinal).ok() == Some(ord)),
            None => None,
        };
        let status = match (&signer, w.status) {
            (Some(_), _) => "À signer",
            (None, DocumentStatus::Classified) => "Terminé",
            (None, DocumentStatus::InProgress) if next_otp_ordinal(&w).is_none() => "Signé",
            (None, DocumentStatus::InProgress | DocumentStatus::AwaitingMetadata) => {
                "En attente d'une autre étape"
            }
            (None, _) => "Refusé ou arrêté",
        };
        let annexes = crate::service::annexes::of_document(state, doc.id)
            .await
            .map_err(internal)?;
        docs.push(PageDoc {
            id: doc.id,
            filename: doc.filename.clone(),
            label: doc.label.clone(),
            pending: signer.is_some(),
            status,
            annexes,
        });
        if let Some(s) = signer {
            pending.push((doc, w, s));
        }
    }
    let org = state
        .db
        .subscriber_name(&link.siren)
        .await
        .map_err(|e| internal(e.into()))?
        .unwrap_or_default();
    let code = state
        .db
        .latest_otp_code(&hash)
        .await
        .map_err(|e| internal(e.into()))?
        .filter(|c| code_status(c.used != 0, c.failures, c.expires_at, now_ms()).is_ok());
    let signer = pending.first().map(|(_, _, s)| s.clone());
    let code_sent_to = code.as_ref().and_then(|c| {
        signer.as_ref().map(|s| {
            if c.channel == "sms" {
                format!("par SMS au {}", mask_phone(&s.phone))
            } else {
                format!("par e-mail à {}", mask_email(&s.email))
            }
        })
    });
    Ok(Loaded {
        link_hash: hash,
        page: Page {
            siren: link.siren,
            org,
            docs,
            signer,
            code_sent_to,
            code_expires: code.map(|c| human_date(c.expires_at)),
            referer: link.referer,
        },
        pending,
    })
}

/// The page for a link.
pub async fn page(state: &AppState, token: &str) -> Result<Page, PageError> {
    Ok(load_link(state, token).await?.page)
}

/// The file of a document of the link, for the preview.
pub async fn document_file(
    state: &AppState,
    token: &str,
    id: i64,
) -> Result<(String, Vec<u8>), PageError> {
    let l = load_link(state, token).await?;
    if !l.page.docs.iter().any(|d| d.id == id) {
        return Err(PageError::InvalidLink);
    }
    let doc = state
        .db
        .document(id)
        .await
        .map_err(|e| PageError::Failed(e.to_string()))?
        .ok_or(PageError::InvalidLink)?;
    let bytes = state
        .blobs
        .get(&doc.blob_key)
        .await
        .map_err(|e| PageError::Failed(e.to_string()))?;
    Ok((doc.filename, bytes))
}

/// An annex of one of the link's documents (an annex of any other document is an invalid link).
pub async fn annex_file(
    state: &AppState,
    token: &str,
    annex_id: i64,
) -> Result<(String, Vec<u8>), PageError> {
    let l = load_link(state, token).await?;
    let Some(doc_id) = l
        .page
        .docs
        .iter()
        .find(|d| d.annexes.iter().any(|a| a.id == annex_id))
        .map(|d| d.id)
    else {
        return Err(PageError::InvalidLink);
    };
    let doc = state
        .db
        .document(doc_id)
        .await
        .map_err(|e| PageError::Failed(e.to_string()))?
        .ok_or(PageError::InvalidLink)?;
    match crate::service::annexes::file_of(state, &doc, annex_id).await {
        Ok(f) => Ok(f),
        Err(ApiError::NotFound) => Err(PageError::InvalidLink),
        Err(e) => Err(PageError::Failed(e.to_string())),
    }
}
