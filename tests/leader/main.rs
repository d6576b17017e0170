//! Leader election against the project's test API server: acquisition, renewal, release on
//! shutdown, takeover after a crash, races between candidates, and stepping down in time when
//! the lease cannot be renewed or is taken. Short durations (2 s lease, 500 ms renewal) keep it
//! to seconds; each test has its own server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use kube_sim::KubeSim;
use rolesmith::leader::{LeaderError, LeaseSettings, Loss, run_as_leader};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LEASE: Duration = Duration::from_secs(2);
const RENEW: Duration = Duration::from_millis(500);
/// What a leader may act for after its last successful write: the lease less a quarter.
const LEAD_FOR: Duration = Duration::from_millis(1_500);
/// Scheduling and HTTP round trips on a busy two-core machine.
const SLACK: Duration = Duration::from_millis(300);
const LEASE_NAME: &str = "rolesmith-leader";

async fn client(sim: &KubeSim) -> Client {
    let kubeconfig = Kubeconfig::read_from(sim.kubeconfig()).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn settings(identity: &str) -> LeaseSettings {
    LeaseSettings {
        lease_duration: LEASE,
        renew_every: RENEW,
        ..LeaseSettings::new(LEASE_NAME, "default", identity)
    }
}

async fn read_lease(sim: &KubeSim) -> Lease {
    let leases: Api<Lease> = Api::namespaced(client(sim).await, "default");
    leases.get(LEASE_NAME).await.unwrap()
}

fn spec(lease: &Lease) -> LeaseSpec {
    lease.spec.clone().unwrap_or_default()
}

fn renewed_at(lease: &Lease) -> Timestamp {
    spec(lease).renew_time.unwrap().0
}

fn plus(at: Timestamp, duration: Duration) -> Timestamp {
    at + SignedDuration::try_from(duration).unwrap()
}

/// When work ran, per candidate: monotonic instants for overlap, wall times to compare with
/// the Lease's renewTime.
#[derive(Clone, Debug)]
struct Span {
    who: String,
    started: Instant,
    started_wall: Timestamp,
    stopped: Option<(Instant, Timestamp)>,
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Span>>>);

/// Marks work as running until dropped, so work cancelled mid-flight is recorded as stopped too.
struct Running {
    log: Log,
    index: usize,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.log.0.lock().unwrap()[self.index].stopped = Some((Instant::now(), Timestamp::now()));
    }
}

impl Log {
    fn start(&self, who: &str) -> Running {
        let mut spans = self.0.lock().unwrap();
        spans.push(Span {
            who: who.to_string(),
            started: Instant::now(),
            started_wall: Timestamp::now(),
            stopped: None,
        });
        Running {
            log: self.clone(),
            index: spans.len() - 1,
        }
    }

    fn spans(&self) -> Vec<Span> {
        self.0.lock().unwrap().clone()
    }

    fn of(&self, who: &str) -> Vec<Span> {
        self.spans().into_iter().filter(|s| s.who == who).collect()
    }

    async fn wait_started(&self, who: &str, within: Duration) -> Span {
        self.wait(
            within,
            || self.of(who).into_iter().next(),
            &format!("{who} to lead"),
        )
        .await
    }

    async fn wait_stopped(&self, who: &str, within: Duration) -> Span {
        self.wait(
            within,
            || self.of(who).into_iter().find(|s| s.stopped.is_some()),
            &format!("{who}'s work to stop"),
        )
        .await
    }

    async fn wait(&self, within: Duration, found: impl Fn() -> Option<Span>, what: &str) -> Span {
        let deadline = Instant::now() + within;
        loop {
            if let Some(span) = found() {
                return span;
            }
            assert!(
                Instant::now() < deadline,
                "waited {within:?} for {what}: {:?}",
                self.spans()
            );
            sleep(Duration::from_millis(5)).await;
        }
    }

    /// No two candidates' work ever ran at the same time, and every work but the last stopped.
    fn assert_never_two_leaders(&self) {
        let mut spans = self.spans();
        spans.sort_by_key(|s| s.started);
        for pair in spans.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            let stopped = before.stopped.map(|(at, _)| at);
            assert!(
                stopped.is_some_and(|stopped| stopped <= after.started),
                "{} started while {} was still leading: {spans:#?}",
                after.who,
                before.who
            );
        }
    }
}

