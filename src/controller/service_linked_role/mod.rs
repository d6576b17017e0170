//! The IamServiceLinkedRole controller, in the same process as the others: a watch, kube's
//! finalizer helper, the pure step (`plan::service_linked_role`), status and Events. IAM creates
//! and names the role; deleting it is a task IAM runs, polled until it ends.

mod decide;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::Api;
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::Store;
use kube::{Resource, ResourceExt};
use tracing::Instrument;

use super::watch::kind_key as key;
use super::writes::{publish, report_invalid, write_status};
use super::{Context, FINALIZER, Failure, finalizer_error};
use crate::api::IamServiceLinkedRole;
use crate::api::service_linked_role::ServiceLinkedRoleDeletion;
use crate::error::{Category, Error, Result};
use crate::plan::service_linked_role::{
    Adoption, Claims, Deletion, DesiredServiceLinkedRole, Step, deletion, plan_service_linked_role,
};

pub use decide::{SlrAttempt, SlrDecision, decide_slr};

type Guarded = DeserializeGuard<IamServiceLinkedRole>;

/// The operator's context and the watch's cache: which role names other objects record.
struct Shared {
    ctx: Arc<Context>,
    objects: Store<Guarded>,
}

/// How soon a deletion IAM is still running is looked at again.
const DELETION_POLL: Duration = Duration::from_secs(5);

/// Runs until `shutdown` resolves.
pub async fn run(
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<Guarded> = super::watch::scoped(&ctx.client, ctx.settings.namespace.as_deref());
    let watch = super::watch::owned(api);
    let shared = Arc::new(Shared {
        objects: watch.0.clone(),
        ctx,
    });
    let concurrency = shared.ctx.settings.concurrency;
    super::watch::drive(
        watch,
        concurrency,
        shutdown,
        reconcile,
        error_policy,
        shared,
    )
    .await;
}

async fn reconcile(guarded: Arc<Guarded>, shared: Arc<Shared>) -> Result<Action> {
    let ctx = &shared.ctx;
    let span = tracing::info_span!("reconcile", object = %key(guarded.as_ref()));
    let started = Instant::now();
    let result = match &guarded.0 {
        Ok(object) => {
            let object = Arc::new(object.clone());
            let namespace = object.namespace().unwrap_or_default();
            let api: Api<IamServiceLinkedRole> = Api::namespaced(ctx.client.clone(), &namespace);
            finalizer(&api, FINALIZER, object, |event| async {
                match event {
                    FinalizerEvent::Apply(object) => apply(object, &shared).await,
                    FinalizerEvent::Cleanup(object) => cleanup(object, ctx).await,
                }
            })
            .instrument(span)
            .await
            .map_err(finalizer_error)
        }
        Err(invalid) => {
            report_invalid::<IamServiceLinkedRole>(invalid, ctx)
                .instrument(span)
                .await
        }
    };
    super::counted(ctx, started, result)
}

fn error_policy(object: Arc<Guarded>, error: &Error, shared: Arc<Shared>) -> Action {
    let ctx = &shared.ctx;
    let at_least = match error {
        Error::Iam { retry_after, .. } => *retry_after,
        _ => None,
    };
    let delay = ctx.retry_delay(&key(object.as_ref()), at_least);
    tracing::warn!(object = %key(object.as_ref()), category = %error.category(), error = %error.message(), ?delay, "IamServiceLinkedRole reconcile failed; retrying");
    Action::requeue(delay)
}

fn desired(object: &IamServiceLinkedRole) -> DesiredServiceLinkedRole {
    DesiredServiceLinkedRole {
        aws_service_name: object.spec.aws_service_name.clone(),
        custom_suffix: object.spec.custom_suffix.clone(),
        description: object.spec.description.clone().unwrap_or_default(),
    }
}

/// The role names other objects' statuses record, with who records each.
fn recorded_by_others(
    object: &IamServiceLinkedRole,
    objects: &Store<Guarded>,
) -> Vec<(String, String)> {
    let uid = object.uid();
    objects
        .state()
        .iter()
        .filter_map(|other| other.0.as_ref().ok())
        .filter(|other| other.uid() != uid)
        .filter_map(|other| {
            let name = other.status.as_ref()?.role_name.clone()?;
            let holder = format!(
                "{}/{}",
                other.namespace().unwrap_or_default(),
                other.name_any()
            );
            Some((name, holder))
        })
        .collect()
}

/// Creates the role, or confirms the one status records, or adopts an existing one.
/// `marked` says whether status now says `creating` (written here before the create call).
async fn attempt_apply(
    object: &IamServiceLinkedRole,
    shared: &Shared,
    marked: &mut bool,
) -> Result<SlrAttempt> {
    let ctx = &shared.ctx;
    let desired = desired(object);
    let status = object.status.as_ref();
    let listed = ctx
        .iam
        .list_service_linked_roles(&desired.aws_service_name)
        .await?;
    let namespace = object.namespace().unwrap_or_default();
    let adoption = Adoption {
        adopt: object.spec.adopt,
        may_adopt: ctx.settings.confinement.may_take_shared(&namespace),
    };
    let others = recorded_by_others(object, &shared.objects);
    let claims = Claims {
        recorded: status.and_then(|s| s.role_name.as_deref()),
        recorded_adopted: status.is_some_and(|s| s.adopted),
        creating: status.is_some_and(|s| s.creating),
        others: &others,
    };
    match plan_service_linked_role(&desired, &claims, &listed, adoption) {
        Step::Create => {
            // Said before the call, so a role found after a lost status write is still known
            // as this object's (the style of every other kind: record before the irreversible).
            if !claims.creating {
                let mut next = status.cloned().unwrap_or_default();
                next.creating = true;
                write_status(object, ctx, &next).await?;
            }
            *marked = true;
            let role = ctx
                .iam
                .create_service_linked_role(&desired)
                .await
                .map_err(taken_is_transient)?;
            Ok(SlrAttempt {
                role: Some(role),
                changes: vec!["CreateServiceLinkedRole"],
                ..SlrAttempt::default()
            })
        }
        Step::Owned { role, adopted } => Ok(SlrAttempt {
            role: Some(role),
            adopted,
            ..SlrAttempt::default()
        }),
        Step::Refuse { reason } => Err(Error::OwnershipConflict(reason)),
        Step::Forbidden { reason } => Err(Error::invalid(
            "spec.adopt",
            crate::admission::Rule::SharedAdoption,
            reason,
        )),
    }
}

