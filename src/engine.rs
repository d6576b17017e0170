//! observe → plan → execute, shared by the controller and the CLI. Callers admit the object first
//! ([`crate::admission::admit`]); the engine repeats the role's checks before it writes.
//!
//! The engine holds no state: every call reads IAM afresh, so a crash at any point is repaired by
//! the next call, and the ownership tag written by CreateRole itself means a role never exists
//! unclaimed.

use crate::admission::{self, Finding, Rule};
use crate::drift::{self, Difference};
use crate::error::{Error, Result};
use crate::iam::IamApi;
use crate::model::{DeletionPolicy, DesiredRole, IamOp, ObservedRole, Owner};
use crate::plan::{self, Ownership, PlanError, ProfileRead};
use crate::policy;

/// What an apply found and did.
#[derive(Clone, Debug, Default)]
pub struct ApplyReport {
    /// The writes planned (and, unless a dry run, executed in this order).
    pub ops: Vec<IamOp>,
    /// Set only once the role is known to exist and to be this object's (owned, created or
    /// claimed): status records a role name and ARN only then.
    pub role_arn: Option<String>,
    pub role_id: Option<String>,
    /// Risky but legal settings: surfaced, never blocking.
    pub findings: Vec<Finding>,
    /// Whether the role existed before.
    pub existed: bool,
    /// How the role differed from the spec before this apply (empty for a new role).
    pub differences: Vec<Difference>,
    /// IAM's RoleLastUsed of the role, when it is this object's.
    pub last_used: Option<crate::model::LastUsed>,
    /// The instance profile of the role's name, once it holds the role (spec.instanceProfile).
    pub instance_profile_arn: Option<String>,
}

/// An apply that failed part-way: what it did before the failure still counts (a role created
/// before a policy write failed exists, and status must say so).
#[derive(Debug)]
pub struct ApplyFailure {
    pub error: Error,
    pub report: ApplyReport,
}

impl From<ApplyFailure> for Error {
    fn from(failure: ApplyFailure) -> Error {
        failure.error
    }
}

impl From<Error> for ApplyFailure {
    fn from(error: Error) -> ApplyFailure {
        ApplyFailure {
            error,
            report: ApplyReport::default(),
        }
    }
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
) -> Result<ApplyReport, ApplyFailure> {
    // Callers admitted the object already; a caller that built `desired` itself did not.
    let problems = admission::check_desired(desired, owner);
    if !problems.is_empty() {
        return Err(Error::refused(problems).into());
    }
    let account = iam.caller_account().await?;
    let observed = iam.get_role(&desired.name).await?;
    let differences = observed
        .as_ref()
        .map(|o| drift::differences(desired, o))
        .unwrap_or_default();
    let profile = read_own_profile(iam, desired, observed.as_ref()).await?;
    let mut ops = plan::plan_apply(desired, observed.as_ref(), owner, adopt).map_err(plan_error)?;
    let profile_ops = plan::plan_instance_profile(desired, observed.as_ref(), &profile, owner)
        .map_err(plan_error)?;
    ops.extend(profile_ops.iter().cloned());
    let owned = observed
        .as_ref()
        .filter(|o| plan::ownership(o, owner, false) == Ownership::Owned);
    let mut report = ApplyReport {
        findings: admission::findings(desired, Some(&account)),
        existed: observed.is_some(),
        role_arn: owned.map(|o| o.arn.clone()),
        role_id: owned.map(|o| o.role_id.clone()),
        last_used: owned.and_then(|o| o.last_used.clone()),
        instance_profile_arn: owned.and_then(|o| held_profile_arn(desired, o)),
        ops,
        differences,
    };
    if mode == Mode::DryRun {
        return Ok(report);
    }
    let adopting = observed
        .as_ref()
        .is_some_and(|o| plan::ownership(o, owner, adopt) == Ownership::Adoptable);
    let mut pending = std::mem::take(&mut report.ops);
    if adopting && !pending.is_empty() {
        let claim = pending.remove(0);
        if let Err(error) = execute(iam, &claim, observed.as_ref(), &mut report).await {
            return Err(ApplyFailure { error, report });
        }
        report.ops.push(claim);
        // Two objects may both have read the role untagged and both claimed it: only the claim
        // IAM kept counts, and the loser writes nothing more. The rest is planned again from
        // this read, which may differ from the first.
        match confirm_claim(iam, desired, owner).await {
            Ok(claimed) => {
                report.role_arn = Some(claimed.arn.clone());
                report.role_id = Some(claimed.role_id.clone());
                match plan::plan_apply(desired, Some(&claimed), owner, false) {
                    Ok(ops) => pending = ops.into_iter().chain(profile_ops).collect(),
                    Err(error) => {
                        return Err(ApplyFailure {
                            error: plan_error(error),
                            report,
                        });
                    }
                }
            }
            Err(error) => return Err(ApplyFailure { error, report }),
        }
    }
    for op in pending {
        if let Err(error) = execute(iam, &op, observed.as_ref(), &mut report).await {
            return Err(ApplyFailure { error, report });
        }
        report.ops.push(op);
    }
    report.instance_profile_arn = placed_profile_arn(desired, &report, observed.as_ref());
    Ok(report)
}

