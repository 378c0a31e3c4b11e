//! Unit and property tests of the document state machine.

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
        w.act_by(Turn::Last, Action::Sign, None),
        Err(DomainError::ActionNotAllowed { .. })
    ));
    assert!(matches!(
        w.act_by(Turn::Outsider, Action::Reject, None),
        Err(DomainError::NotAStepMember)
    ));
    assert!(matches!(
        w.act_by(Turn::Last, Action::Reject, None),
        Err(DomainError::ReasonRequired(_))
    ));
    assert_eq!(
        w.act_by(Turn::Last, Action::Visa, None).unwrap(),
        w.act(Action::Visa, None).unwrap()
    );
}

#[test]
fn an_all_step_waits_for_every_member() {
    let w = Workflow {
        steps: vec![StepKind::Signature, StepKind::Visa],
        status: DocumentStatus::InProgress,
        current_step: 0,
    };
    // A signature that leaves other members keeps the document on the step, with its entry.
    let t = w.act_by(Turn::NotLast, Action::Sign, None).unwrap();
    assert_eq!(t.status, DocumentStatus::InProgress);
    assert_eq!(t.current_step, 0);
    assert_eq!(names(&t), ["Signé"]);
    assert_eq!(t.entries[0].actor, Actor::Caller);
    // The last one moves it on.
    let t = w.act_by(Turn::Last, Action::Sign, None).unwrap();
    assert_eq!((t.status, t.current_step), (DocumentStatus::InProgress, 1));
    assert_eq!(names(&t), ["Signé", "Envoyé pour visa"]);
    // One refusal refuses the document, whoever is left.
    let t = w
        .act_by(Turn::NotLast, Action::Refuse, Some("non".into()))
        .unwrap();
    assert_eq!(t.status, DocumentStatus::Refused);
    // A member who already acted cannot act again; the reason is still required.
    assert!(matches!(
        w.act_by(Turn::AlreadyActed, Action::Sign, None),
        Err(DomainError::ActionNotAllowed { .. })
    ));
    assert!(matches!(
        w.act_by(Turn::NotLast, Action::Refuse, None),
        Err(DomainError::ReasonRequired(_))
    ));
}
