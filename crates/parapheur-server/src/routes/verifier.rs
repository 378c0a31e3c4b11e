//! Verification by anyone (CONTRACT §12): `GET /verifier` (a French page to upload a signed
//! file), `POST /verifier` (multipart `file`, and `data` for a detached XAdES signature; the
//! report as a page, as JSON with `Accept: application/json` or `format=json`, as a PDF with
//! `format=pdf`), and `GET /verifier/{code}` (the signatures and SHA-256 of the document a
//! printed verification code designates). No account; every request counts against the
//! client address (`[limits] verifications_per_ip` a minute, shared by every instance); files
//! are verified in memory and never stored. There is no session to protect, hence no CSRF
//! token: a forged cross-site upload only shows its sender a report.

use crate::error::ApiError;
use crate::routes::form::Form as Multipart;
use crate::routes::html::{PageError, html, rendered};
use crate::service::verifier::{self, PublicReport, Submitted};
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parapheur_domain::{CircuitType, DocumentStatus};
use parapheur_sign::etsi::Indication;
use parapheur_store::throttle::Subject;

/// The largest file the public service verifies (or `[server] max_upload_bytes`, if smaller).
const MAX_VERIFIED_BYTES: u64 = 32 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/verifier", get(page).post(submit))
        .route("/verifier/{code}", get(by_code))
}

/// A report as the pages show it.
pub struct Shown {
    pub report: PublicReport,
}

impl Shown {
    pub fn indication_fr(&self) -> &'static str {
        if self.report.signatures.is_empty() {
            "aucune signature"
        } else {
            self.report.indication.label_fr()
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.report.indication {
            Indication::TotalPassed => "success",
            Indication::Indeterminate => "info",
            Indication::TotalFailed => "error",
        }
    }

    pub fn summary_fr(&self) -> String {
        let n = self.report.signatures.len();
        match (n, self.report.indication) {
            (0, _) => "Ce fichier ne porte aucune signature électronique reconnue.".to_owned(),
            (_, Indication::TotalPassed) => {
                format!("{n} signature(s), toutes valides.")
            }
            (_, Indication::Indeterminate) => {
                format!("{n} signature(s) : la validité d'au moins une ne peut pas être établie.")
            }
            (_, Indication::TotalFailed) => {
                format!("{n} signature(s) : au moins une est invalide.")
            }
        }
    }
}

#[derive(Template)]
#[template(path = "verifier/page.html")]
struct Page<'a> {
    result: Option<&'a Shown>,
    message: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "verifier/code.html")]
struct CodePage<'a> {
    code: &'a str,
    name: &'a str,
    subscriber: &'a str,
    state: &'a str,
    r: &'a Shown,
}

