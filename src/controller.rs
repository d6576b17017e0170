//! The controller: watches IamRoles and runs the engine for each, behind kube's finalizer helper.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::core::{DeserializeGuard, error_boundary::InvalidObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};

use crate::api::{DeletionPolicy, IamRole, IamRoleStatus};
use crate::confine::Confinement;
use crate::consistency;
use crate::desired;
use crate::engine::{self, ApplyFailure, Mode};
use crate::error::{Error, Result};
use crate::iam::IamApi;
use crate::plan;
use crate::status::{self, Outcome, RoleIdentity};
use crate::telemetry::{Health, Metrics};

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
    pub concurrency: u16,
    /// First retry delay after a transient failure; doubles up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long an error IAM's propagation can explain is retried before it is the user's.
    pub propagation_window: Duration,
    /// Which role names and paths each namespace may use.
    pub confinement: Confinement,
    /// The account's IAM calls per second (0: unlimited), to keep resyncs within budget.
    pub iam_rate_limit: f64,
}

pub struct Context {
    pub client: Client,
    pub iam: Arc<dyn IamApi>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    /// Consecutive transient failures per object, for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// Problems already announced with an Event (uid/message), so resyncs do not repeat them.
    reported: Mutex<std::collections::HashSet<String>>,
    /// Since when an error that IAM's propagation may explain has been seen, per object uid.
    waiting: Mutex<HashMap<(String, consistency::Wait), Instant>>,
    /// The watched objects, to size the resync to the fleet.
    store: std::sync::OnceLock<reflector::Store<Guarded>>,
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
            failures: Mutex::new(HashMap::new()),
            reported: Mutex::new(std::collections::HashSet::new()),
            waiting: Mutex::new(HashMap::new()),
            store: std::sync::OnceLock::new(),
        }
    }

    /// True the first time `key` is seen.
    fn remember_reported(&self, key: String) -> bool {
        match self.reported.lock() {
            Ok(mut reported) => reported.insert(key),
            Err(_) => true,
        }
    }

    /// The delay before retry number `n` (1-based) of an object: exponential, capped, jittered
    /// to between half and all of it, so a fleet that failed together does not retry together.
    fn next_backoff(&self, key: &str, at_least: Option<Duration>) -> Duration {
        let attempt = match self.failures.lock() {
            Ok(mut failures) => {
                let count = failures.entry(key.to_string()).or_insert(0);
                *count = count.saturating_add(1);
                *count
            }
            Err(_) => 1,
        };
        let exponent = attempt.saturating_sub(1).min(16);
        let full = self
            .settings
            .base_backoff
            .saturating_mul(1 << exponent)
            .min(self.settings.max_backoff);
        let jittered = full.mul_f64(0.5 + fastrand::f64() * 0.5);
        jittered.max(at_least.unwrap_or_default())
    }

    /// The object succeeded or is blocked on the user: its retry state goes, so the maps stay
    /// as small as the set of objects currently retrying.
    fn forget_failures(&self, key: &str, uid: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.retain(|(object, _), _| object != uid);
        }
    }

    /// The object is gone: nothing about it is kept.
    fn forget_object(&self, key: &str, uid: &str) {
        self.forget_failures(key, uid);
        if let Ok(mut reported) = self.reported.lock() {
            let prefix = format!("{uid}/");
            reported.retain(|entry| !entry.starts_with(&prefix));
        }
    }

    /// An error IAM's propagation may explain stays transient for the propagation window,
    /// counted from the first time this object met it; after that it is the user's to fix.
    fn patience(&self, uid: &str, error: Error) -> Error {
        let Some(wait) = consistency::wait_for(&error) else {
            return error;
        };
        let waited = self.waited(uid, wait);
        if consistency::still_plausible(waited, self.settings.propagation_window) {
            error
        } else {
            consistency::give_up(error, waited)
        }
    }

    /// How long this object has been waiting for `wait` (zero the first time).
    fn waited(&self, uid: &str, wait: consistency::Wait) -> Duration {
        match self.waiting.lock() {
            Ok(mut waiting) => waiting
                .entry((uid.to_string(), wait))
                .or_insert_with(Instant::now)
                .elapsed(),
            Err(_) => Duration::ZERO,
        }
    }

    /// The resync interval, jittered ±10 % so roles do not all re-read IAM at the same moment,
    /// and stretched when the fleet is so large that re-reading it every interval would use more
    /// than half of the account's IAM rate: new and changed roles must never starve behind
    /// drift checks.
    fn resync(&self) -> Duration {
        let roles = self.store.get().map(|store| store.len()).unwrap_or(0);
        let interval = resync_interval(self.settings.resync, roles, self.settings.iam_rate_limit);
        interval.mul_f64(0.9 + fastrand::f64() * 0.2)
    }
}

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
    let _ = ctx.store.set(reader.clone());
    let watch_health = health.clone();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .inspect(move |event| watch_health.set_kube(event.is_ok()))
        .reflect(writer)
        .applied_objects()
        // Our own status writes must not trigger reconciles: only a new generation, a deletion
        // or a finalizer change does. Drift is caught by the resync requeue.
        .predicate_filter(trigger_fingerprint, Default::default());
    let config = kube::runtime::controller::Config::default().concurrency(ctx.settings.concurrency);
    Controller::for_stream(stream, reader)
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(object = %object, "reconciled"),
                Err(error) => tracing::debug!(%error, "reconcile ended in error"),
            }
        })
        .await;
}

