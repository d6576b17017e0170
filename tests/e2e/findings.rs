//! Findings through the running operator: a risky grant shows in the Warnings condition, a
//! Warning Event and the findings metric, and goes from all three once the spec is fixed.

use std::time::Duration;

use crate::harness::{World, condition, condition_is};

const RISKY: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: launcher, namespace: default}
spec:
  roleName: e2e-launcher
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
  inlinePolicies:
    launch:
      Version: "2012-10-17"
      Statement:
        - {Effect: Allow, Action: iam:PassRole, Resource: "*"}
"#;

const GAUGE: &str = "rolesmith_findings{check=\"passrole-wildcard\",severity=\"high\"}";

async fn gauge(world: &World) -> Option<String> {
    let metrics = world.http_get("/metrics").await?.1;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(GAUGE).map(|v| v.trim().to_string()))
}

async fn wait_gauge(world: &World, want: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let value = gauge(world).await;
        if value.as_deref() == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{GAUGE} is {value:?}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_is_reported_counted_and_cleared() {
    let world = World::start().await;
    world.apply_yaml(RISKY);
    world.wait_ready("default", "launcher", "60s");
    let object = world
        .wait_for_object(
            "default",
            "launcher",
            "Warnings True",
            Duration::from_secs(30),
            |o| condition_is(o, "Warnings", "True"),
        )
        .await;
    let message = condition(&object, "Warnings")
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        message.starts_with(
            "spec.inlinePolicies.launch: allows iam:PassRole on every role without an iam:PassedToService condition"
        ),
        "{message}"
    );
    let events: serde_json::Value = serde_json::from_str(&world.kubectl_ok(&[
        "get",
        "events",
        "-n",
        "default",
        "--field-selector",
        "involvedObject.name=launcher",
        "-o",
        "json",
    ]))
    .expect("events as JSON");
    let warned = events["items"].as_array().into_iter().flatten().any(|e| {
        e["type"] == "Warning"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("allows iam:PassRole on every role"))
    });
    assert!(warned, "no Warning Event naming the finding: {events}");
    wait_gauge(&world, "1").await;
    // The role was created all the same: warnings never block.
    assert!(world.role("e2e-launcher").await.is_some());

    // Scoped to the roles it may pass and the service: no finding any more.
    world.apply_yaml(&RISKY.replace(
        r#"{Effect: Allow, Action: iam:PassRole, Resource: "*"}"#,
        r#"{Effect: Allow, Action: iam:PassRole, Resource: "arn:aws:iam::123456789012:role/app-*", Condition: {StringEquals: {"iam:PassedToService": ec2.amazonaws.com}}}"#,
    ));
    world
        .wait_for_object(
            "default",
            "launcher",
            "Warnings False",
            Duration::from_secs(60),
            |o| condition_is(o, "Warnings", "False"),
        )
        .await;
    wait_gauge(&world, "0").await;
}
