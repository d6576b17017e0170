//! Memory under churn: IamRoles created and deleted in waves. The operator's per-object state
//! (watch cache, retry state) must go with the objects: RSS after the last wave comes back to
//! what it was after the first.

use std::time::{Duration, Instant};

use kube::api::Api;
use rolesmith::api::IamRole;

use super::process;
use super::scale::{
    NAMESPACE, Watched, all_ready, client, create_all, delete_all, iam_with_raised_quota, manifest,
    start_operator,
};

pub struct Churn {
    pub objects: usize,
    pub waves: usize,
    /// Operator RSS (KiB) once it had started and swept the empty namespace, before any wave.
    pub rss_before: u64,
    /// Operator RSS (KiB) after each wave's deletions settled.
    pub rss_after_wave: Vec<u64>,
    pub took: Duration,
}

/// How long the operator remembers a published Event (at most 1,024 of them) to aggregate repeats.
const EVENT_CACHE: Duration = Duration::from_secs(360);

const RESYNC: Duration = Duration::from_secs(30);

/// `waves` waves back to back, then one more after the remembered Events expired.
pub async fn run(objects: usize, waves: usize) -> Churn {
    let mut world = process::start_world(RESYNC).await;
    let iam = iam_with_raised_quota(&world);
    start_operator(&mut world, &iam, "auto", "warn");
    let api: Api<IamRole> = Api::namespaced(client(&world).await, NAMESPACE);
    let watched = Watched::start(&api).await;
    // The baseline: the operator started, listed its (empty) watches and swept once.
    tokio::time::sleep(RESYNC + Duration::from_secs(5)).await;
    let rss_before = process::usage(world.operator.as_ref().expect("operator").pid()).rss_kib;
    println!(
        "churn: operator RSS before the first wave {:.1} MiB",
        rss_before as f64 / 1024.0
    );
    let started = Instant::now();
    let mut rss_after_wave = Vec::new();
    for wave in 0..waves + 1 {
        if wave == waves {
            // The operator remembers published Events for 6 minutes (at most 1,024, forgotten
            // on a later publish): one more wave after that shows whether what grew was that
            // memory or something per object.
            println!("churn: waiting out the remembered Events' 6 minutes, then one more wave");
            tokio::time::sleep(EVENT_CACHE + Duration::from_secs(10)).await;
        }
        let names: Vec<String> = (0..objects).map(|i| format!("churn-{wave}-{i}")).collect();
        let manifests = names
            .iter()
            .enumerate()
            .map(|(i, n)| manifest(n, i))
            .collect();
        create_all(&api, manifests).await;
        watched
            .wait_until("wave Ready", Duration::from_secs(1800), all_ready(objects))
            .await;
        delete_all(&api, names).await;
        watched
            .wait_until("wave deleted", Duration::from_secs(1800), |list| {
                list.is_empty()
            })
            .await;
        // The operator hands freed memory back after each drift check: read RSS after one.
        tokio::time::sleep(RESYNC + Duration::from_secs(5)).await;
        let pid = world.operator.as_ref().expect("operator").pid();
        rss_after_wave.push(process::usage(pid).rss_kib);
        println!(
            "churn wave {}/{}: {objects} created and deleted, operator RSS {:.1} MiB",
            wave + 1,
            waves + 1,
            *rss_after_wave.last().unwrap_or(&0) as f64 / 1024.0
        );
    }
    Churn {
        objects,
        waves: waves + 1,
        rss_before,
        rss_after_wave,
        took: started.elapsed(),
    }
}
