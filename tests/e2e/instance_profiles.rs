//! EC2 roles through kubectl: `spec.instanceProfile` makes an instance profile of the role's
//! name and path that holds the role, turning it off removes the profile, deleting the object
//! removes the profile before the role (moto, like IAM, refuses DeleteRole while a profile holds
//! the role), Retain keeps both, and a profile of that name that rolesmith did not create is
//! reported and left alone.

use std::time::{Duration, Instant};

use rolesmith::iam::IamApi;
use rolesmith::model::{IamOp, OWNER_TAG_KEY, ObservedInstanceProfile};

use crate::harness::{World, condition, tail};

fn ec2_role(name: &str, role_name: &str, instance_profile: bool, retain: bool) -> String {
    let deletion = if retain { "Retain" } else { "Delete" };
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {name}, namespace: default}}
spec:
  roleName: {role_name}
  path: /ec2/
  instanceProfile: {instance_profile}
  deletionPolicy: {deletion}
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: ec2.amazonaws.com}}, Action: sts:AssumeRole}}
"#
    )
}

async fn profile(world: &World, name: &str) -> Option<ObservedInstanceProfile> {
    world
        .iam
        .get_instance_profile(name)
        .await
        .expect("IAM answers")
}

/// Polls IAM until the profile named `name` is as `check` wants.
async fn wait_for_profile(
    world: &World,
    name: &str,
    what: &str,
    check: impl Fn(Option<&ObservedInstanceProfile>) -> bool,
) -> Option<ObservedInstanceProfile> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = profile(world, name).await;
        if check(found.as_ref()) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "instance profile {name}: {what} not reached; IAM has {found:#?}\noperator log:\n{}",
            tail(&world.operator_log(), 60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_follows_the_flag_and_goes_before_the_role() {
    let world = World::start().await;
    let name = "e2e-ec2-web";
    let arn = format!("arn:aws:iam::123456789012:instance-profile/ec2/{name}");
    world.apply_yaml(&ec2_role("web", name, true, false));
    world.wait_ready("default", "web", "60s");
    let object = world.get_json("default", "web");
    assert_eq!(object["status"]["instanceProfileArn"], arn.as_str());
    let held = profile(&world, name).await.expect("the profile exists");
    assert_eq!(held.roles, [name]);
    assert_eq!(held.path, "/ec2/");
    assert_eq!(
        held.tags.get(OWNER_TAG_KEY).map(String::as_str),
        Some("e2e/default/web")
    );
    // The wide listing shows it.
    let wide = world.kubectl_ok(&["get", "iamrole", "web", "-n", "default", "-o", "wide"]);
    assert!(
        wide.contains("INSTANCE-PROFILE") && wide.contains(&arn),
        "{wide}"
    );

    // Removed behind our back: the drift check (a sweep, which sees each role's instance
    // profiles) finds it, and the profile is made again.
    for op in [
        IamOp::RemoveRoleFromInstanceProfile {
            role: name.into(),
            instance_profile: name.into(),
        },
        IamOp::DeleteInstanceProfile {
            instance_profile: name.into(),
        },
    ] {
        world.iam.execute(&op).await.expect("someone else's change");
    }
    wait_for_profile(&world, name, "repaired", |p| {
        p.is_some_and(|p| p.roles == [name])
    })
    .await;

    // Turned off: the profile goes, the role stays.
    world.apply_yaml(&ec2_role("web", name, false, false));
    wait_for_profile(&world, name, "deleted", |p| p.is_none()).await;
    world
        .wait_for_object(
            "default",
            "web",
            "no instanceProfileArn",
            Duration::from_secs(30),
            |o| {
                o["status"]["instanceProfileArn"].is_null()
                    && condition(o, "Ready").is_some_and(|c| c["status"] == "True")
            },
        )
        .await;
    assert!(world.role(name).await.is_some());

    // On again, then the object goes: profile and role both.
    world.apply_yaml(&ec2_role("web", name, true, false));
    wait_for_profile(&world, name, "created again", |p| {
        p.is_some_and(|p| p.roles == [name])
    })
    .await;
    world.kubectl_ok(&["delete", "iamrole", "web", "-n", "default", "--timeout=60s"]);
    assert_eq!(profile(&world, name).await, None);
    assert_eq!(world.role(name).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_keeps_the_profile_holding_the_role() {
    let world = World::start().await;
    let name = "e2e-ec2-kept";
    world.apply_yaml(&ec2_role("kept", name, true, true));
    world.wait_ready("default", "kept", "60s");
    world.kubectl_ok(&[
        "delete",
        "iamrole",
        "kept",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    let role = world.role(name).await.expect("the role is kept");
    assert!(!role.tags.contains_key(OWNER_TAG_KEY));
    let kept = profile(&world, name).await.expect("the profile is kept");
    assert_eq!(kept.roles, [name]);
}

/// A profile of the role's name that holds another role: reported on the object, and nothing
/// is written (not even the role: the plan is refused as a whole).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_holding_another_role_is_never_taken_over() {
    let world = World::start().await;
    let name = "e2e-ec2-taken";
    for op in [
        IamOp::CreateRole {
            role: "someone-elses".into(),
            path: "/".into(),
            description: String::new(),
            max_session_duration: 3600,
            assume_role_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
            permissions_boundary: None,
            tags: Default::default(),
        },
        IamOp::CreateInstanceProfile {
            instance_profile: name.into(),
            path: "/".into(),
            tags: Default::default(),
        },
        IamOp::AddRoleToInstanceProfile {
            role: "someone-elses".into(),
            instance_profile: name.into(),
        },
    ] {
        world.iam.execute(&op).await.expect("set up by someone else");
    }
    world.apply_yaml(&ec2_role("taken", name, true, false));
    let object = world
        .wait_for_object(
            "default",
            "taken",
            "OwnershipConflict",
            Duration::from_secs(60),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "OwnershipConflict"),
        )
        .await;
    let message = condition(&object, "Ready").expect("Ready")["message"].to_string();
    assert!(
        message.contains("already holds role someone-elses"),
        "{message}"
    );
    assert!(
        condition(&object, "Stalled").is_some_and(|c| c["status"] == "True"),
        "{object}"
    );
    let untouched = profile(&world, name).await.expect("still there");
    assert_eq!(untouched.roles, ["someone-elses"]);
    assert!(untouched.tags.is_empty());
    assert_eq!(world.role(name).await, None);
    // Deleting the object leaves the profile someone else's.
    world.kubectl_ok(&[
        "delete",
        "iamrole",
        "taken",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    assert_eq!(
        profile(&world, name).await.map(|p| p.roles),
        Some(vec!["someone-elses".to_string()])
    );
}
