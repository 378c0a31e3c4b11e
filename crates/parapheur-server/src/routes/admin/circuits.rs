//! The circuits tab: the subscriber's circuits, the step editor (create or edit) and deletion.

use super::{Frame, admin, done, ok_banner, page};
use crate::routes::html::{Banner, PageError, require_csrf};
use crate::service::circuits::{self, CircuitError, CircuitInput, StepInput};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parapheur_domain::StepKind;
use std::collections::HashMap;

/// Rows of the step editor (empty rows are ignored).
const STEP_ROWS: usize = 8;
const STEP_KINDS: [StepKind; 7] = [
    StepKind::Visa,
    StepKind::Signature,
    StepKind::OtpSignature,
    StepKind::ServerSignature,
    StepKind::Verification,
    StepKind::Archive,
    StepKind::Deliver,
];
const CIRCUIT_TYPES: [(&str, &str); 4] = [
    ("BUREAUTIQUE_PDF", "Bureautique PDF"),
    ("BUREAUTIQUE_XML", "Bureautique XML"),
    (
        "HELIOS_AVEC_TELETRANSMISSION",
        "Hélios avec télétransmission",
    ),
    (
        "HELIOS_SANS_TELETRANSMISSION",
        "Hélios sans télétransmission",
    ),
];

struct CircuitView {
    id: String,
    circuit_type: String,
    steps: Vec<(String, String)>,
    depositors: String,
}

#[derive(Template)]
#[template(path = "admin/circuits.html")]
struct CircuitsPage<'a> {
    f: &'a Frame,
    message: Option<Banner>,
    circuits: Vec<CircuitView>,
}

struct StepRow {
    index: usize,
    kind: String,
    members: String,
    /// Every member must act (CONTRACT §9).
    all: bool,
    /// Signed with the members' own card.
    token: bool,
}

/// A step of the editor as typed: kind, members, whether every member acts.
#[derive(Clone, Default)]
struct Typed {
    kind: String,
    members: String,
    all: bool,
    token: bool,
}

#[derive(Template)]
#[template(path = "admin/circuit.html")]
struct CircuitPage<'a> {
    f: &'a Frame,
    message: Option<Banner>,
    existing: bool,
    id: String,
    circuit_type: String,
    metadata: bool,
    depositors: String,
    /// Open to the whole subscriber (CONTRACT §8).
    open: bool,
    /// Default deadline in days (CONTRACT §11), empty for none.
    deadline_days: String,
    rows: Vec<StepRow>,
    kinds: Vec<(String, &'static str)>,
    types: &'static [(&'static str, &'static str)],
}

/// The step kinds offered, by lower-case value (what `StepKind::parse` reads).
fn kinds() -> Vec<(String, &'static str)> {
    STEP_KINDS
        .iter()
        .map(|k| (k.as_str().to_ascii_lowercase(), k.label_fr()))
        .collect()
}

pub(super) async fn circuits_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, siren, f) = admin(&state, &headers, &siren, "circuits").await?;
    let circuits = state.db.circuits(siren.as_str()).await?;
    let html = CircuitsPage {
        f: &f,
        message: ok_banner(&q),
        circuits: circuits
            .into_iter()
            .map(|c| CircuitView {
                steps: c
                    .steps
                    .iter()
                    .map(|s| (s.kind.label_fr().to_owned(), s.members.join(", ")))
                    .collect(),
                depositors: c.depositors.join(", "),
                id: c.id,
                circuit_type: c.circuit_type.as_str().to_owned(),
            })
            .collect(),
    }
    .render();
    page(&state, &f, html, StatusCode::OK)
}

fn rows_of(steps: &[Typed]) -> Vec<StepRow> {
    (0..STEP_ROWS.max(steps.len() + 2))
        .map(|i| {
            let s = steps.get(i).cloned().unwrap_or_default();
            StepRow {
                index: i,
                kind: s.kind,
                members: s.members,
                all: s.all,
                token: s.token,
            }
        })
        .collect()
}

