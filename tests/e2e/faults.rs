//! IAM misbehaving the way real IAM does — throttling, 5xx, dropped connections, latency,
//! eventual consistency, concurrent writers, missing permissions — between the `rolesmith`
//! binary and IAM (a fault proxy in front of moto). Under each, a fleet of IamRoles applied at
//! once converges to exactly its specs, with no more writes than the minimal plan plus the
//! retries the faults forced, and the status says what is going on meanwhile.
//!
//! Figures (requests, injected failures, time to converge, peak rate) are printed: run with
//! `cargo test --test e2e faults -- --nocapture` to see them.

mod fleet;
mod proxy;
mod watch;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{OperatorOptions, World, condition, condition_is, tail};
use crate::support::fault::log::WRITE_ACTIONS;
use crate::support::{Fault, FaultProxy};
use fleet::{Fleet, MINIMAL_WRITES, NAMESPACE};
use watch::StatusWatch;

const FLEET_SIZE: usize = 50;
/// Probabilistic faults draw from this: a failing run replays the same failures per role.
const SEED: u64 = 20_261_105;
/// Long enough that no resync happens during a run: convergence comes from retries alone.
const RESYNC: Duration = Duration::from_secs(120);
/// Well above the default (10/s) so a 50-role run stays short; the throttling tests set their own.
const FAST_RATE: &str = "50";
const CONVERGE_TIMEOUT: &str = "200s";

/// A world whose operator reaches IAM only through a fault proxy (no faults yet).
async fn world_behind_proxy(extra_args: &[&str]) -> (World, FaultProxy) {
    let mut world = World::start_with_resync(RESYNC).await;
    world.kill_operator();
    // moto builds its IAM backend (a thousand AWS-managed policies) on the first call, which can
    // take seconds on a busy machine: not something a time-window fault should be spent on.
    assert_eq!(world.role("warm-up").await, None);
    let proxy = FaultProxy::start_seeded(&world.moto.endpoint, SEED);
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        extra_args: extra_args.iter().map(|arg| arg.to_string()).collect(),
        ..OperatorOptions::default()
    });
    (world, proxy)
}

/// Waits the way users and CI do; on failure says which objects are stuck and why.
fn wait_all_ready(world: &World, timeout: &str) {
    let output = world.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "iamrole",
        "--all",
        "-n",
        NAMESPACE,
        &format!("--timeout={timeout}"),
    ]);
    if output.status.success() {
        return;
    }
    let list: Value = serde_json::from_str(
        &world.kubectl_ok(&["get", "iamroles", "-n", NAMESPACE, "-o", "json"]),
    )
    .unwrap_or_default();
    let stuck: Vec<String> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|object| !condition_is(object, "Ready", "True"))
        .map(|object| {
            let ready = condition(object, "Ready").cloned().unwrap_or_default();
            format!(
                "{}: {} {}",
                object["metadata"]["name"], ready["reason"], ready["message"]
            )
        })
        .collect();
    panic!(
        "not every IamRole became Ready: {}\n{}\noperator log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        stuck.join("\n"),
        tail(&world.operator_log(), 80)
    );
}

/// What a fleet run measured.
struct Figures {
    converged: Duration,
    requests: usize,
    injected: usize,
    writes: usize,
    /// Writes beyond the minimal plan, summed over the fleet, and the most for one role.
    extra_writes: usize,
    max_extra_writes: usize,
    transient_statuses: usize,
    /// One transient status as users saw it.
    transient_example: Option<String>,
    peak_per_second: usize,
}

impl Figures {
    fn print(&self, name: &str, size: usize) {
        println!(
            "[faults] {name}: {size} roles Ready in {:.1}s; {} IAM requests ({} failed by the proxy), \
             {} writes ({} beyond the minimal plan, at most {} for one role), {} transient statuses \
             seen, peak {} requests/s",
            self.converged.as_secs_f64(),
            self.requests,
            self.injected,
            self.writes,
            self.extra_writes,
            self.max_extra_writes,
            self.transient_statuses,
            self.peak_per_second
        );
        if let Some(example) = &self.transient_example {
            println!("[faults] {name}: e.g. {example}");
        }
    }
}

/// Applies the fleet with the faults `inject` sets up, waits for Ready, then checks IAM, the
/// write budget per role and the statuses seen on the way.
async fn converge_under(
    world: &World,
    proxy: &FaultProxy,
    fleet: &Fleet,
    inject: impl FnOnce(&FaultProxy),
) -> Figures {
    let watch = StatusWatch::start(world);
    inject(proxy);
    let started = Instant::now();
    world.apply_yaml(&fleet.manifest());
    wait_all_ready(world, CONVERGE_TIMEOUT);
    let converged = started.elapsed();
    // Nothing writes after Ready, so the log is final; reads from here on go to moto directly.
    proxy.clear();
    let log = proxy.log();
    let transient = watch.transient_retries();
    drop(watch);

    fleet.assert_iam_matches(world).await;

    let (extra_writes, max_extra_writes) = fleet.assert_write_budget(proxy);
    Figures {
        converged,
        requests: log.len(),
        injected: log.iter().filter(|entry| entry.answer.injected()).count(),
        writes: proxy.writes_per_role().values().sum(),
        extra_writes,
        max_extra_writes,
        transient_statuses: transient.len(),
        transient_example: transient
            .first()
            .map(|seen| format!("{}: {}", seen.object, seen.message)),
        peak_per_second: proxy.peak_per_second(),
    }
}

