//! kube-sim driven by the real `kube` 5 client and runtime: every behaviour the project's
//! operator and tests rely on, checked the way a real kube-apiserver would answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event as RecorderEvent, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Config, Resource, ResourceExt};
use kube_sim::KubeSim;
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

async fn client(sim: &KubeSim) -> Client {
    let config = Config::new(sim.url().parse().unwrap());
    Client::try_from(config).unwrap()
}

fn widgets_crd() -> CustomResourceDefinition {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/widgets-crd.yaml"
    ))
    .unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("test.kube-sim.dev", "v1", "Widget"),
        "widgets",
    )
}

/// A server with the Widget CRD registered, and an Api for widgets in `default`.
async fn with_widgets() -> (KubeSim, Client, Api<DynamicObject>) {
    let sim = KubeSim::start().await.unwrap();
    let client = client(&sim).await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &widgets_crd())
        .await
        .unwrap();
    let widgets = Api::namespaced_with(client.clone(), "default", &widget_resource());
    (sim, client, widgets)
}

fn widget(name: &str, spec: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "test.kube-sim.dev/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap()
}

fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> Box<kube::core::Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn rv(obj: &impl Resource) -> u64 {
    obj.meta()
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

fn generation(obj: &impl Resource) -> i64 {
    obj.meta().generation.unwrap()
}

/// The next event that is not a bookmark.
async fn next_change<S>(stream: &mut S) -> Option<WatchEvent<DynamicObject>>
where
    S: futures::Stream<Item = Result<WatchEvent<DynamicObject>, kube::Error>> + Unpin,
{
    loop {
        match stream.try_next().await.unwrap() {
            Some(WatchEvent::Bookmark(_)) => continue,
            other => return other,
        }
    }
}

#[tokio::test]
async fn binary_starts_fast_and_writes_a_kubeconfig_kube_can_use() -> TestResult {
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("config");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kube-sim"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await??
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        line.starts_with("kube-sim listening on http://127.0.0.1:"),
        "{line}"
    );
    let kc = kube::config::Kubeconfig::read_from(&kubeconfig)?;
    let config =
        Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?;
    assert_eq!(config.default_namespace, "default");
    let client = Client::try_from(config)?;
    let namespaces: Api<Namespace> = Api::all(client);
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await?
        .iter()
        .map(|n| n.name_any())
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );
    child.kill().await?;
    Ok(())
}

#[tokio::test]
async fn in_process_kubeconfig_works() -> TestResult {
    let sim = KubeSim::start().await?;
    let kc = kube::config::Kubeconfig::read_from(sim.kubeconfig())?;
    let config =
        Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(Client::try_from(config)?);
    assert!(cms.list(&ListParams::default()).await?.items.is_empty());
    Ok(())
}

#[tokio::test]
async fn crd_registration_is_immediate_and_established() -> TestResult {
    let (_sim, client, widgets) = with_widgets().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crds.get("widgets.test.kube-sim.dev").await?;
    let status = crd.status.unwrap();
    let conditions: BTreeMap<String, String> = status
        .conditions
        .unwrap()
        .into_iter()
        .map(|c| (c.type_, c.status))
        .collect();
    assert_eq!(conditions["Established"], "True");
    assert_eq!(conditions["NamesAccepted"], "True");
    assert_eq!(status.stored_versions.unwrap(), ["v1"]);
    assert_eq!(status.accepted_names.unwrap().plural, "widgets");
    // Served at once: an empty list, with a resourceVersion.
    let list = widgets.list(&ListParams::default()).await?;
    assert!(list.items.is_empty());
    assert!(list.metadata.resource_version.is_some());
    // Deleting the CRD takes its objects and its endpoint along.
    widgets
        .create(&PostParams::default(), &widget("a", json!({"name": "a"})))
        .await?;
    crds.delete("widgets.test.kube-sim.dev", &DeleteParams::default())
        .await?;
    let gone = api_error(widgets.list(&ListParams::default()).await);
    assert_eq!((gone.code, gone.reason.as_str()), (404, "NotFound"));
    crds.create(&PostParams::default(), &widgets_crd()).await?;
    assert!(widgets.list(&ListParams::default()).await?.items.is_empty());
    Ok(())
}

#[tokio::test]
async fn custom_resource_crud() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    let created = widgets
        .create(&PostParams::default(), &widget("w1", json!({"name": "w1"})))
        .await?;
    let meta = &created.metadata;
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    assert_eq!(meta.generation, Some(1));
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    // Defaults from the schema.
    assert_eq!(created.data["spec"]["color"], "red");
    assert_eq!(created.data["spec"]["size"], 1);
    let got = widgets.get("w1").await?;
    assert_eq!(
        got.metadata.resource_version,
        created.metadata.resource_version
    );

    let mut changed = got.clone();
    changed.data["spec"]["size"] = json!(3);
    let replaced = widgets
        .replace("w1", &PostParams::default(), &changed)
        .await?;
    assert_eq!(replaced.data["spec"]["size"], 3);
    assert_eq!(generation(&replaced), 2);
    assert!(rv(&replaced) > rv(&created));

    let deleted = widgets.delete("w1", &DeleteParams::default()).await?;
    assert!(deleted.is_left());
    let missing = api_error(widgets.get("w1").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(
        missing.message,
        "widgets.test.kube-sim.dev \"w1\" not found"
    );
    Ok(())
}

