//! Subscribers, users, memberships, groups and provisioned circuits.

use crate::{Db, StoreError};
use sqlx::FromRow;

mod circuits;
mod deposit_reads;

use circuits::json;
pub use circuits::{CircuitRow, CircuitStep};
pub use deposit_reads::DepositReads;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub auth_type: String,
    pub password_hash: Option<String>,
    pub credentials_version: i64,
}

impl UserRow {
    /// "Prénom Nom", as history entries show it.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct MembershipRow {
    pub siren: String,
    pub is_admin: i64,
}

/// A user to create or update (provisioning, synchronisation).
#[derive(Debug, Clone)]
pub struct UserUpsert<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub auth_type: &'a str,
    /// `None` keeps the current hash.
    pub password_hash: Option<&'a str>,
    pub certificate: Option<&'a str>,
}

const USER_COLS: &str =
    "id, email, first_name, last_name, auth_type, password_hash, credentials_version";

impl Db {
    pub async fn upsert_subscriber(&self, siren: &str, name: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO subscribers (siren, name) VALUES ($1, $2) \
             ON CONFLICT (siren) DO UPDATE SET name = excluded.name",
        )
        .bind(siren)
        .bind(name)
        .execute(&self.write)
        .await?;
        self.deposit_cache.invalidate();
        Ok(())
    }

    pub async fn subscriber_exists(&self, siren: &str) -> Result<bool, StoreError> {
        let n: Option<(String,)> = sqlx::query_as("SELECT siren FROM subscribers WHERE siren = $1")
            .bind(siren)
            .fetch_optional(&self.read)
            .await?;
        Ok(n.is_some())
    }

    pub async fn subscriber_name(&self, siren: &str) -> Result<Option<String>, StoreError> {
        let n: Option<(String,)> = sqlx::query_as("SELECT name FROM subscribers WHERE siren = $1")
            .bind(siren)
            .fetch_optional(&self.read)
            .await?;
        Ok(n.map(|t| t.0))
    }

    /// Creates or updates a user by e-mail; returns its id.
    pub async fn upsert_user(&self, u: &UserUpsert<'_>) -> Result<i64, StoreError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO users (email, first_name, last_name, auth_type, password_hash, certificate) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (email) DO UPDATE SET first_name = excluded.first_name, \
               last_name = excluded.last_name, auth_type = excluded.auth_type, \
               password_hash = COALESCE(excluded.password_hash, users.password_hash), \
               certificate = COALESCE(excluded.certificate, users.certificate), \
               credentials_version = users.credentials_version + 1 \
             RETURNING id",
        )
        .bind(u.email)
        .bind(u.first_name)
        .bind(u.last_name)
        .bind(u.auth_type)
        .bind(u.password_hash)
        .bind(u.certificate)
        .fetch_one(&self.write)
        .await?;
        self.deposit_cache.invalidate();
        Ok(id)
    }

    pub async fn set_membership(
        &self,
        user_id: i64,
        siren: &str,
        admin: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO memberships (user_id, siren, is_admin) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, siren) DO UPDATE SET is_admin = excluded.is_admin",
        )
        .bind(user_id)
        .bind(siren)
        .bind(i64::from(admin))
        .execute(&self.write)
        .await?;
        self.history_cache.invalidate_all();
        self.deposit_cache.invalidate();
        Ok(())
    }

    pub async fn add_group_member(
        &self,
        siren: &str,
        group: &str,
        user_id: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO group_members (siren, group_name, user_id) VALUES ($1, $2, $3) \
             ON CONFLICT (siren, group_name, user_id) DO NOTHING",
        )
        .bind(siren)
        .bind(group)
        .bind(user_id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE email = $1"))
                .bind(email)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub async fn memberships(&self, user_id: i64) -> Result<Vec<MembershipRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT siren, is_admin FROM memberships WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Users of a subscriber among `emails` (lower-case): `(email, id)`.
    pub async fn members_by_email(
        &self,
        siren: &str,
        emails: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = (0..emails.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT u.email, u.id FROM users u JOIN memberships m ON m.user_id = u.id \
             WHERE m.siren = $1 AND u.email IN ({}) ORDER BY u.email",
            list.join(", ")
        );
        let mut q = sqlx::query_as(&sql).bind(siren);
        for e in emails {
            q = q.bind(e);
        }
        Ok(q.fetch_all(&self.read).await?)
    }
}

/// A user named by a deposit (a step member or an agent), as the deposit needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositPerson {
    pub email: String,
    /// Its id if it is a member of the subscriber of the deposit.
    pub member_id: Option<i64>,
    /// Whether it chose the daily digest (CONTRACT §11) over a message per document.
    pub digest: bool,
    /// Whom it delegates to on the day of the deposit (CONTRACT §10): e-mail, and whether the
    /// delegate chose the digest.
    pub delegate: Option<(String, bool)>,
}

impl Db {
    /// CERTIFICAT users: `(id, email, registered certificate PEM)`.
    pub async fn certificate_users(
        &self,
    ) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, email, certificate FROM users WHERE auth_type = 'CERTIFICAT' ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?)
    }
}

/// A user of a subscriber, for the export.
#[derive(Debug, Clone, FromRow)]
pub struct SubscriberUser {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub auth_type: String,
    pub is_admin: i64,
}

