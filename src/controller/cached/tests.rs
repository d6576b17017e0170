use futures::StreamExt;
use serde_json::{Value, json};

use super::*;

fn object(generation: i64, status: Value) -> Value {
    json!({
        "apiVersion": "iam.rolesmith.dev/v1alpha1",
        "kind": "IamRole",
        "metadata": {
            "name": "app", "namespace": "team-a", "uid": "u-1", "resourceVersion": "7",
            "generation": generation, "creationTimestamp": "2026-12-04T20:01:02Z",
            "finalizers": [super::super::FINALIZER],
            "labels": {"team": "a"},
            "annotations": {LAST_APPLIED: "{\"a\":1}", "note": "kept"},
            "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
        },
        "spec": {
            "assumeRolePolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "inlinePolicies": {"b": "{\"Version\":\"2012-10-17\"}", "a": {"Statement": [], "Version": "2012-10-17"}},
            "accountRef": "prod",
            "managedPolicyRefs": [{"name": "shared"}],
            "tags": {"team": "a"},
        },
        "status": status,
    })
}

fn settled(generation: i64) -> Value {
    json!({
        "observedGeneration": generation,
        "conditions": [{"type": "Ready", "status": "True", "reason": "InSync", "message": "IAM matches the spec",
                        "lastTransitionTime": "2026-12-04T20:01:03Z", "observedGeneration": generation}],
    })
}

fn cached(value: Value) -> CachedRole {
    CachedRole::from_value(value).expect("a cached IamRole")
}

/// Decoding gives what reading the object straight from the API gave, less what nothing reads.
#[test]
fn decodes_to_the_object_the_watch_read() {
    let value = object(3, settled(3));
    let direct: Guarded = serde_json::from_value(value.clone()).expect("an IamRole");
    let mut expected = direct.0.expect("valid");
    expected.metadata.managed_fields = None;
    expected
        .metadata
        .annotations
        .as_mut()
        .expect("annotations")
        .remove(LAST_APPLIED);

    let cached = cached(value);
    let decoded = cached.decode().0.expect("valid");
    assert_eq!(
        serde_json::to_value(&decoded).expect("json"),
        serde_json::to_value(&expected).expect("json")
    );
    // Key order of the documents is kept: the text IAM gets is the one written.
    assert_eq!(
        serde_json::to_string(&decoded.spec.inline_policies["a"]).expect("json"),
        r#"{"Statement":[],"Version":"2012-10-17"}"#
    );
    let text = String::from_utf8(cached.text().expect("inflates")).expect("utf-8");
    assert!(!text.contains("managedFields"), "{text}");
    assert!(!text.contains("last-applied"), "{text}");
    assert!(cached.body.len() < text.len(), "deflated");
}

#[test]
fn keeps_outside_the_text_only_what_the_watch_and_queue_read() {
    let cached = cached(object(3, settled(3)));
    let meta = cached.meta();
    assert_eq!(meta.name.as_deref(), Some("app"));
    assert_eq!(meta.namespace.as_deref(), Some("team-a"));
    assert_eq!(meta.uid.as_deref(), Some("u-1"));
    assert_eq!(meta.resource_version.as_deref(), Some("7"));
    assert_eq!(meta.generation, Some(3));
    assert_eq!(
        meta.finalizers.as_deref(),
        Some(&[super::super::FINALIZER.to_string()][..])
    );
    assert_eq!(
        (&meta.labels, &meta.annotations, &meta.creation_timestamp),
        (&None, &None, &None)
    );
    // ... and the object keeps them.
    let decoded = cached.decode().0.expect("valid");
    assert_eq!(decoded.metadata.labels.expect("labels")["team"], "a");
    assert_eq!(
        decoded.metadata.annotations.expect("annotations")["note"],
        "kept"
    );
}

