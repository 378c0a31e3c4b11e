//! `GET documents/v2/{id}/history`: the chronological history of a document.

use super::doc_id;
use crate::auth::{Caller, FastCaller};
use crate::error::ApiError;
use crate::error::FastError;
use crate::service::{documents, iso_date};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parapheur_domain::DocumentId;
use serde::Serialize;
use std::sync::Arc;

/// One event of a document's history.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    user_fullname: String,
    date: String,
    state_name: String,
}

#[utoipa::path(get, path = "/parapheur-ws/rest/v1/documents/v2/{id}/history", operation_id = "history", tag = "FAST",
    params(("id" = i64, Path, description = "The document identifier returned by the deposit")),
    responses((status = 200, description = "The history, oldest first", body = Vec<HistoryEntry>)))]
pub async fn history(
    State(state): State<AppState>,
    FastCaller(caller): FastCaller,
    Path(id): Path<String>,
) -> Result<Response, FastError> {
    answer(&state, &caller, doc_id(&id)?).await
}

/// The route's template, as the router matches it (the hot lane answers under the same name in
/// the metrics and the access log).
pub const TEMPLATE: &str = "/parapheur-ws/rest/v1/documents/v2/{id}/history";

/// The prefix and suffix of [`TEMPLATE`] around the id.
const PREFIX: &str = "/parapheur-ws/rest/v1/documents/v2/";
const SUFFIX: &str = "/history";

/// The document of a `GET` that [`hot`] may answer ahead of the router: the path is exactly
/// [`TEMPLATE`] with a plain decimal id that parses. Anything else (another method, a
/// percent-encoded or malformed id) goes through the router, which answers it as before.
pub fn hot_target(req: &Request) -> Option<DocumentId> {
    if req.method() != Method::GET {
        return None;
    }
    let id = req
        .uri()
        .path()
        .strip_prefix(PREFIX)?
        .strip_suffix(SUFFIX)?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    DocumentId::parse(id).ok()
}

/// The route's answer ahead of the router (the hot lane, see [`crate::observe`]): the same
/// caller extraction and the same [`answer`] as [`history`], without the router's matching,
/// path parameters and boxed layers. Clients poll the history of every document they wait
/// for, again and again (CLIENTS.md: "history must be cheap").
pub async fn hot(state: AppState, req: Request, id: DocumentId) -> Response {
    let (mut parts, _body) = req.into_parts();
    let answered = async {
        let FastCaller(caller) = FastCaller::from_request_parts(&mut parts, &state).await?;
        answer(&state, &caller, id).await
    };
    answered.await.into_response()
}

/// The history of `id` as `caller` may read it, in the FAST JSON form.
async fn answer(state: &AppState, caller: &Caller, id: DocumentId) -> Result<Response, FastError> {
    let snap = documents::history(state, caller, id).await?;
    // Encoded once per cached snapshot: clients poll the history far more than it changes.
    let body = match snap.encoded.get() {
        Some(b) => b.clone(),
        None => {
            let entries: Vec<HistoryEntry> = snap
                .entries
                .iter()
                .map(|h| HistoryEntry {
                    user_fullname: h.user_fullname.clone(),
                    date: iso_date(h.at_ms),
                    state_name: h.state_name.clone(),
                })
                .collect();
            let json: Arc<[u8]> = serde_json::to_vec(&entries)
                .map_err(|e| ApiError::Internal(e.into()))?
                .into();
            snap.encoded.get_or_init(|| json).clone()
        }
    };
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        Bytes::from_owner(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(method: Method, uri: &str) -> Option<i64> {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::empty())
            .ok()?;
        hot_target(&req).map(DocumentId::get)
    }

    #[test]
    fn only_plain_history_reads_take_the_hot_lane() {
        assert_eq!(format!("{PREFIX}{{id}}{SUFFIX}"), TEMPLATE);
        let v2 = "/parapheur-ws/rest/v1/documents/v2";
        assert_eq!(target(Method::GET, &format!("{v2}/42/history")), Some(42));
        // The query plays no part in routing, here as in the router.
        assert_eq!(
            target(Method::GET, &format!("{v2}/42/history?x=1")),
            Some(42)
        );
        for uri in [
            format!("{v2}/%342/history"),
            format!("{v2}/abc/history"),
            format!("{v2}//history"),
            format!("{v2}/-1/history"),
            format!("{v2}/42/history/"),
            format!("{v2}/42/historyx"),
            format!("{v2}/99999999999999999999999/history"),
            "/parapheur-ws/rest/v1/documents/v1/42/history".to_owned(),
        ] {
            assert_eq!(target(Method::GET, &uri), None, "{uri}");
        }
        assert_eq!(target(Method::HEAD, &format!("{v2}/42/history")), None);
        assert_eq!(target(Method::POST, &format!("{v2}/42/history")), None);
    }
}
