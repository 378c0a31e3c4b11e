//! The one place that answers "may this caller see or act on this document or subscriber".
//!
//! Reading follows CONTRACT §8: a document is visible to its depositor, the members of its steps
//! (and their active delegates, §10), its agents and the administrators of its subscriber, or to
//! the whole subscriber when its circuit says `visibility = "subscriber"`. The SQL side of the
//! rule is `parapheur_store::visibility`; anybody else gets exactly the unknown-id answer.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use parapheur_domain::{DocumentId, Siren, StepRule, Turn, Workflow};
use parapheur_store::documents::DocumentRow;

/// Today in the server's time zone, as absences store their days (`YYYY-MM-DD`). Formatted
/// once a minute per thread (every read route asks: chrono's formatting was 2 % of a history
/// read's cycles); zone offsets are whole minutes, so the day cannot change within one.
pub fn today() -> Day {
    thread_local! {
        static DAY: std::cell::Cell<(i64, Day)> = const { std::cell::Cell::new((-1, Day::EMPTY)) };
    }
    let now = chrono::Utc::now();
    let minute = now.timestamp().div_euclid(60);
    DAY.with(|cell| {
        let (at, day) = cell.get();
        if at == minute {
            return day;
        }
        let day = Day::new(
            &now.with_timezone(&crate::clock::zone())
                .format("%Y-%m-%d")
                .to_string(),
        );
        cell.set((minute, day));
        day
    })
}

/// A day as `YYYY-MM-DD`, held inline (copying it allocates nothing); reads as a `&str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    bytes: [u8; 16],
    len: u8,
}

impl Day {
    const EMPTY: Self = Self {
        bytes: [0; 16],
        len: 0,
    };

