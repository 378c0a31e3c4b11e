//! Writing one document transition: its row change, the file or data it carries, its history
//! entries and effects in one transaction; then the replaced file is removed and the worker woken.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::jobs::JobKind;
use crate::service::signing::Signed;
use crate::state::AppState;
use parapheur_domain::{Actor, Entry, StepKind, Transition};
use parapheur_store::blob::StoredBlob;
use parapheur_store::documents::{DocumentRow, NewEntry, NewFile, TransitionWrite};
use parapheur_store::jobs::Effects;
use parapheur_store::otp::OtpSigner;

/// Who makes the change, as the history names them.
#[derive(Debug, Clone)]
pub enum By {
    /// A user with an account.
    User { id: i64, name: String },
    /// Someone without an account (an OTP signer) or the subscriber (a server seal).
    Named(String),
    /// The server itself (an automatic step, a transmission event).
    System,
}

impl By {
    pub fn caller(caller: &Caller) -> Self {
        Self::User {
            id: caller.user_id,
            name: caller.full_name.clone(),
        }
    }

    /// History rows for the transition's entries: `Caller` entries are this actor's.
    pub fn entries(&self, entries: &[Entry]) -> Vec<NewEntry> {
        let (user_id, name) = match self {
            Self::User { id, name } => (Some(*id), name.as_str()),
            Self::Named(name) => (None, name.as_str()),
            Self::System => (None, ""),
        };
        entries
            .iter()
            .map(|e| match e.actor {
                Actor::Caller => NewEntry {
                    state_name: e.state.as_str(),
                    user_id,
                    user_fullname: name.to_owned(),
                    comment: e.comment.clone(),
                },
                Actor::System => NewEntry {
                    state_name: e.state.as_str(),
                    user_id: None,
                    user_fullname: String::new(),
                    comment: e.comment.clone(),
                },
            })
            .collect()
    }
}

/// What the transition writes besides the status and the history.
#[derive(Debug)]
pub enum Payload {
    Nothing,
    /// A signature (already durable): a new version of the main file or a detached signature.
    Signed(Signed),
    /// The metadata of a metadata-definition step.
    Metadata(Vec<(String, String)>),
    /// The OTP signers of an OTP step.
    OtpSigners(Vec<OtpSigner>),
    /// A new main file (already durable); the current one is kept as a version.
    Replacement {
        name: String,
        new: StoredBlob,
    },
}

/// Which messages the transition itself announces (beside the change's own effects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notices {
    /// The e-mails, transmissions and automatic-step jobs the new state calls for.
    Standard,
    /// Those, without scheduling a Helios send (a new send attempt records its own events).
    WithoutHeliosSend,
    /// None (an interruption, a definition that announces nothing).
    Silent,
}

/// A change of a document: who, what it carries, and its consequences.
#[derive(Debug)]
pub struct Change {
    pub by: By,
    pub payload: Payload,
    /// Whether a person acted (visa, signature, refusal): the document can no longer be deleted.
    pub human_action: bool,
    /// The step member whose action this is (`(step index, user id)`), recorded on the step:
    /// on an `all` step the others still have to act.
    pub acted_member: Option<(i64, i64)>,
    /// Effects of the change itself (an archive record, a delivery, a transmission…).
    pub effects: Effects,
    pub notices: Notices,
}

impl Change {
    /// A change by `by` with nothing attached and the standard notices.
    pub fn by(by: By) -> Self {
        Self {
            by,
            payload: Payload::Nothing,
            human_action: false,
            acted_member: None,
            effects: Effects::default(),
            notices: Notices::Standard,
        }
    }
    pub fn with(mut self, payload: Payload) -> Self {
        self.payload = payload;
        self
    }
    pub fn human(mut self) -> Self {
        self.human_action = true;
        self
    }
    pub fn effects(mut self, effects: Effects) -> Self {
        self.effects = effects;
        self
    }
    pub fn notices(mut self, notices: Notices) -> Self {
        self.notices = notices;
        self
    }

