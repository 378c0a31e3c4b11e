//! Reading multipart bodies as FAST clients send them: chunked, parts without Content-Type,
//! repeated parts, field names in any case.

use crate::error::ApiError;
use crate::files::Upload;
use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use axum::http::StatusCode;
use bytes::Bytes;
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

fn multipart_error(status: StatusCode, limit: u64, detail: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(limit)
    } else {
        ApiError::BadParameter(format!("malformed multipart body: {detail}"))
    }
}

impl Form {
    /// Reads every part (the body limit is enforced by the router).
    pub async fn read(
        mp: Result<Multipart, MultipartRejection>,
        limit: u64,
    ) -> Result<Self, ApiError> {
        let mut mp = mp.map_err(|e| {
            ApiError::BadParameter(format!("a multipart/form-data body is expected ({e})"))
        })?;
        let mut parts = Vec::new();
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e.status(), limit, e.body_text())),
            };
            let name = field.name().unwrap_or_default().to_ascii_lowercase();
            let file_name = field.file_name().map(str::to_owned);
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_error(e.status(), limit, e.body_text()))?;
            parts.push(Part {
                name,
                file_name,
                bytes,
            });
        }
        Ok(Self { parts })
    }

    /// The text of the first part named `name` (any case), trimmed; empty when absent.
    pub fn text(&self, name: &str) -> Result<String, ApiError> {
        let name = name.to_ascii_lowercase();
        match self.parts.iter().find(|p| p.name == name) {
            Some(p) => String::from_utf8(p.bytes.to_vec())
                .map(|s| s.trim().to_owned())
                .map_err(|_| ApiError::BadParameter(format!("{name} is not UTF-8 text"))),
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

    /// Every file part named `name`, in order (empty parts without a file name are skipped).
    pub fn files(&self, name: &str) -> Result<Vec<Upload>, ApiError> {
        self.parts
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case(name))
            .filter(|p| {
                !(p.bytes.is_empty() && p.file_name.as_deref().unwrap_or_default().is_empty())
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