#[tokio::test]
async fn errors_carry_kube_reasons() -> TestResult {
    let (_sim, client, widgets) = with_widgets().await;
    widgets
        .create(
            &PostParams::default(),
            &widget("dup", json!({"name": "dup"})),
        )
        .await?;
    let exists = api_error(
        widgets
            .create(
                &PostParams::default(),
                &widget("dup", json!({"name": "dup"})),
            )
            .await,
    );
    assert_eq!(
        (exists.code, exists.reason.as_str()),
        (409, "AlreadyExists")
    );
    assert_eq!(
        exists.message,
        "widgets.test.kube-sim.dev \"dup\" already exists"
    );

    let invalid = api_error(
        widgets
            .create(
                &PostParams::default(),
                &widget("big", json!({"name": "big", "size": 11})),
            )
            .await,
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert!(
        invalid
            .message
            .starts_with("Widget.test.kube-sim.dev \"big\" is invalid: "),
        "{}",
        invalid.message
    );
    assert!(invalid.message.contains("spec.size"), "{}", invalid.message);

    let elsewhere: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), "nope", &widget_resource());
    let no_ns = api_error(
        elsewhere
            .create(&PostParams::default(), &widget("x", json!({"name": "x"})))
            .await,
    );
    assert_eq!((no_ns.code, no_ns.reason.as_str()), (404, "NotFound"));
    assert_eq!(no_ns.message, "namespaces \"nope\" not found");

    let current = widgets.get("dup").await?;
    let mut unversioned = current.clone();
    unversioned.metadata.resource_version = None;
    let needs_rv = api_error(
        widgets
            .replace("dup", &PostParams::default(), &unversioned)
            .await,
    );
    assert_eq!((needs_rv.code, needs_rv.reason.as_str()), (422, "Invalid"));
    assert!(
        needs_rv.message.ends_with(
            "metadata.resourceVersion: Invalid value: \"\": must be specified for an update"
        ),
        "{}",
        needs_rv.message
    );

    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let missing = api_error(cms.get("none").await);
    assert_eq!(missing.message, "configmaps \"none\" not found");
    Ok(())
}

#[tokio::test]
async fn stale_replace_is_a_conflict() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    let first = widgets
        .create(&PostParams::default(), &widget("w", json!({"name": "w"})))
        .await?;
    widgets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await?;
    let conflict = api_error(widgets.replace("w", &PostParams::default(), &first).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        conflict.message,
        "Operation cannot be fulfilled on widgets.test.kube-sim.dev \"w\": the object has been modified; please apply your changes to the latest version and try again"
    );
    Ok(())
}

#[tokio::test]
async fn generation_moves_only_on_spec_changes() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    let w = widgets
        .create(&PostParams::default(), &widget("g", json!({"name": "g"})))
        .await?;
    assert_eq!(generation(&w), 1);
    let pp = PatchParams::default();
    let labelled = widgets
        .patch(
            "g",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await?;
    assert_eq!(generation(&labelled), 1);
    let status = widgets
        .patch_status(
            "g",
            &pp,
            &Patch::Merge(json!({"status": {"observedGeneration": 1}})),
        )
        .await?;
    assert_eq!(generation(&status), 1);
    let spec = widgets
        .patch("g", &pp, &Patch::Merge(json!({"spec": {"size": 2}})))
        .await?;
    assert_eq!(generation(&spec), 2);
    Ok(())
}

#[tokio::test]
async fn status_endpoint_and_main_endpoint_stay_apart() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    let mut w = widget("s", json!({"name": "s"}));
    w.data["status"] = json!({"observedGeneration": 9});
    let created = widgets.create(&PostParams::default(), &w).await?;
    assert!(created.data.get("status").is_none(), "create drops status");

    let pp = PatchParams::default();
    let main = widgets
        .patch(
            "s",
            &pp,
            &Patch::Merge(json!({"spec": {"size": 4}, "status": {"observedGeneration": 5}})),
        )
        .await?;
    assert_eq!(main.data["spec"]["size"], 4);
    assert!(
        main.data.get("status").is_none(),
        "main endpoint ignores status"
    );

    let merged = widgets
        .patch_status(
            "s",
            &pp,
            &Patch::Merge(json!({"spec": {"size": 6}, "status": {"observedGeneration": 2}})),
        )
        .await?;
    assert_eq!(merged.data["status"]["observedGeneration"], 2);
    assert_eq!(merged.data["spec"]["size"], 4, "/status ignores spec");

    let apply = PatchParams::apply("widget-operator").force();
    let applied = widgets
        .patch_status(
            "s",
            &apply,
            &Patch::Apply(json!({
                "apiVersion": "test.kube-sim.dev/v1",
                "kind": "Widget",
                "status": {"observedGeneration": 3, "conditions": [{"type": "Ready", "status": "True"}]},
            })),
        )
        .await?;
    assert_eq!(applied.data["status"]["observedGeneration"], 3);
    assert_eq!(applied.data["status"]["conditions"][0]["type"], "Ready");
    let managers: Vec<(String, Option<String>)> = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.manager.unwrap_or_default(), m.subresource))
        .collect();
    assert!(
        managers.contains(&("widget-operator".to_string(), Some("status".to_string()))),
        "{managers:?}"
    );
    let got = widgets.get_status("s").await?;
    assert_eq!(got.data["status"]["observedGeneration"], 3);
    Ok(())
}

#[tokio::test]
async fn a_write_that_changes_nothing_bumps_nothing() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    let w = widgets
        .create(
            &PostParams::default(),
            &widget("n", json!({"name": "n", "size": 2})),
        )
        .await?;
    let pp = PatchParams::default();
    let same = widgets
        .patch("n", &pp, &Patch::Merge(json!({"spec": {"size": 2}})))
        .await?;
    assert_eq!(rv(&same), rv(&w));
    let replaced = widgets.replace("n", &PostParams::default(), &same).await?;
    assert_eq!(rv(&replaced), rv(&w));
    // No event either: the first event after w's version is the real change below.
    let mut stream = widgets
        .watch(&WatchParams::default().timeout(5), &rv(&w).to_string())
        .await?
        .boxed();
    widgets
        .patch("n", &pp, &Patch::Merge(json!({"spec": {"size": 3}})))
        .await?;
    match stream.try_next().await? {
        Some(WatchEvent::Modified(obj)) => assert_eq!(obj.data["spec"]["size"], 3),
        other => panic!("expected the size change, got {other:?}"),
    }
    Ok(())
}

