//! The job worker, the one module that knows what runs each job: claims due jobs with a lease,
//! runs them, and completes or reschedules them with an exponential backoff. Woken at once after a commit that enqueues, and every
//! `[jobs] poll_ms` otherwise (jobs of other instances, retries).

use crate::connectors::SendError;
use crate::jobs::{Job, JobKind, Outcome};
use crate::state::AppState;
use parapheur_store::jobs::ClaimedJob;
use parapheur_store::now_ms;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a claimed job is ours (`[jobs] lease_ms`): another worker takes it over after.
fn lease_ms(state: &AppState) -> i64 {
    i64::try_from(state.cfg.jobs.lease_ms).unwrap_or(i64::MAX)
}
/// Jobs claimed, delivered concurrently and completed together.
const BATCH: i64 = 16;
/// After a batch that was not full, the pause before the next claim: under a stream of
/// deposits, the jobs they enqueue meanwhile are claimed (and completed) together rather than
/// a few at a time, at the cost of this much delay on a message.
const GATHER: Duration = Duration::from_millis(20);

/// The delay before attempt `attempts + 1`: base × 2^(attempts-1), at most `max`.
pub fn backoff_ms(attempts: i64, base: u64, max: u64) -> u64 {
    let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    base.saturating_mul(1u64 << shift).min(max)
}

/// Starts the worker on the current runtime.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut stopping = state.stopping.subscribe();
        loop {
            // Stopping: the batch in hand was finished; claim nothing more.
            if *stopping.borrow() {
                tracing::info!("job worker stopped");
                return;
            }
            match state.db.claim_jobs(lease_ms(&state), BATCH).await {
                Ok(jobs) if !jobs.is_empty() => {
                    let full = jobs.len() >= usize::try_from(BATCH).unwrap_or(usize::MAX);
                    run_batch(&state, jobs).await;
                    if !full {
                        tokio::select! {
                            () = tokio::time::sleep(GATHER) => {}
                            _ = stopping.changed() => {}
                        }
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "cannot claim jobs"),
            }
            let poll = state.cfg.jobs.poll_ms.max(10);
            let wait = match state.db.next_job_due().await {
                Ok(Some(at)) => u64::try_from(at - now_ms()).unwrap_or(0).clamp(5, poll),
                Ok(None) | Err(_) => poll,
            };
            tokio::select! {
                () = state.jobs_wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(wait)) => {}
                _ = stopping.changed() => {}
            }
        }
    })
}

/// Runs every job due now, batch after batch (jobs they enqueue included), until none is due;
/// returns how many ran. For tests and tools: the worker itself stays the normal path.
pub async fn run_due(state: &AppState) -> usize {
    let mut ran = 0;
    loop {
        match state.db.claim_jobs(lease_ms(state), BATCH).await {
            Ok(jobs) if !jobs.is_empty() => {
                ran += jobs.len();
                run_batch(state, jobs).await;
            }
            Ok(_) => return ran,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim jobs");
                return ran;
            }
        }
    }
}

/// Runs one claimed job: decoded once into its typed [`Job`], then handed to its handler.
async fn run_one(state: &AppState, claimed: &ClaimedJob) -> Result<Outcome, SendError> {
    let job = Job::decode(&claimed.kind, &claimed.payload)
        .map_err(|e| SendError::permanent(e.to_string()))?;
    let transient = |e: &dyn std::fmt::Display| SendError::transient(e.to_string());
    match job {
        Job::Mail(m) => {
            state.mailer.send(&m).await.inspect_err(|_| {
                state.metrics.delivery_failed(crate::metrics::Channel::Mail);
            })?;
            state.metrics.mails_sent.fetch_add(1, Ordering::Relaxed);
            Ok(Outcome::Done)
        }
        Job::Sms(s) => {
            state
                .sms
                .send(&s, &format!("sms-{}", claimed.id))
                .await
                .inspect_err(|_| state.metrics.delivery_failed(crate::metrics::Channel::Sms))?;
            state.metrics.sms_sent.fetch_add(1, Ordering::Relaxed);
            Ok(Outcome::Done)
        }
        Job::HeliosSend(h) => crate::service::helios::run_send(state, &h).await,
        Job::HeliosPoll(h) => crate::service::helios::run_poll(state, &h).await,
        Job::Deliver(d) => {
            let Some(doc) = state
                .db
                .document(d.document_id)
                .await
                .map_err(|e| transient(&e))?
            else {
                return Ok(Outcome::Done);
            };
            let bytes = crate::service::get_blob(state, &doc.blob_key)
                .await
                .map_err(|e| transient(&e))?;
            state.delivery.deliver(&d, &bytes).await?;
            Ok(Outcome::Done)
        }
        Job::Automatic(a) => {
            let id = a
                .id()
                .ok_or_else(|| SendError::permanent("bad document id"))?;
            crate::service::automatic::run(state, id)
                .await
                .map_err(|e| transient(&e))?;
            Ok(Outcome::Done)
        }
        Job::LdapSync(l) => {
            // A directory removed from the configuration: its row ends.
            let Some(cfg) = state
                .cfg
                .ldap
                .get(l.directory)
                .filter(|c| c.siren.as_str() == l.siren)
            else {
                return Ok(Outcome::Done);
            };
            // Two rows for one directory (instances starting together): the later one ends.
            if state
                .db
                .earlier_pending_job(&claimed.kind, &claimed.payload, claimed.id)
                .await
                .map_err(|e| transient(&e))?
            {
                return Ok(Outcome::Done);
            }
            match crate::service::users::sync_directory(state, cfg).await {
                Ok(problems) => tracing::info!(
                    siren = %cfg.siren,
                    url = %cfg.url,
                    problems = problems.len(),
                    "directory synchronised"
                ),
                Err(e) => tracing::error!(
                    siren = %cfg.siren,
                    url = %cfg.url,
                    error = %e,
                    "directory synchronisation failed; next attempt at the next interval"
                ),
            }
            Ok(Outcome::Later(cfg.interval_s.saturating_mul(1000)))
        }
        Job::BatchSign(b) => crate::service::batch_sign::run(state, &b.batch_id)
            .await
            .map_err(|e| transient(&e)),
        Job::Webhook(w) => crate::service::webhooks::run(state, w.delivery_id).await,
    }
}

