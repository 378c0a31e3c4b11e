//! PAdES verification: integrity of each signature's byte range, the CMS signature over its
//! signed attributes under the algorithm policy, what later revisions changed, a signature
//! timestamp, and the chain to trust anchors (with revocation lists) at the validation time or at
//! a verified timestamp's time — never at the signer-claimed `/M`. The result is a
//! JSON-serializable report.

use crate::SignError;
use crate::cms::decode_signed_data;
use crate::cmsverify::{verify_signer, verify_timestamp};
use crate::failure::{CmsFailure, PadesFailure};
use crate::pdfread::PdfFile;
use crate::policy::{ValidationContext, check_path, common_name};
use crate::tsa::ID_SIGNATURE_TIME_STAMP_TOKEN;
use lopdf::Object;
use openssl::error::ErrorStack;
use openssl::hash::Hasher;
use serde::Serialize;
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SignatureReport {
    pub field: String,
    pub signer: String,
    /// The time the signer claims (`/M`): informative only, never used for trust.
    pub signing_time: Option<String>,
    /// The signed bytes are unchanged and the signature value is correct under the policy.
    pub integrity: bool,
    /// The signer's certificate chains to a trust anchor, unrevoked, at `validated_at`.
    pub trusted: bool,
    /// The signature carries an RFC 3161 signature timestamp that verified (PAdES B-T).
    pub timestamped: bool,
    /// The verified timestamp's time (RFC 3339).
    pub timestamp_time: Option<String>,
    /// When the chain was checked: the timestamp's time, or the validation time (RFC 3339).
    pub validated_at: String,
    /// A revocation list of the signer's issuer was consulted.
    pub revocation_checked: bool,
    /// The signature's byte range reaches the end of the file.
    pub covers_whole_file: bool,
    /// Nothing after the signature changed what it signed: it covers the whole file, or the
    /// later revisions only add signatures, form signature fields or a DSS.
    pub unmodified: bool,
    /// Any error makes the signature invalid.
    pub errors: Vec<String>,
    /// Remarks that do not invalidate the signature.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// A document timestamp (`/DocTimeStamp`, PAdES B-LTA) rather than a signature: `signer`
    /// is the authority, `timestamp_time` its time.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub document_timestamp: bool,
}

