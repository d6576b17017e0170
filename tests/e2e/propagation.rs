//! IAM's eventual consistency has limits: an error that propagation explains is retried for the
//! propagation window and no longer, and a role this object created is never given up for gone
//! just because IAM's reads have not caught up with the create.

use std::time::{Duration, Instant};

use crate::harness::{OperatorOptions, World, condition, condition_is};
use crate::support::{Fault, FaultProxy};

/// A world whose operator reaches IAM through a fault proxy, with a short propagation window.
async fn world_behind_proxy(window: &str) -> (World, FaultProxy) {
    let mut world = World::start_with_resync(Duration::from_secs(120)).await;
    world.kill_operator();
    // moto builds its IAM backend on the first call: keep that out of the timed windows.
    assert_eq!(world.role("warm-up").await, None);
    let proxy = FaultProxy::start(&world.moto.endpoint);
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        extra_args: vec!["--propagation-window".into(), window.into()],
        ..OperatorOptions::default()
    });
    (world, proxy)
}

fn manifest(name: &str, trusted: &str) -> String {
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {name}, namespace: default}}
spec:
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{AWS: "{trusted}"}}, Action: sts:AssumeRole, Condition: {{StringEquals: {{"sts:ExternalId": "e2e-partner"}}}}}}
  inlinePolicies:
    read:
      Version: "2012-10-17"
      Statement:
        - {{Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::bucket/*"}}
"#
    )
}

/// A principal that never appears: retried while it may still be propagating, then Stalled
/// with IAM's words naming it, and no more attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_principal_stalls_after_the_window() {
    let (world, proxy) = world_behind_proxy("3s").await;
    let principal = "arn:aws:iam::123456789012:role/never-created";
    proxy.inject(
        Fault::invalid_principal("CreateRole", principal)
            .on(&["CreateRole", "UpdateAssumeRolePolicy"])
            .always(),
    );
    let started = Instant::now();
    world.apply_yaml(&manifest("partner", principal));
    let object = world
        .wait_for_object(
            "default",
            "partner",
            "Stalled after the propagation window",
            Duration::from_secs(30),
            |o| condition_is(o, "Stalled", "True"),
        )
        .await;
    let stalled_after = started.elapsed();
    let stalled = condition(&object, "Stalled").cloned().unwrap_or_default();
    assert_eq!(stalled["reason"], "IamRejected", "{stalled}");
    let message = stalled["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(principal) && message.contains("fix the trust policy"),
        "{message}"
    );
    assert!(
        stalled_after >= Duration::from_secs(3),
        "stalled after {stalled_after:?}, before the window ended"
    );
    let attempts = proxy.requests("CreateRole");
    assert!(attempts >= 2, "retried within the window: {attempts}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        proxy.requests("CreateRole"),
        attempts,
        "no attempt after the error became the user's"
    );
    assert_eq!(world.role("default.partner").await, None);
    println!(
        "invalid principal: Stalled after {:.1} s with a 3 s window, {attempts} CreateRole attempts",
        stalled_after.as_secs_f64()
    );
}

/// Deleted right after its role was created, while IAM still answers NoSuchEntity about it:
/// the finalizer holds until IAM shows the role, which is then deleted. Nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_right_after_create_leaves_no_role_behind() {
    let (world, proxy) = world_behind_proxy("60s").await;
    // Longer than the wait for status below: the role must be recorded while IAM still hides it.
    proxy.delay_visibility(Duration::from_secs(12));
    world.apply_yaml(&manifest("fresh", "arn:aws:iam::123456789012:root"));
    let object = world
        .wait_for_object(
            "default",
            "fresh",
            "status.roleArn recorded while IAM still hides the role",
            Duration::from_secs(6),
            |o| o["status"]["roleArn"].is_string(),
        )
        .await;
    assert_eq!(object["status"]["roleName"], "default.fresh");
    assert!(
        world.role("default.fresh").await.is_some(),
        "the role exists in IAM (read without the proxy)"
    );
    let deleted_at = Instant::now();
    world.kubectl_ok(&[
        "delete",
        "iamrole",
        "fresh",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    let took = deleted_at.elapsed();
    assert_eq!(
        world.role("default.fresh").await,
        None,
        "the role was left behind; operator log:\n{}",
        crate::harness::tail(&world.operator_log(), 40)
    );
    assert!(proxy.requests("DeleteRole") >= 1);
    println!(
        "delete during propagation: object gone after {:.1} s, role deleted",
        took.as_secs_f64()
    );
}
