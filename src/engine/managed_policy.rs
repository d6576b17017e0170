//! The engine for customer managed policies (`IamPolicy`): observe → validate → plan → execute,
//! as for roles. A policy is found by its ARN, which IAM derives from the account, the path
//! and the name, so it is known before the policy exists.

use super::{Mode, plan_error};
use crate::admission::{self, Finding};
use crate::error::{Error, Result};
use crate::iam::{IamApi, policy_arn};
use crate::model::{DeletionPolicy, DesiredPolicy, Owner, PolicyOp};
use crate::plan::{self, Kind, Ownership, PolicyDeletion};

/// The partition of the policy ARNs rolesmith derives. Status keeps the ARN IAM answered, which
/// is what every later read uses.
const PARTITION: &str = "aws";

/// What an apply of one IamPolicy found and did.
#[derive(Clone, Debug, Default)]
pub struct PolicyReport {
    /// The writes planned (and, unless a dry run, executed in this order).
    pub ops: Vec<PolicyOp>,
    /// Set once the policy is known to exist and to be this object's.
    pub arn: Option<String>,
    pub policy_id: Option<String>,
    pub default_version_id: Option<String>,
    /// Users, groups and roles it is attached to, as GetPolicy counted them before the writes.
    pub attachment_count: i32,
    /// Risky but legal documents.
    pub findings: Vec<Finding>,
}

/// The ARN of the policy `desired` names in the credentials' account.
pub async fn arn_for(iam: &dyn IamApi, desired: &DesiredPolicy) -> Result<String> {
    let account = iam.caller_account().await?;
    Ok(policy_arn(
        PARTITION,
        &account,
        &desired.path,
        &desired.name,
    ))
}

/// Makes IAM's managed policy match `desired`. `known_arn` is the ARN status recorded, if any.
pub async fn apply_policy(
    iam: &dyn IamApi,
    desired: &DesiredPolicy,
    owner: &Owner,
    adopt: bool,
    known_arn: Option<&str>,
    mode: Mode,
) -> Result<PolicyReport> {
    // Callers admitted the object already; a caller that built `desired` itself did not.
    let problems = admission::check_policy(desired, owner);
    if !problems.is_empty() {
        return Err(Error::refused(problems));
    }
    let arn = match known_arn {
        Some(arn) => arn.to_string(),
        None => arn_for(iam, desired).await?,
    };
    let observed = iam.get_policy(&arn).await?;
    let ops =
        plan::plan_policy_apply(desired, observed.as_ref(), owner, adopt).map_err(plan_error)?;
    // Adoptable counts too: the plan claims it first, and an error stops before anything else.
    let owned = observed.as_ref().filter(|o| {
        !matches!(
            plan::ownership_of(&o.tags, owner, adopt, Kind::Policy),
            Ownership::Foreign { .. }
        )
    });
    let mut report = PolicyReport {
        arn: owned.map(|o| o.arn.clone()),
        policy_id: owned.map(|o| o.policy_id.clone()),
        default_version_id: owned.map(|o| o.default_version_id.clone()),
        attachment_count: observed.as_ref().map_or(0, |o| o.attachment_count),
        findings: admission::policy_findings(desired),
        ops: Vec::new(),
    };
    if mode == Mode::DryRun {
        report.ops = ops;
        return Ok(report);
    }
    for op in ops {
        let outcome = iam
            .execute_policy(&op)
            .await
            .map_err(explain_invisible_policy)?;
        if let Some(arn) = outcome.arn {
            report.arn = Some(arn);
        }
        if let Some(id) = outcome.policy_id {
            report.policy_id = Some(id);
        }
        if let Some(version) = outcome.version_id {
            report.default_version_id = Some(version);
        }
        report.ops.push(op);
    }
    Ok(report)
}

/// CreatePolicy after a read that found nothing, answered "already exists": IAM's reads lag its
/// writes, or the policy is at another path (the ARN differs, the name does not).
fn explain_invisible_policy(error: Error) -> Error {
    error.explained(|action, code, message| {
        (action == "CreatePolicy" && code == "EntityAlreadyExists").then(|| {
            format!(
                "{message} (rolesmith did not see it at the ARN spec.path gives: it may be at another path, or IAM has not propagated it yet)"
            )
        })
    })
}

/// What deleting an IamPolicy found and did.
#[derive(Clone, Debug, Default)]
pub struct PolicyDeleteReport {
    /// Whether IAM showed the policy at all.
    pub found: bool,
    pub ops: Vec<PolicyOp>,
    /// Set when the policy exists but is not ours, so it was left alone.
    pub left_alone: Option<String>,
    /// Set when the policy is still attached and was not deleted; nothing was written.
    pub held: Option<String>,
}

/// Deletes (or releases, with `Retain`) the policy at `arn` if, and only if, it is ours and free
/// (or `force_detach` may free it from roles).
pub async fn delete_policy(
    iam: &dyn IamApi,
    arn: &str,
    owner: &Owner,
    policy: DeletionPolicy,
    force_detach: bool,
    mode: Mode,
) -> Result<PolicyDeleteReport> {
    let Some(observed) = iam.get_policy(arn).await? else {
        return Ok(PolicyDeleteReport::default());
    };
    if let Ownership::Foreign { reason } =
        plan::ownership_of(&observed.tags, owner, false, Kind::Policy)
    {
        return Ok(PolicyDeleteReport {
            found: true,
            left_alone: Some(reason),
            ..PolicyDeleteReport::default()
        });
    }
    let attachments = match policy {
        DeletionPolicy::Delete => iam.list_policy_attachments(arn).await?,
        DeletionPolicy::Retain => Default::default(),
    };
    let ops = match plan::plan_policy_delete(&observed, &attachments, owner, policy, force_detach) {
        PolicyDeletion::Ops(ops) => ops,
        PolicyDeletion::Held { reason } => {
            return Ok(PolicyDeleteReport {
                found: true,
                held: Some(reason),
                ..PolicyDeleteReport::default()
            });
        }
    };
    if mode == Mode::Execute {
        for op in &ops {
            match iam.execute_policy(op).await {
                Ok(_) => {}
                // Gone already (a restart mid-delete, or someone else): the goal is reached.
                Err(Error::Iam { code, .. })
                    if code == "NoSuchEntity" && !matches!(op, PolicyOp::TagPolicy { .. }) => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(PolicyDeleteReport {
        found: true,
        ops,
        ..PolicyDeleteReport::default()
    })
}
