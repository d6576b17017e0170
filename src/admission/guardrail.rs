//! Guardrails the cluster's administrators set on roles (`RoleGuardrail`): findings that refuse
//! instead of warn, a required permissions boundary, actions no inline policy may allow, the only
//! other accounts a trust policy may name, a longest session. Every guardrail that covers the
//! object's namespace applies, and every violation is reported: guardrails add up.
//!
//! Each kind of violation has its own [`Rule`] (all in the `GuardrailViolation` category), so
//! the metric label and the condition say which rule refused the role; the message names the
//! guardrail.

use super::findings::catalog_findings;
use super::problem::{Problem, Rule};
use crate::model::DesiredRole;
use crate::policy;

/// One `RoleGuardrail`, as admission reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guardrail {
    /// The object's name, quoted in every message.
    pub name: String,
    /// Namespaces covered, by name; `*` covers every one. Empty covers none.
    pub namespaces: Vec<String>,
    /// Findings that refuse the role instead of warning about it.
    pub deny: Vec<Rule>,
    /// When not empty, the role must set one of these permissions boundaries.
    pub require_permissions_boundary: Vec<String>,
    /// Actions (IAM's wildcards allowed) no inline policy may allow.
    pub deny_actions: Vec<String>,
    /// When set, the only accounts besides the role's own that its trust policy may name.
    pub allowed_trust_accounts: Option<Vec<String>>,
    /// When set, the longest maxSessionDuration (seconds) a role may have.
    pub max_session_duration: Option<i32>,
}

impl Guardrail {
    pub fn covers(&self, namespace: &str) -> bool {
        self.namespaces.iter().any(|n| n == "*" || n == namespace)
    }
}

/// Every violation of the guardrails covering `namespace` by `desired`, guardrail by guardrail
/// in the order given. `own_account_id`: the account the role lives in, when known; unknown, it
/// too must be in `allowedTrustAccounts` for the trust policy to name it.
pub fn guardrail_problems(
    namespace: &str,
    desired: &DesiredRole,
    guardrails: &[Guardrail],
    own_account_id: Option<&str>,
) -> Vec<Problem> {
    let covering: Vec<&Guardrail> = guardrails.iter().filter(|g| g.covers(namespace)).collect();
    if covering.is_empty() {
        return Vec::new();
    }
    let findings = catalog_findings(desired, own_account_id);
    let mut problems = Vec::new();
    for guardrail in covering {
        let name = &guardrail.name;
        for finding in findings
            .iter()
            .filter(|f| guardrail.deny.contains(&f.check))
        {
            problems.push(Problem::new(
                finding.location.field(),
                Rule::GuardrailDeniedFinding,
                format!(
                    "RoleGuardrail {name} denies finding {}: {}",
                    finding.check, finding.message
                ),
            ));
        }
        problems.extend(boundary_problem(guardrail, desired));
        problems.extend(denied_action_problems(guardrail, desired));
        problems.extend(trust_account_problems(guardrail, desired, own_account_id));
        if let Some(max) = guardrail.max_session_duration
            && desired.max_session_duration > max
        {
            problems.push(Problem::new(
                "spec.maxSessionDuration",
                Rule::GuardrailSessionDuration,
                format!(
                    "{} seconds is above the {max} RoleGuardrail {name} allows: lower it to {max} or less",
                    desired.max_session_duration
                ),
            ));
        }
    }
    problems
}

fn boundary_problem(guardrail: &Guardrail, desired: &DesiredRole) -> Option<Problem> {
    let required = &guardrail.require_permissions_boundary;
    if required.is_empty()
        || desired
            .permissions_boundary
            .as_ref()
            .is_some_and(|set| required.contains(set))
    {
        return None;
    }
    let name = &guardrail.name;
    let allowed = required.join(", ");
    let message = match &desired.permissions_boundary {
        None => format!(
            "RoleGuardrail {name} requires a permissions boundary: set it to one of {allowed}"
        ),
        Some(set) => {
            format!("{set} is not a boundary RoleGuardrail {name} accepts: use one of {allowed}")
        }
    };
    Some(Problem::new(
        "spec.permissionsBoundary",
        Rule::GuardrailPermissionsBoundary,
        message,
    ))
}

fn denied_action_problems(guardrail: &Guardrail, desired: &DesiredRole) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (policy_name, text) in &desired.inline_policies {
        for action in &guardrail.deny_actions {
            if policy::allows_actions_matching(text, action) {
                problems.push(Problem::new(
                    format!("spec.inlinePolicies.{policy_name}"),
                    Rule::GuardrailDeniedAction,
                    format!(
                        "allows {action}, which RoleGuardrail {} denies: remove it from the policy's actions",
                        guardrail.name
                    ),
                ));
            }
        }
    }
    problems
}

fn trust_account_problems(
    guardrail: &Guardrail,
    desired: &DesiredRole,
    own_account_id: Option<&str>,
) -> Vec<Problem> {
    let Some(allowed) = &guardrail.allowed_trust_accounts else {
        return Vec::new();
    };
    policy::trusted_accounts(&desired.assume_role_policy)
        .into_iter()
        .filter(|account| own_account_id != Some(account.as_str()) && !allowed.contains(account))
        .map(|account| {
            let who = if account == "*" {
                "every AWS account (Principal \"*\")".to_string()
            } else {
                format!("account {account}")
            };
            Problem::new(
                "spec.assumeRolePolicy",
                Rule::GuardrailTrustAccount,
                format!(
                    "trusts {who}, which RoleGuardrail {} does not allow: trust only the accounts in its allowedTrustAccounts",
                    guardrail.name
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
