//! Transmitters of signed PES to Helios: the `simulator` (default; stateless, so it survives
//! restarts and serves several instances) and the S²LOW API connector (client certificate).

use super::SendError;
use super::s2low_answers::{s2low_fields, s2low_pes_retour_list};
use crate::config::{HeliosTransmitter, S2lowSettings};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where a transmission stands at the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteStatus {
    /// Received by the platform, not yet forwarded.
    Pending,
    TransmittedToHelios,
    /// The PES_Acquit.
    Acknowledged(Vec<u8>),
    /// The platform could not deliver it.
    Failed(String),
}

/// Sends a PES and follows it to its acknowledgement.
pub trait Transmitter: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;
    /// Sends; returns the platform's transaction id. A permanent error is a refusal of the file.
    fn send<'a>(
        &'a self,
        nomfic: &'a str,
        pes: &'a [u8],
    ) -> BoxFuture<'a, Result<String, SendError>>;
    fn status<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<RemoteStatus, SendError>>;
    /// Whether the platform delivers PES Retour files to fetch (the simulator does not).
    fn has_pes_retour(&self) -> bool {
        false
    }
    /// The PES Retour files not read yet: (platform id, file name).
    fn pes_retours(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, SendError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// The bytes of one PES Retour file.
    fn pes_retour<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Vec<u8>, SendError>> {
        Box::pin(async move {
            Err(SendError::permanent(format!(
                "no PES Retour {id} on this transmitter"
            )))
        })
    }
    /// Marks a PES Retour file read on the platform (it leaves the list).
    fn pes_retour_read<'a>(&'a self, _id: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A well-formed PES_Acquit for `nomfic`, as Helios returns when it accepts a file.
pub fn pes_acquit(nomfic: &str, date: &str) -> Vec<u8> {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <PES_ACQUIT>\n\
         <Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESACQUIT\"/><NomFic V=\"ACQUIT_{n}\"/></Parametres></Enveloppe>\n\
         <EnTetePES><DteStr V=\"{d}\"/></EnTetePES>\n\
         <ACQUIT><ElementACQUIT><NomFic V=\"{n}\"/><DteRecep V=\"{d}\"/><EtatAck V=\"1\"/>\
         <LibelleAck V=\"Fichier accepté (simulateur du parapheur)\"/></ElementACQUIT></ACQUIT>\n\
         </PES_ACQUIT>\n",
        n = esc(nomfic),
        d = date
    )
    .into_bytes()
}

/// The simulator: a send succeeds (or fails, for `fail_percent` of them), "Transmis à Hélios"
/// after half the delay, acknowledged after the delay. The transaction id carries the send time
/// and the file name, so no state is kept.
#[derive(Debug)]
pub struct Simulator {
    pub ack_delay_ms: u64,
    pub fail_percent: u32,
    sends: AtomicU64,
}

impl Simulator {
    pub fn new(ack_delay_ms: u64, fail_percent: u32) -> Self {
        Self {
            ack_delay_ms,
            fail_percent: fail_percent.min(100),
            sends: AtomicU64::new(0),
        }
    }
}

/// Whether the `k`-th send (from 1) fails when `p` % of them do: failures are spread evenly,
/// the first one first (p = 50 fails sends 1, 3, 5...).
pub fn simulated_failure(k: u64, p: u32) -> bool {
    let p = u64::from(p);
    (k * p).div_ceil(100) > ((k - 1) * p).div_ceil(100)
}

impl Transmitter for Simulator {
    fn name(&self) -> &'static str {
        "simulator"
    }
    fn send<'a>(
        &'a self,
        nomfic: &'a str,
        _pes: &'a [u8],
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let k = self.sends.fetch_add(1, Ordering::Relaxed) + 1;
            if simulated_failure(k, self.fail_percent) {
                return Err(SendError::transient(
                    "the simulated platform is unavailable (simulator_fail_percent)",
                ));
            }
            Ok(format!(
                "sim-{}-{}",
                parapheur_store::now_ms(),
                hex::encode(nomfic.as_bytes())
            ))
        })
    }
    fn status<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<RemoteStatus, SendError>> {
        Box::pin(async move {
            let mut parts = remote_id.splitn(3, '-');
            let (Some("sim"), Some(at), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(SendError::permanent(format!(
                    "unknown simulator transaction {remote_id:?}"
                )));
            };
            let at: i64 = at
                .parse()
                .map_err(|_| SendError::permanent("bad simulator transaction time"))?;
            let nomfic = hex::decode(name)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| SendError::permanent("bad simulator transaction name"))?;
            let elapsed = u64::try_from(parapheur_store::now_ms() - at).unwrap_or(0);
            Ok(if elapsed >= self.ack_delay_ms {
                let date = crate::clock::now().format("%Y-%m-%d").to_string();
                RemoteStatus::Acknowledged(pes_acquit(&nomfic, &date))
            } else if elapsed >= self.ack_delay_ms / 2 {
                RemoteStatus::TransmittedToHelios
            } else {
                RemoteStatus::Pending
            })
        })
    }
}

