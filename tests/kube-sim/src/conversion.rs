//! Resources served under two API groups from one storage. kube-apiserver keeps `events.k8s.io/v1`
//! Events and core `v1` Events as the same objects: the kube Recorder writes the former,
//! `kubectl get events` and `kubectl describe` read the latter. Objects are stored in core form.

use serde_json::{Map, Value, json};

use crate::resource::ResourceType;

/// events.k8s.io/v1 field → core/v1 field; every other field has the same name in both.
const EVENT_FIELDS: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn is_events_api(rt: &ResourceType) -> bool {
    rt.group == "events.k8s.io" && rt.plural == "events"
}

/// The (group, plural) whose storage holds this resource's objects.
pub fn storage_key(rt: &ResourceType) -> (&str, &str) {
    if is_events_api(rt) {
        ("", "events")
    } else {
        (rt.group.as_str(), rt.plural.as_str())
    }
}

/// The type that governs writes to the storage (core Event for events.k8s.io), from `types`.
pub fn storage_type(types: &[ResourceType], rt: &ResourceType) -> ResourceType {
    let (group, plural) = storage_key(rt);
    if group == rt.group {
        return rt.clone();
    }
    types
        .iter()
        .find(|t| t.group == group && t.plural == plural)
        .cloned()
        .unwrap_or_else(|| rt.clone())
}

/// A stored object as clients of `rt` see it (its apiVersion, its field names).
pub fn to_view(rt: &ResourceType, mut obj: Value) -> Value {
    if is_events_api(rt) {
        obj = rename(obj, |core| {
            EVENT_FIELDS
                .iter()
                .find(|(_, c)| *c == core)
                .map(|(e, _)| *e)
        });
    }
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), json!(rt.api_version()));
    }
    obj
}

/// An object written through `rt` in the form it is stored in.
pub fn to_storage(rt: &ResourceType, obj: Value) -> Value {
    if !is_events_api(rt) {
        return obj;
    }
    let mut obj = rename(obj, |ev| {
        EVENT_FIELDS.iter().find(|(e, _)| *e == ev).map(|(_, c)| *c)
    });
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".into(), json!("v1"));
    }
    obj
}

fn rename(obj: Value, new_name: impl Fn(&str) -> Option<&'static str>) -> Value {
    match obj {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| match new_name(&k) {
                    Some(n) => (n.to_string(), v),
                    None => (k, v),
                })
                .collect::<Map<String, Value>>(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::builtin_types;

    #[test]
    fn events_round_trip_between_the_two_apis() {
        let types = builtin_types();
        let events_api = types.iter().find(|t| t.group == "events.k8s.io").unwrap();
        let written = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "Widget", "name": "w"}, "note": "ok", "reportingController": "op",
            "reason": "Done", "series": {"count": 2, "lastObservedTime": "2026-01-01T00:00:00.000000Z"},
        });
        let stored = to_storage(events_api, written.clone());
        assert_eq!(stored["apiVersion"], "v1");
        assert_eq!(stored["involvedObject"]["name"], "w");
        assert_eq!(stored["message"], "ok");
        assert_eq!(stored["reportingComponent"], "op");
        assert_eq!(stored["series"]["count"], 2);
        assert_eq!(to_view(events_api, stored.clone()), written);
        let core = types
            .iter()
            .find(|t| t.group.is_empty() && t.plural == "events")
            .unwrap();
        assert_eq!(to_view(core, stored.clone()), stored);
        assert_eq!(storage_type(&types, events_api), *core);
        assert_eq!(storage_key(events_api), ("", "events"));
    }
}
