//! Failed authentications counted per subject (an account, a client IP), shared by every
//! instance, and the epoch that tells every instance to forget the credentials it verified.

use crate::{Db, StoreError, now_ms};
use std::net::IpAddr;

/// What a count of failed authentications is about. Each kind has its own key space: an
/// e-mail can never be taken for an address or the reverse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// An account, by its lower-case e-mail (also unknown ones: they are counted alike).
    Account(String),
    /// A client address.
    Ip(IpAddr),
    /// A client address using the public verification service (every request counts).
    VerifierIp(IpAddr),
    /// A client address starting single sign-ons (each start is a provider discovery and a
    /// stored row, so every start counts).
    SignOnIp(IpAddr),
}

impl Subject {
    fn kind(&self) -> &'static str {
        match self {
            Self::Account(_) => "account",
            Self::Ip(_) => "ip",
            Self::VerifierIp(_) => "verifier-ip",
            Self::SignOnIp(_) => "sign-on-ip",
        }
    }
    fn key(&self) -> String {
        match self {
            Self::Account(e) => e.clone(),
            Self::Ip(ip) | Self::VerifierIp(ip) | Self::SignOnIp(ip) => ip.to_string(),
        }
    }
}

/// Failures as counted: how many the window holds, and when the window ends (ms since the
/// epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub count: i64,
    pub window_end: i64,
}

impl Db {
    /// The failures of `subject` in its current window (`None` when none or the window is
    /// over).
    pub async fn auth_failures(
        &self,
        subject: &Subject,
        window_ms: i64,
    ) -> Result<Option<Attempt>, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT failures, first_at FROM auth_failures WHERE kind = $1 AND subject = $2",
        )
        .bind(subject.kind())
        .bind(subject.key())
        .fetch_optional(&self.read)
        .await?;
        Ok(row
            .filter(|(_, first)| *first > now_ms() - window_ms)
            .map(|(count, first)| Attempt {
                count,
                window_end: first + window_ms,
            }))
    }

    /// Counts a failed authentication of `subject`, atomically (one statement); a window older
    /// than `window_ms` starts again. Returns the count with this one.
    pub async fn auth_failed(
        &self,
        subject: &Subject,
        window_ms: i64,
    ) -> Result<Attempt, StoreError> {
        let now = now_ms();
        let (count, first): (i64, i64) = sqlx::query_as(
            "INSERT INTO auth_failures (kind, subject, failures, first_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (kind, subject) DO UPDATE SET \
             failures = CASE WHEN auth_failures.first_at <= $4 THEN 1 ELSE auth_failures.failures + 1 END, \
             first_at = CASE WHEN auth_failures.first_at <= $4 THEN $3 ELSE auth_failures.first_at END \
             RETURNING failures, first_at",
        )
        .bind(subject.kind())
        .bind(subject.key())
        .bind(now)
        .bind(now - window_ms)
        .fetch_one(&self.write)
        .await?;
        Ok(Attempt {
            count,
            window_end: first + window_ms,
        })
    }

    /// A successful authentication clears the failures of `subject`.
    pub async fn auth_succeeded(&self, subject: &Subject) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM auth_failures WHERE kind = $1 AND subject = $2")
            .bind(subject.kind())
            .bind(subject.key())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The credentials epoch and the deposit epoch, in one read. Both change by database
    /// triggers: the first with any change of a user's credentials, authentication type or
    /// memberships, a user's removal or a revocation; the second with any change of what a
    /// deposit reads (`crate::deposit_cache`).
    pub async fn epochs(&self) -> Result<Epochs, StoreError> {
        let (credentials, deposits): (i64, i64) = sqlx::query_as(
            "SELECT a.n, d.n FROM auth_epoch a, deposit_epoch d WHERE a.id = 1 AND d.id = 1",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(Epochs {
            credentials,
            deposits,
        })
    }
}

/// The epochs each instance watches (see [`Db::epochs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epochs {
    /// Moves with credentials, authentication types, memberships and revocations.
    pub credentials: i64,
    /// Moves with what deposits read: circuits, subscribers, users, memberships, absences.
    pub deposits: i64,
}
