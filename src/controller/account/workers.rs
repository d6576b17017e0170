//! Each account's share of the controller's workers. An account runs at most `per_account`
//! reconciles at once, so a throttled or slow account holds only its own share. The controller
//! has more workers than one share; the spare ones wait for a slot of their object's account,
//! split evenly between the accounts that are busy, so one busy account alone uses them all
//! (nothing is put off to spin) while several share them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a spare worker waits for its account's slot before the object is put off.
pub const WAIT_FOR_SLOT: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct Workers {
    /// Key: the AwsAccount's name, None for the operator's own account.
    by_account: Mutex<HashMap<Option<String>, Arc<Share>>>,
}

struct Share {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
}

impl Share {
    fn busy(&self) -> bool {
        self.slots.available_permits() == 0 || self.waiting.load(Ordering::SeqCst) > 0
    }
}

impl Workers {
    /// A slot of the account `key`: at once when it has fewer than `per_account` reconciles in
    /// flight; else the first one freed within `wait`, if this account's waiters are fewer than
    /// its part of the `spare` workers; else none (the caller puts the object off).
    pub async fn acquire(
        &self,
        key: Option<String>,
        per_account: usize,
        spare: usize,
        wait: Duration,
    ) -> Option<OwnedSemaphorePermit> {
        let (share, busy_accounts) = {
            let mut by_account = self
                .by_account
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let share = by_account
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Share {
                        slots: Arc::new(Semaphore::new(per_account.max(1))),
                        waiting: AtomicUsize::new(0),
                    })
                })
                .clone();
            let busy = by_account.values().filter(|s| s.busy()).count();
            (share, busy.max(1))
        };
        if let Ok(permit) = share.slots.clone().try_acquire_owned() {
            return Some(permit);
        }
        let waiters_allowed = spare / busy_accounts;
        if share.waiting.fetch_add(1, Ordering::SeqCst) >= waiters_allowed {
            share.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        let permit = tokio::time::timeout(wait, share.slots.clone().acquire_owned()).await;
        share.waiting.fetch_sub(1, Ordering::SeqCst);
        permit.ok().and_then(Result::ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(200);

    async fn take(
        workers: &Workers,
        key: Option<&str>,
        spare: usize,
    ) -> Option<OwnedSemaphorePermit> {
        workers
            .acquire(key.map(str::to_string), 2, spare, WAIT)
            .await
    }

    /// Alone, a busy account's spare workers wait for its slots instead of being put off; a
    /// slot freed goes to a waiter; beyond the spare workers, or after the wait, none.
    #[tokio::test]
    async fn one_busy_account_waits_with_every_spare_worker() {
        let workers = Arc::new(Workers::default());
        let first = take(&workers, None, 2).await;
        let second = take(&workers, None, 2).await;
        assert!(first.is_some() && second.is_some());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let workers = workers.clone();
                tokio::spawn(async move { take(&workers, None, 2).await.is_some() })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            take(&workers, None, 2).await.is_none(),
            "every spare worker waits"
        );
        drop(first);
        drop(second);
        for waiter in waiters {
            assert!(
                waiter.await.expect("joins"),
                "a freed slot goes to a waiter"
            );
        }
        let _held = (take(&workers, None, 2).await, take(&workers, None, 2).await);
        let started = tokio::time::Instant::now();
        assert!(take(&workers, None, 2).await.is_none(), "no slot freed");
        assert!(started.elapsed() >= WAIT);
    }

    /// Two busy accounts split the spare workers; an idle account always gets its own slots.
    #[tokio::test]
    async fn busy_accounts_share_the_spare_workers_and_never_each_others_slots() {
        let workers = Arc::new(Workers::default());
        let _a = (
            take(&workers, Some("a"), 4).await,
            take(&workers, Some("a"), 4).await,
        );
        let _b = (
            take(&workers, Some("b"), 4).await,
            take(&workers, Some("b"), 4).await,
        );
        let mut waiting = Vec::new();
        for key in ["a", "a", "b", "b"] {
            let workers = workers.clone();
            waiting.push(tokio::spawn(
                async move { take(&workers, Some(key), 4).await },
            ));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            take(&workers, Some("a"), 4).await.is_none(),
            "a has its half"
        );
        assert!(
            take(&workers, None, 4).await.is_some(),
            "the own account is idle"
        );
        for waiter in waiting {
            assert!(waiter.await.expect("joins").is_none(), "no slot freed");
        }
    }
}
