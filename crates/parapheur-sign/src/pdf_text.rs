//! Text encodings PDF needs: WinAnsi for the standard fonts, UTF-16BE text strings.

/// Encodes text in WinAnsi (Latin-1 plus the usual typographic characters); others become '?'.
pub fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9C,
            'Œ' => 0x8C,
            'Ÿ' => 0x9F,
            c if (c as u32) < 0x80 && !c.is_control() => c as u8,
            c if (0xA0..=0xFF).contains(&(c as u32)) => c as u8,
            _ => b'?',
        })
        .collect()
}

/// A PDF text string as a hex literal: UTF-16BE with its byte-order mark (`<FEFF...>`).
pub fn text_string_hex(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(6 + 4 * s.len());
    out.push_str("<FEFF");
    for u in s.encode_utf16() {
        // Into the string itself: no string of its own for each character.
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}

/// Escapes bytes for a PDF literal string `( ... )`.
pub fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    out.push(b'(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.push(b')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(win_ansi("é€x"), vec![0xE9, 0x80, b'x']);
        assert_eq!(win_ansi("中"), b"?");
        assert_eq!(text_string_hex("é"), "<FEFF00E9>");
        assert_eq!(literal(b"a(b)\\"), b"(a\\(b\\)\\\\)".to_vec());
    }
}
