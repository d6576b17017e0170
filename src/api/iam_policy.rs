//! The `IamPolicy` API (`iam.rolesmith.dev/v1alpha1`): a customer managed policy, attached to
//! roles by reference (`IamRole.spec.managedPolicyRefs`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DESCRIPTION_PATTERN, DeletionPolicy, PATH_PATTERN};
use super::{conditions_schema, default_path, policy_document_schema, tags_schema};

/// IAM's policy-name characters (its `\w` is ASCII only).
pub const POLICY_NAME_PATTERN: &str = r"^[A-Za-z0-9+=,.@_-]{1,128}$";

/// The customer managed policy rolesmith should make exist.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "iam.rolesmith.dev",
    version = "v1alpha1",
    kind = "IamPolicy",
    namespaced,
    status = "IamPolicyStatus",
    shortname = "iamp",
    category = "rolesmith",
    doc = "An AWS IAM customer managed policy managed by rolesmith, attached to IamRoles through their spec.managedPolicyRefs.",
    printcolumn = r#"{"name":"Policy","type":"string","jsonPath":".status.policyName","description":"Name of the policy in IAM"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether IAM matches the spec"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.defaultVersionId","description":"The default version in IAM"}"#,
    printcolumn = r#"{"name":"Attached","type":"integer","jsonPath":".status.attachmentCount","description":"Users, groups and roles the policy is attached to"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason","priority":1,"description":"Why the policy is or is not ready"}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.policyArn","priority":1,"description":"ARN of the policy"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("has(self.policyName) == has(oldSelf.policyName) && (!has(self.policyName) || self.policyName == oldSelf.policyName)").message("policyName is immutable: renaming would orphan the policy; create a new IamPolicy instead"))]
#[serde(rename_all = "camelCase")]
pub struct IamPolicySpec {
    /// Name of the policy in IAM (1-128 of A-Z a-z 0-9 + = , . @ _ -). Defaults to
    /// `<namespace>.<name>` (shortened with a hash when longer than 128 characters). By default
    /// it must start with `<namespace>.` (the operator's --role-name-prefix). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = POLICY_NAME_PATTERN), length(min = 1, max = 128))]
    pub policy_name: Option<String>,

    /// IAM path of the policy: `/` or `/segment/…/`. Immutable (IAM cannot move a policy).
    #[serde(default = "default_path")]
    #[schemars(regex(pattern = PATH_PATTERN), length(min = 1, max = 512))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("path is immutable: IAM cannot move a policy to another path"))]
    pub path: String,

    /// Description of the policy (at most 1000 characters). Immutable: IAM cannot change a
    /// managed policy's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000), regex(pattern = DESCRIPTION_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("description is immutable: IAM cannot change a managed policy's description"))]
    pub description: Option<String>,

    /// The permissions: an IAM policy document written as YAML (`Version`, `Statement: [...]`)
    /// or as a JSON string. A change that means the same (reordered keys, a one-element list
    /// for a string) makes no new version; any other change makes a new default version, and
    /// at IAM's 5 versions the oldest non-default one is deleted first.
    #[schemars(schema_with = "policy_document_schema")]
    pub document: serde_json::Value,

    /// Tags of the policy (at most 49: rolesmith adds its ownership tag). Exclusive, except
    /// `aws:` tags, rolesmith's ownership tag and keys the operator ignores (--ignore-tag-keys).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "tags_schema")]
    pub tags: BTreeMap<String, String>,

    /// What happens to the IAM policy when this object is deleted: `Delete` (default) removes it
    /// (held while it is still attached, unless the operator runs with --force-detach), `Retain`
    /// keeps it and only removes rolesmith's ownership tag.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Take over an existing policy of the same name and path that carries no rolesmith
    /// ownership tag. A policy owned by another IamPolicy is never taken over.
    #[serde(default)]
    pub adopt: bool,
}

kind_status! {
    /// What rolesmith last saw and did.
    pub struct IamPolicyStatus {
        /// ARN of the policy in IAM: what IamRoles that refer to this object attach.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub policy_arn: Option<String>,
        /// IAM's unique id of the policy (ANPA…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub policy_id: Option<String>,
        /// Name of the policy in IAM.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub policy_name: Option<String>,
        /// The default version (`v1`, `v2`, …): the one in force.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub default_version_id: Option<String>,
        /// Users, groups and roles the policy is attached to, as IAM last counted them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub attachment_count: Option<i32>,
    }
}

#[cfg(test)]
mod tests {
    use kube::CustomResourceExt;

    use super::*;

    #[test]
    fn defaults_match() {
        let crd = serde_json::to_value(IamPolicy::crd()).expect("CRD serializes");
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let spec = &root["properties"]["spec"]["properties"];
        assert_eq!(spec["path"]["default"], "/");
        assert_eq!(spec["deletionPolicy"]["default"], "Delete");
        let parsed: IamPolicySpec = serde_json::from_value(serde_json::json!({
            "document": {"Version": "2012-10-17", "Statement": []}
        }))
        .expect("minimal spec parses");
        assert_eq!((parsed.path.as_str(), parsed.adopt), ("/", false));
    }

    #[test]
    fn name_pattern() {
        let pattern = regex::Regex::new(POLICY_NAME_PATTERN).expect("compiles");
        for (name, ok) in [
            ("team-a.shared", true),
            (&"p".repeat(128), true),
            (&"p".repeat(129), false),
            ("has space", false),
            ("ünicode", false),
        ] {
            assert_eq!(pattern.is_match(name), ok, "{name}");
        }
    }
}
