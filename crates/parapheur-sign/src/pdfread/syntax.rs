//! The PDF object syntax (ISO 32000-1 §7.3) for the few dictionaries and arrays a signature
//! reads: a small recursive-descent parser producing lopdf's `Object`, and the frame of stream
//! objects (dictionary and raw content; decoding is the budgeted reader's). Anything it does not
//! understand gives `None`, and the caller reports the object unreadable.

use lopdf::{Dictionary, Object, ObjectId, StringFormat};

/// Arrays and dictionaries nested deeper than this are refused.
const MAX_DEPTH: usize = 64;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\x0C' | b'\0')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_space(b) && !is_delimiter(b)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The index of the first byte at or after `i` that is neither white space nor in a comment.
pub(crate) fn skip_space(buf: &[u8], mut i: usize) -> usize {
    while let Some(&c) = buf.get(i) {
        if is_space(c) {
            i += 1;
        } else if c == b'%' {
            while buf.get(i).is_some_and(|c| *c != b'\n' && *c != b'\r') {
                i += 1;
            }
        } else {
            break;
        }
    }
    i
}

/// An unsigned decimal at `i` (digits only) and the index after it.
pub(crate) fn read_uint(buf: &[u8], i: usize) -> Option<(u64, usize)> {
    let mut j = i;
    let mut v: u64 = 0;
    while let Some(c @ b'0'..=b'9') = buf.get(j).copied() {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        j += 1;
    }
    (j > i).then_some((v, j))
}

