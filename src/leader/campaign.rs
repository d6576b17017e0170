//! The loops around the pure decision: acquire (poll until the lease is ours), keep (renew
//! until it cannot be renewed in time) and release.

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use tokio::time::Instant;

use super::Loss;
use super::decision::{self, Candidate, Step};
use super::lease_store::{LeaseStore, StoreError, Written};
use super::timing::Timing;

/// The lease is ours: `lease` is the object the server returned for our write, `sent` the
/// instant just before that write left. Leadership counts from `sent`, not from the answer,
/// because the server may have stored the write the moment it arrived.
pub(crate) struct Held {
    pub lease: Box<Lease>,
    pub sent: Instant,
}

enum Attempt {
    Held(Held),
    Wait { holder: String, until: Timestamp },
    Lost { holder: Option<String> },
    Contended,
}

/// Read (unless `cached` is the object our last write returned), decide, write. A 409 on the
/// cached object is answered at once with a fresh read: usually someone only touched metadata.
async fn attempt(
    store: &LeaseStore,
    me: &Candidate,
    leading: bool,
    cached: Option<Box<Lease>>,
) -> Result<Attempt, StoreError> {
    let had_cache = cached.is_some();
    match attempt_once(store, me, leading, cached).await? {
        Attempt::Contended if had_cache => attempt_once(store, me, leading, None).await,
        other => Ok(other),
    }
}

async fn attempt_once(
    store: &LeaseStore,
    me: &Candidate,
    leading: bool,
    cached: Option<Box<Lease>>,
) -> Result<Attempt, StoreError> {
    let current = match cached {
        Some(lease) => Some(*lease),
        None => store.get().await?,
    };
    let spec = current
        .as_ref()
        .map(|lease| lease.spec.clone().unwrap_or_default());
    let now = Timestamp::now();
    let sent = Instant::now();
    match decision::next_step(spec.as_ref(), me, leading, now) {
        Step::Write {
            spec: next,
            takeover,
        } => match store.write(current.as_ref(), next).await? {
            Written::Stored(lease) => {
                if takeover {
                    tracing::info!(
                        identity = %me.identity,
                        previous = spec.as_ref().and_then(decision::holder).unwrap_or("<none>"),
                        transitions = lease.spec.as_ref().and_then(|s| s.lease_transitions),
                        "acquired the lease"
                    );
                }
                Ok(Attempt::Held(Held { lease, sent }))
            }
            Written::Contended => Ok(Attempt::Contended),
        },
        Step::Wait { holder, until } => Ok(Attempt::Wait { holder, until }),
        Step::Lost { holder } => Ok(Attempt::Lost { holder }),
    }
}

/// Polls until the lease is ours. Never gives up: an API server that is down or forbids us is
/// logged and retried, like client-go does.
pub(crate) async fn acquire(store: &LeaseStore, me: &Candidate, timing: &Timing) -> Held {
    let mut seen_holder: Option<String> = None;
    loop {
        match attempt(store, me, false, None).await {
            // An answer that arrives after the time it would have let us lead is worthless;
            // the next round finds the lease ours and renews it.
            Ok(Attempt::Held(held)) if Instant::now() < held.sent + timing.lead_for() => {
                return held;
            }
            Ok(Attempt::Held(_)) => {
                tracing::warn!(identity = %me.identity, "the lease was written too slowly to lead on it; retrying");
            }
            Ok(Attempt::Wait { holder, until }) => {
                if seen_holder.as_deref() != Some(holder.as_str()) {
                    tracing::info!(identity = %me.identity, %holder, valid_until = %until, "the lease is held by another replica; standing by");
                    seen_holder = Some(holder);
                }
            }
            Ok(Attempt::Contended) => {
                tracing::debug!(identity = %me.identity, "another candidate wrote the lease first");
            }
            Ok(Attempt::Lost { .. }) => {}
            Err(error) => {
                tracing::warn!(identity = %me.identity, %error, "cannot read or write the lease; retrying");
            }
        }
        tokio::time::sleep(timing.poll(fastrand::f64())).await;
    }
}

/// Renews until leadership is lost, and says why. Returns no later than the moment the last
/// successful write stops letting us lead, even when a request hangs.
pub(crate) async fn keep(store: &LeaseStore, me: &Candidate, timing: &Timing, held: Held) -> Loss {
    let mut deadline = held.sent + timing.lead_for();
    let mut next = held.sent + timing.renew;
    let mut cached = Some(held.lease);
    loop {
        let round = async {
            tokio::time::sleep_until(next).await;
            attempt(store, me, true, cached.take()).await
        };
        match tokio::time::timeout_at(deadline, round).await {
            Err(_) => {
                tracing::error!(identity = %me.identity, lease_duration = ?timing.lease, "could not renew the lease in time; stepping down");
                return Loss::RenewalsFailed;
            }
            Ok(Ok(Attempt::Held(held))) => {
                deadline = held.sent + timing.lead_for();
                next = held.sent + timing.renew;
                cached = Some(held.lease);
                tracing::debug!(identity = %me.identity, "renewed the lease");
            }
            Ok(Ok(Attempt::Lost { holder })) => return lost_to(me, holder),
            // The decision never says wait while leading; if it did, the lease is someone else's.
            Ok(Ok(Attempt::Wait { holder, .. })) => return lost_to(me, Some(holder)),
            Ok(Ok(Attempt::Contended)) => {
                next = Instant::now() + timing.retry_after_failure();
            }
            Ok(Err(error)) => {
                tracing::warn!(identity = %me.identity, %error, "renewing the lease failed; retrying");
                next = Instant::now() + timing.retry_after_failure();
            }
        }
    }
}

fn lost_to(me: &Candidate, holder: Option<String>) -> Loss {
    tracing::error!(identity = %me.identity, holder = holder.as_deref().unwrap_or("<none>"), "the lease is no longer ours; stepping down");
    Loss::TakenOver { holder }
}

/// Hands the lease back if it is still ours, so a standby takes over at its next poll instead
/// of after expiry. Best effort: on failure the lease simply expires.
pub(crate) async fn release(store: &LeaseStore, me: &Candidate) {
    // A renewal still in flight when we stopped may land after our read: one 409, then retry.
    for _ in 0..3 {
        let outcome = async {
            let Some(current) = store.get().await? else {
                return Ok(Some(Released::NotOurs));
            };
            let spec = current.spec.clone().unwrap_or_default();
            let Some(next) = decision::release_spec(&spec, me, Timestamp::now()) else {
                return Ok(Some(Released::NotOurs));
            };
            match store.write(Some(&current), next).await? {
                Written::Stored(_) => Ok(Some(Released::Done)),
                Written::Contended => Ok(None),
            }
        }
        .await;
        match outcome {
            Ok(Some(Released::Done)) => {
                tracing::info!(identity = %me.identity, "released the lease");
                return;
            }
            Ok(Some(Released::NotOurs)) => {
                tracing::debug!(identity = %me.identity, "the lease is not ours; nothing to release");
                return;
            }
            Ok(None) => continue,
            Err::<_, StoreError>(error) => {
                tracing::warn!(identity = %me.identity, %error, "could not release the lease; it will expire instead");
                return;
            }
        }
    }
    tracing::warn!(identity = %me.identity, "the lease kept changing while releasing it; it will expire instead");
}

enum Released {
    Done,
    NotOurs,
}