/// What a synchronisation did beyond the memberships.
#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    /// E-mails of the users created.
    pub created: Vec<String>,
    /// E-mails of users of other subscribers too, whose identity was left unchanged although the
    /// entry differed.
    pub foreign: Vec<String>,
}

/// A user entry of a synchronisation, already validated.
#[derive(Debug, Clone)]
pub struct SyncUser {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub auth_type: String,
    pub groups: Vec<String>,
}

impl Db {
    /// Members of a subscriber, by e-mail.
    pub async fn subscriber_users(&self, siren: &str) -> Result<Vec<SubscriberUser>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.email, u.first_name, u.last_name, u.auth_type, m.is_admin \
             FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.siren = $1 ORDER BY u.email",
        )
        .bind(siren)
        .fetch_all(&self.read)
        .await?)
    }

    /// `(user id, group)` of a subscriber.
    pub async fn subscriber_groups(&self, siren: &str) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, group_name FROM group_members WHERE siren = $1 ORDER BY group_name",
        )
        .bind(siren)
        .fetch_all(&self.read)
        .await?)
    }

    /// Applies a synchronisation in one transaction: `users` created or updated (names and
    /// authentication type; passwords and certificates kept), members of `siren` with exactly
    /// their `groups`; `removed` users lose their membership and groups of `siren`; `circuits`
    /// rewritten (members removed). A user who also belongs to another subscriber keeps their
    /// identity (names, authentication type): one subscriber never changes another's user; such
    /// entries are returned in [`SyncOutcome::foreign`].
    pub async fn apply_user_sync(
        &self,
        siren: &str,
        users: &[SyncUser],
        removed: &[i64],
        circuits: &[CircuitRow],
    ) -> Result<SyncOutcome, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut out = SyncOutcome::default();
        for u in users {
            let existing: Option<(i64, String, String, String)> = sqlx::query_as(
                "SELECT id, first_name, last_name, auth_type FROM users WHERE email = $1",
            )
            .bind(&u.email)
            .fetch_optional(&mut *tx)
            .await?;
            let id = match existing {
                Some((id, first, last, auth)) => {
                    let (elsewhere,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM memberships WHERE user_id = $1 AND siren <> $2",
                    )
                    .bind(id)
                    .bind(siren)
                    .fetch_one(&mut *tx)
                    .await?;
                    let same = first == u.first_name && last == u.last_name && auth == u.auth_type;
                    if elsewhere > 0 && !same {
                        out.foreign.push(u.email.clone());
                        // Membership and groups below; the identity stays as it is.
                    } else if !same {
                        sqlx::query(
                        "UPDATE users SET first_name = $1, last_name = $2, auth_type = $3, \
                         credentials_version = credentials_version + CASE WHEN auth_type = $3 THEN 0 ELSE 1 END \
                         WHERE id = $4",
                    )
                    .bind(&u.first_name)
                    .bind(&u.last_name)
                    .bind(&u.auth_type)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    }
                    id
                }
                None => {
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO users (email, first_name, last_name, auth_type) \
                         VALUES ($1, $2, $3, $4) RETURNING id",
                    )
                    .bind(&u.email)
                    .bind(&u.first_name)
                    .bind(&u.last_name)
                    .bind(&u.auth_type)
                    .fetch_one(&mut *tx)
                    .await?;
                    out.created.push(u.email.clone());
                    id
                }
            };
            sqlx::query(
                "INSERT INTO memberships (user_id, siren, is_admin) VALUES ($1, $2, 0) \
                 ON CONFLICT (user_id, siren) DO NOTHING",
            )
            .bind(id)
            .bind(siren)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM group_members WHERE siren = $1 AND user_id = $2")
                .bind(siren)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            for g in &u.groups {
                sqlx::query(
                    "INSERT INTO group_members (siren, group_name, user_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (siren, group_name, user_id) DO NOTHING",
                )
                .bind(siren)
                .bind(g)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
        }
        for id in removed {
            sqlx::query("DELETE FROM memberships WHERE siren = $1 AND user_id = $2")
                .bind(siren)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM group_members WHERE siren = $1 AND user_id = $2")
                .bind(siren)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for c in circuits {
            sqlx::query(
                "UPDATE circuits SET steps = $1, depositors = $2 WHERE siren = $3 AND id = $4",
            )
            .bind(c.steps_json()?)
            .bind(json(&c.depositors)?)
            .bind(siren)
            .bind(&c.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        // Memberships decide who sees and acts on the subscriber's documents.
        self.history_cache.invalidate_all();
        self.deposit_cache.invalidate();
        Ok(out)
    }

    /// Sets a user's password hash (invitation or reset) and bumps the credentials version.
    pub async fn set_password(&self, user_id: i64, hash: &str) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE users SET password_hash = $1, credentials_version = credentials_version + 1 WHERE id = $2",
        )
        .bind(hash)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        // Every pending invitation or reset link of the user stops working.
        sqlx::query(
            "DELETE FROM access_links WHERE purpose IN ('invitation', 'reset') AND document_ids = $1",
        )
        .bind(format!("[{user_id}]"))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many links of `purpose` were made for a user since `since_ms`.
    pub async fn user_links_since(
        &self,
        purpose: &str,
        user_id: i64,
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM access_links WHERE purpose = $1 AND document_ids = $2 AND created_at >= $3",
        )
        .bind(purpose)
        .bind(format!("[{user_id}]"))
        .bind(since_ms)
        .fetch_one(&self.read)
        .await?;
        Ok(n)
    }
}
