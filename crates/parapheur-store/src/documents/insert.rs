//! The writing of deposits: one deposit, or a group commit's many, with a few multi-row
//! statements for all of them (each statement is a round trip to PostgreSQL, or a trip to the
//! SQLite thread): the documents' rows, then their steps, members, annexes, history and jobs.
//! What few deposits carry (agents, a PES name, OTP signers, webhook deliveries, links...) is
//! written deposit by deposit.

use super::{NewDocument, values};
use crate::effects::{Effects, NewJob};
use crate::webhooks::SirenEndpoints;
use crate::{StoreError, now_ms};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

/// A deposit to write, and the id of the request that made it (its jobs record it).
pub(crate) type Deposit<'a> = (&'a NewDocument, Option<&'a str>);

type AnyQuery<'q> = sqlx::query::Query<'q, Any, AnyArguments<'q>>;

/// Most values one statement of [`insert_rows`] binds (PostgreSQL allows 65,535, SQLite 32,766).
const MAX_VALUES: usize = 4096;

/// `{head} VALUES (…), (…){tail}` for every row, in statements of a power of two rows each
/// (as many as `MAX_VALUES` allows): a statement cache keeps few texts per table whatever the
/// number of rows. Gives the rows the statements return.
async fn insert_rows<R>(
    tx: &mut Transaction<'_, Any>,
    head: &str,
    cols: usize,
    tail: &str,
    rows: &[R],
    bind: impl for<'q> Fn(AnyQuery<'q>, &'q R) -> AnyQuery<'q>,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let most = power_of_two_at_most(MAX_VALUES / cols.max(1));
    let mut out = Vec::new();
    let mut rest = rows;
    while !rest.is_empty() {
        let n = power_of_two_at_most(rest.len()).min(most);
        let (chunk, more) = rest.split_at(n);
        let sql = format!("{head} VALUES {}{tail}", values(n, cols, 1));
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = bind(q, r);
        }
        out.extend(q.fetch_all(&mut **tx).await?);
        rest = more;
    }
    Ok(out)
}

/// The largest power of two not above `n` (1 for 0).
fn power_of_two_at_most(n: usize) -> usize {
    match n {
        0 | 1 => 1,
        n => 1 << (usize::BITS - 1 - n.leading_zeros()),
    }
}

