//! Absences with a delegate and the reassignment of a document's current step (CONTRACT §10).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::access;
use crate::state::AppState;
use chrono::NaiveDate;
use parapheur_domain::{DocumentId, Email, Siren, StepKind};
use parapheur_store::absences::Absence;

/// An absence period as submitted: days `YYYY-MM-DD` and the delegate's e-mail.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbsenceInput {
    /// The first day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub from: String,
    /// The last day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub until: String,
    /// The delegate's e-mail address.
    #[schema(format = Email)]
    pub delegate: String,
}

/// An absence period as answered.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AbsenceView {
    pub from: String,
    pub until: String,
    pub delegate: String,
    pub delegate_name: String,
    /// Whether today is within the period.
    pub active: bool,
}

impl From<Absence> for AbsenceView {
    fn from(a: Absence) -> Self {
        let today = access::today();
        Self {
            active: a.from.as_str() <= today.as_str() && today.as_str() <= a.until.as_str(),
            from: a.from,
            until: a.until,
            delegate: a.delegate_email,
            delegate_name: a.delegate_name,
        }
    }
}

fn day(field: &str, s: &str) -> Result<String, ApiError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| ApiError::BadParameter(format!("{field}: a date YYYY-MM-DD is expected")))
}

/// Records the absence of `user_id` (a user of the subscribers `sirens`): the delegate must be
/// another user sharing one of them.
async fn set(
    state: &AppState,
    user_id: i64,
    user_email: &str,
    sirens: &[String],
    input: &AbsenceInput,
) -> Result<AbsenceView, ApiError> {
    let from = day("from", &input.from)?;
    let until = day("until", &input.until)?;
    if from > until {
        return Err(ApiError::BadParameter(
            "until: the period ends before it starts".into(),
        ));
    }
    let delegate = Email::parse(&input.delegate)
        .map_err(|_| ApiError::BadParameter("delegate: an e-mail address is expected".into()))?;
    if delegate.as_str() == user_email {
        return Err(ApiError::BadParameter(
            "delegate: a user cannot stand in for themselves".into(),
        ));
    }
    let mut delegate_id = None;
    for siren in sirens {
        if let Some((_, id)) = state
            .db
            .members_by_email(siren, &[delegate.as_str().to_owned()])
            .await?
            .into_iter()
            .next()
        {
            delegate_id = Some(id);
            break;
        }
    }
    let delegate_id = delegate_id.ok_or_else(|| {
        ApiError::BadParameter(format!(
            "delegate: {delegate} is not a user of the same subscriber"
        ))
    })?;
    state
        .db
        .set_absence(user_id, &from, &until, delegate_id)
        .await?;
    tracing::info!(user.id = user_id, delegate.id = delegate_id, %from, %until, "absence set");
    current(state, user_id).await?.ok_or(ApiError::NotFound)
}

/// The caller's own absence.
pub async fn set_mine(
    state: &AppState,
    caller: &Caller,
    input: &AbsenceInput,
) -> Result<AbsenceView, ApiError> {
    let sirens: Vec<String> = caller.memberships.iter().map(|(s, _)| s.clone()).collect();
    set(state, caller.user_id, &caller.email, &sirens, input).await
}

/// An administrator of `siren` sets the absence of one of its users.
pub async fn set_for(
    state: &AppState,
    caller: &Caller,
    siren: &Siren,
    email: &str,
    input: &AbsenceInput,
) -> Result<AbsenceView, ApiError> {
    access::authorize_subscriber(state, caller, siren).await?;
    if !caller.is_admin(siren.as_str()) {
        return Err(ApiError::Forbidden);
    }
    let email = Email::parse(email).map_err(|_| ApiError::NotFound)?;
    let (_, user_id) = state
        .db
        .members_by_email(siren.as_str(), &[email.as_str().to_owned()])
        .await?
        .into_iter()
        .next()
        .ok_or(ApiError::NotFound)?;
    set(
        state,
        user_id,
        email.as_str(),
        &[siren.as_str().to_owned()],
        input,
    )
    .await
}

/// The absence recorded for a user, if any.
pub async fn current(state: &AppState, user_id: i64) -> Result<Option<AbsenceView>, ApiError> {
    Ok(state.db.absence(user_id).await?.map(AbsenceView::from))
}

/// Ends the caller's absence; whether there was one.
pub async fn clear_mine(state: &AppState, caller: &Caller) -> Result<bool, ApiError> {
    Ok(state.db.clear_absence(caller.user_id).await?)
}

/// An administrator of the document's subscriber replaces the members of its current visa or
/// signature step who have not acted yet. The new members are told by e-mail; a comment
/// records the change.
pub async fn reassign(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    members: &[String],
) -> Result<(), ApiError> {
    let doc = access::load(state, caller, id).await?;
    if !caller.is_admin(&doc.siren) {
        return Err(ApiError::Forbidden);
    }
    let w = access::workflow(state, &doc).await?;
    if !matches!(w.current_kind(), Some(StepKind::Visa | StepKind::Signature)) {
        return Err(ApiError::InvalidState(
            "the document does not wait at a visa or signature step".into(),
        ));
    }
    if members.is_empty() {
        return Err(ApiError::BadParameter(
            "members: at least one member is needed".into(),
        ));
    }
    let mut emails = Vec::with_capacity(members.len());
    for m in members {
        let e = Email::parse(m).map_err(|_| ApiError::InvalidStepMember(m.clone()))?;
        if !emails.contains(&e.as_str().to_owned()) {
            emails.push(e.as_str().to_owned());
        }
    }
    let known = state.db.members_by_email(&doc.siren, &emails).await?;
    let depositor = state.db.user_by_id(doc.depositor_id).await?;
    let mut ids = Vec::with_capacity(emails.len());
    for e in &emails {
        let (_, uid) = known
            .iter()
            .find(|(k, _)| k == e)
            .ok_or_else(|| ApiError::InvalidStepMember(e.clone()))?;
        if depositor.as_ref().is_some_and(|d| d.id == *uid) {
            return Err(ApiError::DepositorIsMember(e.clone()));
        }
        ids.push(*uid);
    }
    let effects = crate::service::notify::reassigned(state, &doc, &w.steps, emails.clone()).await?;
    let note = format!("Étape en cours réattribuée à : {}", emails.join(", "));
    state
        .db
        .reassign_step(
            doc.id,
            doc.version,
            doc.current_step,
            &ids,
            (caller.user_id, &caller.full_name, &note),
            &effects,
        )
        .await?;
    state.wake_jobs();
    tracing::info!(
        document.id = doc.id,
        members = emails.len(),
        "current step reassigned"
    );
    Ok(())
}
