//! `parapheur check-config` (issue 21): the configuration parsed as `serve` parses it, the
//! files it names read and parsed, and the provisioning applied to a throwaway database (the
//! checks of a real `provision`, nothing written where the server keeps its data). Prints the
//! effective configuration with every secret redacted.

use crate::config::Config;
use std::path::Path;

/// What the check found: one line per item, and whether everything is right.
pub struct Checked {
    pub lines: Vec<String>,
    pub ok: bool,
}

impl Checked {
    fn pass(&mut self, what: String) {
        self.lines.push(format!("ok      {what}"));
    }
    fn fail(&mut self, what: String) {
        self.ok = false;
        self.lines.push(format!("ERROR   {what}"));
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Checks `cfg` (already parsed: its keys are valid).
pub async fn check(cfg: &Config) -> Checked {
    let mut c = Checked {
        lines: Vec::new(),
        ok: true,
    };
    let pem_certs = |path: &Path| -> Result<usize, String> {
        let bytes = read(path)?;
        let certs = openssl::x509::X509::stack_from_pem(&bytes)
            .map_err(|e| format!("{}: not PEM certificates ({e})", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no certificate", path.display()));
        }
        Ok(certs.len())
    };
    for (key, value) in [
        ("tls.cert", &cfg.tls.cert),
        ("tls.client_ca", &cfg.tls.client_ca),
    ] {
        if !value.is_empty() {
            match pem_certs(Path::new(value)) {
                Ok(n) => c.pass(format!("{key}: {n} certificate(s) in {value}")),
                Err(e) => c.fail(format!("{key}: {e}")),
            }
        }
    }
    if !cfg.tls.key.is_empty() {
        match read(Path::new(&cfg.tls.key)).and_then(|b| {
            openssl::pkey::PKey::private_key_from_pem(&b)
                .map_err(|e| format!("{}: not a PEM private key ({e})", cfg.tls.key))
        }) {
            Ok(_) => c.pass(format!("tls.key: a private key in {}", cfg.tls.key)),
            Err(e) => c.fail(format!("tls.key: {e}")),
        }
    }
    if !cfg.tls.crl.is_empty() {
        match read(Path::new(&cfg.tls.crl)).and_then(|b| {
            openssl::x509::X509Crl::from_pem(&b)
                .map_err(|e| format!("{}: not a PEM CRL ({e})", cfg.tls.crl))
        }) {
            Ok(_) => c.pass(format!("tls.crl: {}", cfg.tls.crl)),
            Err(e) => c.fail(format!("tls.crl: {e}")),
        }
    }
    if let Some(p) = &cfg.signing.trust_anchors {
        match pem_certs(p) {
            Ok(n) => c.pass(format!(
                "signing.trust_anchors: {n} certificate(s) in {}",
                p.display()
            )),
            Err(e) => c.fail(format!("signing.trust_anchors: {e}")),
        }
    }
    if let Some(p) = &cfg.signing.trusted_list {
        match crate::pki::read_trusted_list(p) {
            Ok(l) => c.pass(format!(
                "signing.trusted_list: {} ({} CA(s), {} timestamp authorities, {} service(s) left out)",
                l.territory.as_deref().unwrap_or("?"),
                l.signer_anchors.len(),
                l.tsa_anchors.len(),
                l.skipped
            )),
            Err(e) => c.fail(format!("signing.trusted_list: {e}")),
        }
    }
    if let Some(p) = &cfg.provision {
        match dry_run(cfg, p).await {
            Ok(summary) => c.pass(format!("provision: {} ({summary})", p.display())),
            Err(e) => c.fail(format!("provision: {e}")),
        }
    }
    c
}

/// Applies the provisioning `path` to a throwaway SQLite database: every check `provision`
/// makes, nothing written where the server keeps its data.
async fn dry_run(cfg: &Config, path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let p = crate::provision::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let summary = format!(
        "{} subscriber(s), {} user(s), {} circuit(s), {} webhook(s)",
        p.subscribers.len(),
        p.users.len(),
        p.circuits.len(),
        p.webhooks.len()
    );
    let scratch = tempfile::tempdir().map_err(|e| format!("a scratch directory: {e}"))?;
    let url = format!("sqlite://{}/check.db", scratch.path().display());
    let db = parapheur_store::Db::connect(&url)
        .await
        .map_err(|e| format!("a scratch database: {e}"))?;
    let pki = crate::pki::Pki::open(
        &db,
        scratch.path(),
        None,
        None,
        &cfg.public_url,
        parapheur_sign::ca::KeyProtection::default(),
    )
    .await
    .map_err(|e| format!("a scratch CA: {e}"))?;
    crate::provision::apply_file(&db, &pki, path)
        .await
        .map_err(|e| e.to_string())?;
    Ok(summary)
}
