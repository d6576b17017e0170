//! The periodic drift check: every resync interval, one bulk read of the account
//! ([`crate::iam::IamApi::sweep`]) instead of re-reading each role, and a reconcile only for the
//! objects whose role differs from their spec. When the account is so small that reading the
//! managed roles one by one costs fewer calls, or the bulk read fails (a policy without
//! `iam:GetAccountAuthorizationDetails`, say), every object is reconciled the old way.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::mpsc::UnboundedSender;
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use super::{CachedRole, Context};
use crate::drift;
use crate::error::Category;
use crate::telemetry::DriftCheckDone;

mod fleet;

/// How often the accounts in use are looked for: a new AwsAccount's sweep starts within this.
const ACCOUNTS_LOOKED_FOR: Duration = Duration::from_secs(5);

/// Runs until dropped: the controller's shutdown ends it. One sweep per account in use, each on
/// its own schedule with its own client: a throttled or unreachable account delays only its
/// own drift checks.
pub async fn run(
    ctx: Arc<Context>,
    store: Store<CachedRole>,
    trigger: UnboundedSender<ObjectRef<CachedRole>>,
) {
    if store.wait_until_ready().await.is_err() {
        return;
    }
    ctx.accounts.ready().await;
    // Dropping the set (the controller's shutdown) ends every account's sweep.
    let mut sweeps = tokio::task::JoinSet::new();
    let mut running: HashMap<Option<String>, tokio::task::AbortHandle> = HashMap::new();
    loop {
        let mut keys: HashSet<Option<String>> = HashSet::from([None]);
        for cached in store.state() {
            let facts = cached.facts();
            let namespace = cached.namespace().unwrap_or_default();
            if facts.readable
                && let Ok(chosen) = ctx
                    .accounts
                    .choose_for(facts.account_ref.as_deref(), &namespace)
            {
                keys.insert(chosen.map(|(name, _)| name));
            }
        }
        running.retain(|key, handle| {
            let keep = keys.contains(key);
            if !keep {
                handle.abort();
            }
            keep
        });
        for key in keys {
            if let std::collections::hash_map::Entry::Vacant(slot) = running.entry(key.clone()) {
                slot.insert(sweeps.spawn(sweep_account(
                    ctx.clone(),
                    store.clone(),
                    trigger.clone(),
                    key,
                )));
            }
        }
        while sweeps.try_join_next().is_some() {}
        if trigger.is_closed() {
            return;
        }
        tokio::time::sleep(ACCOUNTS_LOOKED_FOR.min(ctx.settings.resync)).await;
    }
}

/// The IAM client of the account `key` (None: the operator's own), if it can be used now.
async fn account_iam(ctx: &Context, key: Option<&str>) -> Option<Arc<dyn crate::iam::IamApi>> {
    let Some(name) = key else {
        return Some(ctx.iam.clone());
    };
    let account = ctx
        .accounts
        .known()
        .into_iter()
        .find(|account| account.name_any() == name)?;
    let client = ctx.accounts.client(name, &account.spec).await.ok()?;
    // A denied or unverified account's roles are retried by their own reconciles; its sweep
    // waits for the account.
    client.verified(false).await.ok()?;
    Some(client.iam.clone())
}

