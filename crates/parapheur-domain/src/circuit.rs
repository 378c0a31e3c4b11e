//! Circuit types, step kinds, and the on-demand circuit JSON of the FAST API.

use crate::{DomainError, Email};
use serde_json::Value;

/// The four circuit types of the FAST API; they decide the signature format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CircuitType {
    BureautiquePdf,
    BureautiqueXml,
    HeliosAvecTeletransmission,
    HeliosSansTeletransmission,
}

impl CircuitType {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "BUREAUTIQUE_PDF" => Ok(Self::BureautiquePdf),
            "BUREAUTIQUE_XML" => Ok(Self::BureautiqueXml),
            "HELIOS_AVEC_TELETRANSMISSION" => Ok(Self::HeliosAvecTeletransmission),
            "HELIOS_SANS_TELETRANSMISSION" => Ok(Self::HeliosSansTeletransmission),
            other => Err(DomainError::InvalidCircuitType(
                other.chars().take(64).collect(),
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BureautiquePdf => "BUREAUTIQUE_PDF",
            Self::BureautiqueXml => "BUREAUTIQUE_XML",
            Self::HeliosAvecTeletransmission => "HELIOS_AVEC_TELETRANSMISSION",
            Self::HeliosSansTeletransmission => "HELIOS_SANS_TELETRANSMISSION",
        }
    }
    /// File extensions accepted when a circuit does not list its own.
    pub fn default_formats(self) -> &'static [&'static str] {
        match self {
            Self::BureautiquePdf => &["pdf"],
            Self::BureautiqueXml
            | Self::HeliosAvecTeletransmission
            | Self::HeliosSansTeletransmission => &["xml"],
        }
    }
    /// Whether signed documents are transmitted to Helios after the last step.
    pub fn transmits(self) -> bool {
        self == Self::HeliosAvecTeletransmission
    }
    /// Whether documents are PES_Aller files (checked, and unique by NomFic).
    pub fn is_pes(self) -> bool {
        matches!(
            self,
            Self::HeliosAvecTeletransmission | Self::HeliosSansTeletransmission
        )
    }
}

/// A step of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    Visa,
    Signature,
    OtpSignature,
    ServerSignature,
    Verification,
    Archive,
    /// Hands the signed document to its recipients (digital safe or e-mail link).
    Deliver,
    /// Teletransmission of a signed PES to Helios: appended by the parapheur to
    /// HELIOS_AVEC_TELETRANSMISSION circuits, never provisioned.
    Transmission,
}

impl StepKind {
    /// Parses a step name as clients write it (`visa`, `Visa`, `signature`, `OTPSignature`...).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "visa" => Ok(Self::Visa),
            "signature" => Ok(Self::Signature),
            "otpsignature" => Ok(Self::OtpSignature),
            "serversignature" => Ok(Self::ServerSignature),
            "verification" => Ok(Self::Verification),
            "archive" => Ok(Self::Archive),
            "deliver" => Ok(Self::Deliver),
            "transmission" => Ok(Self::Transmission),
            _ => Err(DomainError::InvalidStepType(s.chars().take(64).collect())),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visa => "visa",
            Self::Signature => "signature",
            Self::OtpSignature => "OTPSignature",
            Self::ServerSignature => "serverSignature",
            Self::Verification => "verification",
            Self::Archive => "archive",
            Self::Deliver => "deliver",
            Self::Transmission => "transmission",
        }
    }
    /// Steps acted on by named people (who therefore must be listed as members).
    pub fn needs_members(self) -> bool {
        match self {
            Self::Visa | Self::Signature => true,
            Self::OtpSignature
            | Self::ServerSignature
            | Self::Verification
            | Self::Archive
            | Self::Deliver
            | Self::Transmission => false,
        }
    }
    /// Steps the server runs by itself, without anyone acting.
    pub fn is_automatic(self) -> bool {
        match self {
            Self::Verification | Self::ServerSignature | Self::Archive | Self::Deliver => true,
            Self::Visa | Self::Signature | Self::OtpSignature | Self::Transmission => false,
        }
    }
    /// Steps that make a circuit accept metadata (`uploadMeta`) besides a metadata-definition
    /// step: the OTP signature (its signer's details) and the delivery to a digital safe (the
    /// Digiposte step of FAST).
    pub fn accepts_metadata(self) -> bool {
        match self {
            Self::OtpSignature | Self::Deliver => true,
            Self::Visa
            | Self::Signature
            | Self::ServerSignature
            | Self::Verification
            | Self::Archive
            | Self::Transmission => false,
        }
    }
    /// French label used on the fiche de circulation.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Visa => "Visa",
            Self::Signature => "Signature",
            Self::OtpSignature => "Signature OTP",
            Self::ServerSignature => "Signature serveur",
            Self::Verification => "Vérification des signatures",
            Self::Archive => "Archivage",
            Self::Deliver => "Remise aux destinataires",
            Self::Transmission => "Télétransmission à Hélios",
        }
    }
}

