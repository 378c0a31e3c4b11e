//! The document state machine: what each action does, as history entries and a new status.

use crate::{DocumentStatus, DomainError, HistoryState, StepKind};

/// Who made a history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The user acting (rendered with their full name).
    Caller,
    /// The parapheur itself (rendered with an empty `userFullname`).
    System,
}

/// One history entry produced by a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub state: HistoryState,
    pub actor: Actor,
    pub comment: Option<String>,
}

/// The result of an action: the new status and step, and the entries to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub status: DocumentStatus,
    pub current_step: usize,
    pub entries: Vec<Entry>,
}

/// A human action on the current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Visa,
    Reject,
    Sign,
    Refuse,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visa => "visa",
            Self::Reject => "reject",
            Self::Sign => "sign",
            Self::Refuse => "refuse",
        }
    }
    fn step_kind(self) -> StepKind {
        match self {
            Self::Visa | Self::Reject => StepKind::Visa,
            Self::Sign | Self::Refuse => StepKind::Signature,
        }
    }
    /// Reject and refuse must say why.
    pub fn needs_comment(self) -> bool {
        match self {
            Self::Reject | Self::Refuse => true,
            Self::Visa | Self::Sign => false,
        }
    }
}

/// What happened to a transmission to Helios.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransmissionEvent {
    /// A new attempt after a failure.
    Sending,
    SentToFast,
    TransmittedToHelios,
    Acknowledged,
    /// The platform could not be reached (retried).
    SendFailed(String),
    /// The platform refused the file.
    ProcessingFailed(String),
    /// The platform could not deliver it to Helios (sent again).
    HeliosFailed(String),
}

/// The caller's part in the step a document waits at (CONTRACT §9), looked up by the caller of
/// the domain from the step's members and who of them has acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Not a member of the step, nor acting for one.
    Outsider,
    /// A member of an `all` step who has already acted on it.
    AlreadyActed,
    /// A member whose visa or signature completes the step (an `any` step, or the last member
    /// of an `all` step to act).
    Last,
    /// A member of an `all` step after whom other members must still act.
    NotLast,
}

/// A document's circuit and position, enough to decide every transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    pub steps: Vec<StepKind>,
    pub status: DocumentStatus,
    pub current_step: usize,
}

fn entry(state: HistoryState, actor: Actor, comment: Option<String>) -> Entry {
    Entry {
        state,
        actor,
        comment,
    }
}

impl Workflow {
    /// The transition of a deposit: "Préparé", then the circuit starts unless metadata is awaited.
    pub fn deposit(
        steps: &[StepKind],
        metadata_required: bool,
        comment: Option<String>,
    ) -> Transition {
        let prepared = entry(HistoryState::Prepared, Actor::Caller, comment);
        if metadata_required {
            return Transition {
                status: DocumentStatus::AwaitingMetadata,
                current_step: 0,
                entries: vec![prepared],
            };
        }
        let mut t = Self::enter(steps, 0);
        t.entries.insert(0, prepared);
        t
    }

    /// Entering step `idx` (or classification when none is left).
    fn enter(steps: &[StepKind], idx: usize) -> Transition {
        let Some(kind) = steps.get(idx) else {
            return Transition {
                status: DocumentStatus::Classified,
                current_step: steps.len(),
                entries: vec![entry(HistoryState::Classified, Actor::System, None)],
            };
        };
        let sent = match kind {
            StepKind::Visa => Some(HistoryState::SentForVisa),
            StepKind::Signature | StepKind::ServerSignature => Some(HistoryState::SentForSignature),
            // The OTP loop records its own entries when its information arrives; verification
            // and archiving record their outcome.
            StepKind::OtpSignature
            | StepKind::Verification
            | StepKind::Archive
            | StepKind::Deliver => None,
            StepKind::Transmission => Some(HistoryState::Sending),
        };
        Transition {
            status: DocumentStatus::InProgress,
            current_step: idx,
            entries: sent
                .map(|s| entry(s, Actor::System, None))
                .into_iter()
                .collect(),
        }
    }

