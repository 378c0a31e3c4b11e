//! What the portal needs: sessions, the documents of a user's bannettes, batches, and the
//! administrators' statistics.

use crate::documents::DOC_COLS_PUB as DOC_COLS;
use crate::documents::DocumentRow;
use crate::{Db, StoreError, now_ms};
use parapheur_domain::{DocumentStatus, HistoryState, StepKind};

/// The bannettes of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bannette {
    /// Waiting at a visa step the user is a member of.
    ToApprove,
    /// Waiting at a signature step the user is a member of.
    ToSign,
    /// Deposited by the user.
    MyDeposits,
    /// In progress, in a subscriber of the user.
    InProgress,
    /// Classified.
    Done,
    /// Visa disapproved, refused or signature rejected.
    Refused,
}

impl Bannette {
    pub const ALL: [Bannette; 6] = [
        Self::ToApprove,
        Self::ToSign,
        Self::MyDeposits,
        Self::InProgress,
        Self::Done,
        Self::Refused,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            Self::ToApprove => "a-viser",
            Self::ToSign => "a-signer",
            Self::MyDeposits => "mes-depots",
            Self::InProgress => "en-cours",
            Self::Done => "termines",
            Self::Refused => "refuses",
        }
    }
    pub fn from_slug(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.slug() == s)
    }
    /// The statuses of the bannettes listed under the visibility rule (`None`: the task
    /// bannettes and the user's deposits, which have their own condition).
    fn visible_statuses(self) -> Option<&'static [DocumentStatus]> {
        use DocumentStatus as S;
        match self {
            Self::ToApprove | Self::ToSign | Self::MyDeposits => None,
            Self::InProgress => Some(&[S::InProgress, S::AwaitingMetadata]),
            Self::Done => Some(&[S::Classified]),
            Self::Refused => Some(&[S::VisaDisapproved, S::Refused, S::SignatureRejected]),
        }
    }

    /// The SQL condition (on `d`, with `$1` the user id and `$2` today's date) selecting the
    /// bannette. Every bannette requires a current membership of the document's subscriber (a
    /// user who left it no longer sees its documents, even those they deposited or were a step
    /// member of) and the visibility rule of CONTRACT §8; the two task bannettes hold what the
    /// user (or a user they stand in for) has still to act on. `administers`: see
    /// [`Viewer::administers`].
    fn condition(self, administers: bool) -> String {
        use DocumentStatus as S;
        let visible = crate::visibility::visible("$1", "$2", administers);
        let waiting_at = |kind: StepKind| {
            format!(
                "d.status = {} AND {}",
                sql_in(&[S::InProgress]),
                crate::visibility::acts_now("$1", "$2", Some(kind.as_str()))
            )
        };
        match self {
            Self::ToApprove => waiting_at(StepKind::Visa),
            Self::ToSign => waiting_at(StepKind::Signature),
            Self::MyDeposits => {
                "d.depositor_id = $1 AND d.siren IN (SELECT siren FROM memberships WHERE user_id = $1)"
                    .to_owned()
            }
            // Documents in progress are a working set that does not grow with the archive:
            // the subscriber's, walked by date (index `documents_siren_status`), each tested.
            Self::InProgress => format!(
                "d.status IN ({}) AND {}",
                sql_in(self.visible_statuses().unwrap_or_default()),
                crate::visibility::visible_row("$1", "$2", administers)
            ),
            Self::Done | Self::Refused => format!(
                "d.status IN ({}) AND {visible}",
                sql_in(self.visible_statuses().unwrap_or_default())
            ),
        }
    }
}

