//! The controller: watches IamRoles and runs the engine for each, behind kube's finalizer
//! helper. The decisions (next status, Events, requeue) are pure ([`decide`]); what is here reads
//! and writes, and remembers per-object retry state ([`retry`]).

mod decide;
mod retry;
mod sweeper;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::TryStreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::core::{DeserializeGuard, error_boundary::InvalidObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::utils::Predicate;
use kube::runtime::{WatchStreamExt, predicates, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use tracing::Instrument;

use crate::api::{IamRole, IamRoleStatus};
use crate::confine::Confinement;
use crate::consistency;
use crate::desired;
use crate::engine::{self, ApplyFailure, Mode};
use crate::error::{Category, Error, Result};
use crate::iam::IamApi;
use crate::model::{DeletionPolicy, ManagementPolicy};
use crate::status::RoleIdentity;
use crate::telemetry::{Health, Metrics};

pub use decide::{Attempt, Decision, Failure, Note, Requeue, decide};

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
}

pub struct Context {
    pub client: Client,
    pub iam: Arc<dyn IamApi>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    retry: retry::RetryState,
}

impl Context {
    pub fn new(
        client: Client,
        iam: Arc<dyn IamApi>,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Self {
        let recorder = Recorder::new(client.clone(), Reporter::from("rolesmith"));
        Context {
            client,
            iam,
            recorder,
            metrics,
            settings,
            retry: retry::RetryState::default(),
        }
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

type Guarded = DeserializeGuard<IamRole>;

/// Runs until `shutdown` resolves; in-flight reconciles finish first.
pub async fn run(
    ctx: Arc<Context>,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    // Objects are read through DeserializeGuard: one object that does not match the types (an
    // older or newer CRD, a hand-edited schema) is reported on its own instead of failing the
    // whole list and stalling every other IamRole.
    let api: Api<Guarded> = match &ctx.settings.namespace {
        Some(namespace) => Api::namespaced(ctx.client.clone(), namespace),
        None => Api::all(ctx.client.clone()),
    };
    let (reader, writer) = reflector::store();
    let watch_health = health.clone();
    // Our own status writes must not trigger reconciles: only a new generation, a finalizer
    // change or a deletion does. Drift is the sweeper's to find.
    let triggers = predicates::generation
        .combine(predicates::finalizers)
        .combine(deleting);
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .inspect(move |event| watch_health.set_kube(event.is_ok()))
        .reflect(writer)
        .applied_objects()
        .try_filter(|object| std::future::ready(needs_reconcile_now(object)))
        .predicate_filter(triggers, Default::default());
    let (drifted, drift_triggers) = futures::channel::mpsc::unbounded();
    let sweeper = sweeper::run(ctx.clone(), reader.clone(), drifted);
    let config = kube::runtime::controller::Config::default().concurrency(ctx.settings.concurrency);
    let controller = Controller::for_stream(stream, reader)
        .reconcile_on(drift_triggers)
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(object = %object, "reconciled"),
                Err(error) => tracing::debug!(%error, "reconcile ended in error"),
            }
        });
    // The sweeper never ends on its own: the controller's graceful shutdown ends both.
    tokio::select! {
        _ = controller => {}
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
fn deleting(role: &Guarded) -> Option<u64> {
    Some(u64::from(role.meta().deletion_timestamp.is_some()))
}

/// IAM reads of one in-sync reconcile, for budgeting: 3 + N, with N = 2 inline policies.
const READS_PER_RESYNC: f64 = 5.0;

/// `configured`, or longer if `roles` re-read every interval would take more than half of
/// `rate` IAM calls per second.
pub fn resync_interval(configured: Duration, roles: usize, rate: f64) -> Duration {
    if rate <= 0.0 {
        return configured;
    }
    let needed = Duration::from_secs_f64(roles as f64 * READS_PER_RESYNC / (rate * 0.5));
    configured.max(needed)
}

async fn reconcile(guarded: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    let meta = guarded.meta();
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
        match &guarded.0 {
            Ok(role) => reconcile_valid(Arc::new(role.clone()), &ctx).await,
            Err(invalid) => report_invalid(invalid, &ctx).await,
        }
    }
    .instrument(span)
    .await;
    ctx.metrics.reconciled(started.elapsed());
    if let Err(error) = &result {
        ctx.metrics.failed(error.category());
    }
    result
}

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
    .map_err(|error| match error {
        kube::runtime::finalizer::Error::ApplyFailed(error)
        | kube::runtime::finalizer::Error::CleanupFailed(error) => error,
        kube::runtime::finalizer::Error::AddFinalizer(error)
        | kube::runtime::finalizer::Error::RemoveFinalizer(error) => Error::from(error),
        other => Error::Internal(other.to_string()),
    })
}

fn error_policy(role: Arc<Guarded>, error: &Error, ctx: Arc<Context>) -> Action {
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

fn object_key(role: &IamRole) -> String {
    format!(
        "{}/{}",
        role.namespace().unwrap_or_default(),
        role.name_any()
    )
}

/// The role name this object manages: the one recorded in status once created (so a name
/// derivation change can never orphan a role), else the one the spec gives.
fn managed_role_name(role: &IamRole) -> Result<String> {
    if let Some(name) = role.status.as_ref().and_then(|s| s.role_name.clone()) {
        return Ok(name);
    }
    Ok(desired::role_name(
        &role.namespace().unwrap_or_default(),
        &role.name_any(),
        role.spec.role_name.as_deref(),
    ))
}

async fn apply(role: Arc<IamRole>, ctx: &Context) -> Result<Action> {
    let key = object_key(&role);
    let uid = role.uid().unwrap_or_default();
    let attempt = match role.spec.management_policy {
        ManagementPolicy::Manage => manage(&role, ctx, &uid).await?,
        ManagementPolicy::Observe => observe(&role, ctx).await,
    };
    let error = attempt.failure.clone();
    let decision = decide(
        &attempt,
        role.status.as_ref(),
        role.metadata.generation,
        jiff::Timestamp::now(),
    );
    let action = match (&error, decision.requeue) {
        (Some(failure), Requeue::Retry) => {
            let delay = ctx.retry_delay(&key, failure.retry_after);
            tracing::warn!(category = %failure.category, error = %failure.message, ?delay, "transient failure; retrying");
            Action::requeue(delay)
        }
        (failure, _) => {
            if let Some(failure) = failure {
                tracing::info!(category = %failure.category, error = %failure.message, "blocked until the spec changes");
            }
            ctx.retry.forget_failures(&key, &uid);
            Action::await_change()
        }
    };
    if let Some(failure) = &error {
        ctx.metrics.failed(failure.category);
    }
    for note in &decision.events {
        publish(&role.object_ref(&()), ctx, note).await;
    }
    if decision.write_status {
        write_status(&role, ctx, &decision.status).await?;
    }
    Ok(action)
}

/// Makes IAM match the spec, and says what happened.
async fn manage(role: &IamRole, ctx: &Context, uid: &str) -> Result<Attempt> {
    let owner = desired::owner(&ctx.settings.cluster_id, role)?;
    let (name, result) = match admissible_desired(role, &ctx.settings) {
        Ok(desired) => {
            let result = engine::apply(
                ctx.iam.as_ref(),
                &desired,
                &owner,
                role.spec.adopt,
                Mode::Execute,
            )
            .await;
            (Some(desired.name), result)
        }
        Err(error) => (None, Err(ApplyFailure::from(error))),
    };
    let (report, error) = match result {
        Ok(report) => (report, None),
        Err(failure) => (
            failure.report,
            Some(
                ctx.retry
                    .patience(uid, failure.error, ctx.settings.propagation_window),
            ),
        ),
    };
    Ok(Attempt {
        // A name goes into status only once a role of that name exists and is this object's:
        // status.roleName decides what deletion removes.
        role: RoleIdentity {
            name: name.filter(|_| report.role_arn.is_some()),
            arn: report.role_arn.clone(),
            id: report.role_id.clone(),
        },
        changes: report.ops.iter().map(|op| op.action()).collect(),
        warnings: (error.is_none() || !report.warnings.is_empty()).then_some(report.warnings),
        failure: error.as_ref().map(Failure::from),
        differences: report.differences,
        observing: false,
        spec_changed: spec_changed(role),
    })
}

/// Reads the role and reports how it differs; never writes to IAM.
async fn observe(role: &IamRole, ctx: &Context) -> Attempt {
    let result = match admissible_desired(role, &ctx.settings) {
        Ok(desired) => engine::observe(ctx.iam.as_ref(), &desired)
            .await
            .map(|report| (desired.name, report)),
        Err(error) => Err(error),
    };
    match result {
        Ok((name, report)) => Attempt {
            role: RoleIdentity {
                name: Some(name),
                arn: Some(report.role_arn),
                id: Some(report.role_id),
            },
            warnings: Some(report.warnings),
            differences: report.differences,
            observing: true,
            spec_changed: spec_changed(role),
            ..Attempt::default()
        },
        Err(error) => Attempt {
            failure: Some(Failure::from(&error)),
            observing: true,
            spec_changed: spec_changed(role),
            ..Attempt::default()
        },
    }
}

fn spec_changed(role: &IamRole) -> bool {
    role.status.as_ref().and_then(|s| s.observed_generation) != role.metadata.generation
}

/// The desired role, if this object may have it: the namespace's confinement, and the name it
/// already created (an old CRD without the CEL immutability rule must not rename and orphan it).
fn admissible_desired(role: &IamRole, settings: &Settings) -> Result<crate::model::DesiredRole> {
    let mut desired = desired::desired_role(role)?;
    desired
        .ignored_tag_keys
        .extend(settings.ignore_tag_keys.iter().cloned());
    let namespace = role.namespace().unwrap_or_default();
    let problems = settings
        .confinement
        .check(&namespace, &desired.name, &desired.path);
    if !problems.is_empty() {
        return Err(Error::Forbidden(problems));
    }
    if let Some(status) = &role.status
        && status.role_arn.is_some()
        && let Some(recorded) = &status.role_name
        && recorded != &desired.name
    {
        return Err(Error::InvalidSpec(vec![format!(
            "spec.roleName: this object manages role {recorded}; renaming it to {} would orphan that role: create a new IamRole instead",
            desired.name
        )]));
    }
    Ok(desired)
}

async fn cleanup(role: Arc<IamRole>, ctx: &Context) -> Result<Action> {
    let name = managed_role_name(&role)?;
    if role.spec.management_policy == ManagementPolicy::Observe {
        // An observed role was never rolesmith's to change, so it is not rolesmith's to delete.
        ctx.retry
            .forget_object(&object_key(&role), &role.uid().unwrap_or_default());
        let note = Note {
            warning: false,
            reason: "LeftAlone".into(),
            action: "Delete",
            text: format!("IAM role {name} was only observed, so it is left as it is"),
        };
        publish(&role.object_ref(&()), ctx, &note).await;
        return Ok(Action::await_change());
    }
    let owner = desired::owner(&ctx.settings.cluster_id, &role)?;
    let policy = role.spec.deletion_policy;
    let report = engine::delete(ctx.iam.as_ref(), &name, &owner, policy, Mode::Execute).await?;
    let uid = role.uid().unwrap_or_default();
    let created = role.status.as_ref().and_then(|s| s.role_arn.as_ref());
    if let (false, Some(arn)) = (report.found, created) {
        // This object created the role, so "no such role" may only mean IAM's reads have not
        // caught up with the create yet: dropping the finalizer now would leave it behind.
        let waited = ctx.retry.waited(&uid, consistency::Wait::CreatedRole);
        if consistency::still_plausible(waited, ctx.settings.propagation_window) {
            return Err(Error::Iam {
                action: "GetRole",
                code: "NoSuchEntity".into(),
                message: format!(
                    "IAM does not show role {arn}, which this object created; IAM may not have propagated it yet, so rolesmith looks again for up to {} s before concluding it is gone",
                    ctx.settings.propagation_window.as_secs()
                ),
                category: Category::IamTransient,
                retry_after: None,
            });
        }
    }
    ctx.retry.forget_object(&object_key(&role), &uid);
    let note = deletion_note(&name, &report, policy);
    publish(&role.object_ref(&()), ctx, &note).await;
    Ok(Action::await_change())
}

fn deletion_note(name: &str, report: &engine::DeleteReport, policy: DeletionPolicy) -> Note {
    let (reason, text) = match (&report.left_alone, policy) {
        (Some(why), _) => (
            "LeftAlone",
            format!("IAM role {name} was not deleted: {why}"),
        ),
        (None, DeletionPolicy::Retain) => (
            "Retained",
            format!("IAM role {name} kept (deletionPolicy Retain); ownership tag removed"),
        ),
        (None, DeletionPolicy::Delete) if report.ops.is_empty() => {
            ("Deleted", format!("IAM role {name} was already gone"))
        }
        (None, DeletionPolicy::Delete) => ("Deleted", format!("IAM role {name} deleted")),
    };
    Note {
        warning: false,
        reason: reason.into(),
        action: "Delete",
        text,
    }
}

/// An object that cannot be read as an IamRole: say so on the object (status and an Event) and
/// leave IAM alone. Its finalizer stays: deleting IAM's role needs the spec (deletionPolicy), so
/// the user fixes the object and deletion then proceeds normally — nothing is orphaned.
async fn report_invalid(invalid: &InvalidObject, ctx: &Context) -> Result<Action> {
    let meta = &invalid.metadata;
    let namespace = meta.namespace.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();
    let message = format!(
        "the object does not match the IamRole schema this operator understands: {} (IAM is left unchanged; fix the object, or upgrade the CRD and the operator together)",
        crate::error::truncate(&invalid.error, 512)
    );
    tracing::warn!(error = %invalid.error, "invalid IamRole");
    let attempt = Attempt {
        failure: Some(Failure {
            category: Category::InvalidSpec,
            message: message.clone(),
            retry_after: None,
        }),
        ..Attempt::default()
    };
    let decision = decide(&attempt, None, meta.generation, jiff::Timestamp::now());
    // A merge patch of the conditions only: the role's name, ARN and id stay in status, because
    // deleting the object once it is fixed must still find the role it created.
    let api: Api<Guarded> = Api::namespaced(ctx.client.clone(), &namespace);
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&serde_json::json!({
            "status": {
                "observedGeneration": decision.status.observed_generation,
                "conditions": decision.status.conditions,
            },
        })),
    )
    .await?;
    let uid = meta.uid.clone().unwrap_or_default();
    if ctx.retry.first_report(&uid, &invalid.error) {
        let reference = k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some(IamRole::api_version(&()).to_string()),
            kind: Some(IamRole::kind(&()).to_string()),
            name: Some(name),
            namespace: Some(namespace),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            ..Default::default()
        };
        let note = Note {
            warning: true,
            reason: "InvalidObject".into(),
            action: "Read",
            text: message,
        };
        publish(&reference, ctx, &note).await;
    }
    Ok(Action::await_change())
}

async fn write_status(role: &IamRole, ctx: &Context, next: &IamRoleStatus) -> Result<()> {
    let namespace = role.namespace().unwrap_or_default();
    let api: Api<IamRole> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = serde_json::json!({
        "apiVersion": IamRole::api_version(&()),
        "kind": IamRole::kind(&()),
        "status": next,
    });
    api.patch_status(
        &role.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Events are best effort: failing to record one must not fail the reconcile.
async fn publish(
    reference: &k8s_openapi::api::core::v1::ObjectReference,
    ctx: &Context,
    note: &Note,
) {
    let event = Event {
        type_: if note.warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: note.reason.clone(),
        note: Some(crate::error::truncate(&note.text, 1024)),
        action: note.action.to_string(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, reference).await {
        tracing::warn!(%error, "could not publish event");
    }
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
            (ten_minutes, 1200, 10.0, 1200),
            (ten_minutes, 5000, 10.0, 5000),
            (Duration::from_secs(15), 500, 50.0, 100),
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
