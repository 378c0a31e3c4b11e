//! Absence periods with a delegate (CONTRACT §10) and the reassignment of a step.

use crate::{Db, StoreError, now_ms};
use parapheur_domain::{DocumentStatus, StepKind};

/// A user's absence period (days `YYYY-MM-DD`, both included) and who stands in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absence {
    pub user_id: i64,
    pub from: String,
    pub until: String,
    pub delegate_id: i64,
    pub delegate_email: String,
    /// `Prénom Nom`.
    pub delegate_name: String,
}

impl Db {
    /// Sets (or replaces) the absence period of `user_id`.
    pub async fn set_absence(
        &self,
        user_id: i64,
        from: &str,
        until: &str,
        delegate_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO absences (user_id, from_day, until_day, delegate_id, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET \
             from_day = excluded.from_day, until_day = excluded.until_day, \
             delegate_id = excluded.delegate_id, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(from)
        .bind(until)
        .bind(delegate_id)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        // Delegations decide who may read the absent user's documents.
        self.history_cache.invalidate_all();
        self.deposit_cache.invalidate();
        Ok(())
    }

    /// Ends the absence period of `user_id`; whether there was one.
    pub async fn clear_absence(&self, user_id: i64) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM absences WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.write)
            .await?;
        self.history_cache.invalidate_all();
        self.deposit_cache.invalidate();
        Ok(r.rows_affected() > 0)
    }

    /// The absence period of `user_id`, if one is recorded (past, current or future).
    pub async fn absence(&self, user_id: i64) -> Result<Option<Absence>, StoreError> {
        let r: Option<(i64, String, String, i64, String, String)> = sqlx::query_as(
            "SELECT a.user_id, a.from_day, a.until_day, a.delegate_id, u.email, \
             u.first_name || ' ' || u.last_name FROM absences a \
             JOIN users u ON u.id = a.delegate_id WHERE a.user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(r.map(
            |(user_id, from, until, delegate_id, delegate_email, delegate_name)| Absence {
                user_id,
                from,
                until,
                delegate_id,
                delegate_email,
                delegate_name,
            },
        ))
    }

    /// The e-mail of the active delegate on `today` of each user of `emails` who has one, as
    /// `(absent user's e-mail, delegate's e-mail)`.
    pub async fn active_delegates(
        &self,
        emails: &[String],
        today: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..emails.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT u.email, d.email FROM absences a JOIN users u ON u.id = a.user_id \
             JOIN users d ON d.id = a.delegate_id \
             WHERE a.from_day <= $1 AND a.until_day >= $1 AND u.email IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql).bind(today);
        for e in emails {
            q = q.bind(e);
        }
        Ok(q.fetch_all(&self.read).await?)
    }

    /// Replaces the members of step `idx` of document `id` who have not acted with `members`,
    /// if the document is still at `expected_version` (`Conflict` otherwise); the version moves
    /// on so that concurrent actions see the change. The comment `(user id, author, text)` and
    /// the effects are written in the same transaction.
    pub async fn reassign_step(
        &self,
        id: i64,
        expected_version: i64,
        idx: i64,
        members: &[i64],
        comment: (i64, &str, &str),
        effects: &crate::effects::Effects,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE documents SET version = version + 1, updated_at = $1 \
             WHERE id = $2 AND version = $3 AND current_step = $4",
        )
        .bind(now_ms())
        .bind(id)
        .bind(expected_version)
        .bind(idx)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        sqlx::query(
            "DELETE FROM document_step_members WHERE document_id = $1 AND idx = $2 \
             AND acted_at IS NULL",
        )
        .bind(id)
        .bind(idx)
        .execute(&mut *tx)
        .await?;
        for m in members {
            sqlx::query(
                "INSERT INTO document_step_members \
                 (document_id, idx, user_id, doc_created_at, doc_status) \
                 SELECT $1, $2, $3, created_at, status FROM documents WHERE id = $1 \
                 ON CONFLICT (document_id, idx, user_id) DO NOTHING",
            )
            .bind(id)
            .bind(idx)
            .bind(*m)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO comments (document_id, user_id, author, text, at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(comment.0)
        .bind(comment.1)
        .bind(comment.2)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        crate::effects::write_effects_for(&mut tx, id, effects).await?;
        tx.commit().await?;
        self.history_cache.invalidate(id);
        Ok(())
    }

    /// Documents in progress of `siren` waiting at a visa or signature step where nobody can
    /// act: every member who has not acted has left the subscriber (or the step has none).
    pub async fn stuck_documents(&self, siren: &str) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT d.id, d.filename FROM documents d \
             JOIN document_steps s ON s.document_id = d.id AND s.idx = d.current_step \
             WHERE d.siren = $1 AND d.status = $2 AND s.kind IN ($3, $4) \
             AND NOT EXISTS (SELECT 1 FROM document_step_members m \
                 JOIN memberships ms ON ms.user_id = m.user_id AND ms.siren = d.siren \
                 WHERE m.document_id = d.id AND m.idx = d.current_step AND m.acted_at IS NULL) \
             ORDER BY d.id",
        )
        .bind(siren)
        .bind(DocumentStatus::InProgress.as_str())
        .bind(StepKind::Visa.as_str())
        .bind(StepKind::Signature.as_str())
        .fetch_all(&self.read)
        .await?)
    }
}
