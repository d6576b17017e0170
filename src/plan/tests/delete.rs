//! Deletion and retention, and never touching a role that is not ours.

use super::fixtures::*;
use super::iam_model::Iam;
use crate::model::DeletionPolicy;
use crate::model::{IamOp, OWNER_TAG_KEY};
use crate::plan::{Ownership, ProfileRead, ownership, plan_delete};

/// IAM with the role in two profiles that are not rolesmith's.
fn iam_with_profiles() -> Iam {
    let mut iam = Iam::with(observed());
    iam.add_profile("app-x-profile", Some(ROLE), map(&[]));
    iam.add_profile("legacy", Some(ROLE), map(&[]));
    iam
}

#[test]
fn delete_empties_the_role_then_deletes_it() {
    let mut iam = iam_with_profiles();
    let o = iam.read_role().unwrap();
    let ops = plan_delete(&o, &ProfileRead::Missing, &owner(), DeletionPolicy::Delete);
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
    iam.run(&ops).unwrap();
    assert!(iam.role.is_none());
    // Profiles rolesmith did not create stay, empty.
    assert_eq!(iam.profiles.len(), 2);
}

/// The role's own profile (spec.instanceProfile) goes before the role; one of that name that is
/// not ours, or that holds another role, stays; Retain keeps it holding the role.
#[test]
fn the_own_instance_profile_goes_before_the_role() {
    let ours = map(&[(OWNER_TAG_KEY, OWNER_VALUE)]);
    let theirs = map(&[(OWNER_TAG_KEY, "prod/team-a/other")]);
    let remove = IamOp::RemoveRoleFromInstanceProfile {
        role: ROLE.into(),
        instance_profile: ROLE.into(),
    };
    let delete_profile = IamOp::DeleteInstanceProfile {
        instance_profile: ROLE.into(),
    };
    // (profile tags, role in it, policy, expected profile ops, profile left afterwards)
    let cases = [
        (
            ours.clone(),
            true,
            DeletionPolicy::Delete,
            vec![remove.clone(), delete_profile.clone()],
            false,
        ),
        // A restart between removal and deletion: empty and ours, not in the role's list.
        (
            ours.clone(),
            false,
            DeletionPolicy::Delete,
            vec![delete_profile.clone()],
            false,
        ),
        (
            theirs.clone(),
            true,
            DeletionPolicy::Delete,
            vec![remove.clone()],
            true,
        ),
        (
            map(&[]),
            true,
            DeletionPolicy::Delete,
            vec![remove.clone()],
            true,
        ),
        (ours.clone(), true, DeletionPolicy::Retain, vec![], true),
    ];
    for (tags, held, policy, profile_ops, left) in cases {
        let mut iam = Iam::with(observed());
        iam.role.as_mut().unwrap().inline_policies.clear();
        iam.role.as_mut().unwrap().managed_policy_arns.clear();
        iam.add_profile(ROLE, held.then_some(ROLE), tags.clone());
        let o = iam.read_role().unwrap();
        let read = match policy {
            DeletionPolicy::Delete => ProfileRead::Found(iam.profiles[ROLE].clone()),
            DeletionPolicy::Retain => ProfileRead::NotRead,
        };
        let ops = plan_delete(&o, &read, &owner(), policy);
        let mut expected = profile_ops;
        expected.push(match policy {
            DeletionPolicy::Delete => IamOp::DeleteRole { role: ROLE.into() },
            DeletionPolicy::Retain => untag(&[OWNER_TAG_KEY]),
        });
        assert_eq!(ops, expected, "{tags:?} {held} {policy:?}");
        iam.run(&ops).unwrap();
        assert_eq!(
            iam.profiles.contains_key(ROLE),
            left,
            "{tags:?} {held} {policy:?}"
        );
        assert_eq!(iam.role.is_some(), policy == DeletionPolicy::Retain);
    }

    // A profile of the role's name that holds another role is never deleted.
    let mut iam = Iam::with(observed());
    iam.add_profile(ROLE, Some("other"), ours);
    let o = iam.read_role().unwrap();
    let read = ProfileRead::Found(iam.profiles[ROLE].clone());
    let ops = plan_delete(&o, &read, &owner(), DeletionPolicy::Delete);
    assert!(!ops.contains(&delete_profile), "{ops:?}");
}

#[test]
fn delete_of_an_empty_role_is_one_call() {
    let mut o = observed();
    o.inline_policies.clear();
    o.managed_policy_arns.clear();
    let ops = plan_delete(&o, &ProfileRead::Missing, &owner(), DeletionPolicy::Delete);
    assert_eq!(ops, vec![IamOp::DeleteRole { role: ROLE.into() }]);
}

#[test]
fn retain_only_drops_the_claim() {
    let mut o = observed();
    o.tags
        .insert("aws:cloudformation:stack-name".into(), "s".into());
    let ops = plan_delete(&o, &ProfileRead::NotRead, &owner(), DeletionPolicy::Retain);
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
    let mut iam = iam_with_profiles();
    iam.add_profile(ROLE, None, map(&[(OWNER_TAG_KEY, OWNER_VALUE)]));
    let profile = ProfileRead::Found(iam.profiles[ROLE].clone());
    for (name, mut o) in cases {
        o.instance_profiles = iam.read_role().unwrap().instance_profiles;
        for policy in [DeletionPolicy::Delete, DeletionPolicy::Retain] {
            let ops = plan_delete(&o, &profile, &owner(), policy);
            assert_eq!(ops, Vec::<IamOp>::new(), "{name} {policy:?}");
        }
    }
}