type Guarded = DeserializeGuard<IamRole>;

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

fn trigger_fingerprint(role: &Guarded) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = role.meta();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    Some(hasher.finish())
}

async fn reconcile(guarded: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let result = match &guarded.0 {
        Ok(role) => reconcile_valid(Arc::new(role.clone()), &ctx).await,
        Err(invalid) => report_invalid(invalid, &ctx).await,
    };
    ctx.metrics.reconciled(started.elapsed());
    if let Err(error) = &result {
        ctx.metrics.failed(error.category());
    }
    result
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
    tracing::warn!(object = %format!("{namespace}/{name}"), error = %invalid.error, "invalid IamRole");
    let outcome = Outcome::Blocked {
        category: crate::error::Category::InvalidSpec,
        message: message.clone(),
    };
    let status = status::next_status(
        None,
        meta.generation,
        &outcome,
        &RoleIdentity::default(),
        &[],
        jiff::Timestamp::now(),
    );
    // A merge patch of the conditions only: the role's name, ARN and id stay in status, because
    // deleting the object once it is fixed must still find the role it created.
    let api: Api<Guarded> = Api::namespaced(ctx.client.clone(), &namespace);
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&serde_json::json!({
            "status": {
                "observedGeneration": status.observed_generation,
                "conditions": status.conditions,
            },
        })),
    )
    .await?;
    let key = format!("{}/{}", meta.uid.clone().unwrap_or_default(), invalid.error);
    if ctx.remember_reported(key) {
        let reference = k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some(IamRole::api_version(&()).to_string()),
            kind: Some(IamRole::kind(&()).to_string()),
            name: Some(name),
            namespace: Some(namespace),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            ..Default::default()
        };
        let event = Event {
            type_: EventType::Warning,
            reason: "InvalidObject".into(),
            note: Some(crate::error::truncate(&message, 1024)),
            action: "Read".into(),
            secondary: None,
        };
        if let Err(error) = ctx.recorder.publish(&event, &reference).await {
            tracing::warn!(%error, "could not publish event");
        }
    }
    Ok(Action::requeue(ctx.resync()))
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
    let retry_after = match error {
        Error::Iam { retry_after, .. } => *retry_after,
        _ => None,
    };
    let delay = ctx.next_backoff(&key, retry_after);
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
fn managed_role_name(role: &IamRole) -> String {
    if let Some(name) = role.status.as_ref().and_then(|s| s.role_name.clone()) {
        return name;
    }
    desired::role_name(
        &role.namespace().unwrap_or_default(),
        &role.name_any(),
        role.spec.role_name.as_deref(),
    )
}