    /// The files written for this change before its transaction (removed if it fails).
    fn new_blob(&self) -> Option<&StoredBlob> {
        match &self.payload {
            Payload::Signed(s) => Some(s.blob()),
            Payload::Replacement { new, .. } => Some(new),
            Payload::Nothing | Payload::Metadata(_) | Payload::OtpSigners(_) => None,
        }
    }
}

/// Writes transition `t` of `doc` (whose workflow has `steps`). On failure, the files written
/// for it are removed when the transaction surely did not commit; on success, the version a
/// signature replaced is removed and the job worker is woken.
pub async fn write(
    state: &AppState,
    doc: &DocumentRow,
    steps: &[StepKind],
    t: &Transition,
    change: Change,
) -> Result<(), ApiError> {
    let res = write_rows(state, doc, steps, t, &change).await;
    if let Err(e) = res {
        if let Some(b) = change.new_blob() {
            crate::service::discard_uncommitted(state, &e, vec![b.key.clone()]).await;
        }
        return Err(e);
    }
    if let Payload::Signed(Signed::Replaced(_)) = &change.payload
        && let Err(e) = state.blobs.delete(&doc.blob_key).await
    {
        tracing::warn!(document.id = doc.id, error = %e, "previous file version could not be removed");
    }
    Ok(())
}

async fn write_rows(
    state: &AppState,
    doc: &DocumentRow,
    steps: &[StepKind],
    t: &Transition,
    change: &Change,
) -> Result<(), ApiError> {
    let mut effects = change.effects.clone();
    match change.notices {
        Notices::Standard => {
            effects.extend(crate::service::notify::effects_for(state, doc, steps, t).await?)
        }
        Notices::WithoutHeliosSend => {
            let mut notices = crate::service::notify::effects_for(state, doc, steps, t).await?;
            notices
                .jobs
                .retain(|j| j.kind != JobKind::HeliosSend.as_str());
            effects.extend(notices);
        }
        Notices::Silent => {}
    }
    let wake = effects.has_jobs();
    let stored = |b: &StoredBlob, filename: &str| NewFile::stored(filename, b);
    let write = TransitionWrite {
        expected_version: doc.version,
        file: match &change.payload {
            Payload::Signed(Signed::Replaced(b)) => Some(stored(b, &doc.filename)),
            Payload::Signed(Signed::Detached(..))
            | Payload::Nothing
            | Payload::Metadata(_)
            | Payload::OtpSigners(_)
            | Payload::Replacement { .. } => None,
        },
        detached: match &change.payload {
            Payload::Signed(Signed::Detached(b, name)) => Some(stored(b, name)),
            Payload::Signed(Signed::Replaced(_))
            | Payload::Nothing
            | Payload::Metadata(_)
            | Payload::OtpSigners(_)
            | Payload::Replacement { .. } => None,
        },
        status: t.status,
        current_step: t.current_step as i64,
        human_action: change.human_action,
        acted_member: change.acted_member,
        entered_step: crate::service::notify::step_to_announce(t).map(|i| i as i64),
        entries: change.by.entries(&t.entries),
        effects,
    };
    match &change.payload {
        Payload::Nothing | Payload::Signed(_) => state.db.apply_transition(doc.id, &write).await?,
        Payload::Metadata(items) => state.db.define_metadata(doc.id, items, &write).await?,
        Payload::OtpSigners(signers) => {
            state.db.define_otp_signers(doc.id, signers, &write).await?
        }
        Payload::Replacement { name, new } => {
            let current = NewFile {
                filename: doc.filename.clone(),
                blob_key: doc.blob_key.clone(),
                size: doc.size,
                sha256: doc.sha256.clone(),
                digest_state: doc.digest_state.clone(),
            };
            let new = NewFile::stored(name.clone(), new);
            state
                .db
                .replace_main_file(doc.id, &current, &new, &write)
                .await?
        }
    }
    if wake {
        state.wake_jobs();
    }
    Ok(())
}
