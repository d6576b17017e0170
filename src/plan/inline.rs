//! Inline policies: exclusive, and compared by meaning, not by text, because IAM hands documents
//! back reformatted: comparing text would rewrite them on every pass.

use std::collections::BTreeMap;

use crate::model::IamOp;
use crate::policy::equivalent;

#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct InlineChanges {
    /// Runs before the managed-policy changes: new permissions go in early.
    pub writes: Vec<IamOp>,
    /// Runs after them: old permissions go last.
    pub removals: Vec<IamOp>,
}

/// A policy renamed only in case is deleted just before it is written under its new name: IAM
/// treats many names case-insensitively, and deleting after the write could delete the new one.
pub(super) fn inline_policy_changes(
    role: &str,
    desired: &BTreeMap<String, String>,
    observed: &BTreeMap<String, String>,
) -> InlineChanges {
    let mut changes = InlineChanges::default();
    let stale = |name: &str| !desired.contains_key(name);
    for (name, document) in desired {
        match observed.get(name) {
            Some(current) if equivalent(document, current) => continue,
            Some(_) => {}
            None => {
                for old in observed.keys() {
                    if stale(old) && old.eq_ignore_ascii_case(name) {
                        changes.writes.push(delete(role, old));
                    }
                }
            }
        }
        changes.writes.push(IamOp::PutRolePolicy {
            role: role.to_string(),
            policy_name: name.clone(),
            document: document.clone(),
        });
    }
    let renamed_in_case = |old: &str| desired.keys().any(|name| name.eq_ignore_ascii_case(old));
    changes.removals = observed
        .keys()
        .filter(|old| stale(old) && !renamed_in_case(old))
        .map(|old| delete(role, old))
        .collect();
    changes
}

fn delete(role: &str, policy_name: &str) -> IamOp {
    IamOp::DeleteRolePolicy {
        role: role.to_string(),
        policy_name: policy_name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    const B: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn put(name: &str, document: &str) -> IamOp {
        IamOp::PutRolePolicy {
            role: "r".into(),
            policy_name: name.into(),
            document: document.into(),
        }
    }

    fn del(name: &str) -> IamOp {
        delete("r", name)
    }

    #[test]
    fn inline_policy_changes_table() {
        type Case<'a> = (
            &'a str,
            Vec<(&'a str, &'a str)>,
            Vec<(&'a str, &'a str)>,
            Vec<IamOp>,
            Vec<IamOp>,
        );
        let cases: Vec<Case> = vec![
            ("none", vec![], vec![], vec![], vec![]),
            ("in sync", vec![("a", A)], vec![("a", A)], vec![], vec![]),
            (
                "add",
                vec![("a", A), ("b", B)],
                vec![("a", A)],
                vec![put("b", B)],
                vec![],
            ),
            (
                "change",
                vec![("a", B)],
                vec![("a", A)],
                vec![put("a", B)],
                vec![],
            ),
            (
                "remove",
                vec![("a", A)],
                vec![("a", A), ("b", B)],
                vec![],
                vec![del("b")],
            ),
            (
                "rename",
                vec![("c", A)],
                vec![("a", A)],
                vec![put("c", A)],
                vec![del("a")],
            ),
            (
                "name order",
                vec![("z", A), ("b", B), ("m", A)],
                vec![],
                vec![put("b", B), put("m", A), put("z", A)],
                vec![],
            ),
            (
                "case-only rename deletes first",
                vec![("Logs", A)],
                vec![("logs", A)],
                vec![del("logs"), put("Logs", A)],
                vec![],
            ),
            (
                "case-only rename with a new document",
                vec![("Logs", B), ("x", A)],
                vec![("logs", A), ("x", A), ("y", A)],
                vec![del("logs"), put("Logs", B)],
                vec![del("y")],
            ),
            (
                "both cases desired: neither deleted",
                vec![("Logs", A), ("logs", A)],
                vec![("logs", A)],
                vec![put("Logs", A)],
                vec![],
            ),
        ];
        for (name, desired, observed, writes, removals) in cases {
            let got = inline_policy_changes("r", &map(&desired), &map(&observed));
            assert_eq!(got, InlineChanges { writes, removals }, "{name}");
        }
    }
}