/// The drift sweep of one account, until aborted.
async fn sweep_account(
    ctx: Arc<Context>,
    store: Store<CachedRole>,
    trigger: UnboundedSender<ObjectRef<CachedRole>>,
    key: Option<String>,
) {
    // Objects that were in sync when the operator stopped are not reconciled at start (see
    // `needs_reconcile_now`): the first sweep, right away, is what checks them.
    let mut roles_in_account: Option<usize> = None;
    loop {
        let Some(iam) = account_iam(&ctx, key.as_deref()).await else {
            tokio::time::sleep(retry_failed_sweep(ctx.settings.resync)).await;
            continue;
        };
        let mut fleet = fleet::Fleet::of_account(&ctx, &store, key.as_deref()).await;
        let managed = std::mem::take(&mut fleet.candidates);
        let per_role = drift::per_role_calls(managed.iter().map(|c| c.inline_policies));
        let started = Instant::now();
        let started_at = jiff::Timestamp::now();
        let mut sweep_again_soon = false;
        let (swept, stale) = if managed.is_empty() {
            (false, Vec::new())
        } else if drift::sweep_pays_off(ctx.settings.drift_check, per_role, roles_in_account) {
            // Use is news too: the reconcile records it and judges unused-role.
            let mut judge =
                drift::DriftJudge::lazy(&managed, fleet.resolver(store.clone()), started_at)
                    .judging_use(ctx.settings.unused_after);
            match iam.sweep(&mut judge).await {
                Ok(sweep) => {
                    roles_in_account = Some(sweep.roles_in_account);
                    let drifted: Vec<_> = judge.drifted().into_iter().cloned().collect();
                    let elapsed = started.elapsed();
                    tracing::info!(
                        managed = managed.len(),
                        roles_in_account = sweep.roles_in_account,
                        calls = sweep.calls,
                        ?elapsed,
                        account = key.as_deref().unwrap_or(crate::telemetry::OWN_ACCOUNT),
                        "swept the account"
                    );
                    ctx.metrics.drift_checked(DriftCheckDone::Swept {
                        elapsed,
                        calls: sweep.calls,
                        checked: managed
                            .iter()
                            .filter(|m| m.last_sync.judged_by(started_at))
                            .count(),
                        drifted: drifted.len(),
                        roles_in_account: sweep.roles_in_account,
                    });
                    (true, drifted)
                }
                // IAM did not answer: per-role reads would meet the same IAM, thousands of
                // times over. The sweep is tried again shortly instead.
                Err(error) if error.category() == Category::IamTransient => {
                    tracing::warn!(error = %error.message(), "account sweep failed; sweeping again shortly");
                    ctx.metrics.drift_checked(DriftCheckDone::SweepFailed);
                    sweep_again_soon = true;
                    (true, Vec::new())
                }
                Err(error) => {
                    tracing::warn!(category = %error.category(), error = %error.message(), "account sweep refused; reading every role on its own instead");
                    ctx.metrics.drift_checked(DriftCheckDone::PerRole {
                        roles: managed.len(),
                        sweep_failed: true,
                    });
                    (false, managed.iter().map(|m| m.key.clone()).collect())
                }
            }
        } else {
            ctx.metrics.drift_checked(DriftCheckDone::PerRole {
                roles: managed.len(),
                sweep_failed: false,
            });
            (false, managed.iter().map(|m| m.key.clone()).collect())
        };
        if !stale.is_empty() {
            tracing::info!(
                objects = stale.len(),
                swept,
                "reconciling roles that may differ from their spec"
            );
        }
        for reference in stale {
            if trigger.unbounded_send(reference).is_err() {
                return;
            }
        }
        super::guardrails::count_refusals(&ctx, &store).await;
        let pause = if sweep_again_soon {
            retry_failed_sweep(ctx.settings.resync)
        } else {
            // The interval runs from this check's start: sweeping a large account takes seconds.
            ctx.resync_after(swept, managed.len())
                .saturating_sub(started.elapsed())
        };
        super::slim::return_freed_memory();
        tokio::time::sleep(pause).await;
    }
}

/// How long from the start of one drift check to the start of the next: the configured interval
/// is how stale drift may get, so it is jittered down by up to 10 % (several operators do not
/// sweep in step), never up; stretched only when roles are read one by one.
pub fn interval(configured: Duration, swept: bool, stretched: Duration) -> Duration {
    let base = if swept { configured } else { stretched };
    base.mul_f64(0.9 + fastrand::f64() * 0.1)
}

/// How soon a sweep IAM did not answer is tried again: a tenth of the interval, 1 s to 1 min.
pub fn retry_failed_sweep(configured: Duration) -> Duration {
    let base = (configured / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
    interval(base, true, base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_checks_start_at_most_the_configured_interval_apart() {
        let configured = Duration::from_secs(20);
        for _ in 0..1000 {
            let next = interval(configured, true, configured);
            assert!(
                next <= configured && next >= configured.mul_f64(0.9),
                "{next:?}"
            );
        }
        let stretched = Duration::from_secs(600);
        let next = interval(configured, false, stretched);
        assert!(
            next <= stretched && next >= stretched.mul_f64(0.9),
            "{next:?}"
        );
    }

    #[test]
    fn a_failed_sweep_is_retried_within_a_tenth_of_the_interval() {
        let cases = [(3, 0.9, 1.0), (300, 27.0, 30.0), (3600, 54.0, 60.0)];
        for (configured, low, high) in cases {
            let retry = retry_failed_sweep(Duration::from_secs(configured)).as_secs_f64();
            assert!((low..=high).contains(&retry), "{configured} s: {retry}");
        }
    }
}
