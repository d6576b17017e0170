//! Two replicas with leader election: only the leader writes to IAM; when it is killed the
//! standby takes over within the lease duration, and no IAM write is ever made twice.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{CLUSTER_ID, World, free_port};

struct Replica {
    name: &'static str,
    child: Child,
    metrics_port: u16,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replica(world: &World, name: &'static str) -> Replica {
    let metrics_port = free_port();
    let log =
        std::fs::File::create(world.home.path().join(format!("{name}.log"))).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_rolesmith"))
        .args([
            "run",
            "--cluster-id",
            CLUSTER_ID,
            "--iam-endpoint",
            &world.moto.endpoint,
        ])
        .args([
            "--resync-interval",
            "3s",
            "--retry-base",
            "200ms",
            "--retry-max",
            "2s",
        ])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .args([
            "--leader-election",
            "--lease-namespace",
            "default",
            "--unconfined-namespaces",
            "default",
        ])
        .env("POD_NAME", name)
        .env("KUBECONFIG", world.sim.kubeconfig())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("rolesmith starts");
    Replica {
        name,
        child,
        metrics_port,
    }
}

/// The replica's IAM calls for `operations`, from its own /metrics.
async fn calls(replica: &Replica, operations: &[&str]) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", replica.metrics_port)).await
    else {
        return 0;
    };
    let request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0;
    }
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body).await;
    body.lines()
        .filter(|l| l.starts_with("rolesmith_iam_calls_total{"))
        .filter(|l| {
            operations
                .iter()
                .any(|op| l.contains(&format!("operation=\"{op}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

fn holder(world: &World) -> String {
    let output = world.kubectl(&[
        "get",
        "lease",
        "rolesmith-leader",
        "-n",
        "default",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn manifests(tag: &str) -> String {
    (0..10)
        .map(|i| {
            format!(
                r#"apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: ha-{i}, namespace: default}}
spec:
  roleName: e2e-ha-{i}
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: ec2.amazonaws.com}}, Action: sts:AssumeRole}}
  tags: {{generation: "{tag}"}}
---
"#
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_and_no_write_is_duplicated() {
    let mut world = World::start().await;
    world.kill_operator(); // this test runs its own two replicas
    let a = start_replica(&world, "replica-a");
    let b = start_replica(&world, "replica-b");
    let deadline = Instant::now() + Duration::from_secs(30);
    while holder(&world).is_empty() {
        assert!(Instant::now() < deadline, "nobody took the lease");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let leader_name = holder(&world);
    let (leader, standby) = if leader_name.starts_with("replica-a") {
        (a, b)
    } else {
        (b, a)
    };

    world.apply_yaml(&manifests("one"));
    for i in 0..10 {
        world.wait_ready("default", &format!("ha-{i}"), "60s");
    }
    assert_eq!(calls(&leader, &["CreateRole"]).await, 10);
    assert_eq!(
        calls(&standby, crate::harness::WRITES).await,
        0,
        "the standby wrote to IAM"
    );
    assert_eq!(
        calls(&standby, &["GetRole"]).await,
        0,
        "the standby read IAM: it is not idle"
    );
    let leader_tags_before = calls(&leader, &["TagRole"]).await;

    // Kill the leader without letting it release the lease; edit every role.
    let killed_at = Instant::now();
    drop(leader);
    world.apply_yaml(&manifests("two"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut done = 0;
        for i in 0..10 {
            if let Some(role) = world.role(&format!("e2e-ha-{i}")).await
                && role.tags.get("generation").map(String::as_str) == Some("two")
            {
                done += 1;
            }
        }
        if done == 10 {
            break;
        }
        assert!(Instant::now() < deadline, "the standby did not take over");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let takeover = killed_at.elapsed();
    println!(
        "standby {} took over and converged {takeover:.1?} after the leader was killed",
        standby.name
    );
    assert!(
        takeover < Duration::from_secs(15 + 10),
        "takeover took {takeover:?}"
    );
    assert!(holder(&world).starts_with(standby.name));
    assert_eq!(
        calls(&standby, &["TagRole"]).await,
        10,
        "each role re-tagged exactly once"
    );
    assert_eq!(
        calls(&standby, &["CreateRole"]).await,
        0,
        "no role created twice"
    );
    assert_eq!(leader_tags_before, 0);
}
