//! A fleet at scale, end to end: R IamRoles (2 inline + 1 managed policy, 2 tags each) created
//! through the test API server, the `rolesmith` binary reconciling them against moto with no
//! rate limit (moto is the bound), then the drift check measured both ways: the account sweep
//! and the per-role reads it replaces, in the same run.

use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DeleteParams, PostParams};
use rolesmith::api::IamRole;
use rolesmith::iam::IamApi;
use rolesmith::model::IamOp;

use super::harness::{OperatorOptions, World};
use super::plan::document;
use super::process;

pub const NAMESPACE: &str = "default";
/// The sweep's interval in this benchmark: drift must be repaired within it (+ 1 s).
pub const INTERVAL: Duration = Duration::from_secs(20);

#[derive(Debug, Default)]
pub struct Figures {
    pub roles: usize,
    pub api_create: Duration,
    pub ready: Duration,
    pub calls_to_ready: u64,
    pub moto_median: Duration,
    pub floor: Duration,
    pub sweep_calls_per_check: f64,
    pub sweep_check_time: Duration,
    pub per_role_calls_per_check: u64,
    pub per_role_check_time: Duration,
    pub drift_repair: Duration,
    pub new_role_ready: Duration,
    pub new_role_iam_time: Duration,
    pub peak_rss_mib: f64,
    pub cpu_per_1000_reconciles: f64,
    pub api_server_cpu_share: f64,
}

pub fn manifest(name: &str, index: usize) -> IamRole {
    let value = serde_json::json!({
        "apiVersion": "iam.rolesmith.dev/v1alpha1",
        "kind": "IamRole",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "assumeRolePolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "inlinePolicies": {"a": document(index), "b": document(index + 1)},
            "managedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            "tags": {"team": "bench", "index": index.to_string()},
        }
    });
    serde_json::from_value(value).expect("a valid IamRole")
}