#[test]
fn facts_are_read_from_the_object() {
    let mut bare = object(1, Value::Null);
    let spec = bare["spec"].as_object_mut().expect("spec");
    spec.remove("accountRef");
    spec.remove("managedPolicyRefs");
    spec.insert("serviceAccounts".into(), json!([{"name": "web"}]));
    let mut invalid = object(1, Value::Null);
    invalid["spec"]["maxSessionDuration"] = json!("an hour");
    let mut deleting = object(2, settled(2));
    deleting["metadata"]["deletionTimestamp"] = json!("2026-12-04T20:05:00Z");
    let mut unfinalized = object(2, settled(2));
    unfinalized["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("finalizers");
    let refused = object(
        2,
        json!({"observedGeneration": 2, "conditions": [
            {"type": "Ready", "status": "False", "reason": "GuardrailViolation", "message": "RoleGuardrail no-admin refuses it",
             "lastTransitionTime": "2026-12-04T20:01:03Z", "observedGeneration": 2},
            {"type": "Stalled", "status": "True", "reason": "GuardrailViolation", "message": "RoleGuardrail no-admin refuses it",
             "lastTransitionTime": "2026-12-04T20:01:03Z", "observedGeneration": 2}]}),
    );
    let (in_sync, new_generation, no_status) = (
        object(2, settled(2)),
        object(3, settled(2)),
        object(2, Value::Null),
    );
    let cases = [
        // object, readable, accountRef, refers to policies, names ServiceAccounts, needs
        // reconcile, refused by a guardrail
        (in_sync, true, Some("prod"), true, false, false, false),
        (new_generation, true, Some("prod"), true, false, true, false),
        (no_status, true, Some("prod"), true, false, true, false),
        (bare, true, None, false, true, true, false),
        (deleting, true, Some("prod"), true, false, true, false),
        (unfinalized, true, Some("prod"), true, false, true, false),
        (invalid, false, None, false, false, true, false),
        (refused, true, Some("prod"), true, false, true, true),
    ];
    for (value, readable, account_ref, refs, service_accounts, needs_reconcile, refused) in cases {
        let facts = cached(value.clone()).facts().clone();
        let expected = Facts {
            readable,
            account_ref: account_ref.map(Box::from),
            refers_to_policies: refs,
            names_service_accounts: service_accounts,
            needs_reconcile,
            refused_by_a_guardrail: refused,
        };
        assert_eq!(facts, expected, "{value}");
    }
}

/// An object that does not match the types is kept, and decodes to the same report the watch
/// gave before: one bad object never fails the list.
#[test]
fn an_unreadable_object_is_kept_with_its_error() {
    let mut value = object(1, Value::Null);
    value["spec"]["maxSessionDuration"] = json!("an hour");
    let direct: Guarded = serde_json::from_value(value.clone()).expect("a guarded object");
    let cached = cached(value);
    let (Err(direct), Err(decoded)) = (direct.0, cached.decode().0) else {
        panic!("both unreadable");
    };
    assert_eq!(decoded.error, direct.error);
    assert_eq!(decoded.metadata.name.as_deref(), Some("app"));
    assert!(cached.role().is_none());
}

#[test]
fn an_object_without_metadata_is_an_error() {
    let error =
        CachedRole::from_value(json!({"kind": "IamRole", "spec": {}})).expect_err("no metadata");
    assert!(error.to_string().contains("metadata"), "{error}");
}

#[test]
fn reconciles_follow_generation_finalizers_and_deletion() {
    let base = object(2, settled(1));
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut value = base.clone();
        edit(&mut value);
        cached(value)
    };
    let cases: [(&str, Option<CachedRole>, CachedRole, bool); 6] = [
        ("first seen", None, with(&|_| {}), true),
        (
            "status only",
            Some(with(&|_| {})),
            with(&|v| v["status"] = settled(2)),
            false,
        ),
        (
            "new generation",
            Some(with(&|_| {})),
            with(&|v| v["metadata"]["generation"] = json!(3)),
            true,
        ),
        (
            "finalizer removed",
            Some(with(&|_| {})),
            with(&|v| v["metadata"]["finalizers"] = json!([])),
            true,
        ),
        (
            "deletion begun",
            Some(with(&|_| {})),
            with(&|v| v["metadata"]["deletionTimestamp"] = json!("2026-12-04T20:05:00Z")),
            true,
        ),
        (
            "labels",
            Some(with(&|_| {})),
            with(&|v| v["metadata"]["labels"] = json!({"team": "b"})),
            false,
        ),
    ];
    for (case, previous, now, expected) in cases {
        assert_eq!(changed(previous.as_ref(), &now), expected, "{case}");
    }
}

/// The watch's events through the cache: what gets a reconcile, and what the cache holds.
#[tokio::test]
async fn picks_what_needs_a_reconcile_and_caches_everything() {
    let named = |name: &str, generation: i64, status: Value| {
        let mut value = object(generation, status);
        value["metadata"]["name"] = json!(name);
        cached(value)
    };
    use watcher::Event::*;
    let events = vec![
        // The first list: a settled object is left to the sweep, an unsettled one is due.
        Init,
        InitApply(named("settled", 1, settled(1))),
        InitApply(named("new", 1, Value::Null)),
        InitDone,
        // Our own status write on the new one: no reconcile.
        Apply(named("new", 1, json!({"observedGeneration": 1}))),
        // A spec change: due.
        Apply(named("settled", 2, settled(1))),
        // Gone, then made again under the same name: due.
        Delete(named("new", 1, Value::Null)),
        Apply(named("new", 1, Value::Null)),
        // A relist after a reconnect: only what changed meanwhile.
        Init,
        InitApply(named("settled", 2, settled(1))),
        InitApply(named("new", 2, Value::Null)),
        InitDone,
    ];
    let (reader, writer) = kube::runtime::reflector::store();
    let picked: Vec<String> =
        reflect_and_pick(futures::stream::iter(events.into_iter().map(Ok)), writer)
            .map(|object| {
                object
                    .expect("no error")
                    .meta
                    .name
                    .clone()
                    .unwrap_or_default()
            })
            .collect()
            .await;
    assert_eq!(picked, ["new", "settled", "new", "new"]);
    let mut cached: Vec<(String, Option<i64>)> = reader
        .state()
        .iter()
        .map(|o| (o.meta.name.clone().unwrap_or_default(), o.meta.generation))
        .collect();
    cached.sort();
    assert_eq!(
        cached,
        [
            ("new".to_string(), Some(2)),
            ("settled".to_string(), Some(2))
        ]
    );
}
