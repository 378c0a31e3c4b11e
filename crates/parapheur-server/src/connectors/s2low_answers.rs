//! Reading S²LOW's answers: the small XML documents (`<resultat>OK|KO</resultat>`...) of its API.

use quick_xml::events::Event;

/// An S²LOW answer that says KO or cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct S2lowAnswerError(pub String);

impl From<&str> for S2lowAnswerError {
    fn from(m: &str) -> Self {
        Self(m.to_owned())
    }
}

impl From<String> for S2lowAnswerError {
    fn from(m: String) -> Self {
        Self(m)
    }
}

/// The `<pes_retour><id/><nom/></pes_retour>` entries of S²LOW's `helios_get_list.php` answer.
pub fn s2low_pes_retour_list(body: &[u8]) -> Result<Vec<(String, String)>, S2lowAnswerError> {
    let text = String::from_utf8_lossy(body);
    let mut r = quick_xml::Reader::from_str(&text);
    let mut out = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let (mut id, mut name, mut result) = (String::new(), String::new(), String::new());
    loop {
        match r.read_event() {
            Ok(Event::DocType(_)) => return Err("DOCTYPE in the answer".into()),
            Ok(Event::Start(e)) => {
                path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Ok(Event::End(_)) => {
                if path.last().map(String::as_str) == Some("pes_retour") && path.len() == 2 {
                    if !id.trim().is_empty() {
                        out.push((id.trim().to_owned(), name.trim().to_owned()));
                    }
                    id.clear();
                    name.clear();
                }
                path.pop();
            }
            Ok(Event::Text(t)) => {
                let v = t.decode().map(|c| c.into_owned()).unwrap_or_default();
                match (path.len(), path.last().map(String::as_str)) {
                    (2, Some("resultat")) => result.push_str(&v),
                    (3, Some("id")) if path[1] == "pes_retour" => id.push_str(&v),
                    (3, Some("nom")) if path[1] == "pes_retour" => name.push_str(&v),
                    _ => {}
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("unreadable answer: {e}").into()),
        }
    }
    if result.trim() == "KO" {
        return Err("S²LOW answered KO".into());
    }
    Ok(out)
}

/// The text of the first-level children of an S²LOW XML answer (`resultat`, `id`, `status`,
/// `message`...). Anything that is not XML (e.g. `KO\nÉchec de l'authentification`) is an error.
pub fn s2low_fields(
    body: &[u8],
) -> Result<std::collections::HashMap<String, String>, S2lowAnswerError> {
    let text = String::from_utf8_lossy(body);
    if !text.trim_start().starts_with('<') {
        let rest = text.lines().skip(1).collect::<Vec<_>>().join(" ");
        let rest = rest.trim();
        return Err(S2lowAnswerError(if rest.is_empty() {
            text.trim().to_owned()
        } else {
            rest.to_owned()
        }));
    }
    let mut r = quick_xml::Reader::from_str(&text);
    let mut depth = 0usize;
    let mut current = String::new();
    let mut out = std::collections::HashMap::new();
    loop {
        match r.read_event() {
            Ok(Event::DocType(_)) => return Err("DOCTYPE in the answer".into()),
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth == 2 {
                    current = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    out.insert(current.clone(), String::new());
                }
            }
            Ok(Event::Empty(e)) if depth == 1 => {
                out.insert(
                    String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    String::new(),
                );
            }
            Ok(Event::Text(t)) if depth == 2 => {
                let v = t.decode().map(|c| c.into_owned()).unwrap_or_default();
                if let Some(slot) = out.get_mut(&current) {
                    slot.push_str(&v);
                }
            }
            Ok(Event::GeneralRef(g)) if depth == 2 => {
                let name: &[u8] = &g;
                let v: Option<char> = match name {
                    b"amp" => Some('&'),
                    b"lt" => Some('<'),
                    b"gt" => Some('>'),
                    b"quot" => Some('"'),
                    b"apos" => Some('\''),
                    [b'#', b'x' | b'X', hex @ ..] => std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32),
                    [b'#', dec @ ..] => std::str::from_utf8(dec)
                        .ok()
                        .and_then(|d| d.parse::<u32>().ok())
                        .and_then(char::from_u32),
                    _ => None,
                };
                if let (Some(slot), Some(c)) = (out.get_mut(&current), v) {
                    slot.push(c);
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("malformed answer: {e}").into()),
        }
    }
    Ok(out)
}
