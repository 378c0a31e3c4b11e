//! Who may read a document (CONTRACT §8) and who may act on the step it waits at (§9, §10), as
//! SQL conditions over the stored rows. Every lookup and every list of documents uses these, so
//! the rule is written once.
//!
//! `u` and `t` are placeholders (`$1`, `$2`...) bound to the user's id and to today's date as
//! `YYYY-MM-DD` (absences are whole days, in the server's time zone).

use crate::{Db, StoreError};
use parapheur_domain::StepRule;

/// Users `u` acts for on `t`: the users whose absence period covers `t` with `u` as delegate.
pub(crate) fn absent_for(u: &str, t: &str) -> String {
    format!(
        "SELECT a.user_id FROM absences a WHERE a.delegate_id = {u} \
         AND a.from_day <= {t} AND a.until_day >= {t}"
    )
}

/// The condition on `d` (a `documents` row) that user `u` takes part in the document on day
/// `t`: its depositor, one of its agents, a member of one of its steps (past, current or future)
/// or the active delegate of one, or the document's circuit is open to the whole subscriber.
/// Subscriber membership and administrators are checked beside it. For one document (it is
/// evaluated row by row); lists use [`involved_ids`].
pub(crate) fn involved(u: &str, t: &str) -> String {
    format!(
        "(d.depositor_id = {u} \
         OR EXISTS (SELECT 1 FROM circuits c WHERE c.siren = d.siren AND c.id = d.circuit_id \
                    AND c.visibility = 'subscriber') \
         OR EXISTS (SELECT 1 FROM document_agents g WHERE g.document_id = d.id AND g.user_id = {u}) \
         OR EXISTS (SELECT 1 FROM document_step_members m WHERE m.document_id = d.id \
                    AND (m.user_id = {u} OR m.user_id IN ({absent}))))",
        absent = absent_for(u, t)
    )
}

/// The user `u` and those they stand in for on day `t`.
fn self_and_absent(u: &str, t: &str) -> String {
    format!("SELECT CAST({u} AS BIGINT) UNION {}", absent_for(u, t))
}

/// The ids of the documents of the subscribers `u` belongs to whose circuit is open to them.
fn open_circuit_ids(u: &str) -> String {
    format!(
        "SELECT x.id FROM documents x JOIN circuits c ON c.siren = x.siren AND c.id = x.circuit_id \
         WHERE c.visibility = 'subscriber' \
         AND x.siren IN (SELECT siren FROM memberships WHERE user_id = {u})"
    )
}

/// [`involved`] as a set of document ids (`SELECT …`), built from the user's own rows (their
/// step memberships and delegations, deposits, agent roles) and the open circuits, so that a
/// list over it costs what the user takes part in, not what the database holds.
pub(crate) fn involved_ids(u: &str, t: &str) -> String {
    format!(
        "SELECT m.document_id FROM document_step_members m WHERE m.user_id IN ({me}) \
         UNION SELECT x.id FROM documents x WHERE x.depositor_id = {u} \
         UNION SELECT g.document_id FROM document_agents g WHERE g.user_id = {u} \
         UNION {open}",
        me = self_and_absent(u, t),
        open = open_circuit_ids(u),
    )
}

/// The whole rule of CONTRACT §8 on `d`: a current member of the document's subscriber who
/// administers it or takes part in the document. Driven by the user's rows (see
/// [`involved_ids`]); an administrator's lists hold every document of their subscribers.
/// `administers`: whether the user administers any subscriber; when not, the administrators'
/// part (which would select nothing) is left out, so that the planner's estimate of the set
/// stays the size of the user's own rows (PostgreSQL otherwise scans the subscriber).
pub(crate) fn visible(u: &str, t: &str, administers: bool) -> String {
    let admin = if administers {
        format!(
            " UNION SELECT x.id FROM documents x JOIN memberships a ON a.siren = x.siren \
             WHERE a.user_id = {u} AND a.is_admin <> 0"
        )
    } else {
        String::new()
    };
    format!(
        "(d.siren IN (SELECT siren FROM memberships WHERE user_id = {u}) AND d.id IN (\
         {involved}{admin}))",
        involved = involved_ids(u, t)
    )
}

/// [`visible`] tested on `d` row by row: for lists driven by something else than the user's
/// own rows (the subscriber's documents in progress, walked by date: a working set that does
/// not grow with the archive).
pub(crate) fn visible_row(u: &str, t: &str, administers: bool) -> String {
    let admin = if administers {
        format!(
            " OR d.siren IN (SELECT a.siren FROM memberships a WHERE a.user_id = {u} \
             AND a.is_admin <> 0)"
        )
    } else {
        String::new()
    };
    format!(
        "(d.siren IN (SELECT siren FROM memberships WHERE user_id = {u}) AND ({involved}{admin}))",
        involved = involved(u, t)
    )
}

