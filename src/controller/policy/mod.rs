//! The IamPolicy controller, in the same process as the IamRole one: a watch, kube's finalizer
//! helper, the managed-policy engine, status and Events. What status says after a reconcile is
//! decided purely ([`decide`]).

mod decide;

use std::sync::Arc;
use std::time::Instant;

use kube::api::Api;
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Resource, ResourceExt};
use tracing::Instrument;

use super::watch::kind_key as key;
use super::writes::{publish, report_invalid, write_status};
use super::{Context, FINALIZER, Note, finalizer_error};
use crate::admission::{self, AdmittedPolicy};
use crate::api::IamPolicy;
use crate::desired;
use crate::engine::Mode;
use crate::engine::managed_policy::{self, PolicyReport};
use crate::error::{Error, Result};
use crate::model::DeletionPolicy;

pub use decide::{PolicyAttempt, decide_policy};

type Guarded = DeserializeGuard<IamPolicy>;

/// Runs until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    // Read through DeserializeGuard, as the IamRoles are: one IamPolicy that does not match the
    // types is reported on its own instead of failing the list and stalling every other one.
    let api: Api<Guarded> = super::watch::scoped(&ctx.client, ctx.settings.namespace.as_deref());
    // As for IamRoles: our own status writes trigger nothing; drift is looked for every resync
    // interval.
    let watch = super::watch::owned(api);
    let concurrency = ctx.settings.concurrency;
    super::watch::drive(watch, concurrency, shutdown, reconcile, error_policy, ctx).await;
}

async fn reconcile(guarded: Arc<Guarded>, ctx: Arc<Context>) -> Result<Action> {
    let span = tracing::info_span!("reconcile", object = %key(guarded.as_ref()));
    let started = Instant::now();
    let result = match &guarded.0 {
        Ok(policy) => {
            reconcile_valid(Arc::new(policy.clone()), &ctx)
                .instrument(span)
                .await
        }
        Err(invalid) => {
            report_invalid::<IamPolicy>(invalid, &ctx)
                .instrument(span)
                .await
        }
    };
    super::counted(&ctx, started, result)
}

async fn reconcile_valid(policy: Arc<IamPolicy>, ctx: &Context) -> Result<Action> {
    let namespace = policy.namespace().unwrap_or_default();
    let api: Api<IamPolicy> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&api, FINALIZER, policy, |event| async {
        match event {
            FinalizerEvent::Apply(policy) => apply(policy, ctx).await,
            FinalizerEvent::Cleanup(policy) => cleanup(policy, ctx).await,
        }
    })
    .await
    .map_err(finalizer_error)
}

fn error_policy(policy: Arc<Guarded>, error: &Error, ctx: Arc<Context>) -> Action {
    let at_least = match error {
        Error::Iam { retry_after, .. } => *retry_after,
        _ => None,
    };
    let delay = ctx.retry_delay(&key(policy.as_ref()), at_least);
    tracing::warn!(object = %key(policy.as_ref()), category = %error.category(), error = %error.message(), ?delay, "IamPolicy reconcile failed; retrying");
    Action::requeue(delay)
}

/// Admission with the operator's settings.
fn admit(policy: &IamPolicy, ctx: &Context) -> Result<AdmittedPolicy> {
    let context = admission::Context {
        confinement: &ctx.settings.confinement,
        ignore_tag_keys: &ctx.settings.ignore_tag_keys,
        cluster_id: &ctx.settings.cluster_id,
        // RoleGuardrails govern roles.
        guardrails: &[],
        workloads: &ctx.settings.workloads,
    };
    admission::admit_policy(&desired::policy_input(policy), &context).map_err(Error::refused)
}

/// The ARN status recorded for the policy this object manages, if it still names it.
fn recorded_arn<'a>(policy: &'a IamPolicy, name: &str) -> Option<&'a str> {
    let status = policy.status.as_ref()?;
    (status.policy_name.as_deref() == Some(name))
        .then_some(status.policy_arn.as_deref())
        .flatten()
}

