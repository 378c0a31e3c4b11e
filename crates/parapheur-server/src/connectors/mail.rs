//! E-mail transports: `outbox` (one RFC 5322 `.eml` file per message, the embedded default)
//! and `smtp` (lettre).

use super::{SendError, SharedDirSync};
use crate::config::{MailConfig, MailTransport, SmtpSettings};
use crate::jobs::MailJob;
use futures_util::future::BoxFuture;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::PathBuf;

/// Delivers rendered e-mails.
pub trait Mailer: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, mail: &'a MailJob) -> BoxFuture<'a, Result<(), SendError>>;
}

/// Builds the MIME message (text and HTML alternatives).
pub fn build_message(from: &Mailbox, mail: &MailJob) -> Result<Message, SendError> {
    let parse = |a: &str| {
        a.parse::<Mailbox>()
            .map_err(|e| SendError::permanent(format!("invalid address {a:?}: {e}")))
    };
    let mut b = Message::builder()
        .from(from.clone())
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

/// Writes each message to `<dir>/<message-id>.eml` (a retry rewrites the same file), durably;
/// messages written together share their directory fsyncs.
#[derive(Debug)]
pub struct OutboxMail {
    files: SharedDirSync,
    from: Mailbox,
}

impl OutboxMail {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self {
            files: SharedDirSync::new(dir),
            from,
        }
    }
}

impl Mailer for OutboxMail {
    fn send<'a>(&'a self, mail: &'a MailJob) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let msg = build_message(&self.from, mail)?;
            let name: String = mail
                .message_id
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            self.files
                .write(&format!("{name}.eml"), msg.formatted())
                .await
                .map_err(|e| SendError::transient(format!("writing the mail outbox: {e}")))
        })
    }
}

/// SMTP through lettre (`smtp://host:port`, `smtps://`, `?tls=required` for STARTTLS,
/// credentials in the URL).
#[derive(Debug)]
pub struct SmtpMail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMail {
    pub fn new(smtp: &SmtpSettings, from: &Mailbox) -> anyhow::Result<Self> {
        // lettre's message may quote the URL, which can hold credentials: not repeated.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.url.expose_secret())
            .map_err(|_| anyhow::anyhow!("key `mail.smtp_url`: not a valid SMTP URL"))?
            .timeout(Some(std::time::Duration::from_secs(30)));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from: from.clone(),
        })
    }
}

impl Mailer for SmtpMail {
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
pub fn from_config(cfg: &MailConfig) -> anyhow::Result<Box<dyn Mailer>> {
    Ok(match &cfg.transport {
        MailTransport::Smtp(smtp) => Box::new(SmtpMail::new(smtp, &cfg.from)?),
        MailTransport::Outbox { dir } => Box::new(OutboxMail::new(dir.clone(), cfg.from.clone())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_has_both_parts_and_a_stable_id() {
        let from: Mailbox = "parapheur@localhost"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let m = MailJob {
            to: vec!["a@b.fr".into()],
            cc: vec!["c@d.fr".into()],
            subject: "Document à signer".into(),
            text: "Bonjour".into(),
            html: "<p>Bonjour</p>".into(),
            message_id: "abc@parapheur".into(),
        };
        let raw = String::from_utf8(
            build_message(&from, &m)
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
            matches!(build_message(&from, &bad), Err(e) if !e.transient),
            "a bad address is a permanent failure"
        );
    }
}
