//! The OpenAPI 3.1 description of the FAST routes, the native API and the operations endpoints
//! (`GET /api/v1/openapi.json`, CONTRACT §13).
//!
//! Each operation is described by the `#[utoipa::path]` attribute of its handler, and the
//! routers register handlers through those attributes (`utoipa_axum::routes!`), so a route
//! cannot exist without its description nor be described at another path. This module adds
//! what is common to many operations — the error bodies, the authentication schemes — and the
//! schemas of bodies the handlers build or read as free JSON.

use crate::config::Config;
use crate::error::{FastErrorBody, Problem};
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{OneOfBuilder, Schema};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa::{OpenApi as _, ToSchema};

/// Where the FAST routes are mounted.
pub const FAST_PREFIX: &str = "/parapheur-ws/rest/v1";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "parapheur",
        description = "Electronic signature workflows for French public bodies. The FAST \
            Parapheur REST routes (`/parapheur-ws/rest/v1`, wire-compatible), the native JSON \
            API (`/api/v1`) and the operations endpoints. FAST routes answer business errors \
            with the FAST error body and the configured `[fast] error_status` (200 by default, \
            as FAST Parapheur does); the native API answers RFC 9457 problem details with the \
            same `errorCode`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    components(schemas(FastErrorBody, Problem)),
    tags(
        (name = "FAST", description = "The FAST Parapheur REST web service, wire-compatible"),
        (name = "native", description = "The native JSON API for acting on documents"),
        (name = "operations", description = "Health, metrics and the signing authority")
    )
)]
struct Base;

/// The description of every documented route, finished with the conventions that hold for
/// all of them under this configuration.
pub fn finish(mut api: OpenApi, cfg: &Config) -> OpenApi {
    let base = Base::openapi();
    api.info = base.info;
    api.tags = base.tags;
    let components = api.components.get_or_insert_with(Default::default);
    if let Some(c) = base.components {
        components.schemas.extend(c.schemas);
    }
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
    );
    components.add_security_scheme(
        "mutualTLS",
        SecurityScheme::MutualTls {
            description: None,
            extensions: None,
            deprecated: None,
        },
    );
    let errors_with_200 = cfg.fast.error_status == 200;
    for (path, item) in api.paths.paths.iter_mut() {
        let fast = path.starts_with(FAST_PREFIX);
        let public = matches!(
            path.as_str(),
            "/healthz" | "/metrics" | "/api/v1/openapi.json"
        ) || path.starts_with("/api/v1/pki/");
        for op in operations(item) {
            if !public {
                op.security = Some(vec![
                    SecurityRequirement::new("basic", Vec::<String>::new()),
                    SecurityRequirement::new("mutualTLS", Vec::<String>::new()),
                ]);
            }
            if fast {
                fast_errors(op, errors_with_200);
            } else if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" {
                problem_errors(op);
            }
        }
    }
    api
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn error_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// FAST routes: the FAST error body as the `default` answer and, when business errors answer
/// 200, as an alternative body of the 200 answer.
fn fast_errors(op: &mut Operation, errors_with_200: bool) {
    let error = ContentBuilder::new()
        .schema(Some(error_ref("FastError")))
        .build();
    if errors_with_200 && let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
        if ok.content.is_empty() {
            ok.description.push_str(
                " The body is empty; a FAST error body (application/json) comes with this \
                 status too when `[fast] error_status` is 200.",
            );
        } else {
            add_alternative(ok, "FastError", "application/json");
        }
    }
    op.responses.responses.insert(
        "default".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description(
                    "A FAST error: the status is `[fast] error_status` for business errors, \
                     401 without valid credentials, 429 after too many failed attempts.",
                )
                .content("application/json", error)
                .build(),
        ),
    );
}

/// Adds `name` as a possible body of `media_type` to a response.
fn add_alternative(r: &mut Response, name: &str, media_type: &str) {
    match r.content.get_mut(media_type) {
        Some(RefOr::T(content)) => {
            let own = content.schema.take();
            let mut one_of = OneOfBuilder::new();
            if let Some(s) = own {
                one_of = one_of.item(s);
            }
            content.schema = Some(RefOr::T(Schema::OneOf(
                one_of.item(error_ref(name)).build(),
            )));
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            r.content.insert(
                media_type.into(),
                RefOr::T(ContentBuilder::new().schema(Some(error_ref(name))).build()),
            );
        }
    }
}