impl SignatureReport {
    /// Intact, trusted, unmodified and without error.
    pub fn valid(&self) -> bool {
        self.integrity && self.trusted && self.unmodified && self.errors.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    /// At least one signature, and every one valid.
    pub valid: bool,
    pub signatures: Vec<SignatureReport>,
}

fn as_dict(file: &PdfFile, o: &Object) -> Option<lopdf::Dictionary> {
    match file.resolve(o).ok()? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// Signature dictionaries of the AcroForm fields, with their field names (read lazily: the
/// catalog, the form and its fields only).
fn signature_fields(file: &PdfFile) -> Vec<(String, lopdf::Dictionary)> {
    let Some(root) = file
        .trailer
        .get(b"Root")
        .ok()
        .and_then(|r| as_dict(file, r))
    else {
        return Vec::new();
    };
    let Some(af) = root.get(b"AcroForm").ok().and_then(|a| as_dict(file, a)) else {
        return Vec::new();
    };
    let fields = match af.get(b"Fields").ok().map(|f| file.resolve(f)) {
        Some(Ok(Object::Array(a))) => a,
        _ => Vec::new(),
    };
    file.signature_fields(&fields)
        .into_iter()
        .filter_map(|d| {
            let name = d
                .get(b"T")
                .ok()
                .and_then(|t| t.as_str().ok())
                .map(|b| String::from_utf8_lossy(b).into_owned());
            let v = d.get(b"V").ok().and_then(|v| as_dict(file, v))?;
            Some((name.unwrap_or_default(), v))
        })
        .collect()
}

/// Unix seconds as RFC 3339.
fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Verifies every signature of `pdf` under `ctx` (anchors, CRLs, algorithm policy, time).
pub fn verify_pdf(pdf: &[u8], ctx: &ValidationContext) -> Result<Report, SignError> {
    let file = PdfFile::open(pdf)?;
    let mut out = Vec::new();
    // What the revisions after each signed revision changed, computed once per revision.
    let mut changes: HashMap<usize, Result<Vec<_>, Rc<SignError>>> = HashMap::new();
    for (field, sig) in signature_fields(&file) {
        let mut r = SignatureReport {
            field,
            signer: String::new(),
            signing_time: sig
                .get(b"M")
                .ok()
                .and_then(|m| m.as_str().ok())
                .map(|b| String::from_utf8_lossy(b).into_owned()),
            integrity: false,
            trusted: false,
            timestamped: false,
            timestamp_time: None,
            validated_at: rfc3339(ctx.now()),
            revocation_checked: false,
            covers_whole_file: false,
            unmodified: false,
            errors: Vec::new(),
            warnings: Vec::new(),
            document_timestamp: false,
        };
        match check(pdf, &sig, ctx, &mut r) {
            Ok(end) if end == pdf.len() => r.unmodified = true,
            Ok(end) => {
                let found = changes.entry(end).or_insert_with(|| {
                    crate::pdfdiff::disallowed_changes(pdf, end).map_err(Rc::new)
                });
                match found {
                    Ok(list) if list.is_empty() => r.unmodified = true,
                    Ok(list) => r
                        .errors
                        .push(PadesFailure::ModifiedAfter(list.clone()).to_string()),
                    Err(e) => r
                        .errors
                        .push(PadesFailure::Revisions(Rc::clone(e)).to_string()),
                }
            }
            Err(e) => r.errors.push(e.to_string()),
        }
        out.push(r);
    }
    let valid = !out.is_empty() && out.iter().all(SignatureReport::valid);
    Ok(Report {
        valid,
        signatures: out,
    })
}

/// A document timestamp: the token (the start of `contents`, zero-padded) over the byte range
/// `[0, a)` + `[b, end)`, its authority's chain at the validation time.
fn document_timestamp(
    pdf: &[u8],
    contents: &[u8],
    (a, b, end): (usize, usize, usize),
    ctx: &ValidationContext,
    r: &mut SignatureReport,
) -> Result<(), PadesFailure> {
    r.document_timestamp = true;
    r.signing_time = None;
    let mut reader = der::SliceReader::new(contents)
        .map_err(|e| PadesFailure::Timestamp(CmsFailure::MalformedToken(e)))?;
    let token: der::asn1::Any = der::Decode::decode(&mut reader)
        .map_err(|e| PadesFailure::Timestamp(CmsFailure::MalformedToken(e)))?;
    let covered = [&pdf[..a], &pdf[b..end]].concat();
    let t = verify_timestamp(&token, &covered, ctx).map_err(PadesFailure::Timestamp)?;
    if t > ctx.now() {
        return Err(PadesFailure::TimestampAfterValidation);
    }
    r.signer = "horodatage du document".into();
    r.integrity = true;
    r.trusted = true;
    r.timestamped = true;
    r.timestamp_time = Some(rfc3339(t));
    Ok(())
}

/// Checks one signature; returns where its signed revision ends.
fn check(
    pdf: &[u8],
    sig: &lopdf::Dictionary,
    ctx: &ValidationContext,
    r: &mut SignatureReport,
) -> Result<usize, PadesFailure> {
    let br: Vec<i64> = sig
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .map_err(|_| PadesFailure::NoByteRange)?
        .iter()
        .filter_map(|o| o.as_i64().ok())
        .collect();
    let contents = sig
        .get(b"Contents")
        .and_then(Object::as_str)
        .map_err(|_| PadesFailure::NoContents)?;
    let [s1, l1, s2, l2] = br[..] else {
        return Err(PadesFailure::MalformedByteRange);
    };
    let (a, b, end) = (
        usize::try_from(l1),
        usize::try_from(s2),
        usize::try_from(s2.saturating_add(l2)),
    );
    let (Ok(a), Ok(b), Ok(end)) = (a, b, end) else {
        return Err(PadesFailure::NegativeByteRange);
    };
    if s1 != 0
        || a >= b
        || end > pdf.len()
        || pdf.get(a) != Some(&b'<')
        || pdf.get(b - 1) != Some(&b'>')
    {
        return Err(PadesFailure::ByteRangeFrame);
    }
    r.covers_whole_file = end == pdf.len();
    if sig.get(b"Type").and_then(Object::as_name).ok() == Some(b"DocTimeStamp".as_slice()) {
        document_timestamp(pdf, contents, (a, b, end), ctx, r)?;
        return Ok(end);
    }

    let sd = decode_signed_data(contents).map_err(PadesFailure::Cms)?;
    if sd.encap_content_info.econtent.is_some() {
        return Err(PadesFailure::NotDetached);
    }
    let ranges = |d: crate::policy::Digest| -> Result<Vec<u8>, ErrorStack> {
        let mut h = Hasher::new(d.md())?;
        h.update(&pdf[..a])?;
        h.update(&pdf[b..end])?;
        Ok(h.finish()?.to_vec())
    };
    let signer = verify_signer(&sd, &ctx.policy, &ranges)?;
    r.signer = common_name(&signer.signer);
    r.warnings.extend(signer.notes);
    r.integrity = signer.errors.is_empty();
    r.errors
        .extend(signer.errors.iter().map(ToString::to_string));

    // A signature timestamp, verified, gives the time at which the chain is checked.
    let si = sd
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or(CmsFailure::NoSigner)?;
    let mut at = ctx.now();
    let tokens: Vec<_> = si
        .unsigned_attrs
        .iter()
        .flat_map(|u| u.iter())
        .filter(|a| a.oid == ID_SIGNATURE_TIME_STAMP_TOKEN)
        .flat_map(|a| a.values.iter())
        .collect();
    if let Some(token) = tokens.first() {
        match verify_timestamp(token, si.signature.as_bytes(), ctx) {
            Ok(t) if t > ctx.now() => {
                r.errors
                    .push(PadesFailure::TimestampAfterValidation.to_string());
            }
            Ok(t) => {
                r.timestamped = true;
                r.timestamp_time = Some(rfc3339(t));
                at = t;
            }
            Err(e) => r.errors.push(PadesFailure::Timestamp(e).to_string()),
        }
    }
    if tokens.len() > 1 {
        r.warnings
            .push("several signature timestamps: only the first was checked".into());
    }
    r.validated_at = rfc3339(at);
    match check_path(
        &signer.signer,
        &signer.others,
        &ctx.anchors,
        &ctx.crls,
        at,
        false,
    ) {
        Ok(status) => {
            r.trusted = true;
            r.revocation_checked = status.revocation_checked;
        }
        Err(e) => r.errors.push(PadesFailure::Chain(e).to_string()),
    }
    Ok(end)
}
