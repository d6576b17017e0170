//! Managed policy attachments: compared as sets, because IAM lists them in its own order and the
//! order in the spec means nothing.

use crate::model::IamOp;

/// IAM's default limit of attached managed policies per role. It can be raised to 20, but the
/// plan cannot see the account's quota, so it assumes the default.
const ATTACHED_POLICY_QUOTA: usize = 10;

/// Attach before detach, so a policy swap never leaves the role without the permissions both
/// grant; unless attaching first would push the role over the quota, in which case the detaches
/// must make room.
pub(super) fn managed_policy_ops(
    role: &str,
    desired: &[String],
    observed: &[String],
) -> Vec<IamOp> {
    let observed = unique(observed);
    let desired = unique(desired);
    let attach = desired
        .iter()
        .filter(|arn| !observed.contains(arn))
        .map(|arn| IamOp::AttachRolePolicy {
            role: role.to_string(),
            policy_arn: arn.to_string(),
        });
    let detach = observed
        .iter()
        .filter(|arn| !desired.contains(arn))
        .map(|arn| IamOp::DetachRolePolicy {
            role: role.to_string(),
            policy_arn: arn.to_string(),
        });
    let attach: Vec<IamOp> = attach.collect();
    if observed.len() + attach.len() > ATTACHED_POLICY_QUOTA {
        detach.chain(attach).collect()
    } else {
        attach.into_iter().chain(detach).collect()
    }
}

/// First occurrence wins, so the ops follow the order the ARNs were written in.
pub(super) fn unique(arns: &[String]) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::with_capacity(arns.len());
    for arn in arns {
        if !seen.contains(&arn.as_str()) {
            seen.push(arn);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arns(names: &[&str]) -> Vec<String> {
        names
            .iter()
            .map(|n| format!("arn:aws:iam::aws:policy/{n}"))
            .collect()
    }

    fn attach(name: &str) -> IamOp {
        IamOp::AttachRolePolicy {
            role: "r".into(),
            policy_arn: format!("arn:aws:iam::aws:policy/{name}"),
        }
    }

    fn detach(name: &str) -> IamOp {
        IamOp::DetachRolePolicy {
            role: "r".into(),
            policy_arn: format!("arn:aws:iam::aws:policy/{name}"),
        }
    }

    #[test]
    fn managed_policy_ops_table() {
        let nine = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"];
        let ten = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"];
        let nine_plus = |extra: &[&'static str]| {
            let mut v = nine.to_vec();
            v.extend_from_slice(extra);
            v
        };
        // (case, desired, observed, expected ops)
        type Case = (
            &'static str,
            Vec<&'static str>,
            Vec<&'static str>,
            Vec<IamOp>,
        );
        let cases: Vec<Case> = vec![
            ("none", vec![], vec![], vec![]),
            ("in sync", vec!["a", "b"], vec!["a", "b"], vec![]),
            ("reordered", vec!["b", "a"], vec!["a", "b"], vec![]),
            (
                "duplicates in spec",
                vec!["a", "b", "a"],
                vec!["a", "b"],
                vec![],
            ),
            ("add", vec!["a", "b"], vec!["a"], vec![attach("b")]),
            (
                "add keeps spec order",
                vec!["c", "a", "b"],
                vec!["a"],
                vec![attach("c"), attach("b")],
            ),
            (
                "add duplicate attaches once",
                vec!["b", "b"],
                vec![],
                vec![attach("b")],
            ),
            ("remove", vec!["a"], vec!["a", "b"], vec![detach("b")]),
            (
                "remove all",
                vec![],
                vec!["a", "b"],
                vec![detach("a"), detach("b")],
            ),
            (
                "swap attaches first",
                vec!["a", "c"],
                vec!["a", "b"],
                vec![attach("c"), detach("b")],
            ),
            (
                "swap reaching exactly 10 attaches first",
                ten.to_vec(),
                nine_plus(&[]),
                vec![attach("p10")],
            ),
            (
                "swap at 9 + 1 = 10 attaches first",
                nine_plus(&["new"]).into_iter().skip(1).collect(),
                nine_plus(&[]),
                vec![attach("new"), detach("p1")],
            ),
            (
                "swap at 10 + 1 > 10 detaches first",
                ten[1..].iter().copied().chain(["new"]).collect(),
                ten.to_vec(),
                vec![detach("p1"), attach("new")],
            ),
            (
                "two swaps at 9 + 2 > 10 detach first",
                nine[2..].iter().copied().chain(["x", "y"]).collect(),
                nine.to_vec(),
                vec![detach("p1"), detach("p2"), attach("x"), attach("y")],
            ),
            (
                "ARNs are case-sensitive",
                vec!["A"],
                vec!["a"],
                vec![attach("A"), detach("a")],
            ),
        ];
        for (name, desired, observed, want) in cases {
            let got = managed_policy_ops("r", &arns(&desired), &arns(&observed));
            assert_eq!(got, want, "{name}");
        }
    }
}
