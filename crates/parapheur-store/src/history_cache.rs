//! A short-lived cache of what document reads ask most: the history (FAST clients poll it far
//! more often than it changes) and the access decision of each user who read the document
//! recently (CONTRACT §8, `visibility::involved`).
//!
//! Both are kept per document and dropped together: every write through this `Db` that changes
//! a document's history, steps, members or agents invalidates that document at once; writes that
//! can change the decision on many documents (absences and their delegations, a circuit's
//! visibility, memberships) clear the whole cache. A write made by another instance (on
//! PostgreSQL) is seen within the time to live (`[fast] history_cache_ms`, 0 disables both).
//! Only positive lookups are cached: an unknown document id always reaches the database.

use crate::single_flight::SingleFlight;
use crate::visibility::DocumentAccess;
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
/// Documents kept at most.
const MAX_DOCUMENTS: usize = 50_000;
/// Access decisions kept at most per document (readers beyond it push the older ones out).
const MAX_READERS: usize = 64;

/// A document's subscriber and its history entries, in order.
#[derive(Debug)]
pub struct HistorySnapshot {
    pub siren: String,
    pub entries: Vec<HistoryRow>,
    /// The server's encoding of these entries (the FAST answer), made by the first read that
    /// needs it and shared by the next ones while the snapshot is cached.
    pub encoded: std::sync::OnceLock<Arc<[u8]>>,
}

impl HistorySnapshot {
    pub fn new(siren: String, entries: Vec<HistoryRow>) -> Self {
        Self {
            siren,
            entries,
            encoded: std::sync::OnceLock::new(),
        }
    }
}

/// The key of a cached access decision: a user on a day (absences, hence delegations, are
/// whole days, so the same user may be decided differently tomorrow). The day is kept as the
/// number `yyyymmdd`: a lookup, made on every document read, allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Reader {
    user_id: i64,
    day: u32,
}

impl Reader {
    /// `None` unless `day` is a `YYYY-MM-DD` date (then nothing is cached or looked up).
    fn new(user_id: i64, day: &str) -> Option<Self> {
        let b = day.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in b.iter().enumerate() {
            if i == 4 || i == 7 {
                continue;
            }
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u32::from(c - b'0');
        }
        Some(Self { user_id, day: n })
    }
}

#[derive(Debug, Default)]
struct Entry {
    history: Option<(Instant, Arc<HistorySnapshot>)>,
    access: FastMap<Reader, (Instant, DocumentAccess)>,
}

/// The cache's maps: hashed with foldhash, seeded at random per map (std's SipHash cost about
/// 800 instructions per history read across the lookups; issue 22).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A user's bannette counts, valid under one reads generation.
type Counts = Vec<(crate::portal::Bannette, i64)>;

