//! What the controller remembers between reconciles of one object: consecutive failures (for
//! backoff), since when an error IAM's propagation may explain has been seen, and which problems
//! were already announced. Every entry goes when the object recovers, is blocked on the user, or
//! is deleted, so memory follows the number of objects in trouble, not the objects ever seen.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::consistency::{self, Wait};
use crate::error::Error;

#[derive(Default)]
pub struct RetryState {
    /// Consecutive transient failures, by `namespace/name`.
    failures: Mutex<HashMap<String, u32>>,
    /// By object uid.
    waiting: Mutex<HashMap<(String, Wait), Instant>>,
    /// `uid/problem`: problems already announced with an Event.
    reported: Mutex<HashSet<String>>,
}

/// A poisoned lock only means another reconcile panicked mid-update; the maps stay usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The delay before retry number `attempt` (1-based): doubling from `base`, capped at `max`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(16);
    base.saturating_mul(1 << exponent).min(max)
}

impl RetryState {
    /// Counts one more failure of `key` and says how long to wait: [`backoff`], jittered to
    /// between half and all of it so a fleet that failed together does not retry together, and
    /// never less than what IAM asked for.
    pub fn next_delay(
        &self,
        key: &str,
        base: Duration,
        max: Duration,
        at_least: Option<Duration>,
    ) -> Duration {
        let attempt = {
            let mut failures = lock(&self.failures);
            let count = failures.entry(key.to_string()).or_insert(0);
            *count = count.saturating_add(1);
            *count
        };
        let jittered = backoff(attempt, base, max).mul_f64(0.5 + fastrand::f64() * 0.5);
        jittered.max(at_least.unwrap_or_default())
    }

    /// The object succeeded or waits for the user: its retry state goes.
    pub fn forget_failures(&self, key: &str, uid: &str) {
        lock(&self.failures).remove(key);
        lock(&self.waiting).retain(|(object, _), _| object != uid);
    }

    /// The object is gone: nothing about it is kept.
    pub fn forget_object(&self, key: &str, uid: &str) {
        self.forget_failures(key, uid);
        let prefix = format!("{uid}/");
        lock(&self.reported).retain(|entry| !entry.starts_with(&prefix));
    }

    /// True the first time `problem` is reported for the object `uid`.
    pub fn first_report(&self, uid: &str, problem: &str) -> bool {
        lock(&self.reported).insert(format!("{uid}/{problem}"))
    }

    /// An error IAM's propagation may explain stays as it is for `window`, counted from the
    /// first time this object met it; after that it is the user's to fix.
    pub fn patience(&self, uid: &str, error: Error, window: Duration) -> Error {
        let Some(wait) = consistency::wait_for(&error) else {
            return error;
        };
        let waited = self.waited(uid, wait);
        if consistency::still_plausible(waited, window) {
            error
        } else {
            consistency::give_up(error, waited)
        }
    }

    /// How long the object `uid` has been waiting for `wait` (zero the first time).
    pub fn waited(&self, uid: &str, wait: Wait) -> Duration {
        lock(&self.waiting)
            .entry((uid.to_string(), wait))
            .or_insert_with(Instant::now)
            .elapsed()
    }

    /// Entries held, all maps together: for tests that prove the maps shrink.
    pub fn len(&self) -> usize {
        lock(&self.failures).len() + lock(&self.waiting).len() + lock(&self.reported).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (base, max) = (Duration::from_secs(1), Duration::from_secs(120));
        let cases = [(0, 1), (1, 1), (2, 2), (3, 4), (7, 64), (8, 120), (40, 120)];
        for (attempt, want) in cases {
            assert_eq!(
                backoff(attempt, base, max).as_secs(),
                want,
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn delays_are_jittered_counted_and_floored() {
        let state = RetryState::default();
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(10));
        let first = state.next_delay("ns/a", base, max, None);
        assert!(
            first >= Duration::from_millis(50) && first <= base,
            "{first:?}"
        );
        let second = state.next_delay("ns/a", base, max, None);
        assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
        let floored = state.next_delay("ns/b", base, max, Some(Duration::from_secs(3)));
        assert_eq!(floored, Duration::from_secs(3));
    }

    #[test]
    fn every_entry_goes_with_its_object() {
        let state = RetryState::default();
        let (base, max) = (Duration::from_millis(1), Duration::from_millis(10));
        for i in 0..100 {
            let (key, uid) = (format!("ns/o{i}"), format!("uid-{i}"));
            state.next_delay(&key, base, max, None);
            state.waited(&uid, Wait::Principal);
            assert!(state.first_report(&uid, "bad trust"));
            assert!(!state.first_report(&uid, "bad trust"));
        }
        assert_eq!(state.len(), 300);
        for i in 0..50 {
            state.forget_failures(&format!("ns/o{i}"), &format!("uid-{i}"));
        }
        assert_eq!(
            state.len(),
            200,
            "recovered objects keep only what was announced"
        );
        for i in 0..100 {
            state.forget_object(&format!("ns/o{i}"), &format!("uid-{i}"));
        }
        assert_eq!(state.len(), 0);
    }

    #[test]
    fn patience_runs_out() {
        let state = RetryState::default();
        let principal = || Error::Iam {
            action: "CreateRole",
            code: "MalformedPolicyDocument".into(),
            message: "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/x\"".into(),
            category: crate::error::Category::IamTransient,
            retry_after: None,
        };
        let window = Duration::from_millis(50);
        assert!(state.patience("u", principal(), window).is_retryable());
        std::thread::sleep(Duration::from_millis(60));
        assert!(!state.patience("u", principal(), window).is_retryable());
        assert!(
            state.patience("v", principal(), window).is_retryable(),
            "per object"
        );
        let throttled = Error::Iam {
            action: "GetRole",
            code: "Throttling".into(),
            message: "Rate exceeded".into(),
            category: crate::error::Category::IamTransient,
            retry_after: None,
        };
        assert!(state.patience("u", throttled, window).is_retryable());
    }
}
