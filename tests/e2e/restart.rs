//! The operator killed mid-way resumes and converges, without duplicates or leftovers.

use std::time::Duration;

use crate::harness::World;

fn manifest(index: usize) -> String {
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: r{index}, namespace: default}}
spec:
  roleName: e2e-restart-{index}
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}
  inlinePolicies:
    logs:
      Version: "2012-10-17"
      Statement:
        - {{Effect: Allow, Action: "logs:PutLogEvents", Resource: "*"}}
  managedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  tags: {{index: "{index}"}}
---
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_operator_converges() {
    let mut world = World::start().await;
    let all: String = (0..8).map(manifest).collect();
    world.apply_yaml(&all);
    // Kill it as soon as the first role shows up in IAM: the rest is mid-flight.
    world
        .wait_for_role(
            "e2e-restart-0",
            "first role created",
            Duration::from_secs(60),
            |r| r.is_some(),
        )
        .await;
    world.kill_operator();
    world.start_operator();
    for index in 0..8 {
        world.wait_ready("default", &format!("r{index}"), "120s");
        let role = world
            .role(&format!("e2e-restart-{index}"))
            .await
            .expect("role exists");
        assert_eq!(role.inline_policies.len(), 1);
        assert_eq!(role.managed_policy_arns.len(), 1);
        assert_eq!(role.tags.get("index"), Some(&index.to_string()));
    }
    // Kill again during deletion, restart: every role goes, every object goes.
    world.kubectl_ok(&[
        "delete",
        "iamroles",
        "--all",
        "-n",
        "default",
        "--wait=false",
    ]);
    world.kill_operator();
    world.start_operator();
    for index in 0..8 {
        world
            .wait_for_role(
                &format!("e2e-restart-{index}"),
                "deleted",
                Duration::from_secs(60),
                |r| r.is_none(),
            )
            .await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = world.kubectl_ok(&["get", "iamroles", "-n", "default", "-o", "name"]);
        if left.trim().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "objects left: {left}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
