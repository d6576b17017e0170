//! observe → validate → plan → execute, shared by the controller and the CLI.
//!
//! The engine holds no state: every call reads IAM afresh, so a crash at any point is repaired by
//! the next call, and the ownership tag written by CreateRole itself means a role never exists
//! unclaimed.

use crate::error::{Error, Result};
use crate::iam::IamApi;
use crate::model::{DesiredRole, IamOp, ObservedRole, Owner};
use crate::plan::{self, DeletionPolicy, Ownership, PlanError};
use crate::validate;

/// What an apply found and did.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// The writes planned (and, unless a dry run, executed in this order).
    pub ops: Vec<IamOp>,
    pub role_arn: Option<String>,
    pub role_id: Option<String>,
    /// Risky but legal settings: surfaced, never blocking.
    pub warnings: Vec<String>,
    /// Whether the role existed before.
    pub existed: bool,
}

/// Whether to write to IAM or only report what would be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Execute,
    DryRun,
}

/// Makes IAM match `desired` (or, in a dry run, says how it would).
pub async fn apply(
    iam: &dyn IamApi,
    desired: &DesiredRole,
    owner: &Owner,
    adopt: bool,
    mode: Mode,
) -> Result<ApplyReport> {
    let mut problems = validate::validate_desired(desired);
    problems.extend(owner_problems(owner));
    if !problems.is_empty() {
        return Err(Error::InvalidSpec(problems));
    }
    let observed = iam.get_role(&desired.name).await?;
    let ops = plan::plan_apply(desired, observed.as_ref(), owner, adopt).map_err(plan_error)?;
    let mut report = ApplyReport {
        warnings: validate::warnings(desired, account_of(observed.as_ref()).as_deref()),
        existed: observed.is_some(),
        role_arn: observed.as_ref().map(|o| o.arn.clone()),
        role_id: observed.as_ref().map(|o| o.role_id.clone()),
        ops,
    };
    if mode == Mode::DryRun {
        return Ok(report);
    }
    for op in &report.ops {
        let outcome = iam.execute(op).await.map_err(explain_invisible_role)?;
        if outcome.arn.is_some() {
            report.role_arn = outcome.arn;
        }
        if outcome.role_id.is_some() {
            report.role_id = outcome.role_id;
        }
    }
    Ok(report)
}

/// What a delete found and did.
#[derive(Clone, Debug, Default)]
pub struct DeleteReport {
    pub ops: Vec<IamOp>,
    /// Set when the role exists but is not ours, so it was left alone.
    pub left_alone: Option<String>,
}

/// Deletes (or releases, with `Retain`) the role named `name` if, and only if, it is ours.
/// A role that is already gone is fine.
pub async fn delete(
    iam: &dyn IamApi,
    name: &str,
    owner: &Owner,
    policy: DeletionPolicy,
    mode: Mode,
) -> Result<DeleteReport> {
    let Some(observed) = iam.get_role(name).await? else {
        return Ok(DeleteReport::default());
    };
    if let Ownership::Foreign { reason } = plan::ownership(&observed, owner, false) {
        return Ok(DeleteReport {
            ops: Vec::new(),
            left_alone: Some(reason),
        });
    }
    let profiles = match policy {
        DeletionPolicy::Delete => iam.list_instance_profiles(name).await?,
        DeletionPolicy::Retain => Vec::new(),
    };
    let ops = plan::plan_delete(&observed, &profiles, owner, policy);
    if mode == Mode::Execute {
        for op in &ops {
            match iam.execute(op).await {
                Ok(_) => {}
                // Gone already (a restart mid-delete, or someone else): the goal is reached.
                Err(error) if is_already_gone(op, &error) => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(DeleteReport {
        ops,
        left_alone: None,
    })
}

/// The ownership tag's value must be a valid IAM tag value, or CreateRole fails in real IAM
/// (moto would take it): a `--cluster-id` with `#`, or an object name with a comma from a
/// file given to the CLI.
fn owner_problems(owner: &Owner) -> Vec<String> {
    let value = owner.tag_value();
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    let mut problems = Vec::new();
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        problems.push(format!(
            "the ownership tag value {value:?} (cluster id/namespace/name) contains {bad:?}, which IAM does not allow in tag values"
        ));
    }
    if value.chars().count() > 256 {
        problems.push(format!(
            "the ownership tag value {value:?} is longer than IAM's 256 characters"
        ));
    }
    problems
}

/// CreateRole after a read that found nothing, answered "already exists": the role is there
/// but IAM did not show it yet (its reads lag its writes), or a lost answer to our own create
/// was retried. Say so instead of leaving a puzzling "already exists" in the status.
fn explain_invisible_role(error: Error) -> Error {
    match error {
        Error::Iam {
            action: "CreateRole",
            code,
            message,
            category,
            retry_after,
        } if code == "EntityAlreadyExists" => Error::Iam {
            action: "CreateRole",
            message: format!(
                "{message} (it was not visible when rolesmith read IAM a moment before: IAM propagates changes with a delay; retrying, and the next read decides whether the role is ours)"
            ),
            code,
            category,
            retry_after,
        },
        other => other,
    }
}

fn is_already_gone(op: &IamOp, error: &Error) -> bool {
    let removal = matches!(
        op,
        IamOp::DeleteRole { .. }
            | IamOp::DeleteRolePolicy { .. }
            | IamOp::DetachRolePolicy { .. }
            | IamOp::RemoveRoleFromInstanceProfile { .. }
            | IamOp::DeleteRolePermissionsBoundary { .. }
    );
    removal && matches!(error, Error::Iam { code, .. } if code == "NoSuchEntity")
}

fn plan_error(error: PlanError) -> Error {
    match error {
        PlanError::NotOwned { .. } => Error::OwnershipConflict(error.to_string()),
        PlanError::PathChanged { .. } => Error::InvalidSpec(vec![error.to_string()]),
    }
}

/// The account id in a role ARN (`arn:aws:iam::ACCOUNT:role/…`).
fn account_of(observed: Option<&ObservedRole>) -> Option<String> {
    let arn = &observed?.arn;
    arn.split(':').nth(4).map(str::to_string)
}
