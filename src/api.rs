//! The `IamRole` API (`iam.rolesmith.dev/v1alpha1`).
//!
//! Every static IAM rule the schema can express lives here (patterns, bounds, CEL), so `kubectl`
//! rejects a bad manifest before the operator sees it. The engine checks the same rules again
//! (`crate::admission`): an old CRD, `rolesmith plan/apply` and rules CEL cannot express rely on it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Declares the status of a rolesmith kind: its own fields, then the two every kind shares
/// (kstatus conventions, which Flux, Argo CD and `kubectl wait` read). A macro rather than a
/// `#[serde(flatten)]` struct, because flattening hides unknown and mistyped fields from the
/// manifest reader's by-path errors.
macro_rules! kind_status {
    ($(#[$meta:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $(#[$meta])*
        #[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($fields)*
            /// The generation of the spec this status describes.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub observed_generation: Option<i64>,
            /// Ready, Reconciling, Stalled (kstatus conventions) and Warnings.
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            #[schemars(schema_with = "conditions_schema")]
            pub conditions: Vec<Condition>,
        }
    };
}

pub mod account;
pub mod guardrail;
pub mod iam_policy;
pub use account::{AwsAccount, AwsAccountSpec, AwsAccountStatus};
pub use guardrail::{RoleGuardrail, RoleGuardrailSpec, RoleGuardrailStatus};
pub mod pod_identity;
pub use crate::admission::{ServiceAccountRef, WorkloadIdentity};
use crate::admission::{limits, service_accounts};
pub use iam_policy::{IamPolicy, IamPolicySpec, IamPolicyStatus};
pub use pod_identity::PodIdentityAssociation;
pub mod service_linked_role;
pub use service_linked_role::{
    IamServiceLinkedRole, IamServiceLinkedRoleSpec, IamServiceLinkedRoleStatus,
};

/// IAM's role-name characters (its `\w` is ASCII only).
pub const ROLE_NAME_PATTERN: &str = r"^[A-Za-z0-9+=,.@_-]{1,64}$";
/// A managed-policy ARN in one of the three partitions (path and name are at most 640
/// characters; Go's regexp, which the API server uses, refuses repeats over 1000).
pub const POLICY_ARN_PATTERN: &str =
    r"^arn:aws(-cn|-us-gov)?:iam::([0-9]{12}|aws):policy/[\x21-\x7E]{1,1000}$";
/// The characters IAM accepts in a role description.
pub const DESCRIPTION_PATTERN: &str = r"^[\t\n\r\x20-\x7E\x{A1}-\x{FF}]*$";
pub const PATH_PATTERN: &str = r"^(/|/[\x21-\x7E]+/)$";

/// The IAM role rolesmith should make exist.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "iam.rolesmith.dev",
    version = "v1alpha1",
    kind = "IamRole",
    namespaced,
    status = "IamRoleStatus",
    shortname = "iamr",
    category = "rolesmith",
    doc = "An AWS IAM role managed by rolesmith: trust policy, inline and managed policies, tags, permissions boundary.",
    printcolumn = r#"{"name":"Role","type":"string","jsonPath":".status.roleName","description":"Name of the role in IAM"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether IAM matches the spec"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason","priority":1,"description":"Why the role is or is not ready"}"#,
    printcolumn = r#"{"name":"ARN","type":"string","jsonPath":".status.roleArn","priority":1,"description":"ARN of the role"}"#,
    printcolumn = r#"{"name":"Account","type":"string","jsonPath":".status.accountId","priority":1,"description":"The AWS account the role lives in"}"#,
    printcolumn = r#"{"name":"Instance-Profile","type":"string","jsonPath":".status.instanceProfileArn","priority":1,"description":"ARN of the instance profile that holds the role"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("has(self.assumeRolePolicy) || (has(self.serviceAccounts) && size(self.serviceAccounts) > 0)").message("assumeRolePolicy is required unless serviceAccounts lists who may assume the role"))]
#[x_kube(validation = Rule::new("has(self.roleName) == has(oldSelf.roleName) && (!has(self.roleName) || self.roleName == oldSelf.roleName)").message("roleName is immutable: renaming would orphan the role; create a new IamRole instead"))]
#[x_kube(validation = Rule::new("has(self.accountRef) == has(oldSelf.accountRef) && (!has(self.accountRef) || self.accountRef == oldSelf.accountRef)").message("accountRef is immutable: a role cannot move to another account; create a new IamRole instead"))]
#[serde(rename_all = "camelCase")]
pub struct IamRoleSpec {
    /// Name of the role in IAM (1-64 of A-Z a-z 0-9 + = , . @ _ -). Defaults to
    /// `<namespace>.<name>` (shortened with a hash when longer than 64 characters). By default
    /// it must start with `<namespace>.` (the operator's --role-name-prefix). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ROLE_NAME_PATTERN), length(min = 1, max = limits::ROLE_NAME_MAX))]
    pub role_name: Option<String>,