/// Work that runs until `lost`, then takes `wind_down` to finish (in-flight reconciles).
fn recorded_work(
    log: &Log,
    who: &str,
    wind_down: Duration,
) -> impl FnOnce(BoxFuture<'static, ()>) -> BoxFuture<'static, ()> + use<> {
    let (log, who) = (log.clone(), who.to_string());
    move |lost| {
        Box::pin(async move {
            let _running = log.start(&who);
            // What the operator does: kube's graceful_shutdown_on wants a Sync future.
            as_controller_shutdown(lost.shared()).await;
            sleep(wind_down).await;
        })
    }
}

fn as_controller_shutdown(
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send + Sync + 'static {
    shutdown
}

/// One replica: `run_as_leader` in its own task with its own client.
struct Replica {
    task: JoinHandle<Result<(), LeaderError>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Replica {
    async fn start<W, Fut>(sim: &KubeSim, identity: &str, work: W) -> Replica
    where
        W: FnOnce(BoxFuture<'static, ()>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let client = client(sim).await;
        let (tx, rx) = oneshot::channel::<()>();
        let settings = settings(identity);
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            run_as_leader(client, settings, shutdown, work).await
        });
        Replica {
            task,
            shutdown: Some(tx),
        }
    }

    async fn recorded(sim: &KubeSim, log: &Log, identity: &str) -> Replica {
        Replica::start(sim, identity, recorded_work(log, identity, Duration::ZERO)).await
    }

    fn request_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Asks for shutdown and waits for `run_as_leader` to return.
    async fn stop(mut self, within: Duration) -> Result<(), LeaderError> {
        self.request_shutdown();
        self.finished(within).await
    }

    async fn finished(self, within: Duration) -> Result<(), LeaderError> {
        timeout(within, self.task)
            .await
            .expect("run_as_leader did not return in time")
            .expect("run_as_leader panicked")
    }

    /// A crash: the task is dropped where it stands, nothing is released.
    async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

#[tokio::test]
async fn a_single_candidate_acquires_renews_and_releases() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    let a = Replica::recorded(&sim, &log, "pod-a").await;
    log.wait_started("pod-a", SLACK).await;

    let first = read_lease(&sim).await;
    let written = spec(&first);
    assert_eq!(written.holder_identity.as_deref(), Some("pod-a"));
    assert_eq!(written.lease_duration_seconds, Some(2));
    assert_eq!(written.lease_transitions, Some(0));
    assert!(written.acquire_time.is_some());

    sleep(RENEW * 2 + SLACK).await;
    let later = read_lease(&sim).await;
    assert_eq!(spec(&later).holder_identity.as_deref(), Some("pod-a"));
    assert!(
        renewed_at(&later) > renewed_at(&first),
        "not renewed: {later:?}"
    );
    assert_eq!(spec(&later).acquire_time, written.acquire_time);
    assert_eq!(spec(&later).lease_transitions, Some(0));
    assert!(log.of("pod-a")[0].stopped.is_none());

    a.stop(SLACK).await?;
    assert!(log.of("pod-a")[0].stopped.is_some());
    let released = spec(&read_lease(&sim).await);
    assert_eq!(released.holder_identity.as_deref(), Some(""));
    assert_eq!(released.lease_duration_seconds, Some(1));
    assert_eq!(released.lease_transitions, Some(0));
    Ok(())
}

#[tokio::test]
async fn a_standby_waits_while_the_leader_renews() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    let a = Replica::recorded(&sim, &log, "pod-a").await;
    log.wait_started("pod-a", SLACK).await;
    let b = Replica::recorded(&sim, &log, "pod-b").await;

    // Twice the lease duration: without renewals the standby would have taken over.
    sleep(LEASE * 2).await;
    assert!(log.of("pod-b").is_empty(), "{:?}", log.spans());
    let lease = read_lease(&sim).await;
    assert_eq!(spec(&lease).holder_identity.as_deref(), Some("pod-a"));
    assert!(plus(renewed_at(&lease), RENEW + SLACK) > Timestamp::now());

    // A standby shutting down leaves the leader's lease alone.
    b.stop(SLACK).await?;
    assert!(log.of("pod-b").is_empty());
    assert_eq!(
        spec(&read_lease(&sim).await).holder_identity.as_deref(),
        Some("pod-a")
    );
    a.stop(SLACK).await?;
    Ok(())
}

#[tokio::test]
async fn shutdown_releases_and_the_standby_takes_over_at_once() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    // The leader's work needs longer than a lease duration to wind down: it must stay leader
    // (keep renewing) until its work is done, and only then hand over.
    let wind_down = LEASE + RENEW;
    let a = Replica::start(&sim, "pod-a", recorded_work(&log, "pod-a", wind_down)).await;
    log.wait_started("pod-a", SLACK).await;
    let b = Replica::recorded(&sim, &log, "pod-b").await;
    sleep(RENEW * 2).await;

    let asked = Instant::now();
    a.stop(wind_down + SLACK).await?;
    let a_span = log.wait_stopped("pod-a", Duration::ZERO).await;
    let (a_stopped, _) = a_span.stopped.unwrap();
    assert!(a_stopped >= asked + wind_down);

    let b_span = log.wait_started("pod-b", LEASE).await;
    log.assert_never_two_leaders();
    let handover = b_span.started - a_stopped;
    assert!(
        handover < RENEW + SLACK,
        "the standby took {handover:?} to take over a released lease"
    );
    let lease = spec(&read_lease(&sim).await);
    assert_eq!(lease.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(lease.lease_transitions, Some(1));
    assert_eq!(lease.lease_duration_seconds, Some(2));
    b.stop(SLACK).await?;
    Ok(())
}

