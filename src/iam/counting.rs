//! An observer that counts IAM calls per action: how tests prove a reconcile's cost (3 + N reads,
//! no write when nothing changed), and a cheap tally for tools.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::{CallObserver, CallOutcome, is_read_action};

#[derive(Debug, Default)]
pub struct CountingObserver {
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

impl CountingObserver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls of one action, whatever their outcome.
    pub fn count(&self, action: &str) -> u64 {
        self.sum(|name| name == action)
    }

    pub fn total(&self) -> u64 {
        self.sum(|_| true)
    }

    pub fn reads(&self) -> u64 {
        self.sum(is_read_action)
    }

    pub fn writes(&self) -> u64 {
        self.sum(|action| !is_read_action(action))
    }

    /// Every action called so far with its count, for assertion messages.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.lock().clone()
    }

    pub fn reset(&self) {
        self.lock().clear();
    }

    fn sum(&self, mut keep: impl FnMut(&str) -> bool) -> u64 {
        self.lock()
            .iter()
            .filter(|(action, _)| keep(action))
            .map(|(_, count)| count)
            .sum()
    }

    /// A panic while holding the lock cannot leave a count half-written, so a poisoned lock is
    /// still good to read.
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, u64>> {
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl CallObserver for CountingObserver {
    fn observe(&self, action: &'static str, _outcome: CallOutcome, _elapsed: Duration) {
        *self.lock().entry(action).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::error::Category;

    #[test]
    fn counts_reads_writes_and_resets() {
        let observer = CountingObserver::new();
        let calls = [
            ("GetRole", CallOutcome::Ok),
            ("ListRolePolicies", CallOutcome::Ok),
            ("GetRolePolicy", CallOutcome::Ok),
            ("GetRolePolicy", CallOutcome::Error(Category::IamTransient)),
            ("PutRolePolicy", CallOutcome::Ok),
            ("TagRole", CallOutcome::Error(Category::IamRejected)),
        ];
        for (action, outcome) in calls {
            observer.observe(action, outcome, Duration::from_millis(2));
        }
        assert_eq!(observer.count("GetRolePolicy"), 2);
        assert_eq!(observer.count("DeleteRole"), 0);
        assert_eq!(observer.total(), 6);
        assert_eq!(observer.reads(), 4);
        assert_eq!(observer.writes(), 2);
        assert_eq!(observer.snapshot().get("TagRole"), Some(&1));
        observer.reset();
        assert_eq!(
            (observer.total(), observer.reads(), observer.writes()),
            (0, 0, 0)
        );
    }

    #[test]
    fn counts_from_many_threads() {
        let observer = Arc::new(CountingObserver::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let observer = Arc::clone(&observer);
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        observer.observe("GetRole", CallOutcome::Ok, Duration::ZERO);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(observer.count("GetRole"), 1000);
    }
}
