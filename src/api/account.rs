//! The `AwsAccount` API (`iam.rolesmith.dev/v1alpha1`): an AWS account rolesmith may manage
//! roles in, the credentials it uses there, and which namespaces may put roles in it.
//!
//! Everything one object can say about itself is checked by the schema (ids, ARNs, STS's
//! character sets and lengths). What needs other objects (one default at most) or AWS (the
//! credentials act in `accountId`) is the operator's: a condition on the object, and no call
//! with its credentials until it is fixed.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use super::conditions_schema;

/// Twelve digits, as AWS writes account ids.
pub const ACCOUNT_ID_PATTERN: &str = r"^[0-9]{12}$";
/// A role's ARN in one of the three partitions. Path and name characters are IAM's (no `:`), so
/// the account part is the only `::…:role/` in it.
pub const ROLE_ARN_PATTERN: &str =
    r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,576}$";
/// STS AssumeRole's ExternalId characters, `[\w+=,.@:/-]` (2-1224 of them: the length is a
/// separate bound, since Go's regexp, which the API server uses, refuses repeats over 1000).
pub const EXTERNAL_ID_PATTERN: &str = r"^[A-Za-z0-9_+=,.@:/-]+$";
/// STS AssumeRole's RoleSessionName: 2-64 of `[\w+=,.@-]`.
pub const SESSION_NAME_PATTERN: &str = r"^[A-Za-z0-9_+=,.@-]{2,64}$";
/// A namespace name (RFC 1123 label) or `*`.
pub const NAMESPACE_PATTERN: &str = r"^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$";
/// STS accepts at most 50 session tags.
pub const SESSION_TAGS_MAX: usize = 50;
/// STS's bounds on a session tag's key and value.
pub const SESSION_TAG_KEY_MAX: usize = 128;
pub const SESSION_TAG_VALUE_MAX: usize = 256;
/// Enough for every namespace of a large cluster; `*` covers the rest.
pub const ALLOWED_NAMESPACES_MAX: usize = 256;
/// The session name when the spec names none.
pub const DEFAULT_SESSION_NAME: &str = "rolesmith";
/// Held on every AwsAccount while IamRoles use it.
pub const ACCOUNT_FINALIZER: &str = "iam.rolesmith.dev/account-in-use";

/// An AWS account rolesmith manages roles in.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "iam.rolesmith.dev",
    version = "v1alpha1",
    kind = "AwsAccount",
    status = "AwsAccountStatus",
    shortname = "awsacct",
    category = "rolesmith",
    doc = "An AWS account rolesmith manages IAM roles in: the credentials it uses there (its own, or a role it assumes with an optional ExternalId) and which namespaces may put roles in it.",
    printcolumn = r#"{"name":"Account","type":"string","jsonPath":".spec.accountId","description":"The AWS account id"}"#,
    printcolumn = r#"{"name":"Default","type":"boolean","jsonPath":".spec.default","description":"Used by IamRoles that name no account"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status","description":"Whether the credentials act in the account"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason","priority":1,"description":"Why the account is or is not ready"}"#,
    printcolumn = r#"{"name":"Caller","type":"string","jsonPath":".status.callerArn","priority":1,"description":"Who the credentials are, as STS says"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("self.accountId == oldSelf.accountId").message("accountId is immutable: the roles made in the old account would be orphaned; create another AwsAccount instead"))]
#[x_kube(validation = Rule::new("!has(self.assumeRole) || self.assumeRole.roleArn.contains(':iam::' + self.accountId + ':role/')").message("assumeRole.roleArn must be a role in accountId"))]
#[serde(rename_all = "camelCase")]
pub struct AwsAccountSpec {
    /// The AWS account id (12 digits). Immutable.
    #[schemars(regex(pattern = ACCOUNT_ID_PATTERN), length(min = 12, max = 12))]
    pub account_id: String,

    /// The role rolesmith assumes (from its own credentials) to act in the account. Without it
    /// rolesmith's own credentials are used, and they must belong to accountId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role: Option<AssumeRole>,

    /// Namespaces whose IamRoles may use this account, by name, or `*` for every namespace. An
    /// empty list allows none. Removing a namespace stops rolesmith's writes there at once; its
    /// existing roles are left as they are, never deleted.
    #[schemars(length(max = ALLOWED_NAMESPACES_MAX), inner(regex(pattern = NAMESPACE_PATTERN), length(min = 1, max = 63)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub allowed_namespaces: Vec<String>,

    /// Used by IamRoles that name no account (spec.accountRef). At most one AwsAccount may be
    /// the default: when two are, both report it and neither is used as the default.
    #[serde(default)]
    pub default: bool,
}

