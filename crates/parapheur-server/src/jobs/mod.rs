//! The durable jobs, typed: each kind with its arguments ([`Job`]), encoded into the queue of
//! `parapheur_store::jobs` in the transaction of the change that causes it and decoded once by
//! the worker (`crate::worker`), which runs it. This module only defines them: it depends on no
//! service and no connector, so services can enqueue without depending on what runs the jobs.

use parapheur_store::jobs::NewJob;
use serde::{Deserialize, Serialize};

/// The kinds of job, as stored in the queue's `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// An e-mail.
    Mail,
    /// An SMS.
    Sms,
    /// A PES transmission to Helios.
    HeliosSend,
    /// The follow-up of a transmission, until its acknowledgement.
    HeliosPoll,
    /// A delivery to the recipients' digital safe.
    Deliver,
    /// The durable run of the automatic step a document reached.
    Automatic,
    /// The signature of a batch of documents.
    BatchSign,
    /// One webhook delivery (queued by the store with the history entry it tells).
    Webhook,
    /// The periodic synchronisation of an `[[ldap]]` directory (one row, run again every
    /// `interval_s`).
    LdapSync,
}

impl JobKind {
    pub const ALL: [JobKind; 9] = [
        Self::Mail,
        Self::Sms,
        Self::HeliosSend,
        Self::HeliosPoll,
        Self::Deliver,
        Self::Automatic,
        Self::BatchSign,
        Self::Webhook,
        Self::LdapSync,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::Sms => "sms",
            Self::HeliosSend => "helios_send",
            Self::HeliosPoll => "helios_poll",
            Self::Deliver => "deliver",
            Self::Automatic => "automatic",
            Self::BatchSign => "batch_sign",
            Self::Webhook => parapheur_store::webhooks::JOB_KIND,
            Self::LdapSync => "ldap_sync",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether a done job's payload is erased: messages carry OTP codes, invitation, reset and
    /// download links that must not stay in the database.
    pub fn forget_payload_when_done(self) -> bool {
        match self {
            Self::Mail | Self::Sms => true,
            Self::HeliosSend
            | Self::HeliosPoll
            | Self::Deliver
            | Self::Automatic
            | Self::BatchSign
            | Self::Webhook
            | Self::LdapSync => false,
        }
    }
}

/// A job with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    Mail(MailJob),
    Sms(SmsJob),
    HeliosSend(HeliosJob),
    HeliosPoll(HeliosJob),
    Deliver(DeliveryJob),
    Automatic(DocumentJob),
    BatchSign(BatchJob),
    Webhook(WebhookJob),
    LdapSync(LdapJob),
}

/// A job's payload could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error("unreadable {kind} job payload: {source}")]
    Payload {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Self::Mail(_) => JobKind::Mail,
            Self::Sms(_) => JobKind::Sms,
            Self::HeliosSend(_) => JobKind::HeliosSend,
            Self::HeliosPoll(_) => JobKind::HeliosPoll,
            Self::Deliver(_) => JobKind::Deliver,
            Self::Automatic(_) => JobKind::Automatic,
            Self::BatchSign(_) => JobKind::BatchSign,
            Self::Webhook(_) => JobKind::Webhook,
            Self::LdapSync(_) => JobKind::LdapSync,
        }
    }

    /// The queue row of this job, due in `delay_ms`.
    pub fn to_new(&self, delay_ms: i64) -> Result<NewJob, JobError> {
        let kind = self.kind().as_str();
        let payload = match self {
            Self::Mail(j) => serde_json::to_string(j),
            Self::Sms(j) => serde_json::to_string(j),
            Self::HeliosSend(j) | Self::HeliosPoll(j) => serde_json::to_string(j),
            Self::Deliver(j) => serde_json::to_string(j),
            Self::Automatic(j) => serde_json::to_string(j),
            Self::BatchSign(j) => serde_json::to_string(j),
            Self::Webhook(j) => serde_json::to_string(j),
            Self::LdapSync(j) => serde_json::to_string(j),
        }
        .map_err(|source| JobError::Payload { kind, source })?;
        Ok(NewJob {
            kind: kind.to_owned(),
            payload,
            delay_ms,
        })
    }

    /// Decodes a queue row.
    pub fn decode(kind: &str, payload: &str) -> Result<Self, JobError> {
        let k = JobKind::parse(kind).ok_or_else(|| JobError::UnknownKind(kind.to_owned()))?;
        let bad = |source| JobError::Payload {
            kind: k.as_str(),
            source,
        };
        Ok(match k {
            JobKind::Mail => Self::Mail(serde_json::from_str(payload).map_err(bad)?),
            JobKind::Sms => Self::Sms(serde_json::from_str(payload).map_err(bad)?),
            JobKind::HeliosSend => Self::HeliosSend(serde_json::from_str(payload).map_err(bad)?),
            JobKind::HeliosPoll => Self::HeliosPoll(serde_json::from_str(payload).map_err(bad)?),
            JobKind::Deliver => Self::Deliver(serde_json::from_str(payload).map_err(bad)?),
            JobKind::Automatic => Self::Automatic(serde_json::from_str(payload).map_err(bad)?),
            JobKind::BatchSign => Self::BatchSign(serde_json::from_str(payload).map_err(bad)?),
            JobKind::Webhook => Self::Webhook(serde_json::from_str(payload).map_err(bad)?),
            JobKind::LdapSync => Self::LdapSync(serde_json::from_str(payload).map_err(bad)?),
        })
    }
}