    /// IAM path of the role: `/` or `/segment/…/`. Immutable (IAM cannot move a role).
    #[serde(default = "default_path")]
    #[schemars(regex(pattern = PATH_PATTERN), length(min = 1, max = limits::PATH_MAX))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("path is immutable: IAM cannot move a role to another path"))]
    pub path: String,

    /// Description of the role (at most 1000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = limits::DESCRIPTION_MAX), regex(pattern = DESCRIPTION_PATTERN))]
    pub description: Option<String>,

    /// Maximum session duration in seconds, 3600 (1 hour) to 43200 (12 hours).
    #[serde(default = "default_max_session_duration")]
    #[schemars(range(min = limits::SESSION_MIN, max = limits::SESSION_MAX))]
    pub max_session_duration: i32,

    /// The trust policy: who may assume the role. An IAM policy document written as YAML
    /// (`Version`, `Statement: [...]`) or as a JSON string. Sent to IAM as written, with the
    /// statements `serviceAccounts` needs added. Optional when `serviceAccounts` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "policy_document_schema")]
    pub assume_role_policy: Option<serde_json::Value>,

    /// ServiceAccounts whose pods may assume the role (at most 20): rolesmith adds the trust
    /// statements each needs and wires it up. `IRSA`: a statement for the cluster's OIDC
    /// provider (the operator's --oidc-provider-arn) and the ServiceAccount annotated with
    /// `eks.amazonaws.com/role-arn`; `PodIdentity`: a statement for pods.eks.amazonaws.com and
    /// an EKS Pod Identity association (--eks-cluster-name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = service_accounts::SERVICE_ACCOUNTS_MAX))]
    #[x_kube(validation = Rule::new("self.all(a, self.exists_one(b, b.name == a.name && (has(b.__namespace__) ? b.__namespace__ : '') == (has(a.__namespace__) ? a.__namespace__ : '')))").message("each ServiceAccount may be listed only once"))]
    pub service_accounts: Vec<ServiceAccountRef>,

    /// Inline policies: policy name (1-128 of A-Z a-z 0-9 + = , . @ _ -) to policy document
    /// (YAML object or JSON string). Exclusive: inline policies not listed here are deleted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "inline_policies_schema")]
    // No CEL rule here: the values are untyped documents, and kube-apiserver cannot build CEL
    // types for such a map, so it would refuse the CRD. The engine checks the names.
    pub inline_policies: BTreeMap<String, serde_json::Value>,

    /// ARNs of managed policies to attach (at most 20). Exclusive: other attachments are removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = limits::MANAGED_POLICIES_MAX), inner(regex(pattern = POLICY_ARN_PATTERN)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub managed_policy_arns: Vec<String>,

    /// IamPolicy objects whose customer managed policies to attach, by name (and namespace,
    /// default: this object's). The role waits (Reconciling, reason PolicyNotReady) until each
    /// has a policy in IAM. Another namespace's IamPolicy may be referenced only from a
    /// namespace the operator does not confine (--unconfined-namespaces). Together with
    /// managedPolicyArns at most 20, and exclusive in the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub managed_policy_refs: Vec<PolicyRef>,

    /// ARN of the managed policy used as the role's permissions boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = POLICY_ARN_PATTERN))]
    pub permissions_boundary: Option<String>,

    /// Tags of the role (at most 49: rolesmith adds its ownership tag). Keys 1-128 characters,
    /// values up to 256; keys are case-insensitive in IAM and may not start with `aws:`.
    /// Exclusive, except `aws:` tags and rolesmith's ownership tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "tags_schema")]
    pub tags: BTreeMap<String, String>,

    /// What happens to the IAM role when this object is deleted: `Delete` (default) removes it,
    /// `Retain` keeps it and only removes rolesmith's ownership tag.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Take over an existing role of the same name that carries no rolesmith ownership tag.
    /// Without it such a role is reported and left untouched. A role owned by another IamRole is
    /// never taken over.
    #[serde(default)]
    pub adopt: bool,

