//! What a deposit reads besides the document, kept in memory: the circuit it names (with its
//! subscriber's name) and the people the circuit and the deposit name (membership, digest
//! choice, delegate of the day). Deposits into the same circuits repeat those reads; on
//! PostgreSQL they were two round trips of every upload (issue 22).
//!
//! Whoever changes those tables moves the database's deposit epoch (triggers, migration 0026):
//! another instance, a command-line provisioning, an operator's SQL. Each instance reads the
//! epoch every half second (with the credentials epoch) and empties this cache when it moved;
//! until it has read the epoch once, and after a failed read, the cache answers nothing.
//! Writes made through this instance's `Db` empty it at once, after they are committed.
//! A read that raced a change is not kept (a generation, bumped by every emptying).

use crate::accounts::{CircuitRow, DepositPerson};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

/// Entries kept at most per map: beyond it the map is emptied and fills again with what is
/// deposited into.
const MAX_ENTRIES: usize = 4_096;
/// The people of a deposit are kept only when their addresses take at most this many bytes: a
/// depositor naming agents at will cannot make the map large (4 096 entries of 2 KiB, about
/// twice that with their answers).
const MAX_PEOPLE_KEY_BYTES: usize = 2_048;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A provisioned circuit: its subscriber and its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CircuitKey {
    siren: String,
    id: String,
}

/// The people a deposit names: its subscriber, the day (absences are whole days), and the
/// lower-case addresses, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PeopleKey {
    siren: String,
    day: String,
    emails: Vec<String>,
}

#[derive(Debug, Default)]
struct Maps {
    /// Bumped by every emptying: a read that started under another generation is not kept.
    generation: u64,
    /// The deposit epoch the entries were read under; `None` before it was first read and
    /// after a failed read, when the cache answers nothing (see the module).
    epoch: Option<i64>,
    circuits: FastMap<CircuitKey, Arc<(CircuitRow, String)>>,
    people: FastMap<PeopleKey, Arc<[DepositPerson]>>,
}

impl Maps {
    fn empty(&mut self) {
        self.generation += 1;
        self.circuits.clear();
        self.people.clear();
    }
}

/// Inserts, first emptying a map that reached `MAX_ENTRIES`.
fn bounded_insert<K: std::hash::Hash + Eq, V>(map: &mut FastMap<K, V>, k: K, v: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(k, v);
}

/// The cache of deposit reads (see the module).
#[derive(Debug, Default)]
pub struct DepositCache {
    maps: Mutex<Maps>,
}

/// The generation a read started under, to be given back with what it read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(Option<u64>);

impl DepositCache {
    /// Empties the cache (a write through this instance changed what deposits read).
    pub fn invalidate(&self) {
        if let Ok(mut m) = self.maps.lock() {
            m.empty();
        }
    }

    /// Records the deposit epoch read from the database: the cache is emptied when it moved
    /// (or was never read), and trusted from now on. Returns whether it was emptied.
    pub fn sync_epoch(&self, epoch: i64) -> bool {
        let Ok(mut m) = self.maps.lock() else {
            return false;
        };
        let moved = m.epoch != Some(epoch);
        if moved {
            m.empty();
            m.epoch = Some(epoch);
        }
        moved
    }

    /// The epoch could not be read: empty, and answer nothing until it is read again.
    pub fn distrust(&self) {
        if let Ok(mut m) = self.maps.lock() {
            m.empty();
            m.epoch = None;
        }
    }

    /// What `get` finds while the cache is trusted, and the ticket of a read to keep.
    fn lookup<T>(&self, get: impl FnOnce(&Maps) -> Option<T>) -> (Option<T>, Ticket) {
        match self.maps.lock() {
            Ok(m) if m.epoch.is_some() => (get(&m), Ticket(Some(m.generation))),
            _ => (None, Ticket(None)),
        }
    }

    pub(crate) fn circuit(&self, siren: &str, id: &str) -> (Option<(CircuitRow, String)>, Ticket) {
        let key = CircuitKey {
            siren: siren.to_owned(),
            id: id.to_owned(),
        };
        self.lookup(|m| m.circuits.get(&key).map(|v| (**v).clone()))
    }

    pub(crate) fn keep_circuit(&self, t: Ticket, siren: &str, id: &str, v: &(CircuitRow, String)) {
        let key = CircuitKey {
            siren: siren.to_owned(),
            id: id.to_owned(),
        };
        self.keep(t, |m| {
            bounded_insert(&mut m.circuits, key, Arc::new(v.clone()))
        });
    }

    pub(crate) fn people(
        &self,
        siren: &str,
        day: &str,
        emails: &[String],
    ) -> (Option<Vec<DepositPerson>>, Ticket) {
        let key = PeopleKey {
            siren: siren.to_owned(),
            day: day.to_owned(),
            emails: emails.to_vec(),
        };
        self.lookup(|m| m.people.get(&key).map(|v| v.to_vec()))
    }