/// Counts the request against the client address; past the limit, HTTP 429.
async fn throttle(state: &AppState, parts: &Parts) -> Result<(), ApiError> {
    let Some(ip) = crate::auth::client_ip(state, parts) else {
        return Ok(());
    };
    let a = state
        .db
        .auth_failed(&Subject::VerifierIp(ip), 60_000)
        .await?;
    if a.count > state.cfg.limits.verifications_per_ip {
        let secs = (a.window_end - parapheur_store::now_ms()).max(1000) / 1000;
        tracing::info!(ip = %ip, "verification requests throttled");
        return Err(ApiError::TooManyVerifications(
            u64::try_from(secs).unwrap_or(1),
        ));
    }
    Ok(())
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

/// An error as the asker expects it: problem+json, or the page with a message.
fn failure(json: bool, e: ApiError) -> Response {
    if json {
        return e.into_response();
    }
    let status = e.status();
    let text = e.user_message();
    let retry = match e {
        ApiError::TooManyVerifications(s) => Some(s),
        _ => None,
    };
    let mut r = match (Page {
        result: None,
        message: Some(text),
    })
    .render()
    {
        Ok(body) => html(status, body),
        Err(_) => e.into_response(),
    };
    if let Some(s) = retry {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    r
}

/// `GET /verifier`: the upload form.
async fn page() -> Result<Response, PageError> {
    rendered(
        Page {
            result: None,
            message: None,
        }
        .render(),
        StatusCode::OK,
    )
}

/// `POST /verifier`.
async fn submit(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut json = wants_json(&parts.headers);
    if let Err(e) = throttle(&state, &parts).await {
        return failure(json, e);
    }
    let limit = state.cfg.max_upload_bytes.min(MAX_VERIFIED_BYTES);
    let form = match Multipart::read(&parts.headers, body, limit).await {
        Ok(f) => f,
        Err(e) => return failure(json, e),
    };
    let format = form.text("format").unwrap_or_default();
    json |= format == "json";
    let part = |name: &str| {
        form.parts
            .iter()
            .find(|p| p.name == name && !p.bytes.is_empty())
            .map(|p| p.bytes.to_vec())
    };
    let Some(file) = part("file") else {
        return failure(
            json,
            ApiError::BadParameter("the signed file (multipart field `file`) is missing".into()),
        );
    };
    let what = match part("data") {
        Some(data) => Submitted::Detached {
            signature: file,
            data,
        },
        None => Submitted::File(file),
    };
    let report = match verifier::verify(&state, what).await {
        Ok(r) => r,
        Err(e) => return failure(json, e),
    };
    if json {
        let mut r = axum::Json(&report).into_response();
        if format == "json" {
            r.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"rapport-de-verification.json\""),
            );
        }
        return r;
    }
    if format == "pdf" {
        return match report_pdf(&report, None) {
            Ok(pdf) => (
                [
                    (header::CONTENT_TYPE, "application/pdf"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"rapport-de-verification.pdf\"",
                    ),
                ],
                pdf,
            )
                .into_response(),
            Err(e) => failure(false, ApiError::Internal(e.into())),
        };
    }
    let shown = Shown { report };
    match (Page {
        result: Some(&shown),
        message: None,
    })
    .render()
    {
        Ok(body) => html(StatusCode::OK, body),
        Err(e) => failure(false, ApiError::Internal(e.into())),
    }
}

fn status_fr(s: DocumentStatus) -> &'static str {
    match s {
        DocumentStatus::AwaitingMetadata => "En attente de métadonnées",
        DocumentStatus::InProgress => "En cours de circuit",
        DocumentStatus::VisaDisapproved => "Visa refusé",
        DocumentStatus::Refused => "Refusé",
        DocumentStatus::SignatureRejected => "Signature rejetée",
        DocumentStatus::Classified => "Terminé",
    }
}

/// `GET /verifier/{code}`: the document's signatures and SHA-256 (page, or JSON).
async fn by_code(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let json = wants_json(&parts.headers);
    if let Err(e) = throttle(&state, &parts).await {
        return failure(json, e);
    }
    match report_of_code(&state, &raw).await {
        Ok(None) => failure(json, ApiError::NotFound),
        Ok(Some((code, doc, subscriber, report))) => {
            if json {
                let mut v = serde_json::to_value(&report).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("code".into(), code.into());
                    o.insert("document".into(), doc.label.clone().into());
                    o.insert("siren".into(), doc.siren.clone().into());
                }
                return axum::Json(v).into_response();
            }
            let shown = Shown { report };
            match (CodePage {
                code: &code,
                name: &doc.label,
                subscriber: &subscriber,
                state: status_fr(doc.status),
                r: &shown,
            })
            .render()
            {
                Ok(body) => html(StatusCode::OK, body),
                Err(e) => failure(false, ApiError::Internal(e.into())),
            }
        }
        Err(e) => failure(json, e),
    }
}

type CodeReport = (
    String,
    parapheur_store::documents::DocumentRow,
    String,
    PublicReport,
);

