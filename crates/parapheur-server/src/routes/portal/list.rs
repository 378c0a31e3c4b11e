//! A dashboard list as the user left it (bannette, search and order), carried from the list to
//! the document pages opened from it and through their forms, so that "Document suivant" is the
//! next document of that same list.

use parapheur_store::portal::{Bannette, ListFilter, SortKey};

/// The query parameters (and form fields) of a list besides its bannette.
const FIELDS: [&str; 5] = ["q", "circuit", "label", "tri", "ordre"];

/// Percent-encodes a query value.
pub(super) fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The search and order of a list read from its parameters (`get` gives a parameter's value):
/// `q`, `circuit`, `label` (blank means none), `tri` (a column) and `ordre` (`asc`/`desc`; by
/// default the newest deposits first, the other columns from A to Z, the nearest deadline first).
pub(super) fn filter_of(get: impl Fn(&str) -> Option<String>) -> ListFilter {
    let text = |k: &str| {
        get(k)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let sort = get("tri")
        .and_then(|s| SortKey::from_slug(&s))
        .unwrap_or_default();
    let descending = match get("ordre").as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => sort == SortKey::Deposit,
    };
    ListFilter {
        circuit: text("circuit"),
        label: text("label"),
        name: text("q"),
        sort,
        descending,
    }
}

pub(super) fn direction(descending: bool) -> &'static str {
    if descending { "desc" } else { "asc" }
}

/// A bannette list with its search and order.
#[derive(Debug, Clone)]
pub(super) struct ListContext {
    pub bannette: Bannette,
    pub filter: ListFilter,
}

impl ListContext {
    /// The list a document page was opened from: `suivant` names the bannette, the other
    /// parameters as on the dashboard. `None` without (or with an unknown) bannette.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let bannette = get("suivant").and_then(|s| Bannette::from_slug(&s))?;
        Some(Self {
            bannette,
            filter: filter_of(get),
        })
    }

    /// The list's parameters other than the bannette, as (name, value); blank ones left out.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let f = &self.filter;
        let values = [
            f.name.clone(),
            f.circuit.clone(),
            f.label.clone(),
            Some(f.sort.slug().to_owned()),
            Some(direction(f.descending).to_owned()),
        ];
        FIELDS
            .into_iter()
            .zip(values)
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    /// The hidden fields the document page's forms carry: the bannette and the list's search
    /// and order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![("suivant", self.bannette.slug().to_owned())];
        v.extend(self.pairs());
        v
    }

    /// `suivant=…&q=…&tri=…`: appended to a document page's address.
    pub fn query(&self) -> String {
        self.fields()
            .into_iter()
            .map(|(k, v)| format!("{k}={}", enc(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The document page of `id` opened from this list.
    pub fn document_link(&self, id: i64) -> String {
        format!("/parapheur/documents/{id}?{}", self.query())
    }

    /// Page `page` of the list on the dashboard.
    pub fn dashboard_link(&self, page: i64) -> String {
        let mut s = format!("/parapheur/?bannette={}", self.bannette.slug());
        for (k, v) in self.pairs() {
            s.push_str(&format!("&{k}={}", enc(&v)));
        }
        s.push_str(&format!("&page={page}"));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn params(q: &str) -> HashMap<String, String> {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.replace("%20", " ")))
            .collect()
    }

    #[test]
    fn a_list_goes_through_a_document_link_and_comes_back_the_same() {
        let q = params("suivant=a-signer&q=budget%20primitif&tri=echeance&ordre=desc");
        let ctx = ListContext::from_params(|k| q.get(k).cloned()).unwrap();
        assert_eq!(ctx.bannette, Bannette::ToSign);
        assert_eq!(ctx.filter.sort, SortKey::Deadline);
        assert!(ctx.filter.descending);
        assert_eq!(ctx.filter.name.as_deref(), Some("budget primitif"));
        let link = ctx.document_link(7);
        assert_eq!(
            link,
            "/parapheur/documents/7?suivant=a-signer&q=budget%20primitif&tri=echeance&ordre=desc"
        );
        let again = params(link.split_once('?').unwrap().1);
        let back = ListContext::from_params(|k| again.get(k).cloned()).unwrap();
        assert_eq!(back.query(), ctx.query());
        assert_eq!(
            ctx.dashboard_link(2),
            "/parapheur/?bannette=a-signer&q=budget%20primitif&tri=echeance&ordre=desc&page=2"
        );
    }

    #[test]
    fn without_a_known_bannette_there_is_no_list() {
        let q = params("suivant=nulle-part&tri=echeance");
        assert!(ListContext::from_params(|k| q.get(k).cloned()).is_none());
        assert!(ListContext::from_params(|_| None).is_none());
    }

    #[test]
    fn the_default_order_is_the_newest_deposit_first_and_the_nearest_deadline_first() {
        let f = filter_of(|_| None);
        assert_eq!((f.sort, f.descending), (SortKey::Deposit, true));
        let f = filter_of(|k| (k == "tri").then(|| "echeance".to_owned()));
        assert_eq!((f.sort, f.descending), (SortKey::Deadline, false));
        let f = filter_of(|k| (k == "q").then(|| "   ".to_owned()));
        assert_eq!(f.name, None, "a blank search is no search");
    }
}
