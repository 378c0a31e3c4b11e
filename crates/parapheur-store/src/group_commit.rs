//! Group commit of deposits, on both engines: concurrent deposits are written by one task in a
//! single transaction and share its `BEGIN`, its `COMMIT` and one flush of the log. Every
//! caller is answered only after the commit.
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
use crate::documents::{
    NewDocument, insert_document_in, insert_document_parts, insert_document_row,
};
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
    match write_together(pool, jobs).await {
        Ok(out) => out,
        Err(e) => {
            tracing::debug!(error = %e, deposits = jobs.len(), "group commit: writing each deposit in its own savepoint");
            write_isolated(pool, jobs).await
        }
    }
}

/// Every deposit of the group in one transaction without savepoints; `Err` (and nothing
/// written) when anything but a deposit's first statement failed.
async fn write_together(
    pool: &AnyPool,
    jobs: &[Job],
) -> Result<Vec<Result<i64, StoreError>>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut endpoints = SirenEndpoints::default();
    let mut out = Vec::with_capacity(jobs.len());
    for (d, request_id, _) in jobs {
        let inserted =
            crate::context::REQUEST_ID.scope(request_id.clone().unwrap_or_default(), async {
                let id = match insert_document_row(&mut tx, d).await {
                    Ok(id) => id,
                    // Refused by its own row: the statement is undone, the transaction goes on.
                    Err(StoreError::Duplicate) => return Ok(Err(StoreError::Duplicate)),
                    Err(e) => return Err(e),
                };
                insert_document_parts(&mut tx, id, d, &mut endpoints).await?;
                Ok(Ok(id))
            });
        // On `Err` the transaction is dropped, which rolls it back.
        out.push(inserted.await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// Each deposit in its own savepoint of one transaction: a failing deposit fails alone.
async fn write_isolated(pool: &AnyPool, jobs: &[Job]) -> Vec<Result<i64, StoreError>> {
    let all_failed = |e: &dyn std::fmt::Display| {
        jobs.iter()
            .map(|_| Err(StoreError::Unavailable(format!("database: {e}"))))
            .collect()
    };
    let mut tx = match pool.begin().await {
        Ok(t) => t,
        Err(e) => return all_failed(&e),
    };
    let mut endpoints = SirenEndpoints::default();
    let mut out = Vec::with_capacity(jobs.len());
    for (d, request_id, _) in jobs {
        let mut sp = match tx.begin().await {
            Ok(sp) => sp,
            Err(e) => return all_failed(&e),
        };
        let inserted = crate::context::REQUEST_ID.scope(
            request_id.clone().unwrap_or_default(),
            insert_document_in(&mut sp, d, &mut endpoints),
        );
        match inserted.await {
            Ok(id) => match sp.commit().await {
                Ok(()) => out.push(Ok(id)),
                Err(e) => return all_failed(&e),
            },
            Err(e) => {
                if let Err(e) = sp.rollback().await {
                    return all_failed(&e);
                }
                out.push(Err(e));
            }
        }
    }
    match tx.commit().await {
        Ok(()) => out,
        Err(e) => all_failed(&e),
    }
}
