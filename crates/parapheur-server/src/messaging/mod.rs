//! Background jobs: the payloads of the durable job queue and the worker that runs them. Jobs
//! are enqueued (`parapheur_store::jobs`) in the transaction of the change that causes them; a
//! connector that fails delays them (retries with a backoff), a committed change never loses them.

pub mod worker;

use serde::{Deserialize, Serialize};

/// Job kind of an e-mail.
pub const MAIL: &str = "mail";
/// Job kind of an SMS.
pub const SMS: &str = "sms";
/// Job kind of a PES transmission to Helios.
pub const HELIOS_SEND: &str = "helios_send";
/// Job kind of the follow-up of a transmission, until its acknowledgement.
pub const HELIOS_POLL: &str = "helios_poll";

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

/// Job kind of a delivery.
pub const DELIVER: &str = "deliver";

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
