//! OTP signing ("boucle SMS"): OTP information of documents, signing links, one-time codes
//! sent by SMS (or e-mail when there is no phone), and the signature with the subscriber's
//! seal carrying the signer's identity and the OTP evidence.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::jobs::{Job, SmsJob};
use crate::service::access::{load, workflow};
use crate::service::notify::{self, Composed};
use crate::service::signing::{self, Key, SignAs};
use crate::service::transition::{self, By, Change, Notices, Payload};
use crate::service::{human_date, links};
use crate::state::AppState;
use parapheur_domain::metadata::parse_metadata_list;
use parapheur_domain::otp::{
    CODE_VALIDITY_MS, CodeProblem, MAX_CODES_PER_HOUR, MAX_FAILURES, OtpSignerInfo, code_status,
    mask_email, mask_phone, parse_otp_signers,
};
use parapheur_domain::{DocumentId, DocumentStatus, StepKind, Workflow};
use parapheur_store::documents::DocumentRow;
use parapheur_store::jobs::{Effects, NewLink};
use parapheur_store::now_ms;
use parapheur_store::otp::OtpSigner;
use sha2::{Digest, Sha256};

mod code;
mod page;

pub use code::{refuse, send_code, submit_code};
use page::load_link;
pub use page::{Page, PageDoc, PageError, annex_file, document_file, page};

/// Metadata files are small; anything larger is refused before parsing.
pub const MAX_OTP_XML: usize = 1024 * 1024;

/// Reads an OTP information file and checks it against the circuit: one signer for each
/// OTPSignature step (`_0` for the first...), none beyond.
pub fn parse_information(xml: &[u8], steps: &[StepKind]) -> Result<Vec<OtpSigner>, ApiError> {
    if xml.len() > MAX_OTP_XML {
        return Err(ApiError::InvalidMetadata(
            "the OTP information file is larger than 1 MiB".into(),
        ));
    }
    let otp_steps = steps
        .iter()
        .filter(|k| **k == StepKind::OtpSignature)
        .count();
    if otp_steps == 0 {
        return Err(ApiError::InvalidState(
            "the document's circuit has no OTPSignature step".into(),
        ));
    }
    let signers = parse_otp_signers(&parse_metadata_list(xml)?)?;
    for s in &signers {
        if s.ordinal >= otp_steps {
            return Err(ApiError::InvalidMetadata(format!(
                "OTP information for step index {} but the circuit has {otp_steps} OTPSignature step(s)",
                s.ordinal
            )));
        }
    }
    if signers.len() != otp_steps {
        return Err(ApiError::InvalidMetadata(format!(
            "OTP information is required for each of the {otp_steps} OTPSignature step(s) (indices 0 to {})",
            otp_steps - 1
        )));
    }
    Ok(signers
        .into_iter()
        .map(|s| OtpSigner {
            ordinal: s.ordinal as i64,
            first_name: s.first_name,
            last_name: s.last_name,
            phone: s.phone,
            email: s.email,
        })
        .collect())
}

pub(super) fn info(s: &OtpSigner) -> OtpSignerInfo {
    OtpSignerInfo {
        ordinal: usize::try_from(s.ordinal).unwrap_or(0),
        first_name: s.first_name.clone(),
        last_name: s.last_name.clone(),
        phone: s.phone.clone(),
        email: s.email.clone(),
    }
}

/// A new OTP link for `ids` (the document id 0 stands for a deposit being written).
pub fn new_link(
    state: &AppState,
    siren: &str,
    ids: Vec<i64>,
    referer: Option<String>,
) -> (String, NewLink) {
    let (token, hash) = links::new_token();
    let hours = state.cfg.otp.link_ttl_hours.max(1);
    let link = NewLink {
        token_hash: hash,
        purpose: links::OTP.into(),
        siren: siren.to_owned(),
        document_ids: ids,
        referer,
        expires_at: now_ms() + i64::try_from(hours * 3_600_000).unwrap_or(i64::MAX / 2),
    };
    (page_url(state, &token), link)
}

