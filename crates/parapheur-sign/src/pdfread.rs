//! A lazy PDF reader for signing: it reads the trailer and the cross-reference sections, then
//! parses only the objects asked for (the catalog, the page tree down to one page, the form).
//! Content streams, images and fonts are never read, so sealing costs the same whatever the
//! document holds, and a large file is not copied. Every reading runs within [`Limits`].
//!
//! lopdf loads every object of a file and keeps its parser private, so the cross-reference walk
//! is ours, and so are the parser of the plain objects read (`syntax`) and the decoder of object
//! and cross-reference streams (`budget`, bounded). lopdf's parser is the fallback for objects
//! ours does not accept, given one object at a time so that it never decodes a stream.

mod budget;
mod syntax;
mod tree;

/// The two readings of a dictionary object, for the fuzz target that compares them.
pub(crate) mod syntax_for_fuzzing {
    use lopdf::{Dictionary, Object};

    pub(crate) fn full(buf: &[u8]) -> Option<Object> {
        super::syntax::indirect_object(buf, 0, (1, 0))
    }

    pub(crate) fn keeping(buf: &[u8], keep: &[&[u8]]) -> Option<Dictionary> {
        super::syntax::indirect_dictionary_keeping(buf, 0, (1, 0), keep)
    }
}

pub use budget::Limits;

use crate::SignError;
use budget::{Budget, budget_error};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use lopdf::xref::{Xref, XrefEntry, XrefType};
use lopdf::{Dictionary, Document, EncryptionState, Object, ObjectId, ObjectStream, Stream};
use std::cell::RefCell;
use std::rc::Rc;
use syntax::{read_uint, skip_space};

fn err(m: impl Into<String>) -> SignError {
    SignError::Pdf(m.into())
}

/// An opened PDF: its newest trailer and the merged cross-reference table.
pub(crate) struct PdfFile<'a> {
    buf: &'a [u8],
    table: Xref,
    budget: Budget,
    /// The newest trailer (without `/Prev`).
    pub trailer: Dictionary,
    /// Offset of the newest cross-reference section (what `startxref` says).
    pub startxref: usize,
    /// True when the newest section is a classic `xref` table, false for a stream.
    pub classic: bool,
    /// One more than the highest object number in use or declared by `/Size`.
    pub size: u32,
    object_streams: RefCell<HashMap<u32, Rc<ObjStm>>>,
    /// The decryption of an encrypted file openable without a password (an owner password only),
    /// for its object streams.
    crypt: Option<EncryptionState>,
    /// Objects already parsed (the catalog, the page tree...), each parsed once.
    parsed: RefCell<HashMap<ObjectId, Rc<Object>>>,
}

/// An object stream's decoded content and where each of its objects starts.
struct ObjStm {
    content: Vec<u8>,
    offsets: HashMap<u32, usize>,
    /// The offsets in order, to find where an object ends.
    starts: Vec<usize>,
}

impl ObjStm {
    fn new(dict: &Dictionary, content: Vec<u8>) -> Option<Self> {
        let first = usize::try_from(dict.get(b"First").ok()?.as_i64().ok()?).ok()?;
        let n = usize::try_from(dict.get(b"N").ok()?.as_i64().ok()?).ok()?;
        let header = std::str::from_utf8(content.get(..first)?).ok()?;
        let mut numbers = header
            .split_ascii_whitespace()
            .map(|t| t.parse::<usize>().ok());
        let mut offsets = HashMap::with_capacity(n.min(4096));
        for _ in 0..n {
            let (Some(Some(id)), Some(Some(off))) = (numbers.next(), numbers.next()) else {
                break;
            };
            let id = u32::try_from(id).ok()?;
            offsets.entry(id).or_insert(first.checked_add(off)?);
        }
        let mut starts: Vec<usize> = offsets.values().copied().collect();
        starts.sort_unstable();
        Some(Self {
            content,
            offsets,
            starts,
        })
    }

    /// Object `id`: our parser, or lopdf's on the object's bytes alone.
    fn get(&self, id: ObjectId) -> Option<Object> {
        let at = *self.offsets.get(&id.0)?;
        if let Some(o) = syntax::direct_object(&self.content, at) {
            return Some(o);
        }
        let next = self.starts.partition_point(|s| *s <= at);
        let end = self.starts.get(next).copied().unwrap_or(self.content.len());
        parse_direct(self.content.get(at..end.max(at))?)
    }
}

