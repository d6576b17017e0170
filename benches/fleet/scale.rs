//! A fleet at scale, end to end: R IamRoles (2 inline + 1 managed policy, 2 tags each) created
//! through the test API server, the `rolesmith` binary reconciling them against moto with no
//! rate limit (moto is the bound), then the drift check measured both ways: the account sweep
//! and the per-role reads it replaces, in the same run.

use std::time::{Duration, Instant};

use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use rolesmith::api::IamRole;
use rolesmith::iam::IamApi;
use rolesmith::model::IamOp;

use super::harness::{OperatorOptions, World};
use super::plan::document;
use super::process;
use super::support::{Fault, FaultProxy};

pub const NAMESPACE: &str = "default";
/// While the fleet is created: the operator's default `--resync-interval`, what users run.
const CREATION_INTERVAL: Duration = Duration::from_secs(300);

/// The drift check's interval in the steady-state part: drift must be repaired within it (+ 1 s).
/// 20 s, longer for large fleets: moto answers the bulk read of 10,000 roles in tens of seconds
/// on one core (real IAM pages it in 1,000s), and a sweep must end before the next is due.
pub fn interval(roles: usize) -> Duration {
    Duration::from_secs((roles as u64 * 9 / 1000).max(20))
}

#[derive(Debug, Default)]
pub struct Figures {
    pub roles: usize,
    pub interval: Duration,
    pub api_create: Duration,
    pub ready: Duration,
    pub calls_to_ready: u64,
    pub moto_median: Duration,
    /// moto's threads had first call on a core ([`process::prioritize`]).
    pub moto_prioritized: bool,
    pub floor: Duration,
    /// Each call at moto's median for its kind.
    pub kind_floor: super::floor::Floor,
    pub sweep_calls_per_check: f64,
    pub last_sweep_calls: u64,
    pub sweep_check_time: Duration,
    pub per_role_calls_per_check: u64,
    pub per_role_check_time: Duration,
    /// Objects the per-role check read before the bench stopped it (all: measured in full).
    pub per_role_read: usize,
    pub drift_repair: Duration,
    pub new_role_ready: Duration,
    pub new_role_iam_time: Duration,
    pub peak_rss_mib: f64,
    /// Peak RSS of the operator that created the fleet, and of the one that then only swept it.
    pub peak_rss_creating_mib: f64,
    pub peak_rss_sweeping_mib: f64,
    /// RSS of the sweeping operator after its drift checks of the idle fleet.
    pub rss_idle_mib: f64,
    pub cpu_per_1000_reconciles: f64,
    /// CPU seconds while the fleet was applied and became Ready.
    pub cpu: Cpu,
}

/// CPU seconds of each process of the benchmark over one phase.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cpu {
    pub api_server: f64,
    pub bench_client: f64,
    pub operator: f64,
    pub moto: f64,
}

impl Cpu {
    fn now(world: &World) -> Cpu {
        let (api_server, own) = process::sim_and_own_cpu();
        Cpu {
            api_server,
            bench_client: own - api_server,
            operator: world
                .operator
                .as_ref()
                .map_or(0.0, |op| process::usage(op.pid()).cpu_seconds),
            moto: process::usage(world.moto.pid()).cpu_seconds,
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            api_server: self.api_server - before.api_server,
            bench_client: self.bench_client - before.bench_client,
            operator: self.operator - before.operator,
            moto: self.moto - before.moto,
        }
    }

