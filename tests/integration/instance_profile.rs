//! spec.instanceProfile through the engine against moto: created tagged and holding the role, in
//! sync at the role read's cost, removed with the flag, never taken over, gone before the role,
//! kept on Retain, and seen by the account sweep.

use std::collections::BTreeMap;

use rolesmith::engine::{self, Mode};
use rolesmith::error::Category;
use rolesmith::iam::{CollectRoles, IamApi};
use rolesmith::model::{DeletionPolicy, DesiredRole, IamOp, OWNER_TAG_KEY, Owner};

use crate::support::{MOTO_ACCOUNT_ID, Moto, counted_iam, sdk_client, service_trust};

fn owner() -> Owner {
    Owner {
        cluster: "it".into(),
        namespace: "default".into(),
        name: "web".into(),
    }
}

fn ec2_role(name: &str, instance_profile: bool) -> DesiredRole {
    DesiredRole {
        name: name.into(),
        settings: rolesmith::model::RoleSettings {
            path: "/ec2/".into(),
            max_session_duration: 3600,
            assume_role_policy: service_trust("ec2.amazonaws.com"),
            ..Default::default()
        },
        ignored_tag_keys: Vec::new(),
        instance_profile,
    }
}

fn actions(ops: &[IamOp]) -> Vec<&'static str> {
    ops.iter().map(IamOp::action).collect()
}

#[tokio::test]
async fn the_profile_follows_the_flag_and_goes_before_the_role() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let want = ec2_role("web", true);
    let report = engine::apply(&iam, &want, &owner(), false, Mode::Execute)
        .await
        .expect("created");
    assert_eq!(
        actions(&report.ops),
        [
            "CreateRole",
            "CreateInstanceProfile",
            "AddRoleToInstanceProfile"
        ]
    );
    let arn = format!("arn:aws:iam::{MOTO_ACCOUNT_ID}:instance-profile/ec2/web");
    assert_eq!(report.instance_profile_arn.as_deref(), Some(arn.as_str()));
    let profile = iam.get_instance_profile("web").await.unwrap().unwrap();
    assert_eq!(profile.arn, arn);
    assert_eq!(profile.path, "/ec2/");
    assert_eq!(profile.roles, ["web"]);
    assert_eq!(
        profile.tags.get(OWNER_TAG_KEY).map(String::as_str),
        Some("it/default/web")
    );

    // In sync: the role's read (4 calls, no inline policy) and no GetInstanceProfile.
    calls.reset();
    let report = engine::apply(&iam, &want, &owner(), false, Mode::Execute)
        .await
        .expect("in sync");
    assert!(report.ops.is_empty(), "{:?}", report.ops);
    assert_eq!(report.instance_profile_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(calls.reads(), 4, "{:?}", calls.snapshot());
    assert_eq!(calls.count("GetInstanceProfile"), 0);

    // The account sweep sees the profile too, at no call of its own.
    let mut swept = CollectRoles::new(|name: &str| name == "web");
    iam.sweep(&mut swept).await.unwrap();
    let read = iam.get_role("web").await.unwrap().unwrap();
    assert_eq!(swept.roles["web"].instance_profiles, read.instance_profiles);
    assert_eq!(read.instance_profiles.len(), 1);

    // Flag off: removed, then deleted; the role stays.
    let report = engine::apply(
        &iam,
        &ec2_role("web", false),
        &owner(),
        false,
        Mode::Execute,
    )
    .await
    .expect("flag off");
    assert_eq!(
        actions(&report.ops),
        ["RemoveRoleFromInstanceProfile", "DeleteInstanceProfile"]
    );
    assert_eq!(report.instance_profile_arn, None);
    assert_eq!(iam.get_instance_profile("web").await.unwrap(), None);

    // On again, then the object goes: the profile goes before the role.
    engine::apply(&iam, &want, &owner(), false, Mode::Execute)
        .await
        .expect("on again");
    let deleted = engine::delete(&iam, "web", &owner(), DeletionPolicy::Delete, Mode::Execute)
        .await
        .expect("deleted");
    assert_eq!(
        actions(&deleted.ops),
        [
            "RemoveRoleFromInstanceProfile",
            "DeleteInstanceProfile",
            "DeleteRole"
        ]
    );
    assert_eq!(iam.get_instance_profile("web").await.unwrap(), None);
    assert_eq!(iam.get_role("web").await.unwrap(), None);
}

