//! Create-or-update: the writes that bring IAM to the spec.

use std::collections::BTreeMap;

use super::PlanError;
use super::inline::{InlineChanges, inline_policy_changes};
use super::managed::{managed_policy_ops, unique};
use super::ownership::{Ownership, ownership};
use super::tags::tag_changes;
use crate::model::{DesiredRole, IamOp, OWNER_TAG_KEY, ObservedRole, Owner};
use crate::policy::{equivalent, only_drops_allow_statements};

/// `observed` is `None` when IAM has no role of that name. An empty list means "in sync".
pub fn plan_apply(
    desired: &DesiredRole,
    observed: Option<&ObservedRole>,
    owner: &Owner,
    adopt: bool,
) -> Result<Vec<IamOp>, PlanError> {
    let Some(observed) = observed else {
        return Ok(create(desired, owner));
    };
    let adopting = match ownership(observed, owner, adopt) {
        Ownership::Owned => false,
        Ownership::Adoptable => true,
        Ownership::Foreign { reason } => {
            return Err(PlanError::NotOwned {
                role: desired.name.clone(),
                reason,
            });
        }
    };
    if observed.path != desired.path {
        return Err(PlanError::PathChanged {
            role: desired.name.clone(),
            observed: observed.path.clone(),
            desired: desired.path.clone(),
        });
    }
    let mut ops = Vec::new();
    let mut observed_tags = observed.tags.clone();
    if adopting {
        // Claim before changing anything: if a later write fails, the role is already marked as
        // ours and no other object can adopt it in the meantime.
        let claim = BTreeMap::from([(OWNER_TAG_KEY.to_string(), owner.tag_value())]);
        observed_tags.extend(claim.clone());
        ops.push(IamOp::TagRole {
            role: desired.name.clone(),
            tags: claim,
        });
    }
    ops.extend(update(desired, observed, &observed_tags, owner));
    Ok(ops)
}

fn desired_tags(desired: &DesiredRole, owner: &Owner) -> BTreeMap<String, String> {
    let mut tags = desired.tags.clone();
    tags.insert(OWNER_TAG_KEY.to_string(), owner.tag_value());
    tags
}

/// Everything that CreateRole cannot carry follows it: inline policies, then attachments.
fn create(desired: &DesiredRole, owner: &Owner) -> Vec<IamOp> {
    let role = &desired.name;
    let mut ops = vec![IamOp::CreateRole {
        role: role.clone(),
        path: desired.path.clone(),
        description: desired.description.clone(),
        max_session_duration: desired.max_session_duration,
        assume_role_policy: desired.assume_role_policy.clone(),
        permissions_boundary: desired.permissions_boundary.clone(),
        tags: desired_tags(desired, owner),
    }];
    ops.extend(
        desired
            .inline_policies
            .iter()
            .map(|(name, document)| IamOp::PutRolePolicy {
                role: role.clone(),
                policy_name: name.clone(),
                document: document.clone(),
            }),
    );
    ops.extend(unique(&desired.managed_policy_arns).into_iter().map(|arn| {
        IamOp::AttachRolePolicy {
            role: role.clone(),
            policy_arn: arn.to_string(),
        }
    }));
    ops
}

/// How the permissions boundary changes. The direction decides where the write goes: a new
/// boundary only narrows, a removed one only widens, a replaced one does either.
enum BoundaryChange {
    Keep,
    Add(String),
    Replace(String),
    Remove,
}

fn boundary_change(desired: &DesiredRole, observed: &ObservedRole) -> BoundaryChange {
    match (
        &desired.permissions_boundary,
        &observed.permissions_boundary,
    ) {
        (Some(wanted), Some(current)) if wanted == current => BoundaryChange::Keep,
        (Some(wanted), Some(_)) => BoundaryChange::Replace(wanted.clone()),
        (Some(wanted), None) => BoundaryChange::Add(wanted.clone()),
        (None, Some(_)) => BoundaryChange::Remove,
        (None, None) => BoundaryChange::Keep,
    }
}

