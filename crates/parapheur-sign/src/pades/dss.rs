//! The Document Security Store of PAdES B-LT (ETSI EN 319 142-1 §5.4, ISO 32000-2 §12.8.4.3): the
//! certificates, OCSP responses and CRLs a validator needs, appended as an incremental update so
//! that the signatures before it stay valid. An existing DSS is extended, never rewritten away.

use super::err;
use super::layout;
use super::update::NewObjects;
use super::write::write_obj;
use crate::SignError;
use crate::pdfcheck::Limits;
use crate::pdfread::PdfFile;
use lopdf::{Dictionary, Object, ObjectId};
use std::io::Write;

/// What a DSS update adds (each item DER-encoded).
#[derive(Debug, Clone, Default)]
pub struct ValidationData {
    pub certificates: Vec<Vec<u8>>,
    pub ocsp_responses: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

/// The bytes to append to `pdf` so that its DSS holds `data` besides what it held. Items given
/// twice are written once.
pub fn dss_suffix(
    pdf: &[u8],
    data: &ValidationData,
    limits: &Limits,
) -> Result<Vec<u8>, SignError> {
    let file = PdfFile::open_with(pdf, limits)?;
    if file.trailer.get(b"Encrypt").is_ok() {
        return Err(err("encrypted PDFs cannot be updated"));
    }
    let root_id = file.root()?;
    let mut catalog = file.dictionary(root_id)?;
    let mut next = file.size.max(1);
    let mut alloc = || {
        let id = (next, 0u16);
        next += 1;
        id
    };
    let mut bodies: Vec<(ObjectId, Vec<u8>)> = Vec::new();

    // The existing store, inline or referenced.
    let (dss_id, mut dss) = match catalog.get(b"DSS").ok().cloned() {
        Some(Object::Reference(id)) => (Some(id), file.dictionary(id)?),
        Some(Object::Dictionary(d)) => (None, d),
        _ => (None, Dictionary::new()),
    };
    for (key, items) in [
        (b"Certs".as_slice(), &data.certificates),
        (b"OCSPs".as_slice(), &data.ocsp_responses),
        (b"CRLs".as_slice(), &data.crls),
    ] {
        let mut array = match dss.get(key) {
            Ok(o) => match file.resolve(o)? {
                Object::Array(a) => a,
                _ => return Err(err("a DSS entry is not an array")),
            },
            Err(_) => Vec::new(),
        };
        let mut seen: Vec<&[u8]> = Vec::new();
        for item in items {
            if item.is_empty() || seen.contains(&item.as_slice()) {
                continue;
            }
            seen.push(item);
            let id = alloc();
            let mut b = Vec::with_capacity(item.len() + 40);
            let _ = write!(b, "<</Length {}>>\nstream\n", item.len());
            b.extend_from_slice(item);
            b.extend_from_slice(b"\nendstream");
            bodies.push((id, b));
            array.push(Object::Reference(id));
        }
        if !array.is_empty() {
            dss.set(key.to_vec(), Object::Array(array));
        }
    }
    if bodies.is_empty() {
        return Err(err("no validation data to add"));
    }
    let dss_id = match dss_id {
        Some(id) => id,
        None => {
            let id = alloc();
            catalog.set("DSS", Object::Reference(id));
            let mut b = Vec::new();
            write_obj(&mut b, &Object::Dictionary(catalog))?;
            bodies.push((root_id, b));
            id
        }
    };
    let mut b = Vec::new();
    write_obj(&mut b, &Object::Dictionary(dss))?;
    bodies.push((dss_id, b));
    let revision = layout::lay_out(
        pdf,
        &file,
        NewObjects {
            bodies,
            root_id,
            sig: None,
        },
        0,
    )?;
    Ok(revision.suffix)
}