/// The condition on `d` that user `u` may act now on the step `d` waits at (of kind `kind`
/// when given): a member of it who has not acted yet, or the active delegate of one, and a
/// member of the subscriber. Driven by the user's memberships not acted on yet (a partial
/// index holds only those).
pub(crate) fn acts_now(u: &str, t: &str, kind: Option<&str>) -> String {
    let kind = kind
        .map(|k| format!(" AND s.kind = '{k}'"))
        .unwrap_or_default();
    format!(
        "(d.siren IN (SELECT siren FROM memberships WHERE user_id = {u}) AND d.id IN (\
         SELECT m.document_id FROM document_step_members m \
         JOIN documents x ON x.id = m.document_id AND x.current_step = m.idx \
         JOIN document_steps s ON s.document_id = m.document_id AND s.idx = m.idx \
         WHERE m.acted_at IS NULL AND m.user_id IN ({me}){kind}))",
        me = self_and_absent(u, t)
    )
}

/// What the store knows of a document for an access decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentAccess {
    pub siren: String,
    /// Whether the user takes part in it (see [`involved`]); administrators are decided by
    /// the caller, who knows the user's memberships.
    pub involved: bool,
}

/// A member of the step a document waits at, seen from a user who wants to act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepMember {
    pub user_id: i64,
    /// `Prénom Nom`.
    pub name: String,
    pub acted: bool,
    /// Whether the user asking acts for this member today (an active absence).
    pub delegated: bool,
}

impl Db {
    /// Whether user `user_id` takes part in document `id` on day `today` (`None`: no such
    /// document): [`Db::document_access`] without the subscriber, copying nothing when the
    /// decision is cached (the check of every read of a non-administrator).
    pub async fn document_involved(
        &self,
        id: i64,
        user_id: i64,
        today: &str,
    ) -> Result<Option<bool>, StoreError> {
        if let Some(involved) = self.history_cache.involved(id, user_id, today) {
            return Ok(Some(involved));
        }
        Ok(self
            .document_access(id, user_id, today)
            .await?
            .map(|a| a.involved))
    }

    /// The subscriber of document `id` and whether user `user_id` takes part in it on day
    /// `today` (`None`: no such document). Served from the short-lived cache of the document's
    /// reads when the same user read it recently (see `history_cache` for its invalidation).
    pub async fn document_access(
        &self,
        id: i64,
        user_id: i64,
        today: &str,
    ) -> Result<Option<DocumentAccess>, StoreError> {
        if let Some(a) = self.history_cache.access(id, user_id, today) {
            return Ok(Some(a));
        }
        let generation = self.history_cache.generation();
        let sql = format!(
            "SELECT d.siren, CAST(CASE WHEN {} THEN 1 ELSE 0 END AS BIGINT) FROM documents d \
             WHERE d.id = $1",
            involved("$2", "$3")
        );
        let r: Option<(String, i64)> = sqlx::query_as(&sql)
            .bind(id)
            .bind(user_id)
            .bind(today)
            .fetch_optional(&self.read)
            .await?;
        let access = r.map(|(siren, involved)| DocumentAccess {
            siren,
            involved: involved != 0,
        });
        if let Some(a) = &access {
            self.history_cache
                .put_access(id, user_id, today, a.clone(), generation);
        }
        Ok(access)
    }

    /// The rule and the members of step `idx` of document `id`, with whether `user_id` acts for
    /// each of them on `today`.
    pub async fn step_members_for(
        &self,
        id: i64,
        idx: i64,
        user_id: i64,
        today: &str,
    ) -> Result<(StepRule, Vec<StepMember>), StoreError> {
        let rule: Option<(String,)> =
            sqlx::query_as("SELECT rule FROM document_steps WHERE document_id = $1 AND idx = $2")
                .bind(id)
                .bind(idx)
                .fetch_optional(&self.read)
                .await?;
        let rule = match rule {
            None => return Ok((StepRule::Any, Vec::new())),
            Some((r,)) => StepRule::parse(&r).map_err(|_| {
                StoreError::Corrupt(crate::decode::Corrupt {
                    column: "document_steps.rule",
                    value: r,
                })
            })?,
        };
        let rows: Vec<(i64, String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT m.user_id, u.first_name || ' ' || u.last_name, m.acted_at, \
             CAST(CASE WHEN EXISTS (SELECT 1 FROM absences a WHERE a.user_id = m.user_id \
                  AND a.delegate_id = $3 AND a.from_day <= $4 AND a.until_day >= $4) \
                  THEN 1 ELSE 0 END AS BIGINT) \
             FROM document_step_members m JOIN users u ON u.id = m.user_id \
             WHERE m.document_id = $1 AND m.idx = $2 ORDER BY m.user_id",
        )
        .bind(id)
        .bind(idx)
        .bind(user_id)
        .bind(today)
        .fetch_all(&self.read)
        .await?;
        Ok((
            rule,
            rows.into_iter()
                .map(|(user_id, name, acted, delegated)| StepMember {
                    user_id,
                    name,
                    acted: acted.is_some(),
                    delegated: delegated != 0,
                })
                .collect(),
        ))
    }
}
