//! Crashes, SIGTERM and Kubernetes API faults, injected for real against the `rolesmith` binary:
//! IAM ends up equal to the specs, no role is created twice or left behind, and API faults are
//! survived by the same process without re-writing roles that did not change.
//!
//! Every IAM request goes through a fault proxy in front of moto, which sees the calls of every
//! operator process (killed ones included), so "no duplicate work" is counted across restarts.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use rolesmith::engine::{self, Mode};
use rolesmith::model::OWNER_TAG_KEY;
use serde_json::Value;

use crate::harness::{CLUSTER_ID, OperatorOptions, WRITES, World, condition, condition_is, tail};
use crate::support::{self, Fault, FaultProxy};

const NAMESPACE: &str = "default";
/// Long enough that convergence never comes from a resync: a missed watch event stays missed.
const SLOW_RESYNC: Duration = Duration::from_secs(120);

/// A reproducible pseudo-random sequence (Knuth's MMIX LCG): a failing seed can be replayed with
/// `ROLESMITH_CHAOS_SEED`.
struct Lcg(u64);

impl Lcg {
    const DEFAULT_SEED: u64 = 0x5eed_c4a0_5000;

    fn from_env() -> Lcg {
        let seed = std::env::var("ROLESMITH_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(Self::DEFAULT_SEED);
        println!("chaos seed: {seed} (replay with ROLESMITH_CHAOS_SEED={seed})");
        Lcg(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // The high bits of an LCG are the random ones.
        self.0 >> 33
    }

    /// Uniform enough in `low..=high` for picking delays.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// One IamRole at one revision. Role names start with `<namespace>.` so they are the
/// namespace's own under the default namespace confinement as well.
fn manifest(prefix: &str, index: usize, revision: u32, retain: bool) -> String {
    let deletion = if retain { "Retain" } else { "Delete" };
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {prefix}-{index}, namespace: {NAMESPACE}}}
spec:
  roleName: {NAMESPACE}.{prefix}-{index}
  deletionPolicy: {deletion}
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}
  inlinePolicies:
    work:
      Version: "2012-10-17"
      Statement:
        - {{Effect: Allow, Action: "s3:GetObject", Resource: "arn:aws:s3:::{prefix}-{index}-r{revision}/*"}}
  managedPolicyArns: [arn:aws:iam::aws:policy/ReadOnlyAccess]
  tags: {{index: "{index}", revision: "r{revision}"}}
---
"#
    )
}

fn role_name(prefix: &str, index: usize) -> String {
    format!("{NAMESPACE}.{prefix}-{index}")
}

/// A world whose operator sends IAM through a fault proxy (no faults until a test injects
/// some), with a resync too slow to hide anything.
async fn world_behind_proxy(options: OperatorOptions) -> (World, FaultProxy, OperatorOptions) {
    let mut world = World::start_with_resync(SLOW_RESYNC).await;
    world.kill_operator();
    let proxy = FaultProxy::start(&world.moto.endpoint);
    let options = OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        ..options
    };
    world.start_operator_with(&options);
    (world, proxy, options)
}

/// IAM write requests the proxy saw, by action (every operator process, every attempt).
fn writes_seen(proxy: &FaultProxy) -> BTreeMap<&'static str, usize> {
    WRITES
        .iter()
        .map(|action| (*action, proxy.requests(action)))
        .filter(|(_, count)| *count > 0)
        .collect()
}

fn total(writes: &BTreeMap<&'static str, usize>) -> usize {
    writes.values().sum()
}