/// kubectl's client-side → server-side apply migration is a JSON patch of managedFields alone:
/// kube-apiserver stores it (new resourceVersion), while re-sending the same managedFields is a no-op.
#[tokio::test]
async fn a_write_that_only_moves_ownership_is_stored() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    let created = widgets
        .create(
            &PostParams {
                field_manager: Some("writer".into()),
                ..PostParams::default()
            },
            &widget("o", json!({"name": "o"})),
        )
        .await?;
    let mut entries = serde_json::to_value(created.managed_fields())?;
    assert_eq!(entries[0]["manager"], "writer");
    entries[0]["manager"] = json!("someone-else");
    let patch: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": created.resource_version()},
        {"op": "replace", "path": "/metadata/managedFields", "value": entries},
    ]))?;
    let pp = PatchParams::default();
    let moved = widgets.patch("o", &pp, &Patch::Json::<()>(patch)).await?;
    assert!(rv(&moved) > rv(&created), "the ownership change is stored");
    assert_eq!(
        moved.managed_fields()[0].manager.as_deref(),
        Some("someone-else")
    );
    assert_eq!(generation(&moved), 1);

    let same: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/metadata/managedFields", "value": serde_json::to_value(moved.managed_fields())?},
    ]))?;
    let again = widgets.patch("o", &pp, &Patch::Json::<()>(same)).await?;
    assert_eq!(
        rv(&again),
        rv(&moved),
        "the same managedFields change nothing"
    );

    // managedFields written by server-side apply and re-encoded by a later plain write must
    // still compare equal: an unchanged merge patch after an apply is a no-op.
    let applied = widgets
        .patch(
            "o",
            &PatchParams::apply("applier"),
            &Patch::Apply(json!({
                "apiVersion": "test.kube-sim.dev/v1", "kind": "Widget",
                "metadata": {"name": "o"}, "spec": {"name": "o", "color": "red"}})),
        )
        .await?;
    let unchanged = widgets
        .patch("o", &pp, &Patch::Merge(json!({"spec": {"color": "red"}})))
        .await?;
    assert_eq!(rv(&unchanged), rv(&applied));
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

#[tokio::test]
async fn finalizer_helper_end_to_end() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    widgets
        .create(&PostParams::default(), &widget("f", json!({"name": "f"})))
        .await?;
    const NAME: &str = "test.kube-sim.dev/cleanup";
    let cleaned = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let run = |obj: DynamicObject| {
        let widgets = widgets.clone();
        let cleaned = cleaned.clone();
        async move {
            finalizer(&widgets, NAME, Arc::new(obj), |event| async move {
                if let FinalizerEvent::Cleanup(_) = event {
                    cleaned.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                Ok::<_, Never>(Action::await_change())
            })
            .await
        }
    };
    // First pass adds the finalizer (JSON patch testing /metadata/finalizers against null).
    run(widgets.get("f").await?).await?;
    assert_eq!(widgets.get("f").await?.finalizers(), [NAME]);
    // Second pass applies.
    run(widgets.get("f").await?).await?;
    assert_eq!(cleaned.load(std::sync::atomic::Ordering::SeqCst), 0);

    let deleting = widgets.delete("f", &DeleteParams::default()).await?;
    let deleting = deleting
        .left()
        .expect("object kept while finalizers remain");
    assert!(deleting.metadata.deletion_timestamp.is_some());
    run(widgets.get("f").await?).await?;
    assert_eq!(cleaned.load(std::sync::atomic::Ordering::SeqCst), 1);
    let gone = api_error(widgets.get("f").await);
    assert_eq!(gone.code, 404);
    Ok(())
}

#[tokio::test]
async fn deletion_with_finalizers_in_order() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    let mut w = widget("d", json!({"name": "d"}));
    w.metadata.finalizers = Some(vec!["a/b".into()]);
    let created = widgets.create(&PostParams::default(), &w).await?;
    let mut events = widgets
        .watch(
            &WatchParams::default().timeout(5),
            &rv(&created).to_string(),
        )
        .await?
        .boxed();

    let deleting = widgets
        .delete("d", &DeleteParams::background())
        .await?
        .left()
        .unwrap();
    assert!(deleting.metadata.deletion_timestamp.is_some());
    assert_eq!(deleting.metadata.deletion_grace_period_seconds, Some(0));
    assert_eq!(
        generation(&deleting),
        2,
        "marking for deletion bumps generation"
    );
    match next_change(&mut events).await {
        Some(WatchEvent::Modified(obj)) => assert!(obj.metadata.deletion_timestamp.is_some()),
        other => panic!("expected MODIFIED, got {other:?}"),
    }

    // Deleting again changes nothing; adding a finalizer now is refused.
    let again = widgets
        .delete("d", &DeleteParams::default())
        .await?
        .left()
        .unwrap();
    assert_eq!(rv(&again), rv(&deleting));
    let refused = api_error(
        widgets
            .patch(
                "d",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": ["a/b", "c/d"]}})),
            )
            .await,
    );
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert!(
        refused
            .message
            .contains("no new finalizers can be added if the object is being deleted"),
        "{}",
        refused.message
    );

    widgets
        .patch(
            "d",
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(json!([
                {"op": "remove", "path": "/metadata/finalizers/0"}
            ]))?),
        )
        .await?;
    match next_change(&mut events).await {
        Some(WatchEvent::Deleted(obj)) => assert_eq!(obj.name_any(), "d"),
        other => panic!("expected DELETED, got {other:?}"),
    }
    assert_eq!(api_error(widgets.get("d").await).code, 404);
    Ok(())
}

