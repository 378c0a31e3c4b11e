//! The durable job queue. Jobs are inserted in the transaction of the change that causes them
//! (so a committed change always has its messages, and a rolled-back one has none), then
//! claimed by a worker with a lease, and completed or rescheduled with a backoff. On PostgreSQL
//! several instances claim concurrently with `FOR UPDATE SKIP LOCKED`.

pub use crate::effects::{Effects, NEW_DOCUMENT_ID, NewJob, NewLink};
use crate::{Db, Engine, StoreError, now_ms};
use sqlx::FromRow;

/// A claimed job. `attempts` counts this attempt and fences the completion.
#[derive(Debug, Clone, FromRow)]
pub struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    /// The request whose change enqueued it, when known.
    pub request_id: Option<String>,
}

/// Counts by status, for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub done: i64,
    pub failed: i64,
}

impl Db {
    /// Enqueues effects on their own (for changes that write nothing else).
    pub async fn enqueue(&self, e: &Effects) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        crate::effects::write_effects(&mut tx, e).await?;
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
             RETURNING id, kind, payload, attempts, request_id"
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

    /// Marks delivered jobs done in one statement (`forget`: erase the payload). Returns how
    /// many were still leased to us (same attempt, still pending).
    pub async fn complete_jobs(&self, done: &[(&ClaimedJob, bool)]) -> Result<usize, StoreError> {
        let mut kept = 0;
        // A statement per 256 jobs keeps the parameters far below either engine's limit.
        for chunk in done.chunks(256) {
            kept += self.complete_chunk(chunk).await?;
        }
        Ok(kept)
    }

    async fn complete_chunk(&self, done: &[(&ClaimedJob, bool)]) -> Result<usize, StoreError> {
        if done.is_empty() {
            return Ok(0);
        }
        // Both engines name the columns of a VALUES list column1, column2, ...
        let rows: Vec<String> = (0..done.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 2, 3 * i + 3, 3 * i + 4))
            .collect();
        let sql = format!(
            "UPDATE jobs SET status = 'done', finished_at = $1, locked_until = 0, last_error = NULL, \
             payload = CASE WHEN d.column3 = 1 THEN '{{}}' ELSE jobs.payload END \
             FROM (VALUES {}) AS d \
             WHERE jobs.id = d.column1 AND jobs.attempts = d.column2 AND jobs.status = 'pending'",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(now_ms());
        for (job, forget) in done {
            q = q.bind(job.id).bind(job.attempts).bind(i64::from(*forget));
        }
        let r = q.execute(&self.write).await?;
        Ok(usize::try_from(r.rows_affected()).unwrap_or(0))
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

    /// The pending jobs by kind: how many, and how long the oldest due one has waited past its
    /// due time (ms, 0 when none is due yet).
    pub async fn job_queue(&self) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let now = crate::now_ms();
        let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT kind, COUNT(*), MIN(CASE WHEN run_at <= $1 THEN run_at END) \
             FROM jobs WHERE status = 'pending' GROUP BY kind ORDER BY kind",
        )
        .bind(now)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, n, oldest)| (kind, n, oldest.map_or(0, |t| (now - t).max(0))))
            .collect())
    }

    /// Whether another pending job of `kind` with the same `payload` has a smaller id than `id`.
    pub async fn earlier_pending_job(
        &self,
        kind: &str,
        payload: &str,
        id: i64,
    ) -> Result<bool, StoreError> {
        let r: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM jobs WHERE kind = $1 AND payload = $2 AND status = 'pending' \
             AND id < $3 LIMIT 1",
        )
        .bind(kind)
        .bind(payload)
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        Ok(r.is_some())
    }

    /// Enqueues a job of `kind` with `payload`, due now, unless one is pending already.
    pub async fn ensure_job(&self, kind: &str, payload: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        let r = sqlx::query(
            "INSERT INTO jobs (kind, payload, status, run_at, created_at) \
             SELECT $1, $2, 'pending', $3, $3 WHERE NOT EXISTS \
             (SELECT 1 FROM jobs WHERE kind = $1 AND payload = $2 AND status = 'pending')",
        )
        .bind(kind)
        .bind(payload)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected() > 0)
    }
}
