//! PAdES verification: integrity of each signature's byte range, the CMS signature over its
//! signed attributes under the algorithm policy, what later revisions changed, a signature
//! timestamp, and the chain to trust anchors (with revocation lists and OCSP responses, from
//! the context or from the file's DSS) at the best signature time a verified timestamp proves
//! — never at the signer-claimed `/M`. Document timestamps (PAdES B-LTA) prove the existence of
//! what they cover, so a signature timestamp they cover is checked at their time. Each
//! signature gets an ETSI EN 319 102-1 indication ([`crate::etsi`]). The result is a
//! JSON-serializable report.

use crate::SignError;
use crate::cms::{ID_SIGNING_CERTIFICATE_V2, decode_signed_data};
use crate::cmsverify::{verify_signer, verify_timestamp};
use crate::etsi::{Indication, SubIndication, Verdict};
use crate::failure::{CmsFailure, PadesFailure};
use crate::pdfread::PdfFile;
use crate::policy::{Evidence, ValidationContext, check_path, common_name};
use crate::tsa::ID_SIGNATURE_TIME_STAMP_TOKEN;
use lopdf::Object;
use openssl::error::ErrorStack;
use openssl::hash::Hasher;
use serde::Serialize;
use std::collections::HashMap;
use std::rc::Rc;

/// The PAdES baseline level a signature reaches (ETSI EN 319 142-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Level {
    #[serde(rename = "PAdES-BASELINE-B")]
    B,
    #[serde(rename = "PAdES-BASELINE-T")]
    T,
    #[serde(rename = "PAdES-BASELINE-LT")]
    Lt,
    #[serde(rename = "PAdES-BASELINE-LTA")]
    Lta,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::B => "PAdES-BASELINE-B",
            Self::T => "PAdES-BASELINE-T",
            Self::Lt => "PAdES-BASELINE-LT",
            Self::Lta => "PAdES-BASELINE-LTA",
        }
    }
}

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
    /// When the chain was checked: the best signature time a verified timestamp proves, or
    /// the validation time (RFC 3339).
    pub validated_at: String,
    /// A CRL or an OCSP response of the signer's issuer was consulted.
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
    /// The ETSI EN 319 102-1 indication. Stricter than [`SignatureReport::valid`]: it also
    /// asks for revocation data about the signer.
    pub indication: Indication,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subindication: Option<SubIndication>,
    /// The baseline level reached (none for a document timestamp or an unreadable signature).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Where the signer's CA publishes its CRL, when the signer chains to a trust anchor but
    /// nothing about its revocation was found: what a caller may fetch and verify again with.
    /// Not part of the report.
    #[serde(skip)]
    pub revocation_urls: Vec<String>,
}

impl SignatureReport {
    /// Intact, trusted, unmodified and without error.
    pub fn valid(&self) -> bool {
        self.integrity && self.trusted && self.unmodified && self.errors.is_empty()
    }

    fn new(field: String, now: i64) -> Self {
        Self {
            field,
            signer: String::new(),
            signing_time: None,
            integrity: false,
            trusted: false,
            timestamped: false,
            timestamp_time: None,
            validated_at: rfc3339(now),
            revocation_checked: false,
            covers_whole_file: false,
            unmodified: false,
            errors: Vec::new(),
            warnings: Vec::new(),
            document_timestamp: false,
            indication: Indication::TotalPassed,
            subindication: None,
            level: None,
            revocation_urls: Vec::new(),
        }
    }

    /// Records a failure: its message, and its verdict if worse than the current one.
    fn fail(&mut self, e: PadesFailure, poe: bool) {
        self.mark(e.verdict(poe));
        self.errors.push(e.to_string());
    }