/// Collects watcher events until `done` says so or the time runs out.
async fn collect_until<K, S>(stream: &mut S, mut done: impl FnMut(&[String]) -> bool) -> Vec<String>
where
    K: ResourceExt,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Unpin,
{
    let mut seen = Vec::new();
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    while !done(&seen) {
        tokio::select! {
            item = stream.next() => {
                let Some(item) = item else { break };
                seen.push(match item {
                    Ok(watcher::Event::Init) => "Init".to_string(),
                    Ok(watcher::Event::InitApply(o)) => format!("InitApply({})", o.name_any()),
                    Ok(watcher::Event::InitDone) => "InitDone".to_string(),
                    Ok(watcher::Event::Apply(o)) => format!("Apply({})", o.name_any()),
                    Ok(watcher::Event::Delete(o)) => format!("Delete({})", o.name_any()),
                    Err(e) => format!("Err({e})"),
                });
            }
            _ = &mut deadline => panic!("timed out; saw {seen:?}"),
        }
    }
    seen
}

async fn watcher_recovers_from_compaction(config: watcher::Config) -> TestResult {
    let sim = KubeSim::start().await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client(&sim).await);
    let cm = |name: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
    };
    cms.create(&PostParams::default(), &cm("one")).await?;
    let mut stream = watcher(cms.clone(), config).default_backoff().boxed();
    let first = collect_until(&mut stream, |s| s.last().is_some_and(|e| e == "InitDone")).await;
    assert_eq!(first, ["Init", "InitApply(one)", "InitDone"]);

    cms.create(&PostParams::default(), &cm("two")).await?;
    let live = collect_until(&mut stream, |s| !s.is_empty()).await;
    assert_eq!(live, ["Apply(two)"]);

    // Every held resourceVersion expires; the reconnecting watch gets an in-stream 410, relists.
    sim.compact();
    sim.drop_watches();
    cms.create(&PostParams::default(), &cm("three")).await?;
    let recovered = collect_until(&mut stream, |s| s.last().is_some_and(|e| e == "InitDone")).await;
    assert!(
        recovered[0].starts_with("Err(") && recovered[0].contains("Expired"),
        "{recovered:?}"
    );
    assert_eq!(
        &recovered[1..],
        [
            "Init",
            "InitApply(one)",
            "InitApply(three)",
            "InitApply(two)",
            "InitDone"
        ]
    );

    cms.delete("one", &DeleteParams::default()).await?;
    assert_eq!(
        collect_until(&mut stream, |s| !s.is_empty()).await,
        ["Delete(one)"]
    );
    Ok(())
}

#[tokio::test]
async fn watcher_list_then_watch_recovers_from_compaction() -> TestResult {
    watcher_recovers_from_compaction(watcher::Config::default()).await
}

#[tokio::test]
async fn watcher_streaming_lists_recovers_from_compaction() -> TestResult {
    watcher_recovers_from_compaction(watcher::Config::default().streaming_lists()).await
}

#[tokio::test]
async fn list_and_watch_agree_under_concurrent_writes() -> TestResult {
    let sim = KubeSim::start().await?;
    let client = client(&sim).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let start = cms
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().timeout(20), &start)
        .await?
        .boxed();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let cms = cms.clone();
            tokio::spawn(async move {
                let mut written = Vec::new();
                for i in 0..25 {
                    let name = format!("w{w}-{i}");
                    let obj: ConfigMap = serde_json::from_value(
                        json!({"metadata": {"name": name}, "data": {"i": "0"}}),
                    )
                    .unwrap();
                    let created = cms.create(&PostParams::default(), &obj).await.unwrap();
                    written.push(("ADDED", name.clone(), rv(&created)));
                    let patched = cms
                        .patch(
                            &name,
                            &PatchParams::default(),
                            &Patch::Merge(json!({"data": {"i": "1"}})),
                        )
                        .await
                        .unwrap();
                    written.push(("MODIFIED", name, rv(&patched)));
                }
                written
            })
        })
        .collect();
    let mut expected = Vec::new();
    for w in writers {
        expected.extend(w.await?);
    }
    expected.sort_by_key(|e| e.2);
    let mut seen = Vec::new();
    while seen.len() < expected.len() {
        let kind_obj = match stream.try_next().await? {
            Some(WatchEvent::Added(o)) => ("ADDED", o),
            Some(WatchEvent::Modified(o)) => ("MODIFIED", o),
            other => panic!("unexpected {other:?}"),
        };
        seen.push((kind_obj.0, kind_obj.1.name_any(), rv(&kind_obj.1)));
    }
    assert_eq!(seen, expected);
    // A new list's version continues exactly where the stream is.
    let now = cms.list(&ListParams::default()).await?;
    assert_eq!(
        now.metadata.resource_version.unwrap(),
        expected.last().unwrap().2.to_string()
    );
    assert_eq!(now.items.len(), 100);
    Ok(())
}

#[tokio::test]
async fn event_recorder_creates_then_patches_the_series() -> TestResult {
    let (_sim, client, widgets) = with_widgets().await;
    let w = widgets
        .create(&PostParams::default(), &widget("e", json!({"name": "e"})))
        .await?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "widget-operator".into(),
            instance: None,
        },
    );
    let event = RecorderEvent {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("ok".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    let reference = w.object_ref(&widget_resource());
    recorder.publish(&event, &reference).await?;
    recorder.publish(&event, &reference).await?;
    let events: Api<K8sEvent> = Api::namespaced(client.clone(), "default");
    let list = events.list(&ListParams::default()).await?;
    assert_eq!(list.items.len(), 1);
    let ev = &list.items[0];
    assert_eq!(ev.reason.as_deref(), Some("Reconciled"));
    assert_eq!(ev.series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(
        ev.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("e")
    );
    // The same object is a core/v1 Event too, which is what kubectl describe lists.
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client, "default");
    let listed = core
        .list(&ListParams::default().fields("involvedObject.name=e,involvedObject.kind=Widget"))
        .await?;
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].message.as_deref(), Some("ok"));
    assert_eq!(
        listed.items[0].reporting_component.as_deref(),
        Some("widget-operator")
    );
    Ok(())
}