pub(crate) struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(b: &'a [u8], at: usize) -> Self {
        Self { b, i: at }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_space(&mut self) {
        self.i = skip_space(self.b, self.i);
    }

    fn keyword(&mut self, k: &[u8]) -> bool {
        let end = self.i + k.len();
        if self.b.get(self.i..end) == Some(k) && self.b.get(end).is_none_or(|c| !is_regular(*c)) {
            self.i = end;
            true
        } else {
            false
        }
    }

    /// An unsigned integer (digits only), for object headers and references.
    fn uint(&mut self) -> Option<u64> {
        let (v, end) = read_uint(self.b, self.i)?;
        self.i = end;
        Some(v)
    }

    /// `N G obj`: the object's number and generation.
    fn object_header(&mut self) -> Option<ObjectId> {
        self.skip_space();
        let n = u32::try_from(self.uint()?).ok()?;
        self.skip_space();
        let g = u16::try_from(self.uint()?).ok()?;
        self.skip_space();
        self.keyword(b"obj").then_some((n, g))
    }

    /// `N G obj` followed by a direct object that is not a stream.
    pub(crate) fn indirect(&mut self, expected: ObjectId) -> Option<Object> {
        if self.object_header()? != expected {
            return None;
        }
        let o = self.object(0)?;
        self.skip_space();
        if self.keyword(b"stream") {
            return None;
        }
        Some(o)
    }

    /// `N G obj << … >>` (not a stream) with only the entries named in `keep`; every other
    /// value is read by the same grammar as [`Self::object`] but not built. Where `indirect`
    /// would give `None`, this gives `None` too.
    pub(crate) fn indirect_keeping(
        &mut self,
        expected: ObjectId,
        keep: &[&[u8]],
    ) -> Option<Dictionary> {
        if self.object_header()? != expected {
            return None;
        }
        self.skip_space();
        if self.b.get(self.i..self.i + 2)? != b"<<" {
            return None;
        }
        let d = self.entries(0, Some(keep))?;
        self.skip_space();
        if self.keyword(b"stream") {
            return None;
        }
        Some(d)
    }

    /// Reads one direct object as [`Self::object`] does, without building it.
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_space();
        match self.peek()? {
            b'/' => self.skip_name(),
            b'<' if self.b.get(self.i + 1) == Some(&b'<') => {
                self.i += 2;
                loop {
                    self.skip_space();
                    if self.b.get(self.i..self.i + 2)? == b">>" {
                        self.i += 2;
                        return Some(());
                    }
                    if self.peek()? != b'/' {
                        return None;
                    }
                    self.skip_name()?;
                    self.skip(depth + 1)?;
                }
            }
            b'<' => {
                self.i += 1;
                loop {
                    let c = self.peek()?;
                    self.i += 1;
                    if c == b'>' {
                        return Some(());
                    }
                    if !is_space(c) {
                        hex_value(c)?;
                    }
                }
            }
            b'(' => self.skip_literal_string(),
            b'[' => {
                self.i += 1;
                loop {
                    self.skip_space();
                    if self.peek()? == b']' {
                        self.i += 1;
                        return Some(());
                    }
                    self.skip(depth + 1)?;
                }
            }
            b't' if self.keyword(b"true") => Some(()),
            b'f' if self.keyword(b"false") => Some(()),
            b'n' if self.keyword(b"null") => Some(()),
            // Numbers and references build nothing on the heap.
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number_or_reference().map(|_| ()),
            _ => None,
        }
    }

    /// [`Self::name`] without building it.
    fn skip_name(&mut self) -> Option<()> {
        self.i += 1;
        while let Some(c) = self.peek() {
            if !is_regular(c) {
                break;
            }
            if c == b'#' {
                hex_value(*self.b.get(self.i + 1)?)?;
                hex_value(*self.b.get(self.i + 2)?)?;
                self.i += 3;
            } else {
                self.i += 1;
            }
        }
        Some(())
    }

    /// [`Self::literal_string`] without building it: balanced parentheses, escapes.
    fn skip_literal_string(&mut self) -> Option<()> {
        self.i += 1;
        let mut nesting = 0usize;
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'(' => nesting += 1,
                b')' if nesting == 0 => return Some(()),
                b')' => nesting -= 1,
                b'\\' => {
                    // The escaped byte must exist; octal digits after it are part of it.
                    let e = self.peek()?;
                    self.i += 1;
                    if matches!(e, b'0'..=b'7') {
                        for _ in 0..2 {
                            match self.peek() {
                                Some(b'0'..=b'7') => self.i += 1,
                                _ => break,
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// One direct object.
    pub(crate) fn object(&mut self, depth: usize) -> Option<Object> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_space();
        match self.peek()? {
            b'/' => self.name().map(Object::Name),
            b'<' if self.b.get(self.i + 1) == Some(&b'<') => self.dictionary(depth),
            b'<' => self.hex_string(),
            b'(' => self.literal_string(),
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                loop {
                    self.skip_space();
                    if self.peek()? == b']' {
                        self.i += 1;
                        return Some(Object::Array(a));
                    }
                    a.push(self.object(depth + 1)?);
                }
            }
            b't' if self.keyword(b"true") => Some(Object::Boolean(true)),
            b'f' if self.keyword(b"false") => Some(Object::Boolean(false)),
            b'n' if self.keyword(b"null") => Some(Object::Null),
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number_or_reference(),
            _ => None,
        }
    }

    fn dictionary(&mut self, depth: usize) -> Option<Object> {
        self.entries(depth, None).map(Object::Dictionary)
    }

    /// `<< … >>` at the cursor: its entries, all of them or only those named in `keep` (the
    /// other values read by the same grammar but not built).
    fn entries(&mut self, depth: usize, keep: Option<&[&[u8]]>) -> Option<Dictionary> {
        self.i += 2;
        let mut d = Dictionary::new();
        loop {
            self.skip_space();
            if self.b.get(self.i..self.i + 2)? == b">>" {
                self.i += 2;
                return Some(d);
            }
            if self.peek()? != b'/' {
                return None;
            }
            let key = self.name()?;
            if keep.is_none_or(|k| k.contains(&key.as_slice())) {
                let value = self.object(depth + 1)?;
                d.set(key, value);
            } else {
                self.skip(depth + 1)?;
            }
        }
    }

    fn name(&mut self) -> Option<Vec<u8>> {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if !is_regular(c) {
                break;
            }
            if c == b'#' {
                let h = hex_value(*self.b.get(self.i + 1)?)?;
                let l = hex_value(*self.b.get(self.i + 2)?)?;
                out.push(h << 4 | l);
                self.i += 3;
            } else {
                out.push(c);
                self.i += 1;
            }
        }
        Some(out)
    }

    fn hex_string(&mut self) -> Option<Object> {
        self.i += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let c = self.peek()?;
            self.i += 1;
            if c == b'>' {
                break;
            }
            if is_space(c) {
                continue;
            }
            let v = hex_value(c)?;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        Some(Object::String(out, StringFormat::Hexadecimal))
    }

    fn literal_string(&mut self) -> Option<Object> {
        self.i += 1;
        let mut out = Vec::new();
        let mut nesting = 0usize;
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'(' => {
                    nesting += 1;
                    out.push(c);
                }
                b')' if nesting == 0 => break,
                b')' => {
                    nesting -= 1;
                    out.push(c);
                }
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(b'\x08'),
                        b'f' => out.push(b'\x0C'),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.i += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xFF) as u8);
                        }
                        // A backslash at the end of a line continues the string.
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.i += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                // An end of line in a string is read as a line feed.
                b'\r' => {
                    if self.peek() == Some(b'\n') {
                        self.i += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(c),
            }
        }
        Some(Object::String(out, StringFormat::Literal))
    }

    fn number_or_reference(&mut self) -> Option<Object> {
        let start = self.i;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.i += 1;
        }
        let mut dot = false;
        let mut digits = false;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' => digits = true,
                b'.' if !dot => dot = true,
                _ => break,
            }
            self.i += 1;
        }
        if !digits {
            return None;
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        if dot {
            return text.parse::<f32>().ok().map(Object::Real);
        }
        let value: i64 = text.parse().ok()?;
        // `N G R`: an unsigned object number, an unsigned generation, then `R`.
        let after = self.i;
        if self.b[start].is_ascii_digit() {
            self.skip_space();
            if let Some(g) = self.uint() {
                self.skip_space();
                if self.keyword(b"R")
                    && let (Ok(n), Ok(g)) = (u32::try_from(value), u16::try_from(g))
                {
                    return Some(Object::Reference((n, g)));
                }
            }
        }
        self.i = after;
        Some(Object::Integer(value))
    }
}

