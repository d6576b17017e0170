//! Server-side apply scenarios on the shared Widget CRD, checked against what kube-apiserver
//! stores and answers.

use serde_json::{Value, json};

use super::*;

const T1: &str = "2026-11-29T02:38:31.309519Z";
const T2: &str = "2026-11-29T02:40:00Z";
const GV: &str = "test.kube-sim.dev/v1";

fn schema() -> Value {
    let text = include_str!("../../tests/fixtures/widgets-crd.yaml");
    let crd: Value = serde_saphyr::from_str(text).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn widget(spec: Value) -> Value {
    json!({"apiVersion": GV, "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}, "spec": spec})
}

fn apply_as(
    live: Option<&Value>,
    spec: Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApplyError> {
    let s = schema();
    apply(live, &widget(spec), manager, force, None, Some(&s), T1)
}

/// The managedFields entries as (manager, operation, fieldsV1).
fn owners(obj: &Value) -> Vec<(String, String, Value)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or("").to_string(),
                        e["operation"].as_str().unwrap_or("").to_string(),
                        e["fieldsV1"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn conflicts(result: Result<Value, ApplyError>) -> Vec<Conflict> {
    match result {
        Err(ApplyError::Conflicts(c)) => c,
        other => panic!("expected conflicts, got {other:?}"),
    }
}

#[test]
fn first_apply_creates_ownership() {
    let obj = apply_as(None, json!({"name": "a", "color": "red"}), "mgr", false).unwrap();
    assert_eq!(obj["spec"], json!({"name": "a", "color": "red"}));
    assert_eq!(
        obj["metadata"]["managedFields"],
        json!([{
            "manager": "mgr", "operation": "Apply", "apiVersion": GV, "time": "2026-11-29T02:38:31Z",
            "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:color": {}, "f:name": {}}}
        }])
    );
}

#[test]
fn reapplying_without_a_field_removes_it() {
    let obj = apply_as(
        None,
        json!({"name": "a", "color": "red", "size": 3}),
        "mgr",
        false,
    )
    .unwrap();
    let obj = apply_as(
        Some(&obj),
        json!({"name": "a", "color": "red"}),
        "mgr",
        false,
    )
    .unwrap();
    assert_eq!(obj["spec"], json!({"name": "a", "color": "red"}));
    assert_eq!(
        owners(&obj)[0].2,
        json!({"f:spec": {"f:color": {}, "f:name": {}}})
    );
}

#[test]
fn a_different_value_from_another_manager_conflicts() {
    let obj = apply_as(None, json!({"name": "a", "color": "red"}), "one", false).unwrap();
    let found = conflicts(apply_as(
        Some(&obj),
        json!({"name": "a", "color": "blue"}),
        "two",
        false,
    ));
    assert_eq!(
        found
            .iter()
            .map(|c| (c.manager.as_str(), c.path.as_str()))
            .collect::<Vec<_>>(),
        vec![("one", ".spec.color")]
    );
    assert_eq!(
        conflict_status_message(&found),
        "Apply failed with 1 conflict: conflict with \"one\": .spec.color"
    );
    assert_eq!(
        conflict_causes(&found),
        vec![
            json!({"reason": "FieldManagerConflict", "message": "conflict with \"one\"", "field": ".spec.color"})
        ]
    );
}

#[test]
fn force_moves_ownership() {
    let obj = apply_as(None, json!({"name": "a", "color": "red"}), "one", false).unwrap();
    let obj = apply_as(Some(&obj), json!({"color": "blue"}), "two", true).unwrap();
    assert_eq!(obj["spec"], json!({"name": "a", "color": "blue"}));
    let owners = owners(&obj);
    assert_eq!(owners[0].0, "one");
    assert_eq!(owners[0].2, json!({"f:spec": {"f:name": {}}}));
    assert_eq!(owners[1].0, "two");
    assert_eq!(owners[1].2, json!({"f:spec": {"f:color": {}}}));
}

#[test]
fn the_same_value_is_shared_and_survives_one_owner_leaving() {
    let obj = apply_as(None, json!({"name": "a", "color": "red"}), "one", false).unwrap();
    let obj = apply_as(Some(&obj), json!({"color": "red"}), "two", false).unwrap();
    // The object did not change, so `two`'s entry has no time and sorts first, as in kube.
    let both: Vec<(String, Value)> = owners(&obj).into_iter().map(|o| (o.0, o.2)).collect();
    assert_eq!(
        both[0],
        ("two".to_string(), json!({"f:spec": {"f:color": {}}}))
    );
    assert_eq!(both[1].0, "one");
    assert!(obj["metadata"]["managedFields"][0].get("time").is_none());
    // `one` stops applying color: `two` still owns it, so it stays.
    let obj = apply_as(Some(&obj), json!({"name": "a"}), "one", false).unwrap();
    assert_eq!(obj["spec"], json!({"name": "a", "color": "red"}));
}

#[test]
fn multiple_conflicts_are_grouped_by_manager() {
    let obj = apply_as(
        None,
        json!({"name": "a", "color": "red", "size": 1}),
        "one",
        false,
    )
    .unwrap();
    let obj = apply_as(Some(&obj), json!({"tags": ["x"]}), "alpha", false).unwrap();
    let found = conflicts(apply_as(
        Some(&obj),
        json!({"color": "blue", "size": 2, "tags": ["y"]}),
        "two",
        false,
    ));
    // `tags` is a set: adding an item conflicts with nobody.
    assert_eq!(
        conflict_status_message(&found),
        "Apply failed with 2 conflicts: conflicts with \"one\":\n- .spec.color\n- .spec.size"
    );
}

#[test]
fn client_side_apply_then_server_side_apply() {
    let s = schema();
    // kubectl apply (client-side) creates the object as "kubectl-client-side-apply".
    let recorded = widget(json!({"name": "a", "color": "red"}));
    let mut created =
        last_applied::with_annotation(widget(json!({"name": "a", "color": "red"})), &recorded);
    record_update(
        None,
        &mut created,
        "kubectl-client-side-apply",
        None,
        Some(&schema()),
        T1,
    );
    assert_eq!(
        owners(&created),
        vec![(
            "kubectl-client-side-apply".to_string(),
            "Update".to_string(),
            json!({"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                   "f:spec": {".": {}, "f:color": {}, "f:name": {}}})
        )]
    );

    // Another field manager changing a field kubectl set conflicts, naming the version.
    let found = conflicts(apply(
        Some(&created),
        &widget(json!({"name": "a", "color": "blue"})),
        "other",
        false,
        None,
        Some(&s),
        T2,
    ));
    assert_eq!(
        conflict_status_message(&found),
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using test.kube-sim.dev/v1: .spec.color"
    );

    // `kubectl apply --server-side` (manager "kubectl") may take over what the annotation
    // still describes: no conflict, and the annotation follows the new configuration.
    let applied = widget(json!({"name": "a", "color": "blue"}));
    let obj = apply(
        Some(&created),
        &applied,
        "kubectl",
        false,
        None,
        Some(&s),
        T2,
    )
    .unwrap();
    assert_eq!(obj["spec"]["color"], "blue");
    let annotation = obj["metadata"]["annotations"][last_applied::ANNOTATION]
        .as_str()
        .unwrap();
    assert_eq!(
        annotation,
        r#"{"apiVersion":"test.kube-sim.dev/v1","kind":"Widget","metadata":{"name":"w","namespace":"default"},"spec":{"color":"blue","name":"a"}}"#
    );
    let managers: Vec<(String, String)> = owners(&obj).into_iter().map(|o| (o.0, o.1)).collect();
    assert_eq!(
        managers,
        vec![
            ("kubectl".to_string(), "Apply".to_string()),
            (
                "kubectl-client-side-apply".to_string(),
                "Update".to_string()
            )
        ]
    );

    // Once someone else changed the field, the annotation no longer vouches for it.
    let mut edited = created.clone();
    edited["spec"]["color"] = json!("green");
    record_update(
        Some(&created),
        &mut edited,
        "kubectl-edit",
        None,
        Some(&schema()),
        T2,
    );
    let found = conflicts(apply(
        Some(&edited),
        &applied,
        "kubectl",
        false,
        None,
        Some(&s),
        T2,
    ));
    assert_eq!(
        found[0].described,
        "\"kubectl-edit\" using test.kube-sim.dev/v1"
    );
}

#[test]
fn an_update_takes_the_fields_it_changes() {
    let obj = apply_as(None, json!({"name": "a", "color": "red"}), "mgr", false).unwrap();
    let mut updated = obj.clone();
    updated["spec"]["color"] = json!("green");
    updated["spec"]["size"] = json!(4);
    record_update(
        Some(&obj),
        &mut updated,
        "editor",
        None,
        Some(&schema()),
        T2,
    );
    let owners = owners(&updated);
    assert_eq!(
        owners[0],
        (
            "mgr".into(),
            "Apply".into(),
            json!({"f:spec": {"f:name": {}}})
        )
    );
    assert_eq!(
        owners[1],
        (
            "editor".into(),
            "Update".into(),
            json!({"f:spec": {"f:color": {}, "f:size": {}}})
        )
    );
    // Applying the old colour again now conflicts with the editor.
    let found = conflicts(apply_as(
        Some(&updated),
        json!({"name": "a", "color": "red"}),
        "mgr",
        false,
    ));
    assert_eq!(found[0].path, ".spec.color");
    // A write that changes nothing tracked leaves managedFields alone.
    let mut same = updated.clone();
    same["metadata"]["resourceVersion"] = json!("99");
    record_update(
        Some(&updated),
        &mut same,
        "someone",
        None,
        Some(&schema()),
        T2,
    );
    assert_eq!(
        same["metadata"]["managedFields"],
        updated["metadata"]["managedFields"]
    );
}

#[test]
fn status_is_owned_through_the_status_subresource_only() {
    let s = schema();
    let obj = apply_as(None, json!({"name": "a"}), "user", false).unwrap();
    let status = json!({"apiVersion": GV, "kind": "Widget", "status": {"observedGeneration": 1,
        "conditions": [{"type": "Ready", "status": "True"}]}});
    let obj = apply(
        Some(&obj),
        &status,
        "operator",
        true,
        Some("status"),
        Some(&s),
        T2,
    )
    .unwrap();
    let op = owners(&obj)
        .into_iter()
        .find(|o| o.0 == "operator")
        .unwrap();
    assert_eq!(
        op.2,
        json!({"f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}}, "f:observedGeneration": {}}})
    );
    assert_eq!(obj["metadata"]["managedFields"][1]["subresource"], "status");
    // The main resource cannot own status: applying one there claims only the spec.
    let with_status = json!({"apiVersion": GV, "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"name": "a"}, "status": {"observedGeneration": 9}});
    let obj = apply(Some(&obj), &with_status, "user", false, None, Some(&s), T2).unwrap();
    let user = owners(&obj).into_iter().find(|o| o.0 == "user").unwrap();
    assert_eq!(user.2, json!({"f:spec": {"f:name": {}}}));
}

#[test]
fn keyed_lists_merge_per_item_and_atomic_ones_are_replaced() {
    let obj = apply_as(
        None,
        json!({"name": "a", "parts": [{"name": "p", "count": 1}], "tags": ["x"]}),
        "one",
        false,
    )
    .unwrap();
    let obj = apply_as(
        Some(&obj),
        json!({"parts": [{"name": "q", "count": 2}], "tags": ["y"]}),
        "two",
        false,
    )
    .unwrap();
    assert_eq!(
        obj["spec"]["parts"],
        json!([{"name": "p", "count": 1}, {"name": "q", "count": 2}])
    );
    assert_eq!(obj["spec"]["tags"], json!(["x", "y"]));
    let two = owners(&obj).into_iter().find(|o| o.0 == "two").unwrap();
    assert_eq!(
        two.2,
        json!({"f:spec": {"f:parts": {"k:{\"name\":\"q\"}": {".": {}, "f:count": {}, "f:name": {}}}, "f:tags": {"v:\"y\"": {}}}})
    );
    // `one` drops its part: only that item goes.
    let obj = apply_as(
        Some(&obj),
        json!({"name": "a", "tags": ["x"]}),
        "one",
        false,
    )
    .unwrap();
    assert_eq!(obj["spec"]["parts"], json!([{"name": "q", "count": 2}]));
}

#[test]
fn builtins_merge_containers_by_name() {
    let deployment = |containers: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default", "labels": {"app": "d"}},
               "spec": {"template": {"spec": {"containers": containers}}}})
    };
    let obj = apply(
        None,
        &deployment(json!([{"name": "app", "image": "a:1"}])),
        "helm",
        false,
        None,
        None,
        T1,
    )
    .unwrap();
    let obj = apply(
        Some(&obj),
        &deployment(json!([{"name": "sidecar", "image": "s:1"}])),
        "mesh",
        false,
        None,
        None,
        T1,
    )
    .unwrap();
    assert_eq!(
        obj["spec"]["template"]["spec"]["containers"],
        json!([{"name": "app", "image": "a:1"}, {"name": "sidecar", "image": "s:1"}])
    );
    let helm = owners(&obj).into_iter().find(|o| o.0 == "helm").unwrap();
    assert_eq!(
        helm.2,
        json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
    );
    let found = conflicts(apply(
        Some(&obj),
        &deployment(json!([{"name": "app", "image": "a:2"}])),
        "mesh",
        false,
        None,
        None,
        T1,
    ));
    assert_eq!(
        found[0].path,
        ".spec.template.spec.containers[name=\"app\"].image"
    );
}

#[test]
fn bad_apply_requests_are_refused_like_the_apiserver() {
    let mut bad = widget(json!({"name": "a"}));
    bad["metadata"]["managedFields"] = json!([]);
    let s = schema();
    assert_eq!(
        apply(None, &bad, "m", false, None, Some(&s), T1),
        Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".into()
        ))
    );
    let missing_key = apply_as(
        None,
        json!({"name": "a", "parts": [{"count": 1}]}),
        "m",
        false,
    );
    assert_eq!(
        missing_key,
        Err(ApplyError::Internal(
            "failed to create typed patch object (test.kube-sim.dev/v1, Kind=Widget; default/w): .spec.parts: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)".into()
        ))
    );
}

#[test]
fn objects_never_applied_get_a_before_first_apply_owner() {
    let live = widget(json!({"name": "a", "color": "red"}));
    let obj = apply_as(Some(&live), json!({"name": "a", "size": 2}), "mgr", false).unwrap();
    let owners = owners(&obj);
    assert_eq!(owners[1].0, "before-first-apply");
    // `name` was applied with its existing value: shared.
    assert_eq!(
        owners[1].2,
        json!({"f:spec": {".": {}, "f:color": {}, "f:name": {}}})
    );
    assert_eq!(obj["spec"], json!({"name": "a", "color": "red", "size": 2}));
}

#[test]
fn a_noop_apply_keeps_the_timestamp_and_reset_clears_managed_fields() {
    let s = schema();
    let obj = apply_as(None, json!({"name": "a"}), "mgr", false).unwrap();
    let again = apply(
        Some(&obj),
        &widget(json!({"name": "a"})),
        "mgr",
        false,
        None,
        Some(&s),
        T2,
    )
    .unwrap();
    assert_eq!(again, obj);
    let mut reset = obj.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    record_update(Some(&obj), &mut reset, "cleaner", None, Some(&schema()), T2);
    assert!(reset["metadata"].get("managedFields").is_none());
    // A client replacing managedFields (kubectl's client-side → server-side migration) is heard.
    let mut migrated = obj.clone();
    migrated["metadata"]["managedFields"][0]["manager"] = json!("kubectl");
    record_update(
        Some(&obj),
        &mut migrated,
        "kubectl",
        None,
        Some(&schema()),
        T2,
    );
    assert_eq!(owners(&migrated)[0].0, "kubectl");
}

#[test]
fn status_updates_own_condition_items_by_type() {
    let s = schema();
    let obj = apply_as(None, json!({"name": "a"}), "user", false).unwrap();
    // kubectl patch --subresource=status --type=merge
    let mut patched = obj.clone();
    patched["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    record_update(
        Some(&obj),
        &mut patched,
        "kubectl-patch",
        Some("status"),
        Some(&s),
        T2,
    );
    let patcher = owners(&patched)
        .into_iter()
        .find(|o| o.0 == "kubectl-patch")
        .unwrap();
    assert_eq!(
        patcher.2,
        json!({"f:status": {".": {}, "f:conditions": {".": {}, "k:{\"type\":\"Ready\"}": {".": {}, "f:status": {}, "f:type": {}}}}})
    );
    assert_eq!(
        patched["metadata"]["managedFields"][1]["subresource"],
        "status"
    );
    // The operator's status apply changing that condition conflicts unless forced.
    let status = json!({"apiVersion": GV, "kind": "Widget",
        "status": {"conditions": [{"type": "Ready", "status": "False"}]}});
    let found = conflicts(apply(
        Some(&patched),
        &status,
        "operator",
        false,
        Some("status"),
        Some(&s),
        T2,
    ));
    assert_eq!(
        conflict_status_message(&found),
        "Apply failed with 1 conflict: conflict with \"kubectl-patch\" with subresource \"status\" using test.kube-sim.dev/v1: .status.conditions[type=\"Ready\"].status"
    );
    let forced = apply(
        Some(&patched),
        &status,
        "operator",
        true,
        Some("status"),
        Some(&s),
        T2,
    )
    .unwrap();
    assert_eq!(forced["status"]["conditions"][0]["status"], "False");
}
