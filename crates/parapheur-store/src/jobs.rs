//! The durable job queue. Jobs are inserted in the transaction of the change that causes them
//! (so a committed change always has its messages, and a rolled-back one has none), then
//! claimed by a worker with a lease, and completed or rescheduled with a backoff. On PostgreSQL
//! several instances claim concurrently with `FOR UPDATE SKIP LOCKED`.

use crate::{Db, Engine, StoreError, now_ms};
use sqlx::{Any, FromRow, Transaction};

/// In the effects of a deposit, stands for the id the new document receives: replaced in job
/// payloads, and a link's document id 0 means the new document.
pub const NEW_DOCUMENT_ID: &str = "{new-document-id}";

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: String,
    /// JSON, interpreted by the worker of `kind`.
    pub payload: String,
    /// Not before this many milliseconds after the commit (0: at once).
    pub delay_ms: i64,
}

/// A link for people without an account, created with the change that announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub token_hash: String,
    pub purpose: String,
    pub siren: String,
    pub document_ids: Vec<i64>,
    pub referer: Option<String>,
    pub expires_at: i64,
}

/// What a state change also writes in its transaction: messages and links it causes, the
/// transmission state and return flows it records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub jobs: Vec<NewJob>,
    pub links: Vec<NewLink>,
    pub transmission: Option<crate::helios::TransmissionRecord>,
    pub returns: Vec<crate::helios::NewReturnFlow>,
    pub archive: Option<crate::lifecycle::ArchiveRecord>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
            && self.links.is_empty()
            && self.transmission.is_none()
            && self.returns.is_empty()
            && self.archive.is_none()
    }
    /// Whether the job worker has something new to do.
    pub fn has_jobs(&self) -> bool {
        !self.jobs.is_empty()
    }
    pub fn extend(&mut self, other: Effects) {
        self.jobs.extend(other.jobs);
        self.links.extend(other.links);
        if other.transmission.is_some() {
            self.transmission = other.transmission;
        }
        self.returns.extend(other.returns);
        if other.archive.is_some() {
            self.archive = other.archive;
        }
    }

    /// The effects of a deposit, with the placeholder id replaced by `id`.
    pub(crate) fn for_new_document(&self, id: i64) -> Effects {
        Effects {
            jobs: self
                .jobs
                .iter()
                .map(|j| NewJob {
                    kind: j.kind.clone(),
                    payload: j.payload.replace(NEW_DOCUMENT_ID, &id.to_string()),
                    delay_ms: j.delay_ms,
                })
                .collect(),
            links: self
                .links
                .iter()
                .map(|l| NewLink {
                    document_ids: l
                        .document_ids
                        .iter()
                        .map(|d| if *d == 0 { id } else { *d })
                        .collect(),
                    ..l.clone()
                })
                .collect(),
            transmission: self.transmission.clone(),
            returns: self.returns.clone(),
            archive: self.archive.clone(),
        }
    }
}

/// A claimed job. `attempts` counts this attempt and fences the completion.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

/// Counts by status, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub done: i64,
    pub failed: i64,
}

/// Writes the effects of a change to document `document_id` (0: none) in its transaction.
pub(crate) async fn write_effects(
    tx: &mut Transaction<'_, Any>,
    e: &Effects,
) -> Result<(), StoreError> {
    write_effects_for(tx, 0, e).await
}

