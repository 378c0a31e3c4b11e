//! What the revisions appended after a signature changed, and whether PAdES allows it: new
//! signature fields with their widgets and appearances, the form's field list, the `/DSS`, and
//! the catalog changing only those keys. Anything else (page content, resources, a page
//! otherwise modified, objects added and reachable from elsewhere) is reported.

use crate::SignError;
use crate::failure::{Change, Member, Refusal};
use crate::pdfread::{Location, PdfFile};
use lopdf::{Dictionary, Object, ObjectId};
use std::collections::{BTreeMap, HashSet};

/// Catalog keys a later revision may change.
const CATALOG_KEYS: [&[u8]; 3] = [b"AcroForm", b"DSS", b"Extensions"];
/// Form keys a later revision may change.
const ACROFORM_KEYS: [&[u8]; 2] = [b"Fields", b"SigFlags"];
/// Keys a signature field left empty in the signed revision may gain.
const FILLED_SIG_KEYS: [&[u8]; 3] = [b"V", b"AP", b"Lock"];

/// The changes made to `pdf` after its first `end` bytes (a signed revision) that PAdES does
/// not allow; empty when there are none.
pub(crate) fn disallowed_changes(pdf: &[u8], end: usize) -> Result<Vec<Change>, SignError> {
    let prefix = pdf
        .get(..end)
        .ok_or_else(|| SignError::Pdf("byte range beyond the file".into()))?;
    let old = PdfFile::open(prefix)?;
    let new = PdfFile::open(pdf)?;
    Diff {
        old: &old,
        new: &new,
    }
    .check()
}

struct Diff<'f, 'a> {
    old: &'f PdfFile<'a>,
    new: &'f PdfFile<'a>,
}

fn generation(l: &Location) -> u16 {
    match l {
        Location::Plain { generation, .. } => *generation,
        Location::Compressed { .. } => 0,
    }
}

fn type_is(o: &Object, t: &[u8]) -> bool {
    let d = match o {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        _ => return false,
    };
    d.get(b"Type")
        .and_then(Object::as_name)
        .is_ok_and(|n| n == t)
}

impl Diff<'_, '_> {
    fn check(&self) -> Result<Vec<Change>, SignError> {
        let (before, after) = (self.old.locations(), self.new.locations());
        let mut problems = Vec::new();
        // Objects whose storage changed: rewritten, or inside a rewritten object stream.
        let rewritten_containers: HashSet<u32> = after
            .iter()
            .filter(|(n, l)| before.get(n) != Some(l))
            .map(|(n, _)| *n)
            .collect();
        let mut changed = Vec::new();
        let mut added = HashSet::new();
        for (n, l) in &after {
            let id = (*n, generation(l));
            let moved = before.get(n) != Some(l)
                || matches!(l, Location::Compressed { container, .. } if rewritten_containers.contains(container));
            if !moved {
                continue;
            }
            match before.get(n) {
                Some(b) if generation(b) == id.1 => {
                    let (o, c) = (self.old.get(id)?, self.new.get(id)?);
                    if !same(&o, &c) {
                        changed.push((id, o, c));
                    }
                }
                Some(_) | None => {
                    added.insert(id);
                }
            }
        }
        for (n, l) in &before {
            if after.get(n).is_none_or(|a| generation(a) != generation(l)) {
                problems.push(Change::Deleted((*n, generation(l))));
            }
        }

        if self.old.root()? != self.new.root()? {
            problems.push(Change::CatalogReplaced);
        }
        // New objects are acceptable when reached from what an allowed change added.
        let mut roots: Vec<Object> = Vec::new();
        for k in [b"Root".as_slice(), b"Info".as_slice()] {
            if let Ok(o) = self.new.trailer.get(k) {
                roots.push(o.clone());
            }
        }
        for (id, o, c) in &changed {
            match self.allowed(*id, o, c, &added) {
                Ok(()) => roots.push(c.clone()),
                Err(e) => problems.push(Change::Object(*id, e)),
            }
        }
        // The catalog and form may have been replaced by new objects: check them as changes.
        self.check_new_form(&added, &mut problems)?;
        let reached = self.reach(roots, &added);
        let mut orphans: Vec<ObjectId> = added
            .iter()
            .filter(|id| !reached.contains(id))
            .copied()
            .collect();
        orphans.sort_unstable();
        for id in orphans {
            // Cross-reference and object streams are containers, not document objects.
            match self.new.get(id) {
                Ok(o) if type_is(&o, b"XRef") || type_is(&o, b"ObjStm") => {}
                _ => problems.push(Change::Orphan(id)),
            }
        }
        Ok(problems)
    }

