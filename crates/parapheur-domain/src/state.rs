//! History state names (French, exactly as FAST clients match them) and document statuses.

/// A state recorded in a document's history. `as_str` gives the wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryState {
    Prepared,
    MetadataDefined,
    SentForVisa,
    VisaApproved,
    VisaDisapproved,
    SentForSignature,
    Signed,
    Refused,
    SignatureValidated,
    SignatureRejected,
    Sending,
    SentToFast,
    TransmittedToHelios,
    HeliosAcknowledged,
    SendToFastFailed,
    FastProcessingFailed,
    SendToHeliosFailed,
    OtpInformationDefined,
    OtpValidated,
    OtpSigned,
    /// The OTP signer refused to sign (with a reason).
    RefusedAtOtp,
    Classified,
    ClassifiedInterrupted,
    Archived,
    Replaced,
    Delivered,
}

impl HistoryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prepared => "Préparé",
            Self::MetadataDefined => "Métadonnées définies",
            Self::SentForVisa => "Envoyé pour visa",
            Self::VisaApproved => "Visa approuvé",
            Self::VisaDisapproved => "Visa désapprouvé",
            Self::SentForSignature => "Envoyé pour signature",
            Self::Signed => "Signé",
            Self::Refused => "Refusé",
            Self::SignatureValidated => "Signature validée",
            Self::SignatureRejected => "signature rejetée",
            Self::Sending => "En cours d'envoi",
            Self::SentToFast => "Envoyé à FAST",
            Self::TransmittedToHelios => "Transmis à Hélios",
            Self::HeliosAcknowledged => "Acquittance Hélios",
            Self::SendToFastFailed => "Échec de l'envoi à FAST",
            Self::FastProcessingFailed => "Échec du traitement FAST",
            Self::SendToHeliosFailed => "Échec de l'envoi à Hélios",
            Self::OtpInformationDefined => "Informations OTP définies",
            Self::OtpValidated => "OTP validé",
            Self::OtpSigned => "OTP signé",
            Self::RefusedAtOtp => "Refusé à l'étape OTP",
            Self::Classified => "Classé",
            Self::ClassifiedInterrupted => "Classé (interrompu)",
            Self::Archived => "Archivé",
            Self::Replaced => "Document remplacé",
            Self::Delivered => "Remis aux destinataires",
        }
    }
}

/// Where a document is in its life. Stored as `as_str()` with the current step index beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentStatus {
    /// Deposited; waits for its metadata before the circuit starts.
    AwaitingMetadata,
    /// Waiting at step `current_step` of its circuit.
    InProgress,
    /// A visa member disapproved it (terminal, deletable).
    VisaDisapproved,
    /// A signer refused it (terminal, deletable).
    Refused,
    /// The signature verification step rejected a signature: the circuit stops (deletable).
    SignatureRejected,
    /// Nothing remains to do.
    Classified,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingMetadata => "awaiting_metadata",
            Self::InProgress => "in_progress",
            Self::VisaDisapproved => "visa_disapproved",
            Self::Refused => "refused",
            Self::SignatureRejected => "signature_rejected",
            Self::Classified => "classified",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "awaiting_metadata" => Self::AwaitingMetadata,
            "in_progress" => Self::InProgress,
            "visa_disapproved" => Self::VisaDisapproved,
            "refused" => Self::Refused,
            "signature_rejected" => Self::SignatureRejected,
            "classified" => Self::Classified,
            _ => return None,
        })
    }
    /// Maps the `state` of `documents/search` (a French state name or ours) to statuses.
    pub fn from_search_term(s: &str) -> Option<Vec<Self>> {
        let t = s.trim();
        if let Some(st) = Self::parse(t) {
            return Some(vec![st]);
        }
        Some(match t {
            "Préparé" => vec![Self::AwaitingMetadata, Self::InProgress],
            "Envoyé pour visa" | "Envoyé pour signature" | "En cours" => vec![Self::InProgress],
            "Visa désapprouvé" | "Rejeté" => vec![Self::VisaDisapproved],
            "Refusé" => vec![Self::Refused],
            "signature rejetée" => vec![Self::SignatureRejected],
            "Classé" | "Signé" | "Terminé" => vec![Self::Classified],
            _ => return None,
        })
    }
}