/// Who must act on a step with several members (CONTRACT §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StepRule {
    /// One member acts for the step (the FAST behaviour).
    #[default]
    Any,
    /// Every member must act, in any order; one refusal refuses the document.
    All,
}

impl StepRule {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "any" => Ok(Self::Any),
            "all" => Ok(Self::All),
            other => Err(DomainError::CircuitDefinition(format!(
                "invalid step rule {:?}: \"any\" or \"all\" expected",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::All => "all",
        }
    }
    /// Checks that the rule fits the step: `all` only on visa and signature steps, and never
    /// on the signature steps of a PES circuit (the DGFiP profile allows one signature).
    pub fn check(self, circuit: CircuitType, kind: StepKind) -> Result<(), DomainError> {
        if self == Self::Any {
            return Ok(());
        }
        if !kind.needs_members() {
            return Err(DomainError::CircuitDefinition(format!(
                "rule \"all\" needs a visa or signature step, not {}",
                kind.as_str()
            )));
        }
        if circuit.is_pes() && kind == StepKind::Signature {
            return Err(DomainError::CircuitDefinition(format!(
                "rule \"all\" is not possible on a signature step of a {} circuit: a PES \
                 carries a single signature",
                circuit.as_str()
            )));
        }
        Ok(())
    }
}

/// Who may read the documents of a circuit (CONTRACT §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Visibility {
    /// Its depositor, step members, agents, their delegates and the administrators.
    #[default]
    Members,
    /// Every member of the subscriber.
    Subscriber,
}

