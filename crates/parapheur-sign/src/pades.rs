//! PAdES baseline B-B signing by incremental update: the original bytes are never rewritten,
//! so earlier signatures stay valid. A visible stamp (signer, role, date, reason) is drawn on
//! the last page by default, or where a placement says.

use crate::cms::{SignedAttrs, SignerParts, assemble, certificate, signed_attributes};
use crate::keys::Algorithm;
use crate::pdf_text::{literal, text_string_hex, win_ansi};
use crate::pdfcheck::Limits;
use crate::pdfread::PdfFile;
use crate::{Credential, SignError};
use chrono::{DateTime, Utc};
use lopdf::{Dictionary, Object, ObjectId};
use sha2_11::Digest;
use std::io::Write;
use std::sync::Arc;
use x509_cert::Certificate;

/// Bytes reserved in `/Contents` for what a CMS signature holds besides its certificates (signed
/// attributes, signer information, a signature value of up to 4096 bits), with a margin.
const CMS_OVERHEAD: usize = 2048;
/// Bytes reserved beyond that for a timestamp token (its own certificates included).
const TIMESTAMP_RESERVE: usize = 12 * 1024;
const BYTE_RANGE_PLACEHOLDER: &str = "[0 9999999999 9999999999 9999999999]";

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

/// Serializes a lopdf object (no streams: they are never rewritten here).
fn write_obj(out: &mut Vec<u8>, o: &Object) -> Result<(), SignError> {
    match o {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => out.extend_from_slice(real(*r).as_bytes()),
        Object::Name(n) => write_name(out, n),
        Object::String(s, _) => {
            out.push(b'<');
            out.extend_from_slice(hex::encode_upper(s).as_bytes());
            out.push(b'>');
        }
        Object::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_obj(out, x)?;
            }
            out.push(b']');
        }
        Object::Dictionary(d) => write_dict(out, d)?,
        Object::Reference((n, g)) => out.extend_from_slice(format!("{n} {g} R").as_bytes()),
        Object::Stream(_) => return Err(err("unexpected stream in a rewritten object")),
    }
    Ok(())
}

fn write_dict(out: &mut Vec<u8>, d: &Dictionary) -> Result<(), SignError> {
    out.extend_from_slice(b"<<");
    for (k, v) in d.iter() {
        write_name(out, k);
        out.push(b' ');
        write_obj(out, v)?;
    }
    out.extend_from_slice(b">>");
    Ok(())
}