/// The message giving an OTP signer the signing link `url` of a document deposited through the
/// portal: an e-mail when the signer has an address, else an SMS (the signer may only have a
/// phone). The link works once the document reaches the signer's step.
pub fn invitation(
    state: &AppState,
    d: &notify::MailDoc,
    signer: &OtpSigner,
    url: &str,
) -> Result<parapheur_store::jobs::NewJob, ApiError> {
    let days = state.cfg.otp.link_ttl_hours.max(1).div_ceil(24);
    let from = if d.org.is_empty() {
        String::new()
    } else {
        format!(" de {}", d.org)
    };
    if !signer.email.is_empty() {
        let m = Composed {
            subject: format!("Document à signer : {}", d.filename),
            paragraphs: vec![
                format!(
                    "Bonjour {} {}, le parapheur électronique{from} vous demande de signer le document {} avec un code à usage unique.",
                    signer.first_name,
                    signer.last_name,
                    notify::doc_name(d)
                ),
                format!(
                    "Le lien ci-dessous vous est personnel ; il reste valable {days} jours. Si le document doit d'abord être visé, la page vous l'indiquera."
                ),
            ],
            link: Some(notify::Link {
                label: "Signer le document".into(),
                url: url.to_owned(),
            }),
            signature: notify::signature(&d.org),
        };
        return notify::mail_job(&m, vec![signer.email.clone()], Vec::new());
    }
    let sms = SmsJob {
        to: signer.phone.clone(),
        text: format!(
            "Document a signer{from} : {} . Lien personnel : {url}",
            d.filename
        ),
    };
    Job::Sms(sms)
        .to_new(0)
        .map_err(|e| ApiError::Internal(e.into()))
}

pub fn page_url(state: &AppState, token: &str) -> String {
    format!("{}/otp/{token}", state.cfg.public_url.trim_end_matches('/'))
}

/// `PUT documents/v2/otp/{id}/metadata/define`: records the OTP signers of a document.
pub async fn define_information(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    xml: &[u8],
) -> Result<(), ApiError> {
    let doc = load(state, caller, id).await?;
    let w = workflow(state, &doc).await?;
    let signers = parse_information(xml, &w.steps)?;
    let t = w.define_otp_information()?;
    let change = Change::by(By::caller(caller))
        .with(Payload::OtpSigners(signers))
        .notices(Notices::Silent);
    transition::apply(state, &doc, &w.steps, &t, change).await?;
    tracing::info!(document.id = doc.id, "OTP information defined");
    Ok(())
}

/// The OTP step a document waits at or will reach next, as (ordinal among OTP steps).
pub(super) fn next_otp_ordinal(w: &Workflow) -> Option<usize> {
    let from = match w.status {
        DocumentStatus::AwaitingMetadata => 0,
        DocumentStatus::InProgress => w.current_step,
        DocumentStatus::VisaDisapproved
        | DocumentStatus::Refused
        | DocumentStatus::SignatureRejected
        | DocumentStatus::Classified => return None,
    };
    let idx = (from..w.steps.len()).find(|i| w.steps[*i] == StepKind::OtpSignature)?;
    Some(
        w.steps[..idx]
            .iter()
            .filter(|k| **k == StepKind::OtpSignature)
            .count(),
    )
}

/// `GET documents/v2/otp/url?id=..&id=..`: one link for documents whose next OTP signer has
/// the same phone and e-mail.
pub async fn url_for(
    state: &AppState,
    caller: &Caller,
    ids: &[DocumentId],
) -> Result<String, ApiError> {
    if ids.is_empty() {
        return Err(ApiError::BadParameter(
            "at least one `id` is required".into(),
        ));
    }
    if ids.len() > 100 {
        return Err(ApiError::BadParameter(
            "at most 100 documents per link".into(),
        ));
    }
    let mut siren = None;
    let mut contact: Option<(String, String)> = None;
    let mut list = Vec::with_capacity(ids.len());
    for id in ids {
        let doc = load(state, caller, *id).await?;
        let w = workflow(state, &doc).await?;
        let ordinal = next_otp_ordinal(&w).ok_or_else(|| {
            ApiError::InvalidState(format!("document {id} has no OTP signature step ahead"))
        })?;
        let signer = state
            .db
            .otp_signers(doc.id)
            .await?
            .into_iter()
            .find(|s| usize::try_from(s.ordinal).ok() == Some(ordinal))
            .ok_or_else(|| {
                ApiError::InvalidState(format!("document {id} has no OTP information yet"))
            })?;
        let key = info(&signer).contact_key();
        match &contact {
            None => contact = Some(key),
            Some(k) if *k == key => {}
            Some(_) => {
                return Err(ApiError::OtpSignerMismatch(format!(
                    "document {id} has another phone number or e-mail than document {}",
                    ids[0]
                )));
            }
        }
        match &siren {
            None => siren = Some(doc.siren.clone()),
            Some(s) if *s == doc.siren => {}
            Some(_) => {
                return Err(ApiError::OtpSignerMismatch(
                    "the documents belong to different subscribers".into(),
                ));
            }
        }
        if !list.contains(&doc.id) {
            list.push(doc.id);
        }
    }
    let (url, link) = new_link(state, siren.as_deref().unwrap_or_default(), list, None);
    state
        .db
        .enqueue(&Effects {
            links: vec![link],
            ..Effects::default()
        })
        .await?;
    Ok(url)
}