    /// The step the document waits at, if any.
    pub fn current_kind(&self) -> Option<StepKind> {
        match self.status {
            DocumentStatus::InProgress => self.steps.get(self.current_step).copied(),
            DocumentStatus::AwaitingMetadata
            | DocumentStatus::VisaDisapproved
            | DocumentStatus::Refused
            | DocumentStatus::SignatureRejected
            | DocumentStatus::Classified => None,
        }
    }

    /// Metadata defined: "Métadonnées définies", and the circuit starts if it waited for them.
    pub fn define_metadata(&self) -> Result<Transition, DomainError> {
        let defined = entry(HistoryState::MetadataDefined, Actor::Caller, None);
        match self.status {
            DocumentStatus::AwaitingMetadata => {
                let mut t = Self::enter(&self.steps, 0);
                t.entries.insert(0, defined);
                Ok(t)
            }
            DocumentStatus::InProgress => Ok(Transition {
                status: self.status,
                current_step: self.current_step,
                entries: vec![defined],
            }),
            DocumentStatus::VisaDisapproved
            | DocumentStatus::Refused
            | DocumentStatus::SignatureRejected
            | DocumentStatus::Classified => Err(DomainError::ActionNotAllowed {
                action: "metadata/define",
            }),
        }
    }

    /// A caller acts on the current step: the action must fit the step, the caller must be one
    /// of its members who has not acted yet (`turn`, looked up by the caller), and reject and
    /// refuse need a comment — checked in that order. On an `all` step a visa or signature that
    /// leaves other members to act records the entry and keeps the document on the step.
    pub fn act_by(
        &self,
        turn: Turn,
        action: Action,
        comment: Option<String>,
    ) -> Result<Transition, DomainError> {
        if self.current_kind() != Some(action.step_kind()) {
            return Err(DomainError::ActionNotAllowed {
                action: action.as_str(),
            });
        }
        match turn {
            Turn::Outsider => Err(DomainError::NotAStepMember),
            Turn::AlreadyActed => Err(DomainError::ActionNotAllowed {
                action: action.as_str(),
            }),
            Turn::Last => self.act(action, comment),
            Turn::NotLast => {
                let t = self.act(action, comment)?;
                Ok(match action {
                    Action::Visa | Action::Sign => Transition {
                        status: self.status,
                        current_step: self.current_step,
                        entries: t.entries.into_iter().take(1).collect(),
                    },
                    Action::Reject | Action::Refuse => t,
                })
            }
        }
    }

    /// A member acts on the current step. `comment` is required for reject and refuse.
    pub fn act(&self, action: Action, comment: Option<String>) -> Result<Transition, DomainError> {
        let comment = comment.filter(|c| !c.trim().is_empty());
        if self.current_kind() != Some(action.step_kind()) {
            return Err(DomainError::ActionNotAllowed {
                action: action.as_str(),
            });
        }
        if action.needs_comment() && comment.is_none() {
            return Err(DomainError::ReasonRequired(action.as_str()));
        }
        Ok(match action {
            Action::Visa | Action::Sign => {
                let state = if action == Action::Visa {
                    HistoryState::VisaApproved
                } else {
                    HistoryState::Signed
                };
                let mut t = Self::enter(&self.steps, self.current_step + 1);
                t.entries.insert(0, entry(state, Actor::Caller, comment));
                t
            }
            Action::Reject => Transition {
                status: DocumentStatus::VisaDisapproved,
                current_step: self.current_step,
                entries: vec![entry(HistoryState::VisaDisapproved, Actor::Caller, comment)],
            },
            Action::Refuse => Transition {
                status: DocumentStatus::Refused,
                current_step: self.current_step,
                entries: vec![entry(HistoryState::Refused, Actor::Caller, comment)],
            },
        })
    }

    /// The index of the current OTPSignature step among the circuit's OTP steps (the `n` of
    /// `OTP_*_n`), when the document waits at one.
    pub fn otp_ordinal(&self) -> Option<usize> {
        (self.current_kind() == Some(StepKind::OtpSignature)).then(|| {
            self.steps[..self.current_step]
                .iter()
                .filter(|k| **k == StepKind::OtpSignature)
                .count()
        })
    }

