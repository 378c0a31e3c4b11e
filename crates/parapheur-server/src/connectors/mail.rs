//! E-mail transports: `outbox` (one RFC 5322 `.eml` file per message, the embedded default)
//! and `smtp` (lettre).

use super::{SendError, write_durably};
use crate::config::MailConfig;
use crate::jobs::MailJob;
use futures_util::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// Delivers rendered e-mails.
pub trait MailTransport: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, mail: &'a MailJob) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Builds the MIME message (text and HTML alternatives).
pub fn build_message(from: &str, mail: &MailJob) -> Result<Message, SendError> {
    let parse = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|e| SendError::permanent(format!("invalid address {a:?}: {e}")))
    };
    let mut b = Message::builder()
        .from(parse(from)?)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}>", mail.message_id)));
    for to in &mail.to {
        b = b.to(parse(to)?);
    }
    for cc in &mail.cc {
        b = b.cc(parse(cc)?);
    }
    b.multipart(MultiPart::alternative_plain_html(
        mail.text.clone(),
        mail.html.clone(),
    ))
    .map_err(|e| SendError::permanent(format!("building the message: {e}")))
}

/// Writes each message to `<dir>/<message-id>.eml` (a retry rewrites the same file).
#[derive(Debug)]
pub struct OutboxMail {
    pub dir: PathBuf,
    pub from: String,
}

impl MailTransport for OutboxMail {
    fn send<'a>(&'a self, mail: &'a MailJob) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let msg = build_message(&self.from, mail)?;
            let name: String = mail
                .message_id
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let path = self.dir.join(format!("{name}.eml"));
            let bytes = msg.formatted();
            tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
                .await
                .map_err(|e| SendError::transient(e.to_string()))?
                .map_err(|e| SendError::transient(format!("writing the mail outbox: {e}")))
        })
    }
}

/// SMTP through lettre (`smtp://host:port`, `smtps://`, `?tls=required` for STARTTLS,
/// credentials in the URL).
#[derive(Debug)]
pub struct SmtpMail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

impl SmtpMail {
    pub fn new(cfg: &MailConfig) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&cfg.smtp_url)
            .map_err(|e| anyhow::anyhow!("key `mail.smtp_url`: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        Ok(Self {
            transport,
            from: cfg.from.clone(),
        })
    }
}

impl MailTransport for SmtpMail {
    fn send<'a>(&'a self, mail: &'a MailJob) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let msg = build_message(&self.from, mail)?;
            match self.transport.send(msg).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::permanent(format!("SMTP: {e}"))),
                Err(e) => Err(SendError::transient(format!("SMTP: {e}"))),
            }
        })
    }
}

/// The transport chosen by `[mail] transport`.
pub fn from_config(cfg: &MailConfig) -> anyhow::Result<Box<dyn MailTransport>> {
    Ok(match cfg.transport.as_str() {
        "smtp" => Box::new(SmtpMail::new(cfg)?),
        _ => Box::new(OutboxMail {
            dir: PathBuf::from(&cfg.outbox_dir),
            from: cfg.from.clone(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_has_both_parts_and_a_stable_id() {
        let m = MailJob {
            to: vec!["a@b.fr".into()],
            cc: vec!["c@d.fr".into()],
            subject: "Document à signer".into(),
            text: "Bonjour".into(),
            html: "<p>Bonjour</p>".into(),
            message_id: "abc@parapheur".into(),
        };
        let raw = String::from_utf8(
            build_message("parapheur@localhost", &m)
                .unwrap_or_else(|e| panic!("{e}"))
                .formatted(),
        )
        .unwrap_or_default();
        assert!(raw.contains("Message-ID: <abc@parapheur>"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains("Cc: c@d.fr"));
        let bad = MailJob {
            to: vec!["not an address".into()],
            ..m
        };
        assert!(
            matches!(build_message("parapheur@localhost", &bad), Err(e) if !e.transient),
            "a bad address is a permanent failure"
        );
    }
}
