//! Guardrails that do not block: risky but legitimate choices the user should see.

use super::limits::PARTITIONS;
use super::problem::{Finding, Rule, Severity};
use crate::arn::Arn;
use crate::model::DesiredRole;
use crate::policy;

/// AWS's AdministratorAccess policy, in any partition.
fn is_aws_admin_policy(arn: &str) -> bool {
    Arn::parse(arn).is_ok_and(|arn| {
        PARTITIONS.contains(&arn.partition)
            && arn.service == "iam"
            && arn.region.is_empty()
            && arn.account == "aws"
            && arn.resource == "policy/AdministratorAccess"
    })
}

/// Every finding for `desired`. `own_account_id`: the account the operator writes to, when
/// known; trust in any other account is cross-account.
pub fn findings(desired: &DesiredRole, own_account_id: Option<&str>) -> Vec<Finding> {
    let mut found = Vec::new();
    for (name, document) in &desired.inline_policies {
        if policy::grants_admin(document) {
            found.push(Finding::new(
                Rule::AdminAccess,
                Severity::High,
                format!("spec.inlinePolicies.{name}"),
                "allows every action on every resource (Action \"*\", Resource \"*\"): the role is an administrator; grant only the actions it needs",
            ));
        }
    }
    for arn in &desired.managed_policy_arns {
        if is_aws_admin_policy(arn) {
            found.push(Finding::new(
                Rule::AdminAccess,
                Severity::High,
                "spec.managedPolicyArns",
                format!(
                    "{arn} makes the role an administrator; attach policies that grant only what it needs"
                ),
            ));
        }
    }
    let trust = &desired.assume_role_policy;
    let field = "spec.assumeRolePolicy";
    for account in policy::untrusted_accounts_without_external_id(trust, own_account_id) {
        let whose = if own_account_id.is_some() {
            "another AWS account"
        } else {
            "an AWS account (the operator's own account is unknown)"
        };
        found.push(Finding::new(
            Rule::CrossAccountNoExternalId,
            Severity::High,
            field,
            format!(
                "{whose}, {account}, may assume the role without an sts:ExternalId condition; when a third party assumes it, require the external id they gave you (confused deputy)"
            ),
        ));
    }
    for provider in policy::web_identity_providers_without_subject(trust) {
        found.push(Finding::new(
            Rule::WebIdentityNoSubject,
            Severity::High,
            field,
            format!(
                "web identity provider {provider:?} is trusted without a condition on \"{provider}:sub\" or \"{provider}:aud\"; every identity it issues tokens for can assume the role"
            ),
        ));
    }
    for provider in policy::saml_providers_without_audience(trust) {
        found.push(Finding::new(
            Rule::SamlNoAudience,
            Severity::Medium,
            field,
            format!(
                "SAML provider {provider:?} is trusted without a SAML:aud condition; add StringEquals SAML:aud \"https://signin.aws.amazon.com/saml\""
            ),
        ));
    }
    found
}