/// Parses one direct object (a dictionary, an array...) from bytes, with lopdf's parser.
fn parse_direct(bytes: &[u8]) -> Option<Object> {
    let mut content = b"0 0\n".to_vec();
    content.extend_from_slice(bytes);
    let mut dict = Dictionary::new();
    dict.set("N", 1);
    dict.set("First", 4);
    let stream = Stream::new(dict, content);
    let mut objects = ObjectStream::new(&stream).ok()?.objects;
    objects.remove(&(0, 0))
}

/// The offset given by the last `startxref` of the file.
fn startxref(buf: &[u8]) -> Result<usize, SignError> {
    let tail_start = buf.len().saturating_sub(2048);
    let tail = &buf[tail_start..];
    let pos = tail
        .windows(9)
        .rposition(|w| w == b"startxref")
        .ok_or_else(|| err("no startxref at the end of the file"))?;
    let i = skip_space(buf, tail_start + pos + 9);
    let (v, _) = read_uint(buf, i).ok_or_else(|| err("startxref without an offset"))?;
    usize::try_from(v)
        .ok()
        .filter(|v| *v < buf.len())
        .ok_or_else(|| err("startxref points outside the file"))
}

/// One cross-reference section: its entries (newest first wins) and its trailer dictionary.
struct Section {
    entries: Vec<(u32, XrefEntry)>,
    trailer: Dictionary,
    classic: bool,
}

/// Counts cross-reference entries read against the limit (and the clock, now and then).
struct Entries<'b> {
    budget: &'b Budget,
    read: usize,
}

impl Entries<'_> {
    fn one(&mut self) -> Result<(), SignError> {
        self.read += 1;
        if self.read > self.budget.limits.xref_entries {
            return Err(budget_error(format!(
                "the PDF has more than {} cross-reference entries",
                self.budget.limits.xref_entries
            )));
        }
        if self.read.is_multiple_of(4096) {
            self.budget.time()?;
        }
        Ok(())
    }
}

fn classic_section(buf: &[u8], at: usize, count: &mut Entries) -> Result<Section, SignError> {
    let bad = || err(format!("unreadable cross-reference table at {at}"));
    let mut i = skip_space(buf, at + 4);
    let mut entries = Vec::new();
    loop {
        if buf[i..].starts_with(b"trailer") {
            i += 7;
            break;
        }
        let (start, j) = read_uint(buf, i).ok_or_else(bad)?;
        let j = skip_space(buf, j);
        let (n, j) = read_uint(buf, j).ok_or_else(bad)?;
        i = skip_space(buf, j);
        let start = u32::try_from(start).map_err(|_| bad())?;
        for k in 0..n {
            count.one()?;
            let (offset, j) = read_uint(buf, i).ok_or_else(bad)?;
            let j = skip_space(buf, j);
            let (generation, j) = read_uint(buf, j).ok_or_else(bad)?;
            let j = skip_space(buf, j);
            let kind = *buf.get(j).ok_or_else(bad)?;
            i = skip_space(buf, j + 1);
            let id = start
                .checked_add(u32::try_from(k).map_err(|_| bad())?)
                .ok_or_else(bad)?;
            let entry = match kind {
                b'n' => XrefEntry::Normal {
                    offset: u32::try_from(offset).map_err(|_| bad())?,
                    generation: u16::try_from(generation).map_err(|_| bad())?,
                },
                b'f' => XrefEntry::Free,
                _ => return Err(bad()),
            };
            entries.push((id, entry));
        }
        if i >= buf.len() {
            return Err(bad());
        }
    }
    let end = buf[i..]
        .windows(9)
        .position(|w| w == b"startxref")
        .map_or(buf.len(), |p| i + p);
    let trailer = match syntax::direct_object(&buf[..end], i).or_else(|| parse_direct(&buf[i..end]))
    {
        Some(Object::Dictionary(d)) => d,
        _ => return Err(err(format!("unreadable trailer after the table at {at}"))),
    };
    Ok(Section {
        entries,
        trailer,
        classic: true,
    })
}

