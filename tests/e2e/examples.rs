//! Every manifest in examples/ is applied as a user would and reaches Ready; /readyz and
//! /metrics answer.

use crate::harness::{World, repo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_reaches_ready() {
    // The Pod Identity example needs an EKS API: the fake one (moto has none).
    let eks = fake_eks::FakeEks::start("examples").await;
    let mut world = World::start().await;
    world.restart_operator_with_eks(&eks.endpoint, "examples");
    let mut names = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(repo("examples"))
        .expect("examples/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    entries.sort();
    assert!(
        entries.len() >= 6,
        "examples/ holds the role types people use"
    );
    for path in &entries {
        let text = std::fs::read_to_string(path).expect("example readable");
        for role in rolesmith::manifest::parse(&text, "default").expect("example parses") {
            names.push((
                role.metadata.namespace.clone().unwrap_or_default(),
                role.metadata.name.clone().unwrap_or_default(),
            ));
        }
        world.kubectl_ok(&["apply", "-f", &path.to_string_lossy()]);
    }
    for (namespace, name) in &names {
        world.wait_ready(namespace, name, "120s");
    }
    // The IamServiceLinkedRole examples, which IamRole files do not hold.
    let service_linked = world.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "iamservicelinkedroles",
        "--all",
        "-n",
        "default",
        "--timeout=120s",
    ]);
    assert!(!service_linked.trim().is_empty(), "an example makes one");
    let (status, body) = world.http_get("/readyz").await.expect("/readyz answers");
    assert_eq!(status, 200, "{body}");
    let metrics = world
        .http_get("/metrics")
        .await
        .expect("/metrics answers")
        .1;
    assert!(
        metrics.contains("rolesmith_iam_calls_total{operation=\"CreateRole\",outcome=\"ok\",account=\"_operator\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("rolesmith_reconciles_total"), "{metrics}");
    assert!(
        eks.associations()
            .iter()
            .any(|a| a.service_account == "batch"),
        "the workload example's Pod Identity association: {:?}",
        eks.associations()
    );
}
