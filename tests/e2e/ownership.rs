//! A role rolesmith does not own is reported and left untouched, until `adopt: true`; a role
//! owned by another object is never taken over.

use std::collections::BTreeMap;
use std::time::Duration;

use rolesmith::iam::IamApi;
use rolesmith::model::IamOp;

use crate::harness::{World, condition, condition_is};
use crate::support::service_trust;

fn manifest(name: &str, namespace: &str, role_name: &str, adopt: bool) -> String {
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  roleName: {role_name}
  adopt: {adopt}
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: ec2.amazonaws.com}}, Action: sts:AssumeRole}}
  tags: {{managed-by: rolesmith}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_role_is_left_alone_until_adopted() {
    let world = World::start().await;
    // An admin's role, created outside rolesmith.
    world
        .iam
        .execute(&IamOp::CreateRole {
            role: "e2e-admin".into(),
            path: "/".into(),
            description: "hand made".into(),
            max_session_duration: 7200,
            assume_role_policy: service_trust("lambda.amazonaws.com"),
            permissions_boundary: None,
            tags: BTreeMap::from([("owner".to_string(), "platform".to_string())]),
        })
        .await
        .expect("admin role created");
    let before = world.role("e2e-admin").await;

    world.apply_yaml(&manifest("takeover", "default", "e2e-admin", false));
    let object = world
        .wait_for_object(
            "default",
            "takeover",
            "OwnershipConflict",
            Duration::from_secs(60),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "OwnershipConflict"),
        )
        .await;
    assert!(condition_is(&object, "Ready", "False"));
    assert!(condition_is(&object, "Stalled", "True"));
    let message = condition(&object, "Ready").expect("Ready")["message"].to_string();
    assert!(
        message.contains("adopt"),
        "message says how to proceed: {message}"
    );
    let events = world.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "default",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    assert!(events.contains("OwnershipConflict"), "{events}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        world.role("e2e-admin").await,
        before,
        "the unowned role was touched"
    );

    // adopt: true → claimed, then made to match.
    world.apply_yaml(&manifest("takeover", "default", "e2e-admin", true));
    world.wait_ready("default", "takeover", "60s");
    let role = world.role("e2e-admin").await.expect("role kept");
    assert_eq!(
        role.tags.get("rolesmith.dev/owner").map(String::as_str),
        Some("e2e/default/takeover")
    );
    assert!(
        !role.tags.contains_key("owner"),
        "tags are exclusive once adopted"
    );
    assert_eq!(role.max_session_duration, 3600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_namespace_cannot_take_over_or_delete_a_role() {
    let world = World::start().await;
    world.kubectl_ok(&["create", "namespace", "platform"]);
    world.apply_yaml(&manifest("app", "default", "e2e-shared", false));
    world.wait_ready("default", "app", "60s");
    let before = world.role("e2e-shared").await;

    // Same role name from another (unconfined) namespace, even with adopt: refused by ownership.
    world.apply_yaml(&manifest("thief", "platform", "e2e-shared", true));
    world
        .wait_for_object(
            "platform",
            "thief",
            "OwnershipConflict",
            Duration::from_secs(60),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "OwnershipConflict"),
        )
        .await;
    // Deleting the intruder must not delete the role it never owned.
    world.kubectl_ok(&[
        "delete",
        "iamrole",
        "thief",
        "-n",
        "platform",
        "--timeout=60s",
    ]);
    assert_eq!(
        world.role("e2e-shared").await,
        before,
        "the owner's role was touched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confined_namespace_stays_within_its_own_role_names() {
    let world = World::start().await;
    world.kubectl_ok(&["create", "namespace", "team-a"]);
    // An account's admin role, untagged.
    world
        .iam
        .execute(&IamOp::CreateRole {
            role: "admin".into(),
            path: "/".into(),
            description: String::new(),
            max_session_duration: 3600,
            assume_role_policy: service_trust("ec2.amazonaws.com"),
            permissions_boundary: None,
            tags: BTreeMap::new(),
        })
        .await
        .expect("admin role created");
    let admin = world.role("admin").await;

    // Derived names are <namespace>.<name> and always allowed.
    world.apply_yaml(
        &manifest("app", "team-a", "team-a.app", false).replace("  roleName: team-a.app\n", ""),
    );
    world.wait_ready("team-a", "app", "60s");
    assert!(world.role("team-a.app").await.is_some());

    // Adopting the admin role, or naming another namespace's role: refused before IAM is touched.
    for (name, role_name) in [("grab", "admin"), ("squat", "team-b.app")] {
        world.apply_yaml(&manifest(name, "team-a", role_name, true));
        let object = world
            .wait_for_object("team-a", name, "refused", Duration::from_secs(60), |o| {
                condition(o, "Ready").is_some_and(|c| c["reason"] == "OutsideNamespaceRoles")
            })
            .await;
        assert!(condition_is(&object, "Stalled", "True"));
        let message = condition(&object, "Ready").expect("Ready")["message"].to_string();
        assert!(message.contains("team-a."), "{message}");
    }
    assert_eq!(
        world.role("admin").await,
        admin,
        "the admin role was touched"
    );
    assert!(world.role("team-b.app").await.is_none());
}
