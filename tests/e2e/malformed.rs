//! An object the operator cannot read as an IamRole (here: a CRD replaced by a permissive one,
//! as an old or foreign CRD would be) is reported on its own and never stalls the others.

use std::time::Duration;

use crate::harness::{World, condition, condition_is};

/// A CRD for `kind` that accepts any spec and status: what an old or foreign CRD looks like to
/// the operator.
fn permissive_crd(kind: &str, plural: &str) -> String {
    let singular = kind.to_lowercase();
    format!(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.iam.rolesmith.dev}}
spec:
  group: iam.rolesmith.dev
  names: {{kind: {kind}, plural: {plural}, singular: {singular}, categories: [rolesmith]}}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: {{status: {{}}}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
            status: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unreadable_object_does_not_stall_the_rest() {
    let world = World::start().await;
    world.apply_yaml(&permissive_crd("IamRole", "iamroles"));
    world.apply_yaml(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: broken, namespace: default}
spec:
  maxSessionDuration: "a long time"
  assumeRolePolicy: {Version: "2012-10-17", Statement: []}
---
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: fine, namespace: default}
spec:
  roleName: e2e-fine
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
"#,
    );
    world.wait_ready("default", "fine", "60s");
    assert!(world.role("e2e-fine").await.is_some());
    let broken = world
        .wait_for_object(
            "default",
            "broken",
            "reported",
            Duration::from_secs(60),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "InvalidSpec"),
        )
        .await;
    assert!(condition_is(&broken, "Stalled", "True"));
    let message = condition(&broken, "Ready").expect("Ready")["message"].to_string();
    assert!(
        message.contains("does not match the IamRole schema"),
        "{message}"
    );
    let events = world.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "default",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    assert!(events.contains("InvalidObject"), "{events}");
    // The operator is still running and still serving the others.
    let (status, _) = world.http_get("/healthz").await.expect("healthz answers");
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unreadable_iampolicy_does_not_stall_the_rest() {
    use crate::policies::{ready_now, wait_for};
    let world = World::start().await;
    world.apply_yaml(&permissive_crd("IamPolicy", "iampolicies"));
    world.apply_yaml(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamPolicy
metadata: {name: broken, namespace: default}
spec:
  adopt: "yes please"
  document: {Version: "2012-10-17", Statement: []}
---
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamPolicy
metadata: {name: fine, namespace: default}
spec:
  document:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::e2e-bucket/*"}
"#,
    );
    let fine = wait_for(&world, "iampolicy", "fine", "Ready", ready_now)
        .await
        .expect("the readable IamPolicy exists");
    assert!(fine["status"]["policyArn"].is_string(), "{fine}");
    let broken = wait_for(&world, "iampolicy", "broken", "reported", |o| {
        o.and_then(|o| condition(o, "Ready"))
            .is_some_and(|c| c["reason"] == "InvalidSpec")
    })
    .await
    .expect("the unreadable IamPolicy exists");
    assert!(condition_is(&broken, "Stalled", "True"), "{broken}");
    let message = condition(&broken, "Ready").expect("Ready")["message"].to_string();
    assert!(
        message.contains("does not match the IamPolicy schema"),
        "{message}"
    );
    let events = world.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "default",
        "--field-selector",
        "involvedObject.kind=IamPolicy",
        "-o",
        "jsonpath={.items[*].reason}",
    ]);
    assert!(events.contains("InvalidObject"), "{events}");
}
