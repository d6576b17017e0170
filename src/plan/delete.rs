//! Tear-down when the IamRole object goes away.

use super::instance_profile::{ProfileRead, is_ours};
use super::managed::unique;
use super::ownership::{Ownership, ownership};
use crate::model::{DeletionPolicy, IamOp, OWNER_TAG_KEY, ObservedRole, Owner};

/// The role leaves every instance profile that holds it (`observed.instance_profiles`); the
/// profile of its name goes too when `own_profile` shows it is ours and holds nothing else.
/// A role that is not ours yields no ops at all: never delete or untag a role we do not own.
pub fn plan_delete(
    observed: &ObservedRole,
    own_profile: &ProfileRead,
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
            let profiles = observed.instance_profiles.iter().map(|profile| {
                IamOp::RemoveRoleFromInstanceProfile {
                    role: role.clone(),
                    instance_profile: profile.name.clone(),
                }
            });
            let own = match own_profile {
                ProfileRead::Found(profile)
                    if is_ours(profile, owner) && profile.roles.iter().all(|r| r == role) =>
                {
                    Some(IamOp::DeleteInstanceProfile {
                        instance_profile: profile.name.clone(),
                    })
                }
                _ => None,
            };
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
                .chain(own)
                .chain(detaches)
                .chain(inline)
                .chain([IamOp::DeleteRole { role: role.clone() }])
                .collect()
        }
    }
}
