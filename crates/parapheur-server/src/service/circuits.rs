//! Checking a circuit definition (provisioning file and administration pages alike): type,
//! formats, depositors and steps, members being users of the subscriber; a depositor never
//! approves or signs in the circuit.

use parapheur_domain::{CircuitId, CircuitType, Email, Siren, StepKind, StepRule, Visibility};
use parapheur_store::Db;
use parapheur_store::accounts::{CircuitRow, CircuitStep};
use std::collections::HashSet;

/// A circuit as submitted.
#[derive(Debug, Clone, Default)]
pub struct CircuitInput {
    pub id: String,
    pub circuit_type: String,
    pub formats: Vec<String>,
    pub depositors: Vec<String>,
    pub metadata: bool,
    pub steps: Vec<StepInput>,
    /// `members` (default) or `subscriber` (CONTRACT §8).
    pub visibility: Option<String>,
    /// Default deadline of its documents, in days after the deposit (CONTRACT §11).
    pub deadline_days: Option<i64>,
}

/// A step as submitted.
#[derive(Debug, Clone, Default)]
pub struct StepInput {
    pub step: String,
    /// Member e-mails.
    pub members: Vec<String>,
    /// `any` (default) or `all` (CONTRACT §9).
    pub rule: Option<String>,
    /// `token`: a signature step its members sign with their own card (`parapheur-agent`).
    pub key: Option<String>,
}

/// What is wrong with a definition. `Display` is the English message for logs and the
/// provisioning file; [`CircuitError::field`] names the field; [`CircuitError::french`] is the
/// portal's message. Step indexes count from 0.
#[derive(Debug, thiserror::Error)]
pub enum CircuitError {
    #[error("{0}")]
    Id(String),
    #[error("{0}")]
    Type(String),
    #[error("{0}")]
    Depositor(String),
    #[error("{email} is not a user of subscriber {siren}")]
    NotAMember {
        field: String,
        email: String,
        siren: String,
    },
    #[error("a circuit needs at least one step")]
    NoSteps,
    #[error("{1}")]
    Step(usize, String),
    #[error(
        "the transmission to Helios is added to HELIOS_AVEC_TELETRANSMISSION circuits, not listed"
    )]
    Transmission(usize),
    #[error("at least one member is needed")]
    NoMembers(usize),
    #[error("{1}")]
    Member(usize, String),
    #[error("{1} is a depositor of this circuit and cannot approve or sign in it")]
    DepositorSigns(usize, String),
    #[error("a circuit with this id already exists")]
    Exists,
    #[error("no such circuit")]
    Missing,
    #[error("{1}")]
    Rule(usize, String),
    #[error("{1}")]
    Key(usize, String),
    #[error("{0}")]
    Visibility(String),
    #[error("deadline_days must be between 0 and 3650, not {0}")]
    Deadline(i64),
    #[error("database: {0}")]
    Store(#[from] parapheur_store::StoreError),
}

impl CircuitError {
    /// The field at fault (`type`, `steps[2].members`...).
    pub fn field(&self) -> String {
        match self {
            Self::Id(_) | Self::Exists | Self::Missing => "id".into(),
            Self::Type(_) => "type".into(),
            Self::Depositor(_) => "depositors".into(),
            Self::NotAMember { field, .. } => field.clone(),
            Self::NoSteps => "steps".into(),
            Self::Step(i, _) | Self::Transmission(i) => format!("steps[{i}].step"),
            Self::Rule(i, _) => format!("steps[{i}].rule"),
            Self::Key(i, _) => format!("steps[{i}].key"),
            Self::Visibility(_) => "visibility".into(),
            Self::Deadline(_) => "deadline_days".into(),
            Self::NoMembers(i) | Self::Member(i, _) | Self::DepositorSigns(i, _) => {
                format!("steps[{i}].members")
            }
            Self::Store(_) => "circuit".into(),
        }
    }

