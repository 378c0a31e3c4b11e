//! Parsed identifiers: a value of these types is valid by construction.

use crate::DomainError;
use std::fmt;

/// The nine-digit identifier of a French legal entity: the subscriber (tenant) key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Siren(String);

impl Siren {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        if t.len() == 9 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(t.to_owned()))
        } else {
            Err(DomainError::InvalidSiren(s.chars().take(32).collect()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Siren {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A document id: a positive integer (a Java `long` on the server clients were written for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId(i64);

impl DocumentId {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s.trim().parse::<i64>() {
            Ok(v) if v > 0 => Ok(Self(v)),
            _ => Err(DomainError::InvalidDocumentId(s.chars().take(32).collect())),
        }
    }
    pub fn new(v: i64) -> Self {
        Self(v)
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An e-mail address, kept in lower case so that comparisons are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        let bad = || DomainError::InvalidEmail(s.chars().take(64).collect());
        if t.len() > 254 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = t.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || t.contains(['<', '>', ',', ';', '"', '(', ')', '[', ']', '\\'])
        {
            return Err(bad());
        }
        Ok(Self(t.to_lowercase()))
    }

    /// Parses a list separated by `,` or `;` (empty items ignored).
    pub fn parse_list(s: &str) -> Result<Vec<Self>, DomainError> {
        s.split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Self::parse)
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A circuit identifier as used in the FAST upload path (1 to 255 printable characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CircuitId(String);

impl CircuitId {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() || s.chars().count() > 255 || s.chars().any(|c| c.is_control()) {
            return Err(DomainError::InvalidCircuitId(s.chars().take(64).collect()));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CircuitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of an uploaded file: a single path component, never a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileName(String);

impl FileName {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::InvalidFileName(s.chars().take(64).collect());
        let t = s.trim();
        if t.is_empty()
            || t.chars().count() > 255
            || t == "."
            || t == ".."
            || t.contains(['/', '\\', '\0'])
            || t.chars().any(|c| c.is_control())
            || t.starts_with("..")
        {
            return Err(bad());
        }
        Ok(Self(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Lower-case extension after the last dot, if any.
    pub fn extension(&self) -> Option<String> {
        self.0
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .filter(|e| !e.is_empty())
    }
    /// `X.pdf.zip` → `Some("X.pdf")`: the name of the main document inside a deposit archive.
    pub fn inner_of_zip(&self) -> Option<&str> {
        let lower = self.0.to_ascii_lowercase();
        if lower.ends_with(".zip") {
            let inner = &self.0[..self.0.len() - 4];
            inner.contains('.').then_some(inner)
        } else {
            None
        }
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn siren_needs_nine_digits() {
        assert!(Siren::parse("123456789").is_ok());
        assert!(Siren::parse("12345678").is_err());
        assert!(Siren::parse("12345678a").is_err());
        assert!(Siren::parse("1234567890").is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" A@B.fr ").map(|e| e.0), Ok("a@b.fr".into()));
        for bad in [
            "", "a", "a@", "@b.fr", "a@b", "a b@c.fr", "a@b@c.fr", "a@.fr", "<a@b.fr>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let l = Email::parse_list("a@b.fr; c@d.fr ,,e@f.fr").map(|v| v.len());
        assert_eq!(l, Ok(3));
        assert!(Email::parse_list("a@b.fr;nope").is_err());
    }

    #[test]
    fn file_names_refuse_paths() {
        for bad in [
            "../etc/passwd",
            "a/b.pdf",
            "a\\b.pdf",
            "..",
            "",
            "..pdf",
            "a\u{0}.pdf",
        ] {
            assert!(FileName::parse(bad).is_err(), "{bad:?}");
        }
        let f = FileName::parse("Délibération 12.PDF").ok();
        assert_eq!(f.and_then(|f| f.extension()), Some("pdf".into()));
        let z = FileName::parse("acte.pdf.zip").ok();
        assert_eq!(z.as_ref().and_then(|z| z.inner_of_zip()), Some("acte.pdf"));
        let z = FileName::parse("acte.zip").ok();
        assert_eq!(z.as_ref().and_then(|z| z.inner_of_zip()), None);
    }

    proptest! {
        #[test]
        fn document_id_roundtrip(v in 1i64..i64::MAX) {
            prop_assert_eq!(DocumentId::parse(&v.to_string()).map(|d| d.get()), Ok(v));
        }

        #[test]
        fn parsed_file_names_are_single_components(s in "\\PC{0,40}") {
            if let Ok(f) = FileName::parse(&s) {
                prop_assert!(!f.as_str().contains('/') && !f.as_str().contains('\\'));
                prop_assert!(f.as_str() != ".." && f.as_str() != ".");
            }
        }

        #[test]
        fn siren_parse_never_panics(s in "\\PC{0,20}") {
            let _ = Siren::parse(&s);
        }
    }
}
