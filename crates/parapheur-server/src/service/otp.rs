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

fn info(s: &OtpSigner) -> OtpSignerInfo {
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
fn next_otp_ordinal(w: &Workflow) -> Option<usize> {
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

// ---------------------------------------------------------------------------------------------
// The OTP page

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

struct Loaded {
    link_hash: String,
    page: Page,
    pending: Vec<(DocumentRow, Workflow, OtpSigner)>,
}

async fn load_link(state: &AppState, token: &str) -> Result<Loaded, PageError> {
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
        docs.push(PageDoc {
            id: doc.id,
            filename: doc.filename.clone(),
            label: doc.label.clone(),
            pending: signer.is_some(),
            status,
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
        .map_err(|e| PageError::Failed(e.to_string()))?;
    Ok((doc.filename, bytes))
}

fn code_hash(link_hash: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{link_hash}:{code}").as_bytes()))
}

/// Sends a new code for the link (SMS to the phone, else e-mail), within the hourly limit.
pub async fn send_code(state: &AppState, token: &str) -> Result<(), PageError> {
    let failed = |e: ApiError| PageError::Failed(e.to_string());
    let l = load_link(state, token).await?;
    let (_, _, signer) = l.pending.first().ok_or(PageError::NothingToSign)?;
    let ids: Vec<i64> = l.pending.iter().map(|(d, _, _)| d.id).collect();
    let sent = state
        .db
        .otp_sends_since(&ids, now_ms() - 3_600_000)
        .await
        .map_err(|e| failed(e.into()))?;
    if sent >= MAX_CODES_PER_HOUR {
        return Err(PageError::TooManyCodes);
    }
    let code = {
        use rand::Rng;
        format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
    };
    let org = l.page.org.clone();
    let from = if org.is_empty() {
        String::new()
    } else {
        format!(" ({org})")
    };
    let (channel, job) = if !signer.phone.is_empty() {
        let sms = SmsJob {
            to: signer.phone.clone(),
            text: format!(
                "Votre code de signature{from} : {code} . Valable 10 minutes. Ne le communiquez a personne."
            ),
        };
        (
            "sms",
            Job::Sms(sms)
                .to_new(0)
                .map_err(|e| failed(anyhow::Error::from(e).into()))?,
        )
    } else if !signer.email.is_empty() {
        let m = Composed {
            subject: "Votre code de signature".into(),
            paragraphs: vec![
                format!("Votre code de signature{from} est : {code}"),
                "Il est valable 10 minutes. Ne le communiquez à personne.".into(),
            ],
            link: None,
            signature: "Le parapheur électronique".into(),
        };
        (
            "email",
            notify::mail_job(&m, vec![signer.email.clone()], Vec::new()).map_err(failed)?,
        )
    } else {
        return Err(PageError::NoContact);
    };
    let sent = state
        .db
        .new_otp_code(
            &l.link_hash,
            &code_hash(&l.link_hash, &code),
            channel,
            now_ms() + CODE_VALIDITY_MS,
            &ids,
            (MAX_CODES_PER_HOUR, now_ms() - 3_600_000),
            &Effects {
                jobs: vec![job],
                ..Effects::default()
            },
        )
        .await
        .map_err(|e| failed(e.into()))?;
    if !sent {
        return Err(PageError::TooManyCodes);
    }
    state.wake_jobs();
    tracing::info!(documents = ?ids, channel, "OTP code sent");
    Ok(())
}

/// Checks the code and, when right, signs every pending document of the link. Returns the
/// `referer` to go back to.
pub async fn submit_code(
    state: &AppState,
    token: &str,
    code: &str,
    ip: &str,
) -> Result<Option<String>, PageError> {
    let l = load_link(state, token).await?;
    if l.pending.is_empty() {
        return Err(PageError::NothingToSign);
    }
    let failed = |e: parapheur_store::StoreError| PageError::Failed(e.to_string());
    let c = state
        .db
        .latest_otp_code(&l.link_hash)
        .await
        .map_err(failed)?
        .ok_or(PageError::Code(CodeProblem::NoCode))?;
    code_status(c.used != 0, c.failures, c.expires_at, now_ms()).map_err(PageError::Code)?;
    let given: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let ok = {
        use subtle::ConstantTimeEq;
        let a = code_hash(&l.link_hash, &given);
        bool::from(a.as_bytes().ct_eq(c.code_hash.as_bytes()))
    };
    if !ok {
        let failures = state.db.otp_code_failed(c.id).await.map_err(failed)?;
        tracing::warn!(code.id = c.id, failures, "wrong OTP code");
        return Err(if failures >= MAX_FAILURES {
            PageError::Code(CodeProblem::Locked)
        } else {
            PageError::WrongCode {
                remaining: MAX_FAILURES - failures,
            }
        });
    }
    if !state
        .db
        .use_otp_code(c.id, MAX_FAILURES)
        .await
        .map_err(failed)?
    {
        return Err(PageError::Code(CodeProblem::NoCode));
    }
    let sent_at = human_date(c.created_at);
    let now = human_date(now_ms());
    let mut errors = Vec::new();
    for (doc, w, signer) in &l.pending {
        let via = if c.channel == "sms" {
            format!("SMS au {}", mask_phone(&signer.phone))
        } else {
            format!("e-mail à {}", mask_email(&signer.email))
        };
        let name = info(signer).full_name();
        let evidence = format!(
            "Signature par code à usage unique (OTP) de {name} ; code envoyé par {via} le {sent_at}, validé le {now} depuis l'adresse IP {ip}"
        );
        if let Err(e) = sign_one(state, doc, w, &name, &evidence).await {
            tracing::error!(document.id = doc.id, error = %e, "OTP signature failed");
            errors.push(format!("{} : {}", doc.filename, e.user_message()));
        }
    }
    if !errors.is_empty() {
        return Err(PageError::Failed(errors.join(" ; ")));
    }
    Ok(l.page.referer)
}

/// The OTP signer refuses to sign every pending document of the link, with a reason:
/// "Refusé à l'étape OTP", the circuit stops and the depositor is told. No code is needed: the
/// link, sent to the signer alone, is the proof of who refuses.
pub async fn refuse(
    state: &AppState,
    token: &str,
    reason: &str,
) -> Result<Option<String>, PageError> {
    let l = load_link(state, token).await?;
    if l.pending.is_empty() {
        return Err(PageError::NothingToSign);
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(PageError::ReasonRequired);
    }
    let reason: String = reason.chars().take(4000).collect();
    let mut errors = Vec::new();
    for (doc, w, signer) in &l.pending {
        let name = info(signer).full_name();
        let done = async {
            let t = w.otp_refused(Some(reason.clone()))?;
            let change = Change::by(By::Named(name.clone())).human();
            transition::apply(state, doc, &w.steps, &t, change).await
        };
        match done.await {
            Ok(()) => tracing::info!(document.id = doc.id, "refused at the OTP step"),
            Err(e) => {
                tracing::error!(document.id = doc.id, error = %e, "OTP refusal failed");
                errors.push(format!("{} : {}", doc.filename, e.user_message()));
            }
        }
    }
    if !errors.is_empty() {
        return Err(PageError::Failed(errors.join(" ; ")));
    }
    Ok(l.page.referer)
}

async fn sign_one(
    state: &AppState,
    doc: &DocumentRow,
    w: &Workflow,
    name: &str,
    evidence: &str,
) -> Result<(), ApiError> {
    let t = w.otp_signed(evidence.to_owned())?;
    let signer = SignAs {
        key: Key::Seal,
        name: name.to_owned(),
        reason: evidence.to_owned(),
    };
    let signed = signing::sign_document(state, &signer, doc).await?;
    let change = Change::by(By::Named(name.to_owned()))
        .with(Payload::Signed(signed))
        .human();
    transition::apply(state, doc, &w.steps, &t, change).await?;
    tracing::info!(document.id = doc.id, "OTP signature applied");
    Ok(())
}