#[tokio::test]
async fn server_side_apply_conflicts_and_force() -> TestResult {
    let (_sim, _client, widgets) = with_widgets().await;
    let body = |color: &str| {
        Patch::Apply(json!({
            "apiVersion": "test.kube-sim.dev/v1",
            "kind": "Widget",
            "metadata": {"name": "ssa"},
            "spec": {"name": "ssa", "color": color},
        }))
    };
    let created = widgets
        .patch("ssa", &PatchParams::apply("alice"), &body("green"))
        .await?;
    assert_eq!(created.data["spec"]["color"], "green");
    let again = widgets
        .patch("ssa", &PatchParams::apply("alice"), &body("green"))
        .await?;
    assert_eq!(
        rv(&again),
        rv(&created),
        "re-applying the same config is a no-op"
    );

    let conflict = api_error(
        widgets
            .patch("ssa", &PatchParams::apply("bob"), &body("blue"))
            .await,
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(
        conflict.message.contains("conflict with \"alice\""),
        "{}",
        conflict.message
    );
    assert!(
        conflict.message.contains(".spec.color"),
        "{}",
        conflict.message
    );

    let forced = widgets
        .patch("ssa", &PatchParams::apply("bob").force(), &body("blue"))
        .await?;
    assert_eq!(forced.data["spec"]["color"], "blue");
    let missing_manager = api_error(
        widgets
            .patch("ssa", &PatchParams::default(), &body("red"))
            .await,
    );
    assert_eq!(missing_manager.code, 400);
    Ok(())
}

#[tokio::test]
async fn label_and_field_selectors() -> TestResult {
    let sim = KubeSim::start().await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client(&sim).await);
    for (name, labels) in [
        ("a", json!({"app": "web", "tier": "front"})),
        ("b", json!({"app": "db"})),
        ("c", json!({})),
    ] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))?;
        cms.create(&PostParams::default(), &cm).await?;
    }
    let names = |list: kube::core::ObjectList<ConfigMap>| {
        list.iter().map(|c| c.name_any()).collect::<Vec<_>>()
    };
    let cases = [
        ("app=web", vec!["a"]),
        ("app==db", vec!["b"]),
        ("app!=web", vec!["b", "c"]),
        ("app in (web,db)", vec!["a", "b"]),
        ("app notin (web)", vec!["b", "c"]),
        ("app", vec!["a", "b"]),
        ("!app", vec!["c"]),
        ("app=web,tier=front", vec!["a"]),
    ];
    for (selector, want) in cases {
        assert_eq!(
            names(cms.list(&ListParams::default().labels(selector)).await?),
            want,
            "{selector}"
        );
    }
    assert_eq!(
        names(
            cms.list(&ListParams::default().fields("metadata.name=b"))
                .await?
        ),
        ["b"]
    );
    let bad = api_error(cms.list(&ListParams::default().fields("spec.x=1")).await);
    assert_eq!(bad.code, 400);
    Ok(())
}

#[tokio::test]
async fn strategic_merge_patch_is_for_built_ins_only() -> TestResult {
    let (_sim, client, widgets) = with_widgets().await;
    widgets
        .create(
            &PostParams::default(),
            &widget("smp", json!({"name": "smp"})),
        )
        .await?;
    let refused = api_error(
        widgets
            .patch(
                "smp",
                &PatchParams::default(),
                &Patch::Strategic(json!({"spec": {"size": 2}})),
            )
            .await,
    );
    assert_eq!(
        (refused.code, refused.reason.as_str()),
        (415, "UnsupportedMediaType")
    );

    let deployments: Api<Deployment> = Api::default_namespaced(client);
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:1"}]}
        }}
    }))?;
    let created = deployments.create(&PostParams::default(), &d).await?;
    assert_eq!(generation(&created), 1);
    let patched = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}})),
        )
        .await?;
    let containers = patched.spec.template.spec.unwrap().containers;
    let images: Vec<_> = containers
        .iter()
        .map(|c| c.image.clone().unwrap_or_default())
        .collect();
    assert_eq!(images, ["app:2", "side:1"]);
    assert!(patched.status.is_none(), "no controller runs deployments");
    Ok(())
}

#[tokio::test]
async fn secrets_fold_string_data() -> TestResult {
    let sim = KubeSim::start().await?;
    let secrets: Api<Secret> = Api::default_namespaced(client(&sim).await);
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"k": "hello"}}))?;
    let created = secrets.create(&PostParams::default(), &s).await?;
    assert!(created.string_data.is_none());
    let data = created.data.unwrap();
    assert_eq!(data["k"].0, b"hello");
    Ok(())
}

