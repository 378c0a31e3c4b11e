//! What reading one PDF may cost ([`Limits`]: decoded bytes, cross-reference entries, objects,
//! tree depth, time), the running account of one reading (`Budget`), and the bounded decoder of
//! the only streams the reader decodes (object streams and cross-reference streams).

use crate::SignError;
use flate2::read::{DeflateDecoder, ZlibDecoder};
use lopdf::{Dictionary, Object};
use std::cell::Cell;
use std::io::Read;
use std::time::{Duration, Instant};

/// Bounds on the work and memory of reading one PDF. Exceeding one is a
/// [`SignError::Budget`], returned as soon as it is noticed: decoded data is cut at the bound
/// before more memory is taken.
///
/// Only object streams and cross-reference streams are ever decoded; content streams, images
/// and fonts are not read at all, so the byte bounds do not limit what a document may show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes one object or cross-reference stream may decode to (each filter stage is cut there).
    pub stream_bytes: usize,
    /// Bytes all the streams decoded for one reading may add up to.
    pub document_bytes: usize,
    /// Filters chained on one decoded stream.
    pub filters: usize,
    /// Cross-reference sections (revisions) chained by `/Prev`.
    pub xref_sections: usize,
    /// Cross-reference entries read over all sections.
    pub xref_entries: usize,
    /// Objects parsed in one reading (each object is parsed once); also bounds every tree walk.
    pub objects: usize,
    /// Depth of the page tree and of the form field tree.
    pub depth: usize,
    /// Wall-clock time one reading may take, checked in every loop.
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // Object streams hold ~100-200 small objects (tens of KiB); a cross-reference stream
            // takes 5 to 12 bytes per object, so 16 MiB is over a million objects.
            stream_bytes: 16 << 20,
            // The decoded object streams are kept while the file is read: this bounds the memory
            // of one reading, whatever the file, to tens of MiB.
            document_bytes: 64 << 20,
            // [/FlateDecode] in practice; a second stage is tolerated, each stage bounded.
            filters: 2,
            // One per revision, and a signature adds one.
            xref_sections: 4096,
            // A BTreeMap entry costs ~20 bytes: at most ~40 MiB.
            xref_entries: 2_000_000,
            // The full page tree walk of a 100,000-page document parses ~105,000 objects.
            objects: 500_000,
            // Real page trees are 2 to 6 levels deep.
            depth: 64,
            // Checking or signing a well-formed file takes milliseconds.
            time: Duration::from_secs(2),
        }
    }
}

pub(crate) fn budget_error(m: impl Into<String>) -> SignError {
    SignError::Budget(m.into())
}

fn pdf_error(m: impl Into<String>) -> SignError {
    SignError::Pdf(m.into())
}

/// The account of one reading against its [`Limits`].
pub(crate) struct Budget {
    pub limits: Limits,
    deadline: Instant,
    decoded: Cell<usize>,
    objects: Cell<usize>,
}

impl Budget {
    pub fn new(limits: &Limits) -> Self {
        Self {
            limits: limits.clone(),
            deadline: Instant::now() + limits.time,
            decoded: Cell::new(0),
            objects: Cell::new(0),
        }
    }

    /// An error once the time allowed is spent.
    pub fn time(&self) -> Result<(), SignError> {
        if Instant::now() > self.deadline {
            return Err(budget_error("the PDF takes too long to read"));
        }
        Ok(())
    }

    /// Counts one object parsed.
    pub fn object(&self) -> Result<(), SignError> {
        let n = self.objects.get() + 1;
        self.objects.set(n);
        if n > self.limits.objects {
            return Err(budget_error(format!(
                "the PDF has more than {} objects to read",
                self.limits.objects
            )));
        }
        self.time()
    }

    /// The decoded content of a stream (`dict` and its `raw` bytes), within the limits.
    pub fn decode(&self, dict: &Dictionary, raw: &[u8]) -> Result<Vec<u8>, SignError> {
        self.time()?;
        let filters: Vec<&[u8]> = match dict.get(b"Filter") {
            Err(_) => Vec::new(),
            Ok(Object::Name(n)) => vec![n.as_slice()],
            Ok(Object::Array(a)) => a
                .iter()
                .map(|f| f.as_name().map_err(|_| pdf_error("bad /Filter")))
                .collect::<Result<_, _>>()?,
            Ok(_) => return Err(pdf_error("bad /Filter")),
        };
        if filters.len() > self.limits.filters {
            return Err(budget_error("too many filters on one stream"));
        }
        let params = |i: usize| match dict.get(b"DecodeParms") {
            Ok(Object::Dictionary(d)) => Some(d),
            Ok(Object::Array(a)) => a.get(i).and_then(|p| p.as_dict().ok()),
            _ => None,
        };
        let mut data = raw.to_vec();
        self.charge(data.len())?;
        for (i, filter) in filters.into_iter().enumerate() {
            data = match filter {
                b"FlateDecode" | b"Fl" => {
                    let out = self.inflate(&data)?;
                    predict(out, params(i))?
                }
                other => {
                    return Err(pdf_error(format!(
                        "unsupported filter /{} on an object or cross-reference stream",
                        String::from_utf8_lossy(other)
                    )));
                }
            };
        }
        Ok(data)
    }