/// The S²LOW API (Libriciel's tiers de télétransmission): upload with
/// `modules/helios/api/helios_importer_fichier.php` (part `enveloppe`), status with
/// `helios_transac_get_status.php?transaction=`, acknowledgement with
/// `modules/helios/helios_download_acquit.php?id=`. Authentication by client certificate,
/// plus HTTP Basic when a login is configured. Answers are small XML documents with
/// `<resultat>OK|KO</resultat>`.
#[derive(Debug)]
pub struct S2low {
    base: String,
    http: reqwest::Client,
    login: Option<(String, SecretString)>,
}

impl S2low {
    pub fn new(cfg: &S2lowSettings) -> anyhow::Result<Self> {
        let mut b = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60));
        if let Some(cert) = &cfg.cert {
            let mut pem =
                std::fs::read(cert).map_err(|e| anyhow::anyhow!("key `helios.s2low_cert`: {e}"))?;
            if let Some(key) = &cfg.key {
                pem.push(b'\n');
                pem.extend(
                    std::fs::read(key)
                        .map_err(|e| anyhow::anyhow!("key `helios.s2low_key`: {e}"))?,
                );
            }
            b = b.identity(
                reqwest::Identity::from_pem(&pem)
                    .map_err(|e| anyhow::anyhow!("key `helios.s2low_cert`: {e}"))?,
            );
        }
        if let Some(ca) = &cfg.ca {
            let pem =
                std::fs::read(ca).map_err(|e| anyhow::anyhow!("key `helios.s2low_ca`: {e}"))?;
            for c in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| anyhow::anyhow!("key `helios.s2low_ca`: {e}"))?
            {
                b = b.add_root_certificate(c);
            }
        }
        Ok(Self {
            base: cfg.url.trim_end_matches('/').to_owned(),
            http: b.build()?,
            login: cfg
                .login
                .as_ref()
                .map(|l| (l.user.clone(), l.password.clone())),
        })
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.get(format!("{}{path}", self.base));
        match &self.login {
            Some((u, p)) => r.basic_auth(u, Some(p.expose_secret())),
            None => r,
        }
    }

    async fn text(r: reqwest::RequestBuilder) -> Result<Vec<u8>, SendError> {
        let res = r
            .send()
            .await
            .map_err(|e| SendError::transient(format!("S²LOW unreachable: {e}")))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .map_err(|e| SendError::transient(format!("S²LOW answer: {e}")))?;
        SendError::from_http(status, &String::from_utf8_lossy(&body))?;
        Ok(body.to_vec())
    }
}

