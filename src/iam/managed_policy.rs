//! Customer managed policies: GetPolicy + ListPolicyVersions + GetPolicyVersion (of the
//! default) for a read, ListEntitiesForPolicy for its attachments, one call per [`PolicyOp`].

use aws_sdk_iam::types::{Policy, PolicyVersion as SdkVersion};

use super::aws::AwsIam;
use super::read::{all_pages, unexpected};
use super::write::{non_empty, non_empty_tags, sdk_tags};
use crate::error::Result;
use crate::model::{ObservedPolicy, PolicyAttachments, PolicyOp, PolicyVersion};
use crate::policy::decode_iam_text;

/// What a policy write tells us beyond success: CreatePolicy its ARN and id, CreatePolicyVersion
/// the new version's id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyOutcome {
    pub arn: Option<String>,
    pub policy_id: Option<String>,
    pub version_id: Option<String>,
}

impl AwsIam {
    pub(super) async fn read_policy(&self, arn: &str) -> Result<Option<ObservedPolicy>> {
        let request = self.client.get_policy().policy_arn(arn).send();
        let Some(output) = self.call_optional("GetPolicy", request).await? else {
            return Ok(None);
        };
        let Some(policy) = output.policy else {
            return Err(unexpected("GetPolicy", "the answer has no Policy"));
        };
        let mut observed = observed_policy(&policy);
        let pages = self
            .client
            .list_policy_versions()
            .policy_arn(arn)
            .into_paginator()
            .send();
        observed.versions = all_pages("ListPolicyVersions", pages, |page| {
            let versions = page.versions.unwrap_or_default();
            (
                versions.iter().map(version).collect(),
                page.is_truncated,
                page.marker,
            )
        })
        .await?;
        if observed.default_version_id.is_empty()
            && let Some(default) = observed.versions.iter().find(|v| v.is_default)
        {
            observed.default_version_id = default.id.clone();
        }
        let request = self
            .client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&observed.default_version_id)
            .send();
        let output = self.call("GetPolicyVersion", request).await?;
        observed.document = output
            .policy_version
            .and_then(|v| v.document)
            .map(|d| decode_iam_text(&d))
            .unwrap_or_default();
        Ok(Some(observed))
    }

    pub(super) async fn read_attachments(&self, arn: &str) -> Result<PolicyAttachments> {
        let pages = self
            .client
            .list_entities_for_policy()
            .policy_arn(arn)
            .into_paginator()
            .send();
        let entities = all_pages("ListEntitiesForPolicy", pages, |page| {
            let roles = page.policy_roles.unwrap_or_default().into_iter();
            let users = page.policy_users.unwrap_or_default().into_iter();
            let groups = page.policy_groups.unwrap_or_default().into_iter();
            let all = roles
                .filter_map(|r| r.role_name.map(|n| ('r', n)))
                .chain(users.filter_map(|u| u.user_name.map(|n| ('u', n))))
                .chain(groups.filter_map(|g| g.group_name.map(|n| ('g', n))))
                .collect();
            (all, page.is_truncated, page.marker)
        })
        .await?;
        let mut attachments = PolicyAttachments::default();
        for (kind, name) in entities {
            match kind {
                'r' => attachments.roles.push(name),
                'u' => attachments.users.push(name),
                _ => attachments.groups.push(name),
            }
        }
        Ok(attachments)
    }

    pub(super) async fn write_policy(&self, op: &PolicyOp) -> Result<PolicyOutcome> {
        let action = op.action();
        let client = &self.client;
        match op {
            PolicyOp::CreatePolicy {
                policy_name,
                path,
                description,
                document,
                tags,
            } => {
                let request = client
                    .create_policy()
                    .policy_name(policy_name)
                    .path(path)
                    .set_description(non_empty(description))
                    .policy_document(document)
                    .set_tags(non_empty_tags(sdk_tags(action, tags)?))
                    .send();
                let created = self.call(action, request).await?;
                Ok(PolicyOutcome {
                    arn: created.policy.as_ref().and_then(|p| p.arn.clone()),
                    policy_id: created.policy.as_ref().and_then(|p| p.policy_id.clone()),
                    version_id: created.policy.and_then(|p| p.default_version_id),
                })
            }
            PolicyOp::CreatePolicyVersion {
                policy_arn,
                document,
            } => {
                let request = client
                    .create_policy_version()
                    .policy_arn(policy_arn)
                    .policy_document(document)
                    .set_as_default(true)
                    .send();
                let created = self.call(action, request).await?;
                Ok(PolicyOutcome {
                    version_id: created.policy_version.and_then(|v| v.version_id),
                    ..PolicyOutcome::default()
                })
            }
            PolicyOp::DeletePolicyVersion {
                policy_arn,
                version_id,
            } => {
                let request = client
                    .delete_policy_version()
                    .policy_arn(policy_arn)
                    .version_id(version_id)
                    .send();
                self.call(action, request).await?;
                Ok(PolicyOutcome::default())
            }
            PolicyOp::TagPolicy { policy_arn, tags } => {
                let request = client
                    .tag_policy()
                    .policy_arn(policy_arn)
                    .set_tags(Some(sdk_tags(action, tags)?))
                    .send();
                self.call(action, request).await?;
                Ok(PolicyOutcome::default())
            }
            PolicyOp::UntagPolicy { policy_arn, keys } => {
                let request = client
                    .untag_policy()
                    .policy_arn(policy_arn)
                    .set_tag_keys(Some(keys.clone()))
                    .send();
                self.call(action, request).await?;
                Ok(PolicyOutcome::default())
            }
            PolicyOp::DetachRolePolicy { role, policy_arn } => {
                let request = client
                    .detach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn)
                    .send();
                self.call(action, request).await?;
                Ok(PolicyOutcome::default())
            }
            PolicyOp::DeletePolicy { policy_arn } => {
                let request = client.delete_policy().policy_arn(policy_arn).send();
                self.call(action, request).await?;
                Ok(PolicyOutcome::default())
            }
        }
    }
}