    /// For people, in French (steps numbered from 1).
    pub fn french(&self) -> String {
        match self {
            Self::Id(_) => {
                "L'identifiant du circuit est invalide (lettres, chiffres, « - » et « _ »).".into()
            }
            Self::Type(_) => "Le type de circuit est inconnu.".into(),
            Self::Exists => "Un circuit porte déjà cet identifiant.".into(),
            Self::Missing => "Ce circuit n'existe pas.".into(),
            Self::Depositor(_) => "Une adresse de déposant est invalide.".into(),
            Self::NotAMember { email, .. } => {
                format!("{email} n'est pas un utilisateur de la collectivité.")
            }
            Self::NoSteps => "Un circuit a besoin d'au moins une étape.".into(),
            Self::Step(i, _) => format!("Le type de l'étape {} est inconnu.", i + 1),
            Self::Transmission(i) => format!(
                "Étape {} : la transmission à Hélios s'ajoute d'elle-même aux circuits Hélios avec télétransmission.",
                i + 1
            ),
            Self::NoMembers(i) => format!("L'étape {} a besoin d'au moins un membre.", i + 1),
            Self::Member(i, _) => format!("Étape {} : une adresse de membre est invalide.", i + 1),
            Self::DepositorSigns(i, email) => format!(
                "Étape {} : {email} dépose dans ce circuit et ne peut pas y viser ni y signer.",
                i + 1
            ),
            Self::Rule(i, _) => format!(
                "Étape {} : « tous les membres » n'est possible que pour un visa ou une signature, \
                 et pas pour la signature d'un PES (une seule signature par flux).",
                i + 1
            ),
            Self::Key(i, _) => format!(
                "Étape {} : la signature avec la carte personnelle n'est possible que pour une \
                 étape de signature d'un circuit PDF.",
                i + 1
            ),
            Self::Visibility(_) => "La visibilité du circuit est inconnue.".into(),
            Self::Deadline(_) => "Le délai doit être compris entre 0 et 3650 jours.".into(),
            Self::Store(_) => "Une erreur interne est survenue.".into(),
        }
    }
}

async fn is_member(db: &Db, siren: &Siren, email: &Email) -> Result<bool, CircuitError> {
    Ok(!db
        .members_by_email(siren.as_str(), &[email.as_str().to_owned()])
        .await?
        .is_empty())
}

