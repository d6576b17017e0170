//! spec.instanceProfile: when the profile is read, what is written, what is refused; each plan
//! replayed against the IAM model until a second plan is empty.

use super::fixtures::*;
use super::iam_model::Iam;
use crate::model::{IamOp, OWNER_TAG_KEY};
use crate::plan::{
    PlanError, ProfileRead, instance_profile_arn, plan_apply, plan_instance_profile,
    profile_read_needed,
};

fn create() -> IamOp {
    IamOp::CreateInstanceProfile {
        instance_profile: ROLE.into(),
        path: "/".into(),
        tags: map(&[(OWNER_TAG_KEY, OWNER_VALUE)]),
    }
}

fn add() -> IamOp {
    IamOp::AddRoleToInstanceProfile {
        role: ROLE.into(),
        instance_profile: ROLE.into(),
    }
}

fn remove() -> IamOp {
    IamOp::RemoveRoleFromInstanceProfile {
        role: ROLE.into(),
        instance_profile: ROLE.into(),
    }
}

fn delete() -> IamOp {
    IamOp::DeleteInstanceProfile {
        instance_profile: ROLE.into(),
    }
}

/// The profile as the engine reads it: only when the role's list and the flag disagree.
fn read(iam: &Iam, wanted: bool) -> ProfileRead {
    if !profile_read_needed(wanted, iam.read_role().as_ref()) {
        return ProfileRead::NotRead;
    }
    match iam.profiles.get(ROLE) {
        Some(profile) => ProfileRead::Found(profile.clone()),
        None => ProfileRead::Missing,
    }
}

/// Plans the role and its profile as the engine does, runs the plan, and plans again.
fn converge(iam: &mut Iam, wanted: bool) -> Result<Vec<IamOp>, PlanError> {
    let mut d = desired();
    d.instance_profile = wanted;
    let observed = iam.read_role();
    let mut ops = plan_apply(&d, observed.as_ref(), &owner(), false)?;
    ops.extend(plan_instance_profile(
        &d,
        observed.as_ref(),
        &read(iam, wanted),
        &owner(),
    )?);
    iam.run(&ops).unwrap();
    let again = iam.read_role();
    let second = plan_instance_profile(&d, again.as_ref(), &read(iam, wanted), &owner())?;
    assert_eq!(second, Vec::<IamOp>::new(), "not converged after {ops:?}");
    Ok(ops)
}

#[test]
fn the_profile_follows_the_flag() {
    let ours = map(&[(OWNER_TAG_KEY, OWNER_VALUE)]);
    // (name, IAM before, flag, expected profile ops, profile holds the role afterwards)
    type Setup = fn(&mut Iam, &std::collections::BTreeMap<String, String>);
    let cases: [(&str, Setup, bool, Vec<IamOp>, bool); 7] = [
        ("in sync without", |_, _| {}, false, vec![], false),
        (
            "created with its role held",
            |_, _| {},
            true,
            vec![create(), add()],
            true,
        ),
        (
            "in sync with",
            |iam, tags| iam.add_profile(ROLE, Some(ROLE), tags.clone()),
            true,
            vec![],
            true,
        ),
        (
            "ours but empty (restart after its creation)",
            |iam, tags| iam.add_profile(ROLE, None, tags.clone()),
            true,
            vec![add()],
            true,
        ),
        (
            "flag off: removed, then deleted",
            |iam, tags| iam.add_profile(ROLE, Some(ROLE), tags.clone()),
            false,
            vec![remove(), delete()],
            false,
        ),
        (
            "flag off, someone else's profile holds the role: left alone",
            |iam, _| iam.add_profile(ROLE, Some(ROLE), map(&[("team", "ops")])),
            false,
            vec![],
            true,
        ),
        (
            "flag off, the role in another profile only: not ours to change",
            |iam, tags| iam.add_profile("legacy", Some(ROLE), tags.clone()),
            false,
            vec![],
            false,
        ),
    ];
    for (name, setup, wanted, profile_ops, held) in cases {
        let mut iam = Iam::with(observed());
        setup(&mut iam, &ours);
        let ops = converge(&mut iam, wanted).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ops, profile_ops, "{name}");
        let holds = iam
            .profiles
            .get(ROLE)
            .is_some_and(|p| p.roles == vec![ROLE.to_string()]);
        assert_eq!(holds, held, "{name}");
    }
}

