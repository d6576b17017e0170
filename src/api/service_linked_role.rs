//! The `IamServiceLinkedRole` API (`iam.rolesmith.dev/v1alpha1`): a role that an AWS service
//! defines and IAM creates for it (`CreateServiceLinkedRole`), not one rolesmith writes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DESCRIPTION_PATTERN, conditions_schema};

/// A service principal: `elasticbeanstalk.amazonaws.com`,
/// `custom-resource.application-autoscaling.amazonaws.com`.
pub const SERVICE_PRINCIPAL_PATTERN: &str =
    r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+amazonaws\.com(\.cn)?$";
/// IAM's role-name characters: the suffix is appended to the role's name after `_`.
pub const CUSTOM_SUFFIX_PATTERN: &str = r"^[A-Za-z0-9+=,.@_-]{1,64}$";

/// A service-linked role rolesmith should make exist.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "iam.rolesmith.dev",
    version = "v1alpha1",
    kind = "IamServiceLinkedRole",
    namespaced,
    status = "IamServiceLinkedRoleStatus",
    shortname = "iamslr",
    category = "rolesmith",
    doc = "An AWS IAM service-linked role, created by IAM for an AWS service (CreateServiceLinkedRole) and deleted through the service (DeleteServiceLinkedRole). Such a role cannot always carry tags, so rolesmith records its ownership in this object's status instead of an ownership tag.",
    printcolumn = r#"{"name":"Service","type":"string","jsonPath":".spec.awsServiceName","description":"The AWS service the role is for"}"#,
    printcolumn = r#"{"name":"Role","type":"string","jsonPath":".status.roleName","description":"Name of the role in IAM"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether the role exists in IAM"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason","priority":1,"description":"Why the role is or is not ready"}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.roleArn","priority":1,"description":"ARN of the role"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("has(self.customSuffix) == has(oldSelf.customSuffix) && (!has(self.customSuffix) || self.customSuffix == oldSelf.customSuffix)").message("customSuffix is immutable: it names another role; create a new IamServiceLinkedRole instead"))]
#[serde(rename_all = "camelCase")]
pub struct IamServiceLinkedRoleSpec {
    /// The service principal the role is for, e.g. `elasticbeanstalk.amazonaws.com`. IAM names
    /// the role (`AWSServiceRoleFor…`) and puts it under `/aws-service-role/<service>/`.
    /// Immutable.
    #[schemars(regex(pattern = SERVICE_PRINCIPAL_PATTERN), length(min = 1, max = 128))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("awsServiceName is immutable: create a new IamServiceLinkedRole instead"))]
    pub aws_service_name: String,

    /// Appended to the role's name after `_`, for services that allow several service-linked
    /// roles (most allow one and refuse a suffix). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = CUSTOM_SUFFIX_PATTERN), length(min = 1, max = 64))]
    pub custom_suffix: Option<String>,

    /// Description of the role (at most 1000 characters), set when IAM creates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000), regex(pattern = DESCRIPTION_PATTERN))]
    pub description: Option<String>,

    /// Take over an existing service-linked role of this service (and suffix) that no object
    /// created: its ownership is recorded in this object's status (`adopted`), and deleting the
    /// object then deletes the role. Without it such a role is reported and left alone.
    #[serde(default)]
    pub adopt: bool,
}

kind_status! {
    /// What rolesmith last saw and did.
    pub struct IamServiceLinkedRoleStatus {
        /// ARN of the role in IAM.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role_arn: Option<String>,
        /// Name of the role in IAM. Set only once the role is this object's (created or
        /// adopted): deleting the object deletes this role, and no other.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role_name: Option<String>,
        /// Whether the role existed before and was taken over (`spec.adopt`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pub adopted: bool,
        /// Set before rolesmith asks IAM to create the role, until its name is recorded: a role
        /// found then is the one this object made, even if the status write naming it was lost.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        pub creating: bool,
        /// While the object is being deleted: IAM's deletion task and how it went.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub deletion: Option<ServiceLinkedRoleDeletion>,
    }
}

/// A deletion IAM runs on behalf of the service (DeleteServiceLinkedRole).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLinkedRoleDeletion {
    /// IAM's deletion task id, polled with GetServiceLinkedRoleDeletionStatus.
    pub task_id: String,
    /// IAM's answer: NOT_STARTED, IN_PROGRESS, SUCCEEDED or FAILED.
    pub status: String,
    /// Why IAM could not delete the role (FAILED): usually the service still uses it, and
    /// where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_accept_service_principals_and_iam_suffixes() {
        let service = regex::Regex::new(SERVICE_PRINCIPAL_PATTERN).expect("compiles");
        let suffix = regex::Regex::new(CUSTOM_SUFFIX_PATTERN).expect("compiles");
        for (text, ok) in [
            ("elasticbeanstalk.amazonaws.com", true),
            (
                "custom-resource.application-autoscaling.amazonaws.com",
                true,
            ),
            ("ecs.amazonaws.com.cn", true),
            ("amazonaws.com", false),
            ("Elasticbeanstalk.amazonaws.com", false),
            ("elasticbeanstalk.example.com", false),
            ("arn:aws:iam::aws:policy/x", false),
            ("-bad.amazonaws.com", false),
        ] {
            assert_eq!(service.is_match(text), ok, "{text}");
        }
        for (text, ok) in [
            ("app", true),
            ("a_b-1", true),
            ("has space", false),
            ("", false),
        ] {
            assert_eq!(suffix.is_match(text), ok, "{text}");
        }
    }
}