    /// OTP information defined ("Informations OTP définies"): allowed while an OTP step is still
    /// ahead (or current), which it never changes.
    pub fn define_otp_information(&self) -> Result<Transition, DomainError> {
        let ahead = match self.status {
            DocumentStatus::AwaitingMetadata => &self.steps[..],
            DocumentStatus::InProgress => self.steps.get(self.current_step..).unwrap_or(&[]),
            DocumentStatus::VisaDisapproved
            | DocumentStatus::Refused
            | DocumentStatus::SignatureRejected
            | DocumentStatus::Classified => &[],
        };
        if !ahead.contains(&StepKind::OtpSignature) {
            return Err(DomainError::ActionNotAllowed {
                action: "otp/metadata/define",
            });
        }
        Ok(Transition {
            status: self.status,
            current_step: self.current_step,
            entries: vec![entry(
                HistoryState::OtpInformationDefined,
                Actor::Caller,
                None,
            )],
        })
    }

    /// The OTP signer entered the right code and the document was signed: "OTP validé",
    /// "OTP signé" (with the evidence), then the next step. The caller is the OTP signer.
    pub fn otp_signed(&self, evidence: String) -> Result<Transition, DomainError> {
        if self.current_kind() != Some(StepKind::OtpSignature) {
            return Err(DomainError::ActionNotAllowed {
                action: "otp signature",
            });
        }
        let mut t = Self::enter(&self.steps, self.current_step + 1);
        t.entries.insert(
            0,
            entry(HistoryState::OtpSigned, Actor::Caller, Some(evidence)),
        );
        t.entries
            .insert(0, entry(HistoryState::OtpValidated, Actor::Caller, None));
        Ok(t)
    }

    /// The OTP signer refused to sign ("Refusé à l'étape OTP", with the reason): the circuit
    /// stops as after a refusal at a signature step.
    pub fn otp_refused(&self, reason: Option<String>) -> Result<Transition, DomainError> {
        if self.current_kind() != Some(StepKind::OtpSignature) {
            return Err(DomainError::ActionNotAllowed {
                action: "otp refusal",
            });
        }
        let reason = reason
            .filter(|r| !r.trim().is_empty())
            .ok_or(DomainError::ReasonRequired("otp refusal"))?;
        Ok(Transition {
            status: DocumentStatus::Refused,
            current_step: self.current_step,
            entries: vec![entry(
                HistoryState::RefusedAtOtp,
                Actor::Caller,
                Some(reason),
            )],
        })
    }

    /// The outcome of the automatic verification step the document waits at: "Signature validée"
    /// and the next step, or "signature rejetée" which stops the circuit.
    pub fn verified(&self, ok: bool, detail: Option<String>) -> Result<Transition, DomainError> {
        if self.current_kind() != Some(StepKind::Verification) {
            return Err(DomainError::ActionNotAllowed {
                action: "verification",
            });
        }
        Ok(if ok {
            let mut t = Self::enter(&self.steps, self.current_step + 1);
            t.entries.insert(
                0,
                entry(HistoryState::SignatureValidated, Actor::System, detail),
            );
            t
        } else {
            Transition {
                status: DocumentStatus::SignatureRejected,
                current_step: self.current_step,
                entries: vec![entry(
                    HistoryState::SignatureRejected,
                    Actor::System,
                    detail,
                )],
            }
        })
    }

    /// An event of the Helios transmission the document waits at. Failures are recorded and
    /// leave the document at the step (the transmission is retried); the acknowledgement moves
    /// on ("Acquittance Hélios", then "Classé").
    pub fn transmission(&self, event: TransmissionEvent) -> Result<Transition, DomainError> {
        if self.current_kind() != Some(StepKind::Transmission) {
            return Err(DomainError::ActionNotAllowed {
                action: "transmission",
            });
        }
        let stay = |state, comment| Transition {
            status: self.status,
            current_step: self.current_step,
            entries: vec![entry(state, Actor::System, comment)],
        };
        Ok(match event {
            TransmissionEvent::Sending => stay(HistoryState::Sending, None),
            TransmissionEvent::SentToFast => stay(HistoryState::SentToFast, None),
            TransmissionEvent::TransmittedToHelios => stay(HistoryState::TransmittedToHelios, None),
            TransmissionEvent::SendFailed(m) => stay(HistoryState::SendToFastFailed, Some(m)),
            TransmissionEvent::ProcessingFailed(m) => {
                stay(HistoryState::FastProcessingFailed, Some(m))
            }
            TransmissionEvent::HeliosFailed(m) => stay(HistoryState::SendToHeliosFailed, Some(m)),
            TransmissionEvent::Acknowledged => {
                let mut t = Self::enter(&self.steps, self.current_step + 1);
                t.entries.insert(
                    0,
                    entry(HistoryState::HeliosAcknowledged, Actor::System, None),
                );
                t
            }
        })
    }

