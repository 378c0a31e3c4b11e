//! Reminders around deadlines and daily digests (CONTRACT §11): the documents that have a
//! deadline, the digest choice of users, and the claims that make each reminder and each digest
//! go once whichever instance finds it due first (a row inserted with its e-mail job in one
//! transaction; a second claim inserts nothing and sends nothing).

use crate::effects::{Effects, write_effects};
use crate::{Db, StoreError, now_ms};
use parapheur_domain::{DocumentStatus, StepKind};

/// A document waiting at a visa or signature step, with a deadline.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeadlineRow {
    pub id: i64,
    pub current_step: i64,
    /// `YYYY-MM-DD`.
    pub deadline: String,
}

impl Db {
    /// Documents in progress at a visa or signature step whose deadline is on or before
    /// `until` (`YYYY-MM-DD`), oldest deadline first, at most `limit`.
    pub async fn documents_with_deadline(
        &self,
        until: &str,
        limit: i64,
    ) -> Result<Vec<DeadlineRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT d.id, d.current_step, d.deadline FROM documents d \
             JOIN document_steps s ON s.document_id = d.id AND s.idx = d.current_step \
             WHERE d.status = $1 AND s.kind IN ($2, $3) AND d.deadline IS NOT NULL \
             AND d.deadline <= $4 ORDER BY d.deadline, d.id LIMIT {}",
            limit.clamp(1, 10_000)
        ))
        .bind(DocumentStatus::InProgress.as_str())
        .bind(StepKind::Visa.as_str())
        .bind(StepKind::Signature.as_str())
        .bind(until)
        .fetch_all(&self.read)
        .await?)
    }

    /// Claims the reminder `(document, step, kind, offset)` and writes its e-mail with it; the
    /// offsets of `also` (smaller ones, now pointless) are claimed without e-mail. Whether this
    /// call claimed it (false: sent before, by this instance or another).
    pub async fn claim_reminder(
        &self,
        document_id: i64,
        step_idx: i64,
        kind: &str,
        offset_days: i64,
        also: &[i64],
        effects: &Effects,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        let insert = "INSERT INTO reminders_sent (document_id, step_idx, kind, offset_days, sent_at) \
                      VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        let r = sqlx::query(insert)
            .bind(document_id)
            .bind(step_idx)
            .bind(kind)
            .bind(offset_days)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        for o in also {
            sqlx::query(insert)
                .bind(document_id)
                .bind(step_idx)
                .bind(kind)
                .bind(*o)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        write_effects(&mut tx, effects).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets a user's choice of a daily digest instead of one e-mail per document.
    pub async fn set_daily_digest(&self, user_id: i64, on: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET daily_digest = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(user_id)
            .execute(&self.write)
            .await?;
        self.deposit_cache.invalidate();
        Ok(())
    }

    pub async fn daily_digest(&self, user_id: i64) -> Result<bool, StoreError> {
        let r: Option<(i64,)> = sqlx::query_as("SELECT daily_digest FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&self.read)
            .await?;
        Ok(r.is_some_and(|(d,)| d != 0))
    }

    /// Of `emails`, those who chose the daily digest.
    pub async fn digest_users_among(&self, emails: &[String]) -> Result<Vec<String>, StoreError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (1..=emails.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT email FROM users WHERE daily_digest <> 0 AND email IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query_as::<_, (String,)>(&sql);
        for e in emails {
            q = q.bind(e);
        }
        Ok(q.fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect())
    }

    /// Users who chose the digest and have not received the one of `day`: `(id, email, name)`.
    pub async fn digest_users_due(
        &self,
        day: &str,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.email, u.first_name || ' ' || u.last_name FROM users u \
             WHERE u.daily_digest <> 0 AND NOT EXISTS \
             (SELECT 1 FROM digests_sent g WHERE g.user_id = u.id AND g.day = $1) ORDER BY u.id",
        )
        .bind(day)
        .fetch_all(&self.read)
        .await?)
    }

    /// Claims the digest of `day` for `user_id` with its e-mail (none when `effects` is empty:
    /// nothing to tell, but the day is done). Whether this call claimed it.
    pub async fn claim_digest(
        &self,
        user_id: i64,
        day: &str,
        effects: &Effects,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "INSERT INTO digests_sent (user_id, day) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(day)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        write_effects(&mut tx, effects).await?;
        tx.commit().await?;
        Ok(true)
    }
}