/// Polls until every named object is Ready for its current generation.
async fn wait_all_ready(world: &World, names: &[String], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let list: Value = serde_json::from_str(
            &world.kubectl_ok(&["get", "iamroles", "-n", NAMESPACE, "-o", "json"]),
        )
        .expect("kubectl -o json prints JSON");
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let pending: Vec<String> = names
            .iter()
            .filter(|name| {
                !items.iter().any(|item| {
                    item["metadata"]["name"] == name.as_str()
                        && item["status"]["observedGeneration"] == item["metadata"]["generation"]
                        && condition_is(item, "Ready", "True")
                })
            })
            .cloned()
            .collect();
        if pending.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not Ready in time: {pending:?}\noperator log:\n{}",
            tail(&world.operator_log(), 80)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Polls until none of the named objects exists any more.
async fn wait_objects_gone(world: &World, names: &[String], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let listed = world.kubectl_ok(&["get", "iamroles", "-n", NAMESPACE, "-o", "name"]);
        let left: Vec<&String> = names
            .iter()
            .filter(|name| {
                listed
                    .lines()
                    .any(|line| line.ends_with(&format!("/{name}")))
            })
            .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "objects still there: {left:?}\noperator log:\n{}",
            tail(&world.operator_log(), 80)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// IAM equals the object's spec by the engine's own measure (a dry run plans nothing), and by
/// plain inspection of what the tests change (a tag value, an inline policy's resource).
async fn assert_iam_matches(world: &World, yaml: &str) {
    let object = rolesmith::manifest::parse(yaml, NAMESPACE)
        .expect("test manifest parses")
        .pop()
        .expect("one object");
    let unconfined = rolesmith::admission::Confinement::none();
    let context = rolesmith::admission::Context {
        confinement: &unconfined,
        ignore_tag_keys: &[],
        cluster_id: CLUSTER_ID,
        workloads: &Default::default(),
    };
    let admitted = rolesmith::admission::admit(&rolesmith::desired::input(&object), &context)
        .expect("test spec is valid");
    let (desired, owner) = (admitted.desired, admitted.owner);
    let report = engine::apply(&world.iam, &desired, &owner, false, Mode::DryRun)
        .await
        .expect("dry run reads IAM");
    assert!(
        report.ops.is_empty(),
        "{}: IAM differs from the spec: {:?}",
        owner.name,
        report.ops
    );
    let role = world.role(&desired.name).await.expect("role exists");
    assert_eq!(role.tags.get("revision"), desired.tags.get("revision"));
    assert_eq!(role.tags.get(OWNER_TAG_KEY), Some(&owner.tag_value()));
    let resource = |document: &str| {
        serde_json::from_str::<Value>(document)
            .map(|policy| policy["Statement"][0]["Resource"].clone())
            .ok()
    };
    assert_eq!(
        resource(&role.inline_policies["work"]),
        resource(&desired.inline_policies["work"]),
        "{}: inline policy",
        owner.name
    );
}

async fn role_ids(world: &World, names: &[String]) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for name in names {
        let role = world.role(name).await.expect("role exists");
        ids.insert(name.clone(), role.role_id);
    }
    ids
}

async fn all_role_names(world: &World) -> BTreeSet<String> {
    let client = support::sdk_client(&world.moto.endpoint).await;
    let mut names = BTreeSet::new();
    let mut marker = None;
    loop {
        let page = client
            .list_roles()
            .set_marker(marker)
            .send()
            .await
            .expect("ListRoles");
        names.extend(page.roles().iter().map(|r| r.role_name().to_string()));
        marker = page.marker().map(str::to_string);
        if !page.is_truncated() {
            return names;
        }
    }
}

/// One SIGKILL: when it landed and how far the phase's IAM work had got.
struct Kill {
    phase: &'static str,
    uptime_ms: u64,
    phase_writes: usize,
    phase_total: usize,
}

/// An operator that gets killed: what it runs against, and what the kills did.
struct Chaos {
    world: World,
    proxy: FaultProxy,
    options: OperatorOptions,
    rng: Lcg,
    kills: Vec<Kill>,
    /// The logs of every killed process, for the final "nothing panicked" check.
    logs: String,
}

impl Chaos {
    /// Kills the operator `kills` times, each after a random 100–1500 ms of life, restarting it
    /// right away. `phase_total` is the number of IAM writes the phase needs.
    async fn kill_repeatedly(&mut self, phase: &'static str, kills: usize, phase_total: usize) {
        let before = total(&writes_seen(&self.proxy));
        for _ in 0..kills {
            let uptime_ms = self.rng.between(100, 1500);
            tokio::time::sleep(Duration::from_millis(uptime_ms)).await;
            self.world.signal_operator("KILL");
            let status = self
                .world
                .wait_operator_exit(Duration::from_secs(10))
                .await
                .expect("SIGKILL ends the operator");
            assert_eq!(status.signal(), Some(9), "{status}");
            self.logs.push_str(&self.world.operator_log());
            self.kills.push(Kill {
                phase,
                uptime_ms,
                phase_writes: total(&writes_seen(&self.proxy)) - before,
                phase_total,
            });
            self.world.start_operator_with(&self.options);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_never_duplicates_nor_leaks_a_role() {
    const ROLES: usize = 20;
    const KILLS_PER_PHASE: usize = 8;
    const DELETED: std::ops::Range<usize> = 0..10;
    const RETAINED: std::ops::Range<usize> = 17..20;
    let retained = |index: usize| RETAINED.contains(&index);
    let prefix = "chaos";
    let rng = Lcg::from_env();
    let (world, proxy, options) = world_behind_proxy(OperatorOptions::default()).await;
    let mut chaos = Chaos {
        world,
        proxy,
        options,
        rng,
        kills: Vec::new(),
        logs: String::new(),
    };
    let names: Vec<String> = (0..ROLES).map(|i| format!("{prefix}-{i}")).collect();
    let roles: Vec<String> = (0..ROLES).map(|i| role_name(prefix, i)).collect();
    let revision = |rev: u32| -> String {
        (0..ROLES)
            .map(|i| manifest(prefix, i, rev, retained(i)))
            .collect()
    };

    // Create: CreateRole (tags included), PutRolePolicy, AttachRolePolicy per role.
    chaos.world.apply_yaml(&revision(0));
    chaos
        .kill_repeatedly("create", KILLS_PER_PHASE, 3 * ROLES)
        .await;
    let world = &chaos.world;
    wait_all_ready(world, &names, Duration::from_secs(150)).await;
    for index in 0..ROLES {
        let spec = manifest(prefix, index, 0, retained(index));
        assert_iam_matches(world, &spec).await;
    }
    let created = role_ids(world, &roles).await;

    // Update: PutRolePolicy and TagRole per role.
    chaos.world.apply_yaml(&revision(1));
    chaos
        .kill_repeatedly("update", KILLS_PER_PHASE, 2 * ROLES)
        .await;
    let world = &chaos.world;
    wait_all_ready(world, &names, Duration::from_secs(150)).await;
    for index in 0..ROLES {
        let spec = manifest(prefix, index, 1, retained(index));
        assert_iam_matches(world, &spec).await;
    }
    assert_eq!(
        role_ids(world, &roles).await,
        created,
        "a role was recreated (new RoleId) while the operator was being killed"
    );

    // Delete half with deletionPolicy Delete (DeleteRolePolicy, DetachRolePolicy, DeleteRole)
    // and the Retain ones (UntagRole of the ownership tag).
    let doomed: Vec<usize> = DELETED.chain(RETAINED).collect();
    let doomed_names: Vec<String> = doomed.iter().map(|i| format!("{prefix}-{i}")).collect();
    let mut delete = vec!["delete", "iamroles", "-n", NAMESPACE, "--wait=false"];
    delete.extend(doomed_names.iter().map(String::as_str));
    chaos.world.kubectl_ok(&delete);
    chaos
        .kill_repeatedly(
            "delete",
            KILLS_PER_PHASE,
            3 * DELETED.len() + RETAINED.len(),
        )
        .await;
    let world = &chaos.world;
    wait_objects_gone(world, &doomed_names, Duration::from_secs(150)).await;
    let kept: Vec<usize> = (0..ROLES).filter(|i| !doomed.contains(i)).collect();
    let kept_names: Vec<String> = kept.iter().map(|i| format!("{prefix}-{i}")).collect();
    wait_all_ready(world, &kept_names, Duration::from_secs(60)).await;

    for kill in &chaos.kills {
        println!(
            "kill in {:6} after {:4} ms: {}/{} of the phase's IAM writes done",
            kill.phase, kill.uptime_ms, kill.phase_writes, kill.phase_total
        );
    }
    let mid_work = chaos
        .kills
        .iter()
        .filter(|k| k.phase_writes < k.phase_total)
        .count();
    assert!(
        chaos.kills.len() >= 20 && mid_work >= 20,
        "{} kills, {mid_work} with IAM work in flight",
        chaos.kills.len()
    );

    // IAM: exactly the kept roles (owned, as specified, same RoleId) and the retained ones
    // (ownership released, otherwise untouched).
    for &index in &kept {
        let spec = manifest(prefix, index, 1, false);
        assert_iam_matches(world, &spec).await;
    }
    for index in RETAINED {
        let role = world
            .role(&role_name(prefix, index))
            .await
            .expect("a retained role stays in IAM");
        assert!(
            !role.tags.contains_key(OWNER_TAG_KEY),
            "retained role {index} still carries the ownership tag: {:?}",
            role.tags
        );
        assert_eq!(role.tags.get("revision").map(String::as_str), Some("r1"));
        assert_eq!(role.inline_policies.len(), 1);
    }
    let expected: BTreeSet<String> = kept
        .iter()
        .copied()
        .chain(RETAINED)
        .map(|i| role_name(prefix, i))
        .collect();
    assert_eq!(
        all_role_names(world).await,
        expected,
        "IAM holds exactly the kept and the retained roles"
    );
    for name in expected {
        assert_eq!(
            world.role(&name).await.map(|r| r.role_id),
            created.get(&name).cloned(),
            "{name} was recreated"
        );
    }

    // Every write happened exactly once across all the processes: the minimal plan of each phase.
    let expected_writes: BTreeMap<&str, usize> = [
        ("CreateRole", ROLES),
        ("PutRolePolicy", 2 * ROLES),
        ("AttachRolePolicy", ROLES),
        ("TagRole", ROLES),
        ("DeleteRolePolicy", DELETED.len()),
        ("DetachRolePolicy", DELETED.len()),
        ("DeleteRole", DELETED.len()),
        ("UntagRole", RETAINED.len()),
    ]
    .into();
    assert_eq!(
        writes_seen(&chaos.proxy),
        expected_writes,
        "IAM writes across {} restarts",
        chaos.kills.len()
    );
    // And per role: 5 writes to create and update it, 3 more to delete it, 1 more to release it.
    let expected_per_role: BTreeMap<String, usize> = (0..ROLES)
        .map(|index| {
            let writes = match index {
                i if DELETED.contains(&i) => 8,
                i if RETAINED.contains(&i) => 6,
                _ => 5,
            };
            (role_name(prefix, index), writes)
        })
        .collect();
    assert_eq!(chaos.proxy.writes_per_role(), expected_per_role);
    // The surviving objects' status names the role IAM has, the one created first.
    let list: Value = serde_json::from_str(
        &world.kubectl_ok(&["get", "iamroles", "-n", NAMESPACE, "-o", "json"]),
    )
    .expect("kubectl -o json prints JSON");
    for item in list["items"].as_array().into_iter().flatten() {
        let name = item["status"]["roleName"].as_str().unwrap_or_default();
        assert_eq!(
            item["status"]["roleId"].as_str(),
            created.get(name).map(String::as_str),
            "status of {}",
            item["metadata"]["name"]
        );
    }
    let logs = format!("{}{}", chaos.logs, world.operator_log());
    assert!(!logs.contains("panicked"), "{}", tail(&logs, 80));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_reconciles_and_exits_zero() {
    sigterm_mid_reconcile("term", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_releases_the_lease_for_the_next_leader() {
    sigterm_mid_reconcile("termlease", true).await;
}

/// The holder named in the operator's Lease (`None`: no Lease; empty: released).
fn lease_holder(world: &World) -> Option<String> {
    let output = world.kubectl(&["get", "lease", LEASE, "-n", NAMESPACE, "-o", "json"]);
    let lease: Value = serde_json::from_slice(&output.stdout).ok()?;
    Some(
        lease["spec"]["holderIdentity"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

const LEASE: &str = "rolesmith-leader";

async fn wait_lease_holder(
    world: &World,
    timeout: Duration,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let holder = lease_holder(world);
        if let Some(holder) = holder.as_deref().filter(|h| check(h)) {
            return holder.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "lease holder {holder:?} not as expected in time\noperator log:\n{}",
            tail(&world.operator_log(), 60)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM while reconciles wait on a slow IAM write: the process finishes them and exits 0
/// within seconds (releasing its Lease when it leads), and the next process does only what was
/// left.
async fn sigterm_mid_reconcile(prefix: &str, leader_election: bool) {
    const ROLES: usize = 8;
    let extra_args = if leader_election {
        vec![
            "--leader-election".to_string(),
            "--lease-name".to_string(),
            LEASE.to_string(),
        ]
    } else {
        Vec::new()
    };
    let (mut world, proxy, options) = world_behind_proxy(OperatorOptions {
        extra_args,
        ..OperatorOptions::default()
    })
    .await;
    // A slow write keeps reconciles in flight long enough to signal in the middle of them.
    proxy.inject(Fault::slow("PutRolePolicy", Duration::from_millis(1500)).always());
    let names: Vec<String> = (0..ROLES).map(|i| format!("{prefix}-{i}")).collect();
    world.apply_yaml(
        &(0..ROLES)
            .map(|i| manifest(prefix, i, 0, false))
            .collect::<String>(),
    );
    // The proxy logs a request when it answers it: once a CreateRole is answered, that role's
    // slow PutRolePolicy follows and is in flight a moment later.
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.requests("CreateRole") == 0 {
        assert!(
            Instant::now() < deadline,
            "no reconcile reached CreateRole:\n{}",
            tail(&world.operator_log(), 60)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first_leader = if leader_election {
        Some(wait_lease_holder(&world, Duration::from_secs(5), |h| !h.is_empty()).await)
    } else {
        None
    };

    let signalled = Instant::now();
    world.signal_operator("TERM");
    let status = world.wait_operator_exit(Duration::from_secs(10)).await;
    let took = signalled.elapsed();
    let log = world.operator_log();
    let status =
        status.unwrap_or_else(|| panic!("still running 10 s after SIGTERM:\n{}", tail(&log, 60)));
    println!("SIGTERM to exit: {took:?}, {status}");
    assert!(
        status.success(),
        "exit after SIGTERM: {status}\n{}",
        tail(&log, 60)
    );
    assert!(log.contains("shutdown requested"), "{}", tail(&log, 60));
    assert!(!log.contains("panicked"), "{}", tail(&log, 60));

    // Every reconcile that had begun ran to its end: no role was left half-built.
    let done = writes_seen(&proxy);
    let done_before = total(&done);
    assert!(
        done_before > 0 && done_before < 3 * ROLES,
        "SIGTERM was meant to land mid-way; writes done: {done:?}"
    );
    let created = done.get("CreateRole").copied().unwrap_or(0);
    assert_eq!(
        (
            done.get("PutRolePolicy").copied().unwrap_or(0),
            done.get("AttachRolePolicy").copied().unwrap_or(0)
        ),
        (created, created),
        "a reconcile in flight at SIGTERM was cut short: {done:?}"
    );
    if leader_election {
        assert_eq!(
            lease_holder(&world).as_deref(),
            Some(""),
            "the Lease was released on the way out"
        );
    }

    proxy.clear();
    let restarted = Instant::now();
    world.start_operator_with(&options);
    if let Some(first_leader) = first_leader {
        // A released Lease is taken at once, not after the 15 s lease duration.
        let next = wait_lease_holder(&world, Duration::from_secs(8), |h| !h.is_empty()).await;
        assert_ne!(next, first_leader);
        println!("next leader after {:?}", restarted.elapsed());
    }
    wait_all_ready(&world, &names, Duration::from_secs(120)).await;
    for index in 0..ROLES {
        assert_iam_matches(&world, &manifest(prefix, index, 0, false)).await;
    }
    let expected: BTreeMap<&str, usize> = [
        ("CreateRole", ROLES),
        ("PutRolePolicy", ROLES),
        ("AttachRolePolicy", ROLES),
    ]
    .into();
    assert_eq!(writes_seen(&proxy), expected, "writes across the restart");
    assert_eq!(
        world.iam_calls(WRITES).await as usize,
        3 * ROLES - done_before,
        "the restarted operator's own count of its writes (/metrics)"
    );
}

/// A world with `count` roles Ready, and the operator logging kube-runtime's watcher errors.
async fn settled_world(prefix: &str, count: usize) -> (World, FaultProxy, Vec<String>) {
    let (world, proxy, _) = world_behind_proxy(OperatorOptions {
        rust_log: Some("info,rolesmith=debug,kube_runtime::watcher=debug".into()),
        ..OperatorOptions::default()
    })
    .await;
    world.apply_yaml(
        &(0..count)
            .map(|i| manifest(prefix, i, 0, false))
            .collect::<String>(),
    );
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
    wait_all_ready(&world, &names, Duration::from_secs(120)).await;
    (world, proxy, names)
}

/// The spec after [`edit`]: revision 0 but for the tag.
fn tag_edited(prefix: &str, index: usize, revision: u32) -> String {
    manifest(prefix, index, 0, false)
        .replace(r#"revision: "r0""#, &format!(r#"revision: "r{revision}""#))
}

/// Changes one tag value: the minimal plan is exactly one TagRole.
fn edit(world: &World, prefix: &str, index: usize, revision: u32) {
    world.kubectl_ok(&[
        "patch",
        "iamrole",
        &format!("{prefix}-{index}"),
        "-n",
        NAMESPACE,
        "--type",
        "merge",
        "-p",
        &format!(r#"{{"spec":{{"tags":{{"revision":"r{revision}"}}}}}}"#),
    ]);
}

async fn wait_revision(world: &World, prefix: &str, index: usize, revision: u32) {
    let want = format!("r{revision}");
    world
        .wait_for_role(
            &role_name(prefix, index),
            &format!("tag revision={want}"),
            Duration::from_secs(60),
            |role| role.is_some_and(|r| r.tags.get("revision") == Some(&want)),
        )
        .await;
}

/// Polls `/readyz` until it answers `status`; returns the body.
async fn wait_readyz(world: &World, status: u16, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = world.http_get("/readyz").await;
        if let Some((code, body)) = &answer
            && *code == status
        {
            return body.clone();
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never answered {status}; last: {answer:?}\noperator log:\n{}",
            tail(&world.operator_log(), 60)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The operator's IAM writes since `before`, and the proof that it is the same process.
struct Baseline {
    pid: Option<u32>,
    writes: u64,
    tag_writes: u64,
}

async fn baseline(world: &mut World) -> Baseline {
    let pid = world.operator_pid();
    assert!(pid.is_some(), "operator running");
    Baseline {
        pid,
        writes: world.iam_calls(WRITES).await,
        tag_writes: world.iam_calls(&["TagRole"]).await,
    }
}

/// Same process, and exactly one TagRole per edit: a role that did not change was not written.
async fn assert_only_edits_written(world: &mut World, before: &Baseline, edits: u64) {
    assert_eq!(
        world.operator_pid(),
        before.pid,
        "the operator recovered by itself, without a restart"
    );
    let tag_writes = world.iam_calls(&["TagRole"]).await - before.tag_writes;
    let writes = world.iam_calls(WRITES).await - before.writes;
    assert_eq!(
        (tag_writes, writes),
        (edits, edits),
        "IAM writes after {edits} one-tag edits (TagRole, all writes)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_watches_miss_no_edit() {
    const ROLES: usize = 6;
    let prefix = "drop";
    let (mut world, _proxy, names) = settled_world(prefix, ROLES).await;
    let mut rng = Lcg::from_env();
    let before = baseline(&mut world).await;
    // Each edit followed, after a random pause, by every watch being cut.
    for index in 0..4 {
        edit(&world, prefix, index, 1);
        tokio::time::sleep(Duration::from_millis(rng.between(0, 300))).await;
        world.sim.drop_watches();
    }
    for index in 0..4 {
        wait_revision(&world, prefix, index, 1).await;
    }
    // Cut first, edit right after: the edit lands while the watch reconnects.
    for index in 0..2 {
        world.sim.drop_watches();
        edit(&world, prefix, index, 2);
    }
    for index in 0..2 {
        wait_revision(&world, prefix, index, 2).await;
    }
    wait_all_ready(&world, &names, Duration::from_secs(60)).await;
    assert_only_edits_written(&mut world, &before, 6).await;
    for index in 0..ROLES {
        let revision = match index {
            0..2 => 2,
            2..4 => 1,
            _ => 0,
        };
        assert_iam_matches(&world, &tag_edited(prefix, index, revision)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_history_makes_the_watcher_relist_and_miss_nothing() {
    const ROLES: usize = 6;
    let prefix = "compact";
    let (mut world, _proxy, names) = settled_world(prefix, ROLES).await;
    let before = baseline(&mut world).await;
    edit(&world, prefix, 0, 1);
    wait_revision(&world, prefix, 0, 1).await;
    // Every resourceVersion the watcher holds is now too old: its next watch gets 410 Expired,
    // and only a relist can bring back what changed meanwhile.
    world.sim.compact();
    world.sim.drop_watches();
    edit(&world, prefix, 1, 1);
    edit(&world, prefix, 2, 1);
    for index in 1..3 {
        wait_revision(&world, prefix, index, 1).await;
    }
    wait_all_ready(&world, &names, Duration::from_secs(60)).await;
    let log = world.operator_log();
    assert!(
        log.lines()
            .any(|line| line.contains("watchevent error") && line.contains("410")),
        "the watcher never saw the 410 that compaction causes:\n{}",
        tail(&log, 60)
    );
    assert_only_edits_written(&mut world, &before, 3).await;
    for index in 0..ROLES {
        let revision = if index < 3 { 1 } else { 0 };
        assert_iam_matches(&world, &tag_edited(prefix, index, revision)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_server_outage_is_survived_by_the_same_process() {
    const ROLES: usize = 6;
    const OUTAGE: Duration = Duration::from_secs(5);
    let prefix = "outage";
    let (mut world, _proxy, names) = settled_world(prefix, ROLES).await;
    wait_readyz(&world, 200, Duration::from_secs(30)).await;
    let before = baseline(&mut world).await;

    // Edited just before the outage: the event may or may not reach the operator in time.
    edit(&world, prefix, 0, 1);
    world.sim.stop_listening().await;
    let down = Instant::now();
    let reason = wait_readyz(&world, 503, OUTAGE).await;
    assert!(reason.contains("Kubernetes"), "/readyz says: {reason}");
    tokio::time::sleep(OUTAGE.saturating_sub(down.elapsed())).await;
    // Still not ready at the end of the outage: nothing pretends the watch is back.
    assert_eq!(
        world.http_get("/readyz").await.map(|(code, _)| code),
        Some(503)
    );
    world
        .sim
        .resume_listening()
        .await
        .expect("kube-sim serves again on its port");
    // Edited just after: the operator may still be backing off its reconnect.
    edit(&world, prefix, 1, 1);

    for index in 0..2 {
        wait_revision(&world, prefix, index, 1).await;
    }
    wait_all_ready(&world, &names, Duration::from_secs(90)).await;
    wait_readyz(&world, 200, Duration::from_secs(60)).await;
    assert_only_edits_written(&mut world, &before, 2).await;
    for index in 0..ROLES {
        let revision = if index < 2 { 1 } else { 0 };
        assert_iam_matches(&world, &tag_edited(prefix, index, revision)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_says_when_iam_does_not_answer() {
    let prefix = "iamdown";
    let (world, proxy, _) = world_behind_proxy(OperatorOptions::default()).await;
    wait_readyz(&world, 200, Duration::from_secs(30)).await;
    // Every IAM connection is closed unanswered, as when IAM or the network to it is down.
    proxy.inject(Fault::hang_up("*").always());
    world.apply_yaml(&manifest(prefix, 0, 0, false));
    let reason = wait_readyz(&world, 503, Duration::from_secs(60)).await;
    assert!(reason.contains("IAM"), "/readyz says: {reason}");
    // The object says why too, while it retries.
    world
        .wait_for_object(
            NAMESPACE,
            &format!("{prefix}-0"),
            "Ready=False for IamTransient",
            Duration::from_secs(30),
            |o| {
                condition(o, "Ready")
                    .is_some_and(|c| c["status"] == "False" && c["reason"] == "IamTransient")
            },
        )
        .await;

    proxy.clear();
    wait_all_ready(&world, &[format!("{prefix}-0")], Duration::from_secs(60)).await;
    wait_readyz(&world, 200, Duration::from_secs(30)).await;
    assert_iam_matches(&world, &manifest(prefix, 0, 0, false)).await;
}