/// The writes are ordered so that a plan stopped after any write (a throttle, a rejected
/// document, a crash) leaves a role that grants nothing beyond what the old spec or the new spec
/// grants, and never lets a principal in with more than the new spec gives it:
///
/// 1. narrowing first: a trust update that only drops `Allow` statements, a new boundary;
/// 2. policies make-before-break (new in, then old out), so a workload never loses a permission
///    both specs grant; under a *replaced* boundary break-before-make instead, because an old
///    policy under the new boundary, or a new one under the old, may be wider than both specs;
/// 3. widening last: the boundary's removal after every policy left, then the description and
///    tags, and a trust update that may let new principals in at the very end, so they never
///    see an intermediate role, and a principal IAM refuses never holds up the other changes.
fn update(
    desired: &DesiredRole,
    observed: &ObservedRole,
    observed_tags: &BTreeMap<String, String>,
    owner: &Owner,
) -> Vec<IamOp> {
    let role = &desired.name;
    let mut ops = Vec::new();
    let trust =
        (!equivalent(&desired.assume_role_policy, &observed.assume_role_policy)).then(|| {
            IamOp::UpdateAssumeRolePolicy {
                role: role.clone(),
                document: desired.assume_role_policy.clone(),
            }
        });
    let trust_narrows =
        only_drops_allow_statements(&desired.assume_role_policy, &observed.assume_role_policy);
    if trust_narrows {
        ops.extend(trust.clone());
    }
    let boundary = boundary_change(desired, observed);
    if let BoundaryChange::Add(arn) = &boundary {
        ops.push(put_boundary(role, arn));
    }
    let inline = inline_policy_changes(role, &desired.inline_policies, &observed.inline_policies);
    let managed = managed_policy_ops(
        role,
        &desired.managed_policy_arns,
        &observed.managed_policy_arns,
    );
    if let BoundaryChange::Replace(arn) = &boundary {
        ops.extend(break_before_make(role, arn, inline, managed, observed));
    } else {
        ops.extend(inline.writes);
        ops.extend(managed);
        ops.extend(inline.removals);
    }
    if let BoundaryChange::Remove = boundary {
        ops.push(IamOp::DeleteRolePermissionsBoundary { role: role.clone() });
    }
    if desired.description != observed.description
        || desired.max_session_duration != observed.max_session_duration
    {
        ops.push(IamOp::UpdateRole {
            role: role.clone(),
            description: desired.description.clone(),
            max_session_duration: desired.max_session_duration,
        });
    }
    let tags = tag_changes(
        &desired_tags(desired, owner),
        observed_tags,
        &desired.ignored_tag_keys,
    );
    if !tags.untag.is_empty() {
        ops.push(IamOp::UntagRole {
            role: role.clone(),
            keys: tags.untag,
        });
    }
    if !tags.tag.is_empty() {
        ops.push(IamOp::TagRole {
            role: role.clone(),
            tags: tags.tag,
        });
    }
    if !trust_narrows {
        ops.extend(trust);
    }
    ops
}

fn put_boundary(role: &str, arn: &str) -> IamOp {
    IamOp::PutRolePermissionsBoundary {
        role: role.to_string(),
        policy_arn: arn.to_string(),
    }
}

/// Under a replaced boundary: every policy leaving and every changed inline policy goes out
/// first, then the boundary changes, then the new policies go in. Until then the role holds only
/// policies both specs grant, under one of the two boundaries.
fn break_before_make(
    role: &str,
    boundary: &str,
    inline: InlineChanges,
    managed: Vec<IamOp>,
    observed: &ObservedRole,
) -> Vec<IamOp> {
    let mut out = Vec::new();
    let mut grants = Vec::new();
    for op in inline.writes.into_iter().chain(managed) {
        match &op {
            IamOp::PutRolePolicy { policy_name, .. } => {
                if observed.inline_policies.contains_key(policy_name) {
                    out.push(IamOp::DeleteRolePolicy {
                        role: role.to_string(),
                        policy_name: policy_name.clone(),
                    });
                }
                grants.push(op);
            }
            IamOp::AttachRolePolicy { .. } => grants.push(op),
            _ => out.push(op),
        }
    }
    out.extend(inline.removals);
    out.push(put_boundary(role, boundary));
    out.extend(grants);
    out
}
