//! Helios: PES file names, transmissions and return flows (acknowledgements, PES Retour, Chorus).

pub use crate::effects::{NewReturnFlow, TransmissionRecord};
use crate::{Db, StoreError, now_ms};
use sqlx::{Any, FromRow, Transaction};

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct TransmissionRow {
    pub document_id: i64,
    pub transmitter: String,
    pub remote_id: String,
    pub state: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ReturnFlowRow {
    pub id: i64,
    pub siren: String,
    pub kind: String,
    pub document_id: Option<i64>,
    pub filename: String,
    pub blob_key: String,
    pub size: i64,
    pub created_at: i64,
    pub fetched_at: Option<i64>,
}

const RETURN_COLS: &str =
    "id, siren, kind, document_id, filename, blob_key, size, created_at, fetched_at";

pub(crate) async fn write_pes_name(
    tx: &mut Transaction<'_, Any>,
    siren: &str,
    nomfic: &str,
    document_id: i64,
) -> Result<(), StoreError> {
    match sqlx::query("INSERT INTO pes_files (siren, nomfic, document_id) VALUES ($1, $2, $3)")
        .bind(siren)
        .bind(nomfic)
        .bind(document_id)
        .execute(&mut **tx)
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if StoreError::is_unique_violation(&e) => {
            Err(StoreError::DuplicatePes(nomfic.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}

impl Db {
    pub async fn transmission(
        &self,
        document_id: i64,
    ) -> Result<Option<TransmissionRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT document_id, transmitter, remote_id, state, updated_at FROM transmissions \
             WHERE document_id = $1",
        )
        .bind(document_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Records a return flow on its own (an inbound file that moves no document). A PES Retour
    /// already filed under the same subscriber and name gives `StoreError::Duplicate`.
    pub async fn insert_return_flow(&self, r: &NewReturnFlow) -> Result<i64, StoreError> {
        let mut tx = self.write.begin().await?;
        let id = match crate::effects::write_return_flow(&mut tx, r).await {
            Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::Duplicate);
            }
            other => other?,
        };
        tx.commit().await?;
        Ok(id)
    }

    /// Whether a return flow of this subscriber, kind and file name is already recorded.
    pub async fn return_flow_exists(
        &self,
        siren: &str,
        kind: &str,
        filename: &str,
    ) -> Result<bool, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM return_flows WHERE siren = $1 AND kind = $2 AND filename = $3",
        )
        .bind(siren)
        .bind(kind)
        .bind(filename)
        .fetch_one(&self.read)
        .await?;
        Ok(n > 0)
    }

    /// Ids not fetched yet: document ids for `ack`, return flow ids otherwise.
    /// Return flows of `kind` not fetched yet: for acknowledgements the ids of their documents,
    /// with `viewer` (`(user id, today)`) only those the user takes part in (CONTRACT §8; an
    /// administrator passes `None`); for PES Retour and Chorus files (the subscriber's, not a
    /// document's) the flows' own ids.
    pub async fn remaining_returns(
        &self,
        siren: &str,
        kind: &str,
        viewer: Option<(i64, &str)>,
    ) -> Result<Vec<i64>, StoreError> {
        let sql = if kind == "ack" {
            let visible = if viewer.is_some() {
                format!(
                    " AND EXISTS (SELECT 1 FROM documents d WHERE d.id = r.document_id AND {})",
                    crate::visibility::involved("$3", "$4")
                )
            } else {
                String::new()
            };
            format!(
                "SELECT DISTINCT r.document_id FROM return_flows r WHERE r.siren = $1 \
                 AND r.kind = $2 AND r.fetched_at IS NULL AND r.document_id IS NOT NULL{visible} \
                 ORDER BY r.document_id"
            )
        } else {
            "SELECT id FROM return_flows WHERE siren = $1 AND kind = $2 AND fetched_at IS NULL ORDER BY id".to_owned()
        };
        let mut q = sqlx::query_as::<_, (i64,)>(&sql).bind(siren).bind(kind);
        if let (Some((user, today)), true) = (viewer, kind == "ack") {
            q = q.bind(user).bind(today);
        }
        let rows = q.fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    pub async fn return_flow(&self, id: i64) -> Result<Option<ReturnFlowRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RETURN_COLS} FROM return_flows WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The latest acknowledgement of a document.
    pub async fn acknowledgement(
        &self,
        document_id: i64,
    ) -> Result<Option<ReturnFlowRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RETURN_COLS} FROM return_flows WHERE document_id = $1 AND kind = 'ack' \
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(document_id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Marks return flows fetched (all acknowledgements of a document, or one flow).
    pub async fn mark_fetched(&self, ids: &[i64]) -> Result<(), StoreError> {
        let now = now_ms();
        for id in ids {
            sqlx::query(
                "UPDATE return_flows SET fetched_at = $1 WHERE id = $2 AND fetched_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&self.write)
            .await?;
        }
        Ok(())
    }

    /// Whether a subscriber already deposited a PES with this NomFic.
    pub async fn pes_name_taken(&self, siren: &str, nomfic: &str) -> Result<bool, StoreError> {
        let r: Option<(i64,)> =
            sqlx::query_as("SELECT document_id FROM pes_files WHERE siren = $1 AND nomfic = $2")
                .bind(siren)
                .bind(nomfic)
                .fetch_optional(&self.read)
                .await?;
        Ok(r.is_some())
    }
}