impl Job {
    /// The transmission of a signed PES to Helios (a first attempt).
    pub fn helios_send(document_id: &str) -> Self {
        Self::HeliosSend(HeliosJob {
            document_id: document_id.to_owned(),
            remote_id: String::new(),
        })
    }

    /// The durable run of the automatic step a document reached.
    pub fn automatic(document_id: &str) -> Self {
        Self::Automatic(DocumentJob {
            document_id: document_id.to_owned(),
        })
    }
}

/// What a job's run asks of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Run again after this many milliseconds (not a failure).
    Later(u64),
}

/// A job about one document. `document_id` is a string so that a deposit's placeholder
/// (`parapheur_store::jobs::NEW_DOCUMENT_ID`) can stand for it until the row exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentJob {
    pub document_id: String,
}

impl DocumentJob {
    /// The document's id (a placeholder left in a payload is not one).
    pub fn id(&self) -> Option<i64> {
        self.document_id.parse().ok()
    }
}

/// The synchronisation of `[[ldap]]` directory number `directory` (in configuration order) into
/// `siren` (kept to tell the row of each directory apart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LdapJob {
    pub directory: usize,
    pub siren: String,
}

/// A webhook delivery (`webhook_deliveries.id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookJob {
    pub delivery_id: i64,
}

/// A batch signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchJob {
    pub batch_id: String,
}

/// The payload of Helios jobs. `document_id` is a string so that a deposit's placeholder
/// (`NEW_DOCUMENT_ID`) can stand for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeliosJob {
    pub document_id: String,
    #[serde(default)]
    pub remote_id: String,
}

/// An e-mail, rendered when enqueued (retries send the same bytes and `Message-ID`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailJob {
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Without angle brackets: `<id>@parapheur`.
    pub message_id: String,
}

/// An SMS: `to` in international form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsJob {
    pub to: String,
    pub text: String,
}

/// A delivery to the recipients' digital safe: what is handed to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryJob {
    pub document_id: i64,
    pub siren: String,
    pub filename: String,
    pub sha256: String,
    pub size: i64,
    pub recipients: Vec<String>,
    /// The expiring download link also e-mailed to them.
    pub link: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_the_queue_row() {
        let jobs = [
            Job::Mail(MailJob {
                to: vec!["a@b.fr".into()],
                cc: vec![],
                subject: "s".into(),
                text: "t".into(),
                html: "<p>t</p>".into(),
                message_id: "x@parapheur".into(),
            }),
            Job::Sms(SmsJob {
                to: "+33600000000".into(),
                text: "code".into(),
            }),
            Job::helios_send("12"),
            Job::HeliosPoll(HeliosJob {
                document_id: "12".into(),
                remote_id: "r-1".into(),
            }),
            Job::Deliver(DeliveryJob {
                document_id: 12,
                siren: "123456789".into(),
                filename: "a.pdf".into(),
                sha256: "00".into(),
                size: 3,
                recipients: vec!["c@d.fr".into()],
                link: "https://x/y".into(),
            }),
            Job::automatic("12"),
            Job::BatchSign(BatchJob {
                batch_id: "b".into(),
            }),
            Job::Webhook(WebhookJob { delivery_id: 7 }),
            Job::LdapSync(LdapJob {
                directory: 0,
                siren: "123456789".into(),
            }),
        ];
        let mut kinds = Vec::new();
        for job in jobs {
            let row = job.to_new(5).unwrap();
            assert_eq!(row.kind, job.kind().as_str());
            assert_eq!(row.delay_ms, 5);
            assert_eq!(Job::decode(&row.kind, &row.payload).unwrap(), job);
            kinds.push(job.kind());
        }
        assert_eq!(kinds, JobKind::ALL);
    }

    #[test]
    fn webhook_rows_written_by_the_store_decode() {
        // The store writes these payloads in SQL, beside the history entry.
        assert_eq!(
            Job::decode(parapheur_store::webhooks::JOB_KIND, r#"{"delivery_id":7}"#).unwrap(),
            Job::Webhook(WebhookJob { delivery_id: 7 })
        );
    }

    #[test]
    fn rows_written_by_earlier_versions_still_decode() {
        // Payloads as the queue already holds them (before the typed jobs).
        assert_eq!(
            Job::decode("automatic", r#"{"document_id":"42"}"#).unwrap(),
            Job::automatic("42")
        );
        assert_eq!(
            Job::decode("batch_sign", r#"{"batch_id":"abc"}"#).unwrap(),
            Job::BatchSign(BatchJob {
                batch_id: "abc".into()
            })
        );
        assert_eq!(
            Job::decode("helios_send", r#"{"document_id":"7"}"#).unwrap(),
            Job::helios_send("7")
        );
        let Job::Automatic(a) = Job::automatic(parapheur_store::jobs::NEW_DOCUMENT_ID) else {
            unreachable!()
        };
        assert_eq!(a.id(), None, "a placeholder is not an id");
    }

    #[test]
    fn unknown_kinds_and_bad_payloads_are_typed_errors() {
        assert!(matches!(
            Job::decode("fax", "{}"),
            Err(JobError::UnknownKind(k)) if k == "fax"
        ));
        assert!(matches!(
            Job::decode("sms", "{\"to\":1}"),
            Err(JobError::Payload { kind: "sms", .. })
        ));
        assert!(JobKind::Mail.forget_payload_when_done());
        assert!(JobKind::Sms.forget_payload_when_done());
        assert!(!JobKind::Deliver.forget_payload_when_done());
    }
}
