//! The IAM-bound floor of creating a fleet: every call the operator made, each at moto's median
//! answer time for that kind of call, asked one at a time on idle moto (its service time: moto
//! answers one request at a time), on kept-alive connections. Timed through the fault proxy
//! instead (one request per connection, as the operator's calls went), a call took 15 ms one at
//! a time, far above moto's share of a call in the run, so that would not be a floor. Calls ×
//! the median of one read is the other floor printed: kinds of call differ in cost (at 10,000
//! roles 3.2–3.9 ms idle), and moto's cost per call grows with the roles it holds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rolesmith::iam::IamApi;
use rolesmith::model::IamOp;

use super::harness::World;
use super::plan::document;

/// Calls timed per kind.
const SAMPLES: usize = 21;
const MANAGED_POLICY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

#[derive(Debug, Default, Clone)]
pub struct Floor {
    pub total: Duration,
    /// Operation, calls, moto's median for it (None: not timed, counted at `fallback`).
    pub by_operation: Vec<(String, u64, Option<Duration>)>,
    pub fallback: Duration,
}

/// The floor of `calls` (operation → count); operations not timed here count at `fallback`.
pub async fn measure(world: &World, calls: &BTreeMap<String, u64>, fallback: Duration) -> Floor {
    let medians = medians(world).await;
    let mut floor = Floor {
        fallback,
        ..Floor::default()
    };
    for (operation, &count) in calls {
        let median = medians.get(operation.as_str()).copied();
        floor.total += median.unwrap_or(fallback) * count as u32;
        floor.by_operation.push((operation.clone(), count, median));
    }
    floor
}

/// moto's median for the calls that create a role as the benchmark's: a GetRole that finds
/// nothing, CreateRole with two tags, PutRolePolicy, AttachRolePolicy. The roles are removed
/// again (the sweep's calls depend on how many roles the account holds).
async fn medians(world: &World) -> BTreeMap<&'static str, Duration> {
    let iam = &world.iam;
    let names: Vec<String> = (0..SAMPLES).map(|i| format!("bench-floor-{i}")).collect();
    let mut times: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let mut time = |operation: &'static str, started: Instant| {
        times.entry(operation).or_default().push(started.elapsed());
    };
    for (i, name) in names.iter().enumerate() {
        let started = Instant::now();
        let _ = iam.get_role(name).await;
        time("GetRole", started);
        let ops = [
            IamOp::CreateRole {
                role: name.clone(),
                path: "/".into(),
                description: String::new(),
                max_session_duration: 3600,
                assume_role_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
                permissions_boundary: None,
                tags: [("team", "bench".to_string()), ("index", i.to_string())]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
            },
            IamOp::PutRolePolicy {
                role: name.clone(),
                policy_name: "a".into(),
                document: document(i),
            },
            IamOp::AttachRolePolicy {
                role: name.clone(),
                policy_arn: MANAGED_POLICY.into(),
            },
        ];
        for op in ops {
            let operation: &'static str = (&op).into();
            let started = Instant::now();
            iam.execute(&op).await.expect("a call of the floor");
            time(operation, started);
        }
    }
    for name in &names {
        for op in [
            IamOp::DetachRolePolicy {
                role: name.clone(),
                policy_arn: MANAGED_POLICY.into(),
            },
            IamOp::DeleteRolePolicy {
                role: name.clone(),
                policy_name: "a".into(),
            },
            IamOp::DeleteRole { role: name.clone() },
        ] {
            iam.execute(&op).await.expect("floor role removed");
        }
    }
    times
        .into_iter()
        .map(|(operation, mut times)| {
            times.sort();
            (operation, times[times.len() / 2])
        })
        .collect()
}

/// The operator's IAM calls so far, by operation (its `rolesmith_iam_calls_total`).
pub fn calls_by_operation(metrics: &str) -> BTreeMap<String, u64> {
    let mut calls = BTreeMap::new();
    for line in metrics.lines() {
        let Some(labels) = line.strip_prefix("rolesmith_iam_calls_total{") else {
            continue;
        };
        let Some(operation) = labels
            .split("operation=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let count = line
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or_default();
        *calls.entry(operation.to_string()).or_default() += count as u64;
    }
    calls
}