/// The ids (`SELECT …`) of a page of the documents in `statuses` that user `$1` sees on day
/// `$2` (the rule of [`crate::visibility::visible`]), in deposit date order, `filters` (`AND …`
/// on `d`) applied. Each part of the rule is walked in date order on its own index (a member's
/// step memberships carry the document's deposit date and status, deposits and a subscriber's
/// documents by status are indexed by date) and stops at `offset + limit` documents; the page
/// is cut from their union. The cost follows the page, not the number of documents the user
/// ever took part in.
fn by_date(
    statuses: &[DocumentStatus],
    filters: &str,
    administers: bool,
    descending: bool,
    offset: i64,
    limit: i64,
) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    let n = offset + limit;
    let st = sql_in(statuses);
    let keep = format!(
        "d.status IN ({st}) AND d.siren IN (SELECT siren FROM memberships WHERE user_id = $1){filters}"
    );
    // The member's rows in those statuses (their copy of the document's status), walked in
    // date order; each document's subscriber (and the filters) tested on its own row. (A member
    // of two steps of a document has two rows: DISTINCT keeps the page whole.) `OFFSET 0`
    // keeps PostgreSQL from turning that test into a join, for which it would read every
    // document of the subscriber in those statuses.
    let members = |who: &str| {
        format!(
            "SELECT DISTINCT m.doc_created_at AS at, m.document_id AS id \
             FROM document_step_members m WHERE m.user_id {who} AND m.doc_status IN ({st}) \
             AND EXISTS (SELECT 1 FROM documents d WHERE d.id = m.document_id AND {keep} \
             LIMIT 1 OFFSET 0) ORDER BY at {dir}, id {dir} LIMIT {n}"
        )
    };
    let documents = |from: &str, cond: &str| {
        format!(
            "SELECT d.created_at AS at, d.id AS id FROM {from} WHERE {cond} AND {keep} \
             ORDER BY at {dir}, id {dir} LIMIT {n}"
        )
    };
    let mut arms = vec![
        members("= $1"),
        members(&format!(
            "IN ({})",
            crate::visibility::absent_for("$1", "$2")
        )),
        documents("documents d", "d.depositor_id = $1"),
        documents(
            "document_agents g JOIN documents d ON d.id = g.document_id",
            "g.user_id = $1",
        ),
        documents(
            "documents d JOIN circuits c ON c.siren = d.siren AND c.id = d.circuit_id",
            "c.visibility = 'subscriber'",
        ),
    ];
    if administers {
        arms.push(documents(
            "documents d JOIN memberships a ON a.siren = d.siren",
            "a.user_id = $1 AND a.is_admin <> 0",
        ));
    }
    let union = arms
        .iter()
        .enumerate()
        .map(|(i, a)| format!("SELECT at, id FROM ({a}) AS a{i}"))
        .collect::<Vec<_>>()
        .join(" UNION ");
    format!(
        "SELECT id FROM ({union} ORDER BY 1 {dir}, 2 {dir} LIMIT {limit} OFFSET {offset}) AS page"
    )
}

