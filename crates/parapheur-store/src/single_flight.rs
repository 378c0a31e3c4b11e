//! One computation at a time per key: callers that miss a cached value together wait for the
//! first one's result instead of each computing it (a wave of polls after a write or when a
//! cached value expires would otherwise run the same query once per caller).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// The gates of the keys being computed.
#[derive(Debug)]
pub struct SingleFlight<K> {
    gates: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for SingleFlight<K> {
    fn default() -> Self {
        Self {
            gates: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone> SingleFlight<K> {
    /// `cached()` when it has a value; otherwise `compute`, run by one caller at a time per key
    /// (`compute` keeps its result where `cached` finds it): those who waited look again once
    /// their turn comes and take that result when it is still valid for them.
    pub async fn run<T, E>(
        &self,
        key: &K,
        cached: impl Fn() -> Option<T>,
        compute: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        if let Some(v) = cached() {
            return Ok(v);
        }
        let gate = match self.gates.lock() {
            Ok(mut g) => g.entry(key.clone()).or_default().clone(),
            // A poisoned map: no coordination, still a correct answer.
            Err(_) => Arc::default(),
        };
        let turn = gate.lock().await;
        let result = match cached() {
            Some(v) => Ok(v),
            None => compute.await,
        };
        drop(turn);
        if let Ok(mut g) = self.gates.lock()
            // Nobody else holds the gate (the map and this caller): it can go.
            && g.get(key).is_some_and(|x| Arc::strong_count(x) <= 2)
        {
            g.remove(key);
        }
        result
    }

    /// Keys being computed or waited for (tests).
    pub fn in_flight(&self) -> usize {
        self.gates.lock().map(|g| g.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_missing_the_same_key_together_compute_it_once() {
        let flight = Arc::new(SingleFlight::<u8>::default());
        let kept = Arc::new(Mutex::new(None::<u32>));
        let computed = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..16)
            .map(|_| {
                let (flight, kept, computed) = (flight.clone(), kept.clone(), computed.clone());
                tokio::spawn(async move {
                    let read = || kept.lock().ok().and_then(|k| *k);
                    flight
                        .run(&1, read, async {
                            computed.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            if let Ok(mut k) = kept.lock() {
                                *k = Some(7);
                            }
                            Ok::<_, ()>(7)
                        })
                        .await
                })
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.ok(), Some(Ok(7)));
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        assert_eq!(flight.in_flight(), 0);
        // A failure is not kept: the next caller computes again.
        let r = flight
            .run(&2, || None::<u32>, async { Err::<u32, _>("down") })
            .await;
        assert_eq!(r, Err("down"));
        let r = flight.run(&2, || None, async { Ok::<_, ()>(8) }).await;
        assert_eq!(r, Ok(8));
    }
}
