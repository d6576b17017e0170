//! `cargo bench --bench fleet` (`make bench`): measures what the README's performance section
//! reports, and prints it as a table.
//!
//! 1. The pure core: planning an in-sync role (plan.rs).
//! 2. Fleets at scale (scale.rs): `BENCH_ROLES` IamRoles (default `1000,10000`) applied at once,
//!    the drift check by account sweep and by per-role reads side by side, repair time, one new
//!    role into an idle fleet, operator memory and CPU, and the CPU of each process. The per-role
//!    check is measured for at most `BENCH_PER_ROLE_SECS` (default 300), the rest extrapolated.
//! 3. Churn (churn.rs): `BENCH_CHURN` IamRoles (default 2000; 0 skips) created and deleted in
//!    `BENCH_CHURN_WAVES` waves (default 4), and one more wave after the operator's remembered
//!    Events expired (6 minutes); the operator's RSS must come back.
//!
//! `ROLESMITH_OPERATOR_BIN` runs another binary as the operator: a script that `exec`s a heap
//! profiler with the operator (`heaptrack -o FILE rolesmith "$@"`) shows where its memory goes.
//! The RSS figures are then the profiler's.
//!
//! Prints figures; asserts only what must hold (every role Ready, drift repaired).

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

#[path = "../tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

#[path = "fleet/churn.rs"]
mod churn;
#[path = "fleet/floor.rs"]
mod floor;
#[path = "fleet/plan.rs"]
mod plan;
#[path = "fleet/process.rs"]
mod process;
#[path = "fleet/scale.rs"]
mod scale;

fn main() {
    plan::run();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let sizes: Vec<usize> = std::env::var("BENCH_ROLES")
            .unwrap_or_else(|_| "1000,10000".into())
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        let mut rows = Vec::new();
        for roles in sizes {
            println!("fleet of {roles} IamRoles: running (moto is the bound; this takes a while)");
            let figures = scale::run(roles).await;
            println!("{figures:#?}");
            rows.push(figures);
            scale::print_table(&rows);
        }
        let churn: usize = std::env::var("BENCH_CHURN")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000);
        let waves: usize = std::env::var("BENCH_CHURN_WAVES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(4)
            .max(1);
        if churn > 0 {
            let result = churn::run(churn / waves, waves).await;
            let first = result.rss_after_wave.first().copied().unwrap_or(0) as f64 / 1024.0;
            let last = result.rss_after_wave.last().copied().unwrap_or(0) as f64 / 1024.0;
            println!(
                "churn: {} IamRoles created and deleted in {} waves of {} in {:.0?}; operator RSS before {:.1} MiB, after the first wave {first:.1} MiB, after the last {last:.1} MiB ({:+.1} MiB); after each wave: {}",
                result.objects * result.waves,
                result.waves,
                result.objects,
                result.took,
                result.rss_before as f64 / 1024.0,
                last - first,
                result
                    .rss_after_wave
                    .iter()
                    .map(|kib| format!("{:.1}", *kib as f64 / 1024.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    });
}
