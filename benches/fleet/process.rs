//! What /proc says about a process: peak and current RSS, CPU seconds; and the test API
//! server's own CPU time, told apart from the benchmark client's in the same process by running
//! it on a runtime of its own whose threads are named `kube-sim`.

use std::sync::OnceLock;
use std::time::Duration;

use super::harness::World;

const SIM_THREAD: &str = "kube-sim";

pub struct Usage {
    pub peak_rss_kib: u64,
    pub rss_kib: u64,
    pub cpu_seconds: f64,
}

pub fn usage(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    Usage {
        peak_rss_kib: kib("VmHWM:"),
        rss_kib: kib("VmRSS:"),
        cpu_seconds: cpu_seconds(&stat),
    }
}

/// utime + stime of a `stat` line: fields 14 and 15 (11 and 12 after the `)`).
fn cpu_seconds(stat: &str) -> f64 {
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
    (ticks(11) + ticks(12)) / 100.0
}

fn sim_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(SIM_THREAD)
            .enable_all()
            .build()
            .expect("the test API server's runtime")
    })
}

/// Starts the world with the test API server (its listener, connections and watches) on the
/// `kube-sim` runtime.
pub async fn start_world(resync: Duration) -> World {
    let sim = sim_runtime()
        .spawn(kube_sim::KubeSim::start())
        .await
        .expect("the test API server's task")
        .expect("kube-sim starts");
    World::start_with_sim(sim, resync).await
}

/// moto stands in for IAM, which runs on machines of its own. On the benchmark's two shared
/// cores the test API server, the benchmark client and the operator would otherwise take turns
/// with moto on its core, and that wait would count as the operator's overhead: moto's threads
/// get first call (nice -10; threads it starts later inherit it). Needs CAP_SYS_NICE; returns
/// whether every thread was raised.
pub fn prioritize(pid: u32) -> bool {
    let tasks: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|task| task.file_name().to_string_lossy().into_owned())
        .collect();
    !tasks.is_empty()
        && tasks.iter().all(|task| {
            std::process::Command::new("renice")
                .args(["-n", "-10", "-p", task])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
}

/// CPU seconds of this process's `kube-sim` threads, and of all its threads.
pub fn sim_and_own_cpu() -> (f64, f64) {
    let own = usage(std::process::id()).cpu_seconds;
    let sim = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim() == SIM_THREAD)
        })
        .map(|task| {
            cpu_seconds(&std::fs::read_to_string(task.path().join("stat")).unwrap_or_default())
        })
        .sum();
    (sim, own)
}