/// Stored statuses as an SQL list of literals (the domain's names, which contain no quote),
/// written into a statement's text rather than bound. Bound, PostgreSQL's generic plan of a
/// prepared statement cannot tell a rare status (the documents in progress) from a common one
/// (the archive's classified ones): at a million documents its estimate is so far above the
/// custom plans' that every execution is planned again (the FAST search: 0.32 ms a run instead
/// of 0.14 ms; BENCHMARKS.md, session 21).
pub(crate) fn sql_in(statuses: &[DocumentStatus]) -> String {
    statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// History states as SQL string literals (quotes doubled), for an `IN (…)` list: written into
/// the statement rather than bound, so that PostgreSQL and SQLite can see that a query's
/// states are those of a partial index (neither uses one for a bound value).
pub(crate) fn history_sql_in(states: &[HistoryState]) -> String {
    states
        .iter()
        .map(|s| format!("'{}'", s.as_str().replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The states of a signature (by a person, or by one-time password), in the order of the
/// partial index `history_signatures` (migration 0027).
const SIGNATURE_STATES: [HistoryState; 2] = [HistoryState::Signed, HistoryState::OtpSigned];
/// The states of a refusal, in the order of the partial index `history_refusals`.
const REFUSAL_STATES: [HistoryState; 4] = [
    HistoryState::VisaDisapproved,
    HistoryState::Refused,
    HistoryState::RefusedAtOtp,
    HistoryState::SignatureRejected,
];

/// The signature delays' statement (see [`Db::stats_signature_delays`]): the subscriber's
/// documents of the window (by deposit date), each joined to its signatures through the
/// partial index. It read every signature of the base before (issue 22: 1.3 s at a million
/// documents on PostgreSQL, whoever's they were).
fn signature_delays_sql(months: &[i64]) -> String {
    format!(
        "SELECT {} AS month, MIN(h.at_ms) - d.created_at AS delay FROM documents d \
         JOIN history h ON h.document_id = d.id AND h.state_name IN ({}) \
         WHERE d.siren = $1 AND d.created_at >= $2 GROUP BY d.id, d.created_at",
        month_bucket("d.created_at", months),
        history_sql_in(&SIGNATURE_STATES)
    )
}

/// The refusals' statement (see [`Db::stats_refusals`]).
fn refusals_sql(months: &[i64]) -> String {
    format!(
        "SELECT {} AS month, COUNT(*) AS n FROM history h \
         JOIN documents d ON d.id = h.document_id \
         WHERE d.siren = $1 AND h.at_ms >= $2 AND h.state_name IN ({}) \
         GROUP BY 1 ORDER BY 1",
        month_bucket("h.at_ms", months),
        history_sql_in(&REFUSAL_STATES)
    )
}

/// Whose lists: the user, the day (absences, hence delegations, are whole days) and whether
/// they administer any subscriber (their lists then hold every document of it).
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub user_id: i64,
    pub today: &'a str,
    /// Whether the user administers any subscriber: when not, the lists leave out the
    /// administrators' part of the visibility rule, which would select nothing (and which
    /// PostgreSQL's estimates turned into a scan of the subscriber's documents).
    pub administers: bool,
}

/// Filters and order of a bannette list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub circuit: Option<String>,
    pub label: Option<String>,
    /// A part of the file name, the label or the circuit (case-insensitive).
    pub name: Option<String>,
    pub sort: SortKey,
    /// Descending order (the default of the deposit date: newest first).
    pub descending: bool,
}

/// The column a bannette list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    /// The deposit date.
    #[default]
    Deposit,
    /// The depositor's last then first name.
    Depositor,
    /// The circuit id (on-demand circuits, which have none, first).
    Circuit,
    /// The deadline (documents without one last, whatever the direction).
    Deadline,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [
        Self::Deposit,
        Self::Depositor,
        Self::Circuit,
        Self::Deadline,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            Self::Deposit => "date",
            Self::Depositor => "depositaire",
            Self::Circuit => "circuit",
            Self::Deadline => "echeance",
        }
    }
    pub fn from_slug(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == s)
    }
    /// The `ORDER BY` list (on `d` and the depositor `dep`), ties broken by the newest id.
    fn order_by(self, descending: bool) -> String {
        let dir = if descending { "DESC" } else { "ASC" };
        match self {
            Self::Deposit => format!("d.created_at {dir}, d.id {dir}"),
            Self::Depositor => {
                format!("dep.last_name {dir}, dep.first_name {dir}, d.id DESC")
            }
            Self::Circuit => format!("COALESCE(d.circuit_id, '') {dir}, d.id DESC"),
            Self::Deadline => format!(
                "CASE WHEN d.deadline IS NULL THEN 1 ELSE 0 END, d.deadline {dir}, d.id DESC"
            ),
        }
    }
}

/// Which part of a bannette list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    /// At most 200.
    pub limit: i64,
    pub total: Total,
}

/// How a list's total is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// Counted with the page.
    Count,
    /// Known already (e.g. the bannette's count, for a list without a filter; or not needed):
    /// returned as is.
    Known(i64),
}

/// A document of a bannette list with its depositor's name.
#[derive(Debug, Clone)]
pub struct BannetteEntry {
    pub doc: DocumentRow,
    /// "First Last" (empty when the account is gone).
    pub depositor: String,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for BannetteEntry {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let first: Option<String> = row.try_get("dep_first_name")?;
        let last: Option<String> = row.try_get("dep_last_name")?;
        let depositor = [first, last]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Self {
            doc: DocumentRow::from_row(row)?,
            depositor,
        })
    }
}

