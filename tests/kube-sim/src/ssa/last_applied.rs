//! kube-apiserver's help for `kubectl apply --server-side` on objects managed by client-side
//! apply (`lastAppliedManager`, `lastAppliedUpdater`): for the manager `kubectl` only,
//! conflicts on fields whose live value still equals the `last-applied-configuration`
//! annotation are forced, and the annotation is kept in step with what was applied.

use serde_json::Value;

use super::fieldpath::{Set, go_json};
use super::shape::Shape;
use super::typed;

pub const ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The only manager these rules apply to.
pub const KUBECTL: &str = "kubectl";

fn annotation(obj: &Value) -> Option<&str> {
    obj.get("metadata")?
        .get("annotations")?
        .get(ANNOTATION)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// `allowedConflictsFromLastApplied`: the fields of the annotation whose live value is unchanged.
pub fn allowed_conflicts(live: &Value, api_version: &str, shape: Shape<'_>) -> Option<Set> {
    let last: Value = serde_json::from_str(annotation(live)?).ok()?;
    if !last.is_object() || last.get("apiVersion").and_then(Value::as_str) != Some(api_version) {
        return None;
    }
    let fields = typed::to_set(&last, shape);
    let comparison = typed::compare(&last, live, shape);
    Some(
        fields
            .difference(&comparison.modified)
            .difference(&comparison.added)
            .difference(&comparison.removed),
    )
}

/// `lastAppliedUpdater`: after `kubectl` applied, an object carrying the annotation gets it
/// rewritten to the applied configuration (minus the annotation itself), as Go encodes it.
pub fn refresh_annotation(obj: &mut Value, applied: &Value) {
    if annotation(obj).is_none() {
        return;
    }
    let mut config = applied.clone();
    if let Some(annotations) = config
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        annotations.remove(ANNOTATION);
    }
    let text = go_json(&config);
    if let Some(annotations) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    {
        annotations.insert(ANNOTATION.to_string(), Value::String(text));
    }
}

/// The object as kubectl's client-side apply records it, for tests.
#[cfg(test)]
pub fn with_annotation(mut obj: Value, recorded: &Value) -> Value {
    let text = format!("{}\n", recorded);
    let metadata = obj.as_object_mut().map(|o| {
        o.entry("metadata")
            .or_insert_with(|| Value::Object(serde_json::Map::new()))
    });
    if let Some(Value::Object(meta)) = metadata {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(a) = annotations {
            a.insert(ANNOTATION.to_string(), Value::String(text));
        }
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_unchanged_last_applied_fields_may_be_taken_over() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "a": {"type": "string"}, "b": {"type": "string"}}}}});
        let shape = Shape::Root(Some(&schema));
        let recorded = json!({"apiVersion": "g/v1", "kind": "K", "spec": {"a": "1", "b": "2"}});
        let live = with_annotation(
            json!({"apiVersion": "g/v1", "kind": "K", "spec": {"a": "1", "b": "changed"}}),
            &recorded,
        );
        let allowed = allowed_conflicts(&live, "g/v1", shape).unwrap();
        let paths: Vec<String> = allowed
            .paths()
            .iter()
            .map(|p| super::super::fieldpath::path_text(p))
            .collect();
        assert!(paths.contains(&".spec.a".to_string()), "{paths:?}");
        assert!(!paths.contains(&".spec.b".to_string()), "{paths:?}");
        assert!(allowed_conflicts(&live, "g/v2", shape).is_none());
        assert!(allowed_conflicts(&json!({"spec": {}}), "g/v1", shape).is_none());
    }

    #[test]
    fn the_annotation_follows_what_kubectl_applied() {
        let recorded = json!({"kind": "K"});
        let mut obj = with_annotation(json!({"kind": "K", "spec": {"z": 1, "a": "<"}}), &recorded);
        let applied = json!({"kind": "K", "metadata": {"annotations": {ANNOTATION: "old"}}, "spec": {"z": 1, "a": "<"}});
        refresh_annotation(&mut obj, &applied);
        assert_eq!(
            obj["metadata"]["annotations"][ANNOTATION],
            json!(r#"{"kind":"K","metadata":{"annotations":{}},"spec":{"a":"\u003c","z":1}}"#)
        );
        let mut bare = json!({"kind": "K"});
        refresh_annotation(&mut bare, &applied);
        assert_eq!(bare, json!({"kind": "K"}));
    }
}
