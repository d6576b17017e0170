//! Just enough of IAM to replay a plan: the rules that make a badly ordered plan fail.
//! Tag keys are case-insensitive (and TagRole keeps an existing key's case, the pessimistic
//! reading), attachments are capped at the default quota, DeleteRole refuses while anything is
//! attached, and writes to a missing role or policy fail. An instance profile holds one role.

use std::collections::BTreeMap;

use crate::model::{IamOp, InstanceProfileRef, ObservedInstanceProfile, ObservedRole};

const ATTACHED_POLICY_QUOTA: usize = 10;
const TAG_QUOTA: usize = 50;

#[derive(Clone, Debug, Default)]
pub struct Iam {
    pub role: Option<ObservedRole>,
    /// By name. The role's `instance_profiles` is derived from these by [`Iam::read_role`].
    pub profiles: BTreeMap<String, ObservedInstanceProfile>,
}

impl Iam {
    pub fn with(role: ObservedRole) -> Self {
        Iam {
            role: Some(role),
            profiles: BTreeMap::new(),
        }
    }

    /// The role as a per-role read shows it: with the profiles that hold it.
    pub fn read_role(&self) -> Option<ObservedRole> {
        let mut role = self.role.clone()?;
        role.instance_profiles = self
            .profiles
            .values()
            .filter(|p| p.roles.contains(&role.name))
            .map(|p| InstanceProfileRef {
                name: p.name.clone(),
                path: p.path.clone(),
                arn: p.arn.clone(),
            })
            .collect();
        Some(role)
    }

    /// A profile that holds `role` (or nothing, with `role` None).
    pub fn add_profile(&mut self, name: &str, role: Option<&str>, tags: BTreeMap<String, String>) {
        self.profiles.insert(
            name.to_string(),
            ObservedInstanceProfile {
                name: name.to_string(),
                path: "/".into(),
                arn: format!("arn:aws:iam::123456789012:instance-profile/{name}"),
                roles: role.map(str::to_string).into_iter().collect(),
                tags,
            },
        );
    }

    fn profile(&mut self, name: &str) -> Result<&mut ObservedInstanceProfile, String> {
        self.profiles
            .get_mut(name)
            .ok_or_else(|| "NoSuchEntity: instance profile".to_string())
    }

    /// Runs every op in order; the first refusal stops the replay, like the real adapter.
    pub fn run(&mut self, ops: &[IamOp]) -> Result<(), String> {
        for op in ops {
            self.step(op).map_err(|e| format!("{}: {e}", op.action()))?;
        }
        Ok(())
    }

    fn role(&mut self) -> Result<&mut ObservedRole, String> {
        self.role
            .as_mut()
            .ok_or_else(|| "NoSuchEntity: role".to_string())
    }

