//! PES (Hélios) enveloped XAdES-EPES (1.1.1 namespace): one signature per `Bordereau`, inserted as bytes.

use crate::keys::Algorithm;
use crate::xades::{signature_method, x509_data};
use crate::xmlcore::{
    DS_NS, ENVELOPED, EXC_C14N, SHA256, XADES111_NS, b64, c14n_fragment, c14n_subtree, decode,
    escape, issuer_serial, parse, sha256_b64, signature_value_to_xml,
};
use crate::{Credential, SignError};
use bergshamra_c14n::C14nMode;
use chrono::{DateTime, SecondsFormat, Utc};
use openssl::x509::X509;
use quick_xml::events::Event;
use std::collections::HashSet;
use uppsala::{Document, NodeId};

/// The signature policy referenced by the signatures (`SignaturePolicyIdentifier`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PesPolicy {
    /// e.g. `urn:oid:1.2.250.1.131.1.5.18.21.1.7`.
    pub identifier: String,
    pub description: String,
    /// Base64 digest of the policy document.
    pub hash: String,
    /// Digest algorithm URI of `hash`.
    pub hash_algorithm: String,
    /// `SPURI` qualifier, if any.
    pub uri: Option<String>,
}

impl Default for PesPolicy {
    fn default() -> Self {
        Self {
            identifier: "urn:oid:1.2.250.1.131.1.5.18.21.1.7".into(),
            description: "Politique de signature Helios de la DGFiP".into(),
            hash: "roF9+cfRHNPtVJolhdqfIqGMVuUXX8aR4rpiquf0u5E=".into(),
            hash_algorithm: SHA256.into(),
            uri: Some(
                "https://www.collectivites-locales.gouv.fr/files/files/finances_locales/\
                 dematerialisation/ps_helios_dgfip.pdf"
                    .into(),
            ),
        }
    }
}

/// Options of PES signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PesOptions {
    /// Defaults to now.
    pub signing_time: Option<DateTime<Utc>>,
    pub policy: PesPolicy,
    /// `SignatureProductionPlace` (written when any is set).
    pub city: Option<String>,
    pub postal_code: Option<String>,
    pub country_name: Option<String>,
    /// `SignerRole/ClaimedRoles/ClaimedRole`; "Ordonnateur" by default.
    pub claimed_role: Option<String>,
}