fn field(data: &[u8], width: usize) -> u64 {
    data[..width]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

fn stream_section(buf: &[u8], at: usize, count: &mut Entries) -> Result<Section, SignError> {
    let bad = |why: &str| err(format!("cross-reference stream at {at}: {why}"));
    let (num, j) = read_uint(buf, at).ok_or_else(|| bad("no object header"))?;
    let (generation, _) = read_uint(buf, skip_space(buf, j)).ok_or_else(|| bad("no generation"))?;
    let id = (
        u32::try_from(num).map_err(|_| bad("object number"))?,
        u16::try_from(generation).map_err(|_| bad("generation"))?,
    );
    // The standard requires a direct /Length here.
    let (dict, raw) = match syntax::direct_stream(buf, at, |l| l.as_i64().ok()) {
        Some((found, dict, raw)) if found == id => (dict, raw),
        _ => return Err(bad("not a stream")),
    };
    let widths: Vec<usize> = dict
        .get(b"W")
        .and_then(Object::as_array)
        .map_err(|_| bad("no /W"))?
        .iter()
        .map(|o| o.as_i64().ok().and_then(|v| usize::try_from(v).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("bad /W"))?;
    if widths.len() != 3 || widths.iter().any(|w| *w > 8) {
        return Err(bad("bad /W"));
    }
    let size = dict
        .get(b"Size")
        .and_then(Object::as_i64)
        .map_err(|_| bad("no /Size"))?;
    let index: Vec<i64> = match dict.get(b"Index") {
        Ok(o) => o
            .as_array()
            .map_err(|_| bad("bad /Index"))?
            .iter()
            .map(|o| o.as_i64().ok())
            .collect::<Option<_>>()
            .ok_or_else(|| bad("bad /Index"))?,
        Err(_) => vec![0, size],
    };
    let data = count.budget.decode(&dict, raw)?;
    let row = widths.iter().sum::<usize>();
    if row == 0 || !index.len().is_multiple_of(2) {
        return Err(bad("bad /W or /Index"));
    }
    let mut entries = Vec::new();
    let mut rows = data.chunks_exact(row);
    for pair in index.chunks_exact(2) {
        let start = u32::try_from(pair[0]).map_err(|_| bad("bad /Index"))?;
        let n = u32::try_from(pair[1]).map_err(|_| bad("bad /Index"))?;
        for k in 0..n {
            let r = rows.next().ok_or_else(|| bad("data shorter than /Index"))?;
            count.one()?;
            let kind = if widths[0] == 0 {
                1
            } else {
                field(r, widths[0])
            };
            let f2 = field(&r[widths[0]..], widths[1]);
            let f3 = field(&r[widths[0] + widths[1]..], widths[2]);
            let id = start.checked_add(k).ok_or_else(|| bad("bad /Index"))?;
            let entry = match kind {
                0 => XrefEntry::Free,
                1 => XrefEntry::Normal {
                    offset: u32::try_from(f2).map_err(|_| bad("offset"))?,
                    generation: u16::try_from(f3).map_err(|_| bad("generation"))?,
                },
                2 => XrefEntry::Compressed {
                    container: u32::try_from(f2).map_err(|_| bad("container"))?,
                    index: u16::try_from(f3).map_err(|_| bad("index"))?,
                },
                // Unknown types are to be ignored (treated as null references).
                _ => XrefEntry::Free,
            };
            entries.push((id, entry));
        }
    }
    let mut trailer = dict;
    for k in [
        b"Type".as_slice(),
        b"W",
        b"Index",
        b"Length",
        b"Filter",
        b"DecodeParms",
    ] {
        trailer.remove(k);
    }
    Ok(Section {
        entries,
        trailer,
        classic: false,
    })
}

fn section(buf: &[u8], at: usize, count: &mut Entries) -> Result<Section, SignError> {
    if at >= buf.len() {
        return Err(err(format!("cross-reference offset {at} outside the file")));
    }
    let i = skip_space(buf, at);
    if buf[i..].starts_with(b"xref") {
        classic_section(buf, i, count)
    } else {
        stream_section(buf, i, count)
    }
}

/// The decryption of a file whose `/Encrypt` (a plain object, as required) opens with the empty
/// user password; `None` for a file not encrypted or needing a password.
fn encryption(buf: &[u8], table: &Xref, trailer: &Dictionary) -> Option<EncryptionState> {
    let id = trailer.get(b"Encrypt").ok()?.as_reference().ok()?;
    let Some(XrefEntry::Normal { offset, .. }) = table.get(id.0) else {
        return None;
    };
    let dict = syntax::indirect_object(buf, *offset as usize, id)?;
    let mut doc = Document::new();
    doc.trailer = trailer.clone();
    doc.objects.insert(id, dict);
    EncryptionState::decode(&doc, "").ok()
}

fn offset_of(o: Option<&Object>) -> Option<usize> {
    o.and_then(|o| o.as_i64().ok())
        .and_then(|v| usize::try_from(v).ok())
}

impl<'a> PdfFile<'a> {
    /// [`open_with`](Self::open_with) the default [`Limits`].
    pub fn open(buf: &'a [u8]) -> Result<Self, SignError> {
        Self::open_with(buf, &Limits::default())
    }

    /// Reads the cross-reference chain of `buf` (which must start with `%PDF-`); this reading
    /// and every later one through the result stay within `limits`.
    pub fn open_with(buf: &'a [u8], limits: &Limits) -> Result<Self, SignError> {
        if !buf.starts_with(b"%PDF-") {
            return Err(err("the file does not start with %PDF-"));
        }
        let budget = Budget::new(limits);
        let start = startxref(buf)?;
        let mut table = Xref::new(0, XrefType::CrossReferenceTable);
        let mut newest: Option<(Dictionary, bool)> = None;
        let mut declared_size: i64 = 0;
        let mut seen = HashSet::new();
        let mut count = Entries {
            budget: &budget,
            read: 0,
        };
        let mut next = Some(start);
        while let Some(at) = next.take() {
            // A loop in the chain ends it.
            if !seen.insert(at) {
                break;
            }
            if seen.len() > limits.xref_sections {
                return Err(budget_error(format!(
                    "the PDF has more than {} cross-reference sections",
                    limits.xref_sections
                )));
            }
            let mut s = section(buf, at, &mut count)?;
            // A hybrid file's stream section completes the table of the same revision.
            let mut all = Vec::new();
            if let Some(stm) = offset_of(s.trailer.get(b"XRefStm").ok())
                && seen.insert(stm)
            {
                all.extend(section(buf, stm, &mut count)?.entries);
            }
            all.append(&mut s.entries);
            // Newer sections come first: an entry already known (free ones included) wins.
            if table.entries.is_empty() {
                // The newest section (often the only one): built in one go. Within a section a
                // number appears once; if not, the first occurrence is kept as below.
                all.reverse();
                table.entries = all.into_iter().collect();
            } else {
                for (id, e) in all {
                    table.entries.entry(id).or_insert(e);
                }
            }
            declared_size =
                declared_size.max(s.trailer.get(b"Size").and_then(Object::as_i64).unwrap_or(0));
            next = offset_of(s.trailer.get(b"Prev").ok());
            if newest.is_none() {
                newest = Some((s.trailer, s.classic));
            }
        }
        let (mut trailer, classic) = newest.ok_or_else(|| err("no cross-reference section"))?;
        trailer.remove(b"Prev");
        trailer.remove(b"XRefStm");
        let max_id = table.entries.keys().next_back().copied().unwrap_or(0);
        table
            .entries
            .retain(|_, e| matches!(e, XrefEntry::Normal { .. } | XrefEntry::Compressed { .. }));
        let size = u32::try_from(declared_size.max(0))
            .unwrap_or(u32::MAX)
            .max(max_id.saturating_add(1));
        table.size = size;
        let crypt = encryption(buf, &table, &trailer);
        Ok(Self {
            buf,
            table,
            budget,
            trailer,
            startxref: start,
            classic,
            size,
            object_streams: RefCell::new(HashMap::new()),
            crypt,
            parsed: RefCell::new(HashMap::new()),
        })
    }

    /// The limits this file is read within.
    pub fn limits(&self) -> &Limits {
        &self.budget.limits
    }

    /// One object by its id (from the file or from its object stream), parsed once.
    pub fn get(&self, id: ObjectId) -> Result<Object, SignError> {
        Ok((*self.shared(id)?).clone())
    }

    /// [`get`](Self::get) without copying the object.
    pub fn shared(&self, id: ObjectId) -> Result<Rc<Object>, SignError> {
        if let Some(o) = self.parsed.borrow().get(&id) {
            return Ok(o.clone());
        }
        let o = Rc::new(self.parse(id)?);
        // Streams are not kept: only dictionaries and arrays are asked for more than once.
        if !matches!(*o, Object::Stream(_)) {
            self.parsed.borrow_mut().insert(id, o.clone());
        }
        Ok(o)
    }

    /// A dictionary (or a stream's dictionary) without copying it.
    pub fn shared_dictionary(&self, id: ObjectId) -> Result<SharedDict, SignError> {
        let o = self.shared(id)?;
        match &*o {
            Object::Dictionary(_) | Object::Stream(_) => Ok(SharedDict(o)),
            _ => Err(err(format!("object {} {} is not a dictionary", id.0, id.1))),
        }
    }

    /// A dictionary read without keeping it (when not already kept), for walks that visit many.
    pub fn passing_dictionary(&self, id: ObjectId) -> Result<SharedDict, SignError> {
        let o = match self.parsed.borrow().get(&id) {
            Some(o) => o.clone(),
            None => Rc::new(self.parse(id)?),
        };
        match &*o {
            Object::Dictionary(_) | Object::Stream(_) => Ok(SharedDict(o)),
            _ => Err(err(format!("object {} {} is not a dictionary", id.0, id.1))),
        }
    }

    /// The entries `keys` of the dictionary `id`, for walks that visit many nodes and read few
    /// entries of each: a plain object is read through once, its other values checked but not
    /// built; anything else (a kept, compressed or stream object) as `passing_dictionary`.
    pub(crate) fn passing_entries(
        &self,
        id: ObjectId,
        keys: &[&[u8]],
    ) -> Result<SharedDict, SignError> {
        if !self.parsed.borrow().contains_key(&id)
            && let Some(XrefEntry::Normal { offset, generation }) = self.table.get(id.0)
            && *generation == id.1
            && let Some(d) =
                syntax::indirect_dictionary_keeping(self.buf, *offset as usize, id, keys)
        {
            self.budget.object()?;
            return Ok(SharedDict(Rc::new(Object::Dictionary(d))));
        }
        self.passing_dictionary(id)
    }

    /// The object stream `container`, decoded once within the limits.
    fn object_stream(&self, container: u32) -> Result<Rc<ObjStm>, SignError> {
        if let Some(o) = self.object_streams.borrow().get(&container) {
            return Ok(o.clone());
        }
        let missing = || err(format!("object stream {container} is missing"));
        // The container itself must be a plain object (never compressed).
        let Some(XrefEntry::Normal { offset, generation }) = self.table.get(container) else {
            return Err(missing());
        };
        let id = (container, *generation);
        let (dict, raw) =
            syntax::direct_stream(self.buf, *offset as usize, |l| self.plain_integer(l))
                .filter(|(found, ..)| *found == id)
                .map(|(_, d, raw)| (d, raw))
                .ok_or_else(missing)?;
        let content = match &self.crypt {
            Some(state) => {
                let mut o = Object::Stream(Stream::new(dict.clone(), raw.to_vec()));
                lopdf::encryption::decrypt_object(state, id, &mut o)
                    .map_err(|e| err(format!("cannot decrypt an object stream ({e})")))?;
                match o {
                    Object::Stream(s) => self.budget.decode(&s.dict, &s.content)?,
                    _ => return Err(missing()),
                }
            }
            None => self.budget.decode(&dict, raw)?,
        };
        let o =
            Rc::new(ObjStm::new(&dict, content).ok_or_else(|| err("unreadable object stream"))?);
        self.object_streams
            .borrow_mut()
            .insert(container, o.clone());
        Ok(o)
    }

    /// An integer, direct or as a plain object (a stream's `/Length`, never itself in an object
    /// stream), read without following anything further.
    fn plain_integer(&self, o: &Object) -> Option<i64> {
        match o {
            Object::Integer(v) => Some(*v),
            Object::Reference(id) => match self.table.get(id.0) {
                Some(XrefEntry::Normal { offset, generation }) if *generation == id.1 => {
                    syntax::indirect_object(self.buf, *offset as usize, *id)?
                        .as_i64()
                        .ok()
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn parse(&self, id: ObjectId) -> Result<Object, SignError> {
        self.budget.object()?;
        let missing = || err(format!("object {} {} is missing", id.0, id.1));
        match self.table.get(id.0) {
            Some(XrefEntry::Compressed { container, .. }) => {
                self.object_stream(*container)?.get(id).ok_or_else(missing)
            }
            Some(XrefEntry::Normal { offset, generation }) if *generation == id.1 => {
                let at = *offset as usize;
                if let Some(o) = syntax::indirect_object(self.buf, at, id) {
                    return Ok(o);
                }
                let stream = syntax::direct_stream(self.buf, at, |l| self.plain_integer(l))
                    .filter(|(found, ..)| *found == id)
                    .or_else(|| {
                        syntax::delimited_stream(self.buf, at).filter(|(found, ..)| *found == id)
                    });
                match stream {
                    Some((_, dict, raw)) => Ok(Object::Stream(Stream::new(dict, raw.to_vec()))),
                    None => Err(err(format!("object {} {} is unreadable", id.0, id.1))),
                }
            }
            _ => Err(missing()),
        }
    }

    /// `o` itself, or the object it refers to (following references a few times).
    pub fn resolve(&self, o: &Object) -> Result<Object, SignError> {
        let mut cur = o.clone();
        for _ in 0..8 {
            match cur {
                Object::Reference(id) => cur = self.get(id)?,
                other => return Ok(other),
            }
        }
        Err(err("reference chain too long"))
    }

    /// The decoded content of the stream `o` (a reference to it), within the limits.
    pub fn stream_content(&self, o: &Object) -> Result<Vec<u8>, SignError> {
        match self.resolve(o)? {
            Object::Stream(s) => self.budget.decode(&s.dict, &s.content),
            _ => Err(err("not a stream")),
        }
    }

    pub fn dictionary(&self, id: ObjectId) -> Result<Dictionary, SignError> {
        match self.get(id)? {
            Object::Dictionary(d) => Ok(d),
            Object::Stream(s) => Ok(s.dict),
            _ => Err(err(format!("object {} {} is not a dictionary", id.0, id.1))),
        }
    }

    /// The signature fields (`/FT /Sig`) among form `fields` (references or inline), resolved.
    /// (Top-level fields only: nothing is walked.)
    pub fn signature_fields(&self, fields: &[Object]) -> Vec<Dictionary> {
        fields
            .iter()
            .filter_map(|f| match self.resolve(f) {
                Ok(Object::Dictionary(d)) => Some(d),
                _ => None,
            })
            .filter(|d| {
                d.get(b"FT")
                    .and_then(Object::as_name)
                    .is_ok_and(|n| n == b"Sig")
            })
            .collect()
    }

    /// Where each object in use is stored (for comparing two revisions of a file): by object
    /// number, its generation and offset, or the object stream and index holding it.
    pub fn locations(&self) -> std::collections::BTreeMap<u32, Location> {
        self.table
            .entries
            .iter()
            .filter_map(|(id, e)| match *e {
                XrefEntry::Normal { offset, generation } => {
                    Some((*id, Location::Plain { offset, generation }))
                }
                XrefEntry::Compressed { container, index } => {
                    Some((*id, Location::Compressed { container, index }))
                }
                XrefEntry::Free | XrefEntry::UnusableFree => None,
            })
            .collect()
    }

    /// The catalog's id.
    pub fn root(&self) -> Result<ObjectId, SignError> {
        self.trailer
            .get(b"Root")
            .and_then(Object::as_reference)
            .map_err(|_| err("no /Root"))
    }
}

/// Where an object is stored in a file (see [`PdfFile::locations`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Location {
    Plain { offset: u32, generation: u16 },
    Compressed { container: u32, index: u16 },
}

/// A parsed dictionary shared with the reader's cache (read-only).
pub(crate) struct SharedDict(Rc<Object>);

impl std::ops::Deref for SharedDict {
    type Target = Dictionary;
    fn deref(&self) -> &Dictionary {
        match &*self.0 {
            Object::Stream(s) => &s.dict,
            Object::Dictionary(d) => d,
            // Never built from anything else (see `shared_dictionary`).
            _ => unreachable_dict(),
        }
    }
}

fn unreachable_dict() -> &'static Dictionary {
    static EMPTY: std::sync::OnceLock<Dictionary> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Dictionary::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::StringFormat;

    #[test]
    fn direct_objects_parse() {
        let d = parse_direct(b"<< /Size 12 /Root 1 0 R /ID [<00FF> <AB>] >>\nstartxref").unwrap();
        let d = d.as_dict().unwrap();
        assert_eq!(d.get(b"Size").unwrap().as_i64().unwrap(), 12);
        assert_eq!(d.get(b"Root").unwrap().as_reference().unwrap(), (1, 0));
    }

    /// A document whose page tree nests three levels deep (one node without `/Count`), each page
    /// told apart by its width.
    fn nested_tree() -> lopdf::Document {
        use lopdf::dictionary;
        let mut doc = lopdf::Document::with_version("1.7");
        let root_pages = doc.new_object_id();
        let mut width = 100;
        let mut node = |doc: &mut lopdf::Document, parent, pages: usize, count: bool| {
            let id = doc.new_object_id();
            let mut kids = Vec::new();
            for _ in 0..pages {
                width += 1;
                let page = doc.add_object(dictionary! {
                    "Type" => "Page", "Parent" => id,
                    "MediaBox" => vec![0.into(), 0.into(), width.into(), 500.into()],
                });
                kids.push(Object::Reference(page));
            }
            let mut d = dictionary! { "Type" => "Pages", "Parent" => parent, "Kids" => kids };
            if count {
                d.set("Count", pages as i64);
            }
            doc.objects.insert(id, Object::Dictionary(d));
            id
        };
        let a = node(&mut doc, root_pages, 2, true);
        let b = node(&mut doc, root_pages, 3, false);
        let c = node(&mut doc, root_pages, 1, true);
        let mid = doc.add_object(dictionary! {
            "Type" => "Pages", "Parent" => root_pages, "Kids" => vec![b.into(), c.into()], "Count" => 4,
        });
        if let Ok(Object::Dictionary(d)) = doc.get_object_mut(b) {
            d.set("Parent", mid);
        }
        if let Ok(Object::Dictionary(d)) = doc.get_object_mut(c) {
            d.set("Parent", mid);
        }
        doc.objects.insert(
            root_pages,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![a.into(), mid.into()], "Count" => 6,
            }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => root_pages });
        doc.trailer.set("Root", catalog);
        doc
    }

    #[test]
    fn pages_are_found_as_lopdf_finds_them_in_classic_and_stream_files() {
        let mut doc = nested_tree();
        doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        let mut classic = Vec::new();
        doc.save_to(&mut classic).unwrap();
        let mut modern = Vec::new();
        doc.save_modern(&mut modern).unwrap();
        for (kind, bytes) in [("classic", &classic), ("object streams", &modern)] {
            let expected = lopdf::Document::load_mem(bytes).unwrap().get_pages();
            let file = PdfFile::open(bytes).unwrap();
            assert_eq!(file.classic, kind == "classic");
            let (root, count) = file.pages().unwrap();
            assert_eq!(count as usize, expected.len(), "{kind}");
            assert_eq!(count, 6);
            for (n, id) in &expected {
                let found = file.page(root, *n).unwrap();
                let width = |id| {
                    let d = file.dictionary(id).unwrap();
                    d.get(b"MediaBox").unwrap().as_array().unwrap()[2].clone()
                };
                assert_eq!(width(found), width(*id), "{kind}: page {n}");
                assert_eq!(found, *id, "{kind}: page {n}");
            }
            assert!(file.page(root, 7).is_err());
            assert!(file.page(root, 0).is_err());
        }
    }

    #[test]
    fn a_loop_in_the_prev_chain_ends() {
        let mut doc = nested_tree();
        doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        // An update whose trailer's /Prev points at itself.
        let at = bytes.len();
        let root = PdfFile::open(&bytes).unwrap().root().unwrap();
        bytes.extend_from_slice(
            format!(
                "xref\n0 0\ntrailer\n<</Size 30/Root {} 0 R/Prev {at}>>\nstartxref\n{at}\n%%EOF\n",
                root.0
            )
            .as_bytes(),
        );
        // The original section is never reached: the file opens, its objects are missing.
        let file = PdfFile::open(&bytes).unwrap();
        assert_eq!(file.size, 30);
        assert!(file.pages().is_err());
    }

    /// Every plain object reads the same through our parser as through lopdf's loader, in a
    /// classic file and in one with object streams.
    #[test]
    fn objects_read_as_lopdf_reads_them() {
        use lopdf::dictionary;
        let mut doc = nested_tree();
        let info = doc.add_object(dictionary! {
            "Title" => Object::string_literal("Délibération (n° 12) \\ \u{1}"),
            "Hex" => Object::String(vec![0, 255, 16, b'(' ], StringFormat::Hexadecimal),
            "Real" => Object::Real(-12.375),
            "Name" => Object::Name(b"A b#c/d".to_vec()),
            "Nested" => vec![Object::Array(vec![Object::Null, true.into(), (-3).into()]),
                             Object::Dictionary(dictionary! { "K" => "V" })],
        });
        doc.trailer.set("Info", info);
        doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        let mut classic = Vec::new();
        doc.save_to(&mut classic).unwrap();
        let mut modern = Vec::new();
        doc.save_modern(&mut modern).unwrap();
        for bytes in [&classic, &modern] {
            let theirs = lopdf::Document::load_mem(bytes).unwrap();
            let ours = PdfFile::open(bytes).unwrap();
            let mut compared = 0;
            for (id, o) in &theirs.objects {
                if matches!(o, Object::Stream(_)) {
                    continue;
                }
                assert_eq!(
                    format!("{:?}", ours.get(*id).unwrap()),
                    format!("{o:?}"),
                    "{id:?}"
                );
                // ... and through our parser, not lopdf's fallback.
                match ours.table.get(id.0) {
                    Some(XrefEntry::Normal { offset, .. }) => {
                        assert!(syntax::indirect_object(bytes, *offset as usize, *id).is_some());
                    }
                    Some(XrefEntry::Compressed { container, .. }) => {
                        let stm = ours
                            .object_streams
                            .borrow()
                            .get(container)
                            .cloned()
                            .unwrap();
                        let at = stm.offsets[&id.0];
                        assert!(syntax::direct_object(&stm.content, at).is_some());
                    }
                    other => panic!("{id:?}: {other:?}"),
                }
                compared += 1;
            }
            assert!(compared >= 12, "{compared}");
        }
    }

    /// Truncated or corrupted files give errors, never a panic or a loop.
    #[test]
    fn damaged_files_never_panic() {
        let mut doc = nested_tree();
        let mut modern = Vec::new();
        doc.save_modern(&mut modern).unwrap();
        doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        let mut classic = Vec::new();
        doc.save_to(&mut classic).unwrap();
        let walk = |b: &[u8]| -> Result<(), SignError> {
            let f = PdfFile::open(b)?;
            let (root, n) = f.pages()?;
            for i in 1..=n.min(8) {
                f.page(root, i)?;
            }
            Ok(())
        };
        for bytes in [&classic, &modern] {
            assert!(walk(bytes).is_ok());
            for cut in (0..bytes.len()).step_by(7) {
                let _ = walk(&bytes[..cut]);
            }
            let mut x: u32 = 12345;
            for _ in 0..600 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let mut b = bytes.clone();
                let at = (x as usize) % b.len();
                b[at] = (x >> 8) as u8;
                let _ = walk(&b);
            }
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert!(PdfFile::open(b"not a pdf").is_err());
        assert!(PdfFile::open(b"%PDF-1.4\nstartxref\n99999\n%%EOF").is_err());
        assert!(PdfFile::open(b"%PDF-1.4\n1 0 obj<<>>endobj\nstartxref\n9\n%%EOF").is_err());
    }
}
