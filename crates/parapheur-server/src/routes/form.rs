//! Reading multipart bodies as FAST clients send them: chunked, parts without Content-Type,
//! repeated parts, field names in any case.

use crate::auth::{Caller, FastCaller};
use crate::error::{ApiError, FastError};
use crate::files::Upload;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use futures_util::StreamExt;
use parapheur_domain::FileName;

#[derive(Debug)]
pub struct Part {
    /// Lower-case field name.
    pub name: String,
    pub file_name: Option<String>,
    pub bytes: Bytes,
}

#[derive(Debug, Default)]
pub struct Form {
    pub parts: Vec<Part>,
}

/// What is read of an unauthenticated request's body before answering 401.
const UNAUTHENTICATED_DRAIN: u64 = 256 * 1024;

/// Reading stops being useful past this many times the limit: the connection is dropped.
const DRAIN_FACTOR: u64 = 4;

/// Counts body bytes; past `limit` it keeps reading and discarding (up to `limit * DRAIN_FACTOR`)
/// so that the client, which is still sending, gets the FAST error instead of a reset.
fn limited(
    body: Body,
    limit: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let inner = body.into_data_stream();
    futures_util::stream::unfold(
        (inner, 0u64, false),
        move |(mut inner, mut seen, done)| async move {
            if done {
                return None;
            }
            match inner.next().await {
                None => None,
                Some(Err(e)) => Some((Err(std::io::Error::other(e)), (inner, seen, true))),
                Some(Ok(chunk)) => {
                    seen += chunk.len() as u64;
                    if seen <= limit {
                        return Some((Ok(chunk), (inner, seen, false)));
                    }
                    while seen <= limit.saturating_mul(DRAIN_FACTOR) {
                        match inner.next().await {
                            Some(Ok(c)) => seen += c.len() as u64,
                            Some(Err(_)) | None => break,
                        }
                    }
                    Some((Err(std::io::Error::other(TooLarge)), (inner, seen, true)))
                }
            }
        },
    )
}

#[derive(Debug)]
struct TooLarge;
impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("body too large")
    }
}
impl std::error::Error for TooLarge {}

fn multipart_error(e: multer::Error, limit: u64) -> ApiError {
    let too_large = match &e {
        multer::Error::StreamReadFailed(inner) => inner
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|i| i.is::<TooLarge>()),
        _ => false,
    };
    if too_large {
        ApiError::TooLarge(limit)
    } else {
        ApiError::BadParameter(format!("malformed multipart body: {e}"))
    }
}

impl Form {
    /// Reads every part of a `multipart/form-data` body, enforcing `limit` on the whole body.
    pub async fn read(headers: &HeaderMap, body: Body, limit: u64) -> Result<Self, ApiError> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let boundary = multer::parse_boundary(ct).map_err(|e| {
            ApiError::BadParameter(format!("a multipart/form-data body is expected ({e})"))
        })?;
        let mut mp = multer::Multipart::new(limited(body, limit), boundary);
        let mut parts = Vec::new();
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e, limit)),
            };
            let name = field.name().unwrap_or_default().to_ascii_lowercase();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|e| multipart_error(e, limit))?;
            parts.push(Part {
                name,
                file_name,
                bytes,
            });
        }
        Ok(Self { parts })
    }

    /// Reads the body of an authenticated request; for a request whose authentication failed,
    /// drains a small body first so the client reads the 401 instead of a reset (a large one is
    /// cut short: nobody unauthenticated gets the full upload limit).
    pub async fn read_authenticated(
        caller: Result<FastCaller, FastError>,
        headers: &HeaderMap,
        body: Body,
        limit: u64,
    ) -> Result<(Caller, Self), FastError> {
        match caller {
            Ok(FastCaller(c)) => Ok((c, Self::read(headers, body, limit).await?)),
            Err(e) => {
                let _ = Self::read(headers, body, UNAUTHENTICATED_DRAIN).await;
                Err(e)
            }
        }
    }

    /// The text of the first part named `name` (any case), trimmed; empty when absent.
    pub fn text(&self, name: &str) -> Result<String, ApiError> {
        let name = name.to_ascii_lowercase();
        match self.parts.iter().find(|p| p.name == name) {
            Some(p) => {
                let s = String::from_utf8(p.bytes.to_vec())
                    .map_err(|_| ApiError::BadParameter(format!("{name} is not UTF-8 text")))?;
                crate::routes::no_nul(&name, &s)?;
                Ok(s.trim().to_owned())
            }
            None => Ok(String::new()),
        }
    }

    /// The first file among parts named like one of `names`.
    pub fn file(&self, names: &[&str]) -> Result<Option<Upload>, ApiError> {
        self.parts
            .iter()
            .find(|p| names.iter().any(|n| p.name.eq_ignore_ascii_case(n)))
            .map(to_upload)
            .transpose()
    }

    /// Every file part named `name`, in order. Text parts (no file name at all) are not files
    /// and are skipped: Maarch Courrier sends `annexes=Array` when it has none (PHP's string
    /// for an empty list). A file part with an empty name and no bytes is skipped too; one with
    /// bytes but an empty name is refused.
    pub fn files(&self, name: &str) -> Result<Vec<Upload>, ApiError> {
        self.parts
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case(name))
            .filter(|p| match p.file_name.as_deref() {
                None => false,
                Some(n) => !(p.bytes.is_empty() && n.is_empty()),
            })
            .map(to_upload)
            .collect()
    }
}

fn to_upload(p: &Part) -> Result<Upload, ApiError> {
    let raw = p
        .file_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::BadParameter(format!("the part {} has no file name", p.name)))?;
    Ok(Upload {
        name: FileName::parse(raw)?,
        bytes: p.bytes.clone(),
    })
}