/// A row of a bannette page: the entry and the length of the whole list.
struct Paged {
    entry: BannetteEntry,
    total: i64,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Paged {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Self {
            entry: BannetteEntry::from_row(row)?,
            total: row.try_get("list_total")?,
        })
    }
}

impl Db {
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        ttl_ms: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?;
        // The session holds the credentials version it was opened with: a password, certificate
        // or authentication-type change ends it.
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, credentials_version) \
             SELECT $1, id, $3, $4, credentials_version FROM users WHERE id = $2",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(now + ttl_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The user of a live session opened with the user's current credentials.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<i64>, StoreError> {
        let r: Option<(i64,)> = sqlx::query_as(
            "SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 \
               AND s.credentials_version = u.credentials_version",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.read)
        .await?;
        Ok(r.map(|r| r.0))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// How many documents each bannette holds for a user on day `today` (`YYYY-MM-DD`), in
    /// [`Bannette::ALL`]'s order. One statement: the three lists under the visibility rule are
    /// counted in one pass over the user's documents. Kept a moment per user and day while no
    /// local write moves the reads generation (see `history_cache`).
    pub async fn bannette_counts(
        &self,
        v: &Viewer<'_>,
    ) -> Result<Vec<(Bannette, i64)>, StoreError> {
        let (user_id, today) = (v.user_id, v.today);
        let generation = self.history_cache.generation();
        self.history_cache
            .counts_or(user_id, today, generation, self.count_bannettes(v))
            .await
    }

    /// The statement behind [`Self::bannette_counts`].
    async fn count_bannettes(&self, v: &Viewer<'_>) -> Result<Vec<(Bannette, i64)>, StoreError> {
        let (user_id, today) = (v.user_id, v.today);
        let columns: Vec<String> = Bannette::ALL
            .into_iter()
            .map(|b| match b.visible_statuses() {
                Some(st) => format!(
                    "COALESCE(SUM(CASE WHEN d.status IN ({}) THEN 1 ELSE 0 END), 0)",
                    sql_in(st)
                ),
                None => format!(
                    "(SELECT COUNT(*) FROM documents d WHERE {})",
                    b.condition(v.administers)
                ),
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM documents d WHERE {}",
            columns
                .iter()
                .map(|c| format!("CAST({c} AS BIGINT)"))
                .collect::<Vec<_>>()
                .join(", "),
            crate::visibility::visible("$1", "$2", v.administers)
        );
        let row: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(&sql)
            .bind(user_id)
            .bind(today)
            .fetch_one(&self.read)
            .await?;
        let n = [row.0, row.1, row.2, row.3, row.4, row.5];
        Ok(Bannette::ALL.into_iter().zip(n).collect())
    }

    /// A page of a bannette in the filter's order, with the total (see [`Total`]).
    pub async fn bannette(
        &self,
        v: &Viewer<'_>,
        b: Bannette,
        f: &ListFilter,
        page: Page,
    ) -> Result<(Vec<BannetteEntry>, i64), StoreError> {
        let Page {
            offset,
            limit,
            total: wanted,
        } = page;
        let (user_id, today) = (v.user_id, v.today);
        let mut filters = String::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(c) = &f.circuit {
            binds.push(c.clone());
            filters.push_str(&format!(" AND d.circuit_id = ${}", binds.len() + 2));
        }
        if let Some(l) = &f.label {
            binds.push(l.clone());
            filters.push_str(&format!(" AND d.label = ${}", binds.len() + 2));
        }
        if let Some(n) = &f.name {
            binds.push(format!("%{}%", n.to_lowercase().replace(['%', '_'], "")));
            let n = binds.len() + 2;
            filters.push_str(&format!(
                " AND (LOWER(d.filename) LIKE ${n} OR LOWER(d.label) LIKE ${n} \
                 OR LOWER(COALESCE(d.circuit_id, '')) LIKE ${n})"
            ));
        }
        let cond = format!("{}{filters}", b.condition(v.administers));
        let cols = DOC_COLS
            .split(',')
            .map(|c| format!("d.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        if let (Total::Known(total), SortKey::Deposit, Bannette::Done | Bannette::Refused) =
            (wanted, f.sort, b)
        {
            let statuses = b.visible_statuses().unwrap_or_default();
            // A page by deposit date whose total is known: walked by date (see `by_date`).
            let sql = format!(
                "SELECT {cols}, dep.first_name AS dep_first_name, dep.last_name AS dep_last_name, \
                 CAST(0 AS BIGINT) AS list_total \
                 FROM documents d LEFT JOIN users dep ON dep.id = d.depositor_id \
                 WHERE d.id IN ({ids}) ORDER BY {order}",
                ids = by_date(
                    statuses,
                    &filters,
                    v.administers,
                    f.descending,
                    offset.max(0),
                    limit.clamp(1, 200)
                ),
                order = f.sort.order_by(f.descending),
            );
            let mut q = sqlx::query_as::<_, Paged>(&sql).bind(user_id).bind(today);
            for v in &binds {
                q = q.bind(v);
            }
            let rows = q.fetch_all(&self.read).await?;
            return Ok((rows.into_iter().map(|r| r.entry).collect(), total));
        }
        // The total, when asked for, comes with the page (a window over the whole list, before
        // LIMIT: the list's condition is evaluated once). A window makes every row of the list
        // be built whole; without it only the page's rows are (a third of the time of a
        // 300-document list).
        let window = match wanted {
            Total::Count => "COUNT(*) OVER ()",
            Total::Known(_) => "0",
        };
        let sql = format!(
            "SELECT {cols}, dep.first_name AS dep_first_name, dep.last_name AS dep_last_name, \
             CAST({window} AS BIGINT) AS list_total \
             FROM documents d LEFT JOIN users dep ON dep.id = d.depositor_id \
             WHERE {cond} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            order = f.sort.order_by(f.descending),
            limit = limit.clamp(1, 200),
            offset = offset.max(0)
        );
        let mut q = sqlx::query_as::<_, Paged>(&sql).bind(user_id).bind(today);
        for v in &binds {
            q = q.bind(v);
        }
        let rows = q.fetch_all(&self.read).await?;
        let total = match (wanted, rows.first()) {
            (Total::Known(n), _) => n,
            (Total::Count, Some(r)) => r.total,
            (Total::Count, None) if offset <= 0 => 0,
            // A page past the end: the total still has to be told.
            (Total::Count, None) => {
                let count_sql = format!("SELECT COUNT(*) FROM documents d WHERE {cond}");
                let mut q = sqlx::query_as::<_, (i64,)>(&count_sql)
                    .bind(user_id)
                    .bind(today);
                for v in &binds {
                    q = q.bind(v);
                }
                q.fetch_one(&self.read).await?.0
            }
        };
        Ok((rows.into_iter().map(|r| r.entry).collect(), total))
    }
}

/// One document of a portal batch signature.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq, Eq)]
pub struct BatchItemRow {
    pub position: i64,
    pub user_id: i64,
    pub document_id: i64,
    pub filename: String,
    /// `None` until the document's turn has come.
    pub outcome: Option<String>,
    pub signed: i64,
}

impl Db {
    /// Records a batch of `(document id, file name)` for `user_id` with the job that signs it,
    /// in one transaction.
    pub async fn create_batch(
        &self,
        batch_id: &str,
        user_id: i64,
        items: &[(i64, String)],
        job: crate::effects::NewJob,
    ) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        for (position, (document_id, filename)) in items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO batch_items (batch_id, position, user_id, document_id, filename, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(batch_id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(user_id)
            .bind(document_id)
            .bind(filename)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let effects = crate::effects::Effects {
            jobs: vec![job],
            ..Default::default()
        };
        crate::effects::write_effects(&mut tx, &effects).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The documents of a batch in order (`user_id` given: only if the batch is theirs).
    pub async fn batch_items(
        &self,
        batch_id: &str,
        user_id: Option<i64>,
    ) -> Result<Vec<BatchItemRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT position, user_id, document_id, filename, outcome, signed FROM batch_items \
             WHERE batch_id = $1 AND ($2 = 0 OR user_id = $2) ORDER BY position",
        )
        .bind(batch_id)
        .bind(user_id.unwrap_or(0))
        .fetch_all(&self.read)
        .await?)
    }

    /// Deletes the progress of batches started before `before_ms` whose documents all have an
    /// outcome (a batch still running is kept whatever its age).
    pub async fn prune_batches(&self, before_ms: i64) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "DELETE FROM batch_items WHERE created_at < $1 AND batch_id NOT IN              (SELECT batch_id FROM batch_items WHERE outcome IS NULL)",
        )
        .bind(before_ms)
        .execute(&self.write)
        .await?;
        Ok(r.rows_affected())
    }

    /// Records how one document of a batch went.
    pub async fn record_batch_outcome(
        &self,
        batch_id: &str,
        position: i64,
        outcome: &str,
        signed: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE batch_items SET outcome = $1, signed = $2 WHERE batch_id = $3 AND position = $4",
        )
        .bind(outcome)
        .bind(i64::from(signed))
        .bind(batch_id)
        .bind(position)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

