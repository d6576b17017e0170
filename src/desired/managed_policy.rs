//! From an `IamPolicy` object to the plain [`PolicyInput`] admission reads.

use crate::admission::{PolicyInput, PolicySpec};
use crate::api::IamPolicy;
use crate::error::Result;
use crate::model::Owner;

/// The object as admission reads it.
pub fn policy_input(policy: &IamPolicy) -> PolicyInput {
    let spec = &policy.spec;
    PolicyInput {
        namespace: policy.metadata.namespace.clone(),
        name: policy.metadata.name.clone(),
        spec: PolicySpec {
            policy_name: spec.policy_name.clone(),
            path: spec.path.clone(),
            description: spec.description.clone(),
            document: spec.document.clone(),
            tags: spec.tags.clone(),
        },
        recorded_name: policy.status.as_ref().and_then(|s| s.policy_name.clone()),
        recorded_arn: policy
            .status
            .as_ref()
            .is_some_and(|s| s.policy_arn.is_some()),
    }
}

/// The object's owner, for the ownership tag.
pub fn policy_owner(cluster: &str, policy: &IamPolicy) -> Result<Owner> {
    super::owner_of(cluster, &policy.metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_from_an_object() {
        let mut object: IamPolicy = serde_json::from_value(serde_json::json!({
            "apiVersion": "iam.rolesmith.dev/v1alpha1",
            "kind": "IamPolicy",
            "metadata": {"name": "shared", "namespace": "team-a"},
            "spec": {
                "description": "reads",
                "document": {"Version": "2012-10-17", "Statement": []},
                "tags": {"team": "a"}
            },
        }))
        .expect("a valid IamPolicy");
        object.status = Some(crate::api::IamPolicyStatus {
            policy_name: Some("team-a.shared".into()),
            ..Default::default()
        });
        let input = policy_input(&object);
        assert_eq!(input.namespace.as_deref(), Some("team-a"));
        assert_eq!(input.spec.description.as_deref(), Some("reads"));
        assert_eq!(input.spec.path, "/");
        assert_eq!(input.recorded_name.as_deref(), Some("team-a.shared"));
        assert_eq!(
            policy_owner("c", &object).expect("named").tag_value(),
            "c/team-a/shared"
        );
        object.metadata.name = None;
        assert!(policy_owner("c", &object).is_err());
    }
}
