//! Findings: what is risky about a role, beyond what IAM refuses. One list of checks
//! ([`CHECKS`]), each with a stable id, a severity and a message that says what to change,
//! shared by the operator (the `Warnings` condition, Warning Events, metrics), `rolesmith plan`
//! and `rolesmith audit`.
//!
//! The checks come from the policy linters' best rules (IAM Access Analyzer's policy checks,
//! Parliament, Cloudsplaining, Prowler), one file per family: [`trust`] (who may assume the
//! role), [`permissions`] (what its policies grant), [`escalation`] (grants that let it grant
//! itself more) and [`hygiene`] (boundary, use, account quota). Everything here is pure: the
//! caller reads IAM or the spec and hands over plain text and timestamps.

mod escalation;
mod hygiene;
mod permissions;
mod trust;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::admission::{Rule, Severity};

pub use escalation::ESCALATION_METHODS;
pub use hygiene::{QUOTA_WARNING_PERCENT, account_quota, unused_role};

/// Every check of the catalog, in the order findings are listed.
pub const CHECKS: [Rule; 17] = [
    Rule::WildcardTrust,
    Rule::CrossAccountNoExternalId,
    Rule::ServiceTrustNoSource,
    Rule::WebIdentityNoSubject,
    Rule::WebIdentityNoAudience,
    Rule::PodIdentityNoTagConditions,
    Rule::SamlNoAudience,
    Rule::AdminAccess,
    Rule::NotActionAllow,
    Rule::NotResourceAllow,
    Rule::NotPrincipalAllow,
    Rule::PassRoleWildcard,
    Rule::PrivilegeEscalation,
    Rule::ForAllValuesSingleValued,
    Rule::NoPermissionsBoundary,
    Rule::UnusedRole,
    Rule::AccountQuota,
];

/// One sentence on what a check looks for (SARIF rule descriptions); empty for rules that are
/// not checks of the catalog.
pub fn summary(check: Rule) -> &'static str {
    match check {
        Rule::WildcardTrust => {
            "The trust policy lets any AWS principal (Principal \"*\") assume the role."
        }
        Rule::CrossAccountNoExternalId => {
            "Another account may assume the role without an sts:ExternalId condition (confused deputy)."
        }
        Rule::ServiceTrustNoSource => {
            "A service principal may assume the role without an aws:SourceArn or aws:SourceAccount condition (cross-service confused deputy)."
        }
        Rule::WebIdentityNoSubject => {
            "An OIDC provider is trusted without a condition on its subject claim."
        }
        Rule::WebIdentityNoAudience => {
            "An OIDC provider is trusted without a condition on its audience claim."
        }
        Rule::PodIdentityNoTagConditions => {
            "EKS Pod Identity is trusted without conditions on the session tags that name the cluster, namespace or service account."
        }
        Rule::SamlNoAudience => "A SAML provider is trusted without a SAML:aud condition.",
        Rule::AdminAccess => "The role may perform every action on every resource.",
        Rule::NotActionAllow => {
            "An Allow statement uses NotAction, which grants every action not listed, including future ones."
        }
        Rule::NotResourceAllow => {
            "An Allow statement uses NotResource, which grants on every resource not listed."
        }
        Rule::NotPrincipalAllow => {
            "An Allow statement uses NotPrincipal, which lets in every principal not listed."
        }
        Rule::PassRoleWildcard => {
            "iam:PassRole is allowed on every role without an iam:PassedToService condition."
        }
        Rule::PrivilegeEscalation => {
            "The permissions let the role grant itself or another principal more permissions."
        }
        Rule::ForAllValuesSingleValued => {
            "ForAllValues is used with a single-valued condition key, which also matches when the key is absent."
        }
        Rule::NoPermissionsBoundary => "The role has no permissions boundary.",
        Rule::UnusedRole => "The role has not been used for longer than the allowed time.",
        Rule::AccountQuota => "The account is close to or at its quota of IAM roles.",
        _ => "",
    }
}

/// Which part of the role a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Location {
    Trust,
    Inline(String),
    /// A managed policy, by ARN: attached, or read as its default version.
    Managed(String),
    /// The permissions as a whole (a combination of grants from several policies).
    Permissions,
    Boundary,
    Role,
    Account,
}

impl Location {
    /// The IamRole field it is about (`spec.assumeRolePolicy`, `spec.inlinePolicies.<name>`…).
    pub fn field(&self) -> String {
        match self {
            Location::Trust => "spec.assumeRolePolicy".into(),
            Location::Inline(name) => format!("spec.inlinePolicies.{name}"),
            Location::Managed(_) => "spec.managedPolicyArns".into(),
            Location::Permissions => "spec.inlinePolicies".into(),
            Location::Boundary => "spec.permissionsBoundary".into(),
            Location::Role => "spec".into(),
            Location::Account => "account".into(),
        }
    }

    /// The same in IAM's words, for roles that have no IamRole (`rolesmith audit`).
    pub fn in_iam(&self) -> String {
        match self {
            Location::Trust => "trust policy".into(),
            Location::Inline(name) => format!("inline policy {name}"),
            Location::Managed(arn) => format!("managed policy {arn}"),
            Location::Permissions => "permissions".into(),
            Location::Boundary => "permissions boundary".into(),
            Location::Role => "role".into(),
            Location::Account => "account".into(),
        }
    }
}