    fn total(self) -> f64 {
        self.api_server + self.bench_client + self.operator + self.moto
    }
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

/// The benchmark's own view of the IamRoles, kept by a watch as any client would keep it:
/// listing the whole fleet at every poll costs the API server more than the operator's work
/// (10,000 objects serialized every couple of seconds).
pub struct Watched {
    store: reflector::Store<IamRole>,
    task: tokio::task::JoinHandle<()>,
}

impl Watched {
    pub async fn start(api: &Api<IamRole>) -> Watched {
        let (store, writer) = reflector::store();
        let stream = watcher(api.clone(), watcher::Config::default())
            .default_backoff()
            .reflect(writer)
            .applied_objects();
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while stream.next().await.is_some() {}
        });
        store
            .wait_until_ready()
            .await
            .expect("the bench's watch starts");
        Watched { store, task }
    }

    /// Waits until `done` holds for the objects watched, or panics after `timeout`.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Arc<IamRole>]) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !done(&self.store.state()) {
            assert!(
                Instant::now() < deadline,
                "{what}: not reached in {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn all_ready(want: usize) -> impl Fn(&[Arc<IamRole>]) -> bool {
    move |objects| objects.len() == want && objects.iter().all(|o| ready(o))
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

/// Drift checks by sweep the operator finished (a sweep is several bulk-read pages).
async fn sweeps_done(world: &World) -> u64 {
    metric(
        world,
        "rolesmith_drift_checks_total",
        Some("method=\"sweep\""),
    )
    .await as u64
}

/// moto's median answer time for a GetRole, asked directly (its service time: moto answers one
/// request at a time).
async fn moto_median(world: &World, role: &str) -> Duration {
    let mut times = Vec::new();
    for _ in 0..41 {
        let started = Instant::now();
        let _ = world.iam.get_role(role).await;
        times.push(started.elapsed());
    }
    times.sort();
    // GetRole is one of 6 calls of a read (4 + N); each is one request: the median request.
    let per_get_role = times[times.len() / 2];
    // get_role = GetRole + ListRolePolicies + 2 GetRolePolicy + ListAttachedRolePolicies.
    per_get_role / 5
}

/// An operator with no rate limit (moto is the bound), 16 reconciles at a time.
/// What IAM answers GetAccountSummary with in the benchmark: an account whose role quota was
/// raised (moto reports IAM's default of 1,000, and rolesmith creates no role beyond an
/// account's quota).
const RAISED_QUOTA: &str = r#"<GetAccountSummaryResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccountSummaryResult><SummaryMap><entry><key>Roles</key><value>0</value></entry><entry><key>RolesQuota</key><value>100000</value></entry></SummaryMap></GetAccountSummaryResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></GetAccountSummaryResponse>"#;

/// IAM's largest page of GetAccountAuthorizationDetails and ListRoles (MaxItems ≤ 1,000).
const IAM_PAGE: usize = 1000;

/// moto behind a proxy that forwards every call but GetAccountSummary ([`RAISED_QUOTA`]), and
/// pages the bulk reads as IAM does: moto answers the whole account in one page whatever
/// MaxItems says, and an operator parsing one 10,000-role answer is measuring moto, not the
/// memory it needs against IAM.
pub fn iam_with_raised_quota(world: &World) -> FaultProxy {
    let proxy = FaultProxy::start(&world.moto.endpoint);
    proxy.inject(Fault::reply("GetAccountSummary", RAISED_QUOTA).always());
    proxy.cut_pages(IAM_PAGE);
    proxy
}

pub fn start_operator(world: &mut World, iam: &FaultProxy, drift_check: &str, log: &str) {
    world.kill_operator();
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(iam.endpoint.clone()),
        extra_args: vec![
            "--iam-rate-limit".into(),
            "0".into(),
            "--concurrency".into(),
            concurrency().to_string(),
            "--drift-check".into(),
            drift_check.into(),
        ],
        rust_log: Some(log.into()),
    });
}

