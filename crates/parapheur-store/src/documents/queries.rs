//! Lists over documents: search, a user's tasks, documents waiting at a step, counts.

use super::TaskRow;
use crate::{Db, StoreError, decode};
use parapheur_domain::{DocumentStatus, ONDEMAND_CIRCUIT, StepKind};

impl Db {
    /// Ids of a subscriber's documents, optionally filtered by statuses and circuit (a
    /// provisioned circuit's id, the `circuit_id` an on-demand deposit gave, or
    /// `circuit-a-la-volee` for every on-demand deposit); with `viewer` (`(user id, today)`),
    /// only those the user takes part in (CONTRACT §8; an administrator of the subscriber passes
    /// `None`).
    pub async fn search(
        &self,
        siren: &str,
        statuses: Option<&[DocumentStatus]>,
        circuit: Option<&str>,
        viewer: Option<(i64, &str)>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut sql = String::from("SELECT d.id FROM documents d WHERE d.siren = $1");
        let mut n = 1;
        if viewer.is_some() {
            // Documents not finished are a working set that does not grow with the archive:
            // when only those are asked for, the subscriber's documents in those statuses
            // (index `documents_siren_status`) are each tested against the rule. Otherwise the
            // user's own documents are the smaller side, and the set of them is built first.
            let unfinished_only =
                statuses.is_some_and(|st| !st.is_empty() && st.iter().all(|s| s.holds_triplet()));
            if unfinished_only {
                sql.push_str(&format!(" AND {}", crate::visibility::involved("$2", "$3")));
            } else {
                sql.push_str(&format!(
                    " AND d.id IN ({})",
                    crate::visibility::involved_ids("$2", "$3")
                ));
            }
            n = 3;
        }
        if let Some(st) = statuses {
            sql.push_str(&format!(" AND d.status IN ({})", crate::portal::sql_in(st)));
        }
        match circuit {
            // FAST's name for on-demand circuits.
            Some(ONDEMAND_CIRCUIT) => sql.push_str(" AND d.circuit_id IS NULL"),
            // A provisioned circuit, or the `circuit_id` an on-demand deposit gave.
            Some(_) => {
                n += 1;
                sql.push_str(&format!(" AND d.triplet_circuit = ${n}"));
            }
            None => {}
        }
        sql.push_str(" ORDER BY d.id LIMIT 10000");
        let mut q = sqlx::query_as::<_, (i64,)>(&sql).bind(siren);
        if let Some((user, today)) = viewer {
            q = q.bind(user).bind(today);
        }
        if let Some(c) = circuit.filter(|c| *c != ONDEMAND_CIRCUIT) {
            q = q.bind(c);
        }
        Ok(q.fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect())
    }

    /// Documents waiting at a step where the user has still to act, as a member or as the
    /// delegate of an absent member on day `today`.
    pub async fn tasks(&self, user_id: i64, today: &str) -> Result<Vec<TaskRow>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT d.id, d.filename, d.siren, d.circuit_id, s.kind, d.deadline FROM documents d \
             JOIN document_steps s ON s.document_id = d.id AND s.idx = d.current_step \
             WHERE d.status = $3 AND {} ORDER BY d.id",
            crate::visibility::acts_now("$1", "$2", None)
        ))
        .bind(user_id)
        .bind(today)
        .bind(DocumentStatus::InProgress.as_str())
        .fetch_all(&self.read)
        .await?)
    }

    /// Documents waiting at a step of the given kind (automatic steps to run, e.g. at start-up).
    pub async fn documents_at_step(&self, kind: StepKind) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT d.id FROM documents d JOIN document_steps s ON s.document_id = d.id AND s.idx = d.current_step \
             WHERE d.status = $2 AND s.kind = $1 ORDER BY d.id",
        )
        .bind(kind.as_str())
        .bind(DocumentStatus::InProgress.as_str())
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Counts documents per status (for `/metrics`).
    pub async fn count_by_status(&self) -> Result<Vec<(DocumentStatus, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT status, COUNT(*) FROM documents GROUP BY status ORDER BY status",
        )
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(s, n)| {
                DocumentStatus::parse(&s).map(|st| (st, n)).ok_or_else(|| {
                    StoreError::Corrupt(decode::Corrupt {
                        column: "status",
                        value: s,
                    })
                })
            })
            .collect()
    }
}