/// Everything GetPolicy tells us; versions and the document are filled in by the caller.
fn observed_policy(policy: &Policy) -> ObservedPolicy {
    ObservedPolicy {
        name: policy.policy_name.clone().unwrap_or_default(),
        path: policy.path.clone().unwrap_or_else(|| "/".to_string()),
        arn: policy.arn.clone().unwrap_or_default(),
        policy_id: policy.policy_id.clone().unwrap_or_default(),
        description: policy.description.clone().unwrap_or_default(),
        default_version_id: policy.default_version_id.clone().unwrap_or_default(),
        attachment_count: policy.attachment_count.unwrap_or_default(),
        tags: policy
            .tags()
            .iter()
            .map(|tag| (tag.key.clone(), tag.value.clone()))
            .collect(),
        ..ObservedPolicy::default()
    }
}

fn version(version: &SdkVersion) -> PolicyVersion {
    PolicyVersion {
        id: version.version_id.clone().unwrap_or_default(),
        is_default: version.is_default_version,
        created: version.create_date.map(|d| d.secs()).unwrap_or_default(),
    }
}

/// The ARN IAM gives a customer managed policy: the account, the path and the name.
pub fn policy_arn(partition: &str, account: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::types::Tag;
    use aws_smithy_types::DateTime;

    use super::*;

    #[test]
    fn observed_from_get_policy() {
        let policy = Policy::builder()
            .policy_name("team-a.shared")
            .path("/team/")
            .arn("arn:aws:iam::123456789012:policy/team/team-a.shared")
            .policy_id("ANPAEXAMPLE")
            .description("shared")
            .default_version_id("v3")
            .attachment_count(2)
            .tags(Tag::builder().key("team").value("a").build().unwrap())
            .build();
        let observed = observed_policy(&policy);
        assert_eq!(observed.name, "team-a.shared");
        assert_eq!(observed.path, "/team/");
        assert_eq!(observed.policy_id, "ANPAEXAMPLE");
        assert_eq!(observed.description, "shared");
        assert_eq!(observed.default_version_id, "v3");
        assert_eq!(observed.attachment_count, 2);
        assert_eq!(observed.tags.get("team").map(String::as_str), Some("a"));
        let bare = observed_policy(&Policy::builder().build());
        assert_eq!((bare.path.as_str(), bare.attachment_count), ("/", 0));
    }

    #[test]
    fn versions_and_arns() {
        let v = SdkVersion::builder()
            .version_id("v2")
            .is_default_version(true)
            .create_date(DateTime::from_secs(1_700_000_000))
            .build();
        assert_eq!(
            version(&v),
            PolicyVersion {
                id: "v2".into(),
                is_default: true,
                created: 1_700_000_000
            }
        );
        assert_eq!(
            policy_arn("aws", "123456789012", "/", "p"),
            "arn:aws:iam::123456789012:policy/p"
        );
        assert_eq!(
            policy_arn("aws-cn", "123456789012", "/team/", "p"),
            "arn:aws-cn:iam::123456789012:policy/team/p"
        );
    }
}