/// GetInstanceProfile of the profile of the role's name, only when the role's own list and the
/// spec disagree about it (see [`plan::profile_read_needed`]).
async fn read_own_profile(
    iam: &dyn IamApi,
    desired: &DesiredRole,
    observed: Option<&ObservedRole>,
) -> Result<ProfileRead> {
    if !plan::profile_read_needed(desired.instance_profile, observed) {
        return Ok(ProfileRead::NotRead);
    }
    Ok(match iam.get_instance_profile(&desired.name).await? {
        Some(profile) => ProfileRead::Found(profile),
        None => ProfileRead::Missing,
    })
}

/// The profile of the role's name, when the spec wants it and IAM shows it holding the role.
fn held_profile_arn(desired: &DesiredRole, observed: &ObservedRole) -> Option<String> {
    let held = plan::own_profile(Some(observed))?;
    desired.instance_profile.then(|| held.arn.clone())
}

/// After a complete apply: the profile holds the role now if the spec wants it.
fn placed_profile_arn(
    desired: &DesiredRole,
    report: &ApplyReport,
    observed: Option<&ObservedRole>,
) -> Option<String> {
    if !desired.instance_profile {
        return None;
    }
    if let Some(arn) = observed.and_then(|o| held_profile_arn(desired, o)) {
        return Some(arn);
    }
    let role_arn = report.role_arn.as_deref()?;
    plan::instance_profile_arn(role_arn, &desired.path, &desired.name)
}

async fn execute(
    iam: &dyn IamApi,
    op: &IamOp,
    observed: Option<&ObservedRole>,
    report: &mut ApplyReport,
) -> Result<()> {
    let outcome = iam
        .execute(op)
        .await
        .map_err(explain_invisible_role)
        .map_err(|error| explain_invalid_principal(error, observed))?;
    if outcome.arn.is_some() {
        report.role_arn = outcome.arn;
    }
    if outcome.role_id.is_some() {
        report.role_id = outcome.role_id;
    }
    Ok(())
}

/// Reads the role back after claiming it: ours, or someone else's claim won.
async fn confirm_claim(
    iam: &dyn IamApi,
    desired: &DesiredRole,
    owner: &Owner,
) -> Result<ObservedRole> {
    let subject = format!("IAM role {}", desired.name);
    let Some(observed) = iam.get_role(&desired.name).await? else {
        return Err(not_visible_yet(
            "GetRole",
            &subject,
            "is not visible after rolesmith claimed it",
        ));
    };
    // Read as adopting: untagged means our claim is not visible yet, not someone else's.
    claim_held(plan::ownership(&observed, owner, true), "GetRole", &subject)?;
    Ok(observed)
}

/// Whether the claim of `subject` (a role or a policy, read back by `read_action`) is the one
/// IAM kept. Two objects may both have read it untagged and both claimed it. `ownership` is
/// judged as when adopting, so an untagged read back is `Adoptable`.
fn claim_held(ownership: Ownership, read_action: &'static str, subject: &str) -> Result<()> {
    match ownership {
        Ownership::Owned => Ok(()),
        // Our claim is not visible yet: IAM's reads lag its writes. The next pass decides.
        Ownership::Adoptable => Err(not_visible_yet(
            read_action,
            subject,
            "does not show rolesmith's ownership tag yet after rolesmith claimed it",
        )),
        Ownership::Foreign { reason } => Err(Error::OwnershipConflict(format!(
            "{subject} was claimed by another owner at the same time as this object adopted it: it {reason}"
        ))),
    }
}

fn not_visible_yet(read_action: &'static str, subject: &str, what: &str) -> Error {
    Error::Iam {
        action: read_action,
        code: "NoSuchEntity".into(),
        message: format!("{subject} {what}; IAM propagates changes with a delay, retrying"),
        category: crate::error::Category::IamTransient,
        retry_after: None,
    }
}

/// What watching a role (`Observe`) found.
#[derive(Clone, Debug, Default)]
pub struct ObserveReport {
    pub role_arn: String,
    pub role_id: String,
    pub last_used: Option<crate::model::LastUsed>,
    pub findings: Vec<Finding>,
    pub differences: Vec<Difference>,
    /// The profile of the role's name holding it, whatever the spec says.
    pub instance_profile_arn: Option<String>,
}

