//! Just enough of IAM to replay a plan: the rules that make a badly ordered plan fail.
//! Tag keys are case-insensitive (and TagRole keeps an existing key's case, the pessimistic
//! reading), attachments are capped at the default quota, DeleteRole refuses while anything is
//! attached, and writes to a missing role or policy fail.

use crate::model::{IamOp, ObservedRole};

const ATTACHED_POLICY_QUOTA: usize = 10;
const TAG_QUOTA: usize = 50;

#[derive(Clone, Debug, Default)]
pub struct Iam {
    pub role: Option<ObservedRole>,
    pub instance_profiles: Vec<String>,
}

impl Iam {
    pub fn with(role: ObservedRole) -> Self {
        Iam {
            role: Some(role),
            instance_profiles: Vec::new(),
        }
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
                    path: path.clone(),
                    description: description.clone(),
                    max_session_duration: *max_session_duration,
                    assume_role_policy: trust.clone(),
                    permissions_boundary: boundary.clone(),
                    tags: tags.clone(),
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
            IamOp::RemoveRoleFromInstanceProfile {
                instance_profile, ..
            } => {
                self.role()?;
                let before = self.instance_profiles.len();
                self.instance_profiles.retain(|p| p != instance_profile);
                if self.instance_profiles.len() == before {
                    return Err("NoSuchEntity: instance profile".into());
                }
            }
            IamOp::DeleteRole { .. } => {
                let r = self.role()?;
                if !r.inline_policies.is_empty()
                    || !r.managed_policy_arns.is_empty()
                    || !self.instance_profiles.is_empty()
                {
                    return Err("DeleteConflict".into());
                }
                self.role = None;
            }
        }
        Ok(())
    }
}
