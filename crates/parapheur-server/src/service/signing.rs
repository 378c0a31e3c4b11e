//! Applying a real signature for a signature step — PAdES (B-B, or B-T with a timestamp
//! authority) for PDF circuits, detached XAdES for XML, PES for Helios — with the signer's key
//! from the PKI. The signed file is stored durably before the step is recorded.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use parapheur_domain::CircuitType;
use parapheur_sign::SignError;
use parapheur_sign::pades::{Placement, SignOptions};
use parapheur_sign::pes::{self, PesOptions};
use parapheur_sign::tsa;
use parapheur_sign::xades::{self, XmlOptions};
use parapheur_store::blob::{FileDigest, StoredBlob};
use parapheur_store::documents::DocumentRow;
use quick_xml::events::Event;

fn sign_error(e: SignError) -> ApiError {
    match e {
        SignError::Pdf(m) | SignError::Invalid(m) | SignError::Budget(m) => {
            ApiError::InvalidFile(format!("the document cannot be signed: {m}"))
        }
        other => ApiError::Internal(other.into()),
    }
}

/// Reads the stamp placement of the on-demand `pictograms` XML: the first element carrying
/// `x`, `y`, `width`/`w`, `height`/`h` (and optionally `page`) attributes, in PDF points.
pub fn placement(xml: &str) -> Option<Placement> {
    let mut r = quick_xml::Reader::from_str(xml);
    loop {
        match r.read_event().ok()? {
            Event::DocType(_) | Event::Eof => return None,
            Event::Start(e) | Event::Empty(e) => {
                let mut v = std::collections::HashMap::new();
                for a in e.attributes().flatten() {
                    let key = String::from_utf8_lossy(a.key.as_ref()).to_ascii_lowercase();
                    if let Ok(val) = a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                        v.insert(key, val.trim().to_owned());
                    }
                }
                let num = |k: &[&str]| {
                    k.iter()
                        .find_map(|k| v.get(*k))
                        .and_then(|s| s.parse::<f32>().ok())
                };
                if let (Some(x), Some(y), Some(w), Some(h)) = (
                    num(&["x"]),
                    num(&["y"]),
                    num(&["width", "w"]),
                    num(&["height", "h"]),
                ) && w > 0.0
                    && h > 0.0
                {
                    let page = num(&["page"]).map(|p| p as u32).filter(|p| *p >= 1);
                    return Some(Placement {
                        page,
                        x,
                        y,
                        width: w,
                        height: h,
                    });
                }
            }
            _ => {}
        }
    }
}

/// The outcome of a signature: a new main file (PAdES, PES: the signature is inside), or a
/// detached signature stored beside an unchanged document (XAdES).
#[derive(Debug)]
pub enum Signed {
    Replaced(StoredBlob),
    Detached(StoredBlob, String),
}

impl Signed {
    pub fn blob(&self) -> &StoredBlob {
        match self {
            Self::Replaced(b) | Self::Detached(b, _) => b,
        }
    }
}

/// The name of the `n`-th detached signature of `file` (`acte.xml` → `acte-signature-1.xml`).
pub fn detached_name(file: &str, n: usize) -> String {
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    format!("{stem}-signature-{n}.xml")
}

/// Whose key signs.
#[derive(Debug, Clone)]
pub enum Key {
    /// The user's own signing credential.
    User(Caller),
    /// The subscriber's seal (OTP signatures: the signer has no certificate; the signature
    /// names them and carries the OTP evidence).
    Seal,
    /// The signer's own key, on their card (`parapheur-agent`): the certificate chain, the
    /// signature value made on the card over the data to sign, and the signing time that data
    /// was prepared with. The server never holds the key.
    Token(TokenSignature),
}

/// A signature made with the signer's own key (see [`Key::Token`]).
#[derive(Debug, Clone)]
pub struct TokenSignature {
    pub chain: Vec<openssl::x509::X509>,
    /// The card's values, one per data to sign (a PES has one per Bordereau); empty when only
    /// the data to sign is asked for.
    pub values: Vec<Vec<u8>>,
    pub time: chrono::DateTime<chrono::Utc>,
}

/// How a detached XAdES signature by `key` is made. With the signer's card, its signing time
/// and its Id come from the preparation (the Id from the time and the certificate), so that
/// the two phases prepare the same data.
fn xml_options(key: &Key) -> XmlOptions {
    let mut opts = XmlOptions {
        mime_type: Some("text/xml".into()),
        ..XmlOptions::default()
    };
    if let Key::Token(t) = key {
        opts.signing_time = Some(t.time);
        let cert = t
            .chain
            .first()
            .and_then(|c| c.to_der().ok())
            .unwrap_or_default();
        let seed = [t.time.to_rfc3339().as_bytes(), &cert].concat();
        opts.signature_id = Some(format!(
            "xades-{}",
            hex::encode(&openssl::sha::sha256(&seed)[..12])
        ));
    }
    opts
}