    /// `Manage` (default): rolesmith makes IAM match the spec. `Observe`: rolesmith only reads
    /// the role, which must exist (it needs no ownership tag and never gets one), and reports in
    /// `status.drift` how it differs from the spec; it never writes to IAM, and deleting the
    /// object leaves the role alone. Switching to `Manage` on a role without rolesmith's tag
    /// still needs `adopt: true`.
    #[serde(default)]
    pub management_policy: ManagementPolicy,

    /// Tag keys owned by others (an organisation's tag policy, an SCP that forbids untagging):
    /// rolesmith never removes, changes or sets them. Exact keys (case-insensitive, like IAM), or
    /// a prefix ending in `*`. Adds to the operator's --ignore-tag-keys. A key matched here
    /// cannot also be in `tags`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = limits::IGNORE_TAG_KEYS_MAX),
        inner(length(min = 1, max = limits::IGNORE_TAG_KEY_MAX))
    )]
    pub ignore_tag_keys: Vec<String>,

    /// The AwsAccount (by name) whose account the role lives in. Without it: the AwsAccount
    /// marked default, else the operator's own account. The AwsAccount must allow this
    /// object's namespace. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ACCOUNT_REF_PATTERN), length(min = 1, max = 253))]
    pub account_ref: Option<String>,
    /// EC2 roles: keep an instance profile of the role's name and path that holds the role
    /// (`status.instanceProfileArn`). rolesmith creates it (tagged like the role), removes it
    /// when this turns false and before the role is deleted; `deletionPolicy: Retain` keeps
    /// it. A profile of that name that rolesmith did not create is never taken over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub instance_profile: bool,
}

/// A cluster-scoped object's name (RFC 1123 subdomain).
pub const ACCOUNT_REF_PATTERN: &str = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";

pub use crate::model::{DeletionPolicy, ManagementPolicy};

/// A reference to an IamPolicy object.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRef {
    /// Name of the IamPolicy object.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the IamPolicy object (default: the IamRole's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// One field in which the role in IAM differs from the spec.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftEntry {
    /// `trust`, `inlinePolicies.NAME`, `managedPolicyArns`, `tags.KEY`, `permissionsBoundary`,
    /// `description`, `maxSessionDuration` or `instanceProfile`.
    pub field: String,
    /// What differs, in a few words.
    pub summary: String,
}

/// An out-of-band change rolesmith undid.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Repair {
    /// When the repair was made.
    #[schemars(extend("format" = "date-time"))]
    pub time: String,
    /// The fields that had drifted (as in `drift`).
    pub fields: Vec<String>,
}

kind_status! {
    /// What rolesmith last saw and did.
    pub struct IamRoleStatus {
        /// ARN of the role in IAM.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role_arn: Option<String>,
        /// IAM's unique id of the role (AROA…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role_id: Option<String>,
        /// Name of the role in IAM.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub role_name: Option<String>,
        /// When a reconcile last found IAM matching the spec (a drift check that finds the role in
        /// sync writes nothing, here included).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("format" = "date-time"))]
        pub last_sync_time: Option<String>,
        /// How the role in IAM differs from the spec, one entry per field (at most 20): under
        /// `Observe` everything that differs; under `Manage` what could not be repaired yet.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 20))]
        pub drift: Vec<DriftEntry>,
        /// The last out-of-band change rolesmith undid (`Manage` only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub last_repair: Option<Repair>,
        /// When and in which region the role was last used, as IAM reported it at the last
        /// reconcile (IAM updates it with a delay of hours; absent for a role never used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub last_used: Option<RoleLastUsed>,
        /// The AWS account the role lives in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub account_id: Option<String>,
        /// The EKS Pod Identity associations made for `serviceAccounts` entries via PodIdentity.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub pod_identity_associations: Vec<PodIdentityAssociation>,
        /// ARN of the instance profile that holds the role (spec.instanceProfile).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub instance_profile_arn: Option<String>,
    }
}

/// IAM's RoleLastUsed.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleLastUsed {
    /// When a session of the role last made an AWS request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_used_date: Option<String>,
    /// The region of that request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl From<crate::model::LastUsed> for RoleLastUsed {
    fn from(used: crate::model::LastUsed) -> RoleLastUsed {
        RoleLastUsed {
            last_used_date: used.date,
            region: used.region,
        }
    }
}

fn default_path() -> String {
    "/".to_string()
}

fn default_max_session_duration() -> i32 {
    limits::SESSION_DEFAULT
}

