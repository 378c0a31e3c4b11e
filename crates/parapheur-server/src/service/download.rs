//! The document as delivered: the raw signed file, or a ZIP with its detached signatures, its
//! Helios acknowledgement and the fiche de circulation (FAST download, SOAP, portal, OTP page).

use crate::error::ApiError;
use crate::service::fdc;
use crate::state::AppState;
use parapheur_store::documents::DocumentRow;
use std::io::Write;

/// The file name of a document's fiche de circulation.
pub fn fdc_name(id: i64) -> String {
    format!("fiche-de-circulation-{id}.pdf")
}

/// The document as delivered, with its file name: the raw signed file, or a ZIP with its
/// detached signatures, its Helios acknowledgement and the fiche de circulation when asked.
pub async fn package_bytes(
    state: &AppState,
    doc: &DocumentRow,
    with_fdc: bool,
    with_acquit: bool,
) -> Result<(String, Vec<u8>), ApiError> {
    let bytes = match state.blobs.get(&doc.blob_key).await {
        // Signed meanwhile (perhaps by another instance), which removed the version read: the
        // current one is delivered.
        Err(parapheur_store::StoreError::BlobNotFound(_)) => {
            let now = state.db.document(doc.id).await?.ok_or(ApiError::NotFound)?;
            state.blobs.get(&now.blob_key).await?
        }
        other => other?,
    };
    // Detached signatures (XAdES) travel with the document they sign.
    let signatures = state.db.detached_signatures(doc.id).await?;
    if !with_fdc && !with_acquit && signatures.is_empty() {
        return Ok((doc.filename.clone(), bytes));
    }
    // A ZIP with the document, its detached signatures, its Helios acknowledgement and the
    // fiche de circulation when asked.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let zerr = |e: zip::result::ZipError| ApiError::Internal(e.into());
    zip.start_file(doc.filename.as_str(), opts).map_err(zerr)?;
    zip.write_all(&bytes)
        .map_err(|e| ApiError::Internal(e.into()))?;
    for sig in signatures {
        let sig_bytes = state.blobs.get(&sig.blob_key).await?;
        zip.start_file(sig.filename.as_str(), opts).map_err(zerr)?;
        zip.write_all(&sig_bytes)
            .map_err(|e| ApiError::Internal(e.into()))?;
    }
    if with_acquit && let Some(ack) = state.db.acknowledgement(doc.id).await? {
        let ack_bytes = state.blobs.get(&ack.blob_key).await?;
        zip.start_file(ack.filename.as_str(), opts).map_err(zerr)?;
        zip.write_all(&ack_bytes)
            .map_err(|e| ApiError::Internal(e.into()))?;
    }
    if with_fdc {
        let pdf = fdc::build(state, doc).await?;
        zip.start_file(fdc_name(doc.id), opts).map_err(zerr)?;
        zip.write_all(&pdf)
            .map_err(|e| ApiError::Internal(e.into()))?;
    }
    let out = zip.finish().map_err(zerr)?.into_inner();
    Ok((format!("{}.zip", doc.filename), out))
}