/// Reconciles at a time (`BENCH_CONCURRENCY`, default 16).
fn concurrency() -> u16 {
    std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

pub async fn run(roles: usize) -> Figures {
    let mut figures = Figures {
        roles,
        ..Figures::default()
    };
    let interval = interval(roles);
    figures.interval = interval;
    let mut world = process::start_world(CREATION_INTERVAL).await;
    figures.moto_prioritized = process::prioritize(world.moto.pid());
    let iam = iam_with_raised_quota(&world);
    start_operator(&mut world, &iam, "sweep", "info");
    let api: Api<IamRole> = Api::namespaced(client(&world).await, NAMESPACE);
    let watched = Watched::start(&api).await;
    let cpu_before = Cpu::now(&world);

    let objects: Vec<IamRole> = (0..roles)
        .map(|i| manifest(&format!("bench-{i}"), i))
        .collect();
    let started = Instant::now();
    create_all(&api, objects).await;
    figures.api_create = started.elapsed();
    watched
        .wait_until("all Ready", Duration::from_secs(3 * 3600), all_ready(roles))
        .await;
    figures.ready = started.elapsed();
    figures.calls_to_ready = all_calls(&world).await;
    let operator = world.operator.as_ref().expect("operator").pid();
    figures.cpu = Cpu::now(&world).since(cpu_before);
    // Memory and CPU of the operator that created the fleet (it is restarted below).
    let usage = process::usage(operator);
    let reconciles = metric(&world, "rolesmith_reconciles_total", None).await;
    figures.cpu_per_1000_reconciles = usage.cpu_seconds / reconciles.max(1.0) * 1000.0;
    let mut peak_rss_kib = usage.peak_rss_kib;
    figures.peak_rss_creating_mib = usage.peak_rss_kib as f64 / 1024.0;
    figures.moto_median = moto_median(&world, &format!("default.bench-{}", roles / 2)).await;
    figures.floor = figures.moto_median * figures.calls_to_ready as u32;
    let metrics = world
        .http_get("/metrics")
        .await
        .map(|(_, body)| body)
        .unwrap_or_default();
    let calls = super::floor::calls_by_operation(&metrics);
    figures.kind_floor = super::floor::measure(&world, &calls, figures.moto_median).await;

    // Steady state: what one drift check of the idle fleet costs, by sweep. A restarted
    // operator does not re-read roles in sync: its first sweep, at once, checks them.
    world.resync = interval;
    start_operator(&mut world, &iam, "sweep", "info");
    let operator = world.operator.as_ref().expect("operator").pid();
    tokio::time::sleep(interval + interval / 5).await;
    let (calls_before, sweeps_before) = (all_calls(&world).await, sweeps_done(&world).await);
    let window = interval * 3;
    tokio::time::sleep(window).await;
    let sweeps = sweeps_done(&world).await - sweeps_before;
    figures.sweep_calls_per_check =
        (all_calls(&world).await - calls_before) as f64 / sweeps.max(1) as f64;
    // The window rarely cuts sweeps exactly; the operator also says what its last sweep cost.
    figures.last_sweep_calls = metric(&world, "rolesmith_drift_sweep_calls", None).await as u64;
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
        assert!(drifted.elapsed() < interval * 3, "drift not repaired");
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

    let sweeping = process::usage(operator);
    figures.peak_rss_sweeping_mib = sweeping.peak_rss_kib as f64 / 1024.0;
    figures.rss_idle_mib = sweeping.rss_kib as f64 / 1024.0;
    peak_rss_kib = peak_rss_kib.max(sweeping.peak_rss_kib);
    figures.peak_rss_mib = peak_rss_kib as f64 / 1024.0;

    // The same check the old way: a fresh operator reading every role on its own. Objects in
    // sync are not reconciled at start, so what it does first is exactly one per-role check.
    // moto answers each per-role read in time that grows with the account (it scans every role
    // per call), so a large fleet's check is measured for `BENCH_PER_ROLE_SECS` (default 300)
    // and the rest extrapolated at the measured rate; the table says so.
    let limit = Duration::from_secs(
        std::env::var("BENCH_PER_ROLE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    );
    start_operator(&mut world, &iam, "per-role", "info");
    let started = Instant::now();
    let want = (roles + 1) as f64;
    let done = loop {
        let done = metric(&world, "rolesmith_reconciles_total", None).await;
        if done >= want || started.elapsed() >= limit {
            break done;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let calls = all_calls(&world).await as f64;
    let share = (done / want).clamp(f64::EPSILON, 1.0);
    figures.per_role_read = done.min(want) as usize;
    figures.per_role_check_time = started.elapsed().div_f64(share);
    figures.per_role_calls_per_check = (calls / share).round() as u64;
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
                "{:.1} in the window, {} the last sweep (target {})",
                f.sweep_calls_per_check,
                f.last_sweep_calls,
                2 * f.roles.div_ceil(1000) + 2
            )
        },
    );
    let partial = |f: &Figures| {
        if f.per_role_read > f.roles {
            String::new()
        } else {
            format!(
                " (extrapolated: {} of {} objects read)",
                f.per_role_read,
                f.roles + 1
            )
        }
    };
    row("IAM calls per drift check, per-role reads", &|f| {
        format!("{}{}", f.per_role_calls_per_check, partial(f))
    });
    row("calls ratio per-role / sweep", &|f| {
        format!(
            "{:.0}×",
            f.per_role_calls_per_check as f64 / f.sweep_calls_per_check.max(1.0)
        )
    });
    row("time of one drift check: sweep / per-role", &|f| {
        format!(
            "{:.1?} / {:.1?}{}",
            f.sweep_check_time,
            f.per_role_check_time,
            partial(f)
        )
    });
    row(
        "out-of-band inline edit → repaired (target ≤ interval + 1 s)",
        &|f| format!("{:.1?} (interval {:?})", f.drift_repair, f.interval),
    );
    row(
        "one new IamRole → Ready (its IAM calls' own time)",
        &|f| format!("{:.0?} ({:.0?})", f.new_role_ready, f.new_role_iam_time),
    );
    row("all applied at once → all Ready", &|f| {
        format!(
            "{:.1?} (--concurrency {}; moto's threads {})",
            f.ready,
            concurrency(),
            if f.moto_prioritized {
                "first on a core"
            } else {
                "not prioritized: no CAP_SYS_NICE"
            }
        )
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
    row(
        "floor by call kind = Σ calls × moto's median for that kind (*: not timed, at the read median)",
        &|f| {
            let parts: Vec<String> = f
                .kind_floor
                .by_operation
                .iter()
                .map(|(operation, calls, median)| match median {
                    Some(median) => format!("{operation} {calls} × {median:.2?}"),
                    None => format!("{operation} {calls} × {:.2?}*", f.kind_floor.fallback),
                })
                .collect();
            format!("{:.1?} ({})", f.kind_floor.total, parts.join(", "))
        },
    );
    row("operator overhead over the floor by call kind", &|f| {
        format!(
            "{:+.0} %",
            (f.ready.as_secs_f64() / f.kind_floor.total.as_secs_f64().max(1e-9) - 1.0) * 100.0
        )
    });
    row("creating the objects through the API server", &|f| {
        format!("{:.1?}", f.api_create)
    });
    row(
        "CPU s while applying → all Ready: test API server / bench client / operator / moto",
        &|f| {
            let c = f.cpu;
            let share = |x: f64| x / c.total().max(f64::EPSILON) * 100.0;
            format!(
                "{:.1} ({:.0} %) / {:.1} ({:.0} %) / {:.1} ({:.0} %) / {:.1} ({:.0} %)",
                c.api_server,
                share(c.api_server),
                c.bench_client,
                share(c.bench_client),
                c.operator,
                share(c.operator),
                c.moto,
                share(c.moto)
            )
        },
    );
    row("operator peak RSS (target ≤ 64 MiB)", &|f| {
        format!("{:.1} MiB", f.peak_rss_mib)
    });
    row(
        "  peak creating the fleet / peak sweeping it / RSS idle after sweeps",
        &|f| {
            format!(
                "{:.1} / {:.1} / {:.1} MiB",
                f.peak_rss_creating_mib, f.peak_rss_sweeping_mib, f.rss_idle_mib
            )
        },
    );
    row("operator CPU per 1,000 reconciles", &|f| {
        format!("{:.2} s", f.cpu_per_1000_reconciles)
    });
}
