//! The FAST SOAP "Documents" service (`/parapheur-soap/soap/v1/Documents`, WSDL at `?wsdl`) for
//! Pastell, ESUP and the other SOAP clients: the same services, authentication and tenant
//! isolation as the REST routes; requests inline or MTOM/XOP, answers always inline base64 in
//! plain `text/xml` (those clients cannot read a multipart answer); errors as SOAP 1.1 faults
//! carrying the FAST error code.

pub mod message;

use crate::auth::{Caller, authenticate};
use crate::error::ApiError;
use crate::files::Upload;
use crate::service::access::authorize_subscriber;
use crate::service::deposit::{CircuitSource, DepositRequest, deposit};
use crate::service::{access, documents, fdc, helios, iso_date};
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use message::{Element, EnvelopeError, FaultCode, Value};
use parapheur_domain::{CircuitId, DocumentId, FileName, Siren};
use std::collections::HashMap;

pub const PATH: &str = "/parapheur-soap/soap/v1/Documents";

const WSDL: &str = include_str!("documents.wsdl");
const OPERATIONS: [&str; 9] = [
    "upload",
    "download",
    "history",
    "delete",
    "getCircuits",
    "getFdc",
    "getRefusalMessage",
    "listRemainingAcknowledgements",
    "downloadAcknowledgement",
];

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(wsdl).post(call))
}

/// The largest SOAP request: an upload at the limit, base64-encoded (4/3, with line breaks),
/// plus the envelope.
fn body_limit(max_upload: u64) -> usize {
    let encoded = max_upload.saturating_mul(4) / 3;
    usize::try_from(
        encoded
            .saturating_add(encoded / 38)
            .saturating_add(256 * 1024),
    )
    .unwrap_or(usize::MAX)
}

/// The WSDL, its address being this server's public URL (clients post to it).
pub fn render_wsdl(public_url: &str) -> String {
    let ops: String = OPERATIONS
        .iter()
        .map(|op| {
            format!(
                "<wsdl:operation name=\"{op}\"><soap:operation soapAction=\"\" style=\"document\"/>\
                 <wsdl:input><soap:body use=\"literal\"/></wsdl:input>\
                 <wsdl:output><soap:body use=\"literal\"/></wsdl:output>\
                 <wsdl:fault name=\"fastFault\"><soap:fault name=\"fastFault\" use=\"literal\"/></wsdl:fault>\
                 </wsdl:operation>\n    "
            )
        })
        .collect();
    let address = format!("{}{PATH}", public_url.trim_end_matches('/'));
    WSDL.replace("OPERATIONS", ops.trim_end())
        .replace("ADDRESS", &quick_xml::escape::escape(address.as_str()))
}

async fn wsdl(State(state): State<AppState>) -> Response {
    xml_response(StatusCode::OK, render_wsdl(&state.cfg.public_url))
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// A FAST error as a SOAP fault: HTTP 500 (401 with a challenge when unauthenticated).
fn fault(e: &ApiError) -> Response {
    e.log();
    let faultstring = match e {
        // Pastell recognises a duplicate PES by these words and marks it "Doublon".
        ApiError::DuplicatePes(n) => {
            format!("Erreur : un fichier PES avec le même nomfic a deja ete envoye ({n})")
        }
        _ => format!(
            "{} (code {} : {})",
            e.user_message(),
            e.error_code(),
            e.developer_message()
        ),
    };
    let code = if e.status().is_server_error() {
        FaultCode::Server
    } else {
        FaultCode::Client
    };
    let body = message::fault(
        code,
        &faultstring,
        e.error_code(),
        &e.developer_message(),
        e.user_message(),
    );
    if matches!(e, ApiError::Unauthenticated) {
        let mut r = xml_response(StatusCode::UNAUTHORIZED, body);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"parapheur\""),
        );
        return r;
    }
    if let ApiError::TooManyAttempts(secs) = e {
        let mut r = xml_response(StatusCode::TOO_MANY_REQUESTS, body);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
        return r;
    }
    xml_response(StatusCode::INTERNAL_SERVER_ERROR, body)
}

/// A message that is not a usable SOAP 1.1 request: a client fault with HTTP 400.
fn envelope_fault(e: &EnvelopeError) -> Response {
    tracing::info!(error = %e, "malformed SOAP request");
    let code = match e {
        EnvelopeError::VersionMismatch => FaultCode::VersionMismatch,
        _ => FaultCode::Client,
    };
    let api = ApiError::BadParameter(e.to_string());
    let body = message::fault(
        code,
        &format!("Requête SOAP invalide : {e}"),
        api.error_code(),
        &api.developer_message(),
        api.user_message(),
    );
    xml_response(StatusCode::BAD_REQUEST, body)
}