impl Visibility {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim() {
            "members" => Ok(Self::Members),
            "subscriber" => Ok(Self::Subscriber),
            other => Err(DomainError::CircuitDefinition(format!(
                "invalid visibility {:?}: \"members\" or \"subscriber\" expected",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Members => "members",
            Self::Subscriber => "subscriber",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDemandStep {
    pub kind: StepKind,
    pub members: Vec<Email>,
    pub rule: StepRule,
}

/// The name FAST clients give on-demand circuits as a whole (`documents/search` with
/// `"circuit": "circuit-a-la-volee"`).
pub const ONDEMAND_CIRCUIT: &str = "circuit-a-la-volee";

/// The `circuit` JSON part of an on-demand upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDemandCircuit {
    pub circuit_type: CircuitType,
    pub steps: Vec<OnDemandStep>,
}

/// Steps a client may put in an on-demand circuit.
const ON_DEMAND_STEPS: [StepKind; 3] =
    [StepKind::Visa, StepKind::Signature, StepKind::OtpSignature];

impl OnDemandCircuit {
    /// Parses and validates the JSON text. Errors map to FAST codes 117, 118, 119 and 121.
    pub fn parse(json: &str) -> Result<Self, DomainError> {
        let def = |m: &str| DomainError::CircuitDefinition(m.to_owned());
        let v: Value = serde_json::from_str(json.trim())
            .map_err(|e| DomainError::CircuitDefinition(format!("invalid JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| def("a JSON object is expected"))?;
        let circuit_type = match obj.get("type") {
            Some(Value::String(s)) => CircuitType::parse(s)?,
            Some(other) => return Err(DomainError::InvalidCircuitType(other.to_string())),
            None => return Err(DomainError::InvalidCircuitType(String::new())),
        };
        let steps_v = obj
            .get("steps")
            .and_then(Value::as_array)
            .ok_or_else(|| def("\"steps\" must be an array"))?;
        if steps_v.is_empty() {
            return Err(def("\"steps\" must not be empty"));
        }
        if steps_v.len() > 50 {
            return Err(def("at most 50 steps"));
        }
        let mut steps = Vec::with_capacity(steps_v.len());
        for (i, s) in steps_v.iter().enumerate() {
            let so = s.as_object().ok_or_else(|| {
                DomainError::CircuitDefinition(format!("step {i} is not an object"))
            })?;
            let kind = match so.get("step") {
                Some(Value::String(name)) => StepKind::parse(name)?,
                Some(other) => return Err(DomainError::InvalidStepType(other.to_string())),
                None => return Err(DomainError::InvalidStepType(String::new())),
            };
            if !ON_DEMAND_STEPS.contains(&kind) {
                return Err(DomainError::InvalidStepType(kind.as_str().to_owned()));
            }
            let members = match so.get("members") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => {
                    a.iter()
                        .map(|m| match m {
                            Value::String(e) => Email::parse(e)
                                .map_err(|_| DomainError::InvalidStepMember(e.clone())),
                            other => Err(DomainError::InvalidStepMember(other.to_string())),
                        })
                        .collect::<Result<Vec<_>, _>>()?
                }
                Some(_) => {
                    return Err(DomainError::CircuitDefinition(format!(
                        "\"members\" of step {i} must be an array"
                    )));
                }
            };
            if kind.needs_members() && members.is_empty() {
                return Err(DomainError::CircuitDefinition(format!(
                    "step {i} ({}) needs at least one member",
                    kind.as_str()
                )));
            }
            let rule = match so.get("rule") {
                None | Some(Value::Null) => StepRule::Any,
                Some(Value::String(r)) => StepRule::parse(r)?,
                Some(other) => {
                    return Err(DomainError::CircuitDefinition(format!(
                        "\"rule\" of step {i} must be \"any\" or \"all\", not {other}"
                    )));
                }
            };
            rule.check(circuit_type, kind)?;
            steps.push(OnDemandStep {
                kind,
                members,
                rule,
            });
        }
        Ok(Self {
            circuit_type,
            steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example() {
        let c = OnDemandCircuit::parse(
            r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["AAA@domain.fr","BBB@domain.fr"]},
            {"step":"Signature","members":["DDD@domain.fr"]},{"step":"OTPSignature"}]}"#,
        );
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.circuit_type, CircuitType::BureautiquePdf);
        assert_eq!(c.steps.len(), 3);
        assert_eq!(c.steps[0].members[1].as_str(), "bbb@domain.fr");
        assert_eq!(c.steps[2].kind, StepKind::OtpSignature);
    }

    #[test]
    fn errors_map_to_their_kind() {
        use DomainError as E;
        type Check = fn(&E) -> bool;
        let cases: [(&str, Check); 9] = [
            ("not json", |e| matches!(e, E::CircuitDefinition(_))),
            ("[]", |e| matches!(e, E::CircuitDefinition(_))),
            (r#"{"type":"PDF","steps":[]}"#, |e| {
                matches!(e, E::InvalidCircuitType(_))
            }),
            (r#"{"steps":[]}"#, |e| matches!(e, E::InvalidCircuitType(_))),
            (r#"{"type":"BUREAUTIQUE_PDF"}"#, |e| {
                matches!(e, E::CircuitDefinition(_))
            }),
            (r#"{"type":"BUREAUTIQUE_PDF","steps":[]}"#, |e| {
                matches!(e, E::CircuitDefinition(_))
            }),
            (
                r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"cachet","members":["a@b.fr"]}]}"#,
                |e| matches!(e, E::InvalidStepType(_)),
            ),
            (
                r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["nope"]}]}"#,
                |e| matches!(e, E::InvalidStepMember(_)),
            ),
            (
                r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa"}]}"#,
                |e| matches!(e, E::CircuitDefinition(_)),
            ),
        ];
        for (json, check) in cases {
            match OnDemandCircuit::parse(json) {
                Err(e) => assert!(check(&e), "{json}: {e:?}"),
                Ok(c) => panic!("{json} accepted: {c:?}"),
            }
        }
    }

    #[test]
    fn a_step_may_require_every_member() {
        let c = OnDemandCircuit::parse(
            r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"signature","members":["a@b.fr","c@d.fr"],"rule":"all"},
            {"step":"visa","members":["e@f.fr"]}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.steps[0].rule, StepRule::All);
        assert_eq!(c.steps[1].rule, StepRule::Any);
        for bad in [
            r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["a@b.fr"],"rule":"most"}]}"#,
            r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"visa","members":["a@b.fr"],"rule":1}]}"#,
            r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"OTPSignature","rule":"all"}]}"#,
            r#"{"type":"HELIOS_SANS_TELETRANSMISSION","steps":[{"step":"signature","members":["a@b.fr"],"rule":"all"}]}"#,
        ] {
            let r = OnDemandCircuit::parse(bad);
            assert!(
                matches!(r, Err(DomainError::CircuitDefinition(_))),
                "{bad}: {r:?}"
            );
        }
        // A PES may go through a visa of every member before its single signature.
        let pes = OnDemandCircuit::parse(
            r#"{"type":"HELIOS_SANS_TELETRANSMISSION","steps":[{"step":"visa","members":["a@b.fr","c@d.fr"],"rule":"all"},{"step":"signature","members":["e@f.fr"]}]}"#,
        );
        assert!(pes.is_ok(), "{pes:?}");
    }

    #[test]
    fn automatic_steps_are_not_on_demand() {
        let r =
            OnDemandCircuit::parse(r#"{"type":"BUREAUTIQUE_PDF","steps":[{"step":"archive"}]}"#);
        assert!(matches!(r, Err(DomainError::InvalidStepType(_))));
    }
}