async fn report_of_code(state: &AppState, raw: &str) -> Result<Option<CodeReport>, ApiError> {
    let Some(code) = verifier::canonical_code(raw) else {
        return Ok(None);
    };
    let Some(id) = state.db.document_of_verification_code(&code).await? else {
        return Ok(None);
    };
    let Some(doc) = state.db.document(id).await? else {
        return Ok(None);
    };
    if doc.purged_at.is_some() {
        return Err(ApiError::ContentPurged);
    }
    let file = state.blobs.get(&doc.blob_key).await?.to_vec();
    let what = match doc.circuit_type {
        CircuitType::BureautiqueXml => match state.db.detached_signatures(doc.id).await?.last() {
            Some(sig) => Submitted::Detached {
                signature: state.blobs.get(&sig.blob_key).await?.to_vec(),
                data: file,
            },
            None => Submitted::File(file),
        },
        CircuitType::BureautiquePdf
        | CircuitType::HeliosAvecTeletransmission
        | CircuitType::HeliosSansTeletransmission => Submitted::File(file),
    };
    let report = verifier::verify(state, what).await?;
    let subscriber = state
        .db
        .subscriber_name(&doc.siren)
        .await?
        .unwrap_or_else(|| doc.siren.clone());
    Ok(Some((code, doc, subscriber, report)))
}

/// The report as a PDF (for the record: the file itself is not kept).
pub fn report_pdf(r: &PublicReport, code: Option<&str>) -> Result<Vec<u8>, lopdf::Error> {
    use crate::pdfgen::{Line, render, wrap};
    let mut l = vec![
        Line::new("Rapport de vérification de signatures", 18.0, true),
        Line::new(format!("Vérifié le {}", r.validated_at), 10.0, false),
        Line::new("", 6.0, false),
    ];
    if let Some(c) = code {
        l.push(Line::new(
            format!("Code de vérification : {c}"),
            10.0,
            false,
        ));
    }
    l.push(Line::new(format!("Format : {}", r.format), 10.0, false));
    l.push(Line::new(format!("SHA-256 : {}", r.sha256), 9.0, false));
    l.push(Line::new(
        format!(
            "Résultat : {} ({})",
            if r.signatures.is_empty() {
                "aucune signature"
            } else {
                r.indication.label_fr()
            },
            r.indication.as_str()
        ),
        12.0,
        true,
    ));
    for e in &r.errors {
        for part in wrap(e, 90) {
            l.push(Line::new(part, 9.0, false));
        }
    }
    for (i, s) in r.signatures.iter().enumerate() {
        l.push(Line::new("", 6.0, false));
        l.push(Line::new(
            format!("Signature {} : {}", i + 1, s.signer),
            12.0,
            true,
        ));
        if let Some(t) = &s.signing_time {
            l.push(Line::new(
                format!(
                    "Date : {t}{}",
                    if s.timestamped {
                        " (horodatée)"
                    } else {
                        " (déclarée)"
                    }
                ),
                10.0,
                false,
            ));
        }
        if let Some(level) = &s.level {
            l.push(Line::new(format!("Niveau : {level}"), 10.0, false));
        }
        let mut verdict = format!("{} ({})", s.indication.label_fr(), s.indication.as_str());
        if let Some(sub) = s.subindication {
            verdict.push_str(&format!(" : {} ({})", sub.label_fr(), sub.as_str()));
        }
        for part in wrap(&verdict, 90) {
            l.push(Line::new(part, 10.0, false));
        }
        for d in &s.details {
            for part in wrap(d, 95) {
                l.push(Line::new(format!("  {part}"), 8.0, false));
            }
        }
    }
    for t in &r.document_timestamps {
        l.push(Line::new(
            format!(
                "Horodatage du document {} : {}",
                t.time.as_deref().unwrap_or("?"),
                t.indication.label_fr()
            ),
            10.0,
            false,
        ));
    }
    render("Rapport de vérification", &l)
}
