//! `ApiError`: every failure a request can meet, mapped in one place to the FAST error body
//! (FAST routes) or to problem+json (native API), with a stable `errorCode`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parapheur_domain::DomainError;
use parapheur_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Authentication required")]
    Unauthenticated,
    #[error("Unauthorized")]
    Forbidden,
    #[error("Subscriber not found")]
    SubscriberNotFound,
    #[error("Internal error: Invalid docId")]
    InvalidDocId,
    #[error("Circuit not found: {0}")]
    CircuitNotFound(String),
    #[error(
        "Duplicate document: a document in progress already has this circuit, label and file name"
    )]
    Duplicate,
    #[error("File format refused by the circuit: {0}")]
    FormatRefused(String),
    #[error("Invalid file: {0}")]
    InvalidFile(String),
    #[error("Upload too large: the limit is {0} bytes")]
    TooLarge(u64),
    #[error("Missing or invalid parameter: {0}")]
    BadParameter(String),
    #[error("Invalid metadata: {0}")]
    InvalidMetadata(String),
    #[error("The document cannot be deleted in its current state")]
    NotDeletable,
    #[error("No refusal comment for this document")]
    NothingToReturn,
    #[error("The caller is not a member of the document's current step")]
    NotAStepMember,
    #[error("Action not possible in the document's current state: {0}")]
    InvalidState(String),
    #[error(
        "This signature step is signed with the member's own card (key = \"token\"): use parapheur-agent and the two-phase API"
    )]
    CardRequired,
    #[error("A comment giving the reason is required")]
    ReasonRequired,
    #[error("The document was changed by another request; retry")]
    Conflict,
    #[error("The timestamp authority did not answer correctly: {0}")]
    TimestampUnavailable(String),
    #[error("Invalid circuit type")]
    InvalidCircuitType(String),
    #[error("Invalid step type")]
    InvalidStepType(String),
    #[error("Invalid step member")]
    InvalidStepMember(String),
    #[error("Upload doc error")]
    UploadError(String),
    #[error("Circuit definition error")]
    CircuitDefinition(String),
    #[error("The agent cannot be a step member")]
    DepositorIsMember(String),
    #[error("The documents do not share the same OTP signer (phone and e-mail): {0}")]
    OtpSignerMismatch(String),
    #[error("A PES with this file name (NomFic) was already deposited: {0}")]
    DuplicatePes(String),
    #[error(
        "The content of this document was purged (retention period over); its history and fiche de circulation remain"
    )]
    ContentPurged,
    #[error("Not found")]
    NotFound,
    #[error("Too many failed authentications; retry after {0} s")]
    TooManyAttempts(u64),
    #[error("Too many requests to the verification service; retry after {0} s")]
    TooManyVerifications(u64),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The stable error code (FAST codes where the documentation gives one).
    pub fn error_code(&self) -> u32 {
        match self {
            Self::Forbidden => 100,
            Self::Unauthenticated => 101,
            Self::NothingToReturn => 102,
            Self::InvalidDocId | Self::NotFound => 103,
            Self::NotDeletable => 104,
            Self::Duplicate => 105,
            Self::FormatRefused(_) => 106,
            Self::CircuitNotFound(_) => 107,
            Self::InvalidFile(_) => 108,
            Self::TooLarge(_) => 109,
            Self::InvalidMetadata(_) => 110,
            Self::SubscriberNotFound => 111,
            Self::BadParameter(_) => 112,
            Self::NotAStepMember => 113,
            Self::InvalidState(_) | Self::ReasonRequired | Self::CardRequired => 115,
            Self::Internal(_) => 116,
            Self::InvalidCircuitType(_) => 117,
            Self::InvalidStepType(_) => 118,
            Self::InvalidStepMember(_) => 119,
            Self::UploadError(_) => 120,
            Self::CircuitDefinition(_) => 121,
            Self::DepositorIsMember(_) => 122,
            Self::Conflict => 123,
            Self::TimestampUnavailable(_) => 124,
            Self::OtpSignerMismatch(_) => 125,
            Self::DuplicatePes(_) => 126,
            Self::ContentPurged => 127,
            Self::TooManyAttempts(_) | Self::TooManyVerifications(_) => 128,
        }
    }

    /// The HTTP status on the native API (FAST routes use `[fast] error_status`).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::NotAStepMember => StatusCode::FORBIDDEN,
            Self::SubscriberNotFound
            | Self::InvalidDocId
            | Self::NotFound
            | Self::CircuitNotFound(_) => StatusCode::NOT_FOUND,
            Self::Duplicate
            | Self::DuplicatePes(_)
            | Self::NotDeletable
            | Self::InvalidState(_)
            | Self::CardRequired
            | Self::Conflict => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::FormatRefused(_)
            | Self::InvalidFile(_)
            | Self::BadParameter(_)
            | Self::InvalidMetadata(_)
            | Self::ReasonRequired
            | Self::InvalidCircuitType(_)
            | Self::InvalidStepType(_)
            | Self::InvalidStepMember(_)
            | Self::UploadError(_)
            | Self::CircuitDefinition(_)
            | Self::DepositorIsMember(_)
            | Self::OtpSignerMismatch(_) => StatusCode::BAD_REQUEST,
            Self::NothingToReturn => StatusCode::NOT_FOUND,
            Self::ContentPurged => StatusCode::GONE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TimestampUnavailable(_) => StatusCode::BAD_GATEWAY,
            Self::TooManyAttempts(_) | Self::TooManyVerifications(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
        }
    }

    /// English message for developers (never paths, SQL or internals).
    pub fn developer_message(&self) -> String {
        match self {
            Self::InvalidCircuitType(d)
            | Self::InvalidStepType(d)
            | Self::InvalidStepMember(d)
            | Self::UploadError(d)
            | Self::CircuitDefinition(d)
            | Self::DepositorIsMember(d)
                if !d.is_empty() =>
            {
                format!("{self}: {d}")
            }
            _ => self.to_string(),
        }
    }

    /// French message for people.
    pub fn user_message(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "Authentification requise.",
            Self::Forbidden => "Votre utilisateur n'est pas autorisé à effectuer cette opération.",
            Self::SubscriberNotFound => "Le siren renseigné n'existe pas.",
            Self::InvalidDocId | Self::NotFound => "Le document demandé n'existe pas.",
            Self::CircuitNotFound(_) => "Le circuit demandé n'existe pas.",
            Self::Duplicate => {
                "Un document de même nom est déjà en cours dans ce circuit et ce dossier."
            }
            Self::FormatRefused(_) => "Le format du fichier n'est pas accepté par ce circuit.",
            Self::InvalidFile(_) => {
                "Le fichier est vide, illisible ou ne correspond pas à son format."
            }
            Self::TooLarge(_) => "Le fichier dépasse la taille maximale autorisée.",
            Self::BadParameter(_) => "Un paramètre obligatoire est manquant ou incorrect.",
            Self::InvalidMetadata(_) => "Les métadonnées sont incorrectes.",
            Self::NotDeletable => "Le document ne peut pas être supprimé dans son état actuel.",
            Self::NothingToReturn => "Aucun message de refus pour ce document.",
            Self::NotAStepMember => "Vous n'êtes pas acteur de l'étape en cours de ce document.",
            Self::InvalidState(_) => {
                "Cette action n'est pas possible dans l'état actuel du document."
            }
            Self::ReasonRequired => "Un motif est obligatoire.",
            Self::CardRequired => {
                "Cette étape se signe avec votre carte personnelle : lancez parapheur-agent sur votre poste, carte insérée."
            }
            Self::Conflict => "Le document a été modifié entre-temps ; veuillez réessayer.",
            Self::InvalidCircuitType(_) => "Le type de circuit est incorrect",
            Self::InvalidStepType(_) => "Le type d'étape est incorrect",
            Self::InvalidStepMember(_) => "Un des membres du circuit est incorrect ou n'existe pas",
            Self::UploadError(_) => "Une erreur est survenue lors du dépôt du document.",
            Self::CircuitDefinition(_) => "Le paramètre circuit n'est pas correctement renseigné.",
            Self::DepositorIsMember(_) => {
                "L'agent déposant ne peut être signataire ou valideur du document."
            }
            Self::Internal(_) => "Une erreur interne est survenue.",
            Self::TimestampUnavailable(_) => {
                "Le service d'horodatage est indisponible ; la signature n'a pas été appliquée."
            }
            Self::ContentPurged => {
                "Le contenu de ce document a été supprimé à l'issue de sa durée de conservation ; son historique et sa fiche de circulation restent disponibles."
            }
            Self::DuplicatePes(_) => {
                "Un fichier PES portant ce nom (NomFic) a déjà été déposé pour cette collectivité."
            }
            Self::TooManyAttempts(_) => {
                "Trop de tentatives d'authentification infructueuses ; réessayez plus tard."
            }
            Self::TooManyVerifications(_) => {
                "Trop de vérifications demandées depuis votre adresse ; réessayez dans une minute."
            }
            Self::OtpSignerMismatch(_) => {
                "Ces documents n'ont pas le même signataire OTP (téléphone et e-mail identiques requis) : ils ne peuvent pas être signés avec un seul code."
            }
        }
    }

    pub(crate) fn log(&self) {
        if let Self::Internal(e) = self {
            tracing::error!(
                error = format!("{e:#}"),
                "request failed with an internal error"
            );
        }
    }

    /// The FAST body `{"generation", "developerMessage", "userFriendlyMessage", "errorCode"}`.
    pub fn fast_body(&self) -> FastErrorBody {
        FastErrorBody {
            generation: parapheur_store::now_ms(),
            developer_message: self.developer_message(),
            user_friendly_message: self.user_message().to_owned(),
            error_code: self.error_code(),
        }
    }
}