/// The stream object at `at` (`N G obj << … >> stream … endstream`): its id, its dictionary and
/// its raw (still encoded) content. `length` gives the value of `/Length` (a direct integer, or
/// what a reference points to).
pub(crate) fn direct_stream(
    buf: &[u8],
    at: usize,
    length: impl FnOnce(&Object) -> Option<i64>,
) -> Option<(ObjectId, Dictionary, &[u8])> {
    let (id, dict, start) = stream_start(buf, at)?;
    let len = usize::try_from(length(dict.get(b"Length").ok()?)?).ok()?;
    let content = buf.get(start..start.checked_add(len)?)?;
    Some((id, dict, content))
}

/// The stream object at `at` whose `/Length` cannot be used (missing, wrong, or stored where
/// it cannot be read without the object itself): its content runs to the first `endstream`,
/// less the end-of-line before it, as readers of damaged files do.
pub(crate) fn delimited_stream(buf: &[u8], at: usize) -> Option<(ObjectId, Dictionary, &[u8])> {
    const END: &[u8] = b"endstream";
    let (id, dict, start) = stream_start(buf, at)?;
    let rest = buf.get(start..)?;
    let mut end = rest.windows(END.len()).position(|w| w == END)?;
    if rest[..end].ends_with(b"\r\n") {
        end -= 2;
    } else if rest[..end].ends_with(b"\n") || rest[..end].ends_with(b"\r") {
        end -= 1;
    }
    Some((id, dict, &rest[..end]))
}

/// `N G obj << … >> stream` and its end of line at `at`: the id, the dictionary and where the
/// content starts.
fn stream_start(buf: &[u8], at: usize) -> Option<(ObjectId, Dictionary, usize)> {
    let mut p = Parser::new(buf, at);
    let (n, g) = p.object_header()?;
    let Object::Dictionary(dict) = p.object(0)? else {
        return None;
    };
    p.skip_space();
    if !p.keyword(b"stream") {
        return None;
    }
    // The keyword is followed by CRLF or LF (a lone CR is tolerated).
    match (p.peek(), p.b.get(p.i + 1)) {
        (Some(b'\r'), Some(b'\n')) => p.i += 2,
        (Some(b'\n' | b'\r'), _) => p.i += 1,
        _ => return None,
    }
    Some(((n, g), dict, p.i))
}

/// The object at `offset` of `buf`, when it is `id` and not a stream.
pub(crate) fn indirect_object(buf: &[u8], offset: usize, id: ObjectId) -> Option<Object> {
    Parser::new(buf, offset).indirect(id)
}