impl Transmitter for S2low {
    fn name(&self) -> &'static str {
        "s2low"
    }
    fn has_pes_retour(&self) -> bool {
        true
    }
    fn pes_retours(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, SendError>> {
        Box::pin(async move {
            let body = Self::text(self.get("/modules/helios/api/helios_get_list.php")).await?;
            s2low_pes_retour_list(&body).map_err(|m| SendError::transient(format!("S²LOW: {m}")))
        })
    }
    fn pes_retour<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Vec<u8>, SendError>> {
        Box::pin(async move {
            let id: String = id.chars().filter(char::is_ascii_digit).collect();
            Self::text(self.get(&format!(
                "/modules/helios/api/helios_get_retour.php?id={id}"
            )))
            .await
        })
    }
    fn pes_retour_read<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let id: String = id.chars().filter(char::is_ascii_digit).collect();
            Self::text(self.get(&format!(
                "/modules/helios/api/helios_change_status.php?id={id}"
            )))
            .await
            .map(|_| ())
        })
    }
    fn send<'a>(
        &'a self,
        nomfic: &'a str,
        pes: &'a [u8],
    ) -> BoxFuture<'a, Result<String, SendError>> {
        Box::pin(async move {
            let safe: String = nomfic
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let part = reqwest::multipart::Part::bytes(pes.to_vec())
                .file_name(format!("{safe}.xml"))
                .mime_str("text/xml")
                .map_err(|e| SendError::permanent(e.to_string()))?;
            let form = reqwest::multipart::Form::new().part("enveloppe", part);
            let mut r = self
                .http
                .post(format!(
                    "{}/modules/helios/api/helios_importer_fichier.php",
                    self.base
                ))
                .multipart(form);
            if let Some((u, p)) = &self.login {
                r = r.basic_auth(u, Some(p.expose_secret()));
            }
            let body = Self::text(r).await?;
            let f = s2low_fields(&body).map_err(|m| SendError::permanent(format!("S²LOW: {m}")))?;
            match (f.get("resultat").map(String::as_str), f.get("id")) {
                (Some("OK"), Some(id)) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
                _ => Err(SendError::permanent(format!(
                    "S²LOW refused the file: {}",
                    f.get("message").map(String::as_str).unwrap_or("no message")
                ))),
            }
        })
    }

    fn status<'a>(&'a self, remote_id: &'a str) -> BoxFuture<'a, Result<RemoteStatus, SendError>> {
        Box::pin(async move {
            let body = Self::text(self.get(&format!(
                "/modules/helios/api/helios_transac_get_status.php?transaction={remote_id}"
            )))
            .await?;
            let f = s2low_fields(&body).map_err(|m| SendError::transient(format!("S²LOW: {m}")))?;
            if f.get("resultat").map(String::as_str) != Some("OK") {
                return Err(SendError::transient(format!(
                    "S²LOW status: {}",
                    f.get("message").map(String::as_str).unwrap_or("KO")
                )));
            }
            let message = f.get("message").cloned().unwrap_or_default();
            Ok(match f.get("status").map(|s| s.trim()) {
                Some("-1") | Some("0") => RemoteStatus::Failed(if message.is_empty() {
                    "S²LOW reports an error".into()
                } else {
                    message
                }),
                // Acknowledgement received (4), refused (6) or information available (8).
                Some("4" | "6" | "8") => {
                    let ack = Self::text(self.get(&format!(
                        "/modules/helios/helios_download_acquit.php?id={remote_id}"
                    )))
                    .await?;
                    if !String::from_utf8_lossy(&ack).trim_start().starts_with('<') {
                        return Err(SendError::transient(
                            "S²LOW did not return the acknowledgement XML",
                        ));
                    }
                    RemoteStatus::Acknowledged(ack)
                }
                Some("3" | "24") => RemoteStatus::TransmittedToHelios,
                _ => RemoteStatus::Pending,
            })
        })
    }
}

/// The transmitter chosen by `[helios] transmitter`.
pub fn from_config(cfg: &HeliosTransmitter) -> anyhow::Result<Box<dyn Transmitter>> {
    Ok(match cfg {
        HeliosTransmitter::S2low(s2low) => Box::new(S2low::new(s2low)?),
        HeliosTransmitter::Simulator {
            ack_delay_ms,
            fail_percent,
        } => Box::new(Simulator::new(*ack_delay_ms, *fail_percent)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_spread_evenly_failures_first() {
        let fails = |p| {
            (1..=10)
                .filter(|k| simulated_failure(*k, p))
                .collect::<Vec<_>>()
        };
        assert_eq!(fails(0), Vec::<u64>::new());
        assert_eq!(fails(50), [1, 3, 5, 7, 9]);
        assert_eq!(fails(100), (1..=10).collect::<Vec<_>>());
        assert_eq!(fails(30).len(), 3);
    }

    #[test]
    fn reads_s2low_answers() {
        let f = s2low_fields(
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><import><id>1234</id><resultat>OK</resultat><message>T&amp;l&#233;chargement</message></import>",
        )
        .unwrap_or_default();
        assert_eq!(f["id"], "1234");
        assert_eq!(f["resultat"], "OK");
        assert_eq!(f["message"], "T&léchargement");
        assert_eq!(
            s2low_fields("KO\nÉchec de l'authentification\n".as_bytes()),
            Err("Échec de l'authentification".into())
        );
    }
}
