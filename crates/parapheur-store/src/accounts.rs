//! Subscribers, users, memberships, groups and provisioned circuits.

use crate::{Db, StoreError};
use sqlx::FromRow;

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

#[derive(Debug, Clone, FromRow)]
pub struct CircuitRow {
    pub siren: String,
    pub id: String,
    pub circuit_type: String,
    /// JSON array of lower-case extensions.
    pub formats: String,
    pub metadata_required: i64,
    /// JSON array of `{"step": "...", "members": ["email", ...]}`.
    pub steps: String,
    /// JSON array of e-mails allowed to deposit (empty: every member of the subscriber).
    pub depositors: String,
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

    pub async fn upsert_circuit(&self, c: &CircuitRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO circuits (siren, id, circuit_type, formats, metadata_required, steps, depositors) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (siren, id) DO UPDATE SET circuit_type = excluded.circuit_type, \
               formats = excluded.formats, metadata_required = excluded.metadata_required, \
               steps = excluded.steps, depositors = excluded.depositors",
        )
        .bind(&c.siren)
        .bind(&c.id)
        .bind(&c.circuit_type)
        .bind(&c.formats)
        .bind(c.metadata_required)
        .bind(&c.steps)
        .bind(&c.depositors)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn circuit(&self, siren: &str, id: &str) -> Result<Option<CircuitRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT siren, id, circuit_type, formats, metadata_required, steps, depositors \
             FROM circuits WHERE siren = $1 AND id = $2",
        )
        .bind(siren)
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }
}
