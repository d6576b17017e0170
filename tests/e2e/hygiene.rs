//! Hygiene through the running operator: a role unused for longer than --unused-after gets the
//! unused-role warning from the drift sweep alone (no change to the object), and the account's
//! roles and quota are metrics.

use std::time::Duration;

use crate::harness::{OperatorOptions, World, condition};

const ROLE: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: idle, namespace: default}
spec:
  roleName: e2e-idle
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_role_is_reported_unused_and_the_quota_is_measured() {
    let mut world = World::start().await;
    world.kill_operator();
    world.start_operator_with(&OperatorOptions {
        extra_args: vec![
            "--unused-after".into(),
            "4s".into(),
            "--unconfined-namespaces".into(),
            "default".into(),
        ],
        ..OperatorOptions::default()
    });
    world.apply_yaml(ROLE);
    world.wait_ready("default", "idle", "60s");
    let fresh = world.get_json("default", "idle");
    let warnings = condition(&fresh, "Warnings").cloned().unwrap_or_default();
    assert_eq!(warnings["status"], "False", "just created: {warnings}");

    // Nothing changes on the object: the sweep sees the role turn unused (moto never records a
    // use) and the reconcile it triggers says so.
    let object = world
        .wait_for_object(
            "default",
            "idle",
            "unused-role",
            Duration::from_secs(60),
            |o| {
                condition(o, "Warnings").is_some_and(|c| {
                    c["status"] == "True"
                        && c["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("has not been used since it was created"))
                })
            },
        )
        .await;
    assert_eq!(
        object["metadata"]["generation"],
        fresh["metadata"]["generation"]
    );
    let (_, metrics) = world.http_get("/metrics").await.expect("metrics served");
    assert!(
        metrics.contains(r#"rolesmith_findings{check="unused-role",severity="low"} 1"#),
        "{metrics}"
    );
    // moto's GetAccountSummary: its real count of roles, and its quota of 1000.
    assert!(
        metrics.contains(r#"rolesmith_account_roles_quota{account="123456789012"} 1000"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"rolesmith_account_roles{account="123456789012"} "#),
        "{metrics}"
    );
}
