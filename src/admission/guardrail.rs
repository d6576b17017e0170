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

/// The findings a guardrail may deny: the catalog's checks of the spec. `unused-role` and
/// `account-quota` are about the role's use and its account, not its spec: they only warn (a
/// role at the quota is refused by the quota check itself).
pub fn deniable(check: Rule) -> bool {
    crate::findings::CHECKS.contains(&check)
        && !matches!(check, Rule::UnusedRole | Rule::AccountQuota)
}

/// The catalog's checks that read the role's account: a guardrail denying one is evaluated with
/// the account ([`account_guardrail_problems`]).
const ACCOUNT_CHECKS: [Rule; 1] = [Rule::CrossAccountNoExternalId];

/// Every violation by `desired` of the guardrails covering `namespace` that needs no account,
/// guardrail by guardrail in the order given. Admission evaluates these; the rules that need
/// the role's account are [`account_guardrail_problems`].
pub fn guardrail_problems(
    namespace: &str,
    desired: &DesiredRole,
    guardrails: &[Guardrail],
) -> Vec<Problem> {
    let covering: Vec<&Guardrail> = guardrails.iter().filter(|g| g.covers(namespace)).collect();
    if covering.is_empty() {
        return Vec::new();
    }
    let findings = catalog_findings(desired, None);
    let mut problems = Vec::new();
    for guardrail in covering {
        let name = &guardrail.name;
        let denied = |check: &Rule| !ACCOUNT_CHECKS.contains(check);
        problems.extend(denied_findings(guardrail, &findings, denied));
        problems.extend(boundary_problem(guardrail, desired));
        problems.extend(denied_action_problems(guardrail, desired));
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

/// Every violation by `desired`, a role in account `account`, of the rules of the guardrails
/// covering `namespace` that need the role's account: `allowedTrustAccounts` ("accounts other
/// than the role's own") and denied findings that read the account. Evaluated where the account
/// is known, before any write.
pub fn account_guardrail_problems(
    namespace: &str,
    desired: &DesiredRole,
    guardrails: &[Guardrail],
    account: &str,
) -> Vec<Problem> {
    let covering: Vec<&Guardrail> = guardrails.iter().filter(|g| g.covers(namespace)).collect();
    if covering.is_empty() {
        return Vec::new();
    }
    let findings = catalog_findings(desired, Some(account));
    let mut problems = Vec::new();
    for guardrail in covering {
        problems.extend(denied_findings(guardrail, &findings, |check| {
            ACCOUNT_CHECKS.contains(check)
        }));
        problems.extend(trust_account_problems(guardrail, desired, account));
    }
    problems
}

/// The findings `guardrail` denies among those `which` selects.
fn denied_findings(
    guardrail: &Guardrail,
    findings: &[crate::findings::Finding],
    which: impl Fn(&Rule) -> bool,
) -> Vec<Problem> {
    findings
        .iter()
        .filter(|f| which(&f.check) && guardrail.deny.contains(&f.check))
        .map(|finding| {
            Problem::new(
                finding.location.field(),
                Rule::GuardrailDeniedFinding,
                format!(
                    "RoleGuardrail {} denies finding {}: {}",
                    guardrail.name, finding.check, finding.message
                ),
            )
        })
        .collect()
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
    account: &str,
) -> Vec<Problem> {
    let Some(allowed) = &guardrail.allowed_trust_accounts else {
        return Vec::new();
    };
    policy::trusted_accounts(&desired.assume_role_policy)
        .into_iter()
        .filter(|named| named != account && !allowed.contains(named))
        .map(|named| {
            let who = if named == "*" {
                "every AWS account (Principal \"*\")".to_string()
            } else {
                format!("account {named}")
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