async fn apply(policy: Arc<IamPolicy>, ctx: &Context) -> Result<Action> {
    let result = match admit(&policy, ctx) {
        Ok(admitted) => {
            let known = recorded_arn(&policy, &admitted.desired.name);
            managed_policy::apply_policy(
                ctx.iam.as_ref(),
                &admitted.desired,
                &admitted.owner,
                policy.spec.adopt,
                known,
                Mode::Execute,
            )
            .await
            .map(|report| (admitted.desired.name, report))
        }
        Err(error) => Err(error),
    };
    let attempt = match &result {
        Ok((name, report)) => PolicyAttempt::from_report(name, report),
        Err(error) => PolicyAttempt::failed(error),
    };
    let decision = decide_policy(
        &attempt,
        policy.status.as_ref(),
        policy.metadata.generation,
        jiff::Timestamp::now(),
    );
    for note in &decision.events {
        publish(&policy.object_ref(&()), ctx, note).await;
    }
    if decision.write_status {
        write_status(policy.as_ref(), ctx, &decision.status).await?;
    }
    // Drift of a managed policy (a version made default by hand, tags removed) is found by
    // looking again every resync interval.
    let uid = policy.uid().unwrap_or_default();
    Ok(super::watch::next_look(
        ctx,
        &key(policy.as_ref()),
        &uid,
        &result,
    ))
}

async fn cleanup(policy: Arc<IamPolicy>, ctx: &Context) -> Result<Action> {
    let owner = desired::policy_owner(&ctx.settings.cluster_id, &policy)?;
    let recorded = policy.status.as_ref().and_then(|s| s.policy_arn.clone());
    let arn = match recorded {
        Some(arn) => arn,
        // Never created (or status lost): where the spec says it would be.
        None => match admit(&policy, ctx) {
            Ok(admitted) => managed_policy::arn_for(ctx.iam.as_ref(), &admitted.desired).await?,
            // A spec that never made a policy has none to delete.
            Err(_) => return Ok(Action::await_change()),
        },
    };
    let deletion = policy.spec.deletion_policy;
    let report = managed_policy::delete_policy(
        ctx.iam.as_ref(),
        &arn,
        &owner,
        deletion,
        ctx.settings.force_detach,
        Mode::Execute,
    )
    .await?;
    let uid = policy.uid().unwrap_or_default();
    if let Some(reason) = report.held {
        let message = format!("IAM policy {arn} {reason}");
        let attempt = PolicyAttempt::failed(&Error::PolicyInUse(message.clone()));
        let decision = decide_policy(
            &attempt,
            policy.status.as_ref(),
            policy.metadata.generation,
            jiff::Timestamp::now(),
        );
        if decision.write_status {
            write_status(policy.as_ref(), ctx, &decision.status).await?;
        }
        if ctx.retry.first_report(&uid, &message) {
            let note = Note {
                warning: true,
                reason: "DeletionHeld".into(),
                action: "Delete",
                text: message.clone(),
            };
            publish(&policy.object_ref(&()), ctx, &note).await;
        }
        // An error keeps the finalizer; the backoff looks again.
        return Err(Error::PolicyInUse(message));
    }
    ctx.retry.forget_object(&key(policy.as_ref()), &uid);
    let (reason, text) = match (&report.left_alone, deletion) {
        (Some(why), _) => (
            "LeftAlone",
            format!("IAM policy {arn} was not deleted: {why}"),
        ),
        (None, DeletionPolicy::Retain) => (
            "Retained",
            format!("IAM policy {arn} kept (deletionPolicy Retain); ownership tag removed"),
        ),
        (None, DeletionPolicy::Delete) if !report.found => {
            ("Deleted", format!("IAM policy {arn} was already gone"))
        }
        (None, DeletionPolicy::Delete) => {
            let detached = report
                .ops
                .iter()
                .filter(|op| op.action() == "DetachRolePolicy")
                .count();
            let text = if detached > 0 {
                format!(
                    "IAM policy {arn} detached from {detached} role(s) (--force-detach) and deleted"
                )
            } else {
                format!("IAM policy {arn} deleted")
            };
            ("Deleted", text)
        }
    };
    let note = Note {
        warning: false,
        reason: reason.into(),
        action: "Delete",
        text,
    };
    publish(&policy.object_ref(&()), ctx, &note).await;
    Ok(Action::await_change())
}

impl PolicyAttempt {
    fn from_report(name: &str, report: &PolicyReport) -> PolicyAttempt {
        PolicyAttempt {
            name: report.arn.as_ref().map(|_| name.to_string()),
            arn: report.arn.clone(),
            policy_id: report.policy_id.clone(),
            default_version_id: report.default_version_id.clone(),
            attachment_count: Some(report.attachment_count),
            changes: report.ops.iter().map(|op| op.action()).collect(),
            findings: report.findings.clone(),
            failure: None,
        }
    }

    fn failed(error: &Error) -> PolicyAttempt {
        PolicyAttempt {
            failure: Some(super::Failure::from(error)),
            ..PolicyAttempt::default()
        }
    }
}