    /// `text` cut to 16 bytes at a character boundary (a formatted date is 10).
    fn new(text: &str) -> Self {
        let mut end = text.len().min(16);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; 16];
        bytes[..end].copy_from_slice(&text.as_bytes()[..end]);
        Self {
            bytes,
            len: end as u8,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::ops::Deref for Day {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// Whether the caller may read a document of `siren` given what the store says of their part
/// in it.
async fn may_read(
    state: &AppState,
    caller: &Caller,
    id: i64,
    siren: &str,
) -> Result<bool, ApiError> {
    if !caller.is_member(siren) {
        return Ok(false);
    }
    if caller.is_admin(siren) {
        return Ok(true);
    }
    Ok(state
        .db
        .document_involved(id, caller.user_id, &today())
        .await?
        .unwrap_or(false))
}

/// Loads a document the caller may see. Unknown ids, documents of another subscriber and
/// documents the caller takes no part in are indistinguishable: all are `InvalidDocId`.
pub async fn load(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
) -> Result<DocumentRow, ApiError> {
    let doc = state
        .db
        .document(id.get())
        .await?
        .ok_or(ApiError::InvalidDocId)?;
    if !may_read(state, caller, doc.id, &doc.siren).await? {
        return Err(ApiError::InvalidDocId);
    }
    Ok(doc)
}

/// The visibility check alone, for read routes that do not need the document row.
pub async fn authorize_read(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
) -> Result<(), ApiError> {
    let Some(a) = state
        .db
        .document_access(id.get(), caller.user_id, &today())
        .await?
    else {
        return Err(ApiError::InvalidDocId);
    };
    if caller.is_member(&a.siren) && (a.involved || caller.is_admin(&a.siren)) {
        Ok(())
    } else {
        Err(ApiError::InvalidDocId)
    }
}

/// Checks the visibility of a document whose subscriber is already known (the cached history).
pub async fn authorize_read_in(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    siren: &str,
) -> Result<(), ApiError> {
    if may_read(state, caller, id.get(), siren).await? {
        Ok(())
    } else {
        Err(ApiError::InvalidDocId)
    }
}

/// The caller's part in the step the document waits at (CONTRACT §9, §10): the domain's
/// [`Turn`], and the member the caller acts as (themselves, or the absent member they stand in
/// for: `(user id, name)` with `Some(name)` for a delegation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTurn {
    pub turn: Turn,
    /// `(member's user id, the absent member's name when the caller is their delegate)`.
    pub member: Option<(i64, Option<String>)>,
}

impl StepTurn {
    /// How the history names the caller: `Nom (pour Titulaire)` for a delegate.
    pub fn history_name(&self, caller: &Caller) -> String {
        match &self.member {
            Some((_, Some(absent))) => format!("{} (pour {absent})", caller.full_name),
            _ => caller.full_name.clone(),
        }
    }
}

/// Looks up the caller's turn on the document's current step.
pub async fn turn(
    state: &AppState,
    caller: &Caller,
    doc: &DocumentRow,
) -> Result<StepTurn, ApiError> {
    let outsider = StepTurn {
        turn: Turn::Outsider,
        member: None,
    };
    if !caller.is_member(&doc.siren) {
        return Ok(outsider);
    }
    let (rule, members) = state
        .db
        .step_members_for(doc.id, doc.current_step, caller.user_id, &today())
        .await?;
    // The caller's own membership first, then a member they stand in for who has not acted.
    let own = members.iter().find(|m| m.user_id == caller.user_id);
    let chosen = match own {
        Some(m) if !m.acted => Some((m, None)),
        _ => members
            .iter()
            .find(|m| m.delegated && !m.acted && m.user_id != caller.user_id)
            .map(|m| (m, Some(m.name.clone())))
            .or(own.map(|m| (m, None))),
    };
    let Some((member, for_absent)) = chosen else {
        return Ok(outsider);
    };
    let turn = if member.acted {
        Turn::AlreadyActed
    } else if rule == StepRule::All
        && members
            .iter()
            .any(|m| !m.acted && m.user_id != member.user_id)
    {
        Turn::NotLast
    } else {
        Turn::Last
    };
    Ok(StepTurn {
        turn,
        member: Some((member.user_id, for_absent)),
    })
}

/// Checks that the caller may deposit into `siren` (111 unknown subscriber, 100 not a member).
pub async fn authorize_subscriber(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
) -> Result<(), ApiError> {
    if !caller.is_member(siren.as_str()) {
        return Err(if state.db.subscriber_exists(siren.as_str()).await? {
            ApiError::Forbidden
        } else {
            ApiError::SubscriberNotFound
        });
    }
    Ok(())
}

/// Whether the caller takes part in the document: its depositor, a member of one of its steps,
/// one of its agents, or an administrator of its subscriber.
pub async fn participates(
    state: &AppState,
    caller: &Caller,
    doc: &DocumentRow,
) -> Result<bool, ApiError> {
    if doc.depositor_id == caller.user_id || caller.is_admin(&doc.siren) {
        return Ok(true);
    }
    if doc
        .agents
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&caller.email))
    {
        return Ok(true);
    }
    Ok(state
        .db
        .document_step_members(doc.id)
        .await?
        .iter()
        .any(|m| m.email.eq_ignore_ascii_case(&caller.email)))
}

/// The depositor or an administrator of the document's subscriber (replace, delete, interrupt).
pub fn may_manage(caller: &Caller, doc: &DocumentRow) -> Result<(), ApiError> {
    if doc.depositor_id == caller.user_id || caller.is_admin(&doc.siren) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Whether the caller may act now on the step the document waits at (as a member who has not
/// acted, or as the delegate of one).
pub async fn is_step_member(
    state: &AppState,
    caller: &Caller,
    doc: &DocumentRow,
) -> Result<bool, ApiError> {
    Ok(matches!(
        turn(state, caller, doc).await?.turn,
        Turn::Last | Turn::NotLast
    ))
}

/// The workflow view of a stored document.
pub async fn workflow(state: &AppState, doc: &DocumentRow) -> Result<Workflow, ApiError> {
    Ok(Workflow {
        steps: state.db.document_steps(doc.id).await?,
        status: doc.status,
        current_step: usize::try_from(doc.current_step).unwrap_or(0),
    })
}
