//! Verification by anyone (issue 20 §3): the report of a file's signatures under the server's
//! trust anchors and its CA's current revocations, in the shape of CONTRACT §12, and the
//! verification codes printed on what the parapheur produces.

use crate::error::ApiError;
use crate::state::AppState;
use parapheur_sign::etsi::{Indication, SubIndication};
use parapheur_sign::verify::{SignatureReport, verify_pdf};
use parapheur_sign::xmlverify::{XmlReport, verify_pes, verify_xades_detached};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The alphabet of verification codes: Crockford's base 32 (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new code: 16 characters of Crockford's base 32 (80 random bits), in groups of four.
fn fresh_code() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).map_err(|e| ApiError::Internal(e.into()))?;
    let mut out = String::with_capacity(19);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    Ok(out)
}

/// A code as a reader may type it (lower case, spaces, O for 0, I or L for 1, no dashes) in
/// its canonical form, or `None` when it cannot be one.
pub fn canonical_code(typed: &str) -> Option<String> {
    let mut chars = Vec::with_capacity(16);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || chars.len() == 16 {
            return None;
        }
        chars.push(c);
    }
    if chars.len() != 16 {
        return None;
    }
    let mut out = String::with_capacity(19);
    for (i, c) in chars.into_iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c);
    }
    Some(out)
}

/// The document's verification code, made on first use.
pub async fn code_of(state: &AppState, document_id: i64) -> Result<String, ApiError> {
    Ok(state
        .db
        .verification_code(document_id, &fresh_code()?)
        .await?)
}