/// Checks a definition for subscriber `siren` and gives the row to store.
pub async fn build(db: &Db, siren: &Siren, c: &CircuitInput) -> Result<CircuitRow, CircuitError> {
    let id = CircuitId::parse(&c.id).map_err(|e| CircuitError::Id(e.to_string()))?;
    let ctype =
        CircuitType::parse(&c.circuit_type).map_err(|e| CircuitError::Type(e.to_string()))?;
    let formats: Vec<String> = if c.formats.is_empty() {
        ctype
            .default_formats()
            .iter()
            .map(|f| (*f).to_owned())
            .collect()
    } else {
        c.formats
            .iter()
            .map(|f| f.trim().trim_start_matches('.').to_ascii_lowercase())
            .collect()
    };
    let mut depositors = HashSet::new();
    for d in &c.depositors {
        let e = Email::parse(d).map_err(|e| CircuitError::Depositor(e.to_string()))?;
        if !is_member(db, siren, &e).await? {
            return Err(CircuitError::NotAMember {
                field: "depositors".into(),
                email: e.to_string(),
                siren: siren.to_string(),
            });
        }
        depositors.insert(e.as_str().to_owned());
    }
    if c.steps.is_empty() {
        return Err(CircuitError::NoSteps);
    }
    let mut steps = Vec::new();
    let visibility = match c.visibility.as_deref() {
        None => Visibility::Members,
        Some(v) => Visibility::parse(v).map_err(|e| CircuitError::Visibility(e.to_string()))?,
    };
    for (j, s) in c.steps.iter().enumerate() {
        let (step, members) = (&s.step, &s.members);
        let kind = StepKind::parse(step).map_err(|e| CircuitError::Step(j, e.to_string()))?;
        let rule = match s.rule.as_deref() {
            None => StepRule::Any,
            Some(r) => StepRule::parse(r).map_err(|e| CircuitError::Rule(j, e.to_string()))?,
        };
        rule.check(ctype, kind)
            .map_err(|e| CircuitError::Rule(j, e.to_string()))?;
        let own_key = match s.key.as_deref() {
            None | Some("server") => false,
            Some("token") if kind == StepKind::Signature => true,
            Some("token") => {
                return Err(CircuitError::Key(
                    j,
                    "key = \"token\" needs a signature step".into(),
                ));
            }
            Some(other) => {
                return Err(CircuitError::Key(
                    j,
                    format!("invalid key {other:?}: \"server\" or \"token\" expected"),
                ));
            }
        };
        if kind == StepKind::Transmission {
            return Err(CircuitError::Transmission(j));
        }
        if kind.needs_members() && members.is_empty() {
            return Err(CircuitError::NoMembers(j));
        }
        let mut list = Vec::new();
        for m in members {
            let e = Email::parse(m).map_err(|e| CircuitError::Member(j, e.to_string()))?;
            if !is_member(db, siren, &e).await? {
                return Err(CircuitError::NotAMember {
                    field: format!("steps[{j}].members"),
                    email: e.to_string(),
                    siren: siren.to_string(),
                });
            }
            if kind.needs_members() && depositors.contains(e.as_str()) {
                return Err(CircuitError::DepositorSigns(j, e.to_string()));
            }
            list.push(e.as_str().to_owned());
        }
        steps.push(CircuitStep {
            kind,
            members: list,
            rule,
            own_key,
        });
    }
    let mut deps: Vec<String> = depositors.into_iter().collect();
    deps.sort();
    Ok(CircuitRow {
        siren: siren.to_string(),
        id: id.to_string(),
        circuit_type: ctype,
        formats,
        metadata_required: c.metadata,
        steps,
        depositors: deps,
        visibility,
        deadline_days: match c.deadline_days {
            Some(n) if !(0..=3650).contains(&n) => {
                return Err(CircuitError::Deadline(n));
            }
            other => other,
        },
    })
}

/// Checks a definition from the administration pages and stores it: a new circuit (`existing`
/// false) must not take an id in use, an edited one must still exist.
pub async fn save(
    db: &Db,
    siren: &Siren,
    c: &CircuitInput,
    existing: bool,
) -> Result<CircuitRow, CircuitError> {
    let row = build(db, siren, c).await?;
    match (db.circuit(siren.as_str(), &row.id).await?, existing) {
        (Some(_), false) => return Err(CircuitError::Exists),
        (None, true) => return Err(CircuitError::Missing),
        (Some(_), true) | (None, false) => {}
    }
    db.upsert_circuit(&row).await?;
    tracing::info!(siren = siren.as_str(), circuit = %row.id, "circuit saved from the administration pages");
    Ok(row)
}

/// Whether `email` may deposit into a circuit whose depositors are `depositors` (anyone of the
/// subscriber when the list is empty).
pub fn may_deposit(depositors: &[String], email: &str) -> bool {
    depositors.is_empty() || depositors.iter().any(|d| d.eq_ignore_ascii_case(email))
}

/// The provisioned circuits the caller may deposit into: `("siren/id", "organisation — id")`.
pub async fn depositable(
    state: &crate::state::AppState,
    caller: &crate::auth::Caller,
) -> Result<Vec<(String, String)>, crate::error::ApiError> {
    let mut out = Vec::new();
    for (siren, _) in &caller.memberships {
        let org = state.db.subscriber_name(siren).await?.unwrap_or_default();
        for c in state.db.circuits(siren).await? {
            if may_deposit(&c.depositors, &caller.email) {
                out.push((format!("{siren}/{}", c.id), format!("{org} — {}", c.id)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anyone_deposits_into_a_circuit_without_depositors() {
        assert!(may_deposit(&[], "a@example.org"));
        let list = ["Agent@Example.org".to_owned()];
        assert!(may_deposit(&list, "agent@example.org"));
        assert!(!may_deposit(&list, "other@example.org"));
    }
}