/// Native API: problem details as the `default` answer.
fn problem_errors(op: &mut Operation) {
    op.responses.responses.insert(
        "default".into(),
        RefOr::T(
            ResponseBuilder::new()
                .description("An error, as RFC 9457 problem details with the FAST `errorCode`.")
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(error_ref("Problem")))
                        .build(),
                )
                .build(),
        ),
    );
}

// ---- Bodies read or written as free JSON or multipart, described here ----

/// `POST documents/v2/{siren}/{circuit}/upload` (multipart/form-data).
#[derive(Serialize, ToSchema)]
pub struct UploadForm {
    /// The document (`content` is accepted too).
    #[schema(value_type = String, format = Binary)]
    pub doc: Vec<u8>,
    /// Annexes, as many parts as there are files.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    pub annexes: Option<Vec<u8>>,
    pub label: Option<String>,
    pub comment: Option<String>,
    /// Deadline, `YYYY-MM-DD`.
    pub date_limite: Option<String>,
    /// E-mail addresses told when the document is delivered, comma-separated.
    #[serde(rename = "emailDestinataire")]
    pub email_destinataire: Option<String>,
    pub email_cc: Option<String>,
}

/// `POST documents/ondemand/{siren}/upload` (multipart/form-data).
#[derive(Serialize, ToSchema)]
pub struct OnDemandForm {
    /// The document (`content` is accepted too).
    #[schema(value_type = String, format = Binary)]
    pub doc: Vec<u8>,
    /// The circuit as JSON: `{"type": "BUREAUTIQUE_PDF", "steps": [{"type": "VISA", "members": ["a@b.fr"]}]}`.
    pub circuit: String,
    /// Names the circuit; the FAST rule on circuit identifiers then applies.
    pub circuit_id: Option<String>,
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    pub annexes: Option<Vec<u8>>,
    pub label: Option<String>,
    pub comment: Option<String>,
    pub date_limite: Option<String>,
    pub email_destinataire: Option<String>,
    pub email_cc: Option<String>,
    /// Agents who may act for the members, comma-separated e-mail addresses.
    pub agents: Option<String>,
    /// Signature pictograms, XML.
    pub pictograms: Option<String>,
}

/// `POST documents/v2/otp/{siren}/{circuit}/upload` (multipart/form-data).
#[derive(Serialize, ToSchema)]
pub struct OtpUploadForm {
    #[schema(value_type = String, format = Binary)]
    pub doc: Vec<u8>,
    /// The OTP information XML (`otpinformation` is accepted too).
    #[schema(value_type = String, format = Binary)]
    pub meta: Vec<u8>,
    /// Where the signer returns after signing (255 characters at most).
    pub referer: Option<String>,
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    pub annexes: Option<Vec<u8>>,
    pub label: Option<String>,
    pub comment: Option<String>,
    pub date_limite: Option<String>,
    #[serde(rename = "emailDestinataire")]
    pub email_destinataire: Option<String>,
    pub email_cc: Option<String>,
}

/// `PUT documents/v2/{id}/metadata/define` (multipart/form-data).
#[derive(Serialize, ToSchema)]
pub struct MetadataForm {
    /// The metadata XML (1 MiB at most).
    #[schema(value_type = String, format = Binary)]
    pub metadata: Vec<u8>,
}

/// `PUT documents/v2/otp/{id}/metadata/define` (multipart/form-data).
#[derive(Serialize, ToSchema)]
pub struct OtpInformationForm {
    /// The OTP information XML (`meta` is accepted too).
    #[schema(value_type = String, format = Binary)]
    pub otpinformation: Vec<u8>,
}

