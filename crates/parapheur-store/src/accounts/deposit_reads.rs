//! The reads of a deposit, made one after the other on one connection of the read pool: sqlx
//! tests a connection each time it is given back to its pool (a round trip to PostgreSQL, a
//! trip to a SQLite thread), once per deposit rather than once per read.

use super::{CircuitRow, DepositPerson};
use crate::{Db, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Any, FromRow, Row};

/// A connection of the read pool, held for the reads of one deposit: drop it before anything
/// slow (it is one of the pool's few).
pub struct DepositReads {
    conn: PoolConnection<Any>,
}

impl Db {
    /// Takes a connection of the read pool for the reads of one deposit.
    pub async fn deposit_reads(&self) -> Result<DepositReads, StoreError> {
        Ok(DepositReads {
            conn: self.read.acquire().await?,
        })
    }
}

impl DepositReads {
    /// A circuit to deposit into, with its subscriber's name (empty if it has none), in one
    /// read.
    pub async fn circuit_for_deposit(
        &mut self,
        siren: &str,
        id: &str,
    ) -> Result<Option<(CircuitRow, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT c.siren, c.id, c.circuit_type, c.formats, c.metadata_required, c.steps, \
             c.depositors, c.visibility, c.deadline_days, \
             COALESCE((SELECT s.name FROM subscribers s WHERE s.siren = c.siren), '') AS org \
             FROM circuits c WHERE c.siren = $1 AND c.id = $2",
        )
        .bind(siren)
        .bind(id)
        .fetch_optional(&mut *self.conn)
        .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((CircuitRow::from_row(&r)?, r.try_get("org")?))),
        }
    }

    /// The users among `emails` (lower-case), for a deposit into `siren` on `today`
    /// (`YYYY-MM-DD`): membership, digest choice and delegate, in one read. Addresses of no
    /// user are left out.
    pub async fn deposit_people(
        &mut self,
        siren: &str,
        emails: &[String],
        today: &str,
    ) -> Result<Vec<DepositPerson>, StoreError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..emails.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT u.email, m.user_id, u.daily_digest, d.email AS delegate, \
             d.daily_digest AS delegate_digest \
             FROM users u \
             LEFT JOIN memberships m ON m.user_id = u.id AND m.siren = $1 \
             LEFT JOIN absences a ON a.user_id = u.id AND a.from_day <= $2 AND a.until_day >= $2 \
             LEFT JOIN users d ON d.id = a.delegate_id \
             WHERE u.email IN ({}) ORDER BY u.email",
            list.join(", ")
        );
        type Row = (String, Option<i64>, i64, Option<String>, Option<i64>);
        let mut q = sqlx::query_as::<_, Row>(&sql).bind(siren).bind(today);
        for e in emails {
            q = q.bind(e);
        }
        Ok(q.fetch_all(&mut *self.conn)
            .await?
            .into_iter()
            .map(
                |(email, member_id, digest, delegate, delegate_digest)| DepositPerson {
                    email,
                    member_id,
                    digest: digest != 0,
                    delegate: delegate.map(|d| (d, delegate_digest.unwrap_or(0) != 0)),
                },
            )
            .collect())
    }
}
