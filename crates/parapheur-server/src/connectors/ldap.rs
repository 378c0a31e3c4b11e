//! The LDAP / Active Directory connector (issue 21, CONTRACT §13): the users a directory lists
//! under `base_dn` matching `user_filter`, read with a simple bind (`ldap3`), as the entries of
//! a user synchronisation (`mail`, `givenName`, `sn`; `cn` when a name part is missing).

use crate::config::LdapConfig;
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use secrecy::ExposeSecret;
use std::time::Duration;

/// A user the directory lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Debug, thiserror::Error)]
#[error("LDAP {url}: {source}")]
pub struct LdapError {
    url: String,
    #[source]
    source: ldap3::LdapError,
}

/// At most this many entries are read (a synchronisation takes 10 000 users).
const MAX_ENTRIES: usize = 10_000;

/// The directory's users, or why they could not be read.
pub async fn users(cfg: &LdapConfig) -> Result<Vec<DirectoryUser>, LdapError> {
    let err = |source| LdapError {
        url: cfg.url.clone(),
        source,
    };
    let settings = LdapConnSettings::new().set_conn_timeout(Duration::from_secs(10));
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &cfg.url)
        .await
        .map_err(err)?;
    ldap3::drive!(conn);
    ldap.with_timeout(Duration::from_secs(30));
    let password = cfg
        .bind_password
        .as_ref()
        .map(|p| p.expose_secret().to_owned())
        .unwrap_or_default();
    ldap.simple_bind(&cfg.bind_dn, &password)
        .await
        .and_then(|r| r.success())
        .map_err(err)?;
    let (entries, _) = ldap
        .search(
            &cfg.base_dn,
            Scope::Subtree,
            &cfg.user_filter,
            vec!["mail", "givenName", "sn", "cn"],
        )
        .await
        .and_then(|r| r.success())
        .map_err(err)?;
    let _ = ldap.unbind().await;
    let first = |e: &SearchEntry, k: &str| {
        e.attrs
            .get(k)
            .and_then(|v| v.first())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    Ok(entries
        .into_iter()
        .take(MAX_ENTRIES)
        .map(SearchEntry::construct)
        .filter_map(|e| {
            let email = first(&e, "mail");
            if email.is_empty() {
                return None;
            }
            let cn = first(&e, "cn");
            let mut first_name = first(&e, "givenName");
            let mut last_name = first(&e, "sn");
            if first_name.is_empty() {
                first_name = cn.split_whitespace().next().unwrap_or_default().to_owned();
            }
            if last_name.is_empty() {
                last_name = cn.clone();
            }
            Some(DirectoryUser {
                email,
                first_name,
                last_name,
            })
        })
        .collect())
}
