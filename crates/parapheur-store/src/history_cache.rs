//! A short-lived cache of document histories: FAST clients poll history far more often than it
//! changes. Writes through this `Db` invalidate at once; a write made by another instance (on
//! PostgreSQL) is seen within the time to live (`[fast] history_cache_ms`, 0 disables).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A history entry as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub at_ms: i64,
    pub user_id: Option<i64>,
    pub user_fullname: String,
    pub state_name: String,
    pub comment: Option<String>,
}

/// How long a cached history is served without asking the database, by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 50_000;

/// A document's subscriber and its history entries, in order.
#[derive(Debug)]
pub struct HistorySnapshot {
    pub siren: String,
    pub entries: Vec<HistoryRow>,
}

#[derive(Debug)]
pub(crate) struct HistoryCache {
    ttl: Duration,
    map: Mutex<HashMap<i64, (Instant, Arc<HistorySnapshot>)>>,
    /// Bumped by every invalidation, so a read that raced a write never caches stale rows.
    generation: AtomicU64,
}

impl Default for HistoryCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl HistoryCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            map: Mutex::default(),
            generation: AtomicU64::new(0),
        }
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, id: i64) -> Option<Arc<HistorySnapshot>> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.map.lock().ok()?;
        map.get(&id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, s)| s.clone())
    }

    /// Caches `snap` unless a write happened since `generation` was read.
    pub(crate) fn put(&self, id: i64, snap: Arc<HistorySnapshot>, generation: u64) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            if self.generation() != generation {
                return;
            }
            if map.len() >= MAX_ENTRIES {
                let ttl = self.ttl;
                map.retain(|_, (at, _)| at.elapsed() < ttl);
                if map.len() >= MAX_ENTRIES {
                    map.clear();
                }
            }
            map.insert(id, (Instant::now(), snap));
        }
    }

    pub(crate) fn invalidate(&self, id: i64) {
        if let Ok(mut map) = self.map.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.remove(&id);
        }
    }
}