/// IAM says the role exists although the list a moment before did not show it: our own create
/// whose answer was lost and retried, a list that lagged, or someone else's. The next look (the
/// list, the `creating` mark, the other objects' records) decides, so it is retried.
fn taken_is_transient(error: Error) -> Error {
    let taken = matches!(&error, Error::Iam { code, message, .. }
        if code == "EntityAlreadyExists"
            || (code == "InvalidInput" && message.contains("has been taken")));
    if !taken {
        return error;
    }
    error.reclassified(
        Category::IamTransient,
        "it was not listed a moment before: rolesmith looks again to see whose it is",
    )
}

async fn apply(object: Arc<IamServiceLinkedRole>, shared: &Shared) -> Result<Action> {
    let ctx = &shared.ctx;
    let mut marked = false;
    let result = attempt_apply(&object, shared, &mut marked).await;
    let attempt = match &result {
        Ok(attempt) => attempt.clone(),
        Err(error) => SlrAttempt {
            failure: Some(Failure::from(error)),
            creating: marked,
            ..SlrAttempt::default()
        },
    };
    record(&object, ctx, &attempt).await?;
    // A role deleted behind our back is made again at the next look.
    let uid = object.uid().unwrap_or_default();
    Ok(super::watch::next_look(
        ctx,
        &key(object.as_ref()),
        &uid,
        &result,
    ))
}

/// The decision's status and Events.
async fn record(object: &IamServiceLinkedRole, ctx: &Context, attempt: &SlrAttempt) -> Result<()> {
    let decision = decide_slr(
        attempt,
        object.status.as_ref(),
        object.metadata.generation,
        jiff::Timestamp::now(),
    );
    for note in &decision.events {
        publish(&object.object_ref(&()), ctx, note).await;
    }
    if decision.write_status {
        write_status(object, ctx, &decision.status).await?;
    }
    Ok(())
}

/// Deletes the role status records as this object's (and no other): starts IAM's deletion
/// task, then polls it. Until it succeeded, an error keeps the finalizer.
async fn cleanup(object: Arc<IamServiceLinkedRole>, ctx: &Context) -> Result<Action> {
    let status = object.status.clone().unwrap_or_default();
    let Some(name) = status.role_name.clone() else {
        // Never created nor adopted: nothing in IAM is this object's.
        return Ok(Action::await_change());
    };
    let running = status
        .deletion
        .as_ref()
        .filter(|d| d.status != "FAILED" && d.status != "SUCCEEDED");
    let task_id = match running {
        Some(task) => task.task_id.clone(),
        // None yet, or the last one failed: the service may have let go of the role since.
        None => match ctx.iam.delete_service_linked_role(&name).await? {
            Some(task_id) => task_id,
            None => return deleted(&object, ctx, &name, "was already gone").await,
        },
    };
    let answer = ctx
        .iam
        .service_linked_role_deletion_status(&task_id)
        .await?;
    let (error, reason) = match deletion(&answer) {
        Deletion::Done => return deleted(&object, ctx, &name, "deleted").await,
        Deletion::Pending => (
            Error::Iam {
                action: "GetServiceLinkedRoleDeletionStatus",
                code: "DeletionInProgress".into(),
                message: format!(
                    "IAM is deleting service-linked role {name} ({}, task {task_id}); rolesmith looks again shortly",
                    answer.status
                ),
                category: Category::IamTransient,
                retry_after: Some(DELETION_POLL),
            },
            None,
        ),
        Deletion::Failed { reason } => (
            Error::Iam {
                action: "GetServiceLinkedRoleDeletionStatus",
                code: "DeletionFailed".into(),
                message: format!(
                    "IAM could not delete service-linked role {name}: {reason}; the object is kept until the role is deleted: stop the service from using it (rolesmith tries again with backoff)"
                ),
                category: Category::IamRejected,
                retry_after: None,
            },
            Some(reason),
        ),
    };
    let attempt = SlrAttempt {
        failure: Some(Failure::from(&error)),
        deletion: Some(ServiceLinkedRoleDeletion {
            task_id,
            status: answer.status.clone(),
            reason,
        }),
        ..SlrAttempt::default()
    };
    record(&object, ctx, &attempt).await?;
    Err(error)
}

async fn deleted(
    object: &IamServiceLinkedRole,
    ctx: &Context,
    name: &str,
    what: &str,
) -> Result<Action> {
    ctx.retry
        .forget_object(&key(object), &object.uid().unwrap_or_default());
    let note = super::Note {
        warning: false,
        reason: "Deleted".into(),
        action: "Delete",
        text: format!("service-linked role {name} {what}"),
    };
    publish(&object.object_ref(&()), ctx, &note).await;
    Ok(Action::await_change())
}
