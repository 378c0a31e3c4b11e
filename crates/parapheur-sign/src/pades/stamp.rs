//! The visible stamp: where it goes on the page and its appearance stream (signer, role, date,
//! reason, in Helvetica with WinAnsi encoding).

use super::SignOptions;
use super::write::{real, stamp_date};
use crate::pdf_text::{literal, win_ansi};
use crate::pdfread::PdfFile;
use lopdf::{Object, ObjectId};
use std::io::Write;

fn number(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

/// The page's MediaBox, inherited from its parents when absent.
pub(super) fn media_box(file: &PdfFile, page: ObjectId) -> [f32; 4] {
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

/// The appearance stream of the visible stamp.
pub(super) fn appearance(opts: &SignOptions, w: f32, h: f32) -> Vec<u8> {
    let mut lines = vec![
        "Signé électroniquement par".to_owned(),
        opts.signer_name.clone(),
    ];
    if let Some(r) = opts.role.as_deref().filter(|r| !r.is_empty()) {
        lines.push(r.to_owned());
    }
    lines.push(stamp_date(&opts.time));
    if let Some(r) = opts.reason.as_deref().filter(|r| !r.is_empty()) {
        lines.push(format!("Motif : {r}"));
    }
    if let Some(c) = opts.verification_code.as_deref().filter(|c| !c.is_empty()) {
        lines.push(format!("Vérification : {c}"));
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
