//! Deletion and retention, and never touching a role that is not ours.

use super::fixtures::*;
use super::iam_model::Iam;
use crate::model::DeletionPolicy;
use crate::model::{IamOp, OWNER_TAG_KEY};
use crate::plan::{Ownership, ownership, plan_delete};

fn profiles() -> Vec<String> {
    vec!["app-x-profile".into(), "legacy".into()]
}

#[test]
fn delete_empties_the_role_then_deletes_it() {
    let o = observed();
    let ops = plan_delete(&o, &profiles(), &owner(), DeletionPolicy::Delete);
    let remove = |p: &str| IamOp::RemoveRoleFromInstanceProfile {
        role: ROLE.into(),
        instance_profile: p.into(),
    };
    assert_eq!(
        ops,
        vec![
            remove("app-x-profile"),
            remove("legacy"),
            detach(READ_ONLY),
            detach(CLOUDWATCH),
            delete_inline("logs"),
            delete_inline("s3"),
            IamOp::DeleteRole { role: ROLE.into() },
        ]
    );
    let mut iam = Iam {
        role: Some(o),
        instance_profiles: profiles(),
    };
    iam.run(&ops).unwrap();
    assert!(iam.role.is_none());
}

#[test]
fn delete_of_an_empty_role_is_one_call() {
    let mut o = observed();
    o.inline_policies.clear();
    o.managed_policy_arns.clear();
    let ops = plan_delete(&o, &[], &owner(), DeletionPolicy::Delete);
    assert_eq!(ops, vec![IamOp::DeleteRole { role: ROLE.into() }]);
}

#[test]
fn retain_only_drops_the_claim() {
    let mut o = observed();
    o.tags
        .insert("aws:cloudformation:stack-name".into(), "s".into());
    let ops = plan_delete(&o, &profiles(), &owner(), DeletionPolicy::Retain);
    assert_eq!(ops, vec![untag(&[OWNER_TAG_KEY])]);
    let mut iam = Iam::with(o.clone());
    iam.run(&ops).unwrap();
    let kept = iam.role.unwrap();
    let mut expected_tags = o.tags.clone();
    expected_tags.remove(OWNER_TAG_KEY);
    assert_eq!(kept.tags, expected_tags);
    assert_eq!(kept.inline_policies, o.inline_policies);
    assert_eq!(kept.managed_policy_arns, o.managed_policy_arns);
    // A retained role can be adopted again, and by nobody who does not ask for it.
    assert_eq!(ownership(&kept, &owner(), true), Ownership::Adoptable);
    assert!(matches!(
        ownership(&kept, &owner(), false),
        Ownership::Foreign { .. }
    ));
}

#[test]
fn a_role_that_is_not_ours_is_never_deleted_or_untagged() {
    let with_tags = |tags: &[(&str, &str)]| {
        let mut role = observed();
        role.tags = map(tags);
        role
    };
    let cases = [
        ("untagged", with_tags(&[("team", "a")])),
        (
            "another object",
            with_tags(&[(OWNER_TAG_KEY, "prod/team-a/other")]),
        ),
        (
            "another cluster",
            with_tags(&[(OWNER_TAG_KEY, "dev/team-a/app")]),
        ),
        (
            "owner key in another case",
            with_tags(&[("Rolesmith.dev/Owner", OWNER_VALUE)]),
        ),
    ];
    for (name, o) in cases {
        for policy in [DeletionPolicy::Delete, DeletionPolicy::Retain] {
            let ops = plan_delete(&o, &profiles(), &owner(), policy);
            assert_eq!(ops, Vec::<IamOp>::new(), "{name} {policy:?}");
        }
    }
}
