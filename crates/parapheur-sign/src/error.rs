//! The signing error.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SignError {
    #[error("cryptography error: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    #[error("ASN.1 error: {0}")]
    Asn1(#[from] der::Error),
    #[error("PDF error: {0}")]
    Pdf(String),
    /// A bound of [`Limits`](crate::pdfcheck::Limits) exceeded while reading a PDF.
    #[error("PDF refused: {0}")]
    Budget(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    #[error("the signature does not fit the reserved space ({needed} > {reserved} bytes)")]
    SignatureTooLarge { needed: usize, reserved: usize },
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("PKCS#11 token: {0}")]
    Hsm(String),
}

impl SignError {
    /// A bound of the reading budget was exceeded: the read must stop, not skip the object.
    pub(crate) fn is_budget(&self) -> bool {
        match self {
            Self::Budget(_) => true,
            Self::Crypto(_)
            | Self::Asn1(_)
            | Self::Pdf(_)
            | Self::Io { .. }
            | Self::UnsupportedKey(_)
            | Self::SignatureTooLarge { .. }
            | Self::Invalid(_)
            | Self::Hsm(_) => false,
        }
    }
}

impl From<lopdf::Error> for SignError {
    fn from(e: lopdf::Error) -> Self {
        Self::Pdf(e.to_string())
    }
}