#[tokio::test]
async fn a_killed_leader_is_replaced_after_its_lease_expires() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    let a = Replica::recorded(&sim, &log, "pod-a").await;
    log.wait_started("pod-a", SLACK).await;
    let b = Replica::recorded(&sim, &log, "pod-b").await;
    sleep(RENEW * 2).await;

    a.kill().await;
    // A renewal already on the wire may still land; read after it would have.
    sleep(Duration::from_millis(100)).await;
    let last = read_lease(&sim).await;
    assert_eq!(spec(&last).holder_identity.as_deref(), Some("pod-a"));
    let last_renewal = renewed_at(&last);

    let b_span = log.wait_started("pod-b", LEASE + RENEW + SLACK).await;
    log.assert_never_two_leaders();
    assert!(
        b_span.started_wall > plus(last_renewal, LEASE),
        "took over a lease that had not expired: renewed {last_renewal}, taken {}",
        b_span.started_wall
    );
    assert!(
        b_span.started_wall < plus(last_renewal, LEASE + RENEW + SLACK),
        "took over late: renewed {last_renewal}, taken {}",
        b_span.started_wall
    );
    let lease = spec(&read_lease(&sim).await);
    assert_eq!(lease.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(lease.lease_transitions, Some(1));
    b.stop(SLACK).await?;
    Ok(())
}

/// Candidates started together read the same Lease and write it with the same resourceVersion:
/// only the 409 Conflict (or AlreadyExists) keeps all but one from leading.
#[tokio::test]
async fn racing_candidates_never_lead_together() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    // Round 0 races to create the Lease; later rounds race to take a released one.
    for round in 0..4 {
        let names: Vec<String> = (0..4).map(|i| format!("r{round}-pod-{i}")).collect();
        let mut replicas = Vec::new();
        for name in &names {
            replicas.push(Replica::recorded(&sim, &log, name).await);
        }
        let first_start = Instant::now();
        loop {
            let leaders = names.iter().filter(|n| !log.of(n).is_empty()).count();
            if leaders > 0 || first_start.elapsed() > LEASE {
                break;
            }
            sleep(Duration::from_millis(5)).await;
        }
        // Long enough for the losers to poll again several times.
        sleep(RENEW * 3).await;
        let leaders: Vec<&String> = names.iter().filter(|n| !log.of(n).is_empty()).collect();
        assert_eq!(leaders.len(), 1, "round {round}: {:?}", log.spans());
        // Standbys first: stopping the leader first would hand the lease to one of them.
        let leader = names.iter().position(|n| n == leaders[0]).unwrap();
        let leader = replicas.swap_remove(leader);
        for replica in replicas {
            replica.stop(SLACK).await?;
        }
        leader.stop(SLACK).await?;
        let lease = spec(&read_lease(&sim).await);
        assert_eq!(lease.holder_identity.as_deref(), Some(""), "round {round}");
        assert_eq!(lease.lease_transitions, Some(round), "round {round}");
    }
    log.assert_never_two_leaders();
    assert_eq!(log.spans().len(), 4);
    Ok(())
}

#[tokio::test]
async fn a_leader_that_cannot_renew_stops_before_its_lease_expires() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    let a = Replica::recorded(&sim, &log, "pod-a").await;
    log.wait_started("pod-a", SLACK).await;
    sleep(RENEW * 2).await;

    sim.stop_listening().await;
    let span = log.wait_stopped("pod-a", LEASE).await;
    let result = a.finished(SLACK).await;
    assert!(
        matches!(
            result,
            Err(LeaderError::LeadershipLost(Loss::RenewalsFailed))
        ),
        "{result:?}"
    );
    sim.resume_listening().await?;
    let lease = read_lease(&sim).await;
    let last_renewal = renewed_at(&lease);
    let (_, stopped_wall) = span.stopped.unwrap();
    // Stopped in the leading time after the last renewal the server stored, well before
    // others could take the lease.
    assert!(
        stopped_wall < plus(last_renewal, LEAD_FOR + Duration::from_millis(100)),
        "renewed {last_renewal}, stopped {stopped_wall}"
    );
    // Not at the first failed renewal either: it kept trying while it could.
    assert!(stopped_wall > plus(last_renewal, LEAD_FOR - RENEW - Duration::from_millis(100)));
    // Nothing was released: the lease just expires.
    assert_eq!(spec(&lease).holder_identity.as_deref(), Some("pod-a"));
    Ok(())
}

