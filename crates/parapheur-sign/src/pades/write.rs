//! PDF serialisation of the objects a signature rewrites (never streams), and numbers written
//! short and exact to a thousandth.

use super::err;
use crate::SignError;
use chrono::{DateTime, Datelike, Offset, Timelike, Utc};
use lopdf::{Dictionary, Object};

/// Serializes a lopdf object (no streams: they are never rewritten here).
pub(super) fn write_obj(out: &mut Vec<u8>, o: &Object) -> Result<(), SignError> {
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

pub(super) fn write_dict(out: &mut Vec<u8>, d: &Dictionary) -> Result<(), SignError> {
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
pub(super) fn real(r: f32) -> String {
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

pub(super) fn pdf_date(t: &DateTime<Utc>) -> String {
    // Field by field: chrono's `format` parses its pattern again at every call.
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+00'00'",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The stamp's date line in the server's time zone: `le 05/12/2026 à 14:03:09 (UTC+01:00)`.
pub(super) fn stamp_date(t: &DateTime<Utc>) -> String {
    let local = t.with_timezone(&chrono::Local);
    let offset = local.offset().fix().local_minus_utc();
    let sign = if offset < 0 { '-' } else { '+' };
    let minutes = offset.unsigned_abs() / 60;
    format!(
        "le {:02}/{:02}/{:04} à {:02}:{:02}:{:02} (UTC{sign}{:02}:{:02})",
        local.day(),
        local.month(),
        local.year(),
        local.hour(),
        local.minute(),
        local.second(),
        minutes / 60,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{pdf_date, real, stamp_date};
    use chrono::TimeZone;

    /// The dates written field by field are chrono's formats of before, to the character.
    #[test]
    fn dates_are_chronos_formats() {
        for ms in [
            0_i64,
            1_765_000_000_123,
            1_751_328_000_000,
            4_102_444_799_000,
        ] {
            let t = chrono::Utc.timestamp_millis_opt(ms).unwrap();
            assert_eq!(pdf_date(&t), t.format("D:%Y%m%d%H%M%S+00'00'").to_string());
            assert_eq!(
                stamp_date(&t),
                t.with_timezone(&chrono::Local)
                    .format("le %d/%m/%Y à %H:%M:%S (UTC%:z)")
                    .to_string()
            );
        }
    }

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