/// Reads the role and says how it differs from `desired`: never a write, and no ownership
/// needed. A role that does not exist is an error: there is nothing to observe.
pub async fn observe(
    iam: &dyn IamApi,
    desired: &DesiredRole,
    owner: &Owner,
) -> Result<ObserveReport> {
    let problems = admission::check_desired(desired, owner);
    if !problems.is_empty() {
        return Err(Error::refused(problems));
    }
    let account = iam.caller_account().await?;
    let Some(observed) = iam.get_role(&desired.name).await? else {
        return Err(Error::RoleNotFound(format!(
            "IAM role {} does not exist; managementPolicy Observe only watches an existing role: create it, or set managementPolicy: Manage to have rolesmith create it",
            desired.name
        )));
    };
    Ok(ObserveReport {
        differences: drift::differences(desired, &observed),
        findings: admission::findings(desired, Some(&account)),
        instance_profile_arn: plan::own_profile(Some(&observed)).map(|p| p.arn.clone()),
        role_arn: observed.arn,
        role_id: observed.role_id,
        last_used: observed.last_used,
    })
}

/// What a delete found and did.
#[derive(Clone, Debug, Default)]
pub struct DeleteReport {
    /// Whether IAM showed a role of that name at all.
    pub found: bool,
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
            found: true,
            ops: Vec::new(),
            left_alone: Some(reason),
        });
    }
    // Retain keeps the profile with the role. Deletion is rare enough to read the profile of the
    // role's name every time: an empty one of ours (a restart between removal and deletion)
    // is not in the role's list.
    let profile = match policy {
        DeletionPolicy::Delete => match iam.get_instance_profile(name).await? {
            Some(profile) => ProfileRead::Found(profile),
            None => ProfileRead::Missing,
        },
        DeletionPolicy::Retain => ProfileRead::NotRead,
    };
    let ops = plan::plan_delete(&observed, &profile, owner, policy);
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
        found: true,
        ops,
        left_alone: None,
    })
}

/// CreateRole after a read that found nothing, answered "already exists": the role is there
/// but IAM did not show it yet (its reads lag its writes), or a lost answer to our own create
/// was retried. Say so instead of leaving a puzzling "already exists" in the status.
fn explain_invisible_role(error: Error) -> Error {
    error.explained(|action, code, message| {
        (action == "CreateRole" && code == "EntityAlreadyExists").then(|| {
            format!(
                "{message} (it was not visible when rolesmith read IAM a moment before: IAM propagates changes with a delay; retrying, and the next read decides whether the role is ours)"
            )
        })
    })
}

/// IAM answers "Invalid principal in policy" for a principal that does not exist, or not yet. When
/// the role's current trust policy shows a unique id (`AROA…`, `AIDA…`) where an ARN was, IAM is
/// saying that principal was deleted: name it, since no amount of retrying brings it back.
fn explain_invalid_principal(error: Error, observed: Option<&ObservedRole>) -> Error {
    let deleted = observed
        .map(|role| policy::unique_id_principals(&role.assume_role_policy))
        .unwrap_or_default();
    error.explained(|_, code, message| {
        (crate::consistency::is_invalid_principal(code, message) && !deleted.is_empty()).then(|| {
            format!(
                "{message} (the role's current trust policy in IAM shows {} in place of an ARN: IAM does this when the principal was deleted; a new principal of the same name is a different principal, so remove it from the trust policy or recreate it)",
                deleted.join(", ")
            )
        })
    })
}

fn is_already_gone(op: &IamOp, error: &Error) -> bool {
    let removal = matches!(
        op,
        IamOp::DeleteRole { .. }
            | IamOp::DeleteRolePolicy { .. }
            | IamOp::DetachRolePolicy { .. }
            | IamOp::RemoveRoleFromInstanceProfile { .. }
            | IamOp::DeleteInstanceProfile { .. }
            | IamOp::DeleteRolePermissionsBoundary { .. }
    );
    removal && matches!(error, Error::Iam { code, .. } if code == "NoSuchEntity")
}

fn plan_error(error: PlanError) -> Error {
    match error {
        PlanError::NotOwned { .. }
        | PlanError::PolicyNotOwned { .. }
        | PlanError::InstanceProfileConflict { .. } => Error::OwnershipConflict(error.to_string()),
        PlanError::PathChanged { .. } => {
            Error::invalid("spec.path", Rule::PathImmutable, error.to_string())
        }
        PlanError::PolicyImmutable { field, .. } => Error::invalid(
            format!("spec.{field}"),
            Rule::PolicyImmutable,
            error.to_string(),
        ),
    }
}

pub mod managed_policy;

#[cfg(test)]
mod tests;
