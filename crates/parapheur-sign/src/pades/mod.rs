//! PAdES baseline B-B signing by incremental update: the original bytes are never rewritten,
//! so earlier signatures stay valid. A visible stamp (signer, role, date, reason) is drawn on
//! the last page by default, or where a placement says.

mod dss;
mod layout;
mod stamp;
mod update;
mod write;

pub use dss::{ValidationData, dss_suffix};

use crate::cms::{SignedAttrs, SignerParts, assemble, certificate, signed_attributes};
use crate::keys::Algorithm;
use crate::pdfcheck::Limits;
use crate::pdfread::PdfFile;
use crate::{Credential, SignError};
use chrono::{DateTime, Utc};
use sha2_11::Digest;
use std::sync::Arc;
use x509_cert::Certificate;

/// Bytes reserved in `/Contents` for what a CMS signature holds besides its certificates (signed
/// attributes, signer information, a signature value of up to 4096 bits), with a margin.
const CMS_OVERHEAD: usize = 2048;
/// Bytes reserved beyond that for a timestamp token (its own certificates included).
const TIMESTAMP_RESERVE: usize = 12 * 1024;
/// The signature dictionary up to its `/ByteRange` value.
const SIG_DICT_START: &[u8] =
    b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange";
const BYTE_RANGE_PLACEHOLDER: &str = "[0 9999999999 9999999999 9999999999]";
/// A document timestamp's dictionary up to its `/ByteRange` value.
const DOC_TIMESTAMP_DICT_START: &[u8] =
    b"<</Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161/ByteRange";
/// Bytes reserved in `/Contents` for a document timestamp token (its certificates included).
const DOC_TIMESTAMP_RESERVE: usize = 12 * 1024;

/// Where the visible stamp goes (PDF points, origin bottom-left; `page` is 1-based).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub page: Option<u32>,
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

#[derive(Debug, Clone)]
pub struct SignOptions {
    pub signer_name: String,
    pub role: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    pub time: DateTime<Utc>,
    pub visible: bool,
    pub placement: Option<Placement>,
    /// Leave room for a timestamp token (PAdES B-T): the signature then reserves 12 KiB more.
    pub timestamped: bool,
    /// What reading the PDF may cost (the deposit check's limits).
    pub limits: Limits,
    /// The document's verification code, printed on the stamp (anyone can look it up on the
    /// server's `/verifier/{code}` page).
    pub verification_code: Option<String>,
}

impl SignOptions {
    pub fn new(signer_name: impl Into<String>) -> Self {
        Self {
            signer_name: signer_name.into(),
            role: None,
            reason: None,
            location: None,
            time: Utc::now(),
            visible: true,
            placement: None,
            timestamped: false,
            limits: Limits::default(),
            verification_code: None,
        }
    }
}

/// A signature ready for its value: the appended revision with placeholders, and the data to sign.
#[derive(Debug)]
pub struct Prepared {
    suffix: Vec<u8>,
    contents_pos: usize,
    /// Bytes of CMS the hole at `contents_pos` takes (twice as many hex digits).
    reserve: usize,
    attrs: SignedAttrs,
    signer: Arc<SignerParts>,
    algorithm: Algorithm,
}

fn err(m: impl Into<String>) -> SignError {
    SignError::Pdf(m.into())
}

/// The CMS parts of a chain given as DER (`chain_der[0]` is the signer's certificate).
fn parts_of(chain_der: &[Vec<u8>]) -> Result<Arc<SignerParts>, SignError> {
    let chain: Vec<Certificate> = chain_der
        .iter()
        .map(|d| certificate(d))
        .collect::<Result<_, _>>()?;
    Ok(Arc::new(SignerParts::new(&chain)?))
}

/// A SHA-256 already fed with every byte of the file being signed, kept from when the file was
/// stored, so that signing hashes only the revision it appends. If it was fed anything else, the
/// signature comes out invalid (it can never make a wrong file look signed).
pub type FileHasher = sha2_11::Sha256;

/// Prepares a signature of `pdf`: builds the incremental update with placeholders and computes
/// the signed attributes. `chain[0]` is the signer's certificate (DER).
pub fn prepare(
    pdf: &[u8],
    chain_der: &[Vec<u8>],
    algorithm: Algorithm,
    opts: &SignOptions,
) -> Result<Prepared, SignError> {
    prepare_for(pdf, None, parts_of(chain_der)?, algorithm, opts)
}

/// [`prepare`] continuing `file_hash` (see [`FileHasher`]), when given, instead of hashing `pdf`
/// again.
pub fn prepare_continuing(
    pdf: &[u8],
    file_hash: Option<FileHasher>,
    chain_der: &[Vec<u8>],
    algorithm: Algorithm,
    opts: &SignOptions,
) -> Result<Prepared, SignError> {
    prepare_for(pdf, file_hash, parts_of(chain_der)?, algorithm, opts)
}

