//! Statuses the operator really produced, read the way GitOps tools read them: kstatus (Flux,
//! `kubectl wait`) and the shipped Argo CD Lua health check run by the real Lua 5.1.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{World, condition, condition_is, repo};

/// kstatus's generic rules (sigs.k8s.io/cli-utils/pkg/kstatus), as Flux applies them to
/// custom resources: stale generation or Reconciling=True → InProgress; Stalled=True → Failed;
/// otherwise Ready decides between Current and InProgress.
fn kstatus(object: &Value) -> &'static str {
    let generation = object["metadata"]["generation"].as_i64();
    let observed = object["status"]["observedGeneration"].as_i64();
    if object["status"].is_null() || observed != generation {
        return "InProgress";
    }
    if condition_is(object, "Reconciling", "True") {
        return "InProgress";
    }
    if condition_is(object, "Stalled", "True") {
        return "Failed";
    }
    if condition_is(object, "Ready", "True") {
        "Current"
    } else {
        "InProgress"
    }
}

fn argocd_health(object: &Value) -> (String, String) {
    let python = repo(".venv/bin/python");
    let mut child = Command::new(python)
        .arg(repo("tests/e2e/argocd_health.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(object.to_string().as_bytes())
        .expect("write object");
    let output = child.wait_with_output().expect("health check finishes");
    assert!(
        output.status.success(),
        "health check failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (status, message) = text.split_once('\n').unwrap_or((&text, ""));
    (status.trim().to_string(), message.trim().to_string())
}

const ROLE: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: NAME, namespace: default}
spec:
  roleName: ROLE
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_statuses_read_as_gitops_tools_read_them() {
    let world = World::start().await;
    // Healthy: a role that converged.
    world.apply_yaml(
        &ROLE
            .replace("NAME", "healthy")
            .replace("ROLE", "e2e-healthy"),
    );
    world.wait_ready("default", "healthy", "60s");
    let healthy = world.get_json("default", "healthy");
    assert_eq!(kstatus(&healthy), "Current");
    assert_eq!(argocd_health(&healthy).0, "Healthy");

    // Degraded / Failed: a role name that someone else's role already has (same name as the
    // healthy one, another object): only a spec change can help.
    world.apply_yaml(
        &ROLE
            .replace("NAME", "stalled")
            .replace("ROLE", "e2e-healthy"),
    );
    let stalled = world
        .wait_for_object(
            "default",
            "stalled",
            "Stalled",
            Duration::from_secs(60),
            |o| condition_is(o, "Stalled", "True"),
        )
        .await;
    assert_eq!(kstatus(&stalled), "Failed");
    let (health, message) = argocd_health(&stalled);
    assert_eq!(health, "Degraded");
    let ready_message = condition(&stalled, "Ready").expect("Ready")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("e2e-healthy"),
        "{message} / {ready_message}"
    );

    // Progressing: a spec change the operator has not processed yet (operator stopped).
    let mut world = world;
    world.kill_operator();
    world.apply_yaml(
        &ROLE
            .replace("NAME", "healthy")
            .replace("ROLE", "e2e-healthy")
            .replace("Statement:", "Id: changed\n    Statement:"),
    );
    let pending = world.get_json("default", "healthy");
    assert_ne!(
        pending["metadata"]["generation"],
        pending["status"]["observedGeneration"]
    );
    assert_eq!(kstatus(&pending), "InProgress");
    assert_eq!(argocd_health(&pending).0, "Progressing");
    // A brand-new object without any status yet.
    world.apply_yaml(&ROLE.replace("NAME", "fresh").replace("ROLE", "e2e-fresh"));
    let fresh = world.get_json("default", "fresh");
    assert_eq!(kstatus(&fresh), "InProgress");
    assert_eq!(argocd_health(&fresh).0, "Progressing");
}
