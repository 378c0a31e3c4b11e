//! Batch signing from the portal: the selection is recorded with a `batch_sign` job (one
//! transaction), then the job signs the documents in order, recording each outcome so that the
//! progress page can show it while the batch runs. A retried job resumes at the first document
//! without an outcome.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::jobs::{BatchJob, Job, Outcome};
use crate::service::{access, documents};
use crate::state::AppState;
use parapheur_domain::{Action, DocumentId};

/// Most documents in one batch.
pub const MAX_BATCH: usize = 100;

/// Records the batch of `ids` for the caller and returns its id. Documents the caller cannot
/// see are left out.
pub async fn start(
    state: &AppState,
    caller: &Caller,
    ids: &[DocumentId],
) -> Result<String, ApiError> {
    let mut items = Vec::new();
    for id in ids.iter().take(MAX_BATCH) {
        if let Ok(d) = access::load(state, caller, *id).await {
            items.push((d.id, d.filename));
        }
    }
    if items.is_empty() {
        return Err(ApiError::BadParameter("no document selected".into()));
    }
    let (batch_id, _) = crate::service::links::new_token();
    let job = Job::BatchSign(BatchJob {
        batch_id: batch_id.clone(),
    })
    .to_new(0)
    .map_err(anyhow::Error::from)?;
    state
        .db
        .create_batch(&batch_id, caller.user_id, &items, job)
        .await?;
    state.wake_jobs();
    Ok(batch_id)
}

/// The `batch_sign` job: signs every document of the batch that has no outcome yet.
pub async fn run(state: &AppState, batch_id: &str) -> Result<Outcome, anyhow::Error> {
    let items = state.db.batch_items(batch_id, None).await?;
    let Some(first) = items.first() else {
        return Ok(Outcome::Done);
    };
    let Some(user) = state.db.user_by_id(first.user_id).await? else {
        for item in items.iter().filter(|i| i.outcome.is_none()) {
            state
                .db
                .record_batch_outcome(batch_id, item.position, "Compte supprimé.", false)
                .await?;
        }
        return Ok(Outcome::Done);
    };
    let caller = crate::auth::caller_of(state, &user)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for item in items.iter().filter(|i| i.outcome.is_none()) {
        let outcome = match DocumentId::parse(&item.document_id.to_string()) {
            Ok(id) => documents::act(state, &caller, id, Action::Sign, None).await,
            Err(e) => Err(e.into()),
        };
        let (text, signed) = match outcome {
            Ok(()) => ("Signé", true),
            // A store failure is worth another try; a refusal is the document's outcome.
            Err(ApiError::Internal(e)) => return Err(e),
            Err(e) => (e.user_message(), false),
        };
        state
            .db
            .record_batch_outcome(batch_id, item.position, text, signed)
            .await?;
    }
    Ok(Outcome::Done)
}