    fn mark(&mut self, v: Verdict) {
        Verdict::record(v, &mut self.indication, &mut self.subindication);
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Report {
    /// At least one signature, and every one valid.
    pub valid: bool,
    /// The worst indication of the signatures (`INDETERMINATE` when there is none).
    pub indication: Indication,
    pub signatures: Vec<SignatureReport>,
}

/// The overall indication of a file: the worst of its signatures', `INDETERMINATE` without any.
pub fn overall<'a>(indications: impl IntoIterator<Item = &'a Indication>) -> Indication {
    indications
        .into_iter()
        .copied()
        .max()
        .unwrap_or(Indication::Indeterminate)
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

/// The validation data of the file's DSS (`/Root /DSS`: `/Certs`, `/CRLs`, `/OCSPs`), each
/// stream decoded within the reader's limits. Items that cannot be read are left out (a
/// warning is returned).
fn dss_evidence(file: &PdfFile) -> (Evidence, Option<String>) {
    let Some(dss) = file
        .trailer
        .get(b"Root")
        .ok()
        .and_then(|r| as_dict(file, r))
        .and_then(|root| root.get(b"DSS").ok().and_then(|d| as_dict(file, d)))
    else {
        return (Evidence::default(), None);
    };
    let mut unreadable = 0usize;
    let mut items = |key: &[u8]| -> Vec<Vec<u8>> {
        let list = match dss.get(key).ok().map(|a| file.resolve(a)) {
            Some(Ok(Object::Array(a))) => a,
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        // Bounded: a DSS of more than a thousand items is not read further.
        for item in list.iter().take(1000) {
            match file.stream_content(item) {
                Ok(bytes) => out.push(bytes),
                Err(_) => unreadable += 1,
            }
        }
        out
    };
    let certs = items(b"Certs");
    let crls = items(b"CRLs");
    let ocsp = items(b"OCSPs");
    let (evidence, skipped) = Evidence::from_der(&certs, &crls, &ocsp);
    let lost = unreadable + skipped;
    let warning = (lost > 0).then(|| format!("{lost} item(s) of the DSS could not be read"));
    (evidence, warning)
}

/// A signature field's byte range: `(a, b, end)` where `[0, a)` and `[b, end)` are signed and
/// `[a, b)` holds `/Contents`.
type Range = (usize, usize, usize);

fn byte_range(pdf: &[u8], sig: &lopdf::Dictionary) -> Result<Range, PadesFailure> {
    let br: Vec<i64> = sig
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .map_err(|_| PadesFailure::NoByteRange)?
        .iter()
        .filter_map(|o| o.as_i64().ok())
        .collect();
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
    Ok((a, b, end))
}

fn is_document_timestamp(sig: &lopdf::Dictionary) -> bool {
    sig.get(b"Type").and_then(Object::as_name).ok() == Some(b"DocTimeStamp".as_slice())
}

/// Verifies every signature of `pdf` under `ctx` (anchors, CRLs, algorithm policy, time), with
/// the validation data of the file's DSS.
pub fn verify_pdf(pdf: &[u8], ctx: &ValidationContext) -> Result<Report, SignError> {
    let file = PdfFile::open(pdf)?;
    let (evidence, dss_warning) = dss_evidence(&file);
    let fields = signature_fields(&file);
    let now = ctx.now();

    // Document timestamps first: each one that verifies proves that the bytes before its
    // /Contents existed at its time.
    let mut proofs: Vec<(usize, i64)> = Vec::new();
    let mut reports: Vec<Option<(SignatureReport, Result<usize, ()>)>> = Vec::new();
    for (field, sig) in &fields {
        let mut r = SignatureReport::new(field.clone(), now);
        if !is_document_timestamp(sig) {
            reports.push(None);
            continue;
        }
        let outcome = byte_range(pdf, sig).and_then(|range| {
            r.covers_whole_file = range.2 == pdf.len();
            let contents = sig
                .get(b"Contents")
                .and_then(Object::as_str)
                .map_err(|_| PadesFailure::NoContents)?;
            document_timestamp(pdf, contents, range, ctx, &evidence, &mut r)?;
            Ok(range)
        });
        match outcome {
            Ok((a, _, end)) => {
                if let Some(t) = r.timestamp_time.as_deref().and_then(parse_rfc3339) {
                    proofs.push((a, t));
                }
                reports.push(Some((r, Ok(end))));
            }
            Err(e) => {
                r.fail(e, false);
                reports.push(Some((r, Err(()))));
            }
        }
    }

    let mut out = Vec::new();
    // What the revisions after each signed revision changed, computed once per revision.
    let mut changes: HashMap<usize, Result<Vec<_>, Rc<SignError>>> = HashMap::new();
    for ((field, sig), done) in fields.iter().zip(reports) {
        let (mut r, end) = match done {
            Some(x) => x,
            None => {
                let mut r = SignatureReport::new(field.clone(), now);
                r.signing_time = sig
                    .get(b"M")
                    .ok()
                    .and_then(|m| m.as_str().ok())
                    .map(|b| String::from_utf8_lossy(b).into_owned());
                let end = match check(pdf, sig, ctx, &evidence, &proofs, &mut r) {
                    Ok(end) => Ok(end),
                    Err((e, poe)) => {
                        r.fail(e, poe);
                        Err(())
                    }
                };
                if let Some(w) = &dss_warning {
                    r.warnings.push(w.clone());
                }
                (r, end)
            }
        };
        match end {
            Ok(end) if end == pdf.len() => r.unmodified = true,
            Ok(end) => {
                let found = changes.entry(end).or_insert_with(|| {
                    crate::pdfdiff::disallowed_changes(pdf, end).map_err(Rc::new)
                });
                match found {
                    Ok(list) if list.is_empty() => r.unmodified = true,
                    Ok(list) => r.fail(PadesFailure::ModifiedAfter(list.clone()), false),
                    Err(e) => r.fail(PadesFailure::Revisions(Rc::clone(e)), false),
                }
            }
            Err(()) => {}
        }
        out.push(r);
    }
    let valid = !out.is_empty() && out.iter().all(SignatureReport::valid);
    Ok(Report {
        valid,
        indication: overall(out.iter().map(|s| &s.indication)),
        signatures: out,
    })
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp())
}

/// A document timestamp: the token (the start of `contents`, zero-padded) over the byte range
/// `[0, a)` + `[b, end)`, its authority's chain at the validation time.
fn document_timestamp(
    pdf: &[u8],
    contents: &[u8],
    (a, b, end): Range,
    ctx: &ValidationContext,
    evidence: &Evidence,
    r: &mut SignatureReport,
) -> Result<(), PadesFailure> {
    r.document_timestamp = true;
    r.signing_time = None;
    r.signer = "horodatage du document".into();
    let mut reader = der::SliceReader::new(contents)
        .map_err(|e| PadesFailure::Timestamp(CmsFailure::MalformedToken(e)))?;
    let token: der::asn1::Any = der::Decode::decode(&mut reader)
        .map_err(|e| PadesFailure::Timestamp(CmsFailure::MalformedToken(e)))?;
    let covered = [&pdf[..a], &pdf[b..end]].concat();
    let t = match verify_timestamp(&token, &covered, ctx, evidence, ctx.now()) {
        Ok(t) => t,
        // The covered bytes are not those the authority stamped.
        Err(CmsFailure::ImprintMismatch) => {
            r.mark(Verdict {
                indication: Indication::TotalFailed,
                subindication: Some(SubIndication::HashFailure),
            });
            return Err(PadesFailure::Timestamp(CmsFailure::ImprintMismatch));
        }
        Err(e) => return Err(PadesFailure::Timestamp(e)),
    };
    if t > ctx.now() {
        return Err(PadesFailure::TimestampAfterValidation);
    }
    r.integrity = true;
    r.trusted = true;
    r.timestamped = true;
    r.timestamp_time = Some(rfc3339(t));
    Ok(())
}

/// Checks one signature; returns where its signed revision ends. `proofs`: the verified
/// document timestamps, as (where their /Contents starts, their time). A failure says whether
/// the signature had a proven time (for the verdict of a revocation).
fn check(
    pdf: &[u8],
    sig: &lopdf::Dictionary,
    ctx: &ValidationContext,
    evidence: &Evidence,
    proofs: &[(usize, i64)],
    r: &mut SignatureReport,
) -> Result<usize, (PadesFailure, bool)> {
    let (a, b, end) = byte_range(pdf, sig).map_err(|e| (e, false))?;
    let contents = sig
        .get(b"Contents")
        .and_then(Object::as_str)
        .map_err(|_| (PadesFailure::NoContents, false))?;
    r.covers_whole_file = end == pdf.len();

    let sd = decode_signed_data(contents).map_err(|e| (PadesFailure::Cms(e), false))?;
    if sd.encap_content_info.econtent.is_some() {
        return Err((PadesFailure::NotDetached, false));
    }
    let ranges = |d: crate::policy::Digest| -> Result<Vec<u8>, ErrorStack> {
        let mut h = Hasher::new(d.md())?;
        h.update(&pdf[..a])?;
        h.update(&pdf[b..end])?;
        Ok(h.finish()?.to_vec())
    };
    let signer = verify_signer(&sd, &ctx.policy, &ranges).map_err(|e| (e.into(), false))?;
    r.signer = common_name(&signer.signer);
    r.warnings.extend(signer.notes);
    r.integrity = signer.errors.is_empty();
    for e in signer.errors {
        r.fail(PadesFailure::Signer(e), false);
    }

    let si = sd
        .signer_infos
        .0
        .iter()
        .next()
        .ok_or((PadesFailure::Signer(CmsFailure::NoSigner), false))?;
    let has_ess = si
        .signed_attrs
        .iter()
        .flat_map(|a| a.iter())
        .any(|a| a.oid == ID_SIGNING_CERTIFICATE_V2);

    // The earliest verified document timestamp covering this signature's /Contents.
    let covered_at = proofs
        .iter()
        .filter(|(start, _)| *start >= end)
        .map(|(_, t)| *t)
        .min();

    // A signature timestamp, verified, gives the time at which the chain is checked; its
    // authority is checked at the time a document timestamp covering it proves, if any.
    let mut best: Option<i64> = None;
    let tokens: Vec<_> = si
        .unsigned_attrs
        .iter()
        .flat_map(|u| u.iter())
        .filter(|a| a.oid == ID_SIGNATURE_TIME_STAMP_TOKEN)
        .flat_map(|a| a.values.iter())
        .collect();
    if let Some(token) = tokens.first() {
        let authority_at = covered_at.unwrap_or(ctx.now());
        match verify_timestamp(token, si.signature.as_bytes(), ctx, evidence, authority_at) {
            Ok(t) if t > ctx.now() => r.fail(PadesFailure::TimestampAfterValidation, false),
            Ok(t) => {
                r.timestamped = true;
                r.timestamp_time = Some(rfc3339(t));
                best = Some(t);
            }
            Err(e) => r.fail(PadesFailure::Timestamp(e), false),
        }
    }
    if tokens.len() > 1 {
        r.warnings
            .push("several signature timestamps: only the first was checked".into());
    }
    let best = match (best, covered_at) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    };
    let poe = best.is_some();
    let at = best.unwrap_or(ctx.now());
    r.validated_at = rfc3339(at);
    match check_path(
        &signer.signer,
        &signer.others,
        &ctx.anchors,
        &ctx.crls,
        evidence,
        at,
        false,
    ) {
        Ok(status) => {
            r.trusted = true;
            r.revocation_checked = status.revocation_checked;
            if !status.revocation_checked && !status.anchored {
                r.revocation_urls = crate::policy::crl_urls(&signer.signer);
                r.mark(crate::failure::Rejection::NoRevocationData.verdict(poe));
                r.warnings
                    .push(crate::failure::Rejection::NoRevocationData.to_string());
            }
        }
        Err(e) => r.fail(PadesFailure::Chain(e), poe),
    }
    r.level = has_ess.then(|| {
        if !r.timestamped {
            Level::B
        } else if evidence.is_empty() {
            Level::T
        } else if covered_at.is_none() {
            Level::Lt
        } else {
            Level::Lta
        }
    });
    Ok(end)
}
