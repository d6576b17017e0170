//! Dropping fields the structural schema does not declare (apiextensions' `pruning.Prune`).

use serde_json::{Map, Value};

use super::path;

/// Top-level fields every object keeps whatever its schema says.
const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Prunes `obj` as a resource root (which is treated as an embedded resource) and returns
/// the dotted paths of what went, sorted.
pub fn prune_root(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    prune(obj, Some(schema), "", true, &mut pruned);
    pruned.sort();
    pruned
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn is_embedded(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn property<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    schema.get("properties").and_then(|p| p.get(name))
}

/// `additionalProperties` as a schema; `true` behaves like an empty schema.
fn additional(schema: &Value) -> Option<&Value> {
    static EMPTY: Value = Value::Null;
    match schema.get("additionalProperties") {
        Some(Value::Bool(true)) => Some(&EMPTY),
        Some(v @ Value::Object(_)) => Some(v),
        _ => None,
    }
}

/// Kubernetes keeps `apiVersion`/`kind` strings and an object `metadata` of embedded
/// resources (the resource root is one) whatever the schema says.
fn kept_meta_field(embedded: bool, key: &str, value: &Value) -> bool {
    embedded
        && match key {
            "apiVersion" | "kind" => value.is_string(),
            "metadata" => value.is_object(),
            _ => false,
        }
}

fn prune(
    value: &mut Value,
    schema: Option<&Value>,
    at: &str,
    root: bool,
    pruned: &mut Vec<String>,
) {
    let schema = schema.filter(|s| !s.is_null());
    if let Some(s) = schema
        && preserves_unknown(s)
    {
        skip_prune(value, s, at, root, pruned);
        return;
    }
    match value {
        Value::Object(map) => {
            let Some(s) = schema else {
                for key in map.keys() {
                    pruned.push(path::child(at, key));
                }
                map.clear();
                return;
            };
            let embedded = root || is_embedded(s);
            prune_object(map, s, at, embedded, root, pruned);
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.get("items"));
            for (i, item) in items.iter_mut().enumerate() {
                prune(item, item_schema, &path::index(at, i), false, pruned);
            }
        }
        _ => {}
    }
}

fn prune_object(
    map: &mut Map<String, Value>,
    schema: &Value,
    at: &str,
    embedded: bool,
    root: bool,
    pruned: &mut Vec<String>,
) {
    let mut drop = Vec::new();
    for (key, child) in map.iter_mut() {
        if kept_meta_field(embedded, key, child) {
            continue;
        }
        if let Some(prop) = property(schema, key) {
            prune(child, Some(prop), &path::child(at, key), false, pruned);
        } else if let Some(extra) = additional(schema) {
            prune(child, Some(extra), &path::child(at, key), false, pruned);
        } else if !(root && META_FIELDS.contains(&key.as_str())) {
            drop.push(key.clone());
        }
    }
    for key in drop {
        map.remove(&key);
        pruned.push(path::child(at, &key));
    }
}

/// Under `x-kubernetes-preserve-unknown-fields` unknown fields stay, but declared ones are
/// still pruned by their own schema.
fn skip_prune(value: &mut Value, schema: &Value, at: &str, root: bool, pruned: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let embedded = root || is_embedded(schema);
            for (key, child) in map.iter_mut() {
                if embedded && META_FIELDS.contains(&key.as_str()) {
                    continue;
                }
                if let Some(prop) = property(schema, key) {
                    prune(child, Some(prop), &path::child(at, key), false, pruned);
                } else if let Some(extra) = additional(schema) {
                    prune(child, Some(extra), &path::child(at, key), false, pruned);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    skip_prune(item, item_schema, &path::index(at, i), false, pruned);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "items": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                              "properties": {"typed": {"type": "object", "properties": {"k": {"type": "string"}}}}},
                    "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                 "properties": {"spec": {"type": "object"}}},
                    "untyped": {"x-kubernetes-preserve-unknown-fields": true}
                }},
                "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}}
            }
        })
    }

    #[test]
    fn prunes_unknown_fields_and_reports_their_paths() {
        let cases = [
            (
                json!({"spec": {"name": "x", "foo": 1}}),
                json!({"spec": {"name": "x"}}),
                vec!["spec.foo"],
            ),
            (
                json!({"spec": {"items": [{"a": "1", "b": 2}, {"c": 3}]}}),
                json!({"spec": {"items": [{"a": "1"}, {}]}}),
                vec!["spec.items[0].b", "spec.items[1].c"],
            ),
            (
                json!({"spec": {"labels": {"any": "x"}}}),
                json!({"spec": {"labels": {"any": "x"}}}),
                vec![],
            ),
            (
                json!({"spec": {"extra": {"free": {"deep": 1}, "typed": {"k": "v", "bad": 1}}}}),
                json!({"spec": {"extra": {"free": {"deep": 1}, "typed": {"k": "v"}}}}),
                vec!["spec.extra.typed.bad"],
            ),
            (
                json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "n", "whatever": 1}, "bogus": 1}),
                json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "n", "whatever": 1}}),
                vec!["bogus"],
            ),
            (
                json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"x": 1}, "spec": {}, "y": 2}}}),
                json!({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"x": 1}, "spec": {}}}}),
                vec!["spec.template.y"],
            ),
            (
                json!({"spec": {"untyped": {"a": [1, {"b": 2}]}}}),
                json!({"spec": {"untyped": {"a": [1, {"b": 2}]}}}),
                vec![],
            ),
            (
                json!({"status": {"ok": true, "no": 1}}),
                json!({"status": {"ok": true}}),
                vec!["status.no"],
            ),
        ];
        for (input, want, paths) in cases {
            let mut obj = input.clone();
            let got = prune_root(&schema(), &mut obj);
            assert_eq!(obj, want, "{input}");
            assert_eq!(got, paths, "{input}");
        }
    }
}
