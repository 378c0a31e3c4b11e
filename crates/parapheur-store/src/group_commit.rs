//! Group commit of deposits, on both engines: concurrent deposits are written by one task in a
//! single transaction and share its `BEGIN`, its `COMMIT` and one flush of the log, and the
//! multi-row statements that write them (`documents::insert_documents`: one statement per
//! table for the whole group, rather than per deposit). Every caller is answered only after
//! the commit.
//!
//! A deposit whose FAST triplet is taken inserts no row (`ON CONFLICT DO NOTHING`) and fails
//! alone; the others go on. Any other failure rolls the whole transaction back and writes the
//! group again, each deposit in its own savepoint, so that only the deposit at fault fails.
//! Savepoints cost two round trips to the database per deposit; the common case does without.
//!
//! Deposits are written in the order of their triplets, so that two instances writing groups
//! on one PostgreSQL database take the locks of the unique index in the same order (two
//! groups holding the same triplets in opposite orders would deadlock).

use crate::StoreError;
use crate::documents::{Deposit, NewDocument, insert_document_in, insert_documents};
use crate::webhooks::SirenEndpoints;
use sqlx::{Acquire, AnyPool};
use tokio::sync::{mpsc, oneshot};

/// Most deposits written in one transaction.
const MAX_BATCH: usize = 64;

/// A deposit, the id of the request that made it (its jobs record it), and where to answer.
type Job = (
    NewDocument,
    Option<String>,
    oneshot::Sender<Result<i64, StoreError>>,
);

#[derive(Debug, Clone)]
pub(crate) struct Batcher {
    tx: mpsc::Sender<Job>,
}

impl Batcher {
    pub(crate) fn start(pool: AnyPool) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(run(pool, rx));
        Self { tx }
    }

    pub(crate) async fn submit(&self, d: NewDocument) -> Result<i64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((d, crate::context::request_id(), reply))
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped".into()))?
    }
}

async fn run(pool: AnyPool, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        jobs.sort_by(|(a, _, _), (b, _, _)| {
            (&a.siren, &a.triplet_circuit, &a.label, &a.file.filename).cmp(&(
                &b.siren,
                &b.triplet_circuit,
                &b.label,
                &b.file.filename,
            ))
        });
        let results = write(&pool, &jobs).await;
        for ((_, _, reply), r) in jobs.into_iter().zip(results) {
            let _ = reply.send(r);
        }
    }
}

async fn write(pool: &AnyPool, jobs: &[Job]) -> Vec<Result<i64, StoreError>> {
    let mut tx = match pool.begin().await {
        Ok(t) => t,
        Err(e) => return all_failed(jobs, &e),
    };
    match write_together(&mut tx, jobs).await {
        Ok(out) => match tx.commit().await {
            Ok(()) => out,
            // The commit may have happened: no second attempt, which would find the group's
            // triplets taken and have its files deleted. The callers keep their files.
            Err(e) => all_failed(jobs, &e),
        },
        Err(e) => {
            // No COMMIT was sent: dropping the transaction rolls it back.
            drop(tx);
            tracing::debug!(error = %e, deposits = jobs.len(), "group commit: writing each deposit in its own savepoint");
            write_isolated(pool, jobs).await
        }
    }
}

/// Every answer `Unavailable`, the state of the group unknown.
fn all_failed(jobs: &[Job], e: &dyn std::fmt::Display) -> Vec<Result<i64, StoreError>> {
    jobs.iter()
        .map(|_| Err(StoreError::Unavailable(format!("database: {e}"))))
        .collect()
}

/// Every deposit of the group in the open transaction, without savepoints; `Err` when anything
/// but a taken triplet failed (the transaction must then be rolled back).
async fn write_together(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    jobs: &[Job],
) -> Result<Vec<Result<i64, StoreError>>, StoreError> {
    let deposits: Vec<Deposit<'_>> = jobs.iter().map(|(d, r, _)| (d, r.as_deref())).collect();
    // No row inserted (a taken triplet): that deposit fails alone. Any error, even a
    // duplicate key, sends the group to the savepoints.
    let ids = insert_documents(tx, &deposits, &mut SirenEndpoints::default()).await?;
    Ok(ids
        .into_iter()
        .map(|id| id.ok_or(StoreError::Duplicate))
        .collect())
}

/// Each deposit in its own savepoint of one transaction: a failing deposit fails alone.
async fn write_isolated(pool: &AnyPool, jobs: &[Job]) -> Vec<Result<i64, StoreError>> {
    let failed = |e: &dyn std::fmt::Display| all_failed(jobs, e);
    let mut tx = match pool.begin().await {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    let mut endpoints = SirenEndpoints::default();
    let mut out = Vec::with_capacity(jobs.len());
    for (d, request_id, _) in jobs {
        let mut sp = match tx.begin().await {
            Ok(sp) => sp,
            Err(e) => return failed(&e),
        };
        match insert_document_in(&mut sp, d, request_id.as_deref(), &mut endpoints).await {
            Ok(id) => match sp.commit().await {
                Ok(()) => out.push(Ok(id)),
                Err(e) => return failed(&e),
            },
            Err(e) => {
                if let Err(e) = sp.rollback().await {
                    return failed(&e);
                }
                out.push(Err(e));
            }
        }
    }
    match tx.commit().await {
        Ok(()) => out,
        Err(e) => failed(&e),
    }
}