async fn apply(role: Arc<IamRole>, ctx: &Context) -> Result<Action> {
    let key = object_key(&role);
    let uid = role.uid().unwrap_or_default();
    let owner = desired::owner(&ctx.settings.cluster_id, &role)?;
    let result = match admissible_desired(&role, &ctx.settings.confinement) {
        Ok(desired) => engine::apply(
            ctx.iam.as_ref(),
            &desired,
            &owner,
            role.spec.adopt,
            Mode::Execute,
        )
        .await
        .map(|report| (desired.name.clone(), report))
        .map_err(|failure| (Some(desired.name.clone()), failure)),
        Err(error) => Err((None, ApplyFailure::from(error))),
    };
    let (outcome, identity, warnings, action, changes) = match result {
        Ok((name, report)) => {
            ctx.forget_failures(&key, &uid);
            let identity = RoleIdentity {
                name: Some(name),
                arn: report.role_arn.clone(),
                id: report.role_id.clone(),
            };
            let changes: Vec<&'static str> = report.ops.iter().map(|op| op.action()).collect();
            (
                Outcome::Synced {
                    changes: changes.len(),
                },
                identity,
                report.warnings,
                Action::requeue(ctx.resync()),
                changes,
            )
        }
        Err((name, failure)) => {
            let changes: Vec<&'static str> =
                failure.report.ops.iter().map(|op| op.action()).collect();
            // A name goes into status only once a role of that name exists and is this
            // object's: status.roleName decides what deletion removes.
            let identity = RoleIdentity {
                name: name.filter(|_| failure.report.role_arn.is_some()),
                arn: failure.report.role_arn.clone(),
                id: failure.report.role_id.clone(),
            };
            let error = ctx.patience(&uid, failure.error);
            if error.is_retryable() {
                let retry_after = match &error {
                    Error::Iam { retry_after, .. } => *retry_after,
                    _ => None,
                };
                let delay = ctx.next_backoff(&key, retry_after);
                tracing::warn!(object = %key, category = %error.category(), error = %error.message(), ?delay, "transient failure; retrying");
                ctx.metrics.failed(error.category());
                (
                    Outcome::Retrying {
                        category: error.category(),
                        message: error.message(),
                    },
                    identity,
                    Vec::new(),
                    Action::requeue(delay),
                    changes,
                )
            } else {
                ctx.forget_failures(&key, &uid);
                tracing::info!(object = %key, category = %error.category(), error = %error.message(), "blocked until the spec changes");
                ctx.metrics.failed(error.category());
                (
                    Outcome::Blocked {
                        category: error.category(),
                        message: error.message(),
                    },
                    identity,
                    Vec::new(),
                    Action::requeue(ctx.resync()),
                    changes,
                )
            }
        }
    };
    let next = status::next_status(
        role.status.as_ref(),
        role.metadata.generation,
        &outcome,
        &identity,
        &warnings,
        jiff::Timestamp::now(),
    );
    publish_events(&role, ctx, role.status.as_ref(), &next, &outcome, &changes).await;
    write_status(&role, ctx, &next).await?;
    Ok(action)
}

