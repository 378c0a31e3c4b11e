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
    /// Whether the document still holds its FAST triplet (circuit, label, file name): while it
    /// is not finished, a second deposit with the same triplet is refused (error 105). The
    /// unique index `documents_triplet` (migration 0014) lists the same statuses.
    pub fn holds_triplet(self) -> bool {
        match self {
            Self::AwaitingMetadata | Self::InProgress => true,
            Self::VisaDisapproved | Self::Refused | Self::SignatureRejected | Self::Classified => {
                false
            }
        }
    }

    /// Every status, for exhaustive checks.
    pub const ALL: [Self; 6] = [
        Self::AwaitingMetadata,
        Self::InProgress,
        Self::VisaDisapproved,
        Self::Refused,
        Self::SignatureRejected,
        Self::Classified,
    ];

    /// Maps the `state` of `documents/search` to statuses: a French state name, FAST's English
    /// name of the same state (`Prepared`, `Signed`, `Refused`..., in any case, with or without
    /// spaces or underscores), or ours.
    pub fn from_search_term(s: &str) -> Option<Vec<Self>> {
        let t = s.trim();
        if let Some(st) = Self::parse(t) {
            return Some(vec![st]);
        }
        let french = match t {
            "Préparé" => Some(vec![Self::AwaitingMetadata, Self::InProgress]),
            "Envoyé pour visa" | "Envoyé pour signature" | "En cours" => {
                Some(vec![Self::InProgress])
            }
            "Visa désapprouvé" | "Rejeté" => Some(vec![Self::VisaDisapproved]),
            "Refusé" => Some(vec![Self::Refused]),
            "signature rejetée" => Some(vec![Self::SignatureRejected]),
            "Classé" | "Signé" | "Terminé" => Some(vec![Self::Classified]),
            _ => None,
        };
        french.or_else(|| Self::from_english_term(t))
    }

    /// FAST's English state names, each mapped like its French name.
    fn from_english_term(t: &str) -> Option<Vec<Self>> {
        let key: String = t
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Some(match key.as_str() {
            // Préparé
            "prepared" => vec![Self::AwaitingMetadata, Self::InProgress],
            // Envoyé pour visa, Envoyé pour signature, En cours
            "sentforvisa" | "sentforvalidation" | "sentforsignature" | "inprogress" => {
                vec![Self::InProgress]
            }
            // Visa désapprouvé, Rejeté
            "visadisapproved" | "rejected" => vec![Self::VisaDisapproved],
            // Refusé
            "refused" => vec![Self::Refused],
            // signature rejetée
            "signaturerejected" => vec![Self::SignatureRejected],
            // Classé, Signé, Terminé
            "classified" | "signed" | "finished" => vec![Self::Classified],
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::DocumentStatus as S;

    #[test]
    fn english_state_names_search_like_their_french_names() {
        for (en, fr) in [
            ("Prepared", "Préparé"),
            ("SentForVisa", "Envoyé pour visa"),
            ("Sent for signature", "Envoyé pour signature"),
            ("IN_PROGRESS", "En cours"),
            ("VisaDisapproved", "Visa désapprouvé"),
            ("Rejected", "Rejeté"),
            ("Refused", "Refusé"),
            ("SignatureRejected", "signature rejetée"),
            ("Classified", "Classé"),
            ("Signed", "Signé"),
            ("finished", "Terminé"),
        ] {
            assert!(S::from_search_term(fr).is_some(), "{fr}");
            assert_eq!(S::from_search_term(en), S::from_search_term(fr), "{en}");
        }
        assert_eq!(S::from_search_term("Whatever"), None);
    }

    #[test]
    fn only_unfinished_documents_hold_their_triplet() {
        let holding: Vec<S> = S::ALL.into_iter().filter(|s| s.holds_triplet()).collect();
        assert_eq!(holding, [S::AwaitingMetadata, S::InProgress]);
    }
}
