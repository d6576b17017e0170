//! Customer managed policies (`IamPolicy`): the writes that bring one to its spec, and its
//! tear-down. A managed policy changes by versions: a new default version only when the document
//! means something else (an equivalent rewrite is no change), and IAM's five-version cap is made
//! room for by deleting the oldest version that is not the default.

use std::collections::BTreeMap;

use super::PlanError;
use super::ownership::{Kind, Ownership, ownership_of};
use super::tags::tag_changes;
use crate::model::{
    DeletionPolicy, DesiredPolicy, MAX_POLICY_VERSIONS, OWNER_TAG_KEY, ObservedPolicy, Owner,
    PolicyAttachments, PolicyOp, PolicyVersion,
};
use crate::policy::equivalent;

/// `observed` is `None` when IAM has no policy of that name. An empty list means "in sync".
pub fn plan_policy_apply(
    desired: &DesiredPolicy,
    observed: Option<&ObservedPolicy>,
    owner: &Owner,
    adopt: bool,
) -> Result<Vec<PolicyOp>, PlanError> {
    let Some(observed) = observed else {
        return Ok(vec![PolicyOp::CreatePolicy {
            policy_name: desired.name.clone(),
            path: desired.path.clone(),
            description: desired.description.clone(),
            document: desired.document.clone(),
            tags: desired_tags(desired, owner),
        }]);
    };
    let adopting = match ownership_of(&observed.tags, owner, adopt, Kind::Policy) {
        Ownership::Owned => false,
        Ownership::Adoptable => true,
        Ownership::Foreign { reason } => {
            return Err(PlanError::PolicyNotOwned {
                policy: desired.name.clone(),
                reason,
            });
        }
    };
    for (field, observed_value, desired_value) in [
        ("path", &observed.path, &desired.path),
        ("description", &observed.description, &desired.description),
    ] {
        if observed_value != desired_value {
            return Err(PlanError::PolicyImmutable {
                policy: desired.name.clone(),
                field,
                observed: observed_value.clone(),
                desired: desired_value.clone(),
            });
        }
    }
    let arn = &observed.arn;
    let mut ops = Vec::new();
    let mut observed_tags = observed.tags.clone();
    if adopting {
        // Claim before changing anything, as for roles.
        let claim = BTreeMap::from([(OWNER_TAG_KEY.to_string(), owner.tag_value())]);
        observed_tags.extend(claim.clone());
        ops.push(PolicyOp::TagPolicy {
            policy_arn: arn.clone(),
            tags: claim,
        });
    }
    if !equivalent(&desired.document, &observed.document) {
        ops.extend(make_room(arn, &observed.versions));
        ops.push(PolicyOp::CreatePolicyVersion {
            policy_arn: arn.clone(),
            document: desired.document.clone(),
        });
    }
    let changes = tag_changes(
        &desired_tags(desired, owner),
        &observed_tags,
        &desired.ignored_tag_keys,
    );
    if !changes.untag.is_empty() {
        ops.push(PolicyOp::UntagPolicy {
            policy_arn: arn.clone(),
            keys: changes.untag,
        });
    }
    if !changes.tag.is_empty() {
        ops.push(PolicyOp::TagPolicy {
            policy_arn: arn.clone(),
            tags: changes.tag,
        });
    }
    Ok(ops)
}

fn desired_tags(desired: &DesiredPolicy, owner: &Owner) -> BTreeMap<String, String> {
    let mut tags = desired.tags.clone();
    tags.insert(OWNER_TAG_KEY.to_string(), owner.tag_value());
    tags
}

/// Deletes of the oldest non-default versions until one more fits under IAM's cap. The default
/// version is never deleted: IAM refuses, and it is what the policy grants right now.
fn make_room(arn: &str, versions: &[PolicyVersion]) -> Vec<PolicyOp> {
    let excess = (versions.len() + 1).saturating_sub(MAX_POLICY_VERSIONS);
    let mut deletable: Vec<&PolicyVersion> = versions.iter().filter(|v| !v.is_default).collect();
    deletable.sort_by_key(|v| (v.created, version_number(&v.id), v.id.clone()));
    deletable
        .into_iter()
        .take(excess)
        .map(|version| PolicyOp::DeletePolicyVersion {
            policy_arn: arn.to_string(),
            version_id: version.id.clone(),
        })
        .collect()
}

/// `v12` → 12; IAM numbers versions in creation order, which breaks ties of equal dates.
fn version_number(id: &str) -> u64 {
    id.trim_start_matches(['v', 'V'])
        .parse()
        .unwrap_or(u64::MAX)
}

/// What deleting an IamPolicy does in IAM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyDeletion {
    /// Run these, in order (none when the policy is not this object's).
    Ops(Vec<PolicyOp>),
    /// Still attached: deleting it would take permissions away from whoever holds it. The reason
    /// completes a sentence that starts with the policy's name.
    Held { reason: String },
}

/// `attachments` are what ListEntitiesForPolicy answered. A policy that is not ours yields no ops.
/// IAM refuses DeletePolicy (DeleteConflict) while the policy is attached or has versions other
/// than the default, so those go first.
pub fn plan_policy_delete(
    observed: &ObservedPolicy,
    attachments: &PolicyAttachments,
    owner: &Owner,
    policy: DeletionPolicy,
    force_detach: bool,
) -> PolicyDeletion {
    if ownership_of(&observed.tags, owner, false, Kind::Policy) != Ownership::Owned {
        return PolicyDeletion::Ops(Vec::new());
    }
    let arn = &observed.arn;
    if policy == DeletionPolicy::Retain {
        return PolicyDeletion::Ops(vec![PolicyOp::UntagPolicy {
            policy_arn: arn.clone(),
            keys: vec![OWNER_TAG_KEY.to_string()],
        }]);
    }
    if !attachments.is_empty() && !force_detach {
        return PolicyDeletion::Held {
            reason: format!(
                "is still attached to {}; detach it (remove it from those roles' \
                 spec.managedPolicyRefs), or run the operator with --force-detach to detach it \
                 from roles first",
                attachments.describe()
            ),
        };
    }
    if !attachments.users.is_empty() || !attachments.groups.is_empty() {
        let others = PolicyAttachments {
            roles: Vec::new(),
            ..attachments.clone()
        };
        return PolicyDeletion::Held {
            reason: format!(
                "is still attached to {}; rolesmith only detaches policies from roles, so detach \
                 it from those yourself",
                others.describe()
            ),
        };
    }
    let detaches = attachments
        .roles
        .iter()
        .map(|role| PolicyOp::DetachRolePolicy {
            role: role.clone(),
            policy_arn: arn.clone(),
        });
    let versions =
        observed
            .versions
            .iter()
            .filter(|v| !v.is_default)
            .map(|v| PolicyOp::DeletePolicyVersion {
                policy_arn: arn.clone(),
                version_id: v.id.clone(),
            });
    PolicyDeletion::Ops(
        detaches
            .chain(versions)
            .chain([PolicyOp::DeletePolicy {
                policy_arn: arn.clone(),
            }])
            .collect(),
    )
}

#[cfg(test)]
mod tests;