#[derive(Debug)]
pub(crate) struct HistoryCache {
    ttl: Duration,
    map: Mutex<FastMap<i64, Entry>>,
    /// Per user and day: the bannette counts and the generation they were counted under.
    counts: Mutex<FastMap<Reader, (u64, Instant, Counts)>>,
    /// One count at a time per user and day (see [`SingleFlight`]).
    counting: SingleFlight<Reader>,
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
            counts: Mutex::default(),
            counting: SingleFlight::default(),
            generation: AtomicU64::new(0),
        }
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
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
            .and_then(|e| e.history.as_ref())
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, s)| s.clone())
    }

    /// The cached decision on whether `user_id` may read document `id` on `day`.
    pub(crate) fn access(&self, id: i64, user_id: i64, day: &str) -> Option<DocumentAccess> {
        self.with_access(id, user_id, day, DocumentAccess::clone)
    }

    /// Whether `user_id` takes part in document `id` on `day`, when cached (nothing copied).
    pub(crate) fn involved(&self, id: i64, user_id: i64, day: &str) -> Option<bool> {
        self.with_access(id, user_id, day, |a| a.involved)
    }

    fn with_access<T>(
        &self,
        id: i64,
        user_id: i64,
        day: &str,
        f: impl FnOnce(&DocumentAccess) -> T,
    ) -> Option<T> {
        if self.ttl.is_zero() {
            return None;
        }
        let key = Reader::new(user_id, day)?;
        let map = self.map.lock().ok()?;
        map.get(&id)
            .and_then(|e| e.access.get(&key))
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, a)| f(a))
    }

    /// Caches `snap` unless a write happened since `generation` was read.
    pub(crate) fn put(&self, id: i64, snap: Arc<HistorySnapshot>, generation: u64) {
        self.update(id, generation, |e| {
            e.history = Some((Instant::now(), snap));
        });
    }

    /// Caches an access decision unless a write happened since `generation` was read.
    pub(crate) fn put_access(
        &self,
        id: i64,
        user_id: i64,
        day: &str,
        access: DocumentAccess,
        generation: u64,
    ) {
        let Some(key) = Reader::new(user_id, day) else {
            return;
        };
        self.update(id, generation, |e| {
            if e.access.len() >= MAX_READERS {
                e.access.clear();
            }
            e.access.insert(key, (Instant::now(), access));
        });
    }

    /// A user's bannette counts on `day`, if counted under `generation` (the current one)
    /// within the time to live.
    pub(crate) fn counts(&self, user_id: i64, day: &str, generation: u64) -> Option<Counts> {
        if self.ttl.is_zero() {
            return None;
        }
        let key = Reader::new(user_id, day)?;
        let map = self.counts.lock().ok()?;
        map.get(&key)
            .filter(|(g, at, _)| *g == generation && at.elapsed() < self.ttl)
            .map(|(_, _, c)| c.clone())
    }

    /// The counts kept for the user and day under `generation`, or those `count` makes (then
    /// kept): callers missing the same counts together wait for one count (the first poll after
    /// a write or after the time to live would otherwise count once per open page).
    pub(crate) async fn counts_or(
        &self,
        user_id: i64,
        day: &str,
        generation: u64,
        count: impl Future<Output = Result<Counts, crate::StoreError>>,
    ) -> Result<Counts, crate::StoreError> {
        let Some(key) = Reader::new(user_id, day).filter(|_| !self.ttl.is_zero()) else {
            return count.await;
        };
        self.counting
            .run(&key, || self.counts(user_id, day, generation), async {
                let counts = count.await?;
                self.put_counts(user_id, day, generation, counts.clone());
                Ok(counts)
            })
            .await
    }

    /// Keeps counts made under `generation` (read before counting).
    pub(crate) fn put_counts(&self, user_id: i64, day: &str, generation: u64, counts: Counts) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = self.counts.lock() {
            if map.len() >= MAX_DOCUMENTS {
                map.clear();
            }
            if let Some(key) = Reader::new(user_id, day) {
                map.insert(key, (generation, Instant::now(), counts));
            }
        }
    }

    fn update(&self, id: i64, generation: u64, f: impl FnOnce(&mut Entry)) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            if self.generation() != generation {
                return;
            }
            if map.len() >= MAX_DOCUMENTS && !map.contains_key(&id) {
                let ttl = self.ttl;
                map.retain(|_, e| {
                    e.history.as_ref().is_some_and(|(at, _)| at.elapsed() < ttl)
                        || e.access.values().any(|(at, _)| at.elapsed() < ttl)
                });
                if map.len() >= MAX_DOCUMENTS {
                    map.clear();
                }
            }
            f(map.entry(id).or_default());
        }
    }

    /// Forgets what is cached of document `id` (its history and every access decision on it).
    pub(crate) fn invalidate(&self, id: i64) {
        if let Ok(mut map) = self.map.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.remove(&id);
        }
    }

    /// Forgets everything: for writes that may change access decisions on many documents.
    pub(crate) fn invalidate_all(&self) {
        if let Ok(mut map) = self.map.lock() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(involved: bool) -> DocumentAccess {
        DocumentAccess {
            siren: "123456789".into(),
            involved,
        }
    }

    #[test]
    fn decisions_are_per_user_and_day_and_dropped_with_the_document() {
        let c = HistoryCache::new(Duration::from_secs(60));
        let g = c.generation();
        c.put_access(1, 10, "2026-12-06", access(true), g);
        c.put_access(1, 11, "2026-12-06", access(false), g);
        assert_eq!(c.access(1, 10, "2026-12-06"), Some(access(true)));
        assert_eq!(c.access(1, 11, "2026-12-06"), Some(access(false)));
        assert_eq!(c.access(1, 10, "2026-12-07"), None, "another day");
        assert_eq!(c.access(2, 10, "2026-12-06"), None, "another document");
        c.invalidate(2);
        assert_eq!(c.access(1, 10, "2026-12-06"), Some(access(true)));
        c.invalidate(1);
        assert_eq!(c.access(1, 10, "2026-12-06"), None);
        assert_eq!(c.access(1, 11, "2026-12-06"), None);
    }

    #[test]
    fn a_write_during_a_read_keeps_the_read_out_of_the_cache() {
        let c = HistoryCache::new(Duration::from_secs(60));
        let before = c.generation();
        c.invalidate(7); // a write lands while the read was at the database
        c.put_access(7, 10, "2026-12-06", access(true), before);
        c.put(
            7,
            Arc::new(HistorySnapshot::new("123456789".into(), Vec::new())),
            before,
        );
        assert_eq!(c.access(7, 10, "2026-12-06"), None);
        assert!(c.get(7).is_none());
    }

    #[test]
    fn invalidate_all_forgets_every_document() {
        let c = HistoryCache::new(Duration::from_secs(60));
        let g = c.generation();
        c.put_access(1, 10, "2026-12-06", access(true), g);
        c.put_access(2, 10, "2026-12-06", access(true), g);
        c.invalidate_all();
        assert_eq!(c.access(1, 10, "2026-12-06"), None);
        assert_eq!(c.access(2, 10, "2026-12-06"), None);
    }

    #[test]
    fn decisions_expire_and_a_zero_ttl_caches_nothing() {
        let c = HistoryCache::new(Duration::from_millis(1));
        c.put_access(1, 10, "2026-12-06", access(true), c.generation());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.access(1, 10, "2026-12-06"), None);
        let off = HistoryCache::new(Duration::ZERO);
        off.put_access(1, 10, "2026-12-06", access(true), off.generation());
        assert_eq!(off.access(1, 10, "2026-12-06"), None);
    }

    #[test]
    fn counts_are_served_only_under_the_generation_they_were_made_in() {
        use crate::portal::Bannette;
        let c = HistoryCache::new(Duration::from_secs(60));
        let g = c.generation();
        c.put_counts(10, "2026-12-06", g, vec![(Bannette::ToSign, 3)]);
        assert_eq!(
            c.counts(10, "2026-12-06", g),
            Some(vec![(Bannette::ToSign, 3)])
        );
        assert_eq!(c.counts(11, "2026-12-06", g), None, "another user");
        assert_eq!(c.counts(10, "2026-12-07", g), None, "another day");
        c.invalidate(99); // any write
        assert_eq!(c.counts(10, "2026-12-06", c.generation()), None);
    }

    #[test]
    fn readers_per_document_are_bounded() {
        let c = HistoryCache::new(Duration::from_secs(60));
        let g = c.generation();
        for u in 0..(MAX_READERS as i64 + 1) {
            c.put_access(1, u, "2026-12-06", access(true), g);
        }
        let map = c.map.lock().unwrap();
        assert!(map[&1].access.len() <= MAX_READERS);
        assert!(map[&1].access.contains_key(&Reader {
            user_id: MAX_READERS as i64,
            day: 20261206
        }));
    }

    #[test]
    fn days_are_keyed_only_when_they_are_dates() {
        assert_eq!(Reader::new(3, "2026-12-06").map(|r| r.day), Some(20261206));
        assert_ne!(Reader::new(3, "2026-12-06"), Reader::new(3, "2026-06-12"));
        for bad in [
            "",
            "d",
            "2026-12-6",
            "2026/12/06",
            "2026-1a-06",
            "20261206xx",
            "2026-12-061",
        ] {
            assert_eq!(Reader::new(3, bad), None, "{bad}");
        }
        // A day that is not a date is never cached, nor found.
        let c = HistoryCache::new(Duration::from_secs(60));
        let g = c.generation();
        c.put_access(1, 10, "today", access(true), g);
        assert_eq!(c.access(1, 10, "today"), None);
        assert_eq!(c.involved(1, 10, "today"), None);
        c.put_access(1, 10, "2026-12-06", access(true), g);
        assert_eq!(c.involved(1, 10, "2026-12-06"), Some(true));
        assert_eq!(c.involved(1, 10, "2026-12-07"), None);
    }
}
