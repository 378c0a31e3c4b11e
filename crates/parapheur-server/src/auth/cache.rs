//! The short-lived cache of verified credentials, keyed by typed credential keys, and the
//! watch of the authentication epoch that empties it when an account changes anywhere.

use super::*;

/// How long a verified credential is trusted without re-hashing.
pub(super) const CACHE_TTL: Duration = Duration::from_secs(30);
pub(super) const CACHE_MAX: usize = 10_000;
/// How long before expiry one request re-verifies a credential in use.
pub(super) const REFRESH_BEFORE: Duration = Duration::from_secs(5);

/// The identity a cached verification is about. Each kind of credential is its own variant, so
/// no value of one kind (a Basic user name, say) can ever be taken for another (a certificate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum CredentialKey {
    /// A keyed hash of a Basic `Authorization` header (never the password itself).
    Basic([u8; 32]),
    /// The SHA-256 of a verified client certificate (DER).
    Certificate([u8; 32]),
}

/// Verified credentials, by [`CredentialKey`]; forgotten when the credentials epoch moves.
#[derive(Debug)]
pub struct AuthCache {
    key: [u8; 32],
    /// Hashed with foldhash, seeded at random: the keys are already digests, and std's SipHash
    /// was a visible part of a cached request (issue 22).
    pub(super) entries: Mutex<HashMap<CredentialKey, Entry, foldhash::fast::RandomState>>,
    /// The credentials epoch the entries were verified under (see [`AuthCache::sync_epoch`]).
    epoch: Mutex<Option<i64>>,
    /// One turn per account (lower-case e-mail): its verifications run one at a time.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// A verified credential: when it was verified, and whether a request is re-verifying it.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) caller: Caller,
    pub(super) at: Instant,
    pub(super) refreshing: bool,
}

/// What the cache says of a credential.
pub(super) enum Lookup {
    /// Valid: use it.
    Hit(Caller),
    /// Valid but near its end: this request re-verifies while the others keep using it, so
    /// a busy credential never expires for everybody at once.
    Refresh,
    Miss,
}

impl Default for AuthCache {
    fn default() -> Self {
        Self {
            key: rand::random(),
            entries: Mutex::default(),
            epoch: Mutex::new(None),
            turns: Mutex::new(HashMap::new()),
        }
    }
}

impl AuthCache {
    /// The key of Basic credentials: a keyed hash of the `Authorization` header's bytes as the
    /// client sent them, so that a cached request is recognised before its header is decoded.
    /// (Two spellings of the same credentials are two entries, each verified once.)
    pub(super) fn basic_key(&self, authorization: &[u8]) -> CredentialKey {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(authorization);
        CredentialKey::Basic(h.finalize().into())
    }
    pub(super) fn certificate_key(der: &[u8]) -> CredentialKey {
        CredentialKey::Certificate(Sha256::digest(der).into())
    }
    pub(super) fn get(&self, k: &CredentialKey) -> Lookup {
        let Ok(mut map) = self.entries.lock() else {
            return Lookup::Miss;
        };
        match map.get_mut(k) {
            Some(e) if e.at.elapsed() < CACHE_TTL - REFRESH_BEFORE => Lookup::Hit(e.caller.clone()),
            Some(e) if e.at.elapsed() < CACHE_TTL => {
                if e.refreshing {
                    Lookup::Hit(e.caller.clone())
                } else {
                    e.refreshing = true;
                    Lookup::Refresh
                }
            }
            Some(_) | None => Lookup::Miss,
        }
    }
    /// Forgets every verified credential (after memberships or passwords change).
    pub fn clear(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }
    pub(super) fn remove(&self, k: &CredentialKey) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(k);
        }
    }

    pub(super) fn put(&self, k: CredentialKey, c: Caller) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= CACHE_MAX {
                map.retain(|_, e| e.at.elapsed() < CACHE_TTL);
                if map.len() >= CACHE_MAX {
                    map.clear();
                }
            }
            map.insert(
                k,
                Entry {
                    caller: c,
                    at: Instant::now(),
                    refreshing: false,
                },
            );
        }
    }

    /// Waits for the account's turn: verifications of one account run one at a time on this
    /// instance, each after the failures of the previous ones were counted.
    pub async fn turn(&self, account: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let gate = match self.turns.lock() {
            Ok(mut m) => {
                if m.len() >= CACHE_MAX {
                    m.retain(|_, g| Arc::strong_count(g) > 1);
                }
                m.entry(account.to_owned()).or_default().clone()
            }
            Err(_) => Arc::default(),
        };
        gate.lock_owned().await
    }

    /// Records the database's credentials epoch; when it moved (a password, certificate,
    /// authentication type or membership changed, on any instance), every entry is forgotten.
    /// Records the epoch read from the database; whether it moved (then cached credentials
    /// were forgotten).
    pub fn sync_epoch(&self, epoch: i64) -> bool {
        let Ok(mut seen) = self.epoch.lock() else {
            return false;
        };
        let mut moved = false;
        if *seen != Some(epoch) {
            if seen.is_some() {
                self.clear();
                moved = true;
            }
            *seen = Some(epoch);
        }
        moved
    }
}

/// How often each instance reads the credentials epoch: a change made on another instance
/// stops cached credentials within this delay.
pub const EPOCH_POLL: Duration = Duration::from_millis(500);

/// Keeps the cache in step with the database's credentials epoch (see [`AuthCache::sync_epoch`]),
/// and the deposit cache with the deposit epoch (`parapheur_store::deposit_cache`).
pub fn spawn_epoch_watch(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EPOCH_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match state.db.epochs().await {
                // A membership or credential change elsewhere may have revoked a signing key
                // this instance keeps in memory.
                Ok(epochs) => {
                    if state.auth.sync_epoch(epochs.credentials) {
                        state.pki.clear_cache();
                    }
                    state.db.deposit_cache.sync_epoch(epochs.deposits);
                }
                Err(e) => {
                    // Unknown epochs: nothing cached can be trusted.
                    state.auth.clear();
                    state.db.deposit_cache.distrust();
                    tracing::warn!(error = %e, "cannot read the credentials epoch");
                }
            }
        }
    });
}
