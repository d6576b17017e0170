//! Bad input: rejected by the CRD with the CEL message; or accepted by the schema, refused by
//! IAM, and reported with IAM's reason while nothing else changes.

use std::time::Duration;

use crate::harness::{World, condition, condition_is};

const GOOD: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: svc, namespace: default}
spec:
  roleName: e2e-svc
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
  tags: {team: a}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crd_rejects_bad_manifests_with_clear_messages() {
    let world = World::start().await;
    let cases = [
        (
            GOOD.replace("tags: {team: a}", "tags: {\"aws:team\": a}"),
            "reserved by AWS",
        ),
        (
            GOOD.replace("roleName: e2e-svc", "roleName: has spaces"),
            "spec.roleName",
        ),
        (
            GOOD.replace("roleName: e2e-svc", "roleName: e2e-svc\n  path: no-slashes"),
            "spec.path",
        ),
        (
            GOOD.replace(
                "roleName: e2e-svc",
                "roleName: e2e-svc\n  maxSessionDuration: 60",
            ),
            "spec.maxSessionDuration",
        ),
        (
            GOOD.replace("tags: {team: a}", "tags: {\"rolesmith.dev/owner\": me}"),
            "set by rolesmith itself",
        ),
    ];
    for (manifest, expected) in cases {
        let output = world.kubectl_stdin(&["apply", "-f", "-"], &manifest);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "accepted: {manifest}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in: {stderr}"
        );
    }
    // Immutability is a transition rule: checked on update only.
    world.apply_yaml(GOOD);
    world.wait_ready("default", "svc", "60s");
    let output = world.kubectl_stdin(
        &["apply", "-f", "-"],
        &GOOD.replace("roleName: e2e-svc", "roleName: e2e-renamed"),
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("roleName is immutable"));
    assert!(world.role("e2e-renamed").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_refusal_is_reported_and_changes_nothing_else() {
    let world = World::start().await;
    world.apply_yaml(GOOD);
    world.wait_ready("default", "svc", "60s");
    let before = world.role("e2e-svc").await.expect("role exists");

    // Valid for the schema and for rolesmith's own checks, but IAM refuses the attachment: the
    // managed policy does not exist.
    let refused = GOOD.replace(
        "tags: {team: a}",
        "tags: {team: a}\n  managedPolicyArns: [arn:aws:iam::aws:policy/NoSuchPolicyForRolesmith]",
    );
    world.apply_yaml(&refused);
    let object = world
        .wait_for_object(
            "default",
            "svc",
            "Ready=False for generation 2",
            Duration::from_secs(60),
            |o| o["status"]["observedGeneration"] == 2 && condition_is(o, "Ready", "False"),
        )
        .await;
    let ready = condition(&object, "Ready").expect("Ready");
    assert!(
        ready["message"]
            .to_string()
            .contains("NoSuchPolicyForRolesmith"),
        "IAM's reason is shown: {ready}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        world.role("e2e-svc").await,
        Some(before),
        "nothing else in IAM changed"
    );

    // Our own validation: a trust policy anyone could assume is refused before IAM sees it.
    let open = GOOD.replace(
        "Principal: {Service: ec2.amazonaws.com}",
        "Principal: \"*\"",
    );
    world.apply_yaml(&open);
    let object = world
        .wait_for_object(
            "default",
            "svc",
            "InvalidSpec",
            Duration::from_secs(60),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "InvalidSpec"),
        )
        .await;
    assert!(condition_is(&object, "Stalled", "True"));
}