    /// Adds `n` decoded bytes to the document's account.
    fn charge(&self, n: usize) -> Result<(), SignError> {
        if n > self.limits.stream_bytes {
            return Err(budget_error(format!(
                "a PDF stream decodes to more than {} bytes",
                self.limits.stream_bytes
            )));
        }
        let total = self.decoded.get().saturating_add(n);
        self.decoded.set(total);
        if total > self.limits.document_bytes {
            return Err(budget_error(format!(
                "the PDF's streams decode to more than {} bytes",
                self.limits.document_bytes
            )));
        }
        Ok(())
    }

    /// zlib data (or, when that yields nothing, raw deflate after the 2-byte header, as lopdf
    /// accepts), stopped one byte past what the limits allow.
    fn inflate(&self, input: &[u8]) -> Result<Vec<u8>, SignError> {
        let left = self
            .limits
            .document_bytes
            .saturating_sub(self.decoded.get());
        let cap = self.limits.stream_bytes.min(left);
        let out = self.read_bounded(ZlibDecoder::new(input), cap)?;
        let out = if out.is_empty() && input.len() > 2 {
            self.read_bounded(DeflateDecoder::new(&input[2..]), cap)?
        } else {
            out
        };
        self.charge(out.len())?;
        Ok(out)
    }

    /// At most `cap + 1` bytes of `r`, read in chunks with the clock checked between them. A
    /// decoding error ends the data (a damaged tail or checksum, as lopdf tolerates).
    fn read_bounded(&self, r: impl Read, cap: usize) -> Result<Vec<u8>, SignError> {
        const CHUNK: usize = 256 << 10;
        let mut r = r.take(u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1));
        let mut out = Vec::new();
        let mut chunk = vec![0u8; CHUNK];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
            self.time()?;
        }
        Ok(out)
    }
}

/// Undoes a PNG predictor (`/Predictor` 10 to 15), the one cross-reference streams use.
fn predict(data: Vec<u8>, params: Option<&Dictionary>) -> Result<Vec<u8>, SignError> {
    let Some(params) = params else {
        return Ok(data);
    };
    let int = |k: &[u8], default: i64| params.get(k).and_then(Object::as_i64).unwrap_or(default);
    if !(10..=15).contains(&int(b"Predictor", 1)) {
        return Ok(data);
    }
    let bad = || pdf_error("bad /DecodeParms");
    let columns = usize::try_from(int(b"Columns", 1).max(1)).map_err(|_| bad())?;
    let colors = usize::try_from(int(b"Colors", 1).clamp(1, 32)).map_err(|_| bad())?;
    let bits = usize::try_from(int(b"BitsPerComponent", 8).clamp(8, 16)).map_err(|_| bad())?;
    let pixel = colors * bits / 8;
    // A row (and the two row buffers lopdf allocates) is never longer than the data.
    match pixel.checked_mul(columns) {
        Some(row) if row < data.len().max(1) => {}
        _ if data.is_empty() => return Ok(data),
        _ => return Err(bad()),
    }
    lopdf::filters::png::decode_frame(&data, pixel, columns)
        .map_err(|e| pdf_error(format!("bad predictor data ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap_or_default();
        e.finish().unwrap_or_default()
    }

    fn flate(filters: usize) -> Dictionary {
        let mut d = Dictionary::new();
        let names = vec![Object::Name(b"FlateDecode".to_vec()); filters];
        d.set("Filter", Object::Array(names));
        d
    }

    #[test]
    fn streams_decode_within_the_limits_and_are_cut_past_them() {
        let data = vec![7u8; 100_000];
        let limits = Limits {
            stream_bytes: 100_000,
            ..Limits::default()
        };
        let b = Budget::new(&limits);
        assert_eq!(b.decode(&flate(1), &zlib(&data)).ok(), Some(data.clone()));
        assert_eq!(b.decode(&flate(2), &zlib(&zlib(&data))).ok(), Some(data));
        let b = Budget::new(&Limits {
            stream_bytes: 99_999,
            ..Limits::default()
        });
        let e = b.decode(&flate(1), &zlib(&[7u8; 100_000]));
        assert!(matches!(e, Err(SignError::Budget(_))), "{e:?}");
        // The document's account: two streams of 60,000 bytes do not fit in 100,000.
        let b = Budget::new(&Limits {
            document_bytes: 100_000,
            ..Limits::default()
        });
        let z = zlib(&[1u8; 60_000]);
        assert!(b.decode(&flate(1), &z).is_ok());
        assert!(matches!(b.decode(&flate(1), &z), Err(SignError::Budget(_))));
        // Three filters are refused before any decoding.
        let b = Budget::new(&Limits::default());
        assert!(matches!(
            b.decode(&flate(3), b"x"),
            Err(SignError::Budget(_))
        ));
    }

    #[test]
    fn a_predictor_row_longer_than_the_data_is_refused() {
        let mut d = flate(1);
        let mut p = Dictionary::new();
        p.set("Predictor", 12);
        p.set("Columns", 1i64 << 40);
        d.set("DecodeParms", p);
        let e = Budget::new(&Limits::default()).decode(&d, &zlib(&[0u8; 64]));
        assert!(matches!(e, Err(SignError::Pdf(_))), "{e:?}");
    }
}