/// Whether a done job's payload is erased (by its kind; an unknown kind keeps it).
fn forget_payload(job: &ClaimedJob) -> bool {
    JobKind::parse(&job.kind).is_some_and(JobKind::forget_payload_when_done)
}

/// Delivers a batch concurrently, then records the deliveries in one transaction (failures and
/// reschedules one by one).
async fn run_batch(state: &AppState, jobs: Vec<ClaimedJob>) {
    // Each job's log lines carry its id, its kind, and the request that caused it.
    let outcomes = futures_util::future::join_all(jobs.iter().map(|j| {
        let span = tracing::info_span!(
            "job",
            otel.name = %format_args!("job {}", j.kind),
            job.id = j.id,
            job.kind = %j.kind,
            request_id = j.request_id.as_deref().unwrap_or_default()
        );
        tracing::Instrument::instrument(
            async move {
                let outcome = run_one(state, j).await;
                if matches!(outcome, Ok(Outcome::Done)) {
                    tracing::info!("job delivered");
                }
                outcome
            },
            span,
        )
    }))
    .await;
    let mut done = Vec::new();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        match outcome {
            // Delivered messages forget their payload: OTP codes, invitation, reset and download
            // links must not stay in the database.
            Ok(Outcome::Done) => done.push((job, forget_payload(job))),
            other => settle(state, job, other).await,
        }
    }
    if done.is_empty() {
        return;
    }
    match state.db.complete_jobs(&done).await {
        Ok(kept) => {
            if kept < done.len() {
                tracing::warn!(
                    late = done.len() - kept,
                    "jobs delivered after their lease expired"
                );
            }
            tracing::debug!(jobs = done.len(), "jobs done");
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot record delivered jobs; they will be delivered again")
        }
    }
}

/// Records the outcome of a job that is not simply done.
async fn settle(state: &AppState, job: &ClaimedJob, outcome: Result<Outcome, SendError>) {
    if let Ok(Outcome::Later(ms)) = outcome {
        let at = now_ms() + i64::try_from(ms).unwrap_or(i64::MAX / 2);
        if let Err(e) = state.db.fail_job(job, "waiting", Some(at)).await {
            tracing::error!(job.id = job.id, error = %e, "cannot reschedule the job");
        }
        return;
    }
    let stored = match &outcome {
        Ok(_) => state
            .db
            .complete_job(job, forget_payload(job))
            .await
            .map(|kept| {
                if !kept {
                    tracing::warn!(job.id = job.id, "job delivered after its lease expired");
                }
            }),
        Err(e) => {
            state.metrics.job_failures.fetch_add(1, Ordering::Relaxed);
            let retry = e.transient.then(|| {
                let d = backoff_ms(
                    job.attempts,
                    state.cfg.jobs.retry_base_ms,
                    state.cfg.jobs.retry_max_ms,
                );
                now_ms() + i64::try_from(d).unwrap_or(i64::MAX / 2)
            });
            if retry.is_some() {
                tracing::warn!(job.id = job.id, kind = %job.kind, attempts = job.attempts, error = %e, "delivery failed; will retry");
            } else {
                tracing::error!(job.id = job.id, kind = %job.kind, error = %e, "delivery refused; giving up");
            }
            state.db.fail_job(job, &e.message, retry).await
        }
    };
    match (stored, outcome) {
        (Err(e), _) => {
            tracing::error!(job.id = job.id, error = %e, "cannot record the job outcome")
        }
        (Ok(()), Ok(_)) => tracing::info!(job.id = job.id, kind = %job.kind, "job done"),
        (Ok(()), Err(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff_ms(1, 100, 1000), 100);
        assert_eq!(backoff_ms(2, 100, 1000), 200);
        assert_eq!(backoff_ms(4, 100, 1000), 800);
        assert_eq!(backoff_ms(5, 100, 1000), 1000);
        assert_eq!(backoff_ms(500, 100, 1000), 1000);
    }
}