/// A multipart body with one `file` part.
#[derive(Serialize, ToSchema)]
pub struct FileForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `POST /api/v1/subscribers/{siren}/inbound/{kind}` (multipart/form-data).
#[derive(Serialize, ToSchema)]
pub struct InboundForm {
    /// The flow, XML.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The document an acknowledgement is about (`ack` only).
    pub document_id: Option<String>,
}

/// `POST documents/search`.
#[derive(Serialize, ToSchema)]
pub struct SearchQuery {
    pub siren: String,
    /// A FAST state name (`Signé`, `Refusé`…) or a search term of the documentation.
    pub state: Option<String>,
    pub circuit: Option<String>,
}

/// The answer of the OTP deposit.
#[derive(Serialize, ToSchema)]
pub struct OtpDeposited {
    pub id: i64,
    /// The signing page's address, for the signer.
    pub url: Option<String>,
}

/// An address of the OTP signing page.
#[derive(Serialize, ToSchema)]
pub struct OtpUrl {
    pub url: String,
}

/// The refusal comment of a document.
#[derive(Serialize, ToSchema)]
pub struct RefusalComment {
    pub comment: String,
}

/// `GET exportUsersData`.
#[derive(Serialize, ToSchema)]
pub struct UsersExport {
    pub users: Vec<ExportedUser>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedUser {
    pub nom: String,
    pub prenom: String,
    pub email: String,
    /// `BASIC`, `CERTIFICAT` or `OTP`.
    #[serde(rename = "authenticationType")]
    pub authentication_type: String,
    pub groups: Vec<String>,
    pub circuits: Vec<CircuitRole>,
    /// `admin` for subscriber administrators.
    pub roles: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CircuitRole {
    pub circuit: String,
    /// The step kind, or `depositor`.
    pub role: String,
    /// The step's position, from 1 (members only).
    pub step: Option<u32>,
}

/// One user of `PUT synchronization/{siren}/users`.
#[derive(Serialize, ToSchema)]
pub struct SyncUser {
    pub email: String,
    /// 1–255 characters.
    #[serde(rename = "firstName")]
    pub first_name: String,
    /// 1–255 characters.
    #[serde(rename = "lastName")]
    pub last_name: String,
    /// `BASIC` or `CERTIFICAT`.
    #[serde(rename = "authenticationType")]
    pub authentication_type: String,
    /// The user's groups in this subscriber, exactly (1–255 characters each).
    pub groups: Option<Vec<String>>,
}

/// What the synchronisation could not apply as asked, and why: an entry (`index`, `email`), a
/// user kept or left partly unchanged (`email`), or a circuit (`circuit`).
#[derive(Serialize, ToSchema)]
pub struct SyncProblem {
    /// The entry's position in the body, from 0.
    pub index: Option<u64>,
    /// The entry's `email` as sent (any JSON value).
    pub email: Option<serde_json::Value>,
    /// A circuit the change leaves without members.
    pub circuit: Option<String>,
    pub errors: Vec<String>,
}

/// An optional comment on an action.
#[derive(Serialize, ToSchema)]
pub struct ActionComment {
    /// 4,000 characters at most; required to reject or refuse.
    #[schema(max_length = 4000)]
    pub comment: Option<String>,
}

/// A document after an action.
#[derive(Serialize, ToSchema)]
pub struct ActionDone {
    pub id: i64,
    /// The document's status.
    pub status: String,
    /// The current step's index, from 0.
    #[serde(rename = "currentStep")]
    pub current_step: i64,
}

/// The identifier of what was created.
#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// A comment's text.
#[derive(Serialize, ToSchema)]
pub struct CommentText {
    pub text: String,
}

/// A comment on a document.
#[derive(Serialize, ToSchema)]
pub struct CommentView {
    pub id: i64,
    pub author: String,
    pub text: String,
    /// ISO 8601.
    pub date: String,
}

/// A document whose circuit was stopped.
#[derive(Serialize, ToSchema)]
pub struct Interrupted {
    pub id: i64,
    /// `Classé (interrompu)`.
    pub state: &'static str,
}

/// A recorded return flow.
#[derive(Serialize, ToSchema)]
pub struct Inbound {
    pub id: i64,
    pub kind: String,
}