impl Db {
    /// A page of every document of a subscriber (administration), newest first, with the total.
    pub async fn subscriber_documents(
        &self,
        siren: &str,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<DocumentRow>, i64), StoreError> {
        let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM documents WHERE siren = $1")
            .bind(siren)
            .fetch_one(&self.read)
            .await?;
        let sql = format!(
            "SELECT {DOC_COLS} FROM documents WHERE siren = $1 ORDER BY id DESC LIMIT {} OFFSET {}",
            limit.clamp(1, 200),
            offset.max(0)
        );
        let rows = sqlx::query_as::<_, DocumentRow>(&sql)
            .bind(siren)
            .fetch_all(&self.read)
            .await?;
        Ok((rows, total))
    }

    /// Deletes a provisioned circuit (documents already deposited keep their own steps).
    pub async fn delete_circuit(&self, siren: &str, id: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM circuits WHERE siren = $1 AND id = $2")
            .bind(siren)
            .bind(id)
            .execute(&self.write)
            .await?;
        self.history_cache.invalidate_all();
        self.deposit_cache.invalidate();
        Ok(r.rows_affected() > 0)
    }
}

/// `CAST(CASE …)` giving the index of the month `col` (milliseconds) falls in, `months` being
/// the ascending starts of the months (the first bounds the query itself).
fn month_bucket(col: &str, months: &[i64]) -> String {
    let mut s = String::from("CAST(CASE");
    for (i, start) in months.iter().enumerate().skip(1) {
        s.push_str(&format!(" WHEN {col} < {start} THEN {}", i - 1));
    }
    s.push_str(&format!(
        " ELSE {} END AS BIGINT)",
        months.len().saturating_sub(1)
    ));
    s
}