fn write_name(out: &mut Vec<u8>, n: &[u8]) {
    out.push(b'/');
    for &b in n {
        if b"\t\n\x0C\r ()<>[]{}/%#".contains(&b) || !(33..=126).contains(&b) {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// A number with at most three decimals, without trailing zeros (`12`, `-0.5`, `3.125`).
fn real(r: f32) -> String {
    let thousandths = (f64::from(r) * 1000.0).round();
    if !thousandths.is_finite() || thousandths.abs() >= 9e15 {
        return "0".into();
    }
    let t = thousandths as i64;
    let (int, frac) = (t.abs() / 1000, t.abs() % 1000);
    let sign = if t < 0 { "-" } else { "" };
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let f = format!("{frac:03}");
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

fn number(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

/// The page's MediaBox, inherited from its parents when absent.
fn media_box(file: &PdfFile, page: ObjectId) -> [f32; 4] {
    let mut id = Some(page);
    for _ in 0..32 {
        let Some(cur) = id else { break };
        let Ok(d) = file.shared_dictionary(cur) else {
            break;
        };
        if let Some(Ok(Object::Array(a))) = d.get(b"MediaBox").ok().map(|o| file.resolve(o)) {
            let v: Vec<f32> = a.iter().filter_map(number).collect();
            if v.len() == 4 {
                return [v[0], v[1], v[2], v[3]];
            }
        }
        id = d.get(b"Parent").and_then(Object::as_reference).ok();
    }
    [0.0, 0.0, 595.0, 842.0]
}

/// Resolves an array that may be inline or referenced.
fn resolved_array(file: &PdfFile, o: &Object) -> Result<Vec<Object>, SignError> {
    match file.resolve(o)? {
        Object::Array(a) => Ok(a),
        _ => Err(err("an array was expected")),
    }
}

fn pdf_date(t: &DateTime<Utc>) -> String {
    t.format("D:%Y%m%d%H%M%S+00'00'").to_string()
}

/// The appearance stream of the visible stamp.
fn appearance(opts: &SignOptions, w: f32, h: f32) -> Vec<u8> {
    let local = opts.time.with_timezone(&chrono::Local);
    let mut lines = vec![
        "Signé électroniquement par".to_owned(),
        opts.signer_name.clone(),
    ];
    if let Some(r) = opts.role.as_deref().filter(|r| !r.is_empty()) {
        lines.push(r.to_owned());
    }
    lines.push(format!(
        "le {}",
        local.format("%d/%m/%Y à %H:%M:%S (UTC%:z)")
    ));
    if let Some(r) = opts.reason.as_deref().filter(|r| !r.is_empty()) {
        lines.push(format!("Motif : {r}"));
    }
    let fs = (h / (lines.len() as f32 * 1.25 + 0.8)).clamp(3.0, 9.0);
    let max_chars = ((w - 8.0) / (fs * 0.5)).max(4.0) as usize;
    let mut s = Vec::new();
    let _ = writeln!(s, "q 0.94 0.96 1 rg 0 0 {} {} re f Q", real(w), real(h));
    let _ = writeln!(
        s,
        "q 0.16 0.27 0.55 RG 0.8 w 0.4 0.4 {} {} re S Q",
        real(w - 0.8),
        real(h - 0.8)
    );
    let _ = writeln!(
        s,
        "BT 0.1 0.1 0.1 rg /F1 {} Tf {} TL 4 {} Td",
        real(fs),
        real(fs * 1.2),
        real(h - fs - 3.0)
    );
    for (i, l) in lines.iter().enumerate() {
        let t: String = if l.chars().count() > max_chars {
            l.chars()
                .take(max_chars.saturating_sub(1))
                .chain(std::iter::once('…'))
                .collect()
        } else {
            l.clone()
        };
        if i > 0 {
            s.extend_from_slice(b"T* ");
        }
        s.extend_from_slice(&literal(&win_ansi(&t)));
        s.extend_from_slice(b" Tj\n");
    }
    s.extend_from_slice(b"ET\n");
    s
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
    let root_id = file.root()?;
    let mut catalog = file.dictionary(root_id)?;
    let (pages_root, page_count) = file.pages()?;
    let page_no = match opts.placement.and_then(|p| p.page) {
        Some(n) if (1..=page_count).contains(&n) => n,
        Some(n) => {
            return Err(SignError::Invalid(format!(
                "page {n} does not exist ({page_count} pages)"
            )));
        }
        None if page_count == 0 => return Err(err("the PDF has no page")),
        None => page_count,
    };
    let page_id = file.page(pages_root, page_no)?;
    let size = file.size;
    let mut next = size.max(1);
    let mut alloc = || {
        let id = (next, 0u16);
        next += 1;
        id
    };
    let sig_id = alloc();
    let field_id = alloc();
    let ap_id = opts.visible.then(&mut alloc);

    // Objects rewritten or added, as serialized bodies.
    let mut bodies: Vec<(ObjectId, Vec<u8>)> = Vec::new();
    let mut rewrite = |id: ObjectId, o: &Object| -> Result<(), SignError> {
        let mut b = Vec::new();
        write_obj(&mut b, o)?;
        bodies.push((id, b));
        Ok(())
    };

    // AcroForm with the new field (kept as an indirect object so later signatures touch only it).
    let existing = catalog.get(b"AcroForm").ok().cloned();
    let (af_id, mut af) = match existing {
        Some(Object::Reference(id)) => (id, file.dictionary(id)?),
        Some(Object::Dictionary(d)) => (alloc(), d),
        _ => (alloc(), Dictionary::new()),
    };
    let mut fields = match af.get(b"Fields") {
        Ok(f) => resolved_array(&file, f)?,
        Err(_) => Vec::new(),
    };
    let n_sigs = file.signature_fields(&fields).len();
    fields.push(Object::Reference(field_id));
    af.set("Fields", Object::Array(fields));
    af.set("SigFlags", 3);
    if !matches!(catalog.get(b"AcroForm"), Ok(Object::Reference(id)) if *id == af_id) {
        catalog.set("AcroForm", Object::Reference(af_id));
        rewrite(root_id, &Object::Dictionary(catalog.clone()))?;
    }
    rewrite(af_id, &Object::Dictionary(af))?;

    // Where the stamp goes: the placement, or stacked at the bottom right of the page.
    let mb = media_box(&file, page_id);
    let rect = match (opts.visible, opts.placement) {
        (false, _) => [0.0, 0.0, 0.0, 0.0],
        (true, Some(p)) => [p.x, p.y, p.x + p.width, p.y + p.height],
        (true, None) => {
            let (w, h) = (220.0f32.min(mb[2] - mb[0]), 62.0f32);
            let x = mb[2] - w - 24.0;
            let y = mb[1] + 24.0 + (n_sigs as f32) * (h + 6.0);
            [x, y, x + w, y + h]
        }
    };

    // The page's annotations gain the widget.
    let mut page = file.dictionary(page_id)?;
    match page.get(b"Annots").ok().cloned() {
        Some(Object::Reference(arr_id)) => {
            let mut a = resolved_array(&file, &Object::Reference(arr_id))?;
            a.push(Object::Reference(field_id));
            rewrite(arr_id, &Object::Array(a))?;
        }
        Some(Object::Array(mut a)) => {
            a.push(Object::Reference(field_id));
            page.set("Annots", Object::Array(a));
            rewrite(page_id, &Object::Dictionary(page))?;
        }
        _ => {
            page.set("Annots", Object::Array(vec![Object::Reference(field_id)]));
            rewrite(page_id, &Object::Dictionary(page))?;
        }
    }

    // The merged field/widget.
    let mut field = Dictionary::new();
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set(
        "T",
        Object::string_literal(format!("Signature{}", n_sigs + 1)),
    );
    field.set("V", Object::Reference(sig_id));
    field.set("F", 132);
    field.set(
        "Rect",
        Object::Array(rect.iter().map(|v| Object::Real(*v)).collect()),
    );
    field.set("P", Object::Reference(page_id));
    if let Some(ap) = ap_id {
        let mut n = Dictionary::new();
        n.set("N", Object::Reference(ap));
        field.set("AP", Object::Dictionary(n));
    }
    rewrite(field_id, &Object::Dictionary(field))?;

    // The appearance stream (written by hand: a stream object).
    if let Some(ap) = ap_id {
        let (w, h) = (rect[2] - rect[0], rect[3] - rect[1]);
        let content = appearance(opts, w, h);
        let mut b = Vec::new();
        let _ = writeln!(
            b,
            "<</Type/XObject/Subtype/Form/BBox[0 0 {} {}]/Resources<</Font<</F1<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>>>>>/Length {}>>\nstream",
            real(w),
            real(h),
            content.len()
        );
        b.extend_from_slice(&content);
        b.extend_from_slice(b"\nendstream");
        bodies.push((ap, b));
    }

    // The signature dictionary with its placeholders.
    let mut sig = Vec::new();
    sig.extend_from_slice(
        b"<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange",
    );
    sig.extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
    sig.extend_from_slice(b"/Contents<");
    // The hole for the signature (zeros) is written directly into the revision below.
    let contents_in_sig = sig.len();
    sig.extend_from_slice(b">/M");
    sig.extend_from_slice(&literal(pdf_date(&opts.time).as_bytes()));
    sig.extend_from_slice(b"/Name");
    sig.extend_from_slice(text_string_hex(&opts.signer_name).as_bytes());
    if let Some(r) = opts.reason.as_deref().filter(|r| !r.is_empty()) {
        sig.extend_from_slice(b"/Reason");
        sig.extend_from_slice(text_string_hex(r).as_bytes());
    }
    if let Some(l) = opts.location.as_deref().filter(|l| !l.is_empty()) {
        sig.extend_from_slice(b"/Location");
        sig.extend_from_slice(text_string_hex(l).as_bytes());
    }
    sig.extend_from_slice(b">>");
    bodies.push((sig_id, sig));

    // Lay out the revision.
    let base = pdf.len();
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
    let mut suffix = Vec::with_capacity(reserve * 2 + 4096);
    if !matches!(pdf.last(), Some(b'\n' | b'\r')) {
        suffix.push(b'\n');
    }
    bodies.sort_by_key(|(id, _)| *id);
    let mut offsets: Vec<(ObjectId, usize)> = Vec::with_capacity(bodies.len() + 1);
    let mut contents_pos = 0;
    let mut byte_range_pos = 0;
    for (id, body) in &bodies {
        offsets.push((*id, base + suffix.len()));
        let _ = writeln!(suffix, "{} {} obj", id.0, id.1);
        if *id == sig_id {
            contents_pos = suffix.len() + contents_in_sig;
            byte_range_pos = suffix.len()
                + "<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange".len();
            suffix.extend_from_slice(&body[..contents_in_sig]);
            suffix.resize(suffix.len() + reserve * 2, b'0');
            suffix.extend_from_slice(&body[contents_in_sig..]);
        } else {
            suffix.extend_from_slice(body);
        }
        suffix.extend_from_slice(b"\nendobj\n");
    }
    let prev = file.startxref;
    let classic = file.classic;
    let mut trailer = Dictionary::new();
    let max_id = offsets.iter().map(|(id, _)| id.0).max().unwrap_or(0);
    trailer.set("Root", Object::Reference(root_id));
    for k in [b"Info".as_slice(), b"ID".as_slice()] {
        if let Ok(v) = file.trailer.get(k) {
            trailer.set(k.to_vec(), v.clone());
        }
    }
    trailer.set("Prev", prev as i64);
    if classic {
        trailer.set("Size", i64::from(max_id.max(size.saturating_sub(1)) + 1));
        let xref_at = base + suffix.len();
        suffix.extend_from_slice(b"xref\n");
        for group in consecutive(&offsets) {
            let _ = writeln!(suffix, "{} {}", group[0].0.0, group.len());
            for (id, off) in group {
                let _ = writeln!(suffix, "{off:010} {:05} n\r", id.1);
            }
        }
        suffix.extend_from_slice(b"trailer\n");
        write_dict(&mut suffix, &trailer)?;
        let _ = writeln!(suffix, "\nstartxref\n{xref_at}\n%%EOF");
    } else {
        // The original ends with a cross-reference stream: continue with one.
        let xid = (max_id.max(size.saturating_sub(1)) + 1, 0u16);
        let xref_at = base + suffix.len();
        offsets.push((xid, xref_at));
        let mut data = Vec::new();
        let mut index = Vec::new();
        for group in consecutive(&offsets) {
            index.push(Object::Integer(i64::from(group[0].0.0)));
            index.push(Object::Integer(group.len() as i64));
            for (id, off) in group {
                data.push(1u8);
                data.extend_from_slice(
                    &u32::try_from(*off)
                        .map_err(|_| err("file larger than 4 GiB"))?
                        .to_be_bytes(),
                );
                data.extend_from_slice(&id.1.to_be_bytes());
            }
        }
        trailer.set("Type", Object::Name(b"XRef".to_vec()));
        trailer.set("Size", i64::from(xid.0 + 1));
        trailer.set("Index", Object::Array(index));
        trailer.set("W", Object::Array(vec![1.into(), 4.into(), 2.into()]));
        trailer.set("Length", data.len() as i64);
        let _ = writeln!(suffix, "{} 0 obj", xid.0);
        write_dict(&mut suffix, &trailer)?;
        suffix.extend_from_slice(b"\nstream\n");
        suffix.extend_from_slice(&data);
        suffix.extend_from_slice(b"\nendstream\nendobj\n");
        let _ = writeln!(suffix, "startxref\n{xref_at}\n%%EOF");
    }

    // Byte range: everything but the hex string of /Contents (delimiters included in the gap).
    let a = base + contents_pos - 1;
    let b = base + contents_pos + reserve * 2 + 1;
    let total = base + suffix.len();
    let br = format!("[0 {a} {b} {}]", total - b);
    let padded = format!("{br:<width$}", width = BYTE_RANGE_PLACEHOLDER.len());
    suffix[byte_range_pos..byte_range_pos + padded.len()].copy_from_slice(padded.as_bytes());

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

fn consecutive(offsets: &[(ObjectId, usize)]) -> Vec<&[(ObjectId, usize)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=offsets.len() {
        if i == offsets.len() || offsets[i].0.0 != offsets[i - 1].0.0 + 1 {
            out.push(&offsets[start..i]);
            start = i;
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::real;

    #[test]
    fn reals_are_short_and_exact_to_a_thousandth() {
        for (v, s) in [
            (0.0, "0"),
            (12.0, "12"),
            (-0.5, "-0.5"),
            (3.125, "3.125"),
            (595.276, "595.276"),
            (0.0004, "0"),
            (-0.0004, "0"),
            (1.23456, "1.235"),
            (-220.1, "-220.1"),
            (f32::NAN, "0"),
        ] {
            assert_eq!(real(v), s, "{v}");
        }
    }
}
