//! PES_Aller files of Helios circuits: the structure checked at deposit, and the file name
//! (`NomFic`) a subscriber may deposit only once. Parsed without DTDs or entities.

use crate::DomainError;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// What a deposit needs to know of a PES_Aller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PesSummary {
    /// `Enveloppe/Parametres/NomFic/@V`.
    pub nomfic: String,
    /// Number of `Bordereau` (and `PES_PJ`) elements.
    pub parts: usize,
}

fn err(m: impl Into<String>) -> DomainError {
    DomainError::InvalidPes(m.into())
}

fn local(name: &[u8]) -> &[u8] {
    name.rsplit(|b| *b == b':').next().unwrap_or(name)
}

fn attr_v(e: &BytesStart<'_>) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == b"V")
        .map(|a| {
            // PES files are ISO-8859-1: keep each byte as its Latin-1 character.
            a.value.iter().map(|b| char::from(*b)).collect::<String>()
        })
}

/// The SIREN of the collectivité a PES file (Aller, Retour, Acquit) is about: the first nine
/// digits of `EnTetePES/IdColl/@V` (a SIRET). `None` when the file has no such element, is not
/// well-formed, or carries a DOCTYPE.
pub fn collectivity_siren(xml: &[u8]) -> Option<String> {
    let mut r = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut in_entete = false;
    loop {
        match r.read_event_into(&mut buf).ok()? {
            Event::DocType(_) | Event::Eof => return None,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name();
                match local(name.as_ref()) {
                    b"EnTetePES" => in_entete = true,
                    b"IdColl" if in_entete => {
                        let v: String = attr_v(e)?.chars().filter(char::is_ascii_digit).collect();
                        return (v.len() >= 9).then(|| v[..9].to_owned());
                    }
                    _ => {}
                }
            }
            Event::End(ref e) if local(e.name().as_ref()) == b"EnTetePES" => in_entete = false,
            _ => {}
        }
        buf.clear();
    }
}

/// Checks that `xml` is a PES_Aller: well-formed, no DOCTYPE, root `PES_Aller`, an
/// `Enveloppe` with a non-empty `NomFic`, an `EnTetePES`, and at least one `Bordereau` or
/// `PES_PJ`.
pub fn inspect_pes_aller(xml: &[u8]) -> Result<PesSummary, DomainError> {
    let mut r = Reader::from_reader(xml);
    r.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut path: Vec<Vec<u8>> = Vec::new();
    let (mut enveloppe, mut entete, mut parts) = (false, false, 0usize);
    let mut nomfic: Option<String> = None;
    let mut root_seen = false;
    loop {
        let ev = r
            .read_event_into(&mut buf)
            .map_err(|e| err(format!("malformed XML: {e}")))?;
        match ev {
            Event::DocType(_) => return Err(err("a DOCTYPE is not allowed")),
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = local(e.name().as_ref()).to_vec();
                if path.is_empty() {
                    if root_seen {
                        return Err(err("more than one root element"));
                    }
                    root_seen = true;
                    if name != b"PES_Aller" {
                        return Err(err(format!(
                            "the root element is <{}>, not <PES_Aller>",
                            String::from_utf8_lossy(&name)
                        )));
                    }
                }
                match name.as_slice() {
                    b"Enveloppe" if path.len() == 1 => enveloppe = true,
                    b"EnTetePES" if path.len() == 1 => entete = true,
                    b"Bordereau" | b"PES_PJ" => parts += 1,
                    b"NomFic" if path.iter().any(|p| p == b"Enveloppe") => {
                        nomfic = attr_v(e);
                    }
                    _ => {}
                }
                if matches!(ev, Event::Start(_)) {
                    path.push(name);
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !root_seen {
        return Err(err("no <PES_Aller> element"));
    }
    if !path.is_empty() {
        return Err(err("truncated XML: unclosed element"));
    }
    if !enveloppe {
        return Err(err("no <Enveloppe>"));
    }
    if !entete {
        return Err(err("no <EnTetePES>"));
    }
    if parts == 0 {
        return Err(err("no <Bordereau> nor <PES_PJ>"));
    }
    let nomfic = nomfic
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| err("no NomFic in <Enveloppe><Parametres>"))?;
    if nomfic.chars().count() > 255 {
        return Err(err("NomFic longer than 255 characters"));
    }
    Ok(PesSummary { nomfic, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collectivity_comes_from_the_header_siret() {
        let retour = br#"<?xml version="1.0" encoding="ISO-8859-1"?>
<PES_Retour><Enveloppe><Parametres><NomFic V="PES_RETOUR_1"/></Parametres></Enveloppe>
<EnTetePES><DteStr V="2026-11-27"/><IdPost V="012345"/><IdColl V="20000000100017"/></EnTetePES>
<IdColl V="99999999900000"/></PES_Retour>"#;
        assert_eq!(collectivity_siren(retour).as_deref(), Some("200000001"));
        assert_eq!(
            collectivity_siren(b"<PES_Retour><IdColl V=\"200000001\"/></PES_Retour>"),
            None
        );
        assert_eq!(
            collectivity_siren(b"<!DOCTYPE x><PES_Retour><EnTetePES><IdColl V=\"20000000100017\"/></EnTetePES></PES_Retour>"),
            None
        );
        assert_eq!(
            collectivity_siren(
                b"<PES_Retour><EnTetePES><IdColl V=\"1234\"/></EnTetePES></PES_Retour>"
            ),
            None
        );
    }

    const OK: &str = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<n:PES_Aller xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller">
<Enveloppe><Parametres><Version V="2"/><NomFic V="PESALR2_1"/></Parametres></Enveloppe>
<EnTetePES><IdPost V="042000"/></EnTetePES>
<PES_DepenseAller><Bordereau Id="B1"><BlocBordereau/></Bordereau></PES_DepenseAller>
</n:PES_Aller>"#;

    #[test]
    fn accepts_a_pes_aller_and_reads_its_name() {
        let s = inspect_pes_aller(OK.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.nomfic, "PESALR2_1");
        assert_eq!(s.parts, 1);
    }

    #[test]
    fn refuses_what_is_not_one() {
        let cases = [
            OK.replace("<Bordereau Id=\"B1\"><BlocBordereau/></Bordereau>", ""),
            OK.replace("<NomFic V=\"PESALR2_1\"/>", ""),
            OK.replace("<NomFic V=\"PESALR2_1\"/>", "<NomFic V=\"  \"/>"),
            OK.replace("<EnTetePES><IdPost V=\"042000\"/></EnTetePES>", ""),
            OK.replace("n:PES_Aller", "n:PES_Retour"),
            OK.replace("</n:PES_Aller>", ""),
            OK.replace(
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
                "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
            ),
            "<PES_Aller>".into(),
        ];
        for c in cases {
            assert!(inspect_pes_aller(c.as_bytes()).is_err(), "accepted: {c}");
        }
    }
}