/// Writes `deposits` in the open transaction. Each gets its new id, or `None` when its FAST
/// triplet is taken (by an earlier document or an earlier deposit of the list), told by no row
/// inserted (`ON CONFLICT DO NOTHING`) so that the transaction stays usable on both engines.
/// `Err` means a statement failed: the transaction must be rolled back (PostgreSQL has
/// aborted it); a single deposit's taken triplet may also come as `Err(Duplicate)`.
pub(crate) async fn insert_documents(
    tx: &mut Transaction<'_, Any>,
    deposits: &[Deposit<'_>],
    endpoints: &mut SirenEndpoints,
) -> Result<Vec<Option<i64>>, StoreError> {
    let mut keys = std::collections::HashSet::with_capacity(deposits.len());
    if deposits.iter().all(|(d, _)| keys.insert(&d.file.blob_key)) {
        return insert_together(tx, deposits, endpoints).await;
    }
    // The rows a statement returns are told apart by their blob key (new for every stored
    // file, so this is not expected): deposits sharing one are written one by one.
    let mut ids = Vec::with_capacity(deposits.len());
    for d in deposits {
        ids.extend(insert_together(tx, std::slice::from_ref(d), endpoints).await?);
    }
    Ok(ids)
}

/// `insert_documents` for deposits of distinct blob keys.
async fn insert_together(
    tx: &mut Transaction<'_, Any>,
    deposits: &[Deposit<'_>],
    endpoints: &mut SirenEndpoints,
) -> Result<Vec<Option<i64>>, StoreError> {
    let ids = insert_document_rows(tx, deposits).await?;
    let written: Vec<(i64, &Deposit<'_>)> = ids
        .iter()
        .zip(deposits)
        .filter_map(|(id, d)| id.map(|id| (id, d)))
        .collect();
    if !written.is_empty() {
        insert_parts(tx, &written, endpoints).await?;
    }
    Ok(ids)
}

/// The documents' rows: the id of each deposit's, `None` where the triplet is taken.
async fn insert_document_rows(
    tx: &mut Transaction<'_, Any>,
    deposits: &[Deposit<'_>],
) -> Result<Vec<Option<i64>>, StoreError> {
    // The returned rows are told apart by their blob key (distinct in `deposits`).
    let keys: HashMap<&str, usize> = deposits
        .iter()
        .enumerate()
        .map(|(i, (d, _))| (d.file.blob_key.as_str(), i))
        .collect();
    let now = now_ms();
    let mut prepared = Vec::with_capacity(deposits.len());
    for (d, _) in deposits {
        let agents =
            serde_json::to_string(&d.agents).map_err(|e| StoreError::Encoding(e.to_string()))?;
        prepared.push((*d, agents));
    }
    let inserted = insert_rows(
        tx,
        "INSERT INTO documents (siren, circuit_id, circuit_type, label, filename, blob_key, \
         size, sha256, depositor_id, status, current_step, metadata_required, comment, email_to, \
         email_cc, agents, pictograms, created_at, updated_at, digest_state, triplet_circuit, \
         deadline)",
        22,
        " ON CONFLICT DO NOTHING RETURNING id, blob_key",
        &prepared,
        |q, (d, agents)| {
            q.bind(&d.siren)
                .bind(&d.circuit_id)
                .bind(d.circuit_type.as_str())
                .bind(&d.label)
                .bind(&d.file.filename)
                .bind(&d.file.blob_key)
                .bind(d.file.size)
                .bind(&d.file.sha256)
                .bind(d.depositor_id)
                .bind(d.status.as_str())
                .bind(d.current_step)
                .bind(i64::from(d.metadata_required))
                .bind(&d.comment)
                .bind(&d.email_to)
                .bind(&d.email_cc)
                .bind(agents)
                .bind(&d.pictograms)
                .bind(now)
                .bind(now)
                .bind(&d.file.digest_state)
                .bind(&d.triplet_circuit)
                .bind(&d.deadline)
        },
    )
    .await;
    let inserted = match inserted {
        Ok(rows) => rows,
        // One deposit alone: the duplicate key is its own (the transaction is unusable all
        // the same on PostgreSQL).
        Err(e) if deposits.len() == 1 && StoreError::is_unique_violation(&e) => {
            return Err(StoreError::Duplicate);
        }
        Err(e) => return Err(e.into()),
    };
    let mut ids = vec![None; deposits.len()];
    for row in inserted {
        let id: i64 = row.try_get(0)?;
        let key: String = row.try_get(1)?;
        let at = keys.get(key.as_str()).ok_or_else(|| {
            StoreError::Unavailable("a document row came back with an unknown blob".into())
        })?;
        ids[*at] = Some(id);
    }
    Ok(ids)
}

/// The rest of the written deposits: steps, members, agents, annexes, history (and its webhook
/// deliveries), PES names, OTP signers and effects.
async fn insert_parts(
    tx: &mut Transaction<'_, Any>,
    written: &[(i64, &Deposit<'_>)],
    endpoints: &mut SirenEndpoints,
) -> Result<(), StoreError> {
    let now = now_ms();
    let steps: Vec<(i64, i64, &super::NewStep)> = written
        .iter()
        .flat_map(|(id, (d, _))| {
            d.steps
                .iter()
                .enumerate()
                .map(move |(idx, s)| (*id, idx as i64, s))
        })
        .collect();
    insert_rows(
        tx,
        "INSERT INTO document_steps (document_id, idx, kind, rule)",
        4,
        "",
        &steps,
        |q, (id, idx, s)| {
            q.bind(*id)
                .bind(*idx)
                .bind(s.kind.as_str())
                .bind(s.rule.as_str())
        },
    )
    .await?;
    let mut members: Vec<(i64, i64, i64, &'static str)> = Vec::new();
    for (id, (d, _)) in written {
        let mut of_doc: Vec<(i64, i64, i64, &'static str)> = d
            .steps
            .iter()
            .enumerate()
            .flat_map(|(idx, step)| {
                step.members
                    .iter()
                    .map(move |u| (*id, idx as i64, *u, d.status.as_str()))
            })
            .collect();
        of_doc.sort_unstable();
        of_doc.dedup();
        members.extend(of_doc);
    }
    insert_rows(
        tx,
        "INSERT INTO document_step_members (document_id, idx, user_id, doc_created_at, \
         doc_status)",
        5,
        "",
        &members,
        |q, (id, idx, user, status)| q.bind(*id).bind(*idx).bind(*user).bind(now).bind(*status),
    )
    .await?;
    for (id, (d, _)) in written.iter().filter(|(_, (d, _))| !d.agents.is_empty()) {
        // Agents are users of the subscriber (checked at deposit); kept by id for visibility.
        let list: Vec<String> = (0..d.agents.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "INSERT INTO document_agents (document_id, user_id) SELECT $1, id FROM users \
             WHERE email IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(*id);
        for a in &d.agents {
            q = q.bind(a.to_lowercase());
        }
        q.execute(&mut **tx).await?;
    }
    let annexes: Vec<(i64, &super::NewFile)> = written
        .iter()
        .flat_map(|(id, (d, _))| d.annexes.iter().map(move |a| (*id, a)))
        .collect();
    insert_rows(
        tx,
        "INSERT INTO annexes (document_id, filename, blob_key, size, sha256)",
        5,
        "",
        &annexes,
        |q, (id, a)| {
            q.bind(*id)
                .bind(&a.filename)
                .bind(&a.blob_key)
                .bind(a.size)
                .bind(&a.sha256)
        },
    )
    .await?;
    let entries: Vec<(i64, &super::NewEntry)> = written
        .iter()
        .flat_map(|(id, (d, _))| d.entries.iter().map(move |e| (*id, e)))
        .collect();
    insert_rows(
        tx,
        "INSERT INTO history (document_id, at_ms, user_id, user_fullname, state_name, comment)",
        6,
        "",
        &entries,
        |q, (id, e)| {
            q.bind(*id)
                .bind(now)
                .bind(e.user_id)
                .bind(&e.user_fullname)
                .bind(e.state_name)
                .bind(&e.comment)
        },
    )
    .await?;
    let mut jobs: Vec<(NewJob, Option<&str>)> = Vec::new();
    for (id, (d, request_id)) in written {
        // A new document has no history yet: deliveries follow every entry if its subscriber
        // has endpoints (looked up once per subscriber and transaction).
        if !d.entries.is_empty() && endpoints.has(tx, &d.siren).await? {
            crate::webhooks::queue_deliveries(tx, *id, 0).await?;
        }
        if let Some(n) = &d.pes_nomfic {
            crate::helios::write_pes_name(tx, &d.siren, n, *id).await?;
        }
        if !d.otp_signers.is_empty() {
            super::write_signers(tx, *id, &d.otp_signers).await?;
        }
        if !d.effects.is_empty() {
            let effects = d.effects.for_new_document(*id);
            jobs.extend(effects.jobs.iter().map(|j| (j.clone(), *request_id)));
            let rest = Effects {
                jobs: Vec::new(),
                ..effects
            };
            if !rest.is_empty() {
                crate::effects::write_effects_for(tx, *id, &rest).await?;
            }
        }
    }
    insert_rows(
        tx,
        "INSERT INTO jobs (kind, payload, status, run_at, created_at, request_id)",
        6,
        "",
        &jobs,
        |q, (j, request_id)| {
            q.bind(&j.kind)
                .bind(&j.payload)
                .bind("pending")
                .bind(now + j.delay_ms.max(0))
                .bind(now)
                .bind(*request_id)
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::power_of_two_at_most;

    #[test]
    fn statements_have_a_power_of_two_rows() {
        let got: Vec<usize> = [0, 1, 2, 3, 4, 5, 7, 8, 63, 64, 65, 4096]
            .iter()
            .map(|n| power_of_two_at_most(*n))
            .collect();
        assert_eq!(got, [1, 1, 2, 2, 4, 4, 4, 8, 32, 64, 64, 4096]);
    }
}