    fn step(&mut self, op: &IamOp) -> Result<(), String> {
        match op {
            IamOp::CreateRole { .. } if self.role.is_some() => {
                return Err("EntityAlreadyExists".into());
            }
            IamOp::CreateRole {
                role: name,
                path,
                description,
                max_session_duration,
                assume_role_policy: trust,
                permissions_boundary: boundary,
                tags,
            } => {
                self.role = Some(ObservedRole {
                    arn: format!("arn:aws:iam::123456789012:role{path}{name}"),
                    role_id: "AROANEW".into(),
                    name: name.clone(),
                    settings: crate::model::RoleSettings {
                        path: path.clone(),
                        description: description.clone(),
                        max_session_duration: *max_session_duration,
                        assume_role_policy: trust.clone(),
                        permissions_boundary: boundary.clone(),
                        tags: tags.clone(),
                        ..Default::default()
                    },
                    ..ObservedRole::default()
                });
            }
            IamOp::UpdateRole {
                description,
                max_session_duration,
                ..
            } => {
                let r = self.role()?;
                r.description = description.clone();
                r.max_session_duration = *max_session_duration;
            }
            IamOp::UpdateAssumeRolePolicy { document, .. } => {
                self.role()?.assume_role_policy = document.clone();
            }
            IamOp::PutRolePolicy {
                policy_name,
                document,
                ..
            } => {
                self.role()?
                    .inline_policies
                    .insert(policy_name.clone(), document.clone());
            }
            IamOp::DeleteRolePolicy { policy_name, .. } => {
                self.role()?
                    .inline_policies
                    .remove(policy_name)
                    .ok_or("NoSuchEntity: inline policy")?;
            }
            IamOp::AttachRolePolicy { policy_arn, .. } => {
                let r = self.role()?;
                if !r.managed_policy_arns.contains(policy_arn) {
                    if r.managed_policy_arns.len() >= ATTACHED_POLICY_QUOTA {
                        return Err("LimitExceeded: attached policies".into());
                    }
                    r.managed_policy_arns.push(policy_arn.clone());
                }
            }
            IamOp::DetachRolePolicy { policy_arn, .. } => {
                let r = self.role()?;
                let before = r.managed_policy_arns.len();
                r.managed_policy_arns.retain(|a| a != policy_arn);
                if r.managed_policy_arns.len() == before {
                    return Err("NoSuchEntity: attachment".into());
                }
            }
            IamOp::TagRole { tags, .. } => {
                let r = self.role()?;
                for (key, value) in tags {
                    if key.to_ascii_lowercase().starts_with("aws:") {
                        return Err("InvalidInput: aws: prefix is reserved".into());
                    }
                    let existing = r.tags.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned();
                    r.tags
                        .insert(existing.unwrap_or_else(|| key.clone()), value.clone());
                }
                if r.tags.len() > TAG_QUOTA {
                    return Err("LimitExceeded: tags".into());
                }
            }
            IamOp::UntagRole { keys, .. } => {
                let r = self.role()?;
                r.tags
                    .retain(|k, _| !keys.iter().any(|gone| gone.eq_ignore_ascii_case(k)));
            }
            IamOp::PutRolePermissionsBoundary { policy_arn, .. } => {
                self.role()?.permissions_boundary = Some(policy_arn.clone());
            }
            IamOp::DeleteRolePermissionsBoundary { .. } => {
                self.role()?
                    .permissions_boundary
                    .take()
                    .ok_or("NoSuchEntity: boundary")?;
            }
            IamOp::CreateInstanceProfile {
                instance_profile,
                path,
                tags,
            } => {
                if self.profiles.contains_key(instance_profile) {
                    return Err("EntityAlreadyExists: instance profile".into());
                }
                self.add_profile(instance_profile, None, tags.clone());
                self.profile(instance_profile)?.path = path.clone();
            }
            IamOp::AddRoleToInstanceProfile {
                role,
                instance_profile,
            } => {
                self.role()?;
                let profile = self.profile(instance_profile)?;
                if !profile.roles.is_empty() {
                    return Err("LimitExceeded: one role per instance profile".into());
                }
                profile.roles.push(role.clone());
            }
            IamOp::RemoveRoleFromInstanceProfile {
                role,
                instance_profile,
            } => {
                self.role()?;
                let profile = self.profile(instance_profile)?;
                if !profile.roles.contains(role) {
                    return Err("NoSuchEntity: role not in instance profile".into());
                }
                profile.roles.retain(|r| r != role);
            }
            IamOp::DeleteInstanceProfile { instance_profile } => {
                if !self.profile(instance_profile)?.roles.is_empty() {
                    return Err("DeleteConflict: instance profile holds a role".into());
                }
                self.profiles.remove(instance_profile);
            }
            IamOp::DeleteRole { role } => {
                let held = self.profiles.values().any(|p| p.roles.contains(role));
                let r = self.role()?;
                if !r.inline_policies.is_empty() || !r.managed_policy_arns.is_empty() || held {
                    return Err("DeleteConflict".into());
                }
                self.role = None;
            }
        }
        Ok(())
    }
}
