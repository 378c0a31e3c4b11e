//! Webhook endpoints and their deliveries (CONTRACT §11). Every history entry of a document of a
//! subscriber with endpoints queues one delivery per endpoint, and one job per delivery, in the
//! transaction that writes the entry: a committed entry always has its deliveries, a rolled-back
//! one none. The server's job builds the body from the history row, signs it and sends it, in
//! order per endpoint and document.

use crate::{Db, StoreError, now_ms};
use sqlx::{Any, FromRow, Transaction};

/// The job kind of a delivery (the server's `JobKind::Webhook`).
pub const JOB_KIND: &str = "webhook";
/// The only event type today.
pub const STATE_CHANGED: &str = "document.state_changed";

/// Before writing history entries of document `id`: the last history id, and whether its
/// subscriber has endpoints (`None`: nothing to queue).
pub(crate) async fn before_entries(
    tx: &mut Transaction<'_, Any>,
    id: i64,
) -> Result<Option<i64>, StoreError> {
    let (last, endpoints): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE((SELECT MAX(h.id) FROM history h WHERE h.document_id = $1), 0), \
         (SELECT COUNT(*) FROM webhooks w JOIN documents d ON d.siren = w.siren WHERE d.id = $1)",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((endpoints > 0).then_some(last))
}

/// Whether subscribers have webhook endpoints, as read in one transaction (a deposit's, or a
/// group commit's: each subscriber is looked up once).
#[derive(Debug, Default)]
pub(crate) struct SirenEndpoints(std::collections::HashMap<String, bool>);

impl SirenEndpoints {
    pub(crate) async fn has(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        siren: &str,
    ) -> Result<bool, StoreError> {
        if let Some(known) = self.0.get(siren) {
            return Ok(*known);
        }
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhooks WHERE siren = $1")
            .bind(siren)
            .fetch_one(&mut **tx)
            .await?;
        self.0.insert(siren.to_owned(), n > 0);
        Ok(n > 0)
    }
}

/// After writing them: one delivery per new entry and endpoint listening to the event, and a
/// job for each.
pub(crate) async fn queue_deliveries(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    after_history_id: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO webhook_deliveries (msg_id, webhook_id, document_id, history_id, event, \
         status, attempts, created_at) \
         SELECT 'msg_' || h.id || '_' || w.id, w.id, h.document_id, h.id, $3, 'pending', 0, $4 \
         FROM history h JOIN documents d ON d.id = h.document_id \
         JOIN webhooks w ON w.siren = d.siren \
         WHERE h.document_id = $1 AND h.id > $2 \
         AND (w.events = '[]' OR w.events LIKE '%\"' || $3 || '\"%') \
         ORDER BY h.id, w.id",
    )
    .bind(id)
    .bind(after_history_id)
    .bind(STATE_CHANGED)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO jobs (kind, payload, status, run_at, created_at) \
         SELECT $3, '{\"delivery_id\":' || id || '}', 'pending', $4, $4 \
         FROM webhook_deliveries WHERE document_id = $1 AND history_id > $2 ORDER BY id",
    )
    .bind(id)
    .bind(after_history_id)
    .bind(JOB_KIND)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An endpoint as provisioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub siren: String,
    pub url: String,
    /// `whsec_<base64>`.
    pub secret: String,
    /// Event types (empty: every event).
    pub events: Vec<String>,
}

/// A delivery with what sending it needs.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub msg_id: String,
    pub webhook_id: i64,
    pub url: String,
    pub secret: String,
    pub document_id: Option<i64>,
    pub history_id: Option<i64>,
    pub event: String,
    pub body: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

const DELIVERY_COLS: &str = "x.id, x.msg_id, x.webhook_id, w.url, w.secret, x.document_id, \
    x.history_id, x.event, x.body, x.status, x.attempts, x.last_error, x.created_at";

/// What the body of a `document.state_changed` event tells.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct EventSource {
    pub document_id: i64,
    pub siren: String,
    pub circuit_id: Option<String>,
    pub at_ms: i64,
    pub user_fullname: String,
    pub state_name: String,
}