impl Default for PesOptions {
    fn default() -> Self {
        Self {
            signing_time: None,
            policy: PesPolicy::default(),
            city: None,
            postal_code: None,
            country_name: None,
            claimed_role: Some("Ordonnateur".into()),
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    /// Byte offset of the signed element's end tag in the (possibly Id-augmented) document.
    offset: usize,
    id: String,
    ns_decls: String,
    signed_info: String,
    signed_info_c14n: Vec<u8>,
    tail: String,
}

/// Signatures waiting for their values, one per signed element in document order.
#[derive(Debug, Clone)]
pub struct Prepared {
    bytes: Vec<u8>,
    algorithm: Algorithm,
    pending: Vec<Pending>,
}

impl Prepared {
    /// One canonicalised `SignedInfo` per signature, to sign in this order.
    pub fn data_to_sign(&self) -> Vec<&[u8]> {
        self.pending
            .iter()
            .map(|p| p.signed_info_c14n.as_slice())
            .collect()
    }

    /// The `ds:Signature` Ids, in the same order.
    pub fn signature_ids(&self) -> Vec<&str> {
        self.pending.iter().map(|p| p.id.as_str()).collect()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Inserts the signatures; `values[i]` signs `data_to_sign()[i]` (ECDSA: DER or raw `r||s`).
    pub fn complete(&self, values: &[Vec<u8>]) -> Result<Vec<u8>, SignError> {
        if values.len() != self.pending.len() {
            return Err(SignError::Invalid(format!(
                "{} signature values for {} signatures",
                values.len(),
                self.pending.len()
            )));
        }
        let mut out = self.bytes.clone();
        for (p, v) in self.pending.iter().zip(values).rev() {
            let value = b64(&signature_value_to_xml(self.algorithm, v)?);
            let sig = format!(
                "<ds:Signature{ns} Id=\"{id}\">{si}<ds:SignatureValue Id=\"{id}_SV\">{value}\
                 </ds:SignatureValue>{tail}</ds:Signature>",
                ns = p.ns_decls,
                id = p.id,
                si = p.signed_info,
                tail = p.tail,
            );
            out.splice(p.offset..p.offset, sig.into_bytes());
        }
        Ok(out)
    }
}

fn local_is(doc: &Document<'_>, n: NodeId, local: &str) -> bool {
    doc.element(n).is_some_and(|e| e.name.local_name == local)
}

/// The namespace bound to `prefix` at `node`.
fn in_scope(doc: &Document<'_>, node: NodeId, prefix: &str) -> Option<String> {
    let mut chain = vec![node];
    chain.extend(doc.ancestors(node));
    chain.iter().find_map(|n| {
        doc.element(*n)?
            .namespace_declarations
            .iter()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.to_string())
    })
}

/// Byte offsets (in `bytes`) of the end tags of the elements named `local` with these Ids, in
/// order, or of the root end tag when `ids` is empty; plus the root start tag's name end.
fn end_tag_offsets(
    bytes: &[u8],
    local: &str,
    ids: &[String],
) -> Result<(Vec<usize>, usize), SignError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut stack: Vec<bool> = Vec::new();
    let mut found = Vec::new();
    let mut root_name_end = 0;
    let mut root_end = None;
    loop {
        let pos = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let ev = reader
            .read_event()
            .map_err(|e| SignError::Invalid(format!("malformed XML: {e}")))?;
        match ev {
            Event::Start(e) => {
                if stack.is_empty() {
                    root_name_end = pos + 1 + e.name().as_ref().len();
                }
                let hit = e.local_name().as_ref() == local.as_bytes()
                    && e.try_get_attribute("Id")
                        .ok()
                        .flatten()
                        .is_some_and(|a| ids.iter().any(|i| i.as_bytes() == a.value.as_ref()));
                stack.push(hit);
            }
            Event::End(_) => {
                if stack.pop() == Some(true) {
                    found.push(pos);
                }
                if stack.is_empty() && root_end.is_none() {
                    root_end = Some(pos);
                }
            }
            Event::Empty(e) if e.local_name().as_ref() == local.as_bytes() => {
                return Err(SignError::Invalid(format!("empty {local} element")));
            }
            Event::DocType(_) => {
                return Err(SignError::Invalid(
                    "XML documents with a DOCTYPE are refused".into(),
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if ids.is_empty() {
        found = root_end.into_iter().collect();
    }
    if found.len() != ids.len().max(1) {
        return Err(SignError::Invalid(
            "signed elements not found by the byte scanner".into(),
        ));
    }
    Ok((found, root_name_end))
}

fn properties(id: &str, cert: &X509, time: &str, o: &PesOptions) -> Result<String, SignError> {
    let (issuer, serial) = issuer_serial(cert)?;
    let p = &o.policy;
    let spuri = p.uri.as_deref().map(|u| {
        format!(
            "<xad:SigPolicyQualifiers><xad:SigPolicyQualifier><xad:SPURI>{}</xad:SPURI>\
             </xad:SigPolicyQualifier></xad:SigPolicyQualifiers>",
            escape(u)
        )
    });
    let mut place = String::new();
    for (tag, v) in [
        ("City", &o.city),
        ("PostalCode", &o.postal_code),
        ("CountryName", &o.country_name),
    ] {
        if let Some(v) = v {
            place.push_str(&format!("<xad:{tag}>{}</xad:{tag}>", escape(v)));
        }
    }
    if !place.is_empty() {
        place = format!("<xad:SignatureProductionPlace>{place}</xad:SignatureProductionPlace>");
    }
    let role = o.claimed_role.as_deref().map(|r| {
        format!(
            "<xad:SignerRole><xad:ClaimedRoles><xad:ClaimedRole>{}</xad:ClaimedRole>\
             </xad:ClaimedRoles></xad:SignerRole>",
            escape(r)
        )
    });
    Ok(format!(
        "<xad:SignedProperties Id=\"{id}_SP\"><xad:SignedSignatureProperties>\
         <xad:SigningTime>{time}</xad:SigningTime><xad:SigningCertificate><xad:Cert>\
         <xad:CertDigest><xad:DigestMethod Algorithm=\"{SHA256}\"/><xad:DigestValue>{cd}\
         </xad:DigestValue></xad:CertDigest><xad:IssuerSerial><ds:X509IssuerName>{issuer}\
         </ds:X509IssuerName><ds:X509SerialNumber>{serial}</ds:X509SerialNumber>\
         </xad:IssuerSerial></xad:Cert></xad:SigningCertificate><xad:SignaturePolicyIdentifier>\
         <xad:SignaturePolicyId><xad:SigPolicyId><xad:Identifier>{pid}</xad:Identifier>\
         <xad:Description>{pdesc}</xad:Description></xad:SigPolicyId><xad:SigPolicyHash>\
         <xad:DigestMethod Algorithm=\"{palg}\"/><xad:DigestValue>{phash}</xad:DigestValue>\
         </xad:SigPolicyHash>{spuri}</xad:SignaturePolicyId></xad:SignaturePolicyIdentifier>\
         {place}{role}</xad:SignedSignatureProperties></xad:SignedProperties>",
        cd = sha256_b64(&cert.to_der()?),
        issuer = escape(&issuer),
        pid = escape(&p.identifier),
        pdesc = escape(&p.description),
        palg = escape(&p.hash_algorithm),
        phash = escape(&p.hash),
        spuri = spuri.unwrap_or_default(),
        role = role.unwrap_or_default(),
    ))
}

/// Prepares one signature per `Bordereau` (or of the whole `PES_Aller`) of a PES file.
pub fn prepare(
    bytes: &[u8],
    chain: &[X509],
    algorithm: Algorithm,
    options: &PesOptions,
) -> Result<Prepared, SignError> {
    let cert = chain
        .first()
        .ok_or_else(|| SignError::Invalid("empty certificate chain".into()))?;
    let now = options.signing_time.unwrap_or_else(Utc::now);
    let (text, _) = decode(bytes)?;
    let doc = parse(&text)?;
    let root = doc
        .document_element()
        .filter(|r| local_is(&doc, *r, "PES_Aller"))
        .ok_or_else(|| SignError::Invalid("not a PES_Aller document".into()))?;
    let bordereaux: Vec<NodeId> = doc
        .descendants(root)
        .into_iter()
        .filter(|n| local_is(&doc, *n, "Bordereau"))
        .collect();
    let with_id = |n: &NodeId| doc.get_attribute(*n, "Id").map(str::to_owned);
    let ids: Option<Vec<String>> = bordereaux.iter().map(with_id).collect();
    let (targets, local) = match ids {
        Some(ids) if !ids.is_empty() => (ids, "Bordereau"),
        _ => match with_id(&root) {
            Some(id) => (vec![id], "PES_Aller"),
            None => {
                // Give the root an Id, then sign the result.
                // Derived from the file, so that preparing it again (the two phases of a
                // signature on the signer's card) gives the same data to sign.
                let (_, name_end) = end_tag_offsets(bytes, "PES_Aller", &[])?;
                let digest = openssl::sha::sha256(bytes);
                let mut with = bytes.to_vec();
                let attr = format!(" Id=\"PES{}\"", hex::encode(&digest[..6]));
                with.splice(name_end..name_end, attr.into_bytes());
                return prepare(&with, chain, algorithm, options);
            }
        },
    };
    let all_ids: Vec<String> = doc
        .descendants(doc.root())
        .into_iter()
        .filter_map(|n| with_id(&n))
        .collect();
    let existing: HashSet<String> = all_ids.iter().cloned().collect();
    if existing.len() != all_ids.len() {
        return Err(SignError::Invalid("duplicate Id in the PES".into()));
    }
    let (offsets, _) = end_tag_offsets(bytes, local, &targets)?;
    let time = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let stamp = now.format("%y%m%d%H%M%S");
    let nodes: Vec<NodeId> = if local == "Bordereau" {
        bordereaux
    } else {
        vec![root]
    };
    let mut pending = Vec::new();
    for (n, ((node, target), offset)) in nodes.iter().zip(&targets).zip(offsets).enumerate() {
        if !crate::xmlcore::children_named(&doc, *node, DS_NS, "Signature").is_empty() {
            return Err(SignError::Invalid(format!("{target} is already signed")));
        }
        let mut id = format!("IDC{}{stamp}p0000", n + 1);
        while existing.contains(&id) {
            id.push('a');
        }
        let mut ns_decls = String::new();
        if in_scope(&doc, *node, "ds").as_deref() != Some(DS_NS) {
            ns_decls.push_str(&format!(" xmlns:ds=\"{DS_NS}\""));
        }
        if in_scope(&doc, *node, "xad").as_deref() != Some(XADES111_NS) {
            ns_decls.push_str(&format!(" xmlns:xad=\"{XADES111_NS}\""));
        }
        let content = sha256_b64(&c14n_subtree(&doc, *node, None, C14nMode::Exclusive)?);
        let props = properties(&id, cert, &time, options)?;
        let sp = sha256_b64(&c14n_fragment(&props, XADES111_NS)?);
        let signed_info = format!(
            "<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/>\
             <ds:SignatureMethod Algorithm=\"{sm}\"/><ds:Reference URI=\"#{t}\"><ds:Transforms>\
             <ds:Transform Algorithm=\"{ENVELOPED}\"/><ds:Transform Algorithm=\"{EXC_C14N}\"/>\
             </ds:Transforms><ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{content}\
             </ds:DigestValue></ds:Reference><ds:Reference URI=\"#{id}_SP\"><ds:Transforms>\
             <ds:Transform Algorithm=\"{EXC_C14N}\"/></ds:Transforms><ds:DigestMethod \
             Algorithm=\"{SHA256}\"/><ds:DigestValue>{sp}</ds:DigestValue></ds:Reference>\
             </ds:SignedInfo>",
            sm = signature_method(algorithm),
            t = escape(target),
        );
        let signed_info_c14n = c14n_fragment(&signed_info, XADES111_NS)?;
        let tail = format!(
            "<ds:KeyInfo Id=\"{id}_KI\">{x}</ds:KeyInfo><ds:Object Id=\"{id}_QI\">\
             <xad:QualifyingProperties Target=\"#{id}\">{props}</xad:QualifyingProperties>\
             </ds:Object>",
            x = x509_data(chain)?,
        );
        pending.push(Pending {
            offset,
            id,
            ns_decls,
            signed_info,
            signed_info_c14n,
            tail,
        });
    }
    Ok(Prepared {
        bytes: bytes.to_vec(),
        algorithm,
        pending,
    })
}

/// Signs a PES file with a key held here.
pub fn sign_pes(
    bytes: &[u8],
    credential: &Credential,
    options: &PesOptions,
) -> Result<Vec<u8>, SignError> {
    let p = prepare(bytes, &credential.chain, credential.algorithm(), options)?;
    let values = p
        .data_to_sign()
        .into_iter()
        .map(|d| credential.sign(d))
        .collect::<Result<Vec<_>, _>>()?;
    p.complete(&values)
}
