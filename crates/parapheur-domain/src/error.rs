//! The domain error: every way a rule of the parapheur can be broken.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    #[error("invalid SIREN {0:?}: nine digits expected")]
    InvalidSiren(String),
    #[error("invalid document id {0:?}")]
    InvalidDocumentId(String),
    #[error("invalid e-mail address {0:?}")]
    InvalidEmail(String),
    #[error("invalid circuit id {0:?}")]
    InvalidCircuitId(String),
    #[error("invalid file name {0:?}")]
    InvalidFileName(String),
    #[error("invalid circuit type {0:?}")]
    InvalidCircuitType(String),
    #[error("invalid step type {0:?}")]
    InvalidStepType(String),
    #[error("invalid step member {0:?}")]
    InvalidStepMember(String),
    #[error("circuit definition error: {0}")]
    CircuitDefinition(String),
    #[error("the depositor {0} cannot be a visa or signature member")]
    DepositorIsMember(String),
    #[error("not a valid PES_Aller: {0}")]
    InvalidPes(String),
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),
    #[error("action {action} is not possible in the document's current state")]
    ActionNotAllowed { action: &'static str },
    #[error("a comment giving the reason is required to {0}")]
    ReasonRequired(&'static str),
    #[error("the caller is not a member of the current step")]
    NotAStepMember,
}
