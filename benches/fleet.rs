//! `cargo bench --bench fleet`: measures what the README's performance section reports.
//!
//! 1. The pure core: planning an in-sync role with N inline policies (semantic comparison of
//!    every document), per call.
//! 2. A fleet end to end: R IamRoles (BENCH_ROLES, default 100) applied at once to the test API
//!    server, the `rolesmith` binary reconciling them against a local IAM (moto): time until all
//!    are Ready, IAM calls spent, IAM reads per in-sync reconcile over several resyncs, and the
//!    operator's memory (VmHWM) and CPU time.
//!
//! Prints figures; asserts only what must hold (every role Ready, no writes when in sync).

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

#[path = "../tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rolesmith::model::{DesiredRole, ObservedRole, Owner};

fn main() {
    plan_benchmark();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(fleet_benchmark());
}

fn document(index: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S{index}","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::bucket-{index}","arn:aws:s3:::bucket-{index}/*"],"Condition":{{"StringEquals":{{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}}}}}]}}"#
    )
}

fn plan_benchmark() {
    for inline in [1usize, 5, 20] {
        let owner = Owner {
            cluster: "bench".into(),
            namespace: "default".into(),
            name: "app".into(),
        };
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let policies: BTreeMap<String, String> = (0..inline)
            .map(|i| (format!("p{i}"), document(i)))
            .collect();
        let tags: BTreeMap<String, String> = (0..10)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let desired = DesiredRole {
            name: "default.app".into(),
            path: "/".into(),
            description: "bench".into(),
            max_session_duration: 3600,
            assume_role_policy: trust.into(),
            inline_policies: policies.clone(),
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            permissions_boundary: None,
            tags: tags.clone(),
        };
        // What IAM answers: reformatted (spaces, reordered lists), as after a round trip.
        let mut observed_tags = tags;
        observed_tags.insert(rolesmith::model::OWNER_TAG_KEY.into(), owner.tag_value());
        let observed = ObservedRole {
            name: desired.name.clone(),
            path: "/".into(),
            arn: "arn:aws:iam::123456789012:role/default.app".into(),
            role_id: "AROA".into(),
            description: "bench".into(),
            max_session_duration: 3600,
            assume_role_policy: trust.replace(',', ", "),
            inline_policies: policies
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.replace(
                            "[\"s3:GetObject\",\"s3:PutObject\"",
                            "[\"s3:PutObject\",\"s3:GetObject\"",
                        ),
                    )
                })
                .collect(),
            managed_policy_arns: desired.managed_policy_arns.clone(),
            permissions_boundary: None,
            tags: observed_tags,
        };
        let iterations = 20_000 / inline.max(1);
        let started = Instant::now();
        for _ in 0..iterations {
            let ops = rolesmith::plan::plan_apply(&desired, Some(&observed), &owner, false)
                .expect("plan");
            assert!(ops.is_empty(), "in sync: {ops:?}");
        }
        let per_call = started.elapsed() / iterations as u32;
        println!(
            "plan, in-sync role with {inline:>2} inline policies: {per_call:?} per plan ({iterations} plans)"
        );
    }
}

async fn fleet_benchmark() {
    let roles: usize = std::env::var("BENCH_ROLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    // IAM allows far more than the operator's default 10 calls/s; the benchmark measures the
    // operator, so it runs at 50/s, with a resync the fleet's reads fit into.
    let rate = 50;
    // The steady-state reads (5 per role per resync) must fit in half the rate limit, or the
    // fleet never gets out of the limiter's queue: 100 roles → 20 s, 500 roles → 100 s.
    let resync = Duration::from_secs((roles as u64 * 5 * 2 / rate).max(15));
    let mut world = harness::World::start_with_resync(resync).await;
    world.kill_operator();
    world.start_operator_with(&harness::OperatorOptions {
        extra_args: vec!["--iam-rate-limit".into(), rate.to_string()],
        ..Default::default()
    });
    let manifests: String = (0..roles)
        .map(|i| {
            format!(
                r#"apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: bench-{i}, namespace: default}}
spec:
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}
  inlinePolicies:
    a: '{a}'
    b: '{b}'
  managedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  tags: {{team: bench, index: "{i}"}}
---
"#,
                a = document(i),
                b = document(i + 1),
            )
        })
        .collect();
    let started = Instant::now();
    world.apply_yaml(&manifests);
    world.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "iamroles",
        "--all",
        "-n",
        "default",
        "--timeout=600s",
    ]);
    let converge = started.elapsed();
    let reads = [
        "GetRole",
        "ListRolePolicies",
        "GetRolePolicy",
        "ListAttachedRolePolicies",
    ];
    let calls_to_converge = world.iam_calls(&reads).await + world.iam_calls(harness::WRITES).await;
    println!(
        "fleet: {roles} roles (2 inline + 1 managed policy, 2 tags each) Ready in {converge:.1?}; {calls_to_converge} IAM calls ({:.1} per role)",
        calls_to_converge as f64 / roles as f64
    );

    // Steady state: only resync reads, no writes.
    let reads_before = world.iam_calls(&reads).await;
    let writes_before = world.iam_calls(harness::WRITES).await;
    let reconciles_before = metric(&world, "rolesmith_reconciles_total").await;
    let window = resync * 2;
    tokio::time::sleep(window).await;
    let reads_during = world.iam_calls(&reads).await - reads_before;
    let writes_during = world.iam_calls(harness::WRITES).await - writes_before;
    let reconciles = metric(&world, "rolesmith_reconciles_total").await - reconciles_before;
    println!(
        "steady state over {window:?} (resync {resync:?}): {reconciles} reconciles, {reads_during} IAM reads = {:.2} per reconcile (floor 3 + N = 5), {writes_during} writes",
        reads_during as f64 / reconciles.max(1) as f64
    );
    assert_eq!(writes_during, 0, "in-sync roles were written");
    if let Some(op) = &world.operator {
        let pid_status =
            std::fs::read_to_string(format!("/proc/{}/status", op.pid())).unwrap_or_default();
        let field = |name: &str| {
            pid_status
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", op.pid())).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of /proc/PID/stat (index 11, 12 after the ')').
        let cpu_seconds = (ticks(11) + ticks(12)) / 100.0;
        println!(
            "operator process (debug-free bench build): peak RSS {}, RSS now {}, CPU time {cpu_seconds:.1} s",
            field("VmHWM:"),
            field("VmRSS:")
        );
    }
}

async fn metric(world: &harness::World, name: &str) -> u64 {
    let body = world
        .http_get("/metrics")
        .await
        .map(|(_, b)| b)
        .unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
