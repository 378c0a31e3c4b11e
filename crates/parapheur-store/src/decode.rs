//! Decoding of stored columns into domain types, in one place: a value the domain does not know
//! is a [`Corrupt`] column error, never a default.

use parapheur_domain::{CircuitType, DocumentStatus, StepKind};
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A stored value that does not decode into its domain type.
#[derive(Debug, thiserror::Error)]
#[error("column {column}: cannot decode {value:?}")]
pub struct Corrupt {
    pub column: &'static str,
    pub value: String,
}

pub(crate) fn corrupt(column: &'static str, value: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(Corrupt {
            column,
            value: value.chars().take(80).collect(),
        }),
    }
}

pub(crate) fn status(row: &AnyRow, column: &'static str) -> Result<DocumentStatus, sqlx::Error> {
    let s: String = row.try_get(column)?;
    DocumentStatus::parse(&s).ok_or_else(|| corrupt(column, &s))
}

pub(crate) fn circuit_type(row: &AnyRow, column: &'static str) -> Result<CircuitType, sqlx::Error> {
    let s: String = row.try_get(column)?;
    CircuitType::parse(&s).map_err(|_| corrupt(column, &s))
}

pub(crate) fn step_kind(row: &AnyRow, column: &'static str) -> Result<StepKind, sqlx::Error> {
    let s: String = row.try_get(column)?;
    StepKind::parse(&s).map_err(|_| corrupt(column, &s))
}

/// An integer 0/1 column.
pub(crate) fn flag(row: &AnyRow, column: &'static str) -> Result<bool, sqlx::Error> {
    let v: i64 = row.try_get(column)?;
    Ok(v != 0)
}

/// A JSON text column.
pub(crate) fn json<T: DeserializeOwned>(
    row: &AnyRow,
    column: &'static str,
) -> Result<T, sqlx::Error> {
    let s: String = row.try_get(column)?;
    serde_json::from_str(&s).map_err(|_| corrupt(column, &s))
}

/// Parses a step kind read alone (`SELECT kind ...`).
pub(crate) fn step_kind_str(column: &'static str, s: &str) -> Result<StepKind, sqlx::Error> {
    StepKind::parse(s).map_err(|_| corrupt(column, s))
}
