//! OTP signing: the signers of the `OTP_*_<n>` metadata, phone numbers, and the one-time code
//! rules (validity, attempts, hourly limit).

use crate::DomainError;
use crate::metadata::MetaData;
use std::collections::BTreeMap;

/// How long a code may be used.
pub const CODE_VALIDITY_MS: i64 = 10 * 60 * 1000;
/// Wrong codes before a code is locked.
pub const MAX_FAILURES: i64 = 3;
/// Codes sent per document in a sliding hour.
pub const MAX_CODES_PER_HOUR: i64 = 5;

/// The signer of the `n`-th OTPSignature step of a circuit (n from 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OtpSignerInfo {
    pub ordinal: usize,
    pub first_name: String,
    pub last_name: String,
    /// International form (`+33612345678`), or empty.
    pub phone: String,
    /// Lower-case, or empty.
    pub email: String,
}

impl OtpSignerInfo {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
    /// Where the code goes: the phone, else the e-mail (the same for identical signers).
    pub fn contact_key(&self) -> (String, String) {
        (self.phone.clone(), self.email.clone())
    }
}

fn err(m: impl Into<String>) -> DomainError {
    DomainError::InvalidMetadata(m.into())
}

/// Normalises a phone number to the international form. French national numbers
/// (`0612345678`) become `+33612345678`; `0033…` becomes `+33…`; separators are dropped.
pub fn normalize_phone(raw: &str) -> Result<String, DomainError> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let intl = if let Some(rest) = compact.strip_prefix('+') {
        rest.to_owned()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_owned()
    } else if compact.len() == 10 && compact.starts_with('0') {
        format!("33{}", &compact[1..])
    } else {
        return Err(err(format!("invalid phone number {raw:?}")));
    };
    if !digits(&intl) || !(8..=15).contains(&intl.len()) || intl.starts_with('0') {
        return Err(err(format!("invalid phone number {raw:?}")));
    }
    Ok(format!("+{intl}"))
}

/// The phone as shown in evidence: the country code and the last two digits only
/// (`+33612345678` → `+336******78`).
pub fn mask_phone(phone: &str) -> String {
    let n = phone.chars().count();
    if n <= 6 {
        return "*".repeat(n);
    }
    phone
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 4 || i >= n - 2 { c } else { '*' })
        .collect()
}

/// The e-mail as shown in evidence: `j***@mail.fr`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Reads the OTP signers from a `meta-data-list` (`OTP_firstname_0`, `OTP_lastname_0`,
/// `OTP_phonenumber_0`, `OTP_email_0`, then `_1`...). Each signer needs a phone or an e-mail
/// to receive the code. Other names are refused, so a typo does not go unnoticed.
pub fn parse_otp_signers(items: &[MetaData]) -> Result<Vec<OtpSignerInfo>, DomainError> {
    let mut by_index: BTreeMap<usize, OtpSignerInfo> = BTreeMap::new();
    for m in items {
        let lower = m.name.to_ascii_lowercase();
        let (field, idx) = lower
            .strip_prefix("otp_")
            .and_then(|r| r.rsplit_once('_'))
            .ok_or_else(|| err(format!("unexpected OTP information {:?}", m.name)))?;
        let idx: usize = idx
            .parse()
            .ok()
            .filter(|i| *i < 100)
            .ok_or_else(|| err(format!("invalid OTP step index in {:?}", m.name)))?;
        let s = by_index.entry(idx).or_insert_with(|| OtpSignerInfo {
            ordinal: idx,
            ..OtpSignerInfo::default()
        });
        let v = m.value.trim();
        match field {
            "firstname" => s.first_name = v.to_owned(),
            "lastname" => s.last_name = v.to_owned(),
            "phonenumber" | "phone" => {
                s.phone = if v.is_empty() {
                    String::new()
                } else {
                    normalize_phone(v)?
                }
            }
            "email" | "mail" => {
                s.email = if v.is_empty() {
                    String::new()
                } else {
                    crate::Email::parse(v)?.as_str().to_owned()
                }
            }
            _ => return Err(err(format!("unexpected OTP information {:?}", m.name))),
        }
    }
    if by_index.is_empty() {
        return Err(err(
            "no OTP information (OTP_firstname_0, OTP_phonenumber_0...)",
        ));
    }
    for s in by_index.values() {
        if s.phone.is_empty() && s.email.is_empty() {
            return Err(err(format!(
                "OTP signer {} has neither a phone number nor an e-mail",
                s.ordinal
            )));
        }
    }
    Ok(by_index.into_values().collect())
}

/// Why a code cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    /// No code was sent, or it was replaced or already used.
    NoCode,
    Expired,
    Locked,
}

/// The state of the latest code of a link at `now`.
pub fn code_status(
    used: bool,
    failures: i64,
    expires_at: i64,
    now: i64,
) -> Result<(), CodeProblem> {
    if used {
        Err(CodeProblem::NoCode)
    } else if failures >= MAX_FAILURES {
        Err(CodeProblem::Locked)
    } else if now >= expires_at {
        Err(CodeProblem::Expired)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(name: &str, value: &str) -> MetaData {
        MetaData {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn phones() {
        assert_eq!(
            normalize_phone("06 06 06 06 06").as_deref(),
            Ok("+33606060606")
        );
        assert_eq!(
            normalize_phone("0033606060606").as_deref(),
            Ok("+33606060606")
        );
        assert_eq!(
            normalize_phone("+32 470 12 34 56").as_deref(),
            Ok("+32470123456")
        );
        assert!(normalize_phone("12345").is_err());
        assert!(normalize_phone("06060606ab").is_err());
        assert!(normalize_phone("+0606").is_err());
        assert_eq!(mask_phone("+33606060678"), "+336******78");
        assert_eq!(mask_email("john.doe@mail.fr"), "j***@mail.fr");
    }

    #[test]
    fn signers_by_index() {
        let s = parse_otp_signers(&[
            md("OTP_firstname_0", "John"),
            md("OTP_lastname_0", "Doe"),
            md("OTP_phonenumber_0", "0606060606"),
            md("OTP_email_0", "John.Doe@Mail.fr"),
            md("OTP_firstname_1", "Ann"),
            md("OTP_email_1", "ann@mail.fr"),
            md("OTP_phonenumber_1", ""),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].full_name(), "John Doe");
        assert_eq!(s[0].phone, "+33606060606");
        assert_eq!(s[0].email, "john.doe@mail.fr");
        assert_eq!(s[1].phone, "");
        assert!(
            parse_otp_signers(&[md("OTP_firstname_0", "x")]).is_err(),
            "no contact"
        );
        assert!(parse_otp_signers(&[md("TEXT_001", "x")]).is_err());
        assert!(parse_otp_signers(&[md("OTP_phonenumber_x", "0606060606")]).is_err());
        assert!(parse_otp_signers(&[]).is_err());
    }

    #[test]
    fn code_rules() {
        assert_eq!(code_status(false, 0, 100, 50), Ok(()));
        assert_eq!(code_status(false, 2, 100, 50), Ok(()));
        assert_eq!(code_status(false, 3, 100, 50), Err(CodeProblem::Locked));
        assert_eq!(code_status(false, 0, 100, 100), Err(CodeProblem::Expired));
        assert_eq!(code_status(true, 0, 100, 50), Err(CodeProblem::NoCode));
    }
}
