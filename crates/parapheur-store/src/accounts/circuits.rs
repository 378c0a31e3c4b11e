//! Provisioned circuits: their typed rows and their storage.

use crate::{Db, StoreError, decode};
use parapheur_domain::{CircuitType, StepKind, StepRule, Visibility};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

pub(super) fn json(v: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Encoding(e.to_string()))
}

/// A provisioned circuit, decoded (see [`crate::decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitRow {
    pub siren: String,
    pub id: String,
    pub circuit_type: CircuitType,
    /// Lower-case extensions accepted.
    pub formats: Vec<String>,
    pub metadata_required: bool,
    pub steps: Vec<CircuitStep>,
    /// E-mails allowed to deposit (empty: every member of the subscriber).
    pub depositors: Vec<String>,
    /// Who may read its documents (CONTRACT §8).
    pub visibility: Visibility,
    /// The deadline of its documents, in days after the deposit, when the deposit gives none
    /// (CONTRACT §11).
    pub deadline_days: Option<i64>,
}

/// A step of a provisioned circuit: its kind and its members' e-mails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitStep {
    pub kind: StepKind,
    pub members: Vec<String>,
    /// Whether one member or every member acts (CONTRACT §9).
    pub rule: StepRule,
    /// A signature step its members sign with their own card (`key = "token"`): the server
    /// never signs it with a key of its own.
    pub own_key: bool,
}

/// A step as the `circuits.steps` JSON array holds it:
/// `{"step": "...", "members": [...], "rule": "all"}` (no `rule`: `any`).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredStep {
    step: String,
    #[serde(default)]
    members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    /// `"token"`: signed with the member's own card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl CircuitRow {
    pub(super) fn steps_json(&self) -> Result<String, StoreError> {
        let stored: Vec<StoredStep> = self
            .steps
            .iter()
            .map(|s| StoredStep {
                step: s.kind.as_str().to_owned(),
                members: s.members.clone(),
                rule: (s.rule != StepRule::Any).then(|| s.rule.as_str().to_owned()),
                key: s.own_key.then(|| "token".to_owned()),
            })
            .collect();
        serde_json::to_string(&stored).map_err(|e| StoreError::Encoding(e.to_string()))
    }
}

impl<'r> FromRow<'r, AnyRow> for CircuitRow {
    fn from_row(row: &'r AnyRow) -> Result<Self, sqlx::Error> {
        let stored: Vec<StoredStep> = decode::json(row, "steps")?;
        let steps = stored
            .into_iter()
            .map(|s| {
                Ok(CircuitStep {
                    kind: decode::step_kind_str("steps", &s.step)?,
                    members: s.members,
                    rule: match s.rule.as_deref() {
                        None => StepRule::Any,
                        Some(r) => StepRule::parse(r).map_err(|_| decode::corrupt("steps", r))?,
                    },
                    own_key: s.key.as_deref() == Some("token"),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(Self {
            siren: row.try_get("siren")?,
            id: row.try_get("id")?,
            circuit_type: decode::circuit_type(row, "circuit_type")?,
            formats: decode::json(row, "formats")?,
            metadata_required: decode::flag(row, "metadata_required")?,
            steps,
            depositors: decode::json(row, "depositors")?,
            visibility: {
                let v: String = row.try_get("visibility")?;
                Visibility::parse(&v).map_err(|_| decode::corrupt("visibility", &v))?
            },
            deadline_days: row.try_get("deadline_days")?,
        })
    }
}

impl Db {
    pub async fn upsert_circuit(&self, c: &CircuitRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO circuits (siren, id, circuit_type, formats, metadata_required, steps, depositors, visibility, deadline_days) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (siren, id) DO UPDATE SET circuit_type = excluded.circuit_type, \
               formats = excluded.formats, metadata_required = excluded.metadata_required, \
               steps = excluded.steps, depositors = excluded.depositors, \
               visibility = excluded.visibility, deadline_days = excluded.deadline_days",
        )
        .bind(&c.siren)
        .bind(&c.id)
        .bind(c.circuit_type.as_str())
        .bind(json(&c.formats)?)
        .bind(i64::from(c.metadata_required))
        .bind(c.steps_json()?)
        .bind(json(&c.depositors)?)
        .bind(c.visibility.as_str())
        .bind(c.deadline_days)
        .execute(&self.write)
        .await?;
        // A circuit's visibility decides who may read its documents.
        self.history_cache.invalidate_all();
        self.deposit_cache.invalidate();
        Ok(())
    }

    pub async fn circuit(&self, siren: &str, id: &str) -> Result<Option<CircuitRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT siren, id, circuit_type, formats, metadata_required, steps, depositors, visibility, \
             deadline_days \
             FROM circuits WHERE siren = $1 AND id = $2",
        )
        .bind(siren)
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The provisioned circuits of a subscriber.
    pub async fn circuits(&self, siren: &str) -> Result<Vec<CircuitRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT siren, id, circuit_type, formats, metadata_required, steps, depositors, visibility, \
             deadline_days \
             FROM circuits WHERE siren = $1 ORDER BY id",
        )
        .bind(siren)
        .fetch_all(&self.read)
        .await?)
    }
}