async fn call(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    // Who is calling is known from the headers and the connection: nobody unauthenticated gets
    // a large body buffered.
    let caller = match authenticate(&state, &parts).await {
        Ok(c) => c,
        Err(e) => return fault(&e),
    };
    let limit = body_limit(state.cfg.max_upload_bytes);
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return fault(&ApiError::TooLarge(state.cfg.max_upload_bytes));
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml");
    let (xml, attachments) = match split_mtom(content_type, bytes).await {
        Ok(x) => x,
        Err(e) => return fault(&e),
    };
    let op = match message::parse_request(&xml) {
        Ok(op) => op,
        Err(e) => return envelope_fault(&e),
    };
    tracing::debug!(operation = %op.name, user = %caller.email, "SOAP call");
    match dispatch(&state, &caller, &op, &attachments).await {
        Ok(returns) => xml_response(StatusCode::OK, message::response(&op.name, &returns)),
        Err(e) => fault(&e),
    }
}

/// MTOM/XOP (`multipart/related`): the root part (by `start`, else the first) and the other
/// parts by Content-ID. Anything else is the envelope itself.
pub(crate) async fn split_mtom(
    content_type: &str,
    body: Bytes,
) -> Result<(Bytes, HashMap<String, Bytes>), ApiError> {
    let Ok(mime) = content_type.parse::<mime::Mime>() else {
        return Ok((body, HashMap::new()));
    };
    if mime.type_() != mime::MULTIPART {
        return Ok((body, HashMap::new()));
    }
    let boundary = mime
        .get_param(mime::BOUNDARY)
        .ok_or_else(|| ApiError::BadParameter("multipart request without a boundary".into()))?
        .as_str()
        .to_owned();
    let start = mime
        .get_param("start")
        .map(|s| s.as_str().trim_matches(['<', '>']).to_owned());
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut root: Option<Bytes> = None;
    let mut parts = HashMap::new();
    let bad = |e: multer::Error| ApiError::BadParameter(format!("malformed MTOM request: {e}"));
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let id = field
            .headers()
            .get("content-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().trim_matches(['<', '>']).to_owned());
        let data = field.bytes().await.map_err(bad)?;
        let is_root = match (&start, &id) {
            (Some(s), Some(i)) => s == i,
            (Some(_), None) => false,
            (None, _) => root.is_none(),
        };
        if is_root && root.is_none() {
            root = Some(data);
        } else if let Some(id) = id {
            parts.insert(id, data);
        }
    }
    let root =
        root.ok_or_else(|| ApiError::BadParameter("MTOM request without its root part".into()))?;
    Ok((root, parts))
}

fn doc_id(op: &Element) -> Result<DocumentId, ApiError> {
    DocumentId::parse(&op.text_of("documentId")).map_err(|_| ApiError::InvalidDocId)
}

fn siren(op: &Element, name: &str) -> Result<Siren, ApiError> {
    Ok(Siren::parse(&op.text_of(name))?)
}

/// `true`/`1`/`yes` (any case) are true; anything else, `'false'` included, is false.
fn flag(op: &Element, name: &str) -> bool {
    matches!(
        op.text_of(name).to_ascii_lowercase().as_str(),
        "true" | "1" | "yes"
    )
}

