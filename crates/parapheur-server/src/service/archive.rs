//! The electronic vault of `archive` steps. An archived package is a directory written once,
//! `<vault>/<siren>/<document id>/`: the signed document, its annexes, its detached signatures,
//! the fiche de circulation, the history as JSON, and `manifest.json` listing every file with
//! its SHA-256; with `[archive] format = "seda"`, also `manifest.xml`, a SEDA 2.1
//! `ArchiveTransfer` message (the package French SAE such as As@lae or Vitam ingest). The
//! directory is assembled under a temporary name, fsynced, then renamed: it exists complete or
//! not at all, and a second run finds it and does not rewrite it.

use crate::config::{ArchiveFormat, StorageUrl};
use crate::error::ApiError;
use crate::state::AppState;
use parapheur_store::documents::DocumentRow;
use parapheur_store::lifecycle::ArchiveRecord;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An electronic vault: receives a document's package once.
pub enum Vault {
    Directory(DirectoryVault),
    S3(S3Vault),
}

impl Vault {
    /// The package of a document archived earlier, if any.
    async fn find(&self, doc: &DocumentRow) -> Option<ArchiveRecord> {
        match self {
            Self::Directory(d) => d.find(doc),
            Self::S3(s) => s.find(doc).await,
        }
    }

    /// Archives the package of `doc` (or finds it archived earlier) and says where it is.
    async fn put_package(
        self,
        doc: DocumentRow,
        org: String,
        items: Vec<Item>,
    ) -> Result<ArchiveRecord, ApiError> {
        match self {
            // Files written and fsynced one by one: on a blocking thread.
            Self::Directory(d) => {
                tokio::task::spawn_blocking(move || d.put_package(&doc, &org, items))
                    .await
                    .map_err(anyhow::Error::from)?
            }
            Self::S3(s) => s.put_package(&doc, &org, items).await,
        }
    }
}

/// The write-once directory vault (`file://DIR`), with a JSON manifest and optionally the
/// SEDA 2.1 message.
pub struct DirectoryVault {
    pub root: PathBuf,
    pub seda: bool,
}

impl DirectoryVault {
    fn dir(&self, doc: &DocumentRow) -> PathBuf {
        self.root.join(safe(&doc.siren)).join(doc.id.to_string())
    }
}

impl DirectoryVault {
    fn put_package(
        &self,
        doc: &DocumentRow,
        org: &str,
        items: Vec<Item>,
    ) -> Result<ArchiveRecord, ApiError> {
        write_package(&self.dir(doc), doc, org, items, self.seda)
    }
    fn find(&self, doc: &DocumentRow) -> Option<ArchiveRecord> {
        let dir = self.dir(doc);
        std::fs::read(dir.join("manifest.json"))
            .ok()
            .map(|m| ArchiveRecord {
                location: dir.display().to_string(),
                manifest_sha256: hex::encode(Sha256::digest(&m)),
            })
    }
}

/// A file of the package: its path in the directory and its bytes.
pub struct Item {
    path: String,
    bytes: Vec<u8>,
    mime: &'static str,
}

fn mime(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("xml") => "application/xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// A file name made safe for the vault (no separators, no leading dot).
fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    s.trim_start_matches('.').to_owned()
}

/// The vault of `[archive]`: a directory (`file://DIR`) or a bucket (`s3://bucket/prefix`).
fn vault(state: &AppState) -> Result<Vault, ApiError> {
    let seda = match state.cfg.archive.format {
        ArchiveFormat::Seda => true,
        ArchiveFormat::Manifest => false,
    };
    Ok(match &state.cfg.archive.vault {
        StorageUrl::S3(url) => Vault::S3(S3Vault {
            objects: parapheur_store::s3::S3Objects::open(url)?,
            seda,
        }),
        StorageUrl::Directory(root) => Vault::Directory(DirectoryVault {
            root: root.clone(),
            seda,
        }),
    })
}

/// Archives the document into the vault (or finds it archived earlier).
pub async fn archive_document(
    state: &AppState,
    doc: &DocumentRow,
) -> Result<ArchiveRecord, ApiError> {
    let vault = vault(state)?;
    if let Some(found) = vault.find(doc).await {
        return Ok(found);
    }
    let get = |key: String| {
        let blobs = state.blobs.clone();
        async move { blobs.get(&key).await.map_err(ApiError::from) }
    };
    let mut items = vec![Item {
        path: format!("document/{}", safe(&doc.filename)),
        bytes: get(doc.blob_key.clone()).await?,
        mime: mime(&doc.filename),
    }];
    for a in state.db.annexes(doc.id).await? {
        items.push(Item {
            path: format!("annexes/{}-{}", a.id, safe(&a.filename)),
            bytes: get(a.blob_key.clone()).await?,
            mime: mime(&a.filename),
        });
    }
    for s in state.db.detached_signatures(doc.id).await? {
        items.push(Item {
            path: format!("signatures/{}", safe(&s.filename)),
            bytes: get(s.blob_key.clone()).await?,
            mime: "application/xml",
        });
    }
    items.push(Item {
        path: "fiche-de-circulation.pdf".into(),
        bytes: crate::service::fdc::build(state, doc).await?,
        mime: "application/pdf",
    });
    let history: Vec<serde_json::Value> = state
        .db
        .history(doc.id)
        .await?
        .iter()
        .map(|h| {
            json!({
                "date": crate::service::iso_date(h.at_ms),
                "userFullname": h.user_fullname,
                "stateName": h.state_name,
                "comment": h.comment,
            })
        })
        .collect();
    items.push(Item {
        path: "history.json".into(),
        bytes: serde_json::to_vec_pretty(&history).map_err(anyhow::Error::from)?,
        mime: "application/json",
    });
    let org = state
        .db
        .subscriber_name(&doc.siren)
        .await?
        .unwrap_or_default();
    let doc = doc.clone();
    vault.put_package(doc, org, items).await
}

fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    let mut perms = f.metadata()?.permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(path, perms)
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// The files of a package, `manifest.json` last (it lists every other file with its SHA-256;
/// written last, it marks a complete package).
fn package_files(
    doc: &DocumentRow,
    org: &str,
    items: Vec<Item>,
    seda: bool,
) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    let now = crate::clock::now();
    let mut files = Vec::new();
    for it in &items {
        files.push(json!({
            "path": it.path,
            "size": it.bytes.len(),
            "sha256": hex::encode(Sha256::digest(&it.bytes)),
            "mimeType": it.mime,
        }));
    }
    let xml = seda.then(|| seda_manifest(doc, org, &items, &now.to_rfc3339()));
    if let Some(xml) = &xml {
        files.push(json!({
            "path": "manifest.xml",
            "size": xml.len(),
            "sha256": hex::encode(Sha256::digest(xml.as_bytes())),
            "mimeType": "application/xml",
        }));
    }
    let manifest = serde_json::to_vec_pretty(&json!({
        "siren": doc.siren,
        "organization": org,
        "documentId": doc.id,
        "filename": doc.filename,
        "label": doc.label,
        "circuitType": doc.circuit_type.as_str(),
        "archivedAt": now.to_rfc3339(),
        "files": files,
    }))
    .map_err(anyhow::Error::from)?;
    let mut out: Vec<(String, Vec<u8>)> = items.into_iter().map(|i| (i.path, i.bytes)).collect();
    if let Some(xml) = xml {
        out.push(("manifest.xml".into(), xml.into_bytes()));
    }
    out.push(("manifest.json".into(), manifest));
    Ok(out)
}

fn write_package(
    final_dir: &Path,
    doc: &DocumentRow,
    org: &str,
    items: Vec<Item>,
    seda: bool,
) -> Result<ArchiveRecord, ApiError> {
    let io = |e: std::io::Error| ApiError::Internal(anyhow::anyhow!("vault: {e}"));
    let parent = final_dir
        .parent()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("vault: no parent")))?;
    std::fs::create_dir_all(parent).map_err(io)?;
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        doc.id,
        hex::encode(rand::random::<[u8; 8]>())
    ));
    for (path, bytes) in package_files(doc, org, items, seda)? {
        write_file(&tmp.join(&path), &bytes).map_err(io)?;
    }
    for sub in ["document", "annexes", "signatures"] {
        let d = tmp.join(sub);
        if d.exists() {
            sync_dir(&d).map_err(io)?;
        }
    }
    sync_dir(&tmp).map_err(io)?;
    match std::fs::rename(&tmp, final_dir) {
        Ok(()) => {}
        // Another run archived it meanwhile: keep that one.
        Err(_) if final_dir.join("manifest.json").exists() => {
            let _ = remove_tree(&tmp);
            let m = std::fs::read(final_dir.join("manifest.json")).map_err(io)?;
            return Ok(ArchiveRecord {
                location: final_dir.display().to_string(),
                manifest_sha256: hex::encode(Sha256::digest(&m)),
            });
        }
        Err(e) => return Err(io(e)),
    }
    sync_dir(parent).map_err(io)?;
    let m = std::fs::read(final_dir.join("manifest.json")).map_err(io)?;
    Ok(ArchiveRecord {
        location: final_dir.display().to_string(),
        manifest_sha256: hex::encode(Sha256::digest(&m)),
    })
}

/// The vault in an S3-compatible bucket (`s3://bucket/prefix`): `<prefix>/<siren>/<id>/...`
/// with the same files, `manifest.json` written last (present: the package is complete; a
/// second run finds it and does not rewrite anything). Write-once is the bucket's business
/// (object lock / retention policies); the service only never overwrites a complete package.
pub struct S3Vault {
    pub objects: parapheur_store::s3::S3Objects,
    pub seda: bool,
}

impl S3Vault {
    fn key(doc: &DocumentRow, path: &str) -> String {
        format!("{}/{}/{path}", safe(&doc.siren), doc.id)
    }
}