/// The error body of the FAST routes, as FAST Parapheur sends it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FastError)]
pub struct FastErrorBody {
    /// When the error was produced, in milliseconds since the Unix epoch.
    pub generation: i64,
    /// What went wrong, in English, for the client's developers.
    pub developer_message: String,
    /// What went wrong, in French, for the person using the client.
    pub user_friendly_message: String,
    /// The stable FAST error code (100–128).
    #[schema(minimum = 100, maximum = 199)]
    pub error_code: u32,
}

/// The error body of the native API: RFC 9457 problem details with the FAST error code.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// Always `about:blank`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status's reason phrase.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in English.
    pub detail: String,
    /// What went wrong, in French.
    pub user_friendly_message: String,
    /// The stable error code, as on the FAST routes.
    pub error_code: u32,
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::InvalidSiren(_) => Self::SubscriberNotFound,
            DomainError::InvalidDocumentId(_) => Self::InvalidDocId,
            DomainError::InvalidEmail(m) => {
                Self::BadParameter(format!("invalid e-mail address {m:?}"))
            }
            DomainError::InvalidCircuitId(m) => Self::CircuitNotFound(m),
            DomainError::InvalidFileName(m) => {
                Self::InvalidFile(format!("invalid file name {m:?}"))
            }
            DomainError::InvalidCircuitType(m) => Self::InvalidCircuitType(m),
            DomainError::InvalidStepType(m) => Self::InvalidStepType(m),
            DomainError::InvalidStepMember(m) => Self::InvalidStepMember(m),
            DomainError::CircuitDefinition(m) => Self::CircuitDefinition(m),
            DomainError::DepositorIsMember(m) => Self::DepositorIsMember(m),
            DomainError::InvalidMetadata(m) => Self::InvalidMetadata(m),
            DomainError::InvalidPes(m) => Self::InvalidFile(format!("not a valid PES_Aller: {m}")),
            DomainError::ActionNotAllowed { action } => Self::InvalidState(action.to_owned()),
            DomainError::NotAStepMember => Self::NotAStepMember,
            DomainError::ReasonRequired(_) => Self::ReasonRequired,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate => Self::Duplicate,
            StoreError::DuplicatePes(n) => Self::DuplicatePes(n),
            StoreError::Conflict => Self::Conflict,
            other => Self::Internal(other.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

/// Marks a response as a FAST business error, so the FAST middleware applies `error_status`.
#[derive(Debug, Clone, Copy)]
pub struct FastErrorMarker;

/// An error on a FAST route: rendered as the FAST body.
#[derive(Debug)]
pub struct FastError(pub ApiError);

impl<E: Into<ApiError>> From<E> for FastError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for FastError {
    fn into_response(self) -> Response {
        self.0.log();
        let status = self.0.status();
        let mut r = (status, Json(self.0.fast_body())).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"parapheur\""),
            );
        } else if let ApiError::TooManyAttempts(s) = self.0 {
            // Always a real 429, whatever `[fast] error_status` says.
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        } else {
            r.extensions_mut().insert(FastErrorMarker);
        }
        r
    }
}

/// Errors of the native API: RFC 9457 problem+json with the same stable code.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let body = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: self.developer_message(),
            user_friendly_message: self.user_message().to_owned(),
            error_code: self.error_code(),
        };
        let mut r = (status, Json(body)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"parapheur\""),
            );
        }
        if let Self::TooManyAttempts(s) | Self::TooManyVerifications(s) = self {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}