/// One risky thing about a role, with where it is in the role's own terms (admission's
/// [`crate::admission::Finding`] keeps only the IamRole field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub check: Rule,
    pub severity: Severity,
    pub location: Location,
    /// What is wrong and what to change; does not repeat the location.
    pub message: String,
}

impl Finding {
    /// As admission reports it: the IamRole field and the message.
    pub fn to_admission(&self) -> crate::admission::Finding {
        crate::admission::Finding::new(
            self.check,
            self.severity,
            self.location.field(),
            self.message.clone(),
        )
    }

    fn new(check: Rule, severity: Severity, location: Location, message: String) -> Finding {
        Finding {
            check,
            severity,
            location,
            message,
        }
    }
}

/// When the role was created and last used, as IAM reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    pub now: jiff::Timestamp,
    pub created: jiff::Timestamp,
    pub last_used: Option<jiff::Timestamp>,
    pub last_used_region: Option<String>,
}

impl Usage {
    /// From IAM's dates as the adapter keeps them (RFC 3339); `None` without a readable
    /// creation date.
    pub fn from_iam(
        now: jiff::Timestamp,
        created: Option<&str>,
        last_used: Option<&crate::model::LastUsed>,
    ) -> Option<Usage> {
        let created = created?.parse().ok()?;
        Some(Usage {
            now,
            created,
            last_used: last_used
                .and_then(|used| used.date.as_deref())
                .and_then(|date| date.parse().ok()),
            last_used_region: last_used.and_then(|used| used.region.clone()),
        })
    }

    /// Whether the role counts as unused at `at`.
    pub fn unused_at(&self, at: jiff::Timestamp, after: Duration) -> bool {
        unused_role(
            &Usage {
                now: at,
                ..self.clone()
            },
            after,
        )
        .is_some()
    }
}

/// Everything the checks read about one role.
#[derive(Clone, Copy, Debug)]
pub struct RoleFacts<'a> {
    pub trust: &'a str,
    pub inline_policies: &'a BTreeMap<String, String>,
    pub managed_policy_arns: &'a [String],
    /// Default-version documents of attached managed policies, by ARN, where known (the account
    /// scan reads the customer managed ones; AWS managed ones are judged by ARN).
    pub managed_documents: &'a BTreeMap<String, String>,
    pub permissions_boundary: Option<&'a str>,
    /// The account the role lives in; unknown makes every account named in the trust policy
    /// "another account".
    pub own_account: Option<&'a str>,
    /// Unknown for a role that does not exist yet.
    pub usage: Option<&'a Usage>,
}

/// What the checks may be tuned with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Service principals that must come with `aws:SourceArn`/`aws:SourceAccount`.
    pub source_services: Vec<String>,
    /// How long a role may go unused before `unused-role`.
    pub unused_after: Duration,
}

/// Services that act on behalf of a resource another account may own, and pass the resource in
/// `aws:SourceArn`/`aws:SourceAccount`: without a condition on it, anyone's resource of that
/// service can make the service use the role. Compute services (ec2, lambda, ecs-tasks) assume a
/// role for a resource of this account only, and their trust policies are normally written
/// without those keys, so they are not in the list.
pub const DEFAULT_SOURCE_SERVICES: [&str; 10] = [
    "cloudtrail.amazonaws.com",
    "config.amazonaws.com",
    "delivery.logs.amazonaws.com",
    "events.amazonaws.com",
    "logs.amazonaws.com",
    "s3.amazonaws.com",
    "scheduler.amazonaws.com",
    "sns.amazonaws.com",
    "ssm.amazonaws.com",
    "states.amazonaws.com",
];

/// 90 days.
pub const DEFAULT_UNUSED_AFTER: Duration = Duration::from_secs(90 * 24 * 3600);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            source_services: DEFAULT_SOURCE_SERVICES.map(String::from).to_vec(),
            unused_after: DEFAULT_UNUSED_AFTER,
        }
    }
}

/// Every finding for one role, trust first, then permissions, then hygiene.
pub fn role_findings(role: &RoleFacts<'_>, settings: &Settings) -> Vec<Finding> {
    let mut found = trust::findings(role.trust, role.own_account, &settings.source_services);
    let documents = permission_documents(role);
    found.extend(permissions::findings(role, &documents));
    let admin = found.iter().any(|f| f.check == Rule::AdminAccess);
    // An administrator can do all of it already: naming each way up would only repeat that.
    if !admin {
        found.extend(escalation::findings(&documents));
    }
    found.extend(hygiene::findings(role, settings));
    found
}

/// The permissions documents of a role, each with where it comes from.
fn permission_documents<'a>(role: &RoleFacts<'a>) -> Vec<(Location, &'a str)> {
    let inline = role
        .inline_policies
        .iter()
        .map(|(name, text)| (Location::Inline(name.clone()), text.as_str()));
    let managed = role.managed_policy_arns.iter().filter_map(|arn| {
        role.managed_documents
            .get(arn)
            .map(|text| (Location::Managed(arn.clone()), text.as_str()))
    });
    inline.chain(managed).collect()
}