/// One fault profile on a fleet of 50: converges, and while the faults made calls fail, some
/// object showed Ready=False/IamTransient with Reconciling=True.
async fn profile(name: &str, fleet: Fleet, inject: impl FnOnce(&FaultProxy)) -> Figures {
    let (world, proxy) = world_behind_proxy(&["--iam-rate-limit", FAST_RATE]).await;
    let figures = converge_under(&world, &proxy, &fleet, inject).await;
    figures.print(name, fleet.size);
    assert!(
        figures.injected > 0,
        "{name}: the proxy injected nothing\noperator log:\n{}",
        tail(&world.operator_log(), 200)
    );
    assert!(
        figures.transient_statuses > 0,
        "{name}: no status showed Ready=False/IamTransient with Reconciling=True while \
         retrying\noperator log:\n{}",
        tail(&world.operator_log(), 200)
    );
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_bursts_on_every_action() {
    profile("throttling 30%", Fleet::new(FLEET_SIZE), |proxy| {
        proxy.inject(Fault::throttling("*").always().with_probability(0.3));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors() {
    // Outages outlast the SDK's three attempts, so the operator's own retry is exercised. A draw
    // of 8 % starting bursts of 3 fails about 20 % of all requests.
    profile(
        "5xx on ~20% of requests, in bursts of 3",
        Fleet::new(FLEET_SIZE),
        |proxy| {
            proxy.inject(
                Fault::service_failure("*")
                    .always()
                    .with_probability(0.08)
                    .in_bursts(3),
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections() {
    profile(
        "dropped connections on ~10% of requests in bursts of 3, 5% of write answers lost",
        Fleet::new(FLEET_SIZE),
        |proxy| {
            proxy.inject(
                Fault::hang_up("*")
                    .always()
                    .with_probability(0.035)
                    .in_bursts(3),
            );
            // The write happened, the answer is lost: the retry must not create a second role.
            proxy.inject(
                Fault::lose_answer("*")
                    .on(WRITE_ACTIONS)
                    .always()
                    .with_probability(0.05),
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_visibility_after_create() {
    profile(
        "NoSuchEntity for 3s after CreateRole",
        Fleet::new(FLEET_SIZE),
        |proxy| proxy.delay_visibility(Duration::from_secs(3)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_principal_for_five_seconds() {
    let principal = "arn:aws:iam::123456789012:role/x";
    profile(
        "Invalid principal in policy for 5s",
        Fleet::new(FLEET_SIZE).trusting_role(principal),
        |proxy| {
            proxy.inject(
                Fault::invalid_principal("CreateRole", principal)
                    .on(&["CreateRole", "UpdateAssumeRolePolicy"])
                    .always()
                    .during(Duration::from_secs(5)),
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_modification_bursts() {
    profile(
        "ConcurrentModification 30% of writes, in bursts of 2",
        Fleet::new(FLEET_SIZE),
        |proxy| {
            proxy.inject(
                Fault::concurrent_modification("*")
                    .on(WRITE_ACTIONS)
                    .always()
                    .with_probability(0.3)
                    .in_bursts(2),
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_on_every_request() {
    let (world, proxy) = world_behind_proxy(&["--iam-rate-limit", FAST_RATE]).await;
    let fleet = Fleet::new(FLEET_SIZE);
    let figures = converge_under(&world, &proxy, &fleet, |proxy| {
        proxy.set_latency(Duration::from_millis(200));
    })
    .await;
    figures.print("200 ms latency", fleet.size);
    // Slow is not failed: no retry, no error status, exactly the minimal plan.
    assert_eq!(figures.injected, 0);
    assert_eq!(figures.transient_statuses, 0);
    assert_eq!(figures.writes, fleet.size * MINIMAL_WRITES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_names_the_missing_action() {
    let (world, proxy) = world_behind_proxy(&[]).await;
    let fleet = Fleet::new(2);
    let denied = fleet.role_name(0);
    proxy.inject(
        Fault::access_denied("AttachRolePolicy")
            .for_role(&denied)
            .always(),
    );
    world.apply_yaml(&fleet.manifest());
    world.wait_ready(NAMESPACE, &fleet.object_name(1), "120s");
    let object = world
        .wait_for_object(
            NAMESPACE,
            &fleet.object_name(0),
            "Ready=False for IamAccessDenied",
            Duration::from_secs(60),
            |object| condition(object, "Ready").is_some_and(|c| c["reason"] == "IamAccessDenied"),
        )
        .await;
    let ready = condition(&object, "Ready").cloned().unwrap_or_default();
    let message = ready["message"].as_str().unwrap_or_default();
    assert_eq!(ready["status"], "False", "{object}");
    assert!(
        message.contains("iam:AttachRolePolicy") && message.contains("not authorized"),
        "the message must name the missing permission: {message}"
    );
    // A permission can be granted at any time: the operator keeps retrying, with backoff.
    assert!(condition_is(&object, "Reconciling", "True"), "{object}");
    let events = world.kubectl_ok(&["get", "events", "-n", NAMESPACE, "-o", "json"]);
    assert!(
        events.contains("IamAccessDenied") && events.contains("iam:AttachRolePolicy"),
        "a Warning Event names the missing permission: {events}"
    );
    let role = world
        .role(&denied)
        .await
        .expect("created before the denial");
    assert!(role.managed_policy_arns.is_empty(), "{role:?}");

    // Retried with backoff (--retry-base 200ms doubling to --retry-max 2s, jittered down to
    // half), not hammered: at most 8 in 6 s even when counting starts at the second attempt, where
    // a fixed 200 ms retry would make 30.
    let denials = || proxy.injected_per_role().get(&denied).copied().unwrap_or(0);
    let (before, watched) = (denials(), Duration::from_secs(6));
    tokio::time::sleep(watched).await;
    let retries = denials() - before;
    println!(
        "[faults] AccessDenied: {retries} AttachRolePolicy attempts in {watched:?} while denied"
    );
    assert!(
        (2..=8).contains(&retries),
        "{retries} attempts in {watched:?}:\n{}",
        proxy.dump()
    );

    // The permission is granted: the object heals without being touched.
    proxy.clear();
    world.wait_ready(NAMESPACE, &fleet.object_name(0), "60s");
    fleet.assert_iam_matches(&world).await;
}

/// With every call throttled for 3 s, the shared limiter pauses the whole account: the number of
/// requests in those 3 s stays far below what the configured rate alone would allow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_pauses_the_whole_account() {
    const STORM: Duration = Duration::from_secs(3);
    const RATE: usize = 20;
    let (world, proxy) = world_behind_proxy(&["--iam-rate-limit", &RATE.to_string()]).await;
    let fleet = Fleet::new(40);
    world.apply_yaml(&fleet.manifest());
    // The storm hits a busy account: creation is well under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.log().len() < 40 {
        assert!(Instant::now() < deadline, "the operator never got busy");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let from = proxy.elapsed();
    proxy.inject(Fault::throttling("*").always().during(STORM));
    tokio::time::sleep(STORM).await;
    wait_all_ready(&world, CONVERGE_TIMEOUT);
    let recovered = proxy.elapsed() - from;

    let second = Duration::from_secs(1);
    let before = proxy.requests_between(from.saturating_sub(second), from);
    let per_second: Vec<usize> = (0..3)
        .map(|s| proxy.requests_between(from + second * s, from + second * (s + 1)))
        .collect();
    let during: usize = per_second.iter().sum();
    let first_success_after = proxy
        .log()
        .iter()
        .filter(|entry| entry.at >= from + STORM && !entry.answer.injected())
        .map(|entry| entry.at - from - STORM)
        .min()
        .unwrap_or_default();
    println!(
        "[faults] 100% throttling for 3s at --iam-rate-limit {RATE}: {before} requests in the \
         second before, {during} during the 3s ({per_second:?} per second; the limit alone \
         allows {}), first success {:.1}s after it cleared, all Ready {:.1}s after it began",
        RATE * 3,
        first_success_after.as_secs_f64(),
        recovered.as_secs_f64()
    );
    fleet.assert_iam_matches(&world).await;
    fleet.assert_write_budget(&proxy);
    // By the last second every caller waits for the account's pause; only attempts already
    // inside the SDK's retry loop (at most one per worker) may still go out.
    assert!(
        per_second[2] <= 4,
        "{per_second:?} requests per second during the storm:\n{}",
        tail(&proxy.dump(), 120)
    );
    assert!(
        during <= RATE,
        "{during} requests during the storm ({per_second:?} per second):\n{}",
        tail(&proxy.dump(), 120)
    );
}

/// The "500 roles at once" question, scaled to what 2 shared cores can run in CI: 120 roles with
/// 10 % throttling at the default-like rate of 20/s. Prints the figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_of_120_with_ten_percent_throttling() {
    let (world, proxy) = world_behind_proxy(&["--iam-rate-limit", "20"]).await;
    let fleet = Fleet::new(120);
    let figures = converge_under(&world, &proxy, &fleet, |proxy| {
        proxy.inject(Fault::throttling("*").always().with_probability(0.1));
    })
    .await;
    figures.print("bench: 10% throttling", fleet.size);
    let per_action = proxy.counts_per_action();
    println!("[faults] bench: requests per action {per_action:?}");
    // The limiter holds the account near its rate: its 2 s burst, plus SDK retries of throttles.
    assert!(
        figures.peak_per_second <= 20 * 3,
        "peak {} requests/s",
        figures.peak_per_second
    );
}