#[tokio::test]
async fn unknown_paths_and_verbs() -> TestResult {
    let sim = KubeSim::start().await?;
    let client = client(&sim).await;
    let send = |method: &str, path: &str| {
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .body(Vec::new())
            .unwrap();
        let client = client.clone();
        async move { client.request_text(req).await }
    };
    match send("GET", "/apis/nope.dev/v1/things").await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (404, "NotFound")),
        other => panic!("{other:?}"),
    }
    match send("GET", "/api/v1/namespaces/default/configmaps/x/scale").await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 404),
        other => panic!("{other:?}"),
    }
    match send("POST", "/api/v1/namespaces/default/configmaps/x").await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (405, "MethodNotAllowed"))
        }
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn outage_keeps_state_and_port() -> TestResult {
    let sim = KubeSim::start().await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client(&sim).await);
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "kept"}}))?;
    cms.create(&PostParams::default(), &cm).await?;
    let mut stream = watcher(cms.clone(), watcher::Config::default())
        .default_backoff()
        .boxed();
    let first = collect_until(&mut stream, |s| s.last().is_some_and(|e| e == "InitDone")).await;
    assert_eq!(first, ["Init", "InitApply(kept)", "InitDone"]);

    sim.stop_listening().await;
    assert!(cms.get("kept").await.is_err());
    sim.resume_listening().await?;
    assert_eq!(cms.get("kept").await?.name_any(), "kept");
    // The watcher reconnects on the same port and carries on from its resourceVersion.
    let later: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "later"}}))?;
    cms.create(&PostParams::default(), &later).await?;
    let resumed = collect_until(&mut stream, |s| {
        s.iter()
            .any(|e| e == "Apply(later)" || e == "InitApply(later)")
    })
    .await;
    assert!(
        resumed.iter().all(|e| !e.starts_with("Delete")),
        "{resumed:?}"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn namespace_deletion_waits_for_finalizers() -> TestResult {
    let sim = KubeSim::start().await?;
    let client = client(&sim).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}}))?;
    let created = namespaces.create(&PostParams::default(), &ns).await?;
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let plain: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "plain"}}))?;
    let held: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "held", "finalizers": ["x/y"]}}))?;
    cms.create(&PostParams::default(), &plain).await?;
    cms.create(&PostParams::default(), &held).await?;

    let protected = api_error(namespaces.delete("default", &DeleteParams::default()).await);
    assert_eq!(
        (protected.code, protected.reason.as_str()),
        (403, "Forbidden")
    );
    assert_eq!(
        protected.message,
        "namespaces \"default\" is forbidden: this namespace may not be deleted"
    );

    namespaces.delete("team", &DeleteParams::default()).await?;
    let terminating = namespaces.get("team").await?;
    assert_eq!(
        terminating.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    assert_eq!(api_error(cms.get("plain").await).code, 404);
    assert!(cms.get("held").await?.metadata.deletion_timestamp.is_some());
    let refused = api_error(cms.create(&PostParams::default(), &plain).await);
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"));

    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    assert_eq!(api_error(namespaces.get("team").await).code, 404);
    Ok(())
}

#[tokio::test]
async fn generate_name_dry_run_and_delete_collection() -> TestResult {
    let sim = KubeSim::start().await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client(&sim).await);
    let generated: ConfigMap = serde_json::from_value(
        json!({"metadata": {"generateName": "gen-", "labels": {"batch": "1"}}}),
    )?;
    let a = cms.create(&PostParams::default(), &generated).await?;
    let b = cms.create(&PostParams::default(), &generated).await?;
    assert!(a.name_any().starts_with("gen-") && a.name_any().len() == 9);
    assert_ne!(a.name_any(), b.name_any());

    // Built-ins answer a Success Status for an immediate delete, custom resources the object.
    let deleted = cms.delete(&b.name_any(), &DeleteParams::default()).await?;
    assert_eq!(
        deleted.right().map(|s| s.status),
        Some(Some(kube::core::response::StatusSummary::Success))
    );
    cms.create(&PostParams::default(), &generated).await?;

    let dry: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "dry"}}))?;
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    cms.create(&pp, &dry).await?;
    assert_eq!(api_error(cms.get("dry").await).code, 404);

    let nameless: ConfigMap = serde_json::from_value(json!({"metadata": {}}))?;
    let invalid = api_error(cms.create(&PostParams::default(), &nameless).await);
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));

    let keep: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "keep"}}))?;
    cms.create(&PostParams::default(), &keep).await?;
    let removed = cms
        .delete_collection(
            &DeleteParams::default(),
            &ListParams::default().labels("batch=1"),
        )
        .await?;
    assert_eq!(removed.left().map(|l| l.items.len()), Some(2));
    let left: Vec<String> = cms
        .list(&ListParams::default())
        .await?
        .iter()
        .map(|c| c.name_any())
        .collect();
    assert_eq!(left, ["keep"]);
    Ok(())
}