    pub(crate) fn keep_people(
        &self,
        t: Ticket,
        siren: &str,
        day: &str,
        emails: &[String],
        v: &[DepositPerson],
    ) {
        if emails.iter().map(String::len).sum::<usize>() > MAX_PEOPLE_KEY_BYTES {
            return;
        }
        let key = PeopleKey {
            siren: siren.to_owned(),
            day: day.to_owned(),
            emails: emails.to_vec(),
        };
        self.keep(t, |m| bounded_insert(&mut m.people, key, v.into()));
    }

    /// Keeps a read if nothing emptied the cache since its ticket was taken.
    fn keep(&self, t: Ticket, put: impl FnOnce(&mut Maps)) {
        let Some(generation) = t.0 else {
            return;
        };
        if let Ok(mut m) = self.maps.lock()
            && m.epoch.is_some()
            && m.generation == generation
        {
            put(&mut m);
        }
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        self.maps
            .lock()
            .map(|m| (m.circuits.len(), m.people.len()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::CircuitStep;
    use parapheur_domain::{CircuitType, StepKind, StepRule, Visibility};

    fn circuit(depositors: &[&str]) -> (CircuitRow, String) {
        (
            CircuitRow {
                siren: "123456789".into(),
                id: "C".into(),
                circuit_type: CircuitType::BureautiquePdf,
                formats: vec!["pdf".into()],
                metadata_required: false,
                steps: vec![CircuitStep {
                    kind: StepKind::Visa,
                    rule: StepRule::Any,
                    members: vec!["a@x.fr".into()],
                    own_key: false,
                }],
                depositors: depositors.iter().map(|d| (*d).to_owned()).collect(),
                visibility: Visibility::default(),
                deadline_days: None,
            },
            "Org".into(),
        )
    }

    #[test]
    fn nothing_is_kept_or_served_before_the_epoch_is_read() {
        let c = DepositCache::default();
        let (hit, t) = c.circuit("123456789", "C");
        assert!(hit.is_none());
        c.keep_circuit(t, "123456789", "C", &circuit(&[]));
        assert_eq!(c.len(), (0, 0));
        assert!(c.sync_epoch(7));
        let (hit, t) = c.circuit("123456789", "C");
        assert!(hit.is_none());
        c.keep_circuit(t, "123456789", "C", &circuit(&[]));
        assert_eq!(c.circuit("123456789", "C").0, Some(circuit(&[])));
        // Another subscriber's circuit of the same id is another entry.
        assert!(c.circuit("987654321", "C").0.is_none());
    }

    #[test]
    fn a_moved_epoch_a_local_write_or_a_failed_read_empties_it() {
        let c = DepositCache::default();
        c.sync_epoch(1);
        let fill = |c: &DepositCache| {
            let (_, t) = c.circuit("123456789", "C");
            c.keep_circuit(t, "123456789", "C", &circuit(&[]));
            let emails = vec!["a@x.fr".to_owned()];
            let (_, t) = c.people("123456789", "2026-12-07", &emails);
            c.keep_people(t, "123456789", "2026-12-07", &emails, &[]);
        };
        fill(&c);
        assert_eq!(c.len(), (1, 1));
        assert!(!c.sync_epoch(1), "the same epoch keeps the entries");
        assert_eq!(c.len(), (1, 1));
        assert!(c.sync_epoch(2));
        assert_eq!(c.len(), (0, 0));
        fill(&c);
        c.invalidate();
        assert_eq!(c.len(), (0, 0));
        fill(&c);
        c.distrust();
        assert_eq!(c.len(), (0, 0));
        fill(&c);
        assert_eq!(c.len(), (0, 0), "not trusted until the epoch is read again");
        // The same people on another day are another entry (absences are by day).
        c.sync_epoch(2);
        fill(&c);
        assert!(
            c.people("123456789", "2026-12-08", &["a@x.fr".to_owned()])
                .0
                .is_none()
        );
    }

    #[test]
    fn long_lists_of_people_are_not_kept() {
        let c = DepositCache::default();
        c.sync_epoch(1);
        let many: Vec<String> = (0..200).map(|i| format!("agent{i:03}@x.fr")).collect();
        let (_, t) = c.people("123456789", "2026-12-07", &many);
        c.keep_people(t, "123456789", "2026-12-07", &many, &[]);
        assert_eq!(c.len(), (0, 0));
        let few = &many[..10];
        let (_, t) = c.people("123456789", "2026-12-07", few);
        c.keep_people(t, "123456789", "2026-12-07", few, &[]);
        assert_eq!(c.len(), (0, 1));
    }

    #[test]
    fn a_read_that_raced_an_emptying_is_not_kept() {
        let c = DepositCache::default();
        c.sync_epoch(1);
        let (_, t) = c.circuit("123456789", "C");
        // A write lands while the read is on its way.
        c.invalidate();
        c.keep_circuit(t, "123456789", "C", &circuit(&["old@x.fr"]));
        assert!(c.circuit("123456789", "C").0.is_none());
        let (_, t) = c.circuit("123456789", "C");
        c.sync_epoch(2);
        c.keep_circuit(t, "123456789", "C", &circuit(&["old@x.fr"]));
        assert!(c.circuit("123456789", "C").0.is_none());
    }
}