    /// The automatic seal signature of a `serverSignature` step: "Signé" (by the seal), then the
    /// next step.
    pub fn server_signed(&self) -> Result<Transition, DomainError> {
        self.automatic_done(
            StepKind::ServerSignature,
            HistoryState::Signed,
            "serverSignature",
        )
    }

    /// The deposit into the electronic vault of an `archive` step: "Archivé", then the next step.
    pub fn archived(&self) -> Result<Transition, DomainError> {
        self.automatic_done(StepKind::Archive, HistoryState::Archived, "archive")
    }

    /// The hand-over of a `deliver` step: "Remis aux destinataires", then the next step.
    pub fn delivered(&self, detail: Option<String>) -> Result<Transition, DomainError> {
        let mut t = self.automatic_done(StepKind::Deliver, HistoryState::Delivered, "deliver")?;
        t.entries[0].comment = detail;
        Ok(t)
    }

    fn automatic_done(
        &self,
        kind: StepKind,
        state: HistoryState,
        action: &'static str,
    ) -> Result<Transition, DomainError> {
        if self.current_kind() != Some(kind) {
            return Err(DomainError::ActionNotAllowed { action });
        }
        let mut t = Self::enter(&self.steps, self.current_step + 1);
        t.entries.insert(0, entry(state, Actor::Caller, None));
        Ok(t)
    }

    /// The depositor replaces the main file: allowed while nobody has acted, and after a visa
    /// disapproval or a refusal. "Document remplacé", and the circuit starts again.
    pub fn replaced(&self, someone_acted: bool) -> Result<Transition, DomainError> {
        let allowed = match self.status {
            DocumentStatus::AwaitingMetadata => true,
            DocumentStatus::InProgress => !someone_acted,
            DocumentStatus::VisaDisapproved | DocumentStatus::Refused => true,
            DocumentStatus::SignatureRejected | DocumentStatus::Classified => false,
        };
        if !allowed {
            return Err(DomainError::ActionNotAllowed { action: "replace" });
        }
        if self.status == DocumentStatus::AwaitingMetadata {
            return Ok(Transition {
                status: self.status,
                current_step: 0,
                entries: vec![entry(HistoryState::Replaced, Actor::Caller, None)],
            });
        }
        let mut t = Self::enter(&self.steps, 0);
        t.entries
            .insert(0, entry(HistoryState::Replaced, Actor::Caller, None));
        Ok(t)
    }

    /// An administrator stops the circuit: "Classé (interrompu)".
    pub fn interrupted(&self, comment: Option<String>) -> Result<Transition, DomainError> {
        let comment = comment.filter(|c| !c.trim().is_empty());
        if comment.is_none() {
            return Err(DomainError::ReasonRequired("interrupt"));
        }
        if self.status == DocumentStatus::Classified {
            return Err(DomainError::ActionNotAllowed {
                action: "interrupt",
            });
        }
        Ok(Transition {
            status: DocumentStatus::Classified,
            current_step: self.current_step,
            entries: vec![entry(
                HistoryState::ClassifiedInterrupted,
                Actor::Caller,
                comment,
            )],
        })
    }

    /// Deletion is allowed while nobody has acted on the document yet ("Préparé": deposited,
    /// possibly sent to its first step) and after a visa disapproval or a refusal.
    pub fn can_delete(&self, someone_acted: bool) -> bool {
        match self.status {
            DocumentStatus::AwaitingMetadata => true,
            DocumentStatus::InProgress => !someone_acted,
            DocumentStatus::VisaDisapproved
            | DocumentStatus::Refused
            | DocumentStatus::SignatureRejected => true,
            DocumentStatus::Classified => false,
        }
    }
}

#[cfg(test)]
mod tests;