/// The desired role, if this object may have it: the namespace's confinement, and the name it
/// already created (an old CRD without the CEL immutability rule must not rename and orphan it).
fn admissible_desired(
    role: &IamRole,
    confinement: &Confinement,
) -> Result<crate::model::DesiredRole> {
    let desired = desired::desired_role(role)?;
    let namespace = role.namespace().unwrap_or_default();
    let problems = confinement.check(&namespace, &desired.name, &desired.path);
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
    let owner = desired::owner(&ctx.settings.cluster_id, &role)?;
    let name = managed_role_name(&role);
    let policy = match role.spec.deletion_policy {
        DeletionPolicy::Delete => plan::DeletionPolicy::Delete,
        DeletionPolicy::Retain => plan::DeletionPolicy::Retain,
    };
    let report = engine::delete(ctx.iam.as_ref(), &name, &owner, policy, Mode::Execute).await?;
    let uid = role.uid().unwrap_or_default();
    let created = role.status.as_ref().and_then(|s| s.role_arn.as_ref());
    if let (false, Some(arn)) = (report.found, created) {
        // This object created the role, so "no such role" may only mean IAM's reads have not
        // caught up with the create yet: dropping the finalizer now would leave it behind.
        let waited = ctx.waited(&uid, consistency::Wait::CreatedRole);
        if consistency::still_plausible(waited, ctx.settings.propagation_window) {
            return Err(Error::Iam {
                action: "GetRole",
                code: "NoSuchEntity".into(),
                message: format!(
                    "IAM does not show role {arn}, which this object created; IAM may not have propagated it yet, so rolesmith looks again for up to {} s before concluding it is gone",
                    ctx.settings.propagation_window.as_secs()
                ),
                category: crate::error::Category::IamTransient,
                retry_after: None,
            });
        }
    }
    ctx.forget_object(&object_key(&role), &uid);
    let (reason, note) = match (&report.left_alone, policy) {
        (Some(why), _) => (
            "LeftAlone",
            format!("IAM role {name} was not deleted: {why}"),
        ),
        (None, plan::DeletionPolicy::Retain) => (
            "Retained",
            format!("IAM role {name} kept (deletionPolicy Retain); ownership tag removed"),
        ),
        (None, plan::DeletionPolicy::Delete) if report.ops.is_empty() => {
            ("Deleted", format!("IAM role {name} was already gone"))
        }
        (None, plan::DeletionPolicy::Delete) => ("Deleted", format!("IAM role {name} deleted")),
    };
    publish(&role, ctx, EventType::Normal, reason, "Delete", note).await;
    Ok(Action::await_change())
}

async fn write_status(role: &IamRole, ctx: &Context, next: &IamRoleStatus) -> Result<()> {
    let current = role.status.as_ref();
    let sync_time_moved =
        current.and_then(|s| s.last_sync_time.as_ref()) != next.last_sync_time.as_ref();
    if !status::differs_materially(current, next) && !sync_time_moved {
        return Ok(());
    }
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

/// One Event per transition, not per retry: users see what changed without an Event storm.
async fn publish_events(
    role: &IamRole,
    ctx: &Context,
    before: Option<&IamRoleStatus>,
    after: &IamRoleStatus,
    outcome: &Outcome,
    changes: &[&'static str],
) {
    let was = status::ready_condition(before).map(|c| (c.reason.clone(), c.message.clone()));
    let now = status::ready_condition(Some(after)).map(|c| (c.reason.clone(), c.message.clone()));
    match outcome {
        Outcome::Synced { .. } if !changes.is_empty() => {
            let note = format!(
                "applied {} IAM change(s): {}",
                changes.len(),
                changes.join(", ")
            );
            publish(role, ctx, EventType::Normal, "Synced", "Apply", note).await;
        }
        Outcome::Synced { .. } => {
            if was != now {
                publish(
                    role,
                    ctx,
                    EventType::Normal,
                    "Synced",
                    "Apply",
                    "IAM role matches the spec".into(),
                )
                .await;
            }
        }
        Outcome::Retrying { category, message } | Outcome::Blocked { category, message } => {
            if was != now {
                publish(
                    role,
                    ctx,
                    EventType::Warning,
                    category.as_str(),
                    "Apply",
                    message.clone(),
                )
                .await;
            }
        }
    }
    let warned = |s: Option<&IamRoleStatus>| {
        s.and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == status::WARNINGS && c.status == "True")
        })
        .map(|c| c.message.clone())
    };
    if let Some(message) = warned(Some(after))
        && warned(before).as_ref() != Some(&message)
    {
        publish(
            role,
            ctx,
            EventType::Warning,
            "RiskySettings",
            "Validate",
            message,
        )
        .await;
    }
}

async fn publish(
    role: &IamRole,
    ctx: &Context,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(crate::error::truncate(&note, 1024)),
        action: action.to_string(),
        secondary: None,
    };
    let reference = role.object_ref(&());
    if let Err(error) = ctx.recorder.publish(&event, &reference).await {
        // Events are best effort: failing to record one must not fail the reconcile.
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
