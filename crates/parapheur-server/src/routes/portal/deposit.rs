//! Depositing a document into one of the caller's provisioned circuits or an on-demand circuit
//! whose steps the form gives: annexes, recipients, a deadline, and the OTP signer's details.

use super::signed_in;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::files::Upload;
use crate::routes::form::Form;
use crate::routes::html::{PageError, redirect, rendered, require_csrf, with_csrf};
use crate::service::circuits;
use crate::service::deposit::{CircuitSource, DepositRequest, OtpDeposit};
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parapheur_domain::{
    CircuitId, DocumentId, Email, FileName, ONDEMAND_CIRCUIT, OnDemandCircuit, Siren,
};
use serde_json::json;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "portal/deposit.html")]
struct DepositPage<'a> {
    user_name: &'a str,
    csrf: &'a str,
    circuits: Vec<(String, String)>,
    /// The on-demand circuit of each subscriber of the caller: (`siren/circuit-a-la-volee`, name).
    on_demand: Vec<(String, String)>,
    /// The on-demand circuit's step lines.
    step_lines: Vec<usize>,
    /// Today (`YYYY-MM-DD`), the earliest deadline.
    today: String,
    error: Option<&'a str>,
}

/// Step lines of the on-demand circuit in the form.
const ON_DEMAND_LINES: usize = 4;

async fn render_deposit(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let circuits = circuits::depositable(state, caller).await?;
    let mut on_demand = Vec::new();
    for (siren, _) in &caller.memberships {
        let org = state.db.subscriber_name(siren).await?.unwrap_or_default();
        on_demand.push((
            format!("{siren}/{ONDEMAND_CIRCUIT}"),
            format!("{org} — circuit à la demande (étapes ci-dessous)"),
        ));
    }
    with_csrf(state, headers, |csrf| {
        rendered(
            DepositPage {
                user_name: &caller.full_name,
                csrf,
                circuits,
                on_demand,
                step_lines: (0..ON_DEMAND_LINES).collect(),
                today: crate::service::access::today().to_string(),
                error,
            }
            .render(),
            status,
        )
    })
}

pub(super) async fn deposit_page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, "/parapheur/deposer").await?;
    render_deposit(&state, &caller, &headers, StatusCode::OK, None).await
}

/// The on-demand circuit of the form: `type`, then `etape_N` (visa, signature, OTPSignature or
/// empty) with `membres_N` (e-mails separated by commas), checked as the FAST JSON is.
fn on_demand(form: &Form) -> Result<OnDemandCircuit, ApiError> {
    let text = |name: &str| form.text(name).unwrap_or_default();
    let mut steps = Vec::new();
    for n in 0..ON_DEMAND_LINES {
        let kind = text(&format!("etape_{n}"));
        if kind.trim().is_empty() {
            continue;
        }
        let members: Vec<String> = text(&format!("membres_{n}"))
            .split([',', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        steps.push(json!({"step": kind.trim(), "members": members}));
    }
    let kind = Some(text("type")).filter(|t| !t.is_empty());
    let def = json!({"type": kind.as_deref().unwrap_or("BUREAUTIQUE_PDF"), "steps": steps});
    Ok(OnDemandCircuit::parse(&def.to_string())?)
}

/// The OTP information of the form's signer (`otp_prenom`, `otp_nom`, `otp_telephone`,
/// `otp_email`) as the `meta-data-list` of FAST's uploadOTP; `None` when all are empty.
fn otp_information(form: &Form) -> Option<Vec<u8>> {
    let fields = [
        ("OTP_firstname_0", "otp_prenom"),
        ("OTP_lastname_0", "otp_nom"),
        ("OTP_phonenumber_0", "otp_telephone"),
        ("OTP_email_0", "otp_email"),
    ];
    let values: Vec<(&str, String)> = fields
        .iter()
        .map(|(meta, field)| {
            (
                *meta,
                form.text(field).unwrap_or_default().trim().to_owned(),
            )
        })
        .collect();
    if values.iter().all(|(_, v)| v.is_empty()) {
        return None;
    }
    let mut xml = String::from("<meta-data-list>");
    for (name, value) in values.iter().filter(|(_, v)| !v.is_empty()) {
        xml.push_str(&format!(
            "<meta-data name=\"{name}\" value=\"{}\"/>",
            quick_xml::escape::escape(value.as_str())
        ));
    }
    xml.push_str("</meta-data-list>");
    Some(xml.into_bytes())
}

/// The deposit the form describes.
fn request(form: &Form) -> Result<DepositRequest, ApiError> {
    let text = |name: &str| form.text(name).unwrap_or_default();
    let target = text("circuit");
    let (siren, circuit) = target
        .split_once('/')
        .ok_or_else(|| ApiError::BadParameter("circuit".into()))?;
    let file = form
        .file(&["doc"])?
        .ok_or_else(|| ApiError::BadParameter("the document is missing".into()))?;
    let mut annexes = Vec::new();
    for p in form.parts.iter().filter(|p| p.name == "annexes") {
        match p.file_name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() && !p.bytes.is_empty() => annexes.push(Upload {
                name: FileName::parse(n)?,
                bytes: p.bytes.clone(),
            }),
            _ => {}
        }
    }
    let circuit = if circuit == ONDEMAND_CIRCUIT {
        CircuitSource::OnDemand(on_demand(form)?, None)
    } else {
        CircuitSource::Provisioned(CircuitId::parse(circuit)?)
    };
    Ok(DepositRequest {
        siren: Siren::parse(siren)?,
        circuit,
        file,
        annexes,
        label: text("label"),
        comment: text("comment"),
        email_to: Email::parse_list(&text("email_destinataire"))?,
        email_cc: Email::parse_list(&text("email_cc"))?,
        agents: Vec::new(),
        pictograms: None,
        otp: otp_information(form).map(|information| OtpDeposit {
            information,
            referer: None,
            invite: true,
        }),
        deadline: text("date_limite"),
    })
}

pub(super) async fn deposit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let caller = signed_in(&state, &headers, "/parapheur/deposer").await?;
    let form = match Form::read(&headers, body, state.cfg.max_upload_bytes).await {
        Ok(f) => f,
        Err(e) => {
            return render_deposit(
                &state,
                &caller,
                &headers,
                e.status(),
                Some(e.user_message()),
            )
            .await;
        }
    };
    let mut check = HashMap::new();
    check.insert("csrf".to_owned(), form.text("csrf").unwrap_or_default());
    require_csrf(&headers, &check)?;
    let done = match request(&form) {
        Ok(req) => {
            let invited = req.otp.is_some();
            crate::service::deposit::deposit(&state, &caller, req)
                .await
                .map(|id| (id, invited))
        }
        Err(e) => Err(e),
    };
    match done {
        Ok((id, invited)) => Ok(done_page(id, invited)),
        Err(e) => {
            render_deposit(
                &state,
                &caller,
                &headers,
                e.status(),
                Some(e.user_message()),
            )
            .await
        }
    }
}

/// The new document's page (`invitation`: the OTP signer was sent the signing link).
fn done_page(id: DocumentId, invited: bool) -> Response {
    let extra = if invited { "&invitation=1" } else { "" };
    redirect(&format!("/parapheur/documents/{}?fait=1{extra}", id.get()))
}
