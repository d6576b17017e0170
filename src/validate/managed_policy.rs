//! IAM's input rules for a customer managed policy (an `IamPolicy`), and its guardrail findings.
//! The rules shared with roles (path, description, tags, names) are the role's own checks.

use super::{POLICY_NAME_MAX, description_problems, name_problems, path_problems, tag_problems};
use crate::model::DesiredPolicy;
use crate::policy::{self, DocumentKind};

/// IAM's limit on a managed policy document, whitespace not counted.
const MANAGED_POLICY_MAX: usize = 6144;

/// Every IAM input rule the desired policy breaks. Empty means IAM should accept it.
pub fn validate_policy(desired: &DesiredPolicy) -> Vec<String> {
    let mut problems = name_problems("spec.policyName", "", &desired.name, POLICY_NAME_MAX);
    problems.extend(path_problems(&desired.path));
    problems.extend(description_problems(&desired.description));
    problems.extend(
        policy::check_document(&desired.document, DocumentKind::Permissions)
            .into_iter()
            .map(|problem| format!("spec.document: {problem}")),
    );
    let size = policy::non_whitespace_len(&desired.document);
    if size > MANAGED_POLICY_MAX {
        problems.push(format!(
            "spec.document: is {size} characters long without whitespace; IAM allows {MANAGED_POLICY_MAX} for a managed policy (split it into several IamPolicies)"
        ));
    }
    problems.extend(tag_problems(&desired.tags));
    problems
}

/// Risky but legal documents: surfaced, never blocking.
pub fn policy_warnings(desired: &DesiredPolicy) -> Vec<String> {
    let mut warnings = Vec::new();
    if policy::grants_admin(&desired.document) {
        warnings.push(
            "spec.document: allows every action on every resource (Action \"*\", Resource \"*\"): every role it is attached to is an administrator; grant only the actions needed".to_string(),
        );
    }
    if policy::allows_all_but_on_everything(&desired.document) {
        warnings.push(
            "spec.document: allows every action except those in NotAction on every resource: nearly an administrator, and actions AWS adds later are granted too; list the allowed actions instead".to_string(),
        );
    }
    warnings
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn desired(name: &str, document: &str) -> DesiredPolicy {
        DesiredPolicy {
            name: name.into(),
            path: "/".into(),
            description: String::new(),
            document: document.into(),
            tags: BTreeMap::new(),
            ignored_tag_keys: Vec::new(),
        }
    }

    const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

    #[test]
    fn problems_table() {
        let oversize = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}/*"}}]}}"#,
            "b".repeat(6100)
        );
        let cases = [
            ("team-a.shared", READ.to_string(), None),
            ("", READ.to_string(), Some("spec.policyName: is empty")),
            ("has space", READ.to_string(), Some("spec.policyName: \"has space\" contains")),
            (&"p".repeat(129), READ.to_string(), Some("is 129 characters long; IAM allows 1 to 128")),
            ("x", oversize, Some("spec.document: is 6210 characters long without whitespace; IAM allows 6144")),
            ("x", "[]".to_string(), Some("spec.document: must be a JSON object")),
            (
                "x",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#.to_string(),
                Some("spec.document: Statement[0]"),
            ),
        ];
        for (name, document, want) in cases {
            let problems = validate_policy(&desired(name, &document));
            match want {
                None => assert!(problems.is_empty(), "{name}: {problems:?}"),
                Some(fragment) => assert!(
                    problems.iter().any(|p| p.contains(fragment)),
                    "{name}: {fragment:?} not in {problems:?}"
                ),
            }
        }
    }

    #[test]
    fn warnings_table() {
        let cases = [
            (READ, 0),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                1,
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#,
                1,
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}]}"#,
                0,
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::b/*"}]}"#,
                0,
            ),
        ];
        for (document, want) in cases {
            assert_eq!(
                policy_warnings(&desired("x", document)).len(),
                want,
                "{document}"
            );
        }
    }
}
