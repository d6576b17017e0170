//! The `RoleGuardrail` API (`iam.rolesmith.dev/v1alpha1`): what a cluster's administrators
//! require of every IamRole in the namespaces a guardrail covers. Cluster-scoped, so a
//! namespace's users, who may write IamRoles, cannot write or loosen it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::{POLICY_ARN_PATTERN, conditions_schema};
use crate::admission::limits;

/// A namespace name (DNS-1123 label), or `*` for every namespace.
pub const NAMESPACE_PATTERN: &str = r"^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$";
/// An IAM action as policies write it (`service:Action`, `*` and `?` wildcards), or `*`.
pub const ACTION_PATTERN: &str = r"^(\*|[A-Za-z0-9-]+:[A-Za-z0-9*?]+)$";
/// An AWS account id.
pub const ACCOUNT_PATTERN: &str = r"^[0-9]{12}$";

/// Rules the IamRoles of some namespaces must follow; a role that breaks one is refused
/// (Stalled, reason GuardrailViolation) and nothing is written to IAM for it.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "iam.rolesmith.dev",
    version = "v1alpha1",
    kind = "RoleGuardrail",
    status = "RoleGuardrailStatus",
    shortname = "rguard",
    category = "rolesmith",
    doc = "Rules rolesmith enforces on every IamRole in the namespaces it covers: findings that refuse instead of warn, a required permissions boundary, denied actions, the accounts a trust policy may name, a longest session. Several guardrails add up.",
    printcolumn = r#"{"name":"Namespaces","type":"string","jsonPath":".spec.namespaces","description":"Namespaces whose IamRoles the guardrail covers"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether the operator enforces the guardrail"}"#,
    printcolumn = r#"{"name":"Refusing","type":"integer","jsonPath":".status.refusing","description":"IamRoles the guardrail refuses, at the last drift check"}"#,
    printcolumn = r#"{"name":"Deny","type":"string","jsonPath":".spec.deny","priority":1,"description":"Findings that refuse a role"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RoleGuardrailSpec {
    /// Namespaces whose IamRoles must follow this guardrail, by name; `*` covers every one.
    #[schemars(length(min = 1, max = 256), inner(regex(pattern = NAMESPACE_PATTERN), length(max = 63)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub namespaces: Vec<String>,

    /// Finding ids that refuse the role instead of warning about it (e.g. admin-access,
    /// wildcard-trust, privilege-escalation, no-permissions-boundary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "finding_ids_schema")]
    pub deny: Vec<String>,

    /// ARNs of managed policies, one of which each role must set as its permissions boundary.
    /// A list even for one ARN: the schema checks each item, which a string-or-list field
    /// could not have.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(regex(pattern = POLICY_ARN_PATTERN)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub require_permissions_boundary: Vec<String>,

    /// Actions no inline policy may allow (`service:Action`, `*` and `?` wildcards, e.g.
    /// `iam:*`, `s3:Delete*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(regex(pattern = ACTION_PATTERN), length(max = 128)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub deny_actions: Vec<String>,

    /// When set, the only AWS accounts besides the role's own that its trust policy may name
    /// (an empty list: none). Unset: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(regex(pattern = ACCOUNT_PATTERN)))]
    pub allowed_trust_accounts: Option<Vec<String>>,

    /// When set, the longest maxSessionDuration (seconds, 3600 to 43200) a role may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = limits::SESSION_MIN, max = limits::SESSION_MAX))]
    pub max_session_duration: Option<i32>,
}

kind_status! {
    /// Whether the operator enforces the guardrail, and whom it refuses.
    pub struct RoleGuardrailStatus {
        /// IamRoles this guardrail refuses (Stalled, reason GuardrailViolation, naming it), as
        /// counted at the operator's last drift check.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub refusing: Option<i32>,
    }
}

/// The ids of the findings a guardrail may deny (the catalog's checks of the spec), as the
/// schema's enum: generated, so a new check is deniable as soon as it exists.
fn finding_ids_schema(_: &mut SchemaGenerator) -> Schema {
    let ids: Vec<&str> = crate::findings::CHECKS
        .iter()
        .filter(|rule| crate::admission::deniable(**rule))
        .map(|rule| rule.id())
        .collect();
    json_schema!({
        "type": "array",
        "maxItems": ids.len(),
        "x-kubernetes-list-type": "set",
        "description": "Finding ids that refuse the role instead of warning about it.",
        "items": { "type": "string", "enum": ids }
    })
}

#[cfg(test)]
mod tests;