pub async fn client(world: &World) -> kube::Client {
    let kubeconfig =
        kube::config::Kubeconfig::read_from(world.sim.kubeconfig()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

/// Creates the objects through the API, 32 requests in flight.
pub async fn create_all(api: &Api<IamRole>, objects: Vec<IamRole>) {
    futures::stream::iter(objects)
        .map(|object| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &object)
                    .await
                    .expect("created")
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
}

pub async fn delete_all(api: &Api<IamRole>, names: Vec<String>) {
    futures::stream::iter(names)
        .map(|name| {
            let api = api.clone();
            async move {
                let _ = api.delete(&name, &DeleteParams::default()).await;
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
}

fn ready(object: &IamRole) -> bool {
    rolesmith::status::ready_condition(object.status.as_ref()).is_some_and(|c| c.status == "True")
}

/// Polls until `count(list)` reaches `want`, or panics after `timeout`.
pub async fn wait_until(
    api: &Api<IamRole>,
    what: &str,
    timeout: Duration,
    poll: Duration,
    done: impl Fn(&[IamRole]) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let list = api
            .list(&Default::default())
            .await
            .map(|l| l.items)
            .unwrap_or_default();
        if done(&list) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not reached in {timeout:?}"
        );
        tokio::time::sleep(poll).await;
    }
}

pub async fn metric(world: &World, name: &str, label: Option<&str>) -> f64 {
    let body = world
        .http_get("/metrics")
        .await
        .map(|(_, b)| b)
        .unwrap_or_default();
    body.lines()
        .filter(|l| l.starts_with(name) && label.is_none_or(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn all_calls(world: &World) -> u64 {
    metric(world, "rolesmith_iam_calls_total", None).await as u64
}

async fn calls_of(world: &World, operation: &str) -> u64 {
    metric(
        world,
        "rolesmith_iam_calls_total",
        Some(&format!("operation=\"{operation}\"")),
    )
    .await as u64
}

/// moto's median answer time for a GetRole, as the operator's SDK sees it.
async fn moto_median(world: &World, role: &str) -> Duration {
    let mut times = Vec::new();
    for _ in 0..41 {
        let started = Instant::now();
        let _ = world.iam.get_role(role).await;
        times.push(started.elapsed());
    }
    times.sort();
    // GetRole is one of 5 calls of a read (3 + N); each is one request: the median request.
    let per_get_role = times[times.len() / 2];
    // get_role = GetRole + ListRolePolicies + 2 GetRolePolicy + ListAttachedRolePolicies.
    per_get_role / 5
}

/// An operator with no rate limit (moto is the bound), 16 reconciles at a time.
pub fn start_operator(world: &mut World, drift_check: &str, log: &str) {
    world.kill_operator();
    world.start_operator_with(&OperatorOptions {
        extra_args: vec![
            "--iam-rate-limit".into(),
            "0".into(),
            "--concurrency".into(),
            "16".into(),
            "--drift-check".into(),
            drift_check.into(),
        ],
        rust_log: Some(log.into()),
        ..OperatorOptions::default()
    });
}

pub async fn run(roles: usize) -> Figures {
    let mut figures = Figures {
        roles,
        ..Figures::default()
    };
    let mut world = World::start_with_resync(INTERVAL).await;
    start_operator(&mut world, "sweep", "info");
    let api: Api<IamRole> = Api::namespaced(client(&world).await, NAMESPACE);
    let bench_cpu_before = process::usage(std::process::id()).cpu_seconds;

    let objects: Vec<IamRole> = (0..roles)
        .map(|i| manifest(&format!("bench-{i}"), i))
        .collect();
    let started = Instant::now();
    create_all(&api, objects).await;
    figures.api_create = started.elapsed();
    wait_until(
        &api,
        "all Ready",
        Duration::from_secs(3600),
        // Listing costs the API server time too: poll about as often as a list takes.
        Duration::from_millis((roles as u64 / 5).clamp(100, 2000)),
        |list| list.len() == roles && list.iter().all(ready),
    )
    .await;
    figures.ready = started.elapsed();
    figures.calls_to_ready = all_calls(&world).await;
    let operator = world.operator.as_ref().expect("operator").pid();
    let bench_cpu = process::usage(std::process::id()).cpu_seconds - bench_cpu_before;
    let operator_cpu = process::usage(operator).cpu_seconds;
    figures.api_server_cpu_share = bench_cpu / (bench_cpu + operator_cpu).max(f64::EPSILON);
    figures.moto_median = moto_median(&world, &format!("default.bench-{}", roles / 2)).await;
    figures.floor = figures.moto_median * figures.calls_to_ready as u32;

    // Steady state: what one drift check of the idle fleet costs, by sweep.
    tokio::time::sleep(INTERVAL + INTERVAL / 5).await;
    let (calls_before, sweeps_before) = (
        all_calls(&world).await,
        calls_of(&world, "GetAccountAuthorizationDetails").await,
    );
    let window = INTERVAL * 3;
    tokio::time::sleep(window).await;
    let sweeps = calls_of(&world, "GetAccountAuthorizationDetails").await - sweeps_before;
    figures.sweep_calls_per_check =
        (all_calls(&world).await - calls_before) as f64 / sweeps.max(1) as f64;
    figures.sweep_check_time = strip_ansi(&world.operator_log())
        .lines()
        .rev()
        .find(|l| l.contains("swept the account"))
        .and_then(|l| l.split("elapsed=").nth(1))
        .and_then(|t| humantime_ms(t.split_whitespace().next().unwrap_or("")))
        .unwrap_or_default();

    // An inline policy edited behind rolesmith's back, repaired by the next sweep.
    let victim = format!("default.bench-{}", roles / 2);
    world
        .iam
        .execute(&IamOp::PutRolePolicy {
            role: victim.clone(),
            policy_name: "a".into(),
            document: crate::support::allow("s3:*", "*"),
        })
        .await
        .expect("drift");
    let drifted = Instant::now();
    loop {
        let role = world.iam.get_role(&victim).await.ok().flatten();
        if role.is_some_and(|r| !r.inline_policies["a"].contains("\"s3:*\"")) {
            break;
        }
        assert!(drifted.elapsed() < INTERVAL * 3, "drift not repaired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    figures.drift_repair = drifted.elapsed();

    // One new IamRole into the idle fleet.
    let iam_time_before = metric(&world, "rolesmith_iam_call_duration_seconds_sum", None).await;
    let started = Instant::now();
    api.create(&PostParams::default(), &manifest("bench-new", roles))
        .await
        .expect("created");
    loop {
        if api.get("bench-new").await.is_ok_and(|o| ready(&o)) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "new role not Ready"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    figures.new_role_ready = started.elapsed();
    figures.new_role_iam_time = Duration::from_secs_f64(
        metric(&world, "rolesmith_iam_call_duration_seconds_sum", None).await - iam_time_before,
    );

    let usage = process::usage(operator);
    figures.peak_rss_mib = usage.peak_rss_kib as f64 / 1024.0;
    let reconciles = metric(&world, "rolesmith_reconciles_total", None).await;
    figures.cpu_per_1000_reconciles = usage.cpu_seconds / reconciles.max(1.0) * 1000.0;

    // The same check the old way: a fresh operator reading every role on its own. Objects in
    // sync are not reconciled at start, so what it does first is exactly one per-role check.
    start_operator(&mut world, "per-role", "info");
    let started = Instant::now();
    let want = (roles + 1) as f64;
    loop {
        let done = metric(&world, "rolesmith_reconciles_total", None).await;
        if done >= want {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "per-role check did not finish"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    figures.per_role_check_time = started.elapsed();
    figures.per_role_calls_per_check = all_calls(&world).await;
    figures
}

/// The log without terminal colour codes (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `1.234s`, `56.7ms`, `890µs` as Debug prints a Duration.
fn humantime_ms(text: &str) -> Option<Duration> {
    let text = text.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '.' && c != 'µ');
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1e3,
        "µs" | "us" => value / 1e6,
        "ns" => value / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

pub fn print_table(rows: &[Figures]) {
    println!();
    println!(
        "| figure | {} |",
        rows.iter()
            .map(|f| format!("{} roles", f.roles))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(rows.len()));
    let row = |name: &str, cell: &dyn Fn(&Figures) -> String| {
        println!(
            "| {name} | {} |",
            rows.iter().map(cell).collect::<Vec<_>>().join(" | ")
        );
    };
    row(
        "IAM calls per drift check, sweep (target ≤ 2·ceil(R/1000)+2)",
        &|f| {
            format!(
                "{:.1} (target {})",
                f.sweep_calls_per_check,
                2 * f.roles.div_ceil(1000) + 2
            )
        },
    );
    row("IAM calls per drift check, per-role reads", &|f| {
        f.per_role_calls_per_check.to_string()
    });
    row("calls ratio per-role / sweep", &|f| {
        format!(
            "{:.0}×",
            f.per_role_calls_per_check as f64 / f.sweep_calls_per_check.max(1.0)
        )
    });
    row("time of one drift check: sweep / per-role", &|f| {
        format!("{:.1?} / {:.1?}", f.sweep_check_time, f.per_role_check_time)
    });
    row(
        &format!(
            "out-of-band inline edit → repaired (interval {INTERVAL:?}, target ≤ interval + 1 s)"
        ),
        &|f| format!("{:.1?}", f.drift_repair),
    );
    row(
        "one new IamRole → Ready (its IAM calls' own time)",
        &|f| format!("{:.0?} ({:.0?})", f.new_role_ready, f.new_role_iam_time),
    );
    row("all applied at once → all Ready", &|f| {
        format!("{:.1?}", f.ready)
    });
    row(
        "IAM calls to get there; floor = calls × moto median",
        &|f| {
            format!(
                "{} × {:.2?} = {:.1?}",
                f.calls_to_ready, f.moto_median, f.floor
            )
        },
    );
    row("operator overhead over the floor", &|f| {
        format!(
            "{:+.0} %",
            (f.ready.as_secs_f64() / f.floor.as_secs_f64().max(1e-9) - 1.0) * 100.0
        )
    });
    row("creating the objects through the API server", &|f| {
        format!("{:.1?}", f.api_create)
    });
    row(
        "API server + bench client share of CPU (vs operator)",
        &|f| format!("{:.0} %", f.api_server_cpu_share * 100.0),
    );
    row("operator peak RSS (target ≤ 64 MiB)", &|f| {
        format!("{:.1} MiB", f.peak_rss_mib)
    });
    row("operator CPU per 1,000 reconciles", &|f| {
        format!("{:.2} s", f.cpu_per_1000_reconciles)
    });
}
