//! `parapheur demo`: a built-in provisioning (one subscriber, a user per role, a circuit of
//! each type), a sample PDF, and a ready-to-paste `curl` example.

use crate::config::Config;
use crate::provision;
use anyhow::Context;
use std::path::Path;

pub const SIREN: &str = "123456789";

/// The OTP information of the demo's OTP deposit (a fictitious signer).
const DEMO_OTP_META: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<meta-data-list>
  <meta-data name="OTP_firstname_0" value="Camille"/>
  <meta-data name="OTP_lastname_0" value="Exemple"/>
  <meta-data name="OTP_phonenumber_0" value="0600000000"/>
  <meta-data name="OTP_email_0" value="camille.exemple@demo.parapheur.fr"/>
</meta-data-list>
"#;

/// The demo provisioning, in the provisioning file format.
pub const PROVISIONING: &str = r#"
[[subscribers]]
siren = "123456789"
name  = "Commune de Démonstration"

[[users]]
email = "admin@demo.parapheur.fr"
first_name = "Adèle"
last_name = "Admin"
password = "admin-demo"
subscribers = ["123456789"]
roles = ["admin"]

[[users]]
email = "depot@demo.parapheur.fr"
first_name = "Denis"
last_name = "Dépôt"
password = "depot-demo"
subscribers = ["123456789"]
groups = ["Secrétariat"]

[[users]]
email = "valideur@demo.parapheur.fr"
first_name = "Valérie"
last_name = "Valideur"
password = "valideur-demo"
subscribers = ["123456789"]
groups = ["Direction générale"]

[[users]]
email = "signataire@demo.parapheur.fr"
first_name = "Serge"
last_name = "Signataire"
password = "signataire-demo"
subscribers = ["123456789"]
groups = ["Élus"]

[[users]]
email = "agent@demo.parapheur.fr"
first_name = "Agathe"
last_name = "Agent"
password = "agent-demo"
subscribers = ["123456789"]

[[circuits]]
siren = "123456789"
id = "DELIBERATIONS"
type = "BUREAUTIQUE_PDF"
depositors = ["depot@demo.parapheur.fr", "admin@demo.parapheur.fr"]
steps = [
  { step = "visa", members = ["valideur@demo.parapheur.fr"] },
  { step = "signature", members = ["signataire@demo.parapheur.fr"] },
]

[[circuits]]
siren = "123456789"
id = "VISA"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "visa", members = ["valideur@demo.parapheur.fr"] } ]

[[circuits]]
siren = "123456789"
id = "CONVENTIONS_XML"
type = "BUREAUTIQUE_XML"
steps = [ { step = "signature", members = ["signataire@demo.parapheur.fr"] } ]

[[circuits]]
siren = "123456789"
id = "PES_AVEC_TELETRANSMISSION"
type = "HELIOS_AVEC_TELETRANSMISSION"
steps = [ { step = "signature", members = ["signataire@demo.parapheur.fr"] } ]

[[circuits]]
siren = "123456789"
id = "PES_SANS_TELETRANSMISSION"
type = "HELIOS_SANS_TELETRANSMISSION"
steps = [ { step = "signature", members = ["signataire@demo.parapheur.fr"] } ]

[[circuits]]
siren = "123456789"
id = "OTP"
type = "BUREAUTIQUE_PDF"
steps = [ { step = "OTPSignature" } ]

[[circuits]]
siren = "123456789"
id = "AVEC_METADONNEES"
type = "BUREAUTIQUE_PDF"
metadata = true
steps = [ { step = "visa", members = ["valideur@demo.parapheur.fr"] } ]
"#;

/// Applies the demo provisioning and writes the sample PDF; returns the text to print.
pub async fn prepare(
    cfg: &Config,
    db: &parapheur_store::Db,
    pki: &crate::pki::Pki,
) -> anyhow::Result<String> {
    let p = provision::parse(PROVISIONING).context("built-in demo provisioning")?;
    provision::apply(db, pki, &p, Path::new("."))
        .await
        .context("built-in demo provisioning")?;
    let pdf_path = cfg.data_dir.join("demo.pdf");
    let pdf = crate::pdfgen::text_pdf(
        "Délibération n° 2026-042 (démonstration)",
        &[
            "Le conseil municipal, après en avoir délibéré, approuve la convention de démonstration.",
            "Document généré par parapheur demo.",
        ],
    )?;
    std::fs::write(&pdf_path, pdf).with_context(|| format!("writing {}", pdf_path.display()))?;
    let pdf_abs = std::fs::canonicalize(&pdf_path).unwrap_or(pdf_path);
    let otp_path = cfg.data_dir.join("demo-otp.xml");
    std::fs::write(&otp_path, DEMO_OTP_META)
        .with_context(|| format!("writing {}", otp_path.display()))?;
    let otp_abs = std::fs::canonicalize(&otp_path).unwrap_or(otp_path);
    let base = format!(
        "{}/parapheur-ws/rest/v1",
        cfg.public_url.trim_end_matches('/')
    );
    Ok(format!(
        r#"parapheur demo: subscriber {SIREN} "Commune de Démonstration"
  FAST REST API : {base}/
  native API    : {public}/api/v1/tasks
  portal        : {public}/parapheur/ (log in with an account below)
  data          : {data}

Accounts (HTTP Basic, e-mail:password):
  admin@demo.parapheur.fr:admin-demo            administrator
  depot@demo.parapheur.fr:depot-demo            depositor
  valideur@demo.parapheur.fr:valideur-demo      visa member of DELIBERATIONS
  signataire@demo.parapheur.fr:signataire-demo  signature member of DELIBERATIONS
Circuits: DELIBERATIONS (visa, signature), VISA, CONVENTIONS_XML, PES_AVEC_TELETRANSMISSION,
          PES_SANS_TELETRANSMISSION, OTP, AVEC_METADONNEES

Try it (deposit a PDF, read its history, approve it, sign it, read the history, download):
  ID=$(curl -s -u depot@demo.parapheur.fr:depot-demo -F "doc=@{pdf}" -F "label=demo-$(date +%s%N)" {base}/documents/v2/{SIREN}/DELIBERATIONS/upload); echo "document $ID"
  curl -s -u depot@demo.parapheur.fr:depot-demo {base}/documents/v2/$ID/history; echo
  curl -s -u valideur@demo.parapheur.fr:valideur-demo -X POST {public}/api/v1/documents/$ID/visa; echo
  curl -s -u signataire@demo.parapheur.fr:signataire-demo -X POST {public}/api/v1/documents/$ID/sign; echo
  curl -s -u depot@demo.parapheur.fr:depot-demo {base}/documents/v2/$ID/history; echo
  curl -s -u depot@demo.parapheur.fr:depot-demo -o signed-$ID.pdf {base}/documents/v2/$ID/download && echo "signed PDF saved as signed-$ID.pdf"
Signatures chain to the internal CA: {public}/api/v1/pki/ca.pem

OTP signing loop (prints {{"id","url"}}: open the URL in a browser; codes go to {data}/outbox/sms.jsonl,
e-mails to {data}/outbox/mail/):
  curl -s -u depot@demo.parapheur.fr:depot-demo -F "doc=@{pdf}" -F "meta=@{otp}" -F "label=otp-$(date +%s%N)" {base}/documents/v2/otp/{SIREN}/OTP/upload; echo
"#,
        public = cfg.public_url.trim_end_matches('/'),
        data = cfg.data_dir.display(),
        pdf = pdf_abs.display(),
        otp = otp_abs.display(),
    ))
}
