//! One [`IamOp`], one IAM call. No decision is made here: the plan decided what to send.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;

use super::OpOutcome;
use super::aws::AwsIam;
use super::sdk_error::from_build;
use crate::error::Result;
use crate::model::IamOp;

impl AwsIam {
    pub(super) async fn write(&self, op: &IamOp) -> Result<OpOutcome> {
        let action = op.action();
        let client = &self.client;
        match op {
            IamOp::CreateRole {
                role,
                path,
                description,
                max_session_duration,
                assume_role_policy,
                permissions_boundary,
                tags,
            } => {
                let request = client
                    .create_role()
                    .role_name(role)
                    .path(path)
                    // IAM stores an empty description as absent anyway; not sending one keeps
                    // the request valid for every IAM-compatible endpoint.
                    .set_description(non_empty(description))
                    .max_session_duration(*max_session_duration)
                    .assume_role_policy_document(assume_role_policy)
                    .set_permissions_boundary(permissions_boundary.clone())
                    .set_tags(non_empty_tags(sdk_tags(action, tags)?))
                    .send();
                let created = self.call(action, request).await?;
                let outcome = match created.role {
                    Some(role) => OpOutcome {
                        arn: Some(role.arn),
                        role_id: Some(role.role_id),
                    },
                    None => OpOutcome::default(),
                };
                Ok(outcome)
            }
            IamOp::UpdateRole {
                role,
                description,
                max_session_duration,
            } => {
                // Both fields always: IAM (and moto) reset the one that is left out.
                let request = client
                    .update_role()
                    .role_name(role)
                    .description(description)
                    .max_session_duration(*max_session_duration)
                    .send();
                self.done(action, request).await
            }
            IamOp::UpdateAssumeRolePolicy { role, document } => {
                let request = client
                    .update_assume_role_policy()
                    .role_name(role)
                    .policy_document(document)
                    .send();
                self.done(action, request).await
            }
            IamOp::PutRolePolicy {
                role,
                policy_name,
                document,
            } => {
                let request = client
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(policy_name)
                    .policy_document(document)
                    .send();
                self.done(action, request).await
            }
            IamOp::DeleteRolePolicy { role, policy_name } => {
                let request = client
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(policy_name)
                    .send();
                self.done(action, request).await
            }
            IamOp::AttachRolePolicy { role, policy_arn } => {
                let request = client
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn)
                    .send();
                self.done(action, request).await
            }
            IamOp::DetachRolePolicy { role, policy_arn } => {
                let request = client
                    .detach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn)
                    .send();
                self.done(action, request).await
            }
            IamOp::TagRole { role, tags } => {
                let request = client
                    .tag_role()
                    .role_name(role)
                    .set_tags(Some(sdk_tags(action, tags)?))
                    .send();
                self.done(action, request).await
            }
            IamOp::UntagRole { role, keys } => {
                let request = client
                    .untag_role()
                    .role_name(role)
                    .set_tag_keys(Some(keys.clone()))
                    .send();
                self.done(action, request).await
            }
            IamOp::PutRolePermissionsBoundary { role, policy_arn } => {
                let request = client
                    .put_role_permissions_boundary()
                    .role_name(role)
                    .permissions_boundary(policy_arn)
                    .send();
                self.done(action, request).await
            }
            IamOp::DeleteRolePermissionsBoundary { role } => {
                let request = client
                    .delete_role_permissions_boundary()
                    .role_name(role)
                    .send();
                self.done(action, request).await
            }
            IamOp::CreateInstanceProfile { .. }
            | IamOp::AddRoleToInstanceProfile { .. }
            | IamOp::RemoveRoleFromInstanceProfile { .. }
            | IamOp::DeleteInstanceProfile { .. } => self.write_instance_profile(op).await,
            IamOp::DeleteRole { role } => {
                let request = client.delete_role().role_name(role).send();
                self.done(action, request).await
            }
        }
    }

    /// For writes whose answer carries nothing we need.
    async fn done<T, E>(
        &self,
        action: &'static str,
        request: impl Future<Output = Result<T, aws_sdk_iam::error::SdkError<E>>>,
    ) -> Result<OpOutcome>
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.call(action, request).await?;
        Ok(OpOutcome::default())
    }
}

pub(super) fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// An empty list would be sent as an empty `Tags` parameter, which is not the same as none.
pub(super) fn non_empty_tags(tags: Vec<Tag>) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then_some(tags)
}

pub(super) fn sdk_tags(action: &'static str, tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| from_build(action, error))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_in_key_order() {
        let tags = BTreeMap::from([
            ("b".to_string(), "2".to_string()),
            ("a".to_string(), String::new()),
        ]);
        let sdk = sdk_tags("TagRole", &tags).unwrap();
        let pairs: Vec<_> = sdk
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(pairs, vec![("a", ""), ("b", "2")]);
        assert!(sdk_tags("TagRole", &BTreeMap::new()).unwrap().is_empty());
        assert_eq!(non_empty_tags(Vec::new()), None);
        assert_eq!(non_empty_tags(sdk.clone()), Some(sdk));
    }

    #[test]
    fn descriptions() {
        assert_eq!(non_empty(""), None);
        assert_eq!(non_empty("x"), Some("x".to_string()));
    }
}