    /// A form that is a new object (the catalog's `/AcroForm` now designates an added object or
    /// an inline dictionary): compared with the form of the signed revision.
    fn check_new_form(
        &self,
        added: &HashSet<ObjectId>,
        problems: &mut Vec<Change>,
    ) -> Result<(), SignError> {
        let catalog_new = self.new.dictionary(self.new.root()?)?;
        let new_af = catalog_new.get(b"AcroForm").ok();
        let replaced = match new_af {
            Some(Object::Reference(id)) => added.contains(id),
            _ => false,
        };
        if replaced && let Some(af) = new_af {
            let new_d = self.dict(self.new, af);
            let old_d = self.old_form();
            if let Some(nd) = new_d
                && let Err(e) = self.form_change(old_d.as_ref(), &nd, added)
            {
                problems.push(Change::Form(e));
            }
        }
        Ok(())
    }

    fn old_form(&self) -> Option<Dictionary> {
        let c = self.old.dictionary(self.old.root().ok()?).ok()?;
        self.dict(self.old, c.get(b"AcroForm").ok()?)
    }

    fn dict(&self, f: &PdfFile<'_>, o: &Object) -> Option<Dictionary> {
        match f.resolve(o).ok()? {
            Object::Dictionary(d) => Some(d),
            Object::Stream(s) => Some(s.dict),
            _ => None,
        }
    }

    fn array(&self, f: &PdfFile<'_>, o: Option<&Object>) -> Option<Vec<Object>> {
        match o {
            None => Some(Vec::new()),
            Some(o) => match f.resolve(o).ok()? {
                Object::Array(a) => Some(a),
                _ => None,
            },
        }
    }

    /// Whether the change of an object that existed in the signed revision is allowed.
    fn allowed(
        &self,
        id: ObjectId,
        old: &Object,
        new: &Object,
        added: &HashSet<ObjectId>,
    ) -> Result<(), Refusal> {
        if (type_is(old, b"ObjStm") && type_is(new, b"ObjStm"))
            || (type_is(old, b"XRef") && type_is(new, b"XRef"))
        {
            return Ok(());
        }
        match (old, new) {
            (Object::Dictionary(o), Object::Dictionary(n)) => {
                if self.old.root().ok() == Some(id) {
                    keys_unchanged(o, n, &CATALOG_KEYS)?;
                    // An inline form, or the form object itself, changes as a form may.
                    let (of, nf) = (o.get(b"AcroForm").ok(), n.get(b"AcroForm").ok());
                    if let (Some(Object::Dictionary(of)), Some(Object::Dictionary(nf))) = (of, nf) {
                        self.form_change(Some(of), nf, added)?;
                    } else if let Some(Object::Dictionary(nf)) = nf {
                        self.form_change(self.old_form().as_ref(), nf, added)?;
                    }
                    return Ok(());
                }
                if self.is_form(id) {
                    return self.form_change(Some(o), n, added);
                }
                if type_is(old, b"Page") {
                    keys_unchanged(o, n, &[b"Annots"])?;
                    let oa = self.array(self.old, o.get(b"Annots").ok());
                    let na = self.array(self.new, n.get(b"Annots").ok());
                    let (Some(oa), Some(na)) = (oa, na) else {
                        return Err(Refusal::UnreadableAnnots);
                    };
                    return self.grown(&oa, &na, added, Member::Annotation);
                }
                let is_sig_field = o
                    .get(b"FT")
                    .and_then(Object::as_name)
                    .is_ok_and(|f| f == b"Sig");
                if is_sig_field && !o.has(b"V") {
                    return keys_unchanged(o, n, &FILLED_SIG_KEYS);
                }
                Err(Refusal::Modified)
            }
            (Object::Array(o), Object::Array(n)) => self.grown(o, n, added, Member::Element),
            _ => Err(Refusal::Modified),
        }
    }

    /// Whether `id` is the form dictionary of the signed or of the current revision.
    fn is_form(&self, id: ObjectId) -> bool {
        [self.old, self.new].iter().any(|f| {
            f.root()
                .and_then(|r| f.dictionary(r))
                .is_ok_and(|c| matches!(c.get(b"AcroForm"), Ok(Object::Reference(a)) if *a == id))
        })
    }

