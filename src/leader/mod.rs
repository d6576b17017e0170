//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas only one
//! writes to IAM and to `IamRole` status.
//!
//! Same rules as client-go's leaderelection: a candidate takes the Lease when it is absent,
//! released, expired (`renewTime + leaseDurationSeconds < now`) or already names it; the leader
//! renews it with a PUT carrying the resourceVersion, so a 409 settles every race. A leader stops
//! acting a quarter of the lease duration before others may take over ([`timing`]), and a lost
//! leader never comes back in the same process: the binary exits and Kubernetes restarts it, so
//! no state from the leader period survives.
//!
//! Not kube-lease-manager (0.13, on kube 5): it renews and takes the Lease with patches that carry
//! no resourceVersion and keeps acting until it notices a loss, so neither the 409 that settles
//! every race nor the quarter-lease margin that tests/leader checks would hold.

mod campaign;
mod decision;
mod lease_store;
mod timing;

use std::pin::{Pin, pin};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use campaign::Held;
use decision::Candidate;
use lease_store::LeaseStore;
use timing::Timing;

pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
pub const DEFAULT_RENEW_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSettings {
    /// The Lease object's name.
    pub name: String,
    pub namespace: String,
    /// Unique per process (the pod name): two processes with one identity would both lead.
    pub identity: String,
    /// How long others wait after the last renewal before taking over.
    pub lease_duration: Duration,
    pub renew_every: Duration,
}

impl LeaseSettings {
    /// Settings with the default durations (15 s lease, renewed every 5 s).
    pub fn new(
        name: impl Into<String>,
        namespace: impl Into<String>,
        identity: impl Into<String>,
    ) -> LeaseSettings {
        LeaseSettings {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_every: DEFAULT_RENEW_EVERY,
        }
    }
}

/// Why leadership ended before shutdown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loss {
    /// No renewal succeeded in time; others may take the lease soon.
    RenewalsFailed,
    /// The Lease names someone else (or was deleted).
    TakenOver { holder: Option<String> },
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loss::RenewalsFailed => f.write_str("the lease could not be renewed in time"),
            Loss::TakenOver {
                holder: Some(holder),
            } => write!(f, "the lease is held by {holder}"),
            Loss::TakenOver { holder: None } => f.write_str("the lease was deleted"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("lost leadership: {0}")]
    LeadershipLost(Loss),
    #[error("invalid leader election settings: {0}")]
    InvalidSettings(String),
}

/// Runs `work` only while this process holds the lease. Blocks until it holds the lease, then
/// runs `work(lost)`, where `lost` resolves when leadership is lost (renewal failed past the
/// lease duration less a safety margin, or another holder took it) and also when shutdown
/// begins: it means "stop acting as leader". `work` must stop promptly when `lost` resolves;
/// if it has not returned a short grace later, its future is dropped.
///
/// When `shutdown` resolves: signal `lost`, keep renewing while `work` finishes, release the
/// lease (no holder, `leaseDurationSeconds: 1`) so a standby takes over at once, and return
/// `Ok(())`. If `work` returns on its own, the lease is released and `Ok(())` returned as well.
/// After losing leadership the function returns `Err(LeadershipLost)`: the binary should exit
/// non-zero and let Kubernetes restart it.
///
/// `lost` is `Send` but not `Sync`; for an API that wants `Sync` (kube's
/// `graceful_shutdown_on`), pass `lost.shared()`.
pub async fn run_as_leader<F, Fut>(
    client: kube::Client,
    settings: LeaseSettings,
    shutdown: impl Future<Output = ()>,
    work: F,
) -> Result<(), LeaderError>
where
    F: FnOnce(BoxFuture<'static, ()>) -> Fut,
    Fut: Future<Output = ()>,
{
    let timing = Timing::new(&settings)?;
    let me = Candidate {
        identity: settings.identity.clone(),
        lease_seconds: timing.lease_seconds,
    };
    let store = LeaseStore::new(
        client,
        &settings.namespace,
        &settings.name,
        timing.lead_for(),
    );
    let mut shutdown = pin!(shutdown);
    tracing::info!(lease = %settings.name, namespace = %settings.namespace, identity = %me.identity, "waiting to become leader");
    let held = tokio::select! {
        // Shutdown first: a replica on its way out must not start leading.
        biased;
        () = &mut shutdown => {
            // An acquiring write may have landed just as we stopped waiting for its answer.
            campaign::release(&store, &me).await;
            return Ok(());
        }
        held = campaign::acquire(&store, &me, &timing) => held,
    };
    tracing::info!(identity = %me.identity, "became leader; starting work");
    let ending = lead(&store, &me, &timing, held, shutdown.as_mut(), work).await;
    match ending {
        Ending::Stopped => {
            campaign::release(&store, &me).await;
            Ok(())
        }
        Ending::Lost(loss) => Err(LeaderError::LeadershipLost(loss)),
    }
}

enum Ending {
    /// Work has returned while we still held the lease.
    Stopped,
    Lost(Loss),
}

/// Runs `work` beside the renewal loop. Everything it starts is dropped when it returns, so no
/// renewal is still running when the caller releases the lease.
async fn lead<F, Fut>(
    store: &LeaseStore,
    me: &Candidate,
    timing: &Timing,
    held: Held,
    mut shutdown: Pin<&mut impl Future<Output = ()>>,
    work: F,
) -> Ending
where
    F: FnOnce(BoxFuture<'static, ()>) -> Fut,
    Fut: Future<Output = ()>,
{
    let (lost_tx, mut lost_rx) = tokio::sync::watch::channel(false);
    let lost = async move {
        // A dropped sender also means "stop": this function is gone.
        let _ = lost_rx.wait_for(|lost| *lost).await;
    }
    .boxed();
    let mut work = pin!(work(lost));
    let mut keeper = pin!(campaign::keep(store, me, timing, held));
    tokio::select! {
        // A loss first: when it coincides with anything else, the lease is already gone.
        biased;
        loss = &mut keeper => {
            let _ = lost_tx.send(true);
            stop(&mut work, me, timing).await;
            return Ending::Lost(loss);
        }
        () = &mut work => {
            tracing::info!(identity = %me.identity, "work returned; stepping down");
            return Ending::Stopped;
        }
        () = &mut shutdown => {
            tracing::info!(identity = %me.identity, "shutting down; stopping work before releasing the lease");
            let _ = lost_tx.send(true);
        }
    }
    // Work may need a while to finish what it started; we must still be leader meanwhile.
    tokio::select! {
        biased;
        loss = &mut keeper => {
            stop(&mut work, me, timing).await;
            Ending::Lost(loss)
        }
        () = &mut work => Ending::Stopped,
    }
}

/// Gives work a short grace to return after `lost`, then drops it: acting on once the lease
/// may have passed to another replica is what leader election exists to prevent.
async fn stop(work: &mut Pin<&mut impl Future<Output = ()>>, me: &Candidate, timing: &Timing) {
    if tokio::time::timeout(timing.stop_grace(), work.as_mut())
        .await
        .is_err()
    {
        tracing::warn!(identity = %me.identity, grace = ?timing.stop_grace(), "work did not stop after losing leadership; cancelling it");
    }
}