#[tokio::test]
async fn watch_selectors_bookmarks_and_timeouts() -> TestResult {
    let sim = KubeSim::start().await?;
    let client = client(&sim).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let start = cms
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().labels("app=web").timeout(2), &start)
        .await?
        .boxed();
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "x", "labels": {"app": "web"}}}))?;
    cms.create(&PostParams::default(), &cm).await?;
    cms.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "db"}}})),
    )
    .await?;
    cms.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})),
    )
    .await?;
    let started = Instant::now();
    let mut kinds = Vec::new();
    while let Some(ev) = stream.try_next().await? {
        kinds.push(match ev {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        });
    }
    // The object leaving the selector is DELETED for this watcher, coming back is ADDED; the
    // stream ends at timeoutSeconds, with bookmarks in between.
    assert_eq!(
        kinds
            .iter()
            .copied()
            .filter(|k| *k != "BOOKMARK")
            .collect::<Vec<_>>(),
        ["ADDED", "DELETED", "ADDED"]
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    // sendInitialEvents needs resourceVersionMatch=NotOlderThan, like kube-apiserver says.
    let raw = hyper::Request::builder()
        .uri("/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&allowWatchBookmarks=true")
        .body(Vec::new())?;
    match client.request_text(raw).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (422, "Invalid")),
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn field_validation_strict_and_warn() -> TestResult {
    let (_sim, client, _widgets) = with_widgets().await;
    let body = json!({
        "apiVersion": "test.kube-sim.dev/v1", "kind": "Widget",
        "metadata": {"name": "fv"}, "spec": {"name": "fv", "bogus": 1},
    });
    let post = |validation: &str| {
        hyper::Request::builder()
            .method("POST")
            .uri(format!(
                "/apis/test.kube-sim.dev/v1/namespaces/default/widgets?fieldValidation={validation}"
            ))
            .header("Content-Type", "application/json")
            .body(body.to_string().into_bytes())
            .unwrap()
    };
    match client.request_text(post("Strict")).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"));
            assert!(
                s.message
                    .ends_with("strict decoding error: unknown field \"spec.bogus\""),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    let response = client
        .send(post("Warn").map(kube::client::Body::from))
        .await?;
    assert_eq!(response.status(), 201);
    let warning = response
        .headers()
        .get("Warning")
        .map(|w| w.to_str().unwrap().to_string());
    assert_eq!(
        warning.as_deref(),
        Some("299 - \"unknown field \\\"spec.bogus\\\"\"")
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client, "default", &widget_resource());
    assert!(
        widgets.get("fv").await?.data["spec"].get("bogus").is_none(),
        "unknown fields are pruned"
    );
    Ok(())
}

#[tokio::test]
async fn metadata_only_lists_and_watches() -> TestResult {
    let (_sim, client, widgets) = with_widgets().await;
    widgets
        .create(&PostParams::default(), &widget("m", json!({"name": "m"})))
        .await?;
    let list = widgets.list_metadata(&ListParams::default()).await?;
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].metadata.name.as_deref(), Some("m"));
    let raw = hyper::Request::builder()
        .uri("/apis/test.kube-sim.dev/v1/namespaces/default/widgets")
        .header(
            "Accept",
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        )
        .body(Vec::new())?;
    let body: Value = serde_json::from_str(&client.request_text(raw).await?)?;
    assert_eq!(body["kind"], "PartialObjectMetadataList");
    assert_eq!(body["items"][0]["kind"], "PartialObjectMetadata");
    assert!(body["items"][0].get("spec").is_none());
    let one = widgets.get_metadata("m").await?;
    assert_eq!(one.metadata.generation, Some(1));
    let metas: Api<kube::core::PartialObjectMeta<DynamicObject>> =
        Api::namespaced_with(client.clone(), "default", &widget_resource());
    let mut stream = watcher(metas, watcher::Config::default()).boxed();
    let seen = collect_until(&mut stream, |s| s.last().is_some_and(|e| e == "InitDone")).await;
    assert_eq!(seen, ["Init", "InitApply(m)", "InitDone"]);
    Ok(())
}

/// No garbage collector: an owner cannot be deleted while its dependents exist.
#[tokio::test]
async fn owners_with_dependents_are_not_deleted() -> TestResult {
    let (_sim, client, widgets) = with_widgets().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let a = widgets
        .create(&PostParams::default(), &widget("a", json!({"name": "a"})))
        .await?;
    let mut owned: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "of-a"}}))?;
    owned.metadata.owner_references =
        Some(vec![a.controller_owner_ref(&widget_resource()).unwrap()]);
    cms.create(&PostParams::default(), &owned).await?;

    let refused = api_error(widgets.delete("a", &DeleteParams::background()).await);
    assert_eq!((refused.code, refused.reason.as_str()), (400, "BadRequest"));
    assert!(
        refused.message.contains("no garbage collector"),
        "{}",
        refused.message
    );
    assert!(widgets.get("a").await.is_ok(), "the owner is still there");

    cms.delete("of-a", &DeleteParams::default()).await?;
    widgets.delete("a", &DeleteParams::foreground()).await?;
    assert_eq!(api_error(widgets.get("a").await).code, 404);
    Ok(())
}

fn config_map(name: &str, data: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"v": data}})).unwrap()
}

fn names(list: &kube::core::ObjectList<ConfigMap>) -> Vec<String> {
    list.items.iter().map(|o| o.name_any()).collect()
}

