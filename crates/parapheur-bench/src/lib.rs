//! Reference binaries and helpers for `bench/run.sh`; the figures are in `BENCHMARKS.md`.
//!
//! - `bare-axum`: an axum server with one GET handler answering fixed bytes (reference for
//!   history and tasks reads);
//! - `durable-axum`: an axum server storing each multipart upload durably (reference for
//!   durable uploads over HTTP);
//! - `raw-durable`: file write + fsync + rename + directory fsync + one committed SQLite
//!   insert per operation (the same work without HTTP);
//! - `make-pdf`: writes a valid PDF of about the requested size (or of N pages);
//! - `cold-start`: launches a command repeatedly and times its first successful `/healthz`;
//! - `seal-file`: seals one PDF with an RSA-2048 seal (peak memory of large files);
//! - `benches/seal.rs`: criterion benchmarks of PAdES sealing (see `bench/signing.sh`).

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

/// The durable write of the upload references: `bytes` under `root/tmp/name`, fsync, rename
/// into `root/blobs`, fsync of that directory (what the server's local blob store does).
pub fn write_durably(root: &std::path::Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = root.join("tmp").join(name);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    let dir = root.join("blobs");
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(&dir)?.sync_all()
}

/// The upload references' database, configured as the server's: SQLite in WAL mode with
/// `synchronous=FULL` (a commit is on disk), `connections` writers.
pub async fn open_reference_db(
    path: &std::path::Path,
    connections: u32,
) -> Result<sqlx::SqlitePool, sqlx::Error> {
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(std::time::Duration::from_secs(10));
    SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(opts)
        .await
}

/// The median of a non-empty list of samples (the mean of the two middle ones when even).
pub fn median(samples: &mut [f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    Some(if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    })
}

/// A PDF of about `size` bytes: pages of text, plus an uncompressed image for large sizes.
pub fn pdf_of_size(size: usize) -> Result<Vec<u8>, lopdf::Error> {
    pdf_of_size_with_images(size, 1)
}

/// Like [`pdf_of_size`], the padding split into `images` images on successive pages (a scan).
pub fn pdf_of_size_with_images(size: usize, images: usize) -> Result<Vec<u8>, lopdf::Error> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(
        dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"},
    );
    let pages = (size / 2000).clamp(1, 50);
    let mut kids = Vec::new();
    for p in 0..pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 10.into()]),
        ];
        for l in 0..25 {
            ops.push(Operation::new(
                "Td",
                vec![
                    if l == 0 { 50.into() } else { 0.into() },
                    if l == 0 { 780.into() } else { (-14).into() },
                ],
            ));
            ops.push(Operation::new(
                "Tj",
                vec![Object::string_literal(format!(
                    "Page {p} ligne {l} : délibération du conseil"
                ))],
            ));
        }
        ops.push(Operation::new("ET", vec![]));
        let content = doc.add_object(Stream::new(
            dictionary! {},
            Content { operations: ops }.encode()?,
        ));
        let page = doc.add_object(
            dictionary! {"Type" => "Page", "Parent" => pages_id, "Contents" => content,
            "Resources" => dictionary! {"Font" => dictionary! {"F1" => font}}},
        );
        kids.push(Object::Reference(page));
    }
    let mut out = Vec::new();
    let base = {
        doc.objects.insert(pages_id, Object::Dictionary(dictionary! {"Type" => "Pages", "Kids" => kids.clone(),
            "Count" => kids.len() as i64, "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()]}));
        let cat = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
        doc.trailer.set("Root", cat);
        let mut b = Vec::new();
        doc.clone().save_to(&mut b)?;
        b.len()
    };
    if size > base + 1024 {
        // Pad with image XObjects of pseudo-random bytes (incompressible, like a scan).
        let images = images.clamp(1, kids.len());
        let n = (size - base - 512 * images) / images;
        let side = ((n / 3) as f64).sqrt() as i64;
        let mut x: u32 = 0x1234_5678;
        for kid in kids.iter().take(images) {
            let data: Vec<u8> = (0..(side * side * 3) as usize)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let img = doc.add_object(Stream::new(
                dictionary! {"Type" => "XObject", "Subtype" => "Image", "Width" => side, "Height" => side,
                "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8},
                data,
            ));
            if let Object::Reference(page) = kid
                && let Ok(Object::Dictionary(pg)) = doc.get_object_mut(*page)
            {
                pg.set("Resources", dictionary! {"Font" => dictionary! {"F1" => font}, "XObject" => dictionary! {"Im1" => img}});
            }
        }
    }
    doc.save_to(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
