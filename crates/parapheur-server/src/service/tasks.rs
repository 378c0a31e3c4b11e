//! The caller's task list (`GET /api/v1/tasks`), kept serialised a moment per user and day.
//!
//! Clients and the portal poll it; a signatory with thousands of documents waiting would
//! otherwise cost a scan and the encoding of every entry on each poll. An answer is served
//! again only while the store's reads generation is the one it was computed under (any local
//! deposit, transition, deletion, absence, circuit or membership write moves it) and within
//! `[fast] history_cache_ms` (the bound for writes made by another instance).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use bytes::Bytes;
use parapheur_store::single_flight::SingleFlight;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// A document waiting for the caller.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Task {
    id: i64,
    name: String,
    siren: String,
    circuit: Option<String>,
    step: String,
    /// `YYYY-MM-DD` (CONTRACT §11).
    deadline: Option<String>,
    /// The deadline has passed.
    overdue: bool,
}

/// Whose list, on which day (delegations and `overdue` depend on the day).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ListKey {
    user_id: i64,
    day: String,
}

#[derive(Debug)]
struct Kept {
    generation: u64,
    at: Instant,
    json: Bytes,
}

/// Users' serialised task lists.
#[derive(Debug, Default)]
pub struct TasksCache {
    map: Mutex<HashMap<ListKey, Kept>>,
    /// One computation at a time per list: callers missing the same list together wait for
    /// the first one's answer instead of each running the query (a poll wave after a write).
    in_flight: SingleFlight<ListKey>,
}

/// Lists kept at most (one per user who polled recently).
const MAX_LISTS: usize = 10_000;

impl TasksCache {
    fn get(&self, key: &ListKey, generation: u64, ttl: std::time::Duration) -> Option<Bytes> {
        let map = self.map.lock().ok()?;
        map.get(key)
            .filter(|k| k.generation == generation && k.at.elapsed() < ttl)
            .map(|k| k.json.clone())
    }

    /// The list under `key`: kept, or computed by `compute` — by one caller at a time per
    /// key; the others waiting for it take its answer when it is still valid for them.
    async fn get_or_compute<F>(
        &self,
        key: &ListKey,
        generation: u64,
        ttl: std::time::Duration,
        compute: F,
    ) -> Result<Bytes, ApiError>
    where
        F: Future<Output = Result<Bytes, ApiError>>,
    {
        if ttl.is_zero() {
            return compute.await;
        }
        self.in_flight
            .run(key, || self.get(key, generation, ttl), async {
                let json = compute.await?;
                self.put(key.clone(), generation, json.clone());
                Ok(json)
            })
            .await
    }

    fn put(&self, key: ListKey, generation: u64, json: Bytes) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_LISTS && !map.contains_key(&key) {
                map.clear();
            }
            map.insert(
                key,
                Kept {
                    generation,
                    at: Instant::now(),
                    json,
                },
            );
        }
    }
}

/// The caller's tasks as the JSON array CONTRACT §5 and §11 describe.
pub async fn tasks_json(state: &AppState, caller: &Caller) -> Result<Bytes, ApiError> {
    let today = crate::service::access::today();
    let ttl = state.db.reads_ttl();
    let key = ListKey {
        user_id: caller.user_id,
        day: today.to_string(),
    };
    // Read before the query: a write landing during it moves the generation on, and the
    // answer computed here is then never served again.
    let generation = state.db.reads_generation();
    state
        .tasks
        .get_or_compute(&key, generation, ttl, async {
            let rows = state.db.tasks(caller.user_id, &today).await?;
            let tasks: Vec<Task> = rows
                .into_iter()
                .map(|r| Task {
                    id: r.id,
                    name: r.filename,
                    siren: r.siren,
                    circuit: r.circuit_id,
                    step: r.kind.as_str().to_owned(),
                    overdue: r.deadline.as_deref().is_some_and(|d| d < today.as_str()),
                    deadline: r.deadline,
                })
                .collect();
            Ok(Bytes::from(
                serde_json::to_vec(&tasks).map_err(|e| ApiError::Internal(e.into()))?,
            ))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn key(user_id: i64, day: &str) -> ListKey {
        ListKey {
            user_id,
            day: day.into(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_missing_the_same_list_together_compute_it_once() {
        let c = Arc::new(TasksCache::default());
        let computed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let ttl = Duration::from_secs(60);
        let calls = (0..16).map(|_| {
            let (c, computed) = (c.clone(), computed.clone());
            tokio::spawn(async move {
                c.get_or_compute(&key(1, "2026-12-06"), 7, ttl, async {
                    computed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(Bytes::from_static(b"[7]"))
                })
                .await
            })
        });
        for call in calls.collect::<Vec<_>>() {
            let json = call.await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(json.ok().as_deref(), Some(&b"[7]"[..]));
        }
        assert_eq!(computed.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(c.in_flight.in_flight(), 0);
        // Another generation (a write since) is computed again; a failure is not kept.
        let again = c
            .get_or_compute(&key(1, "2026-12-06"), 8, ttl, async {
                Err(ApiError::Forbidden)
            })
            .await;
        assert!(again.is_err());
        let after = c
            .get_or_compute(&key(1, "2026-12-06"), 8, ttl, async {
                Ok(Bytes::from_static(b"[8]"))
            })
            .await;
        assert_eq!(after.ok().as_deref(), Some(&b"[8]"[..]));
    }

    #[test]
    fn a_list_is_served_again_only_under_its_generation_day_and_ttl() {
        let c = TasksCache::default();
        let ttl = Duration::from_secs(60);
        c.put(key(1, "2026-12-06"), 5, Bytes::from_static(b"[1]"));
        assert_eq!(
            c.get(&key(1, "2026-12-06"), 5, ttl).as_deref(),
            Some(&b"[1]"[..])
        );
        assert_eq!(c.get(&key(1, "2026-12-06"), 6, ttl), None, "a write since");
        assert_eq!(c.get(&key(1, "2026-12-07"), 5, ttl), None, "another day");
        assert_eq!(c.get(&key(2, "2026-12-06"), 5, ttl), None, "another user");
        assert_eq!(
            c.get(&key(1, "2026-12-06"), 5, Duration::ZERO),
            None,
            "expired"
        );
    }
}