pub(super) async fn circuit_page(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, siren, f) = admin(&state, &headers, &siren, "circuits").await?;
    let view = if id == "nouveau" {
        CircuitPage {
            f: &f,
            message: None,
            existing: false,
            id: String::new(),
            circuit_type: "BUREAUTIQUE_PDF".into(),
            metadata: false,
            depositors: String::new(),
            open: false,
            deadline_days: String::new(),
            rows: rows_of(&[]),
            kinds: kinds(),
            types: &CIRCUIT_TYPES,
        }
    } else {
        let c = state
            .db
            .circuit(siren.as_str(), &id)
            .await?
            .ok_or(PageError::NotFound)?;
        let steps: Vec<Typed> = c
            .steps
            .iter()
            .map(|s| Typed {
                kind: s.kind.as_str().to_ascii_lowercase(),
                members: s.members.join(", "),
                all: s.rule == parapheur_domain::StepRule::All,
                token: s.own_key,
            })
            .collect();
        CircuitPage {
            f: &f,
            message: None,
            existing: true,
            depositors: c.depositors.join(", "),
            open: c.visibility == parapheur_domain::Visibility::Subscriber,
            deadline_days: c.deadline_days.map(|n| n.to_string()).unwrap_or_default(),
            id: c.id,
            circuit_type: c.circuit_type.as_str().to_owned(),
            metadata: c.metadata_required,
            rows: rows_of(&steps),
            kinds: kinds(),
            types: &CIRCUIT_TYPES,
        }
    };
    let html = view.render();
    page(&state, &f, html, StatusCode::OK)
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', ';', '\n', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(super) async fn save_circuit(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let (_, siren, f) = admin(&state, &headers, &siren, "circuits").await?;
    let field = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let existing = form.contains_key("existing");
    let mut steps: Vec<Typed> = Vec::new();
    for i in 0..64 {
        let kind = field(&format!("step_{i}"));
        let members = field(&format!("members_{i}"));
        if !kind.is_empty() {
            steps.push(Typed {
                kind,
                members,
                all: form.contains_key(&format!("all_{i}")),
                token: form.contains_key(&format!("token_{i}")),
            });
        }
    }
    let open = form.contains_key("open");
    let input = CircuitInput {
        id: field("id"),
        circuit_type: field("type"),
        formats: Vec::new(),
        depositors: split_list(&field("depositors")),
        metadata: form.contains_key("metadata"),
        steps: steps
            .iter()
            .map(|s| StepInput {
                step: s.kind.clone(),
                members: split_list(&s.members),
                rule: s.all.then(|| "all".to_owned()),
                key: s.token.then(|| "token".to_owned()),
            })
            .collect(),
        visibility: open.then(|| "subscriber".to_owned()),
        // Not a number: refused by the check below as out of range.
        deadline_days: match field("deadline_days").as_str() {
            "" => None,
            n => Some(n.parse().unwrap_or(-1)),
        },
    };
    let refused = match circuits::save(&state.db, &siren, &input, existing).await {
        Ok(_) => return Ok(done(siren.as_str(), "circuits", "circuit")),
        Err(CircuitError::Store(e)) => return Err(e.into()),
        Err(CircuitError::Missing) => return Err(PageError::NotFound),
        Err(e) => e,
    };
    let html = CircuitPage {
        f: &f,
        message: Some(Banner::error(refused.french())),
        existing,
        id: input.id.clone(),
        circuit_type: input.circuit_type.clone(),
        metadata: input.metadata,
        depositors: field("depositors"),
        open,
        deadline_days: field("deadline_days"),
        rows: rows_of(&steps),
        kinds: kinds(),
        types: &CIRCUIT_TYPES,
    }
    .render();
    page(&state, &f, html, StatusCode::BAD_REQUEST)
}

pub(super) async fn delete_circuit(
    State(state): State<AppState>,
    Path((siren, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    require_csrf(&headers, &form)?;
    let (_, siren, _) = admin(&state, &headers, &siren, "circuits").await?;
    if state.db.delete_circuit(siren.as_str(), &id).await? {
        Ok(done(siren.as_str(), "circuits", "supprime"))
    } else {
        Err(PageError::NotFound)
    }
}
