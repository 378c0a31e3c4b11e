//! The internal CA's OCSP responder (RFC 6960). The CA answers for itself (no delegated
//! responder certificate): each request's certificate ids are matched against the CA's name and
//! key hashes (SHA-1 or SHA-256), then answered `good`, `revoked` (with the date) or `unknown`
//! (another issuer), in one basic response signed with the CA key. The ASN.1 types are those of
//! RustCrypto's `x509-ocsp`; the signature is OpenSSL's.

use crate::SignError;
use crate::ca::InternalCa;
use der::asn1::{BitString, GeneralizedTime, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use openssl::hash::{MessageDigest, hash};
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    OcspResponseStatus, ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
    Version,
};

pub use x509_cert::ext::pkix::CrlReason;

const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const ID_PKIX_OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");

/// The hashes of the CA's name and key a certificate id names it by.
type IssuerHashes = (Vec<u8>, Vec<u8>);

/// Responses are valid this long.
const VALIDITY_S: u64 = 3600;

fn bad(what: &str) -> impl FnOnce(der::Error) -> SignError + '_ {
    move |e| SignError::Invalid(format!("OCSP {what}: {e}"))
}

fn time(unix: i64) -> Result<OcspGeneralizedTime, SignError> {
    let d = std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    Ok(OcspGeneralizedTime(
        GeneralizedTime::from_unix_duration(d).map_err(bad("time"))?,
    ))
}

/// A response without body (`malformedRequest`, `internalError`).
fn status_only(status: OcspResponseStatus) -> Vec<u8> {
    OcspResponse {
        response_status: status,
        response_bytes: None,
    }
    .to_der()
    .unwrap_or_default()
}

/// Answers the DER request `request`: `revoked_at(serial in upper-case hexadecimal)` gives the
/// revocation time (Unix seconds) of a certificate of this CA, if revoked; `now` is the current
/// time. Always a DER `OCSPResponse` (a malformed request gets `malformedRequest`).
pub fn respond(
    ca: &InternalCa,
    request: &[u8],
    revoked_at: impl Fn(&str) -> Option<i64>,
    now: i64,
) -> Vec<u8> {
    respond_with(
        ca,
        request,
        |serial| match revoked_at(serial) {
            Some(at) => Status::Revoked { at, reason: None },
            None => Status::Good,
        },
        now,
    )
}

/// What the responder says of one certificate of its CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Good,
    /// Revoked at `at` (Unix seconds), for `reason` when one was recorded.
    Revoked {
        at: i64,
        reason: Option<CrlReason>,
    },
    /// Not a certificate the CA issued.
    Unknown,
}

/// [`respond`], `status(serial in upper-case hexadecimal)` saying what each certificate of the
/// CA is.
pub fn respond_with(
    ca: &InternalCa,
    request: &[u8],
    status: impl Fn(&str) -> Status,
    now: i64,
) -> Vec<u8> {
    let Ok(req) = OcspRequest::from_der(request) else {
        return status_only(OcspResponseStatus::MalformedRequest);
    };
    match signed_response(ca, &req, status, now) {
        Ok(der) => der,
        Err(e) => {
            tracing::warn!(error = %e, "OCSP response failed");
            status_only(OcspResponseStatus::InternalError)
        }
    }
}

/// The serial numbers (upper-case hexadecimal) a DER request asks about, whoever their issuer
/// (none for a malformed request).
pub fn requested_serials(request: &[u8]) -> Vec<String> {
    let Ok(req) = OcspRequest::from_der(request) else {
        return Vec::new();
    };
    req.tbs_request
        .request_list
        .iter()
        .filter_map(|r| {
            openssl::bn::BigNum::from_slice(r.req_cert.serial_number.as_bytes())
                .and_then(|bn| bn.to_hex_str().map(|h| h.to_string()))
                .ok()
        })
        .collect()
}

fn signed_response(
    ca: &InternalCa,
    req: &OcspRequest,
    status_of: impl Fn(&str) -> Status,
    now: i64,
) -> Result<Vec<u8>, SignError> {
    let ca_cert = x509_cert::Certificate::from_der(&ca.certificate().to_der()?)
        .map_err(bad("CA certificate"))?;
    let name_der = ca_cert
        .tbs_certificate
        .subject
        .to_der()
        .map_err(bad("CA name"))?;
    let key_bits = ca_cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let ours = |algorithm: &ObjectIdentifier| -> Result<Option<IssuerHashes>, SignError> {
        let md = match *algorithm {
            ID_SHA1 => MessageDigest::sha1(),
            ID_SHA256 => MessageDigest::sha256(),
            _ => return Ok(None),
        };
        Ok(Some((
            hash(md, &name_der)?.to_vec(),
            hash(md, &key_bits)?.to_vec(),
        )))
    };
    let mut responses = Vec::with_capacity(req.tbs_request.request_list.len());
    for r in &req.tbs_request.request_list {
        let id = &r.req_cert;
        let matches = ours(&id.hash_algorithm.oid)?.is_some_and(|(n, k)| {
            n == id.issuer_name_hash.as_bytes() && k == id.issuer_key_hash.as_bytes()
        });
        let status = if !matches {
            CertStatus::unknown()
        } else {
            let serial = openssl::bn::BigNum::from_slice(id.serial_number.as_bytes())?
                .to_hex_str()?
                .to_string();
            match status_of(&serial) {
                Status::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
                    revocation_time: time(at)?,
                    revocation_reason: reason,
                }),
                Status::Good => CertStatus::good(),
                Status::Unknown => CertStatus::unknown(),
            }
        };
        responses.push(SingleResponse {
            cert_id: id.clone(),
            cert_status: status,
            this_update: time(now)?,
            next_update: Some(time(now + VALIDITY_S as i64)?),
            single_extensions: None,
        });
    }
    // The request's nonce, echoed (RFC 8954).
    let nonce: Vec<_> = req
        .tbs_request
        .request_extensions
        .iter()
        .flatten()
        .filter(|e| e.extn_id == ID_PKIX_OCSP_NONCE)
        .cloned()
        .collect();
    let data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(
            OctetString::new(hash(MessageDigest::sha1(), &key_bits)?.to_vec())
                .map_err(bad("key hash"))?,
        ),
        produced_at: time(now)?,
        responses,
        response_extensions: (!nonce.is_empty()).then_some(nonce),
    };
    let tbs = data.to_der().map_err(bad("response data"))?;
    let key = ca.key();
    let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), key)?;
    signer.update(&tbs)?;
    let signature = signer.sign_to_vec()?;
    let algorithm = crate::ca::signature_algorithm(key);
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(bad("signature"))?,
        certs: None,
    };
    OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: ID_PKIX_OCSP_BASIC,
            response: OctetString::new(basic.to_der().map_err(bad("basic response"))?)
                .map_err(bad("basic response"))?,
        }),
    }
    .to_der()
    .map_err(bad("response"))
}
