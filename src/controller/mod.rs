//! The controller: watches IamRoles and runs the engine for each, behind kube's finalizer
//! helper. The decisions (next status, Events, requeue) are pure ([`decide`]); what is here reads
//! and writes, and remembers per-object retry state ([`retry`]).

pub mod account;
mod apply;
mod cached;
mod decide;
mod delete;
mod events;
mod guardrails;
mod pod_identity;
pub mod policy;
mod refs;
mod retry;
mod service_accounts;
pub mod service_linked_role;
mod slim;
mod sweeper;
mod watch;
mod writes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::TryStreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::core::{DeserializeGuard, error_boundary::InvalidObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use tracing::Instrument;

use crate::admission::Confinement;
use crate::api::IamRole;
use crate::consistency;
use crate::desired;
use crate::engine::{self, ApplyFailure, Mode};
use crate::error::{Category, Error, Result};
use crate::iam::IamApi;
use crate::model::{DeletionPolicy, ManagementPolicy};
use crate::status::RoleIdentity;
use crate::telemetry::{Health, Metrics};

pub use decide::{Attempt, Decision, Failure, Note, Requeue, decide};

use apply::{admit, apply, object_key};
use delete::cleanup;
use writes::{publish, report_invalid, write_status};

/// Held on every IamRole until IAM is cleaned up.
pub const FINALIZER: &str = "iam.rolesmith.dev/cleanup";
/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "rolesmith";

#[derive(Clone, Debug)]
pub struct Settings {
    /// Names this cluster in ownership tags.
    pub cluster_id: String,
    /// Watch one namespace, or all when `None`.
    pub namespace: Option<String>,
    /// How often an in-sync role is re-read to catch drift.
    pub resync: Duration,
    /// How the drift check reads IAM.
    pub drift_check: crate::drift::DriftCheck,
    pub concurrency: u16,
    /// First retry delay after a transient failure; doubles up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long an error IAM's propagation can explain is retried before it is the user's.
    pub propagation_window: Duration,
    /// Which role names and paths each namespace may use.
    pub confinement: Confinement,
    /// Tag keys owned by others, for every IamRole (`--ignore-tag-keys`).
    pub ignore_tag_keys: Vec<String>,
    /// The account's IAM calls per second (0: unlimited), to keep resyncs within budget.
    pub iam_rate_limit: f64,
    /// Deleting an IamPolicy that is still attached to roles detaches it first
    /// (`--force-detach`); without it the deletion waits.
    pub force_detach: bool,
    /// How long a role may go unused before `unused-role` (`--unused-after`).
    pub unused_after: Duration,
    /// The cluster's workload identity (`spec.serviceAccounts`).
    pub workloads: crate::admission::Workloads,
}

pub struct Context {
    pub client: Client,
    /// The operator's own account's IAM (IamPolicies, and IamRoles that use no AwsAccount).
    pub iam: Arc<dyn IamApi>,
    /// Every account's IAM, and which one an IamRole uses.
    pub accounts: account::Accounts,
    /// EKS, when the operator manages Pod Identity associations (--eks-cluster-name).
    pub eks: Option<Arc<dyn crate::eks::EksApi>>,
    pub events: events::Publisher,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    retry: retry::RetryState,
    /// The RoleGuardrails, as the watch last saw them: every reconcile admits its role with them.
    guardrails: reflector::Store<crate::api::RoleGuardrail>,
    /// Taken by [`run`], whose watch fills `guardrails`.
    guardrail_writer: std::sync::Mutex<Option<reflector::store::Writer<crate::api::RoleGuardrail>>>,
    service_accounts: service_accounts::Accounts,
}

impl Context {
    pub fn new(
        client: Client,
        iam: Arc<dyn IamApi>,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Self {
        let events = events::Publisher::new(client.clone(), "rolesmith");
        let (guardrails, guardrail_writer) = guardrails::store();
        Context {
            client,
            accounts: account::Accounts::new(iam.clone(), None),
            iam,
            eks: None,
            events,
            metrics,
            settings,
            retry: retry::RetryState::default(),
            guardrails,
            guardrail_writer,
            service_accounts: Default::default(),
        }
    }

    /// Lets AwsAccounts assume roles through `connect`.
    pub fn with_connector(mut self, connect: Arc<dyn account::Connect>) -> Self {
        self.accounts = account::Accounts::new(self.iam.clone(), Some(connect));
        self
    }

    /// Pod Identity associations are made through `eks`.
    pub fn with_eks(mut self, eks: Arc<dyn crate::eks::EksApi>) -> Self {
        self.eks = Some(eks);
        self
    }

    /// Per-object entries held in memory (retry counts, propagation clocks, announced
    /// problems): zero once every object is in sync or gone.
    pub fn remembered_objects(&self) -> usize {
        self.retry.len()
    }

    fn retry_delay(&self, key: &str, at_least: Option<Duration>) -> Duration {
        self.retry.next_delay(
            key,
            self.settings.base_backoff,
            self.settings.max_backoff,
            at_least,
        )
    }

    /// The time to the next drift check. A sweep costs a few calls whatever the fleet; reading
    /// `roles` one by one is stretched so it never takes more than half of the account's IAM
    /// rate: new and changed roles must never starve behind drift checks.
    fn resync_after(&self, swept: bool, roles: usize) -> Duration {
        let stretched = resync_interval(self.settings.resync, roles, self.settings.iam_rate_limit);
        sweeper::interval(self.settings.resync, swept, stretched)
    }
}

use cached::{CachedRole, Guarded};

/// Runs until `shutdown` resolves; in-flight reconciles finish first.
pub async fn run(
    ctx: Arc<Context>,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    // Objects are cached as text and decoded through DeserializeGuard: one object that does not
    // match the types (an older or newer CRD, a hand-edited schema) is reported on its own
    // instead of failing the whole list and stalling every other IamRole. Our own status
    // writes do not trigger reconciles: only a new generation, a finalizer change or a deletion
    // does. Drift is the sweeper's to find.
    let api: Api<CachedRole> = watch::scoped(&ctx.client, ctx.settings.namespace.as_deref());
    let (reader, writer) = reflector::store();
    let watch_health = health.clone();
    let queue_health = health.clone();
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .inspect(move |event| watch_health.set_kube(event.is_ok()));
    let stream = cached::reflect_and_pick(events, writer);
    let shutdown = futures::FutureExt::shared(shutdown);
    // Roles are routed only once every AwsAccount is known: a role that names no account
    // must not be made in the operator's own account because the default one was not listed
    // yet.
    // A shutdown while the API server does not answer yet ends the wait.
    let served = tokio::select! {
        served = account::reconcile::served(&ctx) => served,
        _ = shutdown.clone() => return,
    };
    let (account_store, account_stream) = account::reconcile::watch(&ctx);
    let accounts: futures::future::BoxFuture<'static, ()> = if served {
        ctx.accounts.set_store(account_store.clone());
        Box::pin(account::reconcile::run(
            ctx.clone(),
            account_store,
            account_stream,
            reader.clone(),
            shutdown.clone(),
        ))
    } else {
        Box::pin(std::future::ready(()))
    };
    let policies = policy::run(ctx.clone(), shutdown.clone());
    let service_linked_roles = service_linked_role::run(ctx.clone(), shutdown.clone());
    let (drifted, drift_triggers) = futures::channel::mpsc::unbounded();
    let sweeper = sweeper::run(ctx.clone(), reader.clone(), drifted);
    let config = kube::runtime::controller::Config::default()
        .concurrency(ctx.settings.concurrency.saturating_mul(SLOTS_PER_WORKER));
    let roles = reader.clone();
    let coverage = guardrails::Coverage::new(reader.clone());
    let guardrail_writer = ctx
        .guardrail_writer
        .lock()
        .ok()
        .and_then(|mut writer| writer.take());
    let account_roles = reader.clone();
    // Guarded like the IamRoles: an unreadable IamPolicy must not stall this watch either.
    let policies_api: Api<DeserializeGuard<crate::api::IamPolicy>> =
        watch::scoped(&ctx.client, ctx.settings.namespace.as_deref());
    // ServiceAccounts, for spec.serviceAccounts: kept to find the ones an IamRole annotated, and
    // a trigger for the IamRoles whose annotation a ServiceAccount lacks.
    let service_accounts_api: Api<k8s_openapi::api::core::v1::ServiceAccount> =
        watch::scoped(&ctx.client, ctx.settings.namespace.as_deref());
    let (service_accounts, service_accounts_writer) = reflector::store();
    // `run` is called once per Context; a second call would share the first one's store.
    let _ = ctx.service_accounts.set(service_accounts);
    let service_accounts_stream = watcher(service_accounts_api, watcher::Config::default())
        .default_backoff()
        .modify(|account| slim::slim(account.meta_mut()))
        .reflect(service_accounts_writer)
        .touched_objects();
    let roles_for_accounts = reader.clone();
    let default_via = ctx.settings.workloads.default_via;
    let mut controller = Controller::for_stream(stream, reader)
        .watches_stream(service_accounts_stream, move |account| {
            service_accounts::roles_to_wake(&roles_for_accounts, &account, default_via)
        })
        // A role waiting for an IamPolicy's ARN (or attaching a policy that changed) is woken
        // when that IamPolicy changes.
        .watches(policies_api, watcher::Config::default(), move |policy| {
            refs::roles_referring_to(&roles, &policy)
        });
    // A guardrail change re-evaluates the roles it covers. Only the first run of a Context
    // watches them: its store is the one reconciles read.
    if let Some(writer) = guardrail_writer {
        controller = controller
            .watches_stream(guardrails::stream(ctx.clone(), writer), move |guardrail| {
                coverage.roles_to_wake(&guardrail)
            });
    }
    if served {
        // An AwsAccount that changes (verified, denied, a namespace removed) wakes its roles:
        // their status says so at once.
        let roles = account_roles.clone();
        controller = controller.watches_stream(
            account::reconcile::changes_that_matter_to_roles(&ctx),
            move |account| account::reconcile::roles_of(&roles, &account),
        );
    }
    let routing_ready = ctx.clone();
    let controller = controller
        .reconcile_on(drift_triggers)
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(move |result| {
            // A watch the controller follows besides the IamRoles' (IamPolicies, ServiceAccounts,
            // RoleGuardrails) failed: the operator is not ready. While reconciles fill every
            // worker, the IamRole watch itself may not be polled to notice an outage; its next
            // event after reconnecting says ready again.
            if let Err(kube::runtime::controller::Error::QueueError(_)) = &result {
                queue_health.set_kube(false);
            }
            async move {
                match result {
                    Ok((object, _)) => tracing::debug!(object = %object, "reconciled"),
                    Err(error) => tracing::debug!(%error, "reconcile ended in error"),
                }
            }
        });
    let controller = async move {
        routing_ready.accounts.ready().await;
        controller.await;
    };
    // The sweeper never ends on its own: the controller's graceful shutdown ends both.
    tokio::select! {
        _ = futures::future::join4(controller, policies, service_linked_roles, accounts) => {}
        _ = sweeper => {}
    }
}

/// Whether an object seen by the watch needs a reconcile, or can be left to the drift check: an
/// object whose status says its role matched this very generation is checked by the next sweep
/// (right after start), so a restart of the operator does not re-read 10,000 roles one by one.
fn needs_reconcile_now(object: &Guarded) -> bool {
    let Ok(role) = &object.0 else {
        return true;
    };
    let in_sync = role.status.as_ref().is_some_and(|status| {
        status.observed_generation == role.metadata.generation
            && crate::status::ready_condition(Some(status)).is_some_and(|c| {
                c.status == "True" && c.observed_generation == role.metadata.generation
            })
    });
    role.metadata.deletion_timestamp.is_some()
        || !role.finalizers().iter().any(|f| f == FINALIZER)
        || !in_sync
}

/// kube-apiserver bumps the generation when it marks an object with finalizers for deletion, but
/// not every server does: the deletion timestamp itself is a trigger.
/// IAM reads of one in-sync reconcile, for budgeting: 4 + N, with N = 2 inline policies.
const READS_PER_RESYNC: f64 = 6.0;

/// `configured`, or longer if `roles` re-read every interval would take more than half of
/// `rate` IAM calls per second.
pub fn resync_interval(configured: Duration, roles: usize, rate: f64) -> Duration {
    if rate <= 0.0 {
        return configured;
    }
    let needed = Duration::from_secs_f64(roles as f64 * READS_PER_RESYNC / (rate * 0.5));
    configured.max(needed)
}

async fn reconcile(cached: Arc<CachedRole>, ctx: Arc<Context>) -> Result<Action> {
    let guarded = cached.decode();
    // Which account's slot: one refused by routing (or unreadable) makes no IAM call, so any
    // slot will do. A reconcile put off for a slot is no reconcile: not counted.
    let key = match &guarded.0 {
        Ok(role) => ctx
            .accounts
            .choose(role)
            .ok()
            .and_then(|chosen| chosen.map(|(name, _)| name)),
        Err(_) => None,
    };
    let slot = match ctx.settings.concurrency {
        0 => None,
        per_account => {
            let per_account = usize::from(per_account);
            let spare = per_account * (usize::from(SLOTS_PER_WORKER) - 1);
            match ctx.accounts.worker(key, per_account, spare).await {
                Some(slot) => Some(slot),
                None => return Ok(Action::requeue(ACCOUNT_BUSY_RETRY)),
            }
        }
    };
    let meta = cached.meta();
    let span = tracing::info_span!(
        "reconcile",
        object = %format!(
            "{}/{}",
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default()
        )
    );
    let started = Instant::now();
    let result = async {
        match guarded.0 {
            Ok(role) => reconcile_valid(Arc::new(role), &ctx).await,
            Err(invalid) => report_invalid::<IamRole>(&invalid, &ctx).await,
        }
    }
    .instrument(span)
    .await;
    drop(slot);
    counted(&ctx, started, result)
}

/// Counts a reconcile that began at `started`, and its error's category.
fn counted(ctx: &Context, started: Instant, result: Result<Action>) -> Result<Action> {
    ctx.metrics.reconciled(started.elapsed());
    if let Err(error) = &result {
        ctx.metrics.failed(error.category());
    }
    result
}

/// The controller runs this many reconciles at once per --concurrency: each account may use
/// --concurrency of them ([`account::Accounts::worker`]), and a few accounts can be busy at
/// once without waiting for each other; the spare ones wait for a slot of a busy account.
const SLOTS_PER_WORKER: u16 = 4;
/// A reconcile whose account has every worker busy is looked at again after this.
const ACCOUNT_BUSY_RETRY: Duration = Duration::from_millis(100);

async fn reconcile_valid(role: Arc<IamRole>, ctx: &Context) -> Result<Action> {
    let namespace = role.namespace().unwrap_or_default();
    let api: Api<IamRole> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&api, FINALIZER, role, |event| async {
        match event {
            FinalizerEvent::Apply(role) => apply(role, ctx).await,
            FinalizerEvent::Cleanup(role) => cleanup(role, ctx).await,
        }
    })
    .await
    .map_err(finalizer_error)
}