/// How a PES signature by `key` is made (with the signer's card: the prepared signing time).
fn pes_options(key: &Key) -> PesOptions {
    PesOptions {
        signing_time: match key {
            Key::Token(t) => Some(t.time),
            Key::User(_) | Key::Seal => None,
        },
        ..PesOptions::default()
    }
}

/// What a signature shows: the signer's name on the stamp, and the reason.
#[derive(Debug, Clone)]
pub struct SignAs {
    pub key: Key,
    pub name: String,
    pub reason: String,
}

impl SignAs {
    /// A user signing a step, with their comment as the reason.
    pub fn user(caller: &Caller, comment: Option<&str>) -> Self {
        Self {
            key: Key::User(caller.clone()),
            name: caller.full_name.clone(),
            reason: comment
                .map(str::to_owned)
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| "Signature du document".into()),
        }
    }
}

/// The signing credential of `key` for a document of `siren` (issued on first use).
async fn credential(
    st: &AppState,
    key: &Key,
    org: &str,
    siren: &str,
) -> Result<parapheur_sign::Credential, ApiError> {
    match key {
        Key::User(caller) => st
            .pki
            .user(caller.user_id, &caller.full_name, &caller.email, org, siren)
            .await
            .map_err(|e| ApiError::Internal(e.into())),
        Key::Seal => st
            .pki
            .seal(siren, if org.is_empty() { siren } else { org })
            .await
            .map_err(|e| ApiError::Internal(e.into())),
        Key::Token(t) => {
            parapheur_sign::Credential::external_values(t.chain.clone(), t.values.clone())
                .map_err(|e| ApiError::Internal(e.into()))
        }
    }
}

/// What a signature produced, to be stored.
enum Produced {
    /// The new revision of a PDF, stored after the original (whose digest may be known).
    Revision {
        known: Option<FileDigest>,
        original: Vec<u8>,
        suffix: Vec<u8>,
    },
    /// A detached XAdES signature.
    Detached(Vec<u8>),
    /// A whole new file (an enveloped PES signature).
    Whole(Vec<u8>),
}

/// What the PAdES signature of `doc` by `signer` shows and how it is made (the same for the
/// data a card signs and for the signature that embeds the card's value).
async fn pdf_options(
    state: &AppState,
    signer: &SignAs,
    doc: &DocumentRow,
    org: &str,
) -> Result<SignOptions, ApiError> {
    let ctype = doc.circuit_type;
    let mut opts = SignOptions::new(signer.name.clone());
    opts.reason = Some(signer.reason.clone());
    opts.location = Some(org.to_owned()).filter(|o| !o.is_empty());
    opts.placement = doc.pictograms.as_deref().and_then(placement);
    if ctype == CircuitType::BureautiquePdf {
        opts.verification_code = Some(crate::service::verifier::code_of(state, doc.id).await?);
        opts.timestamped = state.cfg.signing.level >= crate::config::SignatureLevel::BT;
    }
    if let Key::Token(t) = &signer.key {
        opts.time = t.time;
    }
    Ok(opts)
}

