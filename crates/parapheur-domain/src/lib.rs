#![doc = include_str!("../README.md")]

pub mod circuit;
pub mod error;
pub mod ids;
pub mod metadata;
pub mod otp;
pub mod pes;
pub mod state;
pub mod workflow;

pub use circuit::{
    CircuitType, ONDEMAND_CIRCUIT, OnDemandCircuit, OnDemandStep, StepKind, StepRule, Visibility,
};
pub use error::DomainError;
pub use ids::{CircuitId, DocumentId, Email, FileName, Siren};
pub use state::{DocumentStatus, HistoryState};
pub use workflow::{Action, Actor, Entry, Transition, TransmissionEvent, Turn, Workflow};
