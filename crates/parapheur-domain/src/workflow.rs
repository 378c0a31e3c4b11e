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
    /// of its members (`is_member`, looked up by the caller), and reject and refuse need a
    /// comment — checked in that order.
    pub fn act_by(
        &self,
        is_member: bool,
        action: Action,
        comment: Option<String>,
    ) -> Result<Transition, DomainError> {
        if self.current_kind() != Some(action.step_kind()) {
            return Err(DomainError::ActionNotAllowed {
                action: action.as_str(),
            });
        }
        if !is_member {
            return Err(DomainError::NotAStepMember);
        }
        self.act(action, comment)
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
mod tests {
    use super::*;
    use HistoryState as H;
    use proptest::prelude::*;

    fn names(t: &Transition) -> Vec<&'static str> {
        t.entries.iter().map(|e| e.state.as_str()).collect()
    }

    fn apply(w: &mut Workflow, t: &Transition) {
        w.status = t.status;
        w.current_step = t.current_step;
    }

    #[test]
    fn visa_visa_signature_is_classified() {
        let steps = vec![StepKind::Visa, StepKind::Visa, StepKind::Signature];
        let t = Workflow::deposit(&steps, false, None);
        assert_eq!(names(&t), ["Préparé", "Envoyé pour visa"]);
        let mut w = Workflow {
            steps,
            status: t.status,
            current_step: t.current_step,
        };
        let mut all = names(&t);
        for a in [Action::Visa, Action::Visa, Action::Sign] {
            let t = w.act(a, None).unwrap_or_else(|e| panic!("{e}"));
            all.extend(names(&t));
            apply(&mut w, &t);
        }
        assert_eq!(
            all,
            [
                "Préparé",
                "Envoyé pour visa",
                "Visa approuvé",
                "Envoyé pour visa",
                "Visa approuvé",
                "Envoyé pour signature",
                "Signé",
                "Classé"
            ]
        );
        assert_eq!(w.status, DocumentStatus::Classified);
        assert!(!w.can_delete(true));
    }

    #[test]
    fn wrong_action_for_the_step_is_refused() {
        let steps = vec![StepKind::Visa];
        let t = Workflow::deposit(&steps, false, None);
        let w = Workflow {
            steps,
            status: t.status,
            current_step: t.current_step,
        };
        assert!(w.act(Action::Sign, None).is_err());
        assert!(w.act(Action::Refuse, Some("non".into())).is_err());
        assert!(
            w.act(Action::Reject, None).is_err(),
            "reject needs a reason"
        );
        let t = w
            .act(Action::Reject, Some("incomplet".into()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.status, DocumentStatus::VisaDisapproved);
        assert_eq!(t.entries[0].state, H::VisaDisapproved);
        assert_eq!(t.entries[0].comment.as_deref(), Some("incomplet"));
    }

    #[test]
    fn metadata_step_holds_the_circuit() {
        let steps = vec![StepKind::Signature];
        let t = Workflow::deposit(&steps, true, Some("urgent".into()));
        assert_eq!(names(&t), ["Préparé"]);
        assert_eq!(t.entries[0].comment.as_deref(), Some("urgent"));
        let w = Workflow {
            steps,
            status: t.status,
            current_step: 0,
        };
        assert!(w.act(Action::Sign, None).is_err());
        let t = w.define_metadata().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["Métadonnées définies", "Envoyé pour signature"]);
    }

    #[test]
    fn verification_step_validates_or_stops() {
        let steps = vec![StepKind::Signature, StepKind::Verification];
        let w = Workflow {
            steps: steps.clone(),
            status: DocumentStatus::InProgress,
            current_step: 0,
        };
        assert!(
            w.verified(true, None).is_err(),
            "not at the verification step"
        );
        let t = w.act(Action::Sign, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            names(&t),
            ["Signé"],
            "the verification step waits for its run"
        );
        let w = Workflow {
            steps: steps.clone(),
            status: t.status,
            current_step: t.current_step,
        };
        let ok = w.verified(true, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&ok), ["Signature validée", "Classé"]);
        let ko = w
            .verified(false, Some("digest".into()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&ko), ["signature rejetée"]);
        assert_eq!(ko.status, DocumentStatus::SignatureRejected);
    }

    #[test]
    fn otp_step_signs_with_evidence() {
        let steps = vec![
            StepKind::Visa,
            StepKind::OtpSignature,
            StepKind::OtpSignature,
        ];
        let mut w = Workflow {
            steps,
            status: DocumentStatus::InProgress,
            current_step: 0,
        };
        assert_eq!(w.otp_ordinal(), None);
        assert!(w.otp_signed("x".into()).is_err(), "not at the OTP step");
        assert!(
            w.otp_refused(Some("x".into())).is_err(),
            "not at the OTP step"
        );
        assert_eq!(
            names(&w.define_otp_information().unwrap_or_else(|e| panic!("{e}"))),
            ["Informations OTP définies"]
        );
        let t = w.act(Action::Visa, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            names(&t),
            ["Visa approuvé"],
            "an OTP step records nothing on entry"
        );
        apply(&mut w, &t);
        assert_eq!(w.otp_ordinal(), Some(0));
        let t = w.otp_signed("SMS".into()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["OTP validé", "OTP signé"]);
        assert_eq!(t.entries[1].comment.as_deref(), Some("SMS"));
        apply(&mut w, &t);
        assert_eq!(w.otp_ordinal(), Some(1));
        // A refusal needs a reason and stops the circuit.
        assert!(w.otp_refused(Some("  ".into())).is_err());
        let refused = w
            .otp_refused(Some("Montant faux".into()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&refused), ["Refusé à l'étape OTP"]);
        assert_eq!(refused.status, DocumentStatus::Refused);
        assert_eq!(refused.entries[0].comment.as_deref(), Some("Montant faux"));
        let t = w.otp_signed("SMS".into()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["OTP validé", "OTP signé", "Classé"]);
        apply(&mut w, &t);
        assert!(w.define_otp_information().is_err(), "no OTP step left");
    }

    #[test]
    fn transmission_step_until_the_acknowledgement() {
        let steps = vec![StepKind::Signature, StepKind::Transmission];
        let mut w = Workflow {
            steps,
            status: DocumentStatus::InProgress,
            current_step: 0,
        };
        assert!(w.transmission(TransmissionEvent::SentToFast).is_err());
        let t = w.act(Action::Sign, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["Signé", "En cours d'envoi"]);
        apply(&mut w, &t);
        let t = w
            .transmission(TransmissionEvent::SendFailed("timeout".into()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["Échec de l'envoi à FAST"]);
        assert_eq!(t.status, DocumentStatus::InProgress, "retried, not stopped");
        for (ev, name) in [
            (TransmissionEvent::SentToFast, "Envoyé à FAST"),
            (TransmissionEvent::TransmittedToHelios, "Transmis à Hélios"),
        ] {
            assert_eq!(
                names(&w.transmission(ev).unwrap_or_else(|e| panic!("{e}"))),
                [name]
            );
        }
        let t = w
            .transmission(TransmissionEvent::Acknowledged)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["Acquittance Hélios", "Classé"]);
        assert_eq!(t.status, DocumentStatus::Classified);
    }

    #[test]
    fn automatic_steps_replacement_and_interruption() {
        let steps = vec![StepKind::Visa, StepKind::ServerSignature, StepKind::Archive];
        let mut w = Workflow {
            steps: steps.clone(),
            status: DocumentStatus::InProgress,
            current_step: 0,
        };
        assert!(w.server_signed().is_err());
        let t = w.act(Action::Visa, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["Visa approuvé", "Envoyé pour signature"]);
        apply(&mut w, &t);
        assert!(w.archived().is_err(), "not yet");
        let t = w.server_signed().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            names(&t),
            ["Signé"],
            "the archive step records its own outcome"
        );
        apply(&mut w, &t);
        let t = w.archived().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["Archivé", "Classé"]);

        let fresh = Workflow {
            steps: steps.clone(),
            status: DocumentStatus::InProgress,
            current_step: 0,
        };
        let t = fresh.replaced(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["Document remplacé", "Envoyé pour visa"]);
        assert!(fresh.replaced(true).is_err(), "someone acted");
        let refused = Workflow {
            status: DocumentStatus::VisaDisapproved,
            ..fresh.clone()
        };
        assert_eq!(
            refused.replaced(true).map(|t| t.current_step),
            Ok(0),
            "the circuit starts again"
        );
        assert!(fresh.interrupted(None).is_err(), "a reason is required");
        let t = fresh
            .interrupted(Some("abandon".into()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(names(&t), ["Classé (interrompu)"]);
        assert_eq!(t.status, DocumentStatus::Classified);
        let done = Workflow {
            status: DocumentStatus::Classified,
            ..fresh
        };
        assert!(done.interrupted(Some("x".into())).is_err());
        assert!(done.replaced(false).is_err());
    }

    #[test]
    fn deletion_rules() {
        let w = |status| Workflow {
            steps: vec![StepKind::Visa],
            status,
            current_step: 0,
        };
        assert!(w(DocumentStatus::InProgress).can_delete(false));
        assert!(!w(DocumentStatus::InProgress).can_delete(true));
        assert!(w(DocumentStatus::Refused).can_delete(true));
        assert!(w(DocumentStatus::VisaDisapproved).can_delete(true));
        assert!(!w(DocumentStatus::Classified).can_delete(false));
    }

    fn kind() -> impl Strategy<Value = StepKind> {
        prop_oneof![Just(StepKind::Visa), Just(StepKind::Signature)]
    }
    fn action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Visa),
            Just(Action::Reject),
            Just(Action::Sign),
            Just(Action::Refuse)
        ]
    }

    proptest! {
        /// Whatever the actions, the machine never leaves a terminal state, never skips a step,
        /// and "Classé" appears exactly when every step has been approved or signed.
        #[test]
        fn state_machine_invariants(steps in prop::collection::vec(kind(), 1..6),
                                    actions in prop::collection::vec(action(), 0..20)) {
            let t = Workflow::deposit(&steps, false, None);
            let mut w = Workflow { steps: steps.clone(), status: t.status, current_step: t.current_step };
            let mut approvals = 0;
            for a in actions {
                let before = w.clone();
                match w.act(a, Some("motif".into())) {
                    Ok(t) => {
                        prop_assert_eq!(before.status, DocumentStatus::InProgress);
                        prop_assert_eq!(Some(a.step_kind()), before.current_kind());
                        if matches!(a, Action::Visa | Action::Sign) {
                            approvals += 1;
                            prop_assert_eq!(t.current_step, before.current_step + 1);
                        }
                        let classified = t.entries.iter().any(|e| e.state == H::Classified);
                        prop_assert_eq!(classified, t.status == DocumentStatus::Classified);
                        apply(&mut w, &t);
                    }
                    Err(_) => prop_assert_eq!(&w, &before),
                }
            }
            prop_assert_eq!(w.status == DocumentStatus::Classified, approvals == steps.len());
        }
    }

    #[test]
    fn act_by_checks_the_step_then_membership_then_the_reason() {
        let w = Workflow {
            steps: vec![StepKind::Visa, StepKind::Signature],
            status: DocumentStatus::InProgress,
            current_step: 0,
        };
        assert!(matches!(
            w.act_by(true, Action::Sign, None),
            Err(DomainError::ActionNotAllowed { .. })
        ));
        assert!(matches!(
            w.act_by(false, Action::Reject, None),
            Err(DomainError::NotAStepMember)
        ));
        assert!(matches!(
            w.act_by(true, Action::Reject, None),
            Err(DomainError::ReasonRequired(_))
        ));
        assert_eq!(
            w.act_by(true, Action::Visa, None).unwrap(),
            w.act(Action::Visa, None).unwrap()
        );
    }
}