#[tokio::test]
async fn retain_keeps_the_profile_holding_the_role() {
    let moto = Moto::start();
    let (iam, _) = counted_iam(&moto.endpoint).await;
    engine::apply(
        &iam,
        &ec2_role("kept", true),
        &owner(),
        false,
        Mode::Execute,
    )
    .await
    .expect("created");
    let retained = engine::delete(
        &iam,
        "kept",
        &owner(),
        DeletionPolicy::Retain,
        Mode::Execute,
    )
    .await
    .expect("retained");
    assert_eq!(actions(&retained.ops), ["UntagRole"]);
    let profile = iam.get_instance_profile("kept").await.unwrap().unwrap();
    assert_eq!(profile.roles, ["kept"]);
}

/// A profile of the role's name that holds another role, or that rolesmith did not create, is
/// reported and left as it is: not a single write touches it.
#[tokio::test]
async fn a_profile_of_the_name_that_is_not_ours_is_refused_without_a_write() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let sdk = sdk_client(&moto.endpoint).await;
    sdk.create_role()
        .role_name("other")
        .assume_role_policy_document(service_trust("ec2.amazonaws.com"))
        .send()
        .await
        .unwrap();
    for (profile, holds) in [("taken", Some("other")), ("handmade", None)] {
        sdk.create_instance_profile()
            .instance_profile_name(profile)
            .send()
            .await
            .unwrap();
        if let Some(role) = holds {
            sdk.add_role_to_instance_profile()
                .instance_profile_name(profile)
                .role_name(role)
                .send()
                .await
                .unwrap();
        }
    }
    for (name, reason) in [
        ("taken", "already holds role other"),
        ("handmade", "was not created by rolesmith"),
    ] {
        // The role itself is created first; its profile is what the plan refuses, before any
        // write of this pass.
        let mut role = ec2_role(name, false);
        engine::apply(&iam, &role, &owner(), false, Mode::Execute)
            .await
            .expect("role");
        role.instance_profile = true;
        calls.reset();
        let failure = engine::apply(&iam, &role, &owner(), false, Mode::Execute)
            .await
            .expect_err("refused");
        assert_eq!(failure.error.category(), Category::OwnershipConflict);
        let message = failure.error.to_string();
        assert!(message.contains(reason), "{message}");
        assert_eq!(calls.writes(), 0, "{:?}", calls.snapshot());
        let profile = iam.get_instance_profile(name).await.unwrap().unwrap();
        assert_eq!(profile.roles, holds_of(name));
        assert!(profile.tags.is_empty());
    }
}

fn holds_of(name: &str) -> Vec<String> {
    match name {
        "taken" => vec!["other".into()],
        _ => Vec::new(),
    }
}

/// A dry run reads the profile of the name (a new role has none listed) and writes nothing.
#[tokio::test]
async fn dry_run_plans_the_profile_without_writing() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let report = engine::apply(&iam, &ec2_role("dry", true), &owner(), false, Mode::DryRun)
        .await
        .expect("planned");
    assert_eq!(
        actions(&report.ops),
        [
            "CreateRole",
            "CreateInstanceProfile",
            "AddRoleToInstanceProfile"
        ]
    );
    assert_eq!(calls.writes(), 0);
    assert_eq!(
        calls.snapshot(),
        BTreeMap::from([
            ("GetCallerIdentity", 1),
            ("GetInstanceProfile", 1),
            ("GetRole", 1)
        ])
    );
}