/// Statistics of a subscriber for its administrators, over the months whose starts are given
/// (ascending, milliseconds; the first bounds every query).
impl Db {
    /// Documents deposited per circuit (empty: on demand) and month index.
    pub async fn stats_deposits(
        &self,
        siren: &str,
        months: &[i64],
    ) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let Some(start) = months.first() else {
            return Ok(Vec::new());
        };
        Ok(sqlx::query_as(&format!(
            "SELECT COALESCE(circuit_id, '') AS circuit, {} AS month, COUNT(*) AS n \
             FROM documents WHERE siren = $1 AND created_at >= $2 GROUP BY 1, 2 ORDER BY 1, 2",
            month_bucket("created_at", months)
        ))
        .bind(siren)
        .bind(*start)
        .fetch_all(&self.read)
        .await?)
    }

    /// For each document deposited in the window and signed since: its month index and the time
    /// from its deposit to its first signature (by a person or by OTP), in milliseconds.
    pub async fn stats_signature_delays(
        &self,
        siren: &str,
        months: &[i64],
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let Some(start) = months.first() else {
            return Ok(Vec::new());
        };
        Ok(sqlx::query_as(&signature_delays_sql(months))
            .bind(siren)
            .bind(*start)
            .fetch_all(&self.read)
            .await?)
    }

    /// Documents in progress past their deadline (before `today`, `YYYY-MM-DD`), per circuit.
    pub async fn stats_overdue(
        &self,
        siren: &str,
        today: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT COALESCE(circuit_id, '') AS circuit, COUNT(*) AS n FROM documents \
             WHERE siren = $1 AND status IN ({}) AND deadline IS NOT NULL AND deadline < $2 \
             GROUP BY 1 ORDER BY 1",
            sql_in(&[DocumentStatus::InProgress, DocumentStatus::AwaitingMetadata])
        ))
        .bind(siren)
        .bind(today)
        .fetch_all(&self.read)
        .await?)
    }

    /// Refusals recorded per month index (visa disapproved, refused, refused at the OTP step,
    /// signature rejected).
    pub async fn stats_refusals(
        &self,
        siren: &str,
        months: &[i64],
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let Some(start) = months.first() else {
            return Ok(Vec::new());
        };
        Ok(sqlx::query_as(&refusals_sql(months))
            .bind(siren)
            .bind(*start)
            .fetch_all(&self.read)
            .await?)
    }
}

