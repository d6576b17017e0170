//! create → in sync → edited → drift reverted → deleted, with IAM calls counted.

use std::time::Duration;

use rolesmith::model::IamOp;

use crate::harness::{WRITES, World, condition, condition_is};

const MANIFEST: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: orders, namespace: default}
spec:
  roleName: e2e-orders
  description: orders service
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal: {Service: lambda.amazonaws.com}
        Action: sts:AssumeRole
  inlinePolicies:
    read:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [s3:GetObject, s3:ListBucket]
          Resource: ["arn:aws:s3:::orders", "arn:aws:s3:::orders/*"]
  managedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  tags: {team: shop, env: test}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_edit_drift_and_delete() {
    let world = World::start().await;
    world.apply_yaml(MANIFEST);
    world.wait_ready("default", "orders", "120s");

    let object = world.get_json("default", "orders");
    let role = world.role("e2e-orders").await.expect("role exists in IAM");
    assert_eq!(object["status"]["roleArn"], role.arn.as_str());
    assert_eq!(object["status"]["roleName"], "e2e-orders");
    assert!(
        object["metadata"]["finalizers"]
            .to_string()
            .contains("iam.rolesmith.dev/cleanup")
    );
    assert_eq!(role.description, "orders service");
    assert_eq!(
        role.managed_policy_arns,
        vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()]
    );
    assert_eq!(role.tags.get("team").map(String::as_str), Some("shop"));
    assert_eq!(
        role.tags.get("rolesmith.dev/owner").map(String::as_str),
        Some("e2e/default/orders")
    );
    assert!(rolesmith::policy::equivalent(
        &role.inline_policies["read"],
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::orders/*","arn:aws:s3:::orders"]}]}"#
    ));
    let table = world.kubectl_ok(&["get", "iamroles", "-o", "wide"]);
    assert!(
        table.contains("e2e-orders") && table.contains("True") && table.contains("Synced"),
        "{table}"
    );

    // Edit: trust reformatted only (no write), policy changed, tag value changed, managed swapped,
    // boundary added.
    let writes_before = world.iam_calls(WRITES).await;
    let edited = MANIFEST
        .replace("Action: [s3:GetObject, s3:ListBucket]", "Action: [s3:GetObject]")
        .replace("team: shop", "team: payments")
        .replace(
            "managedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]",
            "managedPolicyArns: [arn:aws:iam::aws:policy/AWSLambdaExecute]\n  permissionsBoundary: arn:aws:iam::aws:policy/PowerUserAccess",
        )
        .replace("Principal: {Service: lambda.amazonaws.com}", "Principal:\n          Service: [lambda.amazonaws.com]");
    world.apply_yaml(&edited);
    let role = world
        .wait_for_role(
            "e2e-orders",
            "the edit applied",
            Duration::from_secs(60),
            |role| {
                role.is_some_and(|r| {
                    r.tags.get("team").map(String::as_str) == Some("payments")
                        && r.permissions_boundary.is_some()
                        && r.managed_policy_arns
                            == vec!["arn:aws:iam::aws:policy/AWSLambdaExecute".to_string()]
                })
            },
        )
        .await
        .expect("role still there");
    assert!(!role.inline_policies["read"].contains("ListBucket"));
    world
        .wait_for_object(
            "default",
            "orders",
            "Ready for generation 2",
            Duration::from_secs(30),
            |o| o["status"]["observedGeneration"] == 2 && condition_is(o, "Ready", "True"),
        )
        .await;
    let writes = world.iam_calls(WRITES).await - writes_before;
    // PutRolePolicy, AttachRolePolicy, DetachRolePolicy, TagRole, PutRolePermissionsBoundary:
    // the equivalent trust policy costs nothing.
    assert_eq!(writes, 5, "unexpected IAM writes for the edit");
    assert_eq!(world.iam_calls(&["UpdateAssumeRolePolicy"]).await, 0);

    // In sync: several resyncs pass with reads only.
    let writes_before = world.iam_calls(WRITES).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        world.iam_calls(WRITES).await,
        writes_before,
        "an in-sync role was written"
    );

    // Drift made directly in IAM is reverted within the resync interval.
    for op in [
        IamOp::TagRole {
            role: "e2e-orders".into(),
            tags: [
                ("team".to_string(), "hijacked".to_string()),
                ("extra".to_string(), "x".to_string()),
            ]
            .into(),
        },
        IamOp::DeleteRolePolicy {
            role: "e2e-orders".into(),
            policy_name: "read".into(),
        },
        IamOp::AttachRolePolicy {
            role: "e2e-orders".into(),
            policy_arn: "arn:aws:iam::aws:policy/IAMFullAccess".into(),
        },
    ] {
        rolesmith::iam::IamApi::execute(&world.iam, &op)
            .await
            .expect("drift injected");
    }
    world
        .wait_for_role(
            "e2e-orders",
            "drift reverted",
            Duration::from_secs(30),
            |role| {
                role.is_some_and(|r| {
                    r.tags.get("team").map(String::as_str) == Some("payments")
                        && !r.tags.contains_key("extra")
                        && r.inline_policies.contains_key("read")
                        && r.managed_policy_arns
                            == vec!["arn:aws:iam::aws:policy/AWSLambdaExecute".to_string()]
                })
            },
        )
        .await;

    // Delete: the role goes, then the object.
    world.kubectl_ok(&[
        "delete",
        "iamrole",
        "orders",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    assert!(
        world.role("e2e-orders").await.is_none(),
        "role deleted from IAM"
    );
    let gone = world.kubectl(&["get", "iamrole", "orders", "-n", "default"]);
    assert!(!gone.status.success());

    let ready = condition(&object, "Ready").expect("Ready condition");
    assert_eq!(ready["reason"], "Synced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_keeps_the_role_without_the_ownership_tag() {
    let world = World::start().await;
    world.apply_yaml(&MANIFEST.replace("name: orders", "name: kept").replace(
        "roleName: e2e-orders",
        "roleName: e2e-kept\n  deletionPolicy: Retain",
    ));
    world.wait_ready("default", "kept", "120s");
    world.kubectl_ok(&[
        "delete",
        "iamrole",
        "kept",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    let role = world
        .role("e2e-kept")
        .await
        .expect("retained role still exists");
    assert!(
        !role.tags.contains_key("rolesmith.dev/owner"),
        "ownership released"
    );
    assert_eq!(role.tags.get("team").map(String::as_str), Some("shop"));
    assert_eq!(role.inline_policies.len(), 1, "policies kept");
}