/// kube's finalizer helper wraps our own errors: unwrap them so their category survives.
fn finalizer_error(error: kube::runtime::finalizer::Error<Error>) -> Error {
    match error {
        kube::runtime::finalizer::Error::ApplyFailed(error)
        | kube::runtime::finalizer::Error::CleanupFailed(error) => error,
        kube::runtime::finalizer::Error::AddFinalizer(error)
        | kube::runtime::finalizer::Error::RemoveFinalizer(error) => Error::from(error),
        other => Error::Internal(other.to_string()),
    }
}

fn error_policy(role: Arc<CachedRole>, error: &Error, ctx: Arc<Context>) -> Action {
    let meta = role.meta();
    let key = format!(
        "{}/{}",
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default()
    );
    let at_least = match error {
        Error::Iam { retry_after, .. } => *retry_after,
        _ => None,
    };
    let delay = ctx.retry_delay(&key, at_least);
    tracing::warn!(object = %key, category = %error.category(), error = %error.message(), ?delay, "reconcile failed; retrying");
    Action::requeue(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resync_stretches_to_fit_the_rate_limit() {
        let ten_minutes = Duration::from_secs(600);
        let cases = [
            // configured, roles, rate, expected seconds
            (ten_minutes, 100, 10.0, 600),
            (ten_minutes, 1200, 10.0, 1440),
            (ten_minutes, 5000, 10.0, 6000),
            (Duration::from_secs(15), 500, 50.0, 120),
            (Duration::from_secs(15), 10, 50.0, 15),
            (ten_minutes, 5000, 0.0, 600),
        ];
        for (configured, roles, rate, expected) in cases {
            assert_eq!(
                resync_interval(configured, roles, rate).as_secs(),
                expected,
                "{roles} roles at {rate}/s"
            );
        }
    }
}
