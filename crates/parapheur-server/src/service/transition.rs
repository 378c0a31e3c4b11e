//! The one path of every document change: write the transition ([`commit::write`]), then run
//! the automatic steps it leads to. Actions, OTP signatures, Helios events, replacements,
//! interruptions and metadata definitions all go through [`apply`].

use crate::error::ApiError;
use crate::service::commit;
use crate::state::AppState;
use parapheur_domain::{StepKind, Transition};
use parapheur_store::documents::DocumentRow;

pub use crate::service::commit::{By, Change, Notices, Payload};

/// Writes transition `t` of `doc` (whose workflow has `steps`) with `change`, then runs the
/// automatic steps the document now waits at (a failure there is logged: the change stands and
/// the step's durable job retries it).
pub async fn apply(
    state: &AppState,
    doc: &DocumentRow,
    steps: &[StepKind],
    t: &Transition,
    change: Change,
) -> Result<(), ApiError> {
    commit::write(state, doc, steps, t, change).await?;
    crate::service::automatic::run_logged(state, doc.id).await;
    Ok(())
}
