//! From a `RoleGuardrail` object to the plain [`Guardrail`] admission reads.

use crate::admission::{Guardrail, Problem, Rule, deniable};
use crate::api::RoleGuardrail;

/// The guardrail as admission reads it, and a problem for each `deny` entry that is not a
/// finding a guardrail may deny. The schema refuses those; an object written under an older CRD
/// may still carry one, and what can be read of it is enforced all the same.
pub fn guardrail(object: &RoleGuardrail) -> (Guardrail, Vec<Problem>) {
    let spec = &object.spec;
    let mut problems = Vec::new();
    let mut deny = Vec::new();
    for (index, id) in spec.deny.iter().enumerate() {
        match Rule::ALL.iter().find(|rule| rule.id() == id) {
            Some(rule) if deniable(*rule) => deny.push(*rule),
            _ => problems.push(Problem::new(
                format!("spec.deny[{index}]"),
                Rule::MalformedField,
                format!(
                    "{id:?} is not a finding a RoleGuardrail can deny; use one of {}",
                    deniable_ids().join(", ")
                ),
            )),
        }
    }
    let guardrail = Guardrail {
        name: object.metadata.name.clone().unwrap_or_default(),
        namespaces: spec.namespaces.clone(),
        deny,
        require_permissions_boundary: spec.require_permissions_boundary.clone(),
        deny_actions: spec.deny_actions.clone(),
        allowed_trust_accounts: spec.allowed_trust_accounts.clone(),
        max_session_duration: spec.max_session_duration,
    };
    (guardrail, problems)
}

/// The ids `spec.deny` accepts, in the catalog's order.
pub fn deniable_ids() -> Vec<&'static str> {
    crate::findings::CHECKS
        .iter()
        .filter(|rule| deniable(**rule))
        .map(|rule| rule.id())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(spec: serde_json::Value) -> RoleGuardrail {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "iam.rolesmith.dev/v1alpha1",
            "kind": "RoleGuardrail",
            "metadata": {"name": "platform"},
            "spec": spec,
        }))
        .expect("a RoleGuardrail")
    }

    #[test]
    fn every_field_reaches_admission() {
        let (guardrail, problems) = guardrail(&object(serde_json::json!({
            "namespaces": ["team-a", "*"],
            "deny": ["admin-access", "no-permissions-boundary"],
            "requirePermissionsBoundary": ["arn:aws:iam::111111111111:policy/b"],
            "denyActions": ["iam:*"],
            "allowedTrustAccounts": [],
            "maxSessionDuration": 7200,
        })));
        assert_eq!(problems, vec![]);
        assert_eq!(
            guardrail,
            Guardrail {
                name: "platform".into(),
                namespaces: vec!["team-a".into(), "*".into()],
                deny: vec![Rule::AdminAccess, Rule::NoPermissionsBoundary],
                require_permissions_boundary: vec!["arn:aws:iam::111111111111:policy/b".into()],
                deny_actions: vec!["iam:*".into()],
                allowed_trust_accounts: Some(vec![]),
                max_session_duration: Some(7200),
            }
        );
    }

    #[test]
    fn unset_fields_restrict_nothing() {
        let (guardrail, problems) = guardrail(&object(serde_json::json!({"namespaces": ["a"]})));
        assert_eq!(problems, vec![]);
        assert_eq!(guardrail.allowed_trust_accounts, None);
        assert_eq!(guardrail.max_session_duration, None);
        assert!(guardrail.deny.is_empty() && guardrail.require_permissions_boundary.is_empty());
    }

    /// What an older CRD let through: reported by field, the rest still enforced.
    #[test]
    fn ids_that_cannot_be_denied() {
        let (guardrail, problems) = guardrail(&object(serde_json::json!({
            "namespaces": ["a"],
            "deny": ["admin-access", "no-such-check", "unused-role", "path-empty"],
        })));
        assert_eq!(guardrail.deny, vec![Rule::AdminAccess]);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["spec.deny[1]", "spec.deny[2]", "spec.deny[3]"]);
        assert!(
            problems[0].message.contains("admin-access, "),
            "{}",
            problems[0]
        );
        assert!(!deniable_ids().contains(&"unused-role"));
    }
}