/// One signature as the public report shows it (CONTRACT §12).
#[derive(Debug, Clone, Serialize)]
pub struct PublicSignature {
    pub signer: String,
    /// The time a verified timestamp proves, else the time the signer claims (RFC 3339 when
    /// it could be read).
    pub signing_time: Option<String>,
    /// The signing time comes from a verified timestamp.
    pub timestamped: bool,
    pub indication: Indication,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subindication: Option<SubIndication>,
    pub level: Option<String>,
    /// What was found wrong, and remarks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// A document timestamp (PAdES B-LTA) of the file.
#[derive(Debug, Clone, Serialize)]
pub struct PublicTimestamp {
    pub time: Option<String>,
    pub indication: Indication,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subindication: Option<SubIndication>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// The report of a file (CONTRACT §12, plus the file's SHA-256 and format).
#[derive(Debug, Clone, Serialize)]
pub struct PublicReport {
    pub indication: Indication,
    pub signatures: Vec<PublicSignature>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub document_timestamps: Vec<PublicTimestamp>,
    /// "PDF", "PES" or "XAdES".
    pub format: &'static str,
    pub sha256: String,
    /// When the validation was made (RFC 3339).
    pub validated_at: String,
    /// Problems of the file as a whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// A PDF date (`D:YYYYMMDDHHmmSS+HH'mm'`) as RFC 3339, or as written when it is not one.
fn pdf_date(raw: &str) -> String {
    let s = raw.strip_prefix("D:").unwrap_or(raw);
    let digits: String = s.chars().take(14).collect();
    if digits.len() < 14 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return raw.to_owned();
    }
    let rest = &s[14..];
    let offset = match rest.chars().next() {
        Some(sign @ ('+' | '-')) => {
            let d: String = rest.chars().filter(char::is_ascii_digit).take(4).collect();
            if d.len() == 4 {
                format!("{sign}{}:{}", &d[..2], &d[2..])
            } else {
                "Z".to_owned()
            }
        }
        _ => "Z".to_owned(),
    };
    format!(
        "{}-{}-{}T{}:{}:{}{offset}",
        &digits[..4],
        &digits[4..6],
        &digits[6..8],
        &digits[8..10],
        &digits[10..12],
        &digits[12..14]
    )
}

fn from_pdf(s: &SignatureReport) -> PublicSignature {
    PublicSignature {
        signer: s.signer.clone(),
        signing_time: s
            .timestamp_time
            .clone()
            .or_else(|| s.signing_time.as_deref().map(pdf_date)),
        timestamped: s.timestamped,
        indication: s.indication,
        subindication: s.subindication,
        level: s.level.map(|l| l.as_str().to_owned()),
        details: s.errors.iter().chain(&s.warnings).cloned().collect(),
    }
}

fn from_xml(r: XmlReport, level: &str) -> (Vec<PublicSignature>, Vec<String>) {
    let signatures = r
        .signatures
        .into_iter()
        .map(|s| PublicSignature {
            signer: s.signer,
            signing_time: s.signing_time,
            timestamped: s.timestamp_time.is_some(),
            indication: s.indication,
            subindication: s.subindication,
            level: Some(match (&s.timestamp_time, level) {
                (Some(_), "XAdES-BASELINE-B") => "XAdES-BASELINE-T".to_owned(),
                _ => level.to_owned(),
            }),
            details: s.errors,
        })
        .collect();
    (signatures, r.errors)
}

/// What was given to verify.
pub enum Submitted {
    /// A signed PDF, or an XML file with enveloped signatures (a PES).
    File(Vec<u8>),
    /// A detached XAdES signature and the file it signs.
    Detached { signature: Vec<u8>, data: Vec<u8> },
}

fn is_pdf(bytes: &[u8]) -> bool {
    bytes.windows(5).take(1024).any(|w| w == b"%PDF-")
}

/// Verifies `what` under the server's anchors and the CA's current revocations, then again
/// with the CRLs of trusted signers fetched online when the file had nothing about them.
pub async fn verify(state: &AppState, what: Submitted) -> Result<PublicReport, ApiError> {
    let crl = crate::service::revocation::crl(state).await?;
    let what = std::sync::Arc::new(what);
    crate::service::online_revocation::judged(state, |others| {
        judge(state, what.clone(), crl.clone(), others)
    })
    .await
}

/// The report on `what` with the internal CA's CRL and `others`, and the CRL URLs of trusted
/// signers nothing was known about.
async fn judge(
    state: &AppState,
    what: std::sync::Arc<Submitted>,
    crl: Vec<u8>,
    others: Vec<Vec<u8>>,
) -> Result<(PublicReport, Vec<String>), ApiError> {
    let st = state.clone();
    tokio::task::spawn_blocking(move || -> Result<(PublicReport, Vec<String>), ApiError> {
        let ctx = st
            .pki
            .validation_with_crls(&crl, &others)
            .map_err(|e| ApiError::Internal(e.into()))?;
        let mut urls = Vec::new();
        let validated_at = chrono::DateTime::from_timestamp(ctx.now(), 0)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let (hashed, format, signatures, timestamps, errors) = match what.as_ref() {
            Submitted::File(bytes) if is_pdf(bytes) => {
                let r = verify_pdf(bytes, &ctx)
                    .map_err(|e| ApiError::BadParameter(format!("the PDF cannot be read ({e})")))?;
                urls.extend(r.signatures.iter().flat_map(|s| s.revocation_urls.clone()));
                let (stamps, sigs): (Vec<_>, Vec<_>) =
                    r.signatures.iter().partition(|s| s.document_timestamp);
                let timestamps = stamps
                    .into_iter()
                    .map(|s| PublicTimestamp {
                        time: s.timestamp_time.clone(),
                        indication: s.indication,
                        subindication: s.subindication,
                        details: s.errors.clone(),
                    })
                    .collect();
                let sigs = sigs.into_iter().map(from_pdf).collect();
                (bytes, "PDF", sigs, timestamps, Vec::new())
            }
            Submitted::File(bytes) => {
                let r = verify_pes(bytes, &ctx);
                urls.extend(r.signatures.iter().flat_map(|s| s.revocation_urls.clone()));
                let (sigs, errors) = from_xml(r, "XAdES-EPES");
                (bytes, "PES", sigs, Vec::new(), errors)
            }
            Submitted::Detached { signature, data } => {
                let r = verify_xades_detached(signature, data, &ctx);
                urls.extend(r.signatures.iter().flat_map(|s| s.revocation_urls.clone()));
                let (sigs, errors) = from_xml(r, "XAdES-BASELINE-B");
                (data, "XAdES", sigs, Vec::new(), errors)
            }
        };
        let mut indication = parapheur_sign::verify::overall(
            signatures
                .iter()
                .map(|s: &PublicSignature| &s.indication)
                .chain(timestamps.iter().map(|t: &PublicTimestamp| &t.indication)),
        );
        if !errors.is_empty() && !signatures.is_empty() {
            indication = Indication::TotalFailed;
        }
        let report = PublicReport {
            indication,
            signatures,
            document_timestamps: timestamps,
            format,
            sha256: hex::encode(Sha256::digest(hashed)),
            validated_at,
            errors,
        };
        Ok((report, urls))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_typed_and_refused_otherwise() {
        let c = fresh_code().unwrap_or_default();
        assert_eq!(c.len(), 19);
        assert_eq!(canonical_code(&c).as_deref(), Some(c.as_str()));
        assert_eq!(
            canonical_code("abcd efgh jkmn pqr0").as_deref(),
            Some("ABCD-EFGH-JKMN-PQR0")
        );
        assert_eq!(
            canonical_code("ABCDEFGHJKMNPQRo").as_deref(),
            Some("ABCD-EFGH-JKMN-PQR0")
        );
        assert_eq!(canonical_code("ABCD-EFGH-JKMN-PQRU"), None);
        assert_eq!(canonical_code("ABCD-EFGH-JKMN-PQ"), None);
        assert_eq!(canonical_code("ABCD-EFGH-JKMN-PQRS-T"), None);
        assert_eq!(canonical_code("ÀBCD-EFGH-JKMN-PQRS"), None);
    }

    #[test]
    fn pdf_dates_become_rfc3339() {
        assert_eq!(
            pdf_date("D:20261206120000+01'00'"),
            "2026-12-06T12:00:00+01:00"
        );
        assert_eq!(pdf_date("D:20261206120000Z"), "2026-12-06T12:00:00Z");
        assert_eq!(pdf_date("hier"), "hier");
    }
}
