//! The appended revision laid out: the new objects, the cross-reference section (a table or a
//! stream, as the original ends), the trailer, and the byte range written over its placeholder.

use super::update::NewObjects;
use super::write::write_dict;
use super::{BYTE_RANGE_PLACEHOLDER, err};
use crate::SignError;
use crate::pdfread::PdfFile;
use lopdf::{Dictionary, Object, ObjectId};
use std::io::Write;

/// The bytes to append, with the hole for the CMS at `contents_pos` (`reserve * 2` hex digits).
pub(super) struct Revision {
    pub suffix: Vec<u8>,
    pub contents_pos: usize,
}

/// Lays out `objects` after `pdf` (read as `file`), with a hole of `reserve` bytes of CMS.
pub(super) fn lay_out(
    pdf: &[u8],
    file: &PdfFile,
    objects: NewObjects,
    reserve: usize,
) -> Result<Revision, SignError> {
    let NewObjects {
        mut bodies,
        root_id,
        sig,
    } = objects;
    let size = file.size;
    let base = pdf.len();
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
        if let Some(h) = sig.as_ref().filter(|h| h.sig_id == *id) {
            contents_pos = suffix.len() + h.contents_in_sig;
            byte_range_pos = suffix.len() + h.byte_range_in_sig;
            suffix.extend_from_slice(&body[..h.contents_in_sig]);
            suffix.resize(suffix.len() + reserve * 2, b'0');
            suffix.extend_from_slice(&body[h.contents_in_sig..]);
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

    if sig.is_none() {
        return Ok(Revision {
            suffix,
            contents_pos: 0,
        });
    }
    // Byte range: everything but the hex string of /Contents (delimiters included in the gap).
    let a = base + contents_pos - 1;
    let b = base + contents_pos + reserve * 2 + 1;
    let total = base + suffix.len();
    let br = format!("[0 {a} {b} {}]", total - b);
    let padded = format!("{br:<width$}", width = BYTE_RANGE_PLACEHOLDER.len());
    suffix[byte_range_pos..byte_range_pos + padded.len()].copy_from_slice(padded.as_bytes());
    Ok(Revision {
        suffix,
        contents_pos,
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
