//! Verification of detached XAdES and PES (enveloped) signatures under a validation context
//! (anchors, revocation lists, algorithm policy, validation time), with a JSON-serializable
//! report. In a PES, every `Bordereau` must be covered by a valid signature.

use crate::etsi::{Indication, SubIndication, Verdict};
use crate::failure::{Rejection, XmlFailure};
use crate::policy::{AlgorithmPolicy, Digest, ValidationContext, check_path, common_name};
use crate::xmlcore::{
    DS_NS, b64_decode, child, children_named, decode, descendant_local, parse, text,
};
use bergshamra_c14n::C14nMode;
use bergshamra_xml::NodeSet;
use openssl::hash::hash;
use openssl::pkey::Id;
use openssl::x509::X509;
use serde::Serialize;
use std::collections::HashMap;
use uppsala::{Document, NodeId};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct XmlSignatureReport {
    pub id: Option<String>,
    pub signer: String,
    pub signing_time: Option<String>,
    /// Every reference digest, the signature value and the signing-certificate digest are right.
    pub integrity: bool,
    /// The signer's certificate chains to a trust anchor, unrevoked, at the validation time
    /// (never at the claimed signing time).
    pub trusted: bool,
    /// A revocation list of the signer's issuer was consulted.
    pub revocation_checked: bool,
    pub errors: Vec<String>,
    /// The ETSI EN 319 102-1 indication (it also asks for revocation data about the signer).
    pub indication: Indication,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subindication: Option<SubIndication>,
    /// The time of the verified XAdES signature timestamp (RFC 3339): the chain is checked
    /// at that time (XAdES baseline T).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_time: Option<String>,
    /// Where the signer's CA publishes its CRL, when the signer chains to a trust anchor but
    /// no CRL of its issuer was given. Not part of the report.
    #[serde(skip)]
    pub revocation_urls: Vec<String>,
}

impl XmlSignatureReport {
    /// Records a failure: its message, and its verdict if worse than the current one.
    fn fail(&mut self, e: XmlFailure) {
        self.mark(e.verdict());
        self.errors.push(e.to_string());
    }