pub(crate) async fn write_effects_for(
    tx: &mut Transaction<'_, Any>,
    document_id: i64,
    e: &Effects,
) -> Result<(), StoreError> {
    if let Some(t) = &e.transmission
        && document_id != 0
    {
        crate::helios::write_transmission(tx, document_id, t).await?;
    }
    for r in &e.returns {
        crate::helios::write_return_flow(tx, r).await?;
    }
    if let Some(a) = &e.archive
        && document_id != 0
    {
        crate::lifecycle::write_archive(tx, document_id, a).await?;
    }
    let now = now_ms();
    for j in &e.jobs {
        sqlx::query(
            "INSERT INTO jobs (kind, payload, status, run_at, created_at) VALUES ($1, $2, 'pending', $3, $4)",
        )
        .bind(&j.kind)
        .bind(&j.payload)
        .bind(now + j.delay_ms.max(0))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    for l in &e.links {
        let ids = serde_json::to_string(&l.document_ids)
            .map_err(|e| StoreError::Unavailable(format!("encoding link documents: {e}")))?;
        sqlx::query(
            "INSERT INTO access_links (token_hash, purpose, siren, document_ids, referer, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&l.token_hash)
        .bind(&l.purpose)
        .bind(&l.siren)
        .bind(ids)
        .bind(&l.referer)
        .bind(now)
        .bind(l.expires_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Db {
    /// Enqueues effects on their own (for changes that write nothing else).
    pub async fn enqueue(&self, e: &Effects) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        write_effects(&mut tx, e).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims the oldest due job for `lease_ms`, or `None`.
    pub async fn claim_job(&self, lease_ms: i64) -> Result<Option<ClaimedJob>, StoreError> {
        Ok(self.claim_jobs(lease_ms, 1).await?.into_iter().next())
    }

    /// Claims up to `limit` due jobs, oldest first, for `lease_ms`, in one statement.
    pub async fn claim_jobs(
        &self,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let now = now_ms();
        let lock = match self.engine {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 WHERE id IN (\
               SELECT id FROM jobs WHERE status = 'pending' AND run_at <= $2 AND locked_until <= $2 \
               ORDER BY run_at, id LIMIT $3{lock}) \
             RETURNING id, kind, payload, attempts"
        );
        let mut jobs: Vec<ClaimedJob> = sqlx::query_as(&sql)
            .bind(now + lease_ms)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Marks delivered jobs done in one transaction (`forget`: erase the payload). Returns how
    /// many were still leased to us.
    pub async fn complete_jobs(&self, done: &[(&ClaimedJob, bool)]) -> Result<usize, StoreError> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let mut kept = 0;
        for (job, forget) in done {
            let r = sqlx::query(
                "UPDATE jobs SET status = 'done', finished_at = $1, locked_until = 0, last_error = NULL, \
                 payload = CASE WHEN $2 = 1 THEN '{}' ELSE payload END \
                 WHERE id = $3 AND attempts = $4 AND status = 'pending'",
            )
            .bind(now)
            .bind(i64::from(*forget))
            .bind(job.id)
            .bind(job.attempts)
            .execute(&mut *tx)
            .await?;
            kept += usize::try_from(r.rows_affected()).unwrap_or(0);
        }
        tx.commit().await?;
        Ok(kept)
    }

    /// Deletes jobs delivered before `before_ms` (pending and failed ones are kept: the first
    /// still have work to do, the second are the record of what was refused). Returns how many.
    pub async fn prune_done_jobs(&self, before_ms: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND finished_at < $1")
            .bind(before_ms)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected())
    }

    /// Marks a job delivered. `forget_payload` erases secrets (an OTP code) once sent.
    /// Returns false when the lease was lost (another worker took the job over).
    pub async fn complete_job(
        &self,
        job: &ClaimedJob,
        forget_payload: bool,
    ) -> Result<bool, StoreError> {
        Ok(self.complete_jobs(&[(job, forget_payload)]).await? == 1)
    }

    /// Records a failed attempt: retried at `retry_at`, or given up when `retry_at` is `None`
    /// (a permanent refusal by the provider).
    pub async fn fail_job(
        &self,
        job: &ClaimedJob,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let error: String = error.chars().take(2000).collect();
        match retry_at {
            Some(at) => {
                sqlx::query(
                    "UPDATE jobs SET run_at = $1, locked_until = 0, last_error = $2 \
                     WHERE id = $3 AND attempts = $4 AND status = 'pending'",
                )
                .bind(at)
                .bind(error)
                .bind(job.id)
                .bind(job.attempts)
                .execute(&self.write)
                .await?;
            }
            None => {
                sqlx::query(
                    "UPDATE jobs SET status = 'failed', finished_at = $1, locked_until = 0, last_error = $2 \
                     WHERE id = $3 AND attempts = $4 AND status = 'pending'",
                )
                .bind(now_ms())
                .bind(error)
                .bind(job.id)
                .bind(job.attempts)
                .execute(&self.write)
                .await?;
            }
        }
        Ok(())
    }

    /// When the next pending job is due (to sleep until then).
    pub async fn next_job_due(&self) -> Result<Option<i64>, StoreError> {
        let (at,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(CASE WHEN locked_until > run_at THEN locked_until ELSE run_at END) \
             FROM jobs WHERE status = 'pending'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(at)
    }

    pub async fn job_counts(&self) -> Result<JobCounts, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                .fetch_all(&self.read)
                .await?;
        let mut c = JobCounts::default();
        for (s, n) in rows {
            match s.as_str() {
                "pending" => c.pending = n,
                "done" => c.done = n,
                "failed" => c.failed = n,
                _ => {}
            }
        }
        Ok(c)
    }
}
