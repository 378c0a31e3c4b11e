//! The reads of a deposit: first from the deposit cache (`crate::deposit_cache`), then, for
//! what it does not hold, one after the other on one connection of the read pool, taken at the
//! first of them: sqlx tests a connection each time it is given back to its pool (a round trip
//! to PostgreSQL, a trip to a SQLite thread), once per deposit rather than once per read, and
//! not at all when the cache answers both.

use super::{CircuitRow, DepositPerson};
use crate::{Db, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Any, FromRow, Row};

/// The reads of one deposit, holding a connection of the read pool once one was needed: drop
/// it before anything slow (it is one of the pool's few).
pub struct DepositReads<'a> {
    db: &'a Db,
    conn: Option<PoolConnection<Any>>,
}

impl Db {
    /// The reads of one deposit (no connection is taken yet).
    pub fn deposit_reads(&self) -> DepositReads<'_> {
        DepositReads {
            db: self,
            conn: None,
        }
    }
}

impl DepositReads<'_> {
    async fn conn(&mut self) -> Result<&mut PoolConnection<Any>, StoreError> {
        let conn = match self.conn.take() {
            Some(c) => c,
            None => self.db.read.acquire().await?,
        };
        Ok(self.conn.insert(conn))
    }

    /// A circuit to deposit into, with its subscriber's name (empty if it has none), in one
    /// read.
    pub async fn circuit_for_deposit(
        &mut self,
        siren: &str,
        id: &str,
    ) -> Result<Option<(CircuitRow, String)>, StoreError> {
        let (hit, ticket) = self.db.deposit_cache.circuit(siren, id);
        if hit.is_some() {
            return Ok(hit);
        }
        let row = sqlx::query(
            "SELECT c.siren, c.id, c.circuit_type, c.formats, c.metadata_required, c.steps, \
             c.depositors, c.visibility, c.deadline_days, \
             COALESCE((SELECT s.name FROM subscribers s WHERE s.siren = c.siren), '') AS org \
             FROM circuits c WHERE c.siren = $1 AND c.id = $2",
        )
        .bind(siren)
        .bind(id)
        .fetch_optional(&mut **self.conn().await?)
        .await?;
        let Some(r) = row else {
            return Ok(None);
        };
        let found = (CircuitRow::from_row(&r)?, r.try_get("org")?);
        self.db
            .deposit_cache
            .keep_circuit(ticket, siren, id, &found);
        Ok(Some(found))
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
        let (hit, ticket) = self.db.deposit_cache.people(siren, today, emails);
        if let Some(people) = hit {
            return Ok(people);
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
        let people: Vec<DepositPerson> = q
            .fetch_all(&mut **self.conn().await?)
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
            .collect();
        self.db
            .deposit_cache
            .keep_people(ticket, siren, today, emails, &people);
        Ok(people)
    }
}
