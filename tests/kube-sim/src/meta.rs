//! Pure helpers over object metadata: the rules kube-apiserver applies to ObjectMeta on every write.

use serde_json::{Map, Value};

/// Every field of ObjectMeta; anything else under `metadata` is dropped like the real decoder does.
pub const OBJECT_META_FIELDS: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

pub fn now_rfc3339() -> String {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `None` only when `obj` is not a JSON object (bodies are checked to be objects when decoded).
pub fn metadata_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = obj.as_object_mut()?;
    let entry = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut()
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    metadata(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

pub fn resource_version(obj: &Value) -> Option<&str> {
    meta_str(obj, "resourceVersion")
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    metadata(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    meta_str(obj, "deletionTimestamp").is_some()
}

pub fn generation(obj: &Value) -> i64 {
    metadata(obj)
        .and_then(|m| m.get("generation"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    if let Some(meta) = metadata_mut(obj) {
        meta.insert(field.to_string(), value);
    }
}

pub fn remove_meta(obj: &mut Value, field: &str) {
    if let Some(meta) = metadata_mut(obj) {
        meta.remove(field);
    }
}

/// Drops unknown and empty ObjectMeta fields: the real server round-trips metadata through the typed
/// ObjectMeta (omitempty), so `finalizers: []` or `labels: {}` never come back.
pub fn normalize_metadata(obj: &mut Value) {
    let Some(meta) = metadata_mut(obj) else {
        return;
    };
    meta.retain(|k, v| {
        OBJECT_META_FIELDS.contains(&k.as_str())
            && match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                Value::Number(n) => !(k == "generation" && n.as_i64() == Some(0)),
                Value::Bool(_) => true,
            }
    });
}

/// Checks ObjectMeta's typed fields the way the decoder would (labels and annotations are string maps).
pub fn check_metadata_types(obj: &Value) -> Result<(), String> {
    let Some(meta) = obj.get("metadata") else {
        return Ok(());
    };
    let Some(meta) = meta.as_object() else {
        return Err("metadata must be an object".into());
    };
    for field in ["labels", "annotations"] {
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                if let Some((k, v)) = m.iter().find(|(_, v)| !v.is_string()) {
                    return Err(format!(
                        "json: cannot unmarshal {} into Go struct field ObjectMeta.metadata.{field} of type string (key {k:?})",
                        json_type(v)
                    ));
                }
            }
            Some(v) => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field ObjectMeta.metadata.{field} of type map[string]string",
                    json_type(v)
                ));
            }
        }
    }
    if let Some(f) = meta.get("finalizers")
        && !f.is_null()
        && !f.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    {
        return Err(
            "json: cannot unmarshal metadata.finalizers: expected a list of strings".into(),
        );
    }
    Ok(())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// True when something outside metadata and status differs: the rule for bumping `generation`.
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    strip_top(old, &["metadata", "status"]) != strip_top(new, &["metadata", "status"])
}

/// True when a write changes nothing and must not bump anything. Ownership counts: a write that
/// only changes who owns a field (an apply, or kubectl's managedFields migration) is stored.
/// Only resourceVersion and the per-entry `time` are ignored, as kube-apiserver does for
/// otherwise unchanged objects.
pub fn same_content_and_owners(old: &Value, new: &Value) -> bool {
    let strip = |obj: &Value| {
        let mut copy = obj.clone();
        if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
            if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
                for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
                    entry.remove("time");
                }
            }
        }
        copy
    };
    strip(old) == strip(new)
}

fn strip_top(obj: &Value, fields: &[&str]) -> Value {
    let mut copy = obj.clone();
    if let Some(map) = copy.as_object_mut() {
        for f in fields {
            map.remove(*f);
        }
    }
    copy
}

/// `generateName` suffix: 5 characters from kube's alphabet (no vowels, no confusable digits).
pub fn generated_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let random = uuid::Uuid::new_v4();
    let suffix: String = random.as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generation_rule_table() {
        let base = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": 1}, "status": {"ok": false}});
        let cases = [
            (
                json!({"metadata": {"name": "a", "labels": {"x": "2"}}, "spec": {"n": 1}, "status": {"ok": false}}),
                false,
            ),
            (
                json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": 1}, "status": {"ok": true}}),
                false,
            ),
            (
                json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": 2}, "status": {"ok": false}}),
                true,
            ),
            (
                json!({"metadata": {"name": "a"}, "spec": {"n": 1}, "data": {"k": "v"}}),
                true,
            ),
        ];
        for (new, want) in cases {
            assert_eq!(spec_changed(&base, &new), want, "{new}");
        }
    }

    #[test]
    fn no_op_ignores_resource_version_and_times_only() {
        let old = json!({"metadata": {"name": "a", "resourceVersion": "5", "managedFields": [{"manager": "a"}]}, "spec": {}});
        let moved = json!({"metadata": {"name": "a", "resourceVersion": "6", "managedFields": [{"manager": "b"}]}, "spec": {}});
        let label = json!({"metadata": {"name": "a", "resourceVersion": "5", "labels": {"x": "y"}}, "spec": {}});
        let later = json!({"metadata": {"name": "a", "resourceVersion": "6", "managedFields": [{"manager": "a", "time": "2030-01-01T00:00:00Z"}]}, "spec": {}});
        assert!(same_content_and_owners(&old, &later));
        assert!(!same_content_and_owners(&old, &moved), "ownership moved");
        assert!(!same_content_and_owners(&old, &label));
    }

    #[test]
    fn normalize_drops_empty_and_unknown_metadata() {
        let mut obj = json!({"metadata": {"name": "a", "finalizers": [], "labels": {}, "bogus": 1, "annotations": {"k": "v"}, "generation": 0}});
        normalize_metadata(&mut obj);
        assert_eq!(
            obj,
            json!({"metadata": {"name": "a", "annotations": {"k": "v"}}})
        );
    }

    #[test]
    fn metadata_type_checks() {
        assert!(check_metadata_types(&json!({"metadata": {"labels": {"a": "b"}}})).is_ok());
        assert!(check_metadata_types(&json!({"metadata": {"labels": {"a": 1}}})).is_err());
        assert!(check_metadata_types(&json!({"metadata": {"annotations": []}})).is_err());
        assert!(check_metadata_types(&json!({"metadata": {"finalizers": [1]}})).is_err());
    }

    #[test]
    fn generated_names_have_a_five_char_suffix() {
        let n = generated_name("demo-");
        assert_eq!(n.len(), 10);
        assert!(n.starts_with("demo-"));
    }
}