#[tokio::test]
async fn lists_page_through_one_snapshot_until_it_is_compacted() -> TestResult {
    let sim = KubeSim::start().await?;
    let client = client(&sim).await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    for name in ["a", "b", "c", "d", "e", "f", "g"] {
        cms.create(&PostParams::default(), &config_map(name, "1"))
            .await?;
    }
    let first = cms.list(&ListParams::default().limit(3)).await?;
    assert_eq!(names(&first), ["a", "b", "c"]);
    assert_eq!(first.metadata.remaining_item_count, Some(4));
    let snapshot = first.metadata.resource_version.clone();
    let token = first.metadata.continue_.clone().unwrap();

    // Changes after the first page do not show in the pages that continue it.
    cms.patch(
        "d",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await?;
    cms.delete("e", &DeleteParams::default()).await?;
    cms.create(&PostParams::default(), &config_map("ee", "1"))
        .await?;
    let second = cms
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await?;
    assert_eq!(names(&second), ["d", "e", "f"]);
    assert_eq!(second.items[0].data.as_ref().unwrap()["v"], "1");
    assert_eq!(second.metadata.resource_version, snapshot);
    assert_eq!(second.metadata.remaining_item_count, Some(1));
    let third_token = second.metadata.continue_.clone().unwrap();
    let third = cms
        .list(&ListParams::default().limit(3).continue_token(&third_token))
        .await?;
    assert_eq!(names(&third), ["g"]);
    assert_eq!(third.metadata.continue_, None);
    assert_eq!(third.metadata.remaining_item_count, None);

    // The whole list without a limit is the current state.
    assert_eq!(
        names(&cms.list(&ListParams::default()).await?),
        ["a", "b", "c", "d", "ee", "f", "g"]
    );

    // Selectors: pages hold up to `limit` matches; no remainingItemCount.
    let selected = cms
        .list(&ListParams::default().fields("metadata.name!=b").limit(2))
        .await?;
    assert_eq!(names(&selected), ["a", "c"]);
    assert_eq!(selected.metadata.remaining_item_count, None);
    assert!(selected.metadata.continue_.is_some());

    // Once history no longer reaches the snapshot: 410 Expired, with a token that goes on at the
    // current version (inconsistently).
    sim.compact();
    let expired = api_error(
        cms.list(&ListParams::default().limit(3).continue_token(&token))
            .await,
    );
    assert_eq!((expired.code, expired.reason.as_str()), (410, "Expired"));
    assert!(
        expired.message.starts_with(
            "The provided continue parameter is too old to display a consistent list result."
        ),
        "{}",
        expired.message
    );
    let inconsistent = expired.metadata.and_then(|m| m.continue_).unwrap();
    let rest = cms
        .list(
            &ListParams::default()
                .limit(10)
                .continue_token(&inconsistent),
        )
        .await?;
    assert_eq!(names(&rest), ["d", "ee", "f", "g"]);

    // Bad tokens and a version next to a token are 400, as kube-apiserver says them.
    let bad = api_error(
        cms.list(&ListParams::default().limit(3).continue_token("not-a-token"))
            .await,
    );
    assert_eq!((bad.code, bad.reason.as_str()), (400, "BadRequest"));
    assert!(
        bad.message
            .starts_with("invalid continue token: continue key is not valid"),
        "{}",
        bad.message
    );
    let raw = hyper::Request::builder()
        .uri(format!(
            "/api/v1/namespaces/default/configmaps?limit=3&resourceVersion=5&continue={token}"
        ))
        .body(Vec::new())?;
    match client.request_text(raw).await {
        Err(kube::Error::Api(s)) => assert_eq!(
            (s.code, s.message.as_str()),
            (
                400,
                "specifying resource version is not allowed when using continue"
            )
        ),
        other => panic!("{other:?}"),
    }
    // An exact version older than history: 410 like any compacted revision.
    let old = api_error(
        cms.list(
            &ListParams::default()
                .limit(3)
                .at(snapshot.as_deref().unwrap())
                .matching(kube::api::VersionMatch::Exact),
        )
        .await,
    );
    assert_eq!(
        (old.code, old.message.as_str()),
        (410, "The resourceVersion for the provided list is too old.")
    );
    Ok(())
}

#[tokio::test]
async fn pages_span_namespaces_and_an_exact_version_lists_the_past() -> TestResult {
    let sim = KubeSim::start().await?;
    let client = client(&sim).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "other"}}))?,
        )
        .await?;
    for ns in ["default", "other"] {
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        for name in ["x", "y"] {
            cms.create(&PostParams::default(), &config_map(name, ns))
                .await?;
        }
    }
    let all: Api<ConfigMap> = Api::all(client.clone());
    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(1);
    let at = loop {
        let page = all.list(&params).await?;
        seen.extend(
            page.items
                .iter()
                .map(|o| format!("{}/{}", o.namespace().unwrap(), o.name_any())),
        );
        match page.metadata.continue_ {
            Some(token) => params = params.continue_token(&token),
            None => break page.metadata.resource_version.unwrap(),
        }
    };
    assert_eq!(seen, ["default/x", "default/y", "other/x", "other/y"]);

    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.delete("x", &DeleteParams::default()).await?;
    let past = cms
        .list(
            &ListParams::default()
                .at(&at)
                .matching(kube::api::VersionMatch::Exact),
        )
        .await?;
    assert_eq!(names(&past), ["x", "y"]);
    assert_eq!(past.metadata.resource_version.as_deref(), Some(at.as_str()));
    assert_eq!(names(&cms.list(&ListParams::default()).await?), ["y"]);
    Ok(())
}

#[tokio::test]
async fn watchers_list_in_pages_and_bookmarks_carry_the_current_version() -> TestResult {
    let (sim, client, widgets) = with_widgets().await;
    for i in 0..7 {
        widgets
            .create(
                &PostParams::default(),
                &widget(&format!("w{i}"), json!({"name": "n"})),
            )
            .await?;
    }
    // kube's watcher follows continue tokens: 7 objects in pages of 3 are 3 list requests.
    let store = watcher(widgets.clone(), watcher::Config::default().page_size(3))
        .default_backoff()
        .take_while(|ev| std::future::ready(!matches!(ev, Ok(watcher::Event::InitDone))))
        .try_fold(Vec::new(), |mut names, ev| async move {
            if let watcher::Event::InitApply(o) = ev {
                names.push(o.name_any());
            }
            Ok(names)
        })
        .await?;
    assert_eq!(store.len(), 7);
    let pages: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/widgets") && r.query.contains("limit=3"))
        .map(|r| r.query)
        .collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(pages.iter().filter(|q| q.contains("continue=")).count(), 2);

    // A watch that asked for bookmarks (kube asks by default) gets them with the version of the latest write, whatever
    // kind was written.
    let start = widgets
        .list(&ListParams::default().limit(1))
        .await?
        .metadata
        .resource_version
        .unwrap();
    let mut stream = widgets
        .watch(&WatchParams::default().timeout(10), &start)
        .await?
        .boxed();
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let written = cms
        .create(&PostParams::default(), &config_map("elsewhere", "1"))
        .await?;
    let started = Instant::now();
    match stream.try_next().await? {
        Some(WatchEvent::Bookmark(b)) => {
            assert_eq!(b.metadata.resource_version, rv(&written).to_string());
        }
        other => panic!("a bookmark expected, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    Ok(())
}
