//! Walks of the PDF's trees (the page tree, the form's field tree): each node is visited once,
//! so a walk is linear in the nodes of the file; a node reached twice (a cycle or a shared
//! subtree) is an error, and the depth and number of nodes are bounded by the [`Limits`].
//!
//! [`Limits`]: super::Limits

use super::budget::budget_error;
use super::{PdfFile, SharedDict, err};
use crate::SignError;
use foldhash::{HashMap, HashSet, HashSetExt};
use lopdf::{Dictionary, Object, ObjectId};

fn not_a_tree() -> SignError {
    err("the page tree is not a tree")
}

/// The nodes one walk has entered, and the page counts it has found.
#[derive(Default)]
struct Walk {
    seen: HashSet<ObjectId>,
    counts: HashMap<ObjectId, u32>,
}

impl PdfFile<'_> {
    /// An error when a walk that has entered `nodes` nodes, now at `depth`, exceeds the limits.
    fn check_walk(&self, nodes: usize, depth: usize) -> Result<(), SignError> {
        let limits = self.limits();
        if depth > limits.depth {
            return Err(budget_error(format!(
                "a PDF tree is deeper than {}",
                limits.depth
            )));
        }
        if nodes > limits.objects {
            return Err(budget_error(format!(
                "a PDF tree has more than {} nodes",
                limits.objects
            )));
        }
        self.budget.time()
    }

    /// The number of pages under node `id` of the page tree: its `/Count`, or its kids counted.
    fn count(&self, id: ObjectId, depth: usize, walk: &mut Walk) -> Result<u32, SignError> {
        if !walk.seen.insert(id) {
            return Err(not_a_tree());
        }
        self.check_walk(walk.seen.len(), depth)?;
        let node = self.shared_dictionary(id)?;
        let c = if !is_pages_node(&node) {
            1
        } else if let Ok(c) = node.get(b"Count").and_then(Object::as_i64)
            && let Ok(c) = u32::try_from(c)
        {
            c
        } else {
            let mut total = 0u32;
            for kid in self.kids(&node)? {
                total = total.saturating_add(self.count(kid, depth + 1, walk)?);
            }
            total
        };
        walk.counts.insert(id, c);
        Ok(c)
    }

    /// [`count`](Self::count), or what this walk already found.
    fn known_count(&self, id: ObjectId, walk: &mut Walk) -> Result<u32, SignError> {
        match walk.counts.get(&id) {
            Some(c) => Ok(*c),
            None => self.count(id, 0, walk),
        }
    }

    fn kids(&self, node: &Dictionary) -> Result<Vec<ObjectId>, SignError> {
        let kids = match node.get(b"Kids") {
            Ok(Object::Reference(id)) => self.shared(*id)?,
            Ok(Object::Array(a)) => {
                return Ok(a.iter().filter_map(|k| k.as_reference().ok()).collect());
            }
            Ok(_) => return Err(err("/Kids is not an array")),
            Err(_) => return Ok(Vec::new()),
        };
        Ok(kids
            .as_array()
            .map_err(|_| err("/Kids is not an array"))?
            .iter()
            .filter_map(|k| k.as_reference().ok())
            .collect())
    }

    /// The page tree's root id.
    fn pages_root(&self) -> Result<ObjectId, SignError> {
        let catalog = self.shared_dictionary(self.root()?)?;
        catalog
            .get(b"Pages")
            .and_then(Object::as_reference)
            .map_err(|_| err("the catalog has no /Pages"))
    }

    /// The page tree's root and its number of pages.
    pub fn pages(&self) -> Result<(ObjectId, u32), SignError> {
        let id = self.pages_root()?;
        Ok((id, self.count(id, 0, &mut Walk::default())?))
    }

    /// Page `n` (1-based) under the page tree `root`, found by descending through `/Count`. Each
    /// level is scanned from the nearer end, so the last page (the default place of the stamp)
    /// costs one dictionary per level whatever the number of pages. A subtree without `/Count`
    /// is counted once, by one walk shared by all levels.
    pub fn page(&self, root: ObjectId, n: u32) -> Result<ObjectId, SignError> {
        let mut node_id = root;
        let mut n = n;
        let mut path = HashSet::new();
        let mut walk = Walk::default();
        for _ in 0..=self.limits().depth {
            if !path.insert(node_id) {
                return Err(not_a_tree());
            }
            let node = self.shared_dictionary(node_id)?;
            if !is_pages_node(&node) {
                return if n == 1 {
                    Ok(node_id)
                } else {
                    Err(err("page not found"))
                };
            }
            let kids = self.kids(&node)?;
            let total = self.known_count(node_id, &mut walk)?;
            if n == 0 || n > total {
                return Err(err("page not found"));
            }
            if kids.iter().collect::<HashSet<_>>().len() != kids.len() {
                return Err(not_a_tree());
            }
            let mut next = None;
            if n > total / 2 {
                // Position counted from the end: 1 is the last page of this subtree.
                let mut m = total.saturating_sub(n).saturating_add(1);
                for kid in kids.iter().rev() {
                    let c = self.known_count(*kid, &mut walk)?;
                    if m <= c {
                        next = Some((*kid, c - m + 1));
                        break;
                    }
                    m -= c;
                }
            } else {
                for kid in &kids {
                    let c = self.known_count(*kid, &mut walk)?;
                    if n <= c {
                        next = Some((*kid, n));
                        break;
                    }
                    n -= c;
                }
            }
            let (id, rest) = next.ok_or_else(|| err("page not found"))?;
            node_id = id;
            n = rest;
        }
        Err(budget_error("the page tree is too deep"))
    }

    /// Every node of the page tree, each visited once (no content is read): the number of pages.
    /// Every leaf must be a page, and every `/Count` must match the pages below it.
    pub fn walk_pages(&self) -> Result<u32, SignError> {
        enum Step {
            Enter(ObjectId, usize),
            /// A node's declared `/Count`, checked against the pages found since it was entered.
            Leave(Option<i64>, u32),
        }
        let mut seen = HashSet::new();
        let mut stack = vec![Step::Enter(self.pages_root()?, 0)];
        let mut pages = 0u32;
        while let Some(step) = stack.pop() {
            let (id, depth) = match step {
                Step::Enter(id, depth) => (id, depth),
                Step::Leave(declared, before) => {
                    if let Some(c) = declared
                        && c != i64::from(pages - before)
                    {
                        return Err(err("a /Count of the page tree is wrong"));
                    }
                    continue;
                }
            };
            if !seen.insert(id) {
                return Err(not_a_tree());
            }
            self.check_walk(seen.len(), depth)?;
            // Only these entries are read: a page's resources and the rest are not built.
            let node = self.passing_entries(id, &[b"Type", b"Kids", b"Count"])?;
            if !is_pages_node(&node) {
                if node
                    .get(b"Type")
                    .and_then(Object::as_name)
                    .is_ok_and(|t| t != b"Page")
                {
                    return Err(err("a leaf of the page tree is not a page"));
                }
                pages = pages.checked_add(1).ok_or_else(|| err("too many pages"))?;
                continue;
            }
            let declared = node.get(b"Count").ok().map(|c| c.as_i64().unwrap_or(-1));
            stack.push(Step::Leave(declared, pages));
            let kids = match node.get(b"Kids") {
                Ok(Object::Array(a)) => a.clone(),
                Ok(Object::Reference(r)) => match self.get(*r)? {
                    Object::Array(a) => a,
                    _ => return Err(err("/Kids is not an array")),
                },
                Ok(_) => return Err(err("/Kids is not an array")),
                Err(_) => Vec::new(),
            };
            for kid in kids.iter().rev() {
                let kid = kid
                    .as_reference()
                    .map_err(|_| err("a page tree node is not a reference"))?;
                stack.push(Step::Enter(kid, depth + 1));
            }
        }
        Ok(pages)
    }

    /// Every field of the form (`/AcroForm /Fields` and their `/Kids`), each visited once; the
    /// number of fields and widgets. References to missing objects count as null.
    pub fn walk_fields(&self) -> Result<usize, SignError> {
        let catalog = self.shared_dictionary(self.root()?)?;
        let Some(form) = self.optional_dictionary(catalog.get(b"AcroForm").ok())? else {
            return Ok(0);
        };
        let mut seen = HashSet::new();
        let mut stack: Vec<(Object, usize)> = self
            .optional_array(form.get(b"Fields").ok())?
            .into_iter()
            .map(|f| (f, 1))
            .collect();
        let mut nodes = 0usize;
        while let Some((field, depth)) = stack.pop() {
            if let Object::Reference(id) = field
                && !seen.insert(id)
            {
                return Err(err("the form's field tree is not a tree"));
            }
            nodes += 1;
            self.check_walk(nodes, depth)?;
            let Some(d) = self.optional_dictionary(Some(&field))? else {
                continue;
            };
            for kid in self.optional_array(d.get(b"Kids").ok())? {
                stack.push((kid, depth + 1));
            }
        }
        Ok(nodes)
    }

    /// A dictionary, inline or referenced; `None` for anything else or a missing object.
    fn optional_dictionary(&self, o: Option<&Object>) -> Result<Option<SharedDict>, SignError> {
        match o {
            Some(Object::Reference(id)) => match self.passing_dictionary(*id) {
                Ok(d) => Ok(Some(d)),
                Err(e) if e.is_budget() => Err(e),
                Err(_) => Ok(None),
            },
            Some(o @ Object::Dictionary(_)) => Ok(Some(SharedDict(std::rc::Rc::new(o.clone())))),
            _ => Ok(None),
        }
    }

    /// An array, inline or referenced; empty for anything else or a missing object.
    fn optional_array(&self, o: Option<&Object>) -> Result<Vec<Object>, SignError> {
        match o {
            Some(Object::Array(a)) => Ok(a.clone()),
            Some(Object::Reference(id)) => match self.shared(*id) {
                Ok(o) => Ok(o.as_array().cloned().unwrap_or_default()),
                Err(e) if e.is_budget() => Err(e),
                Err(_) => Ok(Vec::new()),
            },
            _ => Ok(Vec::new()),
        }
    }
}

/// An intermediate node of the page tree (as opposed to a page).
pub(super) fn is_pages_node(d: &Dictionary) -> bool {
    match d.get(b"Type").and_then(Object::as_name) {
        Ok(t) => t == b"Pages",
        Err(_) => d.get(b"Kids").is_ok(),
    }
}
