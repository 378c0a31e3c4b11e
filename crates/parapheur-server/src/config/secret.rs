//! Secrets of the configuration: given inline or read from the file a sibling `<key>_file` names.

use super::{KeyError, Problem};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};

/// The secret of `key`: its inline value, or the trimmed content of the file named by
/// `<key>_file`. Empty or absent: `None`; both set: an error naming `<key>_file`.
pub(super) fn secret(
    key: &str,
    inline: Option<SecretString>,
    file: Option<&Path>,
) -> Result<Option<SecretString>, KeyError> {
    let inline = inline.filter(|s| !s.expose_secret().is_empty());
    let file = file.filter(|p| !p.as_os_str().is_empty());
    let file_key = || format!("{key}_file");
    match (inline, file) {
        (Some(_), Some(_)) => Err(KeyError::new(
            file_key(),
            Problem::BothSet {
                key: key.rsplit('.').next().unwrap_or(key).to_owned(),
            },
        )),
        (Some(s), None) => Ok(Some(s)),
        (None, Some(path)) => {
            // Held as a secret from the start, so that the untrimmed copy is zeroized too.
            let text = SecretString::from(std::fs::read_to_string(path).map_err(|source| {
                KeyError::new(
                    file_key(),
                    Problem::SecretFile {
                        path: path.to_owned(),
                        source,
                    },
                )
            })?);
            let trimmed = text.expose_secret().trim();
            if trimmed.is_empty() {
                return Err(KeyError::new(
                    file_key(),
                    Problem::EmptySecretFile {
                        path: path.to_owned(),
                    },
                ));
            }
            Ok(Some(SecretString::from(trimmed)))
        }
        (None, None) => Ok(None),
    }
}

/// A path key: empty means unset.
pub(super) fn path(p: &str) -> Option<PathBuf> {
    (!p.is_empty()).then(|| PathBuf::from(p))
}

/// `database_url`: `sqlite://PATH` or `postgres://user:password@host/db`. It may carry a
/// password, so its `Debug` shows the scheme only.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub(super) fn new(url: SecretString) -> Self {
        Self(url)
    }

    /// The URL, for the database driver.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The file of a SQLite database (`sqlite://PATH[?options]`).
    pub fn sqlite_path(&self) -> Option<&Path> {
        let rest = self.expose().strip_prefix("sqlite://")?;
        Some(Path::new(rest.split('?').next().unwrap_or(rest)))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.expose().split("://").next().unwrap_or_default();
        write!(f, "DatabaseUrl({scheme}://[REDACTED])")
    }
}

impl PartialEq<&str> for DatabaseUrl {
    fn eq(&self, other: &&str) -> bool {
        self.expose() == *other
    }
}
