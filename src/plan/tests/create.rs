//! A role that does not exist yet.

use super::checks::assert_plan;
use super::fixtures::*;
use crate::model::{IamOp, OWNER_TAG_KEY};

fn create_op(d: &crate::model::DesiredRole, tags: &[(&str, &str)]) -> IamOp {
    IamOp::CreateRole {
        role: ROLE.into(),
        path: d.path.clone(),
        description: d.description.clone(),
        max_session_duration: d.max_session_duration,
        assume_role_policy: d.assume_role_policy.clone(),
        permissions_boundary: d.permissions_boundary.clone(),
        tags: map(tags),
    }
}

#[test]
fn full_role_is_created_with_tags_and_boundary_then_policies() {
    let mut d = desired();
    d.path = "/apps/".into();
    // Spec order of managed ARNs is kept; inline policies go in name order.
    d.managed_policy_arns = vec![SSM.into(), READ_ONLY.into(), SSM.into()];
    d.inline_policies = map(&[("s3", S3), ("logs", LOGS)]);
    let want = vec![
        create_op(
            &d,
            &[("env", "prod"), (OWNER_TAG_KEY, OWNER_VALUE), ("team", "a")],
        ),
        put("logs", LOGS),
        put("s3", S3),
        attach(SSM),
        attach(READ_ONLY),
    ];
    for adopt in [false, true] {
        assert_plan("full create", &d, None, adopt, &want);
    }
}

#[test]
fn bare_role_carries_only_the_ownership_tag() {
    let mut d = desired();
    d.description = String::new();
    d.inline_policies.clear();
    d.managed_policy_arns.clear();
    d.permissions_boundary = None;
    d.tags.clear();
    let want = vec![create_op(&d, &[(OWNER_TAG_KEY, OWNER_VALUE)])];
    assert_plan("bare create", &d, None, false, &want);
}

/// Validation refuses a user-set ownership tag; if one slips through, ours still wins.
#[test]
fn ownership_tag_in_spec_is_overridden() {
    let mut d = desired();
    d.tags.insert(OWNER_TAG_KEY.into(), "someone/else/x".into());
    let ops = crate::plan::plan_apply(&d, None, &owner(), false).unwrap();
    let IamOp::CreateRole { tags, .. } = &ops[0] else {
        panic!("first op is {:?}", ops[0]);
    };
    assert_eq!(
        tags.get(OWNER_TAG_KEY).map(String::as_str),
        Some(OWNER_VALUE)
    );
}