/// A new role with the flag: the profile comes after everything the role needs, so EC2 is
/// handed a finished role.
#[test]
fn a_new_role_is_complete_before_a_profile_holds_it() {
    let mut iam = Iam::default();
    let ops = converge(&mut iam, true).unwrap();
    assert!(matches!(ops[0], IamOp::CreateRole { .. }), "{ops:?}");
    assert_eq!(ops[ops.len() - 2..], [create(), add()]);
}

#[test]
fn a_profile_of_the_name_that_is_not_ours_is_never_taken_over() {
    let cases = [
        (
            "holds another role",
            Some("other"),
            map(&[(OWNER_TAG_KEY, OWNER_VALUE)]),
            "already holds role other",
        ),
        (
            "untagged",
            None,
            map(&[("team", "ops")]),
            "was not created by rolesmith",
        ),
        (
            "another owner's",
            None,
            map(&[(OWNER_TAG_KEY, "prod/team-a/other")]),
            "another owner",
        ),
        (
            "owner key in another case",
            None,
            map(&[("Rolesmith.dev/Owner", "prod/team-a/other")]),
            "another owner",
        ),
    ];
    for (name, role, tags, reason) in cases {
        let mut iam = Iam::with(observed());
        iam.add_profile(ROLE, role, tags);
        let mut d = desired();
        d.instance_profile = true;
        let observed = iam.read_role();
        let error = plan_instance_profile(&d, observed.as_ref(), &read(&iam, true), &owner())
            .expect_err(name);
        let message = error.to_string();
        assert!(
            matches!(error, PlanError::InstanceProfileConflict { .. }),
            "{name}"
        );
        assert!(message.contains(reason), "{name}: {message}");
        assert!(
            message.contains("spec.instanceProfile: false"),
            "{name}: {message}"
        );
    }
}

/// The role's own list is enough in both steady states: no GetInstanceProfile per reconcile.
#[test]
fn the_profile_is_read_only_when_the_list_and_the_flag_disagree() {
    let mut held = Iam::with(observed());
    held.add_profile(ROLE, Some(ROLE), map(&[]));
    let mut elsewhere = Iam::with(observed());
    elsewhere.add_profile("legacy", Some(ROLE), map(&[]));
    let cases = [
        (None, false, false),
        (None, true, true),
        (held.read_role(), true, false),
        (held.read_role(), false, true),
        (elsewhere.read_role(), true, true),
        (elsewhere.read_role(), false, false),
        (Some(observed()), false, false),
    ];
    for (observed, wanted, needed) in cases {
        assert_eq!(
            profile_read_needed(wanted, observed.as_ref()),
            needed,
            "{wanted} {observed:?}"
        );
    }
}

#[test]
fn profile_arn_from_the_role_arn() {
    let cases = [
        (
            "arn:aws:iam::123456789012:role/app",
            "/",
            "app",
            Some("arn:aws:iam::123456789012:instance-profile/app"),
        ),
        (
            "arn:aws-cn:iam::123456789012:role/ec2/app",
            "/ec2/",
            "app",
            Some("arn:aws-cn:iam::123456789012:instance-profile/ec2/app"),
        ),
        ("not-an-arn", "/", "app", None),
    ];
    for (role_arn, path, name, expected) in cases {
        assert_eq!(
            instance_profile_arn(role_arn, path, name).as_deref(),
            expected,
            "{role_arn}"
        );
    }
}
