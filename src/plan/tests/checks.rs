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
    iam.run(&ops)
        .unwrap_or_else(|e| panic!("{case}: IAM refused the plan: {e}"));
    let again = plan_apply(desired, iam.role.as_ref(), &owner(), adopt)
        .unwrap_or_else(|e| panic!("{case}: second plan failed: {e}"));
    assert_eq!(
        again,
        Vec::<IamOp>::new(),
        "{case}: second plan is not empty"
    );
}

/// ACK's bug: TagRole then UntagRole of the same (case-insensitive) key deletes the new tag.
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
