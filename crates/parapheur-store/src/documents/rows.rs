//! The rows of documents as written and as read, decoded into domain types.

use crate::decode;
pub use crate::history_cache::HistoryRow;
use parapheur_domain::{CircuitType, DocumentStatus, StepKind, StepRule};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

/// A history entry to append.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub state_name: &'static str,
    pub user_id: Option<i64>,
    pub user_fullname: String,
    pub comment: Option<String>,
}

/// A stored file (main document or annex) to link.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub filename: String,
    pub blob_key: String,
    pub size: i64,
    pub sha256: String,
    /// The resumable digest of the bytes ([`crate::blob::FileDigest::to_bytes`]), when known.
    pub digest_state: Option<Vec<u8>>,
}

impl NewFile {
    /// The file just stored as `b`, under `filename`.
    pub fn stored(filename: impl Into<String>, b: &crate::blob::StoredBlob) -> Self {
        Self {
            filename: filename.into(),
            blob_key: b.key.clone(),
            size: i64::try_from(b.size).unwrap_or(i64::MAX),
            sha256: b.sha256.clone(),
            digest_state: Some(b.digest_state.clone()),
        }
    }
}

/// A member of a document's step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepMemberRow {
    /// The step's index.
    pub idx: i64,
    /// `Prénom Nom`.
    pub name: String,
    pub email: String,
    /// Whether they acted on the step (recorded since `all` steps exist, CONTRACT §9).
    pub acted: bool,
}

/// A step of a new document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStep {
    pub kind: StepKind,
    pub rule: StepRule,
    /// The members' user ids.
    pub members: Vec<i64>,
}

/// Everything a deposit writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub siren: String,
    /// The provisioned circuit (`None`: an on-demand circuit).
    pub circuit_id: Option<String>,
    /// The circuit the FAST triplet rule (circuit, label, file name) names: the provisioned
    /// circuit, or the `circuit_id` an on-demand deposit gave; `None` for an on-demand deposit
    /// that gave none (no rule). Unique with label and file name among unfinished documents.
    pub triplet_circuit: Option<String>,
    pub circuit_type: CircuitType,
    pub label: String,
    pub file: NewFile,
    pub depositor_id: i64,
    pub status: DocumentStatus,
    pub current_step: i64,
    pub metadata_required: bool,
    pub comment: String,
    pub email_to: String,
    pub email_cc: String,
    /// The agents' e-mails.
    pub agents: Vec<String>,
    pub pictograms: Option<String>,
    /// The day the document should be done by (`YYYY-MM-DD`).
    pub deadline: Option<String>,
    /// The steps with their member user ids.
    pub steps: Vec<NewStep>,
    pub annexes: Vec<NewFile>,
    pub entries: Vec<NewEntry>,
    /// The NomFic of a PES deposit: unique per subscriber.
    pub pes_nomfic: Option<String>,
    /// Signers of the OTP steps, when the deposit carries them (uploadOTP).
    pub otp_signers: Vec<super::OtpSigner>,
    /// Messages and links caused by the deposit.
    pub effects: crate::effects::Effects,
}

/// A document as stored, decoded once into domain types (see [`crate::decode`]).
#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: i64,
    pub siren: String,
    pub circuit_id: Option<String>,
    pub circuit_type: CircuitType,
    pub label: String,
    pub filename: String,
    pub blob_key: String,
    pub size: i64,
    pub sha256: String,
    pub depositor_id: i64,
    pub status: DocumentStatus,
    pub current_step: i64,
    pub version: i64,
    /// Whether a person acted on it (visa, signature, refusal): it can no longer be deleted.
    pub acted: bool,
    pub metadata_required: bool,
    pub comment: String,
    /// Recipients, `;`-separated as deposited.
    pub email_to: String,
    pub email_cc: String,
    /// The agents' e-mails.
    pub agents: Vec<String>,
    pub pictograms: Option<String>,
    pub created_at: i64,
    /// When the retention purge removed the content.
    pub purged_at: Option<i64>,
    /// The resumable digest of the current file, when it was stored with one.
    pub digest_state: Option<Vec<u8>>,
    /// The day the document should be done by (`YYYY-MM-DD`, CONTRACT §11).
    pub deadline: Option<String>,
}

impl<'r> FromRow<'r, AnyRow> for DocumentRow {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            siren: row.try_get("siren")?,
            circuit_id: row.try_get("circuit_id")?,
            circuit_type: decode::circuit_type(row, "circuit_type")?,
            label: row.try_get("label")?,
            filename: row.try_get("filename")?,
            blob_key: row.try_get("blob_key")?,
            size: row.try_get("size")?,
            sha256: row.try_get("sha256")?,
            depositor_id: row.try_get("depositor_id")?,
            status: decode::status(row, "status")?,
            current_step: row.try_get("current_step")?,
            version: row.try_get("version")?,
            acted: decode::flag(row, "acted")?,
            metadata_required: decode::flag(row, "metadata_required")?,
            comment: row.try_get("comment")?,
            email_to: row.try_get("email_to")?,
            email_cc: row.try_get("email_cc")?,
            agents: decode::json(row, "agents")?,
            pictograms: row.try_get("pictograms")?,
            created_at: row.try_get("created_at")?,
            purged_at: row.try_get("purged_at")?,
            digest_state: row.try_get("digest_state")?,
            deadline: row.try_get("deadline")?,
        })
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct AnnexRow {
    pub id: i64,
    pub filename: String,
    pub blob_key: String,
    pub size: i64,
    /// SHA-256 of the bytes (hex); `None` for annexes stored before it was recorded.
    pub sha256: Option<String>,
}

/// A document waiting for a user.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: i64,
    pub filename: String,
    pub siren: String,
    pub circuit_id: Option<String>,
    pub kind: StepKind,
    /// `YYYY-MM-DD`.
    pub deadline: Option<String>,
}

impl<'r> FromRow<'r, AnyRow> for TaskRow {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            filename: row.try_get("filename")?,
            deadline: row.try_get("deadline")?,
            siren: row.try_get("siren")?,
            circuit_id: row.try_get("circuit_id")?,
            kind: decode::step_kind(row, "kind")?,
        })
    }
}

/// A state change decided by the domain, applied if nobody changed the document meanwhile.
#[derive(Debug, Clone)]
pub struct TransitionWrite {
    pub expected_version: i64,
    /// A new main file (the signed document) replacing the current one.
    pub file: Option<NewFile>,
    /// A detached signature to add beside the document.
    pub detached: Option<NewFile>,
    pub status: DocumentStatus,
    pub current_step: i64,
    pub human_action: bool,
    /// The member whose action this is, recorded on the step it acted on (`(step index, user
    /// id)`; for a delegate's action, the absent member's id).
    pub acted_member: Option<(i64, i64)>,
    /// The step the transition (re-)enters: who acted on it before (a circuit restarted by a
    /// replacement) has to act again.
    pub entered_step: Option<i64>,
    pub entries: Vec<NewEntry>,
    /// Messages and links caused by the change, written in its transaction.
    pub effects: crate::effects::Effects,
}
