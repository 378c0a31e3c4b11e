//! `POST /api/v1/documents/{id}/{visa,reject,sign,refuse}` with an optional `{"comment"}`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::openapi::ActionDone;
use crate::service::{access, documents};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use bytes::Bytes;
use parapheur_domain::{Action, DocumentId};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    comment: Option<String>,
}

async fn run(
    state: AppState,
    caller: Caller,
    id: String,
    body: Bytes,
    action: Action,
) -> Result<Json<ActionDone>, ApiError> {
    let id = DocumentId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let b: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadParameter(format!("JSON body {{\"comment\"}} expected ({e})"))
        })?
    };
    if let Some(c) = &b.comment {
        crate::routes::no_nul("comment", c)?;
    }
    if b.comment.as_ref().is_some_and(|c| c.chars().count() > 4000) {
        return Err(ApiError::BadParameter(
            "comment longer than 4000 characters".into(),
        ));
    }
    documents::act(&state, &caller, id, action, b.comment).await?;
    let doc = access::load(&state, &caller, id).await?;
    Ok(Json(ActionDone {
        id: doc.id,
        status: doc.status.as_str().to_owned(),
        current_step: doc.current_step,
    }))
}

/// Approves the current visa step.
#[utoipa::path(post, path = "/api/v1/documents/{id}/visa", operation_id = "visa", tag = "native",
    params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = Option<crate::routes::openapi::ActionComment>, content_type = "application/json"),
    responses((status = 200, description = "The document after the action", body = crate::routes::openapi::ActionDone)))]
pub async fn visa(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<ActionDone>, ApiError> {
    run(s, c, id, b, Action::Visa).await
}
/// Refuses the current visa step (a comment is required).
#[utoipa::path(post, path = "/api/v1/documents/{id}/reject", operation_id = "reject", tag = "native",
    params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = Option<crate::routes::openapi::ActionComment>, content_type = "application/json"),
    responses((status = 200, description = "The document after the action", body = crate::routes::openapi::ActionDone)))]
pub async fn reject(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<ActionDone>, ApiError> {
    run(s, c, id, b, Action::Reject).await
}
/// Signs the current signature step with the caller's key held by the server.
#[utoipa::path(post, path = "/api/v1/documents/{id}/sign", operation_id = "sign", tag = "native",
    params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = Option<crate::routes::openapi::ActionComment>, content_type = "application/json"),
    responses((status = 200, description = "The document after the action", body = crate::routes::openapi::ActionDone)))]
pub async fn sign(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<ActionDone>, ApiError> {
    run(s, c, id, b, Action::Sign).await
}
/// Refuses the current signature step (a comment is required).
#[utoipa::path(post, path = "/api/v1/documents/{id}/refuse", operation_id = "refuse", tag = "native",
    params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = Option<crate::routes::openapi::ActionComment>, content_type = "application/json"),
    responses((status = 200, description = "The document after the action", body = crate::routes::openapi::ActionDone)))]
pub async fn refuse(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<ActionDone>, ApiError> {
    run(s, c, id, b, Action::Refuse).await
}

/// The certificates of a card's key, as `parapheur-agent` sends them (base64 DER, the signer's
/// first).
fn chain_of(certificates: &[String]) -> Result<Vec<openssl::x509::X509>, ApiError> {
    use base64::Engine;
    if certificates.is_empty() || certificates.len() > 10 {
        return Err(ApiError::BadParameter(
            "certificates: one to ten base64 DER certificates, the signer's first".into(),
        ));
    }
    certificates
        .iter()
        .map(|c| {
            let der = base64::engine::general_purpose::STANDARD
                .decode(c.trim())
                .map_err(|e| ApiError::BadParameter(format!("certificates: base64 ({e})")))?;
            openssl::x509::X509::from_der(&der)
                .map_err(|e| ApiError::BadParameter(format!("certificates: not DER X.509 ({e})")))
        })
        .collect()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PrepareBody {
    certificates: Vec<String>,
    comment: Option<String>,
}

/// `POST /api/v1/documents/{id}/sign/prepare` `{"certificates": [...], "comment"?}`: the first
/// phase of a signature with the caller's own card. Answers the data to sign (base64:
/// `data_to_sign`, and `data_to_sign_all`, the list — a PES has one per Bordereau), the
/// signing time to send back, and how to sign (SHA-256 with the key's RSA PKCS#1 v1.5 or
/// ECDSA, DER-encoded).
#[utoipa::path(post, path = "/api/v1/documents/{id}/sign/prepare", operation_id = "signPrepare", tag = "native",
    params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = inline(PrepareBody), content_type = "application/json"),
    responses((status = 200, description = "The data to sign", body = Prepared)))]