/// The dictionary object at `offset` (not a stream) with only the entries `keep`.
pub(crate) fn indirect_dictionary_keeping(
    buf: &[u8],
    offset: usize,
    id: ObjectId,
    keep: &[&[u8]],
) -> Option<Dictionary> {
    Parser::new(buf, offset).indirect_keeping(id, keep)
}

/// One direct object starting at `at`.
pub(crate) fn direct_object(buf: &[u8], at: usize) -> Option<Object> {
    Parser::new(buf, at).object(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The partial reading of a dictionary accepts what the full reading accepts, no more, and
    /// keeps the same values of the entries asked for.
    #[test]
    fn a_dictionary_read_for_some_entries_agrees_with_the_full_reading() {
        const KEEP: [&[u8]; 2] = [b"Type", b"Kids"];
        let cases: &[&str] = &[
            "<< /Type /Page /Parent 3 0 R /Resources << /Font << /F1 4 0 R >> >> >>",
            "<</Type/Pages/Kids[5 0 R 6 0 R]/Count 2>>",
            "<< /Kids [1 0 R] /T (a \\) (nested) \\053 \\0 end) /Type /Pages >>",
            "<< /A <48 65 6c 6C 6f> /B [true false null -1.5 +3 .5] /Type /P#61ge >>",
            "<< % a comment\n /Type /Page /X [[[]]] /Y <<>> >>",
            "<< /Type /Page /Type /Pages >>",
            "<< /Type /Page >> stream\nabc\nendstream",
            "<< /Type /Page /S (unbalanced >>",
            "<< /Type /Page /H <4g> >>",
            "<< /Type /Page /N /bad#zz >>",
            "<< /Type /Page /X ) >>",
            "<< /Type /Page 12 /Y >>",
            "<< /Type /Page /X [1 2",
            "[ /Type /Page ]",
            "<< /Type /Page /E (x\\",
            "<< /Type /Page /O (\\1234) >>",
        ];
        let deep = format!("<< /Type /Page /X {}{} >>", "[".repeat(70), "]".repeat(70));
        let mut all: Vec<String> = cases.iter().map(|c| (*c).to_owned()).collect();
        all.push(deep);
        for case in &all {
            let buf = format!("1 0 obj {case}");
            let full = indirect_object(buf.as_bytes(), 0, (1, 0));
            let kept = indirect_dictionary_keeping(buf.as_bytes(), 0, (1, 0), &KEEP);
            match full {
                Some(Object::Dictionary(d)) => {
                    let kept = kept.unwrap_or_else(|| panic!("{case}: refused"));
                    for k in KEEP {
                        assert_eq!(d.get(k).ok(), kept.get(k).ok(), "{case}");
                    }
                    assert!(kept.len() <= KEEP.len(), "{case}");
                }
                _ => assert!(kept.is_none(), "{case}: accepted"),
            }
        }
        // Some cases must be read, and some refused, for the comparison to mean anything.
        let read = |c: &str| {
            indirect_dictionary_keeping(format!("1 0 obj {c}").as_bytes(), 0, (1, 0), &KEEP)
        };
        let kids = read(cases[2]).unwrap();
        assert_eq!(kids.get(b"Type").unwrap().as_name().unwrap(), b"Pages");
        assert_eq!(kids.get(b"Kids").unwrap().as_array().unwrap().len(), 1);
        assert_eq!(
            read(cases[3])
                .unwrap()
                .get(b"Type")
                .unwrap()
                .as_name()
                .unwrap(),
            b"Page"
        );
        for refused in [6, 7, 8, 9, 10, 11, 12, 13, 14] {
            assert!(read(cases[refused]).is_none(), "{}", cases[refused]);
        }
        assert!(read(&all[all.len() - 1]).is_none(), "too deep");

        // Then many mutations of them (bytes replaced, inserted, removed; a fixed seed): the two
        // readings still agree on every one.
        let alphabet = b"<>[]()/\\#%0123456789 \n\r.+-RTtrufalsenobjstreamPageKids";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..40_000 {
            let mut b = format!("1 0 obj {}", all[round % all.len()]).into_bytes();
            for _ in 0..1 + next(4) {
                let at = 8 + next(b.len() - 7);
                match next(3) {
                    0 if at < b.len() => b[at] = alphabet[next(alphabet.len())],
                    1 => b.insert(at, alphabet[next(alphabet.len())]),
                    _ if at < b.len() => {
                        b.remove(at);
                    }
                    _ => {}
                }
            }
            let full = indirect_object(&b, 0, (1, 0));
            let kept = indirect_dictionary_keeping(&b, 0, (1, 0), &KEEP);
            let shown = String::from_utf8_lossy(&b).into_owned();
            match full {
                Some(Object::Dictionary(d)) => {
                    let kept = kept.unwrap_or_else(|| panic!("{shown}: refused"));
                    for k in KEEP {
                        assert_eq!(d.get(k).ok(), kept.get(k).ok(), "{shown}");
                    }
                    accepted += 1;
                }
                _ => {
                    assert!(kept.is_none(), "{shown}: accepted");
                    refused += 1;
                }
            }
        }
        assert!(
            accepted > 1_000 && refused > 1_000,
            "{accepted} / {refused}"
        );
    }

    fn one(s: &str) -> Object {
        direct_object(s.as_bytes(), 0).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn objects() {
        assert_eq!(one("42").as_i64().ok(), Some(42));
        assert_eq!(one("-3").as_i64().ok(), Some(-3));
        assert!(matches!(one("-.5"), Object::Real(r) if (r + 0.5).abs() < 1e-6));
        assert!(matches!(one("12 0 R"), Object::Reference((12, 0))));
        assert!(matches!(one("12 0 Rx"), Object::Integer(12)));
        assert!(matches!(one("true"), Object::Boolean(true)));
        assert!(matches!(one("null"), Object::Null));
        assert_eq!(one("/A#20b").as_name().ok(), Some(&b"A b"[..]));
        assert!(
            matches!(one("<48 65 6>"), Object::String(s, StringFormat::Hexadecimal) if s == b"He`")
        );
        assert!(
            matches!(one("(a\\(b\\) (c) \\101\\\nd\\n)"), Object::String(s, StringFormat::Literal) if s == b"a(b) (c) Ad\n")
        );
        let d = one("<< /Kids [1 0 R 2 0 R] /Count 2 %comment\n /Sub << /X [1 2.5 /N] >> >>");
        let d = d.as_dict().unwrap();
        assert_eq!(d.get(b"Kids").unwrap().as_array().unwrap().len(), 2);
        assert_eq!(d.get(b"Count").unwrap().as_i64().unwrap(), 2);
        assert!(d.get(b"Sub").unwrap().as_dict().is_ok());
        assert!(direct_object(b"<< /A", 0).is_none());
        assert!(direct_object(b"[1 2", 0).is_none());
        assert!(direct_object(b"(open", 0).is_none());
        assert!(direct_object(&[b'['; 200], 0).is_none());
        assert!(indirect_object(b"3 0 obj << >> endobj", 0, (3, 0)).is_some());
        assert!(indirect_object(b"3 0 obj << >> endobj", 0, (4, 0)).is_none());
        assert!(
            indirect_object(b"3 0 obj <</Length 1>> stream\nx\nendstream", 0, (3, 0)).is_none()
        );
    }

    #[test]
    fn a_stream_without_a_usable_length_ends_at_endstream() {
        let buf = b"7 0 obj <</Length 99 0 R /Filter /FlateDecode>> stream\r\nabc\ndef\r\nendstream\nendobj";
        // The length cannot be read: the stream runs to `endstream`, less the end of line.
        assert!(direct_stream(buf, 0, |_| None).is_none());
        let (id, dict, content) = delimited_stream(buf, 0).unwrap();
        assert_eq!(id, (7, 0));
        assert_eq!(content, b"abc\ndef");
        assert!(dict.get(b"Filter").is_ok());
        // With a usable length, that length decides.
        let (_, _, content) = direct_stream(buf, 0, |_| Some(3)).unwrap();
        assert_eq!(content, b"abc");
        // No `endstream`, or not a stream: nothing.
        assert!(delimited_stream(b"7 0 obj <<>> stream\nabc", 0).is_none());
        assert!(delimited_stream(b"7 0 obj <<>> endobj", 0).is_none());
    }
}