/// Someone else's write to the Lease (here by hand) makes the leader's next renewal a 409; the
/// fresh read shows another holder and the leader steps down without touching the lease.
#[tokio::test]
async fn a_leader_whose_lease_is_taken_steps_down() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    let a = Replica::recorded(&sim, &log, "pod-a").await;
    log.wait_started("pod-a", SLACK).await;

    let taken = take_lease(&sim, "intruder").await;
    let span = log.wait_stopped("pod-a", RENEW + SLACK).await;
    assert!(span.stopped.unwrap().0 - taken < RENEW + SLACK);
    let result = a.finished(SLACK).await;
    match result {
        Err(LeaderError::LeadershipLost(Loss::TakenOver { holder })) => {
            assert_eq!(holder.as_deref(), Some("intruder"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        spec(&read_lease(&sim).await).holder_identity.as_deref(),
        Some("intruder")
    );
    Ok(())
}

/// Overwrites the Lease with another holder, retrying on conflicts with the leader's renewals.
async fn take_lease(sim: &KubeSim, holder: &str) -> Instant {
    let leases: Api<Lease> = Api::namespaced(client(sim).await, "default");
    loop {
        let mut lease = leases.get(LEASE_NAME).await.unwrap();
        let now = MicroTime(Timestamp::now());
        lease.spec = Some(LeaseSpec {
            holder_identity: Some(holder.to_string()),
            renew_time: Some(now.clone()),
            acquire_time: Some(now),
            ..spec(&lease)
        });
        match leases
            .replace(LEASE_NAME, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => return Instant::now(),
            Err(kube::Error::Api(status)) if status.code == 409 => continue,
            Err(error) => panic!("{error}"),
        }
    }
}

#[tokio::test]
async fn work_that_ignores_lost_is_cancelled() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    let stubborn = {
        let log = log.clone();
        move |_lost: BoxFuture<'static, ()>| async move {
            let _running = log.start("pod-a");
            std::future::pending::<()>().await;
        }
    };
    let a = Replica::start(&sim, "pod-a", stubborn).await;
    log.wait_started("pod-a", SLACK).await;

    let taken = take_lease(&sim, "intruder").await;
    let result = a.finished(RENEW + SLACK * 2).await;
    assert!(
        matches!(result, Err(LeaderError::LeadershipLost(_))),
        "{result:?}"
    );
    let (stopped, _) = log.of("pod-a")[0].stopped.unwrap();
    // Dropped after the grace (an eighth of the lease) that follows noticing the loss.
    let grace = LEASE / 8;
    assert!(stopped - taken >= grace, "{:?}", stopped - taken);
    assert!(
        stopped - taken < RENEW + grace + SLACK,
        "{:?}",
        stopped - taken
    );
    Ok(())
}

#[tokio::test]
async fn work_that_returns_by_itself_releases_the_lease() -> TestResult {
    let sim = KubeSim::start().await?;
    let log = Log::default();
    let brief = {
        let log = log.clone();
        move |_lost: BoxFuture<'static, ()>| async move {
            let _running = log.start("pod-a");
            sleep(RENEW).await;
        }
    };
    let a = Replica::start(&sim, "pod-a", brief).await;
    // Never asked to shut down: returns once its work is done.
    a.finished(RENEW + SLACK * 2).await?;
    assert_eq!(log.of("pod-a").len(), 1);
    assert_eq!(
        spec(&read_lease(&sim).await).holder_identity.as_deref(),
        Some("")
    );
    Ok(())
}

#[tokio::test]
async fn invalid_settings_are_refused_before_touching_the_lease() -> TestResult {
    let sim = KubeSim::start().await?;
    let settings = LeaseSettings {
        renew_every: LEASE,
        ..settings("pod-a")
    };
    let ran = Arc::new(Mutex::new(false));
    let flag = ran.clone();
    let result = run_as_leader(
        client(&sim).await,
        settings,
        std::future::pending(),
        |_| async move {
            *flag.lock().unwrap() = true;
        },
    )
    .await;
    assert!(
        matches!(result, Err(LeaderError::InvalidSettings(_))),
        "{result:?}"
    );
    assert!(!*ran.lock().unwrap());
    let leases: Api<Lease> = Api::namespaced(client(&sim).await, "default");
    assert!(leases.get_opt(LEASE_NAME).await?.is_none());
    Ok(())
}
