//! `/healthz` (database and blob store answer) and `/metrics` (Prometheus text format).

use crate::state::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// `ok` when the database and the blob store answer.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses((status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (status = 503, description = "The database or the blob store does not answer", body = String, content_type = "text/plain")))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    let db = state.db.ping().await;
    let blobs = state.blobs.check().await;
    match (db, blobs) {
        (Ok(()), Ok(())) => (StatusCode::OK, "ok").into_response(),
        (db, blobs) => {
            tracing::error!(db = ?db.err(), blobs = ?blobs.err(), "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response()
        }
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "The metrics", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let mut s = String::new();
    let _ = writeln!(s, "# TYPE parapheur_http_requests_total counter");
    let _ = writeln!(
        s,
        "parapheur_http_requests_total {}",
        m.requests.load(Ordering::Relaxed)
    );
    let _ = writeln!(s, "# TYPE parapheur_uploads_total counter");
    let _ = writeln!(
        s,
        "parapheur_uploads_total {}",
        m.uploads.load(Ordering::Relaxed)
    );
    let _ = writeln!(s, "# TYPE parapheur_fast_errors_total counter");
    let _ = writeln!(
        s,
        "parapheur_fast_errors_total {}",
        m.fast_errors.load(Ordering::Relaxed)
    );
    for (name, v) in [
        ("parapheur_mails_sent_total", &m.mails_sent),
        ("parapheur_sms_sent_total", &m.sms_sent),
        ("parapheur_job_failures_total", &m.job_failures),
    ] {
        let _ = writeln!(s, "# TYPE {name} counter");
        let _ = writeln!(s, "{name} {}", v.load(Ordering::Relaxed));
    }
    if let Ok(c) = state.db.job_counts().await {
        let _ = writeln!(s, "# TYPE parapheur_jobs gauge");
        for (status, n) in [
            ("pending", c.pending),
            ("done", c.done),
            ("failed", c.failed),
        ] {
            let _ = writeln!(s, "parapheur_jobs{{status=\"{status}\"}} {n}");
        }
    }
    if let Ok(counts) = state.db.count_by_status().await {
        let _ = writeln!(s, "# TYPE parapheur_documents gauge");
        for (status, n) in counts {
            let status = status.as_str();
            let _ = writeln!(s, "parapheur_documents{{status=\"{status}\"}} {n}");
        }
    }
    if let Ok(queue) = state.db.job_queue().await {
        let _ = writeln!(s, "# HELP parapheur_job_queue_depth Pending jobs by kind");
        let _ = writeln!(s, "# TYPE parapheur_job_queue_depth gauge");
        for (kind, n, _) in &queue {
            let _ = writeln!(s, "parapheur_job_queue_depth{{kind=\"{kind}\"}} {n}");
        }
        let _ = writeln!(
            s,
            "# HELP parapheur_job_oldest_due_seconds How long the oldest due pending job of a kind has waited"
        );
        let _ = writeln!(s, "# TYPE parapheur_job_oldest_due_seconds gauge");
        for (kind, _, age_ms) in &queue {
            let _ = writeln!(
                s,
                "parapheur_job_oldest_due_seconds{{kind=\"{kind}\"}} {:.3}",
                *age_ms as f64 / 1000.0
            );
        }
    }
    s.push_str(&m.render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s).into_response()
}

/// `GET /api/v1/pki/ca.pem`: the trust anchors of the signatures made with keys this server issued.
#[utoipa::path(get, path = "/api/v1/pki/ca.pem", operation_id = "caPem", tag = "operations",
    responses((status = 200, description = "The trust anchors of the signatures made with keys this server issued", body = String, content_type = "application/x-pem-file")))]
pub async fn ca_pem(State(state): State<AppState>) -> Response {
    match state.pki.ca_pem() {
        Ok(pem) => ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response(),
        Err(e) => crate::error::ApiError::Internal(e.into()).into_response(),
    }
}

/// `GET /api/v1/pki/crl`: the internal CA's certificate revocation list (DER, a day's validity),
/// the distribution point written in the certificates it issues.
#[utoipa::path(get, path = "/api/v1/pki/crl", operation_id = "crl", tag = "operations",
    responses((status = 200, description = "The internal authority's CRL, DER", content(("application/pkix-crl")))))]
pub async fn crl(State(state): State<AppState>) -> Response {
    match crate::service::revocation::crl(&state).await {
        Ok(der) => (
            [
                (header::CONTENT_TYPE, "application/pkix-crl"),
                (header::CACHE_CONTROL, "max-age=300"),
            ],
            der,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/pki/ocsp` (`application/ocsp-request`): the internal CA's OCSP responder
/// (RFC 6960), named in the certificates it issues. A malformed request gets the
/// `malformedRequest` OCSP status, as the protocol says, not an HTTP error.
/// The internal authority's OCSP responder (RFC 6960, POST).
#[utoipa::path(post, path = "/api/v1/pki/ocsp", operation_id = "ocsp", tag = "operations",
    request_body(content = Vec<u8>, content_type = "application/ocsp-request"),
    responses((status = 200, description = "The OCSP response, DER", content(("application/ocsp-response")))))]
pub async fn ocsp(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    match crate::service::revocation::ocsp(&state, &body).await {
        Ok(der) => ([(header::CONTENT_TYPE, "application/ocsp-response")], der).into_response(),
        Err(e) => e.into_response(),
    }
}