impl S3Vault {
    async fn put_package(
        &self,
        doc: &DocumentRow,
        org: &str,
        items: Vec<Item>,
    ) -> Result<ArchiveRecord, ApiError> {
        if let Some(found) = self.find(doc).await {
            return Ok(found);
        }
        let mut manifest_sha256 = String::new();
        for (path, bytes) in package_files(doc, org, items, self.seda)? {
            if path == "manifest.json" {
                manifest_sha256 = hex::encode(Sha256::digest(&bytes));
            }
            self.objects.put(&Self::key(doc, &path), bytes).await?;
        }
        Ok(ArchiveRecord {
            location: self.objects.url_of(&Self::key(doc, "")),
            manifest_sha256,
        })
    }

    async fn find(&self, doc: &DocumentRow) -> Option<ArchiveRecord> {
        let m = self
            .objects
            .get(&Self::key(doc, "manifest.json"))
            .await
            .ok()??;
        Some(ArchiveRecord {
            location: self.objects.url_of(&Self::key(doc, "")),
            manifest_sha256: hex::encode(Sha256::digest(&m)),
        })
    }
}

fn remove_tree(p: &Path) -> std::io::Result<()> {
    // Files were made read-only; the directory is ours to clean.
    for e in walk(p)? {
        let mut perms = std::fs::metadata(&e)?.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&e, perms)?;
    }
    std::fs::remove_dir_all(p)
}

fn walk(p: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p)? {
        let path = e?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A SEDA 2.1 `ArchiveTransfer` describing the package: one binary data object per file, one
/// archive unit for the document with one child unit per file.
fn seda_manifest(doc: &DocumentRow, org: &str, items: &[Item], date: &str) -> String {
    let mut objects = String::new();
    let mut units = String::new();
    for (i, it) in items.iter().enumerate() {
        let n = i + 1;
        let name = it.path.rsplit('/').next().unwrap_or(&it.path);
        objects.push_str(&format!(
            "    <BinaryDataObject id=\"BDO{n}\">\n      <DataObjectVersion>BinaryMaster_1</DataObjectVersion>\n      <Uri>{uri}</Uri>\n      <MessageDigest algorithm=\"SHA-256\">{sha}</MessageDigest>\n      <Size>{size}</Size>\n      <FormatIdentification><MimeType>{mime}</MimeType></FormatIdentification>\n      <FileInfo><Filename>{file}</Filename></FileInfo>\n    </BinaryDataObject>\n",
            uri = esc(&it.path),
            sha = hex::encode(Sha256::digest(&it.bytes)),
            size = it.bytes.len(),
            mime = it.mime,
            file = esc(name),
        ));
        units.push_str(&format!(
            "        <ArchiveUnit id=\"AU{n}\">\n          <Content>\n            <DescriptionLevel>Item</DescriptionLevel>\n            <Title>{title}</Title>\n          </Content>\n          <DataObjectReference><DataObjectReferenceId>BDO{n}</DataObjectReferenceId></DataObjectReference>\n        </ArchiveUnit>\n",
            title = esc(name),
        ));
    }
    let title = if doc.label.is_empty() {
        doc.filename.clone()
    } else {
        format!("{} ({})", doc.filename, doc.label)
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.1\">\n\
  <Comment>Document {id} du parapheur électronique</Comment>\n\
  <Date>{date}</Date>\n\
  <MessageIdentifier>parapheur-{siren}-{id}</MessageIdentifier>\n\
  <CodeListVersions>\n\
    <ReplyCodeListVersion>ReplyCodeListVersion0</ReplyCodeListVersion>\n\
    <MessageDigestAlgorithmCodeListVersion>MessageDigestAlgorithmCodeListVersion0</MessageDigestAlgorithmCodeListVersion>\n\
    <MimeTypeCodeListVersion>MimeTypeCodeListVersion0</MimeTypeCodeListVersion>\n\
    <FileFormatCodeListVersion>FileFormatCodeListVersion0</FileFormatCodeListVersion>\n\
  </CodeListVersions>\n\
  <DataObjectPackage>\n\
{objects}\
    <DescriptiveMetadata>\n\
      <ArchiveUnit id=\"AU0\">\n\
        <Content>\n\
          <DescriptionLevel>File</DescriptionLevel>\n\
          <Title>{title}</Title>\n\
          <Description>{org}</Description>\n\
        </Content>\n\
{units}\
      </ArchiveUnit>\n\
    </DescriptiveMetadata>\n\
    <ManagementMetadata>\n\
      <OriginatingAgencyIdentifier>{siren}</OriginatingAgencyIdentifier>\n\
    </ManagementMetadata>\n\
  </DataObjectPackage>\n\
  <ArchivalAgency><Identifier>SAE</Identifier></ArchivalAgency>\n\
  <TransferringAgency><Identifier>{siren}</Identifier></TransferringAgency>\n\
</ArchiveTransfer>\n",
        id = doc.id,
        siren = esc(&doc.siren),
        title = esc(&title),
        org = esc(org),
    )
}
