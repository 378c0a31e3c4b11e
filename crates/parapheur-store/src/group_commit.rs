//! Group commit for SQLite deposits: concurrent deposits are written by one task in a single
//! transaction (each in its own savepoint, so a duplicate fails alone) and share one fsync.
//! Every caller is answered only after the commit.

use crate::StoreError;
use crate::documents::{NewDocument, insert_document_in};
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
        let results = write(&pool, &jobs).await;
        for ((_, _, reply), r) in jobs.into_iter().zip(results) {
            let _ = reply.send(r);
        }
    }
}

async fn write(pool: &AnyPool, jobs: &[Job]) -> Vec<Result<i64, StoreError>> {
    let all_failed = |e: &dyn std::fmt::Display| {
        jobs.iter()
            .map(|_| Err(StoreError::Unavailable(format!("database: {e}"))))
            .collect()
    };
    let mut tx = match pool.begin().await {
        Ok(t) => t,
        Err(e) => return all_failed(&e),
    };
    let mut out = Vec::with_capacity(jobs.len());
    for (d, request_id, _) in jobs {
        let mut sp = match tx.begin().await {
            Ok(sp) => sp,
            Err(e) => return all_failed(&e),
        };
        let inserted = crate::context::REQUEST_ID.scope(
            request_id.clone().unwrap_or_default(),
            insert_document_in(&mut sp, d),
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
