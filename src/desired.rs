//! From an `IamRole` object to the plain [`Input`] admission reads.

use crate::admission::Rule;
use crate::admission::{self, Input, Spec};
use crate::api::IamRole;
use crate::error::{Error, Result};
use crate::model::Owner;

mod managed_policy;
pub use managed_policy::{policy_input, policy_owner};

/// The object as admission reads it.
pub fn input(role: &IamRole) -> Input {
    let spec = &role.spec;
    let status = role.status.as_ref();
    Input {
        namespace: role.metadata.namespace.clone(),
        name: role.metadata.name.clone(),
        spec: Spec {
            role_name: spec.role_name.clone(),
            path: spec.path.clone(),
            description: spec.description.clone(),
            max_session_duration: spec.max_session_duration,
            assume_role_policy: spec.assume_role_policy.clone(),
            service_accounts: spec.service_accounts.clone(),
            inline_policies: spec.inline_policies.clone(),
            managed_policy_arns: spec.managed_policy_arns.clone(),
            permissions_boundary: spec.permissions_boundary.clone(),
            tags: spec.tags.clone(),
            ignore_tag_keys: spec.ignore_tag_keys.clone(),
            instance_profile: spec.instance_profile,
        },
        recorded_name: status.and_then(|s| s.role_name.clone()),
        recorded_arn: status.is_some_and(|s| s.role_arn.is_some()),
    }
}

/// The role name: `spec.roleName`, else the one derived from the namespace and name.
pub fn role_name(role: &IamRole) -> String {
    admission::role_name(
        role.metadata.namespace.as_deref().unwrap_or_default(),
        role.metadata.name.as_deref().unwrap_or_default(),
        role.spec.role_name.as_deref(),
    )
}

/// The object's owner, for the ownership tag.
pub fn owner(cluster: &str, role: &IamRole) -> Result<Owner> {
    owner_of(cluster, &role.metadata)
}

/// The owner of the object with `metadata` (an IamRole or an IamPolicy): both need a namespace
/// and a name, which the API server always sets.
pub(crate) fn owner_of(
    cluster: &str,
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Result<Owner> {
    let missing = |field: &str| Error::invalid(field, Rule::MissingMetadata, "is missing");
    Ok(Owner {
        cluster: cluster.to_string(),
        namespace: metadata
            .namespace
            .clone()
            .ok_or_else(|| missing("metadata.namespace"))?,
        name: metadata
            .name
            .clone()
            .ok_or_else(|| missing("metadata.name"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::{Confinement, Context, Problem};

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn admitted(role: &IamRole) -> Result<admission::Admitted, Vec<Problem>> {
        let context = Context {
            confinement: &Confinement::none(),
            ignore_tag_keys: &[],
            cluster_id: "test",
            workloads: &Default::default(),
        };
        admission::admit(&input(role), &context)
    }

    /// Two equal keys in one object: IAM and rolesmith could each keep a different one. A JSON
    /// string reaches IAM as written, so it is refused here; the YAML reader already refuses
    /// them in a mapping (and in a JSON manifest, which it reads as YAML).
    #[test]
    fn duplicate_keys_in_policies_are_refused() {
        let manifest = |policy: &str| {
            format!(
                "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata:\n  name: app\n  namespace: team\nspec:\n  assumeRolePolicy: '{TRUST}'\n  inlinePolicies:\n    read:\n{policy}\n"
            )
        };
        let json_string = manifest(
            r#"      '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Effect":"Allow"}]}'"#,
        );
        let roles = crate::manifest::parse(&json_string, "default").expect("readable YAML");
        match admitted(&roles[0]) {
            Err(problems) => assert_eq!(
                problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
                [
                    "spec.inlinePolicies.read: the policy has the key \"Effect\" twice in Statement[0]; IAM and rolesmith could each read a different one, so write it once"
                ]
            ),
            other => panic!("{other:?}"),
        }
        let trust = TRUST.replace(r#""Principal""#, r#""Principal":"*","Principal""#);
        let mut role = roles[0].clone();
        role.spec.inline_policies.clear();
        role.spec.assume_role_policy = Some(serde_json::Value::String(trust));
        match admitted(&role) {
            Err(problems) => {
                assert!(problems[0].to_string().starts_with("spec.assumeRolePolicy: the policy has the key \"Principal\" twice in Statement[0]"), "{problems:?}")
            }
            other => panic!("{other:?}"),
        }

        let yaml_mapping = manifest(
            "      Version: \"2012-10-17\"\n      Statement:\n        - Effect: Deny\n          Action: \"*\"\n          Resource: \"*\"\n          Effect: Allow",
        );
        let json_manifest = r#"{"apiVersion":"iam.rolesmith.dev/v1alpha1","kind":"IamRole","metadata":{"name":"app","namespace":"team"},"spec":{"assumeRolePolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333","aws:SourceAccount":"444455556666"}}}]}}}"#;
        for (text, key) in [
            (yaml_mapping.as_str(), "Effect"),
            (json_manifest, "aws:SourceAccount"),
        ] {
            let error = crate::manifest::parse(text, "default").expect_err("duplicate key");
            let message = error.to_string();
            assert!(message.contains("duplicate mapping key"), "{message}");
            assert!(message.contains(key), "{message}");
        }
    }
}
