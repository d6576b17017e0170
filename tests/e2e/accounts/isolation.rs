//! One account's trouble never slows another: 30 % throttling on the operator's own account,
//! and account b's 50 roles reach Ready in the same time as without faults (measured in one
//! run, as a ratio).

use std::time::Instant;

use super::*;

const FLEET: usize = 50;

fn fleet(namespace: &str, account_ref: Option<&str>) -> String {
    (0..FLEET)
        .map(|i| role_yaml(namespace, &format!("r{i:02}"), account_ref))
        .collect::<Vec<_>>()
        .join("---\n")
}

fn wait_all(world: &World, namespace: &str, timeout: &str) {
    let output = world.kubectl(&[
        "wait",
        "--for=condition=Ready",
        "iamrole",
        "--all",
        "-n",
        namespace,
        &format!("--timeout={timeout}"),
    ]);
    assert!(
        output.status.success(),
        "{namespace}: not all Ready: {}\n{}\noperator log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        world.kubectl_ok(&["get", "iamroles", "-n", namespace, "-o", "wide"]),
        tail(&world.operator_log(), 80)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_account_does_not_slow_another() {
    let (world, proxy) = world_behind_proxy(&["--iam-rate-limit", "50"]).await;
    create_namespaces(&world, &["calm-own", "calm-b", "busy-own", "busy-b"]);
    world.apply_yaml(&account_yaml(
        "b",
        B,
        Some((&role_arn(B), Some(EXTERNAL_ID))),
        &["calm-b", "busy-b"],
        false,
    ));
    wait_for_account(&world, "b", "Ready", |a| ready_reason(a) == "True/Verified").await;

    // The same load twice, 50 new roles in each account at once: first without faults, then
    // with the own account throttling 30 % of its calls.
    let run = |phase: &'static str| {
        let world = &world;
        async move {
            let started = Instant::now();
            world.apply_yaml(&fleet(&format!("{phase}-own"), None));
            world.apply_yaml(&fleet(&format!("{phase}-b"), Some("b")));
            wait_all(world, &format!("{phase}-b"), "200s");
            let b_ready = started.elapsed();
            wait_all(world, &format!("{phase}-own"), "400s");
            (b_ready, started.elapsed())
        }
    };
    let (calm_b, calm_own) = run("calm").await;
    proxy.inject(
        Fault::throttling("*")
            .for_account(HOME_ACCOUNT)
            .with_probability(0.3)
            .always(),
    );
    let (busy_b, busy_own) = run("busy").await;
    proxy.clear();

    let log = proxy.log();
    let injected_in = |account: &str| {
        log.iter()
            .filter(|e| e.answer.injected() && e.account.as_deref() == Some(account))
            .count()
    };
    let ratio = busy_b.as_secs_f64() / calm_b.as_secs_f64().max(0.001);
    println!(
        "[accounts] isolation: account b's {FLEET} roles Ready in {:.1}s without faults, {:.1}s while the own account throttled 30 % of its calls (ratio {ratio:.2}); the own account's {FLEET} roles in {:.1}s, then {:.1}s throttled; {} throttled answers in the own account, {} in b",
        calm_b.as_secs_f64(),
        busy_b.as_secs_f64(),
        calm_own.as_secs_f64(),
        busy_own.as_secs_f64(),
        injected_in(HOME_ACCOUNT),
        injected_in(B),
    );
    assert!(injected_in(HOME_ACCOUNT) > 0, "no throttling was injected");
    assert_eq!(injected_in(B), 0);
    // Loose: a run on two shared cores is noisy; an account that held the other back would
    // show as several times slower.
    assert!(
        ratio < 2.0,
        "account b slowed by the throttled account: ratio {ratio:.2}"
    );

    let mut homes: Vec<(String, &str)> = Vec::new();
    for i in 0..FLEET {
        for phase in ["calm", "busy"] {
            homes.push((format!("{phase}-own.r{i:02}"), HOME_ACCOUNT));
            homes.push((format!("{phase}-b.r{i:02}"), B));
        }
    }
    let homes: Vec<(&str, &str)> = homes.iter().map(|(n, a)| (n.as_str(), *a)).collect();
    let checked = assert_keys_match_accounts(&proxy, &homes);
    println!(
        "[accounts] isolation: {checked} requests signed with a key of their role's account, none with another's"
    );
}