fn policy_document_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "An IAM policy document: a YAML/JSON object with Version and Statement, or the same as a JSON string.",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

fn inline_policies_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": limits::INLINE_POLICIES_MAX,
        "description": "Inline policies: name to policy document.",
        "additionalProperties": {
            "description": "An IAM policy document: a YAML/JSON object with Version and Statement, or the same as a JSON string.",
            "x-kubernetes-preserve-unknown-fields": true
        }
    })
}

/// `spec.tags` of both kinds, with the rules IAM would otherwise refuse at the first write.
fn tags_schema(_: &mut SchemaGenerator) -> Schema {
    // Rules stay cheap for the API server's CEL cost estimator: map keys have no length bound,
    // so only O(1) checks (size, fixed prefixes) run on keys; the character rules for keys are
    // enforced by admission (crate::admission) instead.
    json_schema!({
        "type": "object",
        "maxProperties": limits::SPEC_TAGS_MAX,
        "additionalProperties": { "type": "string", "maxLength": limits::TAG_VALUE_MAX },
        "x-kubernetes-validations": [
            {
                "rule": "self.all(k, !(k.startsWith('aws:') || k.startsWith('awS:') || k.startsWith('aWs:') || k.startsWith('aWS:') || k.startsWith('Aws:') || k.startsWith('AwS:') || k.startsWith('AWs:') || k.startsWith('AWS:')))",
                "message": "tag keys starting with aws: (any case) are reserved by AWS"
            },
            {
                "rule": "self.all(k, size(k) >= 1 && size(k) <= 128)",
                "message": "tag keys must be 1 to 128 characters long"
            },
            {
                "rule": "self.all(k, self[k].matches('^[\\\\p{L}\\\\p{Z}\\\\p{N}_.:/=+@-]*$'))",
                "message": "tag values may contain only letters, digits, spaces and _ . : / = + - @"
            },
            {
                "rule": "!('rolesmith.dev/owner' in self)",
                "message": "the tag rolesmith.dev/owner is set by rolesmith itself"
            }
        ]
    })
}

fn conditions_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": {
            "type": "object",
            "required": ["type", "status", "lastTransitionTime", "reason", "message"],
            "properties": {
                "type": { "type": "string", "description": "Ready, Reconciling, Stalled, Warnings or Drifted." },
                "status": { "type": "string", "enum": ["True", "False", "Unknown"], "description": "Whether the condition holds." },
                "observedGeneration": { "type": "integer", "format": "int64", "description": "The generation of the spec the condition was computed from." },
                "lastTransitionTime": { "type": "string", "format": "date-time", "description": "When the status last changed." },
                "reason": { "type": "string", "description": "Why, in one CamelCase word: Synced, or an error category such as InvalidSpec, OwnershipConflict, IamTransient." },
                "message": { "type": "string", "description": "What happened, for a person: what is wrong and what to do." }
            }
        }
    })
}

/// The CRD as YAML, exactly as committed under `crds/`.
pub fn crd_yaml() -> Result<String, serde_saphyr::SerializeError> {
    let crd = IamRole::crd();
    serde_saphyr::to_string(&crd)
}

/// The CRDs of `kind` (every kind when `None`) as YAML, each exactly as committed under
/// `crds/`, several as one multi-document stream.
pub fn crds_yaml(
    kind: Option<crate::cli::CrdKind>,
) -> Result<String, serde_saphyr::SerializeError> {
    use clap::ValueEnum;
    let kinds = match kind {
        Some(kind) => vec![kind],
        None => crate::cli::CrdKind::value_variants().to_vec(),
    };
    let documents = kinds
        .into_iter()
        .map(crd_yaml_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(documents.join("---\n"))
}

/// The CRD of `kind` as YAML, exactly as committed under `crds/`.
pub fn crd_yaml_of(kind: crate::cli::CrdKind) -> Result<String, serde_saphyr::SerializeError> {
    match kind {
        crate::cli::CrdKind::IamRole => crd_yaml(),
        crate::cli::CrdKind::IamPolicy => serde_saphyr::to_string(&IamPolicy::crd()),
        crate::cli::CrdKind::RoleGuardrail => serde_saphyr::to_string(&RoleGuardrail::crd()),
        crate::cli::CrdKind::AwsAccount => serde_saphyr::to_string(&AwsAccount::crd()),
        crate::cli::CrdKind::IamServiceLinkedRole => {
            serde_saphyr::to_string(&IamServiceLinkedRole::crd())
        }
    }
}

#[cfg(test)]
mod tests;