/// How rolesmith gets credentials in the account.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssumeRole {
    /// ARN of the role to assume; it must be in accountId, and its trust policy must let
    /// rolesmith's own identity assume it (with the ExternalId, when one is set).
    #[schemars(regex(pattern = ROLE_ARN_PATTERN), length(min = 20, max = 2048))]
    pub role_arn: String,

    /// The ExternalId the role's trust policy requires (2-1224 of A-Z a-z 0-9 _ + = , . @ : / -).
    /// Never shown in logs, Events, status or metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = EXTERNAL_ID_PATTERN), length(min = 2, max = 1224))]
    pub external_id: Option<String>,

    /// The session name in the account's CloudTrail (2-64 of A-Z a-z 0-9 _ + = , . @ -; default
    /// `rolesmith`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SESSION_NAME_PATTERN), length(min = 2, max = 64))]
    pub session_name: Option<String>,

    /// Session tags passed to AssumeRole (at most 50; keys 1-128 characters, values up to 256;
    /// letters, digits, spaces and _ . : / = + - @).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "session_tags_schema")]
    pub session_tags: BTreeMap<String, String>,
}

kind_status! {
    /// What rolesmith last verified. The Ready condition's reason: Verified, AssumeRoleDenied,
    /// WrongAccount, DuplicateDefault, InvalidSpec, StsUnavailable, or AccountInUse while a
    /// deletion waits for the IamRoles that use the account.
    pub struct AwsAccountStatus {
        /// Who the credentials are in the account, as sts:GetCallerIdentity answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub caller_arn: Option<String>,
        /// When the credentials were last checked with sts:GetCallerIdentity.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("format" = "date-time"))]
        pub last_verified_time: Option<String>,
        /// IamRoles (`namespace/name`) that use the account (at most 50 listed): the AwsAccount
        /// is not deleted while there are any.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[schemars(length(max = 50))]
        pub used_by: Vec<String>,
    }
}

fn session_tags_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": SESSION_TAGS_MAX,
        "description": "Session tags: key to value.",
        "additionalProperties": { "type": "string", "maxLength": SESSION_TAG_VALUE_MAX },
        "x-kubernetes-validations": [
            {
                "rule": "self.all(k, size(k) >= 1 && size(k) <= 128)",
                "message": "session tag keys must be 1 to 128 characters long"
            },
            {
                "rule": "self.all(k, self[k].matches('^[\\\\p{L}\\\\p{Z}\\\\p{N}_.:/=+@-]*$'))",
                "message": "session tag values may contain only letters, digits, spaces and _ . : / = + - @"
            }
        ]
    })
}

impl AwsAccountSpec {
    /// What the schema refuses, checked again: an AwsAccount written under an older or
    /// hand-edited CRD must not reach STS either. Each problem is one sentence; the ExternalId
    /// and session tag values are never quoted.
    pub fn problems(&self) -> Vec<String> {
        let matches = |pattern: &str, text: &str| {
            regex::Regex::new(pattern).is_ok_and(|re| re.is_match(text))
        };
        let mut problems = Vec::new();
        if !matches(ACCOUNT_ID_PATTERN, &self.account_id) {
            problems.push(format!("accountId {:?} is not 12 digits", self.account_id));
        }
        for namespace in &self.allowed_namespaces {
            if !matches(NAMESPACE_PATTERN, namespace) || namespace.len() > 63 {
                problems.push(format!(
                    "allowedNamespaces entry {namespace:?} is neither a namespace name nor *"
                ));
            }
        }
        if let Some(assume) = &self.assume_role {
            if !matches(ROLE_ARN_PATTERN, &assume.role_arn) {
                problems.push(format!(
                    "assumeRole.roleArn {:?} is not a role ARN",
                    assume.role_arn
                ));
            } else if !assume
                .role_arn
                .contains(&format!(":iam::{}:role/", self.account_id))
            {
                problems.push(format!(
                    "assumeRole.roleArn {:?} is not in account {}",
                    assume.role_arn, self.account_id
                ));
            }
            if let Some(external_id) = &assume.external_id
                && (!matches(EXTERNAL_ID_PATTERN, external_id)
                    || !(2..=1224).contains(&external_id.len()))
            {
                problems.push(
                    "assumeRole.externalId must be 2-1224 of A-Z a-z 0-9 _ + = , . @ : / -".into(),
                );
            }
            if let Some(session) = &assume.session_name
                && !matches(SESSION_NAME_PATTERN, session)
            {
                problems.push(format!(
                    "assumeRole.sessionName {session:?} must be 2-64 of A-Z a-z 0-9 _ + = , . @ -"
                ));
            }
            if assume.session_tags.len() > SESSION_TAGS_MAX {
                problems.push(format!(
                    "assumeRole.sessionTags has {} tags; STS accepts at most {SESSION_TAGS_MAX}",
                    assume.session_tags.len()
                ));
            }
            let bad_tag = assume.session_tags.iter().any(|(key, value)| {
                key.is_empty()
                    || key.chars().count() > SESSION_TAG_KEY_MAX
                    || value.chars().count() > SESSION_TAG_VALUE_MAX
            });
            if bad_tag {
                problems.push(format!(
                    "assumeRole.sessionTags keys must be 1-{SESSION_TAG_KEY_MAX} characters and values at most {SESSION_TAG_VALUE_MAX}"
                ));
            }
        }
        problems
    }

    /// Whether IamRoles of `namespace` may use the account.
    pub fn allows(&self, namespace: &str) -> bool {
        self.allowed_namespaces
            .iter()
            .any(|allowed| allowed == "*" || allowed == namespace)
    }
}

#[cfg(test)]
mod tests;