/// An OpenID Connect sign-in in progress.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OidcLogin {
    pub verifier: String,
    pub nonce: String,
    pub next: String,
}

impl crate::Db {
    /// Records a sign-in begun with the `state` whose SHA-256 is `state_hash`, valid `ttl_ms`.
    pub async fn begin_oidc_login(
        &self,
        state_hash: &str,
        login: &OidcLogin,
        ttl_ms: i64,
    ) -> Result<(), crate::StoreError> {
        let now = crate::now_ms();
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at < $1")
            .bind(now)
            .execute(&self.write)
            .await?;
        sqlx::query(
            "INSERT INTO oidc_logins (state_hash, verifier, nonce, next, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_hash)
        .bind(&login.verifier)
        .bind(&login.nonce)
        .bind(&login.next)
        .bind(now + ttl_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Takes the sign-in of `state_hash` (once: a replayed callback finds nothing), if it has
    /// not expired.
    pub async fn take_oidc_login(
        &self,
        state_hash: &str,
    ) -> Result<Option<OidcLogin>, crate::StoreError> {
        Ok(sqlx::query_as(
            "DELETE FROM oidc_logins WHERE state_hash = $1 AND expires_at >= $2 \
             RETURNING verifier, nonce, next",
        )
        .bind(state_hash)
        .bind(crate::now_ms())
        .fetch_optional(&self.write)
        .await?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_are_plain_quoted_names() {
        for s in DocumentStatus::ALL {
            assert!(
                s.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s:?}"
            );
        }
        assert_eq!(
            sql_in(&[DocumentStatus::InProgress, DocumentStatus::Refused]),
            "'in_progress', 'refused'"
        );
    }

    #[test]
    fn history_states_are_quoted_with_their_quotes_doubled() {
        assert_eq!(
            history_sql_in(&[HistoryState::Signed, HistoryState::RefusedAtOtp]),
            "'Signé', 'Refusé à l''étape OTP'"
        );
    }

    /// The partial indexes are written with the very lists the statistics write: a query uses
    /// one only when its states are the index's.
    #[test]
    fn the_partial_indexes_name_the_states_the_statistics_ask_for() {
        for migration in [
            include_str!("../migrations/sqlite/0027_history_statistics.sql"),
            include_str!("../migrations/postgres/0027_history_statistics.sql"),
        ] {
            for states in [&SIGNATURE_STATES[..], &REFUSAL_STATES[..]] {
                let list = format!("state_name IN ({})", history_sql_in(states));
                assert!(migration.contains(&list), "{list} not in {migration}");
            }
        }
    }

    /// SQLite's plans of the two statements go through the partial indexes.
    #[tokio::test]
    async fn the_statistics_use_the_partial_indexes_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.path().display()))
            .await
            .unwrap();
        let months = [1_000, 2_000, 3_000];
        for (sql, index) in [
            (signature_delays_sql(&months), "history_signatures"),
            (refusals_sql(&months), "history_refusals"),
        ] {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .bind("200000001")
                    .bind(1_000_i64)
                    .fetch_all(&db.read)
                    .await
                    .unwrap();
            assert!(
                plan.iter().any(|(.., detail)| detail.contains(index)),
                "{index} not used: {plan:?}"
            );
        }
    }
}
