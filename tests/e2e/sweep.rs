//! Drift found by sweeping the account: in sync, a drift check costs the bulk reads and nothing
//! per role; each kind of out-of-band change (trust, inline, managed, tags, boundary,
//! description, maximum session) is repaired within an interval by one write, and only the
//! drifted roles are read on their own.

use std::time::{Duration, Instant};

use rolesmith::iam::IamApi;
use rolesmith::model::IamOp;

use crate::harness::{OperatorOptions, WRITES, World};
use crate::support::{Fault, FaultProxy};

const DRIFTS: [&str; 7] = [
    "trust",
    "inline",
    "managed",
    "tags",
    "boundary",
    "description",
    "session",
];
const PER_ROLE_READS: [&str; 4] = [
    "GetRole",
    "ListRolePolicies",
    "GetRolePolicy",
    "ListAttachedRolePolicies",
];

fn manifest(name: &str) -> String {
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {name}, namespace: default}}
spec:
  description: swept {name}
  maxSessionDuration: 3600
  permissionsBoundary: arn:aws:iam::aws:policy/PowerUserAccess
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}
  inlinePolicies:
    read:
      Version: "2012-10-17"
      Statement:
        - {{Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::{name}/*"}}
  managedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  tags: {{team: sweep}}
---
"#
    )
}

fn drift(kind: &str, role: &str) -> IamOp {
    let role = role.to_string();
    match kind {
        "trust" => IamOp::UpdateAssumeRolePolicy {
            role,
            document: crate::support::service_trust("ec2.amazonaws.com"),
        },
        "inline" => IamOp::PutRolePolicy {
            role,
            policy_name: "read".into(),
            document: crate::support::allow("s3:*", "*"),
        },
        "managed" => IamOp::DetachRolePolicy {
            role,
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        },
        "tags" => IamOp::TagRole {
            role,
            tags: [("team".to_string(), "hijacked".to_string())].into(),
        },
        "boundary" => IamOp::DeleteRolePermissionsBoundary { role },
        "description" => IamOp::UpdateRole {
            role: role.clone(),
            description: "changed by hand".into(),
            max_session_duration: 3600,
        },
        _ => IamOp::UpdateRole {
            description: format!("swept {}", role.trim_start_matches("default.")),
            role,
            max_session_duration: 7200,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_finds_every_kind_of_drift_and_only_drifted_roles_are_read() {
    let resync = Duration::from_secs(3);
    let world = World::start_with_resync(resync).await;
    let names: Vec<String> = DRIFTS.iter().map(|d| format!("swept-{d}")).collect();
    let mut manifests: String = names.iter().map(|n| manifest(n)).collect();
    manifests.push_str(&manifest("swept-untouched"));
    world.apply_yaml(&manifests);
    world.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "iamroles",
        "--all",
        "-n",
        "default",
        "--timeout=120s",
    ]);

    // In sync: two intervals cost sweeps only.
    tokio::time::sleep(resync).await;
    let per_role_before = world.iam_calls(&PER_ROLE_READS).await;
    let writes_before = world.iam_calls(WRITES).await;
    let sweeps_before = world.iam_calls(&["GetAccountAuthorizationDetails"]).await;
    tokio::time::sleep(resync * 2 + Duration::from_secs(1)).await;
    let sweeps = world.iam_calls(&["GetAccountAuthorizationDetails"]).await - sweeps_before;
    assert!(sweeps >= 2, "{sweeps} sweeps in two intervals");
    assert_eq!(
        world.iam_calls(&PER_ROLE_READS).await,
        per_role_before,
        "in-sync roles were read one by one"
    );
    assert_eq!(world.iam_calls(WRITES).await, writes_before);

    // One out-of-band change of each kind, each on its own role.
    let per_role_before = world.iam_calls(&["GetRole"]).await;
    let writes_before = world.iam_calls(WRITES).await;
    for (kind, name) in DRIFTS.iter().zip(&names) {
        world
            .iam
            .execute(&drift(kind, &format!("default.{name}")))
            .await
            .expect("drift made by hand");
    }
    let drifted_at = Instant::now();
    let mut repaired = Vec::new();
    for (kind, name) in DRIFTS.iter().zip(&names) {
        let role = world
            .wait_for_role(
                &format!("default.{name}"),
                &format!("{kind} drift repaired"),
                resync * 3,
                |role| {
                    role.is_some_and(|r| {
                        r.assume_role_policy.contains("lambda")
                            && r.inline_policies["read"].contains("s3:GetObject")
                            && r.managed_policy_arns.len() == 1
                            && r.tags["team"] == "sweep"
                            && r.permissions_boundary.is_some()
                            && r.description == format!("swept {name}")
                            && r.max_session_duration == 3600
                    })
                },
            )
            .await;
        assert!(role.is_some());
        repaired.push((kind, drifted_at.elapsed()));
    }
    let writes = world.iam_calls(WRITES).await - writes_before;
    let reads = world.iam_calls(&["GetRole"]).await - per_role_before;
    assert_eq!(writes, 7, "one write per drift");
    assert!(
        (7..=14).contains(&reads),
        "only the drifted roles are read on their own (once, or twice if a sweep came between): {reads}"
    );
    // The sweeps as the metrics tell them: moto answers the whole account in one page per read.
    let metrics = world
        .http_get("/metrics")
        .await
        .map(|(_, body)| body)
        .unwrap_or_default();
    let value = |series: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} not in\n{metrics}"))
    };
    assert!(value("rolesmith_drift_checks_total{method=\"sweep\"}") >= (sweeps + 1) as f64);
    assert!(value("rolesmith_drift_sweep_duration_seconds_count") >= (sweeps + 1) as f64);
    assert_eq!(value("rolesmith_drift_sweep_calls"), 2.0);
    assert!(value("rolesmith_drift_sweep_roles_in_account") >= 8.0);
    assert!((1.0..=8.0).contains(&value("rolesmith_drift_sweep_roles_checked")));
    assert!(value("rolesmith_drift_roles_drifted_total") >= 7.0);
    println!(
        "sweep drift check: every kind repaired within {:.1?} of a {resync:?} interval; {writes} writes, {reads} GetRole",
        repaired.iter().map(|(_, t)| *t).max().unwrap_or_default()
    );
}

/// A sweep IAM does not answer is tried again shortly, without reading any role on its own; a
/// sweep IAM refuses (the policy lacks the bulk read) falls back to per-role reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_sweep_is_retried_and_a_refused_one_falls_back_to_per_role_reads() {
    let resync = Duration::from_secs(3);
    let mut world = World::start_with_resync(resync).await;
    world.kill_operator();
    let proxy = FaultProxy::start(&world.moto.endpoint);
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        ..OperatorOptions::default()
    });
    let names = ["unanswered-a", "unanswered-b"];
    world.apply_yaml(&names.iter().map(|n| manifest(n)).collect::<String>());
    world.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "iamroles",
        "--all",
        "-n",
        "default",
        "--timeout=120s",
    ]);

    // IAM fails every bulk read (500s, retried by the SDK) for three intervals.
    proxy.inject(Fault::service_failure("GetAccountAuthorizationDetails").always());
    let reads_before = world.iam_calls(&PER_ROLE_READS).await;
    let attempts_before = proxy.requests("GetAccountAuthorizationDetails");
    tokio::time::sleep(resync * 3).await;
    let attempts = proxy.requests("GetAccountAuthorizationDetails") - attempts_before;
    assert_eq!(
        world.iam_calls(&PER_ROLE_READS).await,
        reads_before,
        "an unanswered sweep was replaced by per-role reads"
    );
    // Retried every 1 s (a tenth of the interval, at least 1 s), not once an interval.
    assert!(
        attempts >= 4,
        "{attempts} bulk-read attempts in 3 intervals"
    );

    // Refused: every managed role is read on its own instead.
    proxy.clear();
    proxy.inject(Fault::access_denied("GetAccountAuthorizationDetails").always());
    let reads_before = world.iam_calls(&["GetRole"]).await;
    tokio::time::sleep(resync * 2 + Duration::from_secs(1)).await;
    assert!(
        world.iam_calls(&["GetRole"]).await >= reads_before + names.len() as u64,
        "a refused sweep did not fall back to per-role reads"
    );
    let metrics = world
        .http_get("/metrics")
        .await
        .map(|(_, body)| body)
        .unwrap_or_default();
    for method in ["sweep_failed", "per_role_after_failed_sweep"] {
        assert!(
            metrics.contains(&format!(
                "rolesmith_drift_checks_total{{method=\"{method}\"}}"
            )),
            "{method} not counted:\n{metrics}"
        );
    }
}
