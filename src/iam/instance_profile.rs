//! Instance profiles: the list of those holding a role (part of every role read), one profile
//! read on its own (with its tags, which IAM's lists leave out), and the four writes.

use aws_sdk_iam::types::InstanceProfile;

use super::OpOutcome;
use super::aws::AwsIam;
use super::read::all_pages;
use super::write::{non_empty_tags, sdk_tags};
use crate::error::Result;
use crate::model::{IamOp, InstanceProfileRef, ObservedInstanceProfile};

impl AwsIam {
    /// ListInstanceProfilesForRole, every page.
    pub(super) async fn read_instance_profiles(
        &self,
        role: &str,
    ) -> Result<Vec<InstanceProfileRef>> {
        let pages = self
            .client
            .list_instance_profiles_for_role()
            .role_name(role)
            .into_paginator()
            .send();
        all_pages("ListInstanceProfilesForRole", pages, |page| {
            let refs = page.instance_profiles.iter().map(profile_ref).collect();
            (refs, page.is_truncated, page.marker)
        })
        .await
    }

    /// GetInstanceProfile; NoSuchEntity → `Ok(None)`.
    pub(super) async fn read_instance_profile(
        &self,
        name: &str,
    ) -> Result<Option<ObservedInstanceProfile>> {
        let request = self
            .client
            .get_instance_profile()
            .instance_profile_name(name)
            .send();
        let Some(output) = self.call_optional("GetInstanceProfile", request).await? else {
            return Ok(None);
        };
        let Some(profile) = output.instance_profile else {
            return Err(super::read::unexpected(
                "GetInstanceProfile",
                "without an InstanceProfile",
            ));
        };
        Ok(Some(ObservedInstanceProfile {
            name: profile.instance_profile_name.clone(),
            path: profile.path.clone(),
            arn: profile.arn.clone(),
            roles: profile.roles.iter().map(|r| r.role_name.clone()).collect(),
            tags: profile
                .tags()
                .iter()
                .map(|tag| (tag.key.clone(), tag.value.clone()))
                .collect(),
        }))
    }

    /// The instance-profile ops of [`AwsIam::write`]; any other op is not one of them.
    pub(super) async fn write_instance_profile(&self, op: &IamOp) -> Result<OpOutcome> {
        let action = op.action();
        let client = &self.client;
        match op {
            IamOp::CreateInstanceProfile {
                instance_profile,
                path,
                tags,
            } => {
                let request = client
                    .create_instance_profile()
                    .instance_profile_name(instance_profile)
                    .path(path)
                    .set_tags(non_empty_tags(sdk_tags(action, tags)?))
                    .send();
                self.call(action, request).await?;
            }
            IamOp::AddRoleToInstanceProfile {
                role,
                instance_profile,
            } => {
                let request = client
                    .add_role_to_instance_profile()
                    .role_name(role)
                    .instance_profile_name(instance_profile)
                    .send();
                self.call(action, request).await?;
            }
            IamOp::RemoveRoleFromInstanceProfile {
                role,
                instance_profile,
            } => {
                let request = client
                    .remove_role_from_instance_profile()
                    .role_name(role)
                    .instance_profile_name(instance_profile)
                    .send();
                self.call(action, request).await?;
            }
            IamOp::DeleteInstanceProfile { instance_profile } => {
                let request = client
                    .delete_instance_profile()
                    .instance_profile_name(instance_profile)
                    .send();
                self.call(action, request).await?;
            }
            other => {
                return Err(crate::error::Error::Internal(format!(
                    "{} is not an instance-profile write; this is a bug in rolesmith",
                    other.action()
                )));
            }
        }
        Ok(OpOutcome::default())
    }
}

/// What the role's list and the account sweep show of a profile.
pub(super) fn profile_ref(profile: &InstanceProfile) -> InstanceProfileRef {
    InstanceProfileRef {
        name: profile.instance_profile_name.clone(),
        path: profile.path.clone(),
        arn: profile.arn.clone(),
    }
}