    fn form_change(
        &self,
        old: Option<&Dictionary>,
        new: &Dictionary,
        added: &HashSet<ObjectId>,
    ) -> Result<(), Refusal> {
        let empty = Dictionary::new();
        let old = old.unwrap_or(&empty);
        keys_unchanged(old, new, &ACROFORM_KEYS)?;
        let of = self.array(self.old, old.get(b"Fields").ok());
        let nf = self.array(self.new, new.get(b"Fields").ok());
        let (Some(of), Some(nf)) = (of, nf) else {
            return Err(Refusal::UnreadableFields);
        };
        self.grown(&of, &nf, added, Member::Field)
    }

    /// `new` is `old` followed by references to added signature fields or their widgets.
    fn grown(
        &self,
        old: &[Object],
        new: &[Object],
        added: &HashSet<ObjectId>,
        what: Member,
    ) -> Result<(), Refusal> {
        if new.len() < old.len() || !old.iter().zip(new).all(|(a, b)| same(a, b)) {
            return Err(Refusal::Removed(what));
        }
        for extra in &new[old.len()..] {
            let Object::Reference(id) = extra else {
                return Err(Refusal::NotAReference(what));
            };
            if !added.contains(id) || !self.is_new_signature_field(*id, added) {
                return Err(Refusal::NotNewSignatureField { id: *id, what });
            }
        }
        Ok(())
    }

    /// An added signature field (merged with its widget, or with added widget kids), or an
    /// added widget of a signature field.
    fn is_new_signature_field(&self, id: ObjectId, added: &HashSet<ObjectId>) -> bool {
        let Ok(d) = self.new.dictionary(id) else {
            return false;
        };
        let is_sig = |d: &Dictionary| {
            d.get(b"FT")
                .and_then(Object::as_name)
                .is_ok_and(|f| f == b"Sig")
        };
        let is_widget = |d: &Dictionary| {
            d.get(b"Subtype")
                .and_then(Object::as_name)
                .is_ok_and(|s| s == b"Widget")
        };
        if is_sig(&d) {
            return match d.get(b"Kids") {
                Err(_) => true,
                Ok(kids) => self.array(self.new, Some(kids)).is_some_and(|kids| {
                    kids.iter().all(|k| match k {
                        Object::Reference(k) => {
                            added.contains(k)
                                && self.new.dictionary(*k).is_ok_and(|w| is_widget(&w))
                        }
                        _ => false,
                    })
                }),
            };
        }
        is_widget(&d)
            && d.get(b"Parent")
                .ok()
                .and_then(|p| self.dict(self.new, p))
                .is_some_and(|p| is_sig(&p))
    }

    /// The added objects reachable from `roots` through added objects only.
    fn reach(&self, roots: Vec<Object>, added: &HashSet<ObjectId>) -> HashSet<ObjectId> {
        let mut seen = HashSet::new();
        let mut stack = roots;
        while let Some(o) = stack.pop() {
            match o {
                Object::Reference(id) => {
                    if added.contains(&id)
                        && seen.insert(id)
                        && let Ok(o) = self.new.get(id)
                    {
                        stack.push(o);
                    }
                }
                Object::Array(a) => stack.extend(a),
                Object::Dictionary(d) => stack.extend(d.into_iter().map(|(_, v)| v)),
                Object::Stream(s) => stack.extend(s.dict.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
        seen
    }
}

/// Every key but `except` has the same value in both dictionaries.
fn keys_unchanged(old: &Dictionary, new: &Dictionary, except: &[&[u8]]) -> Result<(), Refusal> {
    let keys: BTreeMap<&[u8], ()> = old
        .iter()
        .chain(new.iter())
        .map(|(k, _)| (k.as_slice(), ()))
        .collect();
    for k in keys.keys() {
        if except.contains(k) {
            continue;
        }
        let same_value = match (old.get(k), new.get(k)) {
            (Ok(a), Ok(b)) => same(a, b),
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !same_value {
            return Err(Refusal::KeyChanged(k.to_vec()));
        }
    }
    Ok(())
}

/// Structural equality of two parsed objects (numbers compared by value, strings by bytes).
fn same(a: &Object, b: &Object) -> bool {
    let num = |o: &Object| match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(f64::from(*r)),
        _ => None,
    };
    match (a, b) {
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Object::Dictionary(x), Object::Dictionary(y)) => keys_unchanged(x, y, &[]).is_ok(),
        (Object::Stream(x), Object::Stream(y)) => {
            x.content == y.content && keys_unchanged(&x.dict, &y.dict, &[b"Length"]).is_ok()
        }
        (Object::String(x, _), Object::String(y, _)) => x == y,
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-4 * x.abs().max(1.0),
            _ => a == b,
        },
    }
}
