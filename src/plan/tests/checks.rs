//! The checks every whole-plan case goes through.

use super::fixtures::owner;
use super::iam_model::Iam;
use crate::model::{DesiredRole, IamOp, ObservedRole};
use crate::plan::plan_apply;
use crate::plan::tags::is_protected;

/// The plan is exactly `want`, it never untags a key it tagged earlier or a protected key, it
/// replays against the IAM model without an error, and planning again afterwards finds nothing.
pub fn assert_plan(
    case: &str,
    desired: &DesiredRole,
    observed: Option<ObservedRole>,
    adopt: bool,
    want: &[IamOp],
) {
    let ops = plan_apply(desired, observed.as_ref(), &owner(), adopt)
        .unwrap_or_else(|e| panic!("{case}: unexpected error: {e}"));
    assert_eq!(ops, want, "{case}");
    assert_tag_order(case, &ops);
    let mut iam = Iam {
        role: observed,
        ..Iam::default()
    };
    let before = iam.role.clone();
    for (step, op) in ops.iter().enumerate() {
        iam.run(std::slice::from_ref(op))
            .unwrap_or_else(|e| panic!("{case}: IAM refused the plan: {e}"));
        if let (Some(old), Some(now)) = (&before, &iam.role) {
            assert_never_wider(
                &format!("{case}, after write {}", step + 1),
                old,
                desired,
                now,
            );
        }
    }
    let again = plan_apply(desired, iam.role.as_ref(), &owner(), adopt)
        .unwrap_or_else(|e| panic!("{case}: second plan failed: {e}"));
    assert_eq!(
        again,
        Vec::<IamOp>::new(),
        "{case}: second plan is not empty"
    );
}

/// TagRole then UntagRole of the same (case-insensitive) key would delete the new tag.
pub fn assert_tag_order(case: &str, ops: &[IamOp]) {
    for (i, op) in ops.iter().enumerate() {
        let IamOp::UntagRole { keys, .. } = op else {
            continue;
        };
        for key in keys {
            assert!(!is_protected(key), "{case}: untags protected key {key}");
        }
        for earlier in &ops[..i] {
            if let IamOp::TagRole { tags, .. } = earlier {
                let clash = tags
                    .keys()
                    .find(|t| keys.iter().any(|k| k.eq_ignore_ascii_case(t)));
                assert!(clash.is_none(), "{case}: untags {clash:?} after tagging it");
            }
        }
    }
}

/// A plan may stop after any write. The role it leaves must grant nothing that neither the old
/// role nor the spec grants: each policy it holds is held by one of the two under a boundary at
/// least as strict as there. Once the trust policy has switched to one that may admit new
/// principals, every policy must already be one the spec grants, under the spec's boundary.
pub fn assert_never_wider(
    case: &str,
    old: &ObservedRole,
    desired: &DesiredRole,
    now: &ObservedRole,
) {
    use crate::policy::{equivalent, only_drops_allow_statements};
    let boundary_at_least = |wanted: &Option<String>| {
        wanted.is_none() || wanted.as_ref() == now.permissions_boundary.as_ref()
    };
    let old_grants = |held: &Held| match held {
        Held::Inline(name, doc) => old
            .inline_policies
            .get(*name)
            .is_some_and(|d| equivalent(d, doc)),
        Held::Managed(arn) => old.managed_policy_arns.iter().any(|a| a == arn),
    } && boundary_at_least(&old.permissions_boundary);
    let new_grants = |held: &Held| match held {
        Held::Inline(name, doc) => desired
            .inline_policies
            .get(*name)
            .is_some_and(|d| equivalent(d, doc)),
        Held::Managed(arn) => desired.managed_policy_arns.iter().any(|a| a == arn),
    } && boundary_at_least(&desired.permissions_boundary);
    let new_principals = !equivalent(&now.assume_role_policy, &old.assume_role_policy)
        && !only_drops_allow_statements(&now.assume_role_policy, &old.assume_role_policy);
    let held = now
        .inline_policies
        .iter()
        .map(|(name, doc)| Held::Inline(name, doc))
        .chain(now.managed_policy_arns.iter().map(|arn| Held::Managed(arn)));
    for policy in held {
        if new_principals {
            assert!(
                new_grants(&policy),
                "{case}: the new trust policy lets principals in while the role still holds {policy:?} (boundary {:?})",
                now.permissions_boundary
            );
        } else {
            assert!(
                old_grants(&policy) || new_grants(&policy),
                "{case}: the role holds {policy:?} under boundary {:?}, wider than both the old role and the spec",
                now.permissions_boundary
            );
        }
    }
}

#[derive(Debug)]
enum Held<'a> {
    Inline(&'a str, &'a str),
    Managed(&'a str),
}