fn b64(bytes: &[u8]) -> Value {
    Value::Text(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn content(bytes: &[u8], id: DocumentId) -> Value {
    Value::Fields(vec![
        ("content", b64(bytes)),
        ("documentId", Value::Text(id.to_string())),
    ])
}

/// The bytes of a base64Binary element: inline base64 or the MTOM part its xop:Include names.
fn binary(el: Option<&Element>, attachments: &HashMap<String, Bytes>) -> Result<Bytes, ApiError> {
    let el =
        el.ok_or_else(|| ApiError::BadParameter("dataFileVO.dataHandler is missing".into()))?;
    if let Some(href) = &el.include {
        let cid = crate::auth::percent_decode(href.trim().trim_start_matches("cid:"));
        return attachments.get(&cid).cloned().ok_or_else(|| {
            ApiError::BadParameter(format!("the MTOM part {cid:?} is not in the request"))
        });
    }
    let compact: Vec<u8> = el
        .text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map(Bytes::from)
        .map_err(|e| ApiError::BadParameter(format!("dataHandler is not valid base64: {e}")))
}

async fn dispatch(
    state: &AppState,
    caller: &Caller,
    op: &Element,
    attachments: &HashMap<String, Bytes>,
) -> Result<Vec<Value>, ApiError> {
    match op.name.as_str() {
        "upload" => {
            let siren = siren(op, "subscriberId")?;
            let circuit = CircuitId::parse(&op.text_of("circuitId"))?;
            let file = op
                .child("dataFileVO")
                .ok_or_else(|| ApiError::BadParameter("dataFileVO is missing".into()))?;
            let name = FileName::parse(&file.text_of("filename"))?;
            let bytes = binary(file.child("dataHandler"), attachments)?;
            let req = DepositRequest {
                siren,
                circuit: CircuitSource::Provisioned(circuit),
                file: Upload { name, bytes },
                annexes: Vec::new(),
                label: op.text_of("label"),
                comment: op.text_of("comment"),
                email_to: Vec::new(),
                email_cc: Vec::new(),
                agents: Vec::new(),
                otp: None,
                pictograms: None,
                deadline: String::new(),
            };
            let id = deposit(state, caller, req).await?;
            Ok(vec![Value::Text(id.to_string())])
        }
        "download" => {
            let id = doc_id(op)?;
            let doc = access::load(state, caller, id).await?;
            if doc.purged_at.is_some() {
                return Err(ApiError::ContentPurged);
            }
            let (_, bytes) = crate::service::download::package_bytes(
                state,
                &doc,
                flag(op, "fdc"),
                flag(op, "acquit"),
            )
            .await?;
            Ok(vec![content(&bytes, id)])
        }
        "history" => Ok(documents::history(state, caller, doc_id(op)?)
            .await?
            .entries
            .iter()
            .map(|h| {
                Value::Fields(vec![
                    ("date", Value::Text(iso_date(h.at_ms))),
                    ("stateName", Value::Text(h.state_name.clone())),
                    ("userFullName", Value::Text(h.user_fullname.clone())),
                ])
            })
            .collect()),
        "delete" => {
            documents::delete(state, caller, doc_id(op)?).await?;
            Ok(Vec::new())
        }
        "getCircuits" => {
            let siren = siren(op, "siren")?;
            authorize_subscriber(state, caller, &siren).await?;
            Ok(state
                .db
                .circuits(siren.as_str())
                .await?
                .into_iter()
                .map(|c| {
                    Value::Fields(vec![
                        ("circuitId", Value::Text(c.id.clone())),
                        ("circuitName", Value::Text(c.id)),
                        (
                            "circuitType",
                            Value::Text(c.circuit_type.as_str().to_owned()),
                        ),
                    ])
                })
                .collect())
        }
        "getFdc" => {
            let id = doc_id(op)?;
            let doc = access::load(state, caller, id).await?;
            Ok(vec![content(&fdc::build(state, &doc).await?, id)])
        }
        "getRefusalMessage" => Ok(vec![Value::Text(
            documents::refusal_comment(state, caller, doc_id(op)?).await?,
        )]),
        "listRemainingAcknowledgements" => {
            let siren = siren(op, "siren")?;
            Ok(helios::remaining(state, caller, &siren, helios::ACK)
                .await?
                .into_iter()
                .map(|id| Value::Text(id.to_string()))
                .collect())
        }
        "downloadAcknowledgement" => {
            let id = doc_id(op)?;
            let (_, bytes) = helios::download_ack(state, caller, id).await?;
            Ok(vec![content(&bytes, id)])
        }
        other => Err(ApiError::BadParameter(format!(
            "unknown operation {other:?}; the service offers {}",
            OPERATIONS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wsdl_is_well_formed_and_names_every_operation_and_the_public_address() {
        let w = render_wsdl("https://parapheur.example.fr/");
        let mut r = quick_xml::Reader::from_str(&w);
        let mut ops = Vec::new();
        let mut address = None;
        loop {
            match r.read_event().unwrap() {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                    let name = e.name();
                    if name.as_ref() == b"wsdl:operation" {
                        ops.push(
                            e.try_get_attribute("name")
                                .unwrap()
                                .unwrap()
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        );
                    }
                    if name.as_ref() == b"soap:address" {
                        address = Some(
                            e.try_get_attribute("location")
                                .unwrap()
                                .unwrap()
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        );
                    }
                }
                _ => {}
            }
        }
        // Each operation once in the port type and once in the binding.
        for op in OPERATIONS {
            assert_eq!(ops.iter().filter(|o| *o == op).count(), 2, "{op}");
        }
        assert_eq!(
            address.as_deref(),
            Some("https://parapheur.example.fr/parapheur-soap/soap/v1/Documents")
        );
    }

    #[test]
    fn the_body_limit_leaves_room_for_base64() {
        assert!(body_limit(1_000_000) > 1_000_000 * 4 / 3 + 1_000_000 / 38);
        assert!(body_limit(u64::MAX) >= usize::MAX / 3);
    }
}