impl Db {
    /// Creates or updates the endpoint `(siren, url)`.
    pub async fn upsert_webhook(&self, w: &NewWebhook) -> Result<(), StoreError> {
        let events =
            serde_json::to_string(&w.events).map_err(|e| StoreError::Encoding(e.to_string()))?;
        sqlx::query(
            "INSERT INTO webhooks (siren, url, secret, events) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (siren, url) DO UPDATE SET secret = excluded.secret, events = excluded.events",
        )
        .bind(&w.siren)
        .bind(&w.url)
        .bind(&w.secret)
        .bind(events)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries x JOIN webhooks w ON w.id = x.webhook_id \
             WHERE x.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Whether an earlier delivery to the same endpoint about the same document is still
    /// pending (the order per document is kept: this one waits).
    pub async fn earlier_pending(&self, d: &DeliveryRow) -> Result<bool, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = $1 AND document_id = $2 \
             AND id < $3 AND status = 'pending'",
        )
        .bind(d.webhook_id)
        .bind(d.document_id)
        .bind(d.id)
        .fetch_one(&self.write)
        .await?;
        Ok(n > 0)
    }

    /// The history entry and document a delivery tells.
    pub async fn event_source(&self, history_id: i64) -> Result<Option<EventSource>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT d.id AS document_id, d.siren, d.circuit_id, h.at_ms, h.user_fullname, h.state_name \
             FROM history h JOIN documents d ON d.id = h.document_id WHERE h.id = $1",
        )
        .bind(history_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Records the body built for a delivery (kept, so that every attempt sends the same bytes);
    /// returns the stored body (another instance may have stored its own first).
    pub async fn set_delivery_body(&self, id: i64, body: &str) -> Result<String, StoreError> {
        sqlx::query("UPDATE webhook_deliveries SET body = $1 WHERE id = $2 AND body IS NULL")
            .bind(body)
            .bind(id)
            .execute(&self.write)
            .await?;
        let (b,): (Option<String>,) =
            sqlx::query_as("SELECT body FROM webhook_deliveries WHERE id = $1")
                .bind(id)
                .fetch_one(&self.write)
                .await?;
        Ok(b.unwrap_or_else(|| body.to_owned()))
    }

    /// Records an attempt: delivered, or failed (with `failed` once the attempts are spent).
    pub async fn record_delivery_attempt(
        &self,
        id: i64,
        outcome: Result<(), &str>,
        max_attempts: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, \
                     last_error = NULL, finished_at = $1 WHERE id = $2",
                )
                .bind(now)
                .bind(id)
                .execute(&self.write)
                .await?;
            }
            Err(e) => {
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = $1, \
                     status = CASE WHEN attempts + 1 >= $2 THEN 'failed' ELSE status END, \
                     finished_at = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE finished_at END \
                     WHERE id = $4",
                )
                .bind(e)
                .bind(max_attempts)
                .bind(now)
                .bind(id)
                .execute(&self.write)
                .await?;
            }
        }
        Ok(())
    }

    /// The latest deliveries of a subscriber's endpoints, newest first.
    pub async fn recent_deliveries(
        &self,
        siren: &str,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries x JOIN webhooks w ON w.id = x.webhook_id \
             WHERE w.siren = $1 ORDER BY x.id DESC LIMIT {}",
            limit.clamp(1, 500)
        ))
        .bind(siren)
        .fetch_all(&self.read)
        .await?)
    }

    /// Deletes deliveries delivered before `before_ms` (failed ones after four times as long) and
    /// digest claims of days before `digest_day` (`YYYY-MM-DD`).
    pub async fn prune_webhooks_and_digests(
        &self,
        before_ms: i64,
        digest_day: &str,
    ) -> Result<u64, StoreError> {
        let failed_before = now_ms() - 4 * (now_ms() - before_ms);
        let r = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE (status = 'delivered' AND finished_at < $1) \
             OR (status = 'failed' AND finished_at < $2)",
        )
        .bind(before_ms)
        .bind(failed_before)
        .execute(&self.write)
        .await?;
        sqlx::query("DELETE FROM digests_sent WHERE day < $1")
            .bind(digest_day)
            .execute(&self.write)
            .await?;
        Ok(r.rows_affected())
    }

    /// Sends a failed delivery of `siren` again (attempts start over); whether there was one.
    pub async fn replay_delivery(&self, siren: &str, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.write.begin().await?;
        let r = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, finished_at = NULL \
             WHERE id = $1 AND status = 'failed' \
             AND webhook_id IN (SELECT id FROM webhooks WHERE siren = $2)",
        )
        .bind(id)
        .bind(siren)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO jobs (kind, payload, status, run_at, created_at) \
             VALUES ($1, $2, 'pending', $3, $3)",
        )
        .bind(JOB_KIND)
        .bind(format!("{{\"delivery_id\":{id}}}"))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