/// The data the signer's card must sign for `doc`, with the chain and time of `signer`'s
/// [`Key::Token`]: PAdES, the DER of the signed attributes; XAdES, the canonical `SignedInfo`;
/// PES, one `SignedInfo` per Bordereau.
pub async fn data_to_sign(
    state: &AppState,
    signer: &SignAs,
    doc: &DocumentRow,
) -> Result<Vec<Vec<u8>>, ApiError> {
    let Key::Token(t) = &signer.key else {
        return Err(ApiError::BadParameter("no certificate given".into()));
    };
    let org = state
        .db
        .subscriber_name(&doc.siren)
        .await?
        .unwrap_or_default();
    let opts = pdf_options(state, signer, doc, &org).await?;
    let original = state.blobs.get(&doc.blob_key).await?;
    let digest_state = doc.digest_state.clone();
    let chain = t.chain.clone();
    let (ctype, filename) = (doc.circuit_type, doc.filename.clone());
    let (xml_opts, pes_opts) = (xml_options(&signer.key), pes_options(&signer.key));
    tokio::task::spawn_blocking(move || -> Result<Vec<Vec<u8>>, ApiError> {
        let cred = parapheur_sign::Credential::external(chain, Vec::new()).map_err(sign_error)?;
        match ctype {
            CircuitType::BureautiquePdf => {
                let der: Vec<Vec<u8>> = cred
                    .chain
                    .iter()
                    .map(|c| c.to_der())
                    .collect::<Result<_, _>>()
                    .map_err(|e| ApiError::Internal(e.into()))?;
                let known = kept_digest(digest_state.as_deref(), &original);
                let prepared = parapheur_sign::pades::prepare_continuing(
                    &original,
                    known.as_ref().map(FileDigest::hasher),
                    &der,
                    cred.algorithm(),
                    &opts,
                )
                .map_err(sign_error)?;
                Ok(vec![prepared.data_to_sign().to_vec()])
            }
            CircuitType::BureautiqueXml => {
                let prepared = xades::prepare(
                    &filename,
                    &original,
                    &cred.chain,
                    cred.algorithm(),
                    &xml_opts,
                )
                .map_err(sign_error)?;
                Ok(vec![prepared.data_to_sign().to_vec()])
            }
            CircuitType::HeliosAvecTeletransmission | CircuitType::HeliosSansTeletransmission => {
                let prepared = pes::prepare(&original, &cred.chain, cred.algorithm(), &pes_opts)
                    .map_err(sign_error)?;
                Ok(prepared
                    .data_to_sign()
                    .into_iter()
                    .map(<[u8]>::to_vec)
                    .collect())
            }
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
}

/// Signs the document's current file in the format of its circuit type, and stores the
/// result durably.
pub async fn sign_document(
    state: &AppState,
    signer: &SignAs,
    doc: &DocumentRow,
) -> Result<Signed, ApiError> {
    let signed = sign_stored(state, signer, doc).await?;
    use crate::config::SignatureLevel as L;
    let level = state.cfg.signing.level;
    let (format, level) = match doc.circuit_type {
        CircuitType::BureautiquePdf => (
            "PAdES",
            match level {
                L::BB => "B-B",
                L::BT => "B-T",
                L::BLT => "B-LT",
                L::BLTA => "B-LTA",
            },
        ),
        CircuitType::BureautiqueXml => ("XAdES", if level >= L::BT { "B-T" } else { "B-B" }),
        CircuitType::HeliosAvecTeletransmission | CircuitType::HeliosSansTeletransmission => {
            ("XAdES-EPES", "B-B")
        }
    };
    state.metrics.signature(format, level);
    Ok(signed)
}

/// [`sign_document`] without counting it.
async fn sign_stored(
    state: &AppState,
    signer: &SignAs,
    doc: &DocumentRow,
) -> Result<Signed, ApiError> {
    let ctype = doc.circuit_type;
    let org = state
        .db
        .subscriber_name(&doc.siren)
        .await?
        .unwrap_or_default();
    let existing = match ctype {
        CircuitType::BureautiqueXml => state.db.detached_signatures(doc.id).await?.len(),
        CircuitType::BureautiquePdf
        | CircuitType::HeliosAvecTeletransmission
        | CircuitType::HeliosSansTeletransmission => 0,
    };
    let opts = pdf_options(state, signer, doc, &org).await?;
    let (st, key, doc_key, siren, filename, digest_state) = (
        state.clone(),
        signer.key.clone(),
        doc.blob_key.clone(),
        doc.siren.clone(),
        doc.filename.clone(),
        doc.digest_state.clone(),
    );
    if ctype == CircuitType::BureautiquePdf && opts.timestamped {
        let file = StoredFile {
            key: doc_key,
            digest_state,
        };
        return sign_pdf_timestamped(state, key, file, siren, org, opts).await;
    }
    let original = state.blobs.get(&doc_key).await?;
    if ctype == CircuitType::BureautiqueXml
        && state.cfg.signing.level >= crate::config::SignatureLevel::BT
    {
        let sig = sign_xml_timestamped(state, key, (org, siren), filename, original).await?;
        return Ok(Signed::Detached(
            state.blobs.put(sig).await?,
            detached_name(&doc.filename, existing + 1),
        ));
    }
    let cred = credential(&st, &key, &org, &siren).await?;
    let (xml_opts, pes_opts) = (xml_options(&key), pes_options(&key));
    let produced = tokio::task::spawn_blocking(move || -> Result<Produced, ApiError> {
        Ok(match ctype {
            CircuitType::BureautiquePdf => {
                // The store kept the SHA-256 state of the file: only the new revision is hashed,
                // here and when the result is stored.
                let known = kept_digest(digest_state.as_deref(), &original);
                let suffix = parapheur_sign::pades::sign_suffix_continuing(
                    &original,
                    known.as_ref().map(FileDigest::hasher),
                    &cred,
                    &opts,
                )
                .map_err(sign_error)?;
                Produced::Revision {
                    known,
                    original,
                    suffix,
                }
            }
            CircuitType::BureautiqueXml => {
                let sig = xades::sign_detached(&filename, &original, &cred, &xml_opts)
                    .map_err(sign_error)?;
                Produced::Detached(sig)
            }
            CircuitType::HeliosAvecTeletransmission | CircuitType::HeliosSansTeletransmission => {
                let signed = pes::sign_pes(&original, &cred, &pes_opts).map_err(sign_error)?;
                Produced::Whole(signed)
            }
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    Ok(match produced {
        Produced::Revision {
            known,
            original,
            suffix,
        } => Signed::Replaced(
            state
                .blobs
                .put_parts_after(known, vec![original, suffix])
                .await?,
        ),
        Produced::Detached(sig) => Signed::Detached(
            state.blobs.put(sig).await?,
            detached_name(&doc.filename, existing + 1),
        ),
        Produced::Whole(signed) => Signed::Replaced(state.blobs.put(signed).await?),
    })
}

/// The document's current file: its blob and the digest state kept when it was stored.
struct StoredFile {
    key: String,
    digest_state: Option<Vec<u8>>,
}

/// The kept digest of `file`, when there is one and it covers exactly these bytes (a row stored
/// before digests were kept has none: the file is then hashed whole).
fn kept_digest(state: Option<&[u8]>, file: &[u8]) -> Option<FileDigest> {
    state
        .and_then(FileDigest::from_bytes)
        .filter(|d| d.len() == file.len() as u64)
}

/// PAdES B-T: prepare and sign, ask the timestamp authority to stamp the signature value, then
/// assemble and store. Without a valid token nothing is signed.
async fn sign_pdf_timestamped(
    state: &AppState,
    key: Key,
    file: StoredFile,
    siren: String,
    org: String,
    opts: SignOptions,
) -> Result<Signed, ApiError> {
    let original = state.blobs.get(&file.key).await?;
    let cred = credential(state, &key, &org, &siren).await?;
    let (original, known, prepared, value, request, signer_chain) =
        tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
            let known = kept_digest(file.digest_state.as_deref(), &original);
            let chain: Vec<Vec<u8>> = cred
                .chain
                .iter()
                .map(|c| c.to_der())
                .collect::<Result<_, _>>()
                .map_err(|e| ApiError::Internal(e.into()))?;
            let prepared = parapheur_sign::pades::prepare_continuing(
                &original,
                known.as_ref().map(FileDigest::hasher),
                &chain,
                cred.algorithm(),
                &opts,
            )
            .map_err(sign_error)?;
            let value = cred.sign(prepared.data_to_sign()).map_err(sign_error)?;
            let request = tsa::request(&value).map_err(sign_error)?;
            Ok((
                original,
                known,
                prepared,
                value,
                request,
                cred.chain.clone(),
            ))
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let body = timestamp_reply(state, &request.der).await?;
    let attrs = tsa::token_attributes(&request, &body)
        .map_err(|e| ApiError::TimestampUnavailable(e.to_string()))?;
    let suffix = tokio::task::spawn_blocking(move || prepared.complete(&value, Some(attrs)))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(sign_error)?;
    let mut parts = vec![original, suffix];
    if state.cfg.signing.level >= crate::config::SignatureLevel::BLT {
        parts.extend(long_term(state, &parts, signer_chain).await?);
    }
    Ok(Signed::Replaced(
        state.blobs.put_parts_after(known, parts).await?,
    ))
}

/// PAdES B-LT and B-LTA after a B-T signature (the file is `parts` put together): the DSS
/// with the validation data of the signer's chain and of the built-in authority, then, for
/// B-LTA, a document timestamp over it. The revisions to append.
async fn long_term(
    state: &AppState,
    parts: &[Vec<u8>],
    signer_chain: Vec<openssl::x509::X509>,
) -> Result<Vec<Vec<u8>>, ApiError> {
    let revoked = state.db.revocations().await?;
    let st = state.clone();
    let signed = parts.concat();
    let lta = state.cfg.signing.level >= crate::config::SignatureLevel::BLTA;
    let mut certs = signer_chain;
    if state.cfg.signing.tsa_url == INTERNAL_TSA {
        let tsa = state
            .pki
            .tsa()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        certs.push(tsa.certificate().clone());
    }
    // Other authorities' certificates (imported keys, tokens): their CAs' CRLs, fetched now.
    let urls: Vec<String> = certs
        .iter()
        .filter(|c| !state.pki.issued(c))
        .flat_map(parapheur_sign::policy::crl_urls)
        .collect();
    let others = if urls.is_empty() {
        Vec::new()
    } else {
        crate::service::online_revocation::fetch_crls(state, urls).await
    };
    let (dss, stamp) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let mut data = st
            .pki
            .validation_data(&certs, &revoked)
            .map_err(|e| ApiError::Internal(e.into()))?;
        data.crls.extend(others);
        let limits = parapheur_sign::pdfcheck::Limits::default();
        let dss = parapheur_sign::pades::dss_suffix(&signed, &data, &limits).map_err(sign_error)?;
        let stamp = if lta {
            let with_dss = [signed.as_slice(), &dss].concat();
            Some(
                parapheur_sign::pades::prepare_document_timestamp(&with_dss, &limits)
                    .map_err(sign_error)?,
            )
        } else {
            None
        };
        Ok((dss, stamp))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let Some(stamp) = stamp else {
        return Ok(vec![dss]);
    };
    let request = tsa::request_for_digest(stamp.digest()).map_err(sign_error)?;
    let body = timestamp_reply(state, &request.der).await?;
    let token = tsa::checked_token(&request, &body)
        .map_err(|e| ApiError::TimestampUnavailable(e.to_string()))?;
    Ok(vec![dss, stamp.complete(&token).map_err(sign_error)?])
}

/// XAdES baseline T for an XML circuit: the detached signature with a signature timestamp over
/// its canonicalised `SignatureValue`. Without a valid token nothing is signed.
async fn sign_xml_timestamped(
    state: &AppState,
    key: Key,
    (org, siren): (String, String),
    filename: String,
    original: Vec<u8>,
) -> Result<Vec<u8>, ApiError> {
    let cred = credential(state, &key, &org, &siren).await?;
    let (prepared, value, request) = tokio::task::spawn_blocking(move || {
        let opts = xml_options(&key);
        let signed = || -> Result<_, SignError> {
            let prepared =
                xades::prepare(&filename, &original, &cred.chain, cred.algorithm(), &opts)?;
            let value = cred.sign(prepared.data_to_sign())?;
            let request = tsa::request(&prepared.timestamp_input(&value)?)?;
            Ok((prepared, value, request))
        };
        signed().map_err(sign_error)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let body = timestamp_reply(state, &request.der).await?;
    let token = tsa::checked_token(&request, &body)
        .map_err(|e| ApiError::TimestampUnavailable(e.to_string()))?;
    prepared
        .complete_timestamped(&value, &token)
        .map_err(sign_error)
}

/// `[signing] tsa_url` naming the built-in time-stamping authority.
pub const INTERNAL_TSA: &str = "internal";

/// The configured authority's DER reply to the timestamp request `der`.
async fn timestamp_reply(state: &AppState, der: &[u8]) -> Result<bytes::Bytes, ApiError> {
    let url = &state.cfg.signing.tsa_url;
    if url == INTERNAL_TSA {
        let tsa = state
            .pki
            .tsa()
            .await
            .map_err(|e| ApiError::TimestampUnavailable(format!("internal authority ({e})")))?;
        let der = der.to_vec();
        return Ok(tokio::task::spawn_blocking(move || {
            tsa.respond(&der, parapheur_store::now_ms())
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::TimestampUnavailable(format!("internal authority ({e})")))?
        .into());
    }
    request_timestamp(state, url, der).await
}

/// An RFC 3161 exchange with the authority at `url`: the DER reply.
async fn request_timestamp(
    state: &AppState,
    url: &str,
    request: &[u8],
) -> Result<bytes::Bytes, ApiError> {
    let answer = state
        .http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
        .body(request.to_vec())
        .send()
        .await
        .map_err(|e| ApiError::TimestampUnavailable(format!("request failed ({e})")))?;
    if !answer.status().is_success() {
        return Err(ApiError::TimestampUnavailable(format!(
            "HTTP {}",
            answer.status()
        )));
    }
    answer
        .bytes()
        .await
        .map_err(|e| ApiError::TimestampUnavailable(format!("reading the answer ({e})")))
}

#[cfg(test)]
mod tests {
    use super::placement;

    #[test]
    fn reads_placements() {
        let p = placement(
            r#"<pictograms><pictogram page="2" x="10" y="20.5" width="100" height="40"/></pictograms>"#,
        );
        assert_eq!(
            p.map(|p| (p.page, p.x, p.y, p.width, p.height)),
            Some((Some(2), 10.0, 20.5, 100.0, 40.0))
        );
        assert!(placement("<p x='1' y='2'/>").is_none());
        assert!(placement("<!DOCTYPE x><p x='1' y='2' w='3' h='4'/>").is_none());
    }
}