    fn mark(&mut self, v: Verdict) {
        Verdict::record(v, &mut self.indication, &mut self.subindication);
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct XmlReport {
    /// At least one signature, and every one intact, trusted and without error (a signature
    /// timestamp that does not verify is one).
    pub valid: bool,
    /// The worst indication of the signatures (`INDETERMINATE` without any, `TOTAL_FAILED`
    /// when a `Bordereau` is not covered).
    pub indication: Indication,
    pub signatures: Vec<XmlSignatureReport>,
    /// Document-level problems (unparseable input, no signature).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl XmlReport {
    fn new(signatures: Vec<XmlSignatureReport>, errors: Vec<String>) -> Self {
        let valid = !signatures.is_empty()
            && errors.is_empty()
            && signatures
                .iter()
                .all(|s| s.integrity && s.trusted && s.errors.is_empty());
        let indication = if errors.is_empty() || signatures.is_empty() {
            crate::verify::overall(signatures.iter().map(|s| &s.indication))
        } else {
            Indication::TotalFailed
        };
        Self {
            valid,
            indication,
            signatures,
            errors,
        }
    }

    fn failed(e: impl ToString) -> Self {
        Self::new(Vec::new(), vec![e.to_string()])
    }
}

#[derive(Clone, Copy)]
enum Mode<'a> {
    Detached(&'a [u8]),
    Enveloped,
}

/// Verifies a detached XAdES signature document against the signed file's bytes.
pub fn verify_xades_detached(
    signature_xml: &[u8],
    data: &[u8],
    ctx: &ValidationContext,
) -> XmlReport {
    verify_all(signature_xml, Mode::Detached(data), ctx)
}

/// Verifies every `ds:Signature` of a PES file (enveloped signatures); every `Bordereau` must
/// be covered by a valid signature (its own, or one of the whole `PES_Aller`).
pub fn verify_pes(bytes: &[u8], ctx: &ValidationContext) -> XmlReport {
    verify_all(bytes, Mode::Enveloped, ctx)
}

fn verify_all(bytes: &[u8], mode: Mode<'_>, ctx: &ValidationContext) -> XmlReport {
    let text = match decode(bytes) {
        Ok((t, _)) => t,
        Err(e) => return XmlReport::failed(e),
    };
    let doc = match parse(&text) {
        Ok(d) => d,
        Err(e) => return XmlReport::failed(e),
    };
    let mut ids: HashMap<String, Option<NodeId>> = HashMap::new();
    for n in doc.descendants(doc.root()) {
        for a in ["Id", "ID", "id"] {
            if let Some(v) = doc.get_attribute(n, a) {
                ids.entry(v.to_owned())
                    .and_modify(|e| *e = None)
                    .or_insert(Some(n));
            }
        }
    }
    let sigs = doc.get_elements_by_tag_name_ns(DS_NS, "Signature");
    if sigs.is_empty() {
        return XmlReport::failed(XmlFailure::NoSignature);
    }
    let mut covered = Vec::new();
    let reports: Vec<XmlSignatureReport> = sigs
        .into_iter()
        .map(|s| {
            let (r, parent) = verify_one(&doc, s, &ids, mode, ctx);
            if r.integrity && r.trusted && r.errors.is_empty() {
                covered.extend(parent);
            }
            r
        })
        .collect();
    let mut errors = Vec::new();
    if matches!(mode, Mode::Enveloped) {
        for b in doc.descendants(doc.root()) {
            let is_bordereau = doc
                .element(b)
                .is_some_and(|e| e.name.local_name == "Bordereau");
            if is_bordereau && !covered_by(&doc, b, &covered) {
                let id = doc.get_attribute(b, "Id").unwrap_or("sans Id");
                errors.push(XmlFailure::BordereauNotCovered(id.to_owned()).to_string());
            }
        }
    }
    XmlReport::new(reports, errors)
}

/// Whether `node` or one of its ancestors is among the `covered` elements.
fn covered_by(doc: &Document<'_>, node: NodeId, covered: &[NodeId]) -> bool {
    let mut cur = Some(node);
    while let Some(n) = cur {
        if covered.contains(&n) {
            return true;
        }
        cur = doc.parent(n);
    }
    false
}

fn digest_of(uri: &str) -> Option<Digest> {
    Some(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Digest::Sha1,
        "http://www.w3.org/2001/04/xmlenc#sha256" => Digest::Sha256,
        "http://www.w3.org/2001/04/xmldsig-more#sha384" => Digest::Sha384,
        "http://www.w3.org/2001/04/xmlenc#sha512" => Digest::Sha512,
        _ => return None,
    })
}

/// (digest, is ECDSA) of a SignatureMethod URI.
fn signature_alg(uri: &str) -> Option<(Digest, bool)> {
    let (rest, ec) =
        if let Some(r) = uri.strip_prefix("http://www.w3.org/2001/04/xmldsig-more#ecdsa-") {
            (r, true)
        } else if let Some(r) = uri.strip_prefix("http://www.w3.org/2001/04/xmldsig-more#rsa-") {
            (r, false)
        } else if uri == "http://www.w3.org/2000/09/xmldsig#rsa-sha1" {
            ("sha1", false)
        } else {
            return None;
        };
    let md = match rest {
        "sha1" => Digest::Sha1,
        "sha256" => Digest::Sha256,
        "sha384" => Digest::Sha384,
        "sha512" => Digest::Sha512,
        _ => return None,
    };
    Some((md, ec))
}

fn attr(doc: &Document<'_>, n: NodeId, name: &str) -> String {
    doc.get_attribute(n, name).unwrap_or_default().to_owned()
}

/// The octets a same-document reference designates, after its transforms.
fn dereference(
    doc: &Document<'_>,
    sig: NodeId,
    target: NodeId,
    reference: NodeId,
) -> Result<Vec<u8>, XmlFailure> {
    let mut set = NodeSet::tree_without_comments(target, doc);
    let mut c14n: Option<(C14nMode, Vec<String>)> = None;
    if let Some(ts) = child(doc, reference, DS_NS, "Transforms") {
        for t in children_named(doc, ts, DS_NS, "Transform") {
            let alg = attr(doc, t, "Algorithm");
            if alg == crate::xmlcore::ENVELOPED && c14n.is_none() {
                crate::xmlcore::remove_subtree(doc, sig, &mut set);
            } else if let (Some(m), None) = (C14nMode::from_uri(&alg), &c14n) {
                let prefixes = descendant_local(doc, t, "InclusiveNamespaces")
                    .map(|n| {
                        attr(doc, n, "PrefixList")
                            .split_whitespace()
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                c14n = Some((m, prefixes));
            } else {
                return Err(XmlFailure::Transform(alg));
            }
        }
    }
    let (mode, prefixes) = c14n.unwrap_or((C14nMode::Inclusive, Vec::new()));
    bergshamra_c14n::canonicalize_doc(doc, mode, Some(&set), &prefixes)
        .map_err(|e| XmlFailure::Canonicalization(Box::new(e)))
}

fn verify_one(
    doc: &Document<'_>,
    sig: NodeId,
    ids: &HashMap<String, Option<NodeId>>,
    mode: Mode<'_>,
    ctx: &ValidationContext,
) -> (XmlSignatureReport, Option<NodeId>) {
    let mut r = XmlSignatureReport {
        id: doc.get_attribute(sig, "Id").map(str::to_owned),
        signer: String::new(),
        signing_time: descendant_local(doc, sig, "SigningTime")
            .map(|n| text(doc, n).trim().to_owned()),
        integrity: false,
        trusted: false,
        revocation_checked: false,
        errors: Vec::new(),
        indication: Indication::TotalPassed,
        subindication: None,
        timestamp_time: None,
        revocation_urls: Vec::new(),
    };
    let mut parent = None;
    match check(doc, sig, ids, mode, &ctx.policy, &mut r) {
        Ok((signer, others, signed_parent)) => {
            r.signer = common_name(&signer);
            r.integrity = r.errors.is_empty();
            parent = signed_parent;
            // A verified signature timestamp proves the signature existed at its time: the
            // chain is checked then (EN 319 102-1 §5.5, best signature time).
            let best = match signature_timestamp(doc, sig, ctx) {
                Ok(Some(t)) => {
                    r.timestamp_time = chrono::DateTime::from_timestamp(t, 0)
                        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                    Some(t)
                }
                Ok(None) => None,
                Err(e) => {
                    r.fail(e);
                    None
                }
            };
            match check_path(
                &signer,
                &others,
                &ctx.anchors,
                &ctx.crls,
                &crate::policy::Evidence::default(),
                best.unwrap_or(ctx.now()),
                false,
            ) {
                Ok(status) => {
                    r.trusted = true;
                    r.revocation_checked = status.revocation_checked;
                    if !status.revocation_checked && !status.anchored {
                        r.revocation_urls = crate::policy::crl_urls(&signer);
                        r.mark(Rejection::NoRevocationData.verdict(best.is_some()));
                    }
                }
                Err(e) => {
                    // A revocation after a proven time is not a failure of this signature;
                    // without a proof, the verdict says so (REVOKED_NO_POE).
                    let v = e.verdict(best.is_some());
                    r.errors.push(XmlFailure::Chain(e).to_string());
                    r.mark(v);
                }
            }
        }
        Err(e) => r.fail(e),
    }
    (r, parent)
}

/// The time of the signature's XAdES `SignatureTimeStamp`, verified (its authority chains to
/// `ctx.tsa_anchors` now, its imprint is the SHA-256 of the canonical `ds:SignatureValue`
/// element), or `None` when it has none.
fn signature_timestamp(
    doc: &Document<'_>,
    sig: NodeId,
    ctx: &ValidationContext,
) -> Result<Option<i64>, XmlFailure> {
    use base64::Engine;
    use der::Decode;
    let Some(stamp) = descendant_local(doc, sig, "SignatureTimeStamp") else {
        return Ok(None);
    };
    let encoded = descendant_local(doc, stamp, "EncapsulatedTimeStamp")
        .ok_or(XmlFailure::Missing("EncapsulatedTimeStamp"))?;
    let b64: String = text(doc, encoded)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| XmlFailure::Missing("a base64 EncapsulatedTimeStamp"))?;
    let token = der::Any::from_der(&der)
        .map_err(|e| XmlFailure::Timestamp(crate::failure::CmsFailure::MalformedToken(e)))?;
    let value =
        child(doc, sig, DS_NS, "SignatureValue").ok_or(XmlFailure::Missing("SignatureValue"))?;
    let canonical = crate::xmlcore::c14n_subtree(doc, value, None, C14nMode::Exclusive)?;
    let t = crate::cmsverify::verify_timestamp(
        &token,
        &canonical,
        ctx,
        &crate::policy::Evidence::default(),
        ctx.now(),
    )
    .map_err(XmlFailure::Timestamp)?;
    if t > ctx.now() {
        return Err(XmlFailure::TimestampAfterValidation);
    }
    Ok(Some(t))
}

/// Checks integrity; returns the signer certificate, the other embedded certificates, and the
/// signature's parent element when a reference signs it (enveloped). Non-fatal failures are
/// pushed to `r.errors`.
fn check(
    doc: &Document<'_>,
    sig: NodeId,
    ids: &HashMap<String, Option<NodeId>>,
    mode: Mode<'_>,
    policy: &AlgorithmPolicy,
    r: &mut XmlSignatureReport,
) -> Result<(X509, Vec<X509>, Option<NodeId>), XmlFailure> {
    let si = child(doc, sig, DS_NS, "SignedInfo").ok_or(XmlFailure::Missing("SignedInfo"))?;
    let mut certs = Vec::new();
    if let Some(ki) = child(doc, sig, DS_NS, "KeyInfo") {
        for xd in children_named(doc, ki, DS_NS, "X509Data") {
            for c in children_named(doc, xd, DS_NS, "X509Certificate") {
                let der = b64_decode(&text(doc, c))?;
                certs.push(X509::from_der(&der).map_err(XmlFailure::Certificate)?);
            }
        }
    }
    if certs.is_empty() {
        return Err(XmlFailure::Missing("X509Certificate"));
    }
    // The signing certificate property designates the signer among the embedded certificates.
    let sc = descendant_local(doc, sig, "SigningCertificateV2")
        .or_else(|| descendant_local(doc, sig, "SigningCertificate"));
    let mut signer_idx = 0;
    match sc.and_then(|n| descendant_local(doc, n, "CertDigest")) {
        None => r.fail(XmlFailure::NoSigningCertificate),
        Some(cd) => {
            let alg = descendant_local(doc, cd, "DigestMethod").map(|n| attr(doc, n, "Algorithm"));
            // A certificate identifier, not a signature: SHA-1 is acceptable here.
            let md = alg
                .as_deref()
                .and_then(digest_of)
                .ok_or(XmlFailure::CertDigestAlgorithm)?
                .md();
            let want = descendant_local(doc, cd, "DigestValue")
                .map(|n| b64_decode(&text(doc, n)))
                .transpose()?
                .unwrap_or_default();
            let found = certs.iter().position(|c| {
                c.to_der()
                    .ok()
                    .and_then(|d| hash(md, &d).ok())
                    .is_some_and(|h| *h == *want)
            });
            match found {
                Some(i) => signer_idx = i,
                None => r
                    .errors
                    .push(XmlFailure::SigningCertificateMismatch.to_string()),
            }
        }
    }
    let signer = certs.remove(signer_idx);

    // References.
    let mut detached_seen = false;
    let mut signed_parent = None;
    let mut signed_ids = Vec::new();
    for reference in children_named(doc, si, DS_NS, "Reference") {
        let uri = attr(doc, reference, "URI");
        let dm = child(doc, reference, DS_NS, "DigestMethod").map(|n| attr(doc, n, "Algorithm"));
        let md = policy
            .digest(dm.as_deref().and_then(digest_of))
            .map_err(|e| XmlFailure::ReferenceDigest(uri.clone(), e))?
            .md();
        let want = child(doc, reference, DS_NS, "DigestValue")
            .map(|n| b64_decode(&text(doc, n)))
            .transpose()?
            .unwrap_or_default();
        let octets = if let Some(id) = uri.strip_prefix('#') {
            let target = ids
                .get(id)
                .copied()
                .flatten()
                .ok_or_else(|| XmlFailure::NoUniqueId(uri.clone()))?;
            signed_ids.push(id.to_owned());
            let is_props = doc
                .element(target)
                .is_some_and(|e| e.name.local_name == "SignedProperties");
            if matches!(mode, Mode::Enveloped) && !is_props {
                if doc.parent(sig) == Some(target) {
                    signed_parent = Some(target);
                } else {
                    r.errors
                        .push(XmlFailure::NotParent(uri.clone()).to_string());
                }
            }
            dereference(doc, sig, target, reference)
                .map_err(|e| XmlFailure::Dereference(uri.clone(), Box::new(e)))?
        } else if uri.is_empty() {
            dereference(doc, sig, doc.root(), reference)
                .map_err(|e| XmlFailure::DereferenceDocument(Box::new(e)))?
        } else if let Mode::Detached(data) = mode {
            if child(doc, reference, DS_NS, "Transforms").is_some() || detached_seen {
                return Err(XmlFailure::DetachedReference(uri));
            }
            detached_seen = true;
            data.to_vec()
        } else {
            return Err(XmlFailure::ExternalReference(uri));
        };
        let got = hash(md, &octets)?;
        if *got != *want {
            r.fail(XmlFailure::DigestMismatch(uri));
        }
    }
    if matches!(mode, Mode::Detached(_)) && !detached_seen {
        r.fail(XmlFailure::NoDetachedReference);
    }
    match descendant_local(doc, sig, "SignedProperties") {
        Some(sp) if signed_ids.contains(&attr(doc, sp, "Id")) => {}
        Some(_) => r.fail(XmlFailure::PropertiesNotCovered),
        None => r.fail(XmlFailure::NoSignedProperties),
    }

    // Signature value over the canonicalised SignedInfo.
    let cm = child(doc, si, DS_NS, "CanonicalizationMethod").map(|n| attr(doc, n, "Algorithm"));
    let cmode = cm
        .as_deref()
        .and_then(C14nMode::from_uri)
        .ok_or(XmlFailure::CanonicalizationMethod)?;
    let canon = crate::xmlcore::c14n_subtree(doc, si, None, cmode)?;
    let sm = child(doc, si, DS_NS, "SignatureMethod").map(|n| attr(doc, n, "Algorithm"));
    let (digest, ec) = sm
        .as_deref()
        .and_then(signature_alg)
        .ok_or(XmlFailure::SignatureMethod)?;
    let md = policy.digest(Some(digest))?.md();
    let key = signer.public_key()?;
    policy.key(&key)?;
    if ec != (key.id() == Id::EC) {
        return Err(XmlFailure::KeyMismatch);
    }
    let sv =
        child(doc, sig, DS_NS, "SignatureValue").ok_or(XmlFailure::Missing("SignatureValue"))?;
    let mut value = b64_decode(&text(doc, sv))?;
    if ec {
        value = crate::xmlcore::ecdsa_raw_to_der(&value)?;
    }
    let ok = (|| -> Result<bool, openssl::error::ErrorStack> {
        let mut v = openssl::sign::Verifier::new(md, &key)?;
        v.update(&canon)?;
        v.verify(&value)
    })()
    .unwrap_or(false);
    if !ok {
        r.fail(XmlFailure::BadSignatureValue);
    }
    Ok((signer, certs, signed_parent))
}
