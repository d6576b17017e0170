//! Create-or-update: the writes that bring IAM to the spec.

use std::collections::BTreeMap;

use super::PlanError;
use super::inline::inline_policy_changes;
use super::managed::{managed_policy_ops, unique};
use super::ownership::{Ownership, ownership};
use super::tags::tag_changes;
use crate::model::{DesiredRole, IamOp, OWNER_TAG_KEY, ObservedRole, Owner};
use crate::policy::equivalent;

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

/// New inline policies and attachments go in before the old ones leave, so a plan that stops
/// half-way never drops a permission the spec still grants.
fn update(
    desired: &DesiredRole,
    observed: &ObservedRole,
    observed_tags: &BTreeMap<String, String>,
    owner: &Owner,
) -> Vec<IamOp> {
    let role = &desired.name;
    let mut ops = Vec::new();
    if !equivalent(&desired.assume_role_policy, &observed.assume_role_policy) {
        ops.push(IamOp::UpdateAssumeRolePolicy {
            role: role.clone(),
            document: desired.assume_role_policy.clone(),
        });
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
    match (
        &desired.permissions_boundary,
        &observed.permissions_boundary,
    ) {
        (Some(wanted), current) if current.as_ref() != Some(wanted) => {
            ops.push(IamOp::PutRolePermissionsBoundary {
                role: role.clone(),
                policy_arn: wanted.clone(),
            });
        }
        (None, Some(_)) => ops.push(IamOp::DeleteRolePermissionsBoundary { role: role.clone() }),
        _ => {}
    }
    let inline = inline_policy_changes(role, &desired.inline_policies, &observed.inline_policies);
    ops.extend(inline.writes);
    ops.extend(managed_policy_ops(
        role,
        &desired.managed_policy_arns,
        &observed.managed_policy_arns,
    ));
    ops.extend(inline.removals);
    let tags = tag_changes(&desired_tags(desired, owner), observed_tags);
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
    ops
}
