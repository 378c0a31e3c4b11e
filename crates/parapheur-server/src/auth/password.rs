//! Password hashing (argon2id) with a bounded number of concurrent hashes and a decoy hash
//! for unknown accounts.

use super::*;

/// Password verifications at once (argon2id holds 19 MiB each): a flood of wrong passwords
/// queues instead of exhausting memory.
pub(super) fn hash_permits(state: &AppState) -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let n = match state.cfg.limits.password_hash_concurrency {
            0 => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            n => n,
        };
        Semaphore::new(n)
    })
}

/// A hash verified when the account is unknown or has no password, so that the answer takes
/// the time of a real verification and does not tell which e-mails exist.
pub(super) fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| hash_password(&hex::encode(rand::random::<[u8; 16]>())).unwrap_or_default())
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Hashes a password on a blocking thread, within the limit of concurrent hashes.
pub async fn hash_password_limited(state: &AppState, password: String) -> anyhow::Result<String> {
    let _permit = hash_permits(state).acquire().await?;
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

/// Checks a password against a user's argon2 hash on a blocking thread, within the limit of
/// concurrent hashes; with no hash (unknown account, no password), a decoy hash is checked
/// so that the time taken is the same, and the answer is `false`.
pub async fn check_password(state: &AppState, hash: Option<String>, password: String) -> bool {
    let Ok(_permit) = hash_permits(state).acquire().await else {
        return false;
    };
    let real = hash.is_some();
    let hash = hash.unwrap_or_else(|| decoy_hash().to_owned());
    tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false)
        && real
}

pub(crate) fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}