pub async fn sign_prepare(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<Prepared>, ApiError> {
    use base64::Engine;
    let id = DocumentId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let body: PrepareBody = serde_json::from_slice(&b).map_err(|e| {
        ApiError::BadParameter(format!("JSON body {{\"certificates\"}} expected ({e})"))
    })?;
    let chain = chain_of(&body.certificates)?;
    let ec = chain[0]
        .public_key()
        .map(|k| k.id() == openssl::pkey::Id::EC)
        .unwrap_or(false);
    if let Some(comment) = &body.comment {
        crate::routes::no_nul("comment", comment)?;
    }
    let (data, time) = documents::prepare_token_signature(&s, &c, id, chain, body.comment).await?;
    let b64 = |d: &Vec<u8>| base64::engine::general_purpose::STANDARD.encode(d);
    Ok(Json(Prepared {
        data_to_sign: data.first().map(b64).unwrap_or_default(),
        data_to_sign_all: data.iter().map(b64).collect(),
        signing_time: time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        digest_algorithm: "SHA-256",
        signature_algorithm: if ec {
            "ECDSA_SHA256"
        } else {
            "RSA_PKCS1_SHA256"
        },
    }))
}

/// The first phase's answer: what the card signs, and how.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Prepared {
    /// The first (often only) data to sign, base64.
    data_to_sign: String,
    /// Every data to sign, base64 (a PES has one per Bordereau).
    data_to_sign_all: Vec<String>,
    /// To send back with the signatures, RFC 3339.
    signing_time: String,
    /// `SHA-256`.
    digest_algorithm: &'static str,
    /// `RSA_PKCS1_SHA256` or `ECDSA_SHA256` (DER-encoded).
    signature_algorithm: &'static str,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CompleteBody {
    certificates: Vec<String>,
    signing_time: String,
    signature: Option<String>,
    signatures: Option<Vec<String>>,
    comment: Option<String>,
}

/// `POST /api/v1/documents/{id}/sign/complete` `{"certificates", "signing_time", "signature"
/// (or "signatures", one per data to sign), "comment"?}`: the second phase. Each value must
/// verify over a data of the first phase; the server embeds them and signs the step.
#[utoipa::path(post, path = "/api/v1/documents/{id}/sign/complete", operation_id = "signComplete", tag = "native",
    params(("id" = i64, Path, description = "The document identifier")),
    request_body(content = inline(CompleteBody), content_type = "application/json"),
    responses((status = 200, description = "The document after the signature", body = crate::routes::openapi::ActionDone)))]
pub async fn sign_complete(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    b: Bytes,
) -> Result<Json<ActionDone>, ApiError> {
    use base64::Engine;
    let id = DocumentId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let body: CompleteBody = serde_json::from_slice(&b).map_err(|e| {
        ApiError::BadParameter(format!(
            "JSON body {{\"certificates\", \"signing_time\", \"signature\"}} expected ({e})"
        ))
    })?;
    let chain = chain_of(&body.certificates)?;
    let time = chrono::DateTime::parse_from_rfc3339(&body.signing_time)
        .map_err(|e| ApiError::BadParameter(format!("signing_time: RFC 3339 expected ({e})")))?
        .with_timezone(&chrono::Utc);
    let given: Vec<String> = body
        .signatures
        .unwrap_or_default()
        .into_iter()
        .chain(body.signature)
        .collect();
    if given.is_empty() || given.len() > 1000 {
        return Err(ApiError::BadParameter(
            "signature or signatures (1 to 1000 base64 values) expected".into(),
        ));
    }
    let values = given
        .iter()
        .map(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map_err(|e| ApiError::BadParameter(format!("signature: base64 ({e})")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let token = crate::service::signing::TokenSignature {
        chain,
        values,
        time,
    };
    if let Some(comment) = &body.comment {
        crate::routes::no_nul("comment", comment)?;
    }
    documents::sign_with_token(&s, &c, id, body.comment, token).await?;
    let doc = access::load(&s, &c, id).await?;
    Ok(Json(ActionDone {
        id: doc.id,
        status: doc.status.as_str().to_owned(),
        current_step: doc.current_step,
    }))
}