fn prepare_for(
    pdf: &[u8],
    file_hash: Option<FileHasher>,
    signer: Arc<SignerParts>,
    algorithm: Algorithm,
    opts: &SignOptions,
) -> Result<Prepared, SignError> {
    let file = PdfFile::open_with(pdf, &opts.limits)?;
    if file.trailer.get(b"Encrypt").is_ok() {
        return Err(err("encrypted PDFs cannot be signed"));
    }
    let objects = update::new_objects(&file, opts, update::FieldKind::Signature)?;
    // The hole for the CMS: the signer's certificates, the rest of the structure, a timestamp
    // token when one will be added; in hex, hence twice as many characters.
    let reserve = (signer.certificates_len()
        + CMS_OVERHEAD
        + if opts.timestamped {
            TIMESTAMP_RESERVE
        } else {
            0
        })
    .next_multiple_of(512);
    let layout::Revision {
        suffix,
        contents_pos,
    } = layout::lay_out(pdf, &file, objects, reserve)?;

    let mut h = file_hash.unwrap_or_else(|| FileHasher::new().chain_update(pdf));
    h.update(&suffix[..contents_pos - 1]);
    h.update(&suffix[contents_pos + reserve * 2 + 1..]);
    let digest = h.finalize();
    let attrs = signed_attributes(&digest, &signer)?;
    Ok(Prepared {
        suffix,
        contents_pos,
        reserve,
        attrs,
        signer,
        algorithm,
    })
}

impl Prepared {
    /// The DER of the signed attributes: what the signer's key must sign (SHA-256 + RSA/ECDSA).
    pub fn data_to_sign(&self) -> &[u8] {
        &self.attrs.der
    }

    /// Inserts the CMS built from `signature` (and optional unsigned attributes such as a
    /// timestamp) and returns the bytes to append to the original PDF.
    pub fn complete(
        self,
        signature: &[u8],
        unsigned: Option<x509_cert::attr::Attributes>,
    ) -> Result<Vec<u8>, SignError> {
        let Self {
            mut suffix,
            contents_pos,
            reserve,
            attrs,
            signer,
            algorithm,
        } = self;
        let cms = assemble(attrs, signature, algorithm, &signer, unsigned)?;
        if cms.len() > reserve {
            return Err(SignError::SignatureTooLarge {
                needed: cms.len(),
                reserved: reserve,
            });
        }
        // Straight into the reserved hole (hex digits; the rest stays '0', i.e. zero padding).
        hex::encode_to_slice(
            &cms,
            &mut suffix[contents_pos..contents_pos + cms.len() * 2],
        )
        .map_err(|e| err(format!("hex encoding ({e})")))?;
        Ok(suffix)
    }
}

/// Signs with a key held here; returns the bytes to append to `pdf` (the signed file is
/// `pdf` followed by them).
pub fn sign_suffix(
    pdf: &[u8],
    cred: &Credential,
    opts: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    sign_suffix_continuing(pdf, None, cred, opts)
}

/// [`sign_suffix`] continuing `file_hash` (see [`FileHasher`]), when given.
pub fn sign_suffix_continuing(
    pdf: &[u8],
    file_hash: Option<FileHasher>,
    cred: &Credential,
    opts: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    let p = prepare_for(pdf, file_hash, cred.cms_parts(), cred.algorithm(), opts)?;
    let sig = cred.sign(p.data_to_sign())?;
    p.complete(&sig, None)
}

/// Signs and returns the whole signed PDF.
pub fn sign(pdf: &[u8], cred: &Credential, opts: &SignOptions) -> Result<Vec<u8>, SignError> {
    let suffix = sign_suffix(pdf, cred, opts)?;
    let mut out = Vec::with_capacity(pdf.len() + suffix.len());
    out.extend_from_slice(pdf);
    out.extend_from_slice(&suffix);
    Ok(out)
}

/// A document timestamp (PAdES B-LTA) ready for its token: the appended revision with an
/// invisible field whose `/DocTimeStamp` dictionary holds a hole for the token, and the SHA-256
/// of the byte range the token must stamp.
#[derive(Debug)]
pub struct PreparedTimestamp {
    suffix: Vec<u8>,
    contents_pos: usize,
    reserve: usize,
    digest: Vec<u8>,
}

/// Prepares a document timestamp of `pdf` (its last revision, DSS included, is covered).
pub fn prepare_document_timestamp(
    pdf: &[u8],
    limits: &Limits,
) -> Result<PreparedTimestamp, SignError> {
    let file = PdfFile::open_with(pdf, limits)?;
    if file.trailer.get(b"Encrypt").is_ok() {
        return Err(err("encrypted PDFs cannot be timestamped"));
    }
    let mut opts = SignOptions::new("");
    opts.visible = false;
    opts.limits = limits.clone();
    let objects = update::new_objects(&file, &opts, update::FieldKind::DocumentTimestamp)?;
    let reserve = DOC_TIMESTAMP_RESERVE;
    let layout::Revision {
        suffix,
        contents_pos,
    } = layout::lay_out(pdf, &file, objects, reserve)?;
    let mut h = FileHasher::new().chain_update(pdf);
    h.update(&suffix[..contents_pos - 1]);
    h.update(&suffix[contents_pos + reserve * 2 + 1..]);
    Ok(PreparedTimestamp {
        suffix,
        contents_pos,
        reserve,
        digest: h.finalize().to_vec(),
    })
}

impl PreparedTimestamp {
    /// The SHA-256 of the byte range: the message imprint to ask the authority for.
    pub fn digest(&self) -> &[u8] {
        &self.digest
    }

    /// Inserts the token (a DER `TimeStampToken`, checked by the caller against the request)
    /// and returns the bytes to append to the original PDF.
    pub fn complete(self, token: &[u8]) -> Result<Vec<u8>, SignError> {
        let Self {
            mut suffix,
            contents_pos,
            reserve,
            ..
        } = self;
        if token.len() > reserve {
            return Err(SignError::SignatureTooLarge {
                needed: token.len(),
                reserved: reserve,
            });
        }
        hex::encode_to_slice(
            token,
            &mut suffix[contents_pos..contents_pos + token.len() * 2],
        )
        .map_err(|e| err(format!("hex encoding ({e})")))?;
        Ok(suffix)
    }
}
