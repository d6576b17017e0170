//! An object going away: its role deleted or released, unless it never was rolesmith's.

use super::apply::managed_role_name;
use super::*;

pub(super) async fn cleanup(role: Arc<IamRole>, ctx: &Context) -> Result<Action> {
    let name = managed_role_name(&role)?;
    ctx.metrics.forget_findings(&object_key(&role));
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
    // An observed role wired nothing (a ServiceAccount carrying its ARN was annotated by someone
    // else). A managed one unwires before the role goes: an association or annotation left
    // behind would give pods a role that no longer exists.
    if let Some(arn) = role.status.as_ref().and_then(|s| s.role_arn.as_deref()) {
        super::service_accounts::release(arn, ctx).await?;
    }
    super::pod_identity::dissociate(&role, ctx).await?;
    let routed = match ctx.accounts.route(&role).await {
        Ok(routed) => routed,
        Err(error) => match left_in_account(&role, ctx, &error) {
            Some(why) => {
                ctx.retry
                    .forget_object(&object_key(&role), &role.uid().unwrap_or_default());
                let note = Note {
                    warning: true,
                    reason: error.category().as_str().into(),
                    action: "Delete",
                    text: format!("IAM role {name} is left as it is: {why}"),
                };
                publish(&role.object_ref(&()), ctx, &note).await;
                return Ok(Action::await_change());
            }
            None => return Err(error),
        },
    };
    let owner = desired::owner(&ctx.settings.cluster_id, &role)?;
    let policy = role.spec.deletion_policy;
    let report = engine::delete(routed.iam.as_ref(), &name, &owner, policy, Mode::Execute).await?;
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

/// Why deleting the object leaves its role alone instead of waiting, or None to wait (and
/// retry). A namespace that lost the account (or a role that would move accounts) must never
/// delete there: waiting would hold the object, and its namespace, forever, so the object goes
/// and the role stays, reported. The same when the AwsAccount itself is gone (only a forced
/// removal of its finalizer does that), or when the role was never made and its account cannot
/// be used now.
fn left_in_account(role: &IamRole, ctx: &Context, error: &Error) -> Option<String> {
    let named_gone = role.spec.account_ref.as_ref().is_some_and(|name| {
        !ctx.accounts
            .known()
            .iter()
            .any(|account| account.name_any() == *name)
    });
    let never_made = role
        .status
        .as_ref()
        .and_then(|s| s.role_arn.as_ref())
        .is_none();
    match error.category() {
        Category::AccountNotAllowed => Some(error.message()),
        Category::AccountUnavailable if named_gone => Some(error.message()),
        Category::AccountUnavailable | Category::AssumeRoleDenied if never_made => Some(format!(
            "it was never created, and its account cannot be used now ({})",
            error.message()
        )),
        _ => None,
    }
}

pub(super) fn deletion_note(
    name: &str,
    report: &engine::DeleteReport,
    policy: DeletionPolicy,
) -> Note {
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
