//! An EC2 role's instance profile (`spec.instanceProfile`): one profile of the role's name and
//! path, holding the role, created with the flag and removed without it.
//!
//! The role's own read lists the profiles that hold it, but IAM's lists carry no tags, and a
//! profile of the role's name that holds another role is not in that list at all. So the plan
//! takes a second, fuller read of the profile of the role's name, made only when the list and
//! the flag disagree ([`profile_read_needed`]): a role in sync costs no call beyond its list.

use std::collections::BTreeMap;

use super::PlanError;
use crate::model::{
    DesiredRole, IamOp, InstanceProfileRef, OWNER_TAG_KEY, ObservedInstanceProfile, ObservedRole,
    Owner,
};

/// What GetInstanceProfile said about the profile of the role's name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProfileRead {
    /// Not asked: the role's list was enough.
    #[default]
    NotRead,
    /// Asked: no profile of that name exists.
    Missing,
    Found(ObservedInstanceProfile),
}

/// The profile of the role's name among the profiles that hold the role.
pub fn own_profile(observed: Option<&ObservedRole>) -> Option<&InstanceProfileRef> {
    let role = observed?;
    role.instance_profiles.iter().find(|p| p.name == role.name)
}

/// Whether the profile of the role's name must be read before planning: when the flag asks for
/// a profile the role's list lacks, or the list shows one the flag no longer wants.
pub fn profile_read_needed(wanted: bool, observed: Option<&ObservedRole>) -> bool {
    wanted != own_profile(observed).is_some()
}

/// Runs after the role's own writes: the role must exist before a profile can hold it, and
/// handing the role to EC2 widens who can use it, so it comes last.
pub fn plan_instance_profile(
    desired: &DesiredRole,
    observed: Option<&ObservedRole>,
    read: &ProfileRead,
    owner: &Owner,
) -> Result<Vec<IamOp>, PlanError> {
    let role = &desired.name;
    let held = own_profile(observed).is_some();
    let add = || IamOp::AddRoleToInstanceProfile {
        role: role.clone(),
        instance_profile: role.clone(),
    };
    match (desired.instance_profile, held) {
        (true, true) | (false, false) => Ok(Vec::new()),
        (true, false) => match read {
            // Unread counts as missing: were it there after all, CreateInstanceProfile fails
            // with EntityAlreadyExists, and nothing is taken over.
            ProfileRead::NotRead | ProfileRead::Missing => Ok(vec![
                IamOp::CreateInstanceProfile {
                    instance_profile: role.clone(),
                    path: desired.path.clone(),
                    tags: BTreeMap::from([(OWNER_TAG_KEY.to_string(), owner.tag_value())]),
                },
                add(),
            ]),
            // The role's list lags a write made moments ago.
            ProfileRead::Found(profile) if profile.roles.contains(role) => Ok(Vec::new()),
            ProfileRead::Found(profile) => match conflict(profile, owner) {
                Some(reason) => Err(PlanError::InstanceProfileConflict {
                    profile: profile.name.clone(),
                    reason,
                }),
                // Ours and empty: a restart between its creation and the role's addition.
                None => Ok(vec![add()]),
            },
        },
        (false, true) => match read {
            ProfileRead::Found(profile) if is_ours(profile, owner) => Ok(vec![
                IamOp::RemoveRoleFromInstanceProfile {
                    role: role.clone(),
                    instance_profile: profile.name.clone(),
                },
                IamOp::DeleteInstanceProfile {
                    instance_profile: profile.name.clone(),
                },
            ]),
            // Someone else's profile holding our role: theirs to undo.
            _ => Ok(Vec::new()),
        },
    }
}

/// Whether the profile carries this object's ownership tag.
pub fn is_ours(profile: &ObservedInstanceProfile, owner: &Owner) -> bool {
    profile.tags.get(OWNER_TAG_KEY) == Some(&owner.tag_value())
}

/// Why a profile of the role's name cannot hold the role; `None` when it can. The reason reads
/// as the rest of a sentence that starts with the profile's name.
fn conflict(profile: &ObservedInstanceProfile, owner: &Owner) -> Option<String> {
    let remedy = "rolesmith never takes over an instance profile; delete it in IAM, or set \
                  spec.instanceProfile: false";
    if let Some(other) = profile.roles.first() {
        return Some(format!(
            "already holds role {other} (a profile holds one role); {remedy}"
        ));
    }
    if is_ours(profile, owner) {
        return None;
    }
    let claim = profile
        .tags
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(OWNER_TAG_KEY));
    Some(match claim {
        Some((key, value)) => {
            format!("is managed by another owner (tag `{key}={value}`); {remedy}")
        }
        None => format!("exists and was not created by rolesmith; {remedy}"),
    })
}

/// The ARN of the profile of the role's name, from the role's ARN: same partition and account.
pub fn instance_profile_arn(role_arn: &str, path: &str, name: &str) -> Option<String> {
    let (prefix, _) = role_arn.split_once(":role/")?;
    Some(format!("{prefix}:instance-profile{path}{name}"))
}
