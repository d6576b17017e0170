//! Tear-down when the IamRole object goes away.

use super::managed::unique;
use super::ownership::{Ownership, ownership};
use crate::model::{DeletionPolicy, IamOp, OWNER_TAG_KEY, ObservedRole, Owner};

/// `instance_profiles` are the names IAM lists for the role (ListInstanceProfilesForRole).
/// A role that is not ours yields no ops at all: never delete or untag a role we do not own.
pub fn plan_delete(
    observed: &ObservedRole,
    instance_profiles: &[String],
    owner: &Owner,
    policy: DeletionPolicy,
) -> Vec<IamOp> {
    if ownership(observed, owner, false) != Ownership::Owned {
        return Vec::new();
    }
    let role = &observed.name;
    match policy {
        DeletionPolicy::Retain => vec![IamOp::UntagRole {
            role: role.clone(),
            keys: vec![OWNER_TAG_KEY.to_string()],
        }],
        // IAM refuses DeleteRole (DeleteConflict) while anything is still attached to the role.
        DeletionPolicy::Delete => {
            let profiles =
                instance_profiles
                    .iter()
                    .map(|profile| IamOp::RemoveRoleFromInstanceProfile {
                        role: role.clone(),
                        instance_profile: profile.clone(),
                    });
            let detaches = unique(&observed.managed_policy_arns)
                .into_iter()
                .map(|arn| IamOp::DetachRolePolicy {
                    role: role.clone(),
                    policy_arn: arn.to_string(),
                });
            let inline = observed
                .inline_policies
                .keys()
                .map(|name| IamOp::DeleteRolePolicy {
                    role: role.clone(),
                    policy_name: name.clone(),
                });
            profiles
                .chain(detaches)
                .chain(inline)
                .chain([IamOp::DeleteRole { role: role.clone() }])
                .collect()
        }
    }
}
