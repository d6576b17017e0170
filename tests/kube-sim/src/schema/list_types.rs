//! `x-kubernetes-list-type: set | map` uniqueness (apiextensions' `structurallisttype`).

use serde_json::{Map, Value};

use super::error::{FieldError, FieldErrorKind as Kind};
use super::path;

pub fn check(schema: &Value, value: &Value, at: &str, out: &mut Vec<FieldError>) {
    match value {
        Value::Object(map) => check_object(schema, map, at, out),
        Value::Array(items) => check_array(schema, items, at, out),
        _ => {}
    }
}

fn check_object(schema: &Value, map: &Map<String, Value>, at: &str, out: &mut Vec<FieldError>) {
    if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        for (key, child) in map {
            check(extra, child, &path::key(at, key), out);
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (key, child) in map {
            if let Some(prop) = props.get(key) {
                check(prop, child, &path::child(at, key), out);
            }
        }
    }
}

fn check_array(schema: &Value, items: &[Value], at: &str, out: &mut Vec<FieldError>) {
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => duplicates(items.iter().map(|i| (i.clone(), i.clone())), at, out),
        Some("map") => {
            if let Some(i) = items.iter().position(|x| !x.is_null() && !x.is_object()) {
                out.push(FieldError::new(
                    &path::index(at, i),
                    Kind::Invalid,
                    Some(items[i].clone()),
                    "must be an object for an array of list-type map",
                ));
                return;
            }
            let keyed = items
                .iter()
                .filter(|x| !x.is_null())
                .map(|x| map_key(schema, x));
            duplicates_at(items, keyed, at, out);
        }
        _ => {}
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &path::index(at, i), out);
        }
    }
}

/// The key fields of a map-list item (defaulted where the key property has a default), as
/// the object the apiserver prints in the Duplicate error.
fn map_key(schema: &Value, item: &Value) -> Value {
    let keys = schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|k| k.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut key = Map::new();
    for k in keys {
        let value = item.get(k).cloned().or_else(|| {
            schema
                .get("items")
                .and_then(|s| s.get("properties"))
                .and_then(|p| p.get(k))
                .and_then(|p| p.get("default"))
                .cloned()
        });
        if let Some(v) = value {
            key.insert(k.to_string(), v);
        }
    }
    Value::Object(key)
}

/// Reports the second occurrence of each repeated identity (not the third, …).
fn duplicates(items: impl Iterator<Item = (Value, Value)>, at: &str, out: &mut Vec<FieldError>) {
    let mut seen: Vec<(Value, usize)> = Vec::new();
    for (i, (identity, shown)) in items.enumerate() {
        match seen.iter_mut().find(|(v, _)| *v == identity) {
            Some((_, count)) => {
                *count += 1;
                if *count == 2 {
                    out.push(FieldError::new(
                        &path::index(at, i),
                        Kind::Duplicate,
                        Some(shown),
                        "",
                    ));
                }
            }
            None => seen.push((identity, 1)),
        }
    }
}

/// Like [`duplicates`], but indices count the null items the key iterator skipped.
fn duplicates_at(
    items: &[Value],
    keys: impl Iterator<Item = Value>,
    at: &str,
    out: &mut Vec<FieldError>,
) {
    let indices = items
        .iter()
        .enumerate()
        .filter(|(_, x)| !x.is_null())
        .map(|(i, _)| i);
    let mut seen: Vec<(Value, usize)> = Vec::new();
    for (i, key) in indices.zip(keys) {
        match seen.iter_mut().find(|(v, _)| *v == key) {
            Some((_, count)) => {
                *count += 1;
                if *count == 2 {
                    out.push(FieldError::new(
                        &path::index(at, i),
                        Kind::Duplicate,
                        Some(key),
                        "",
                    ));
                }
            }
            None => seen.push((key, 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "parts": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                      "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
            "byKey": {"type": "object", "additionalProperties": {"type": "array", "x-kubernetes-list-type": "set"}}
        }}}})
    }

    #[test]
    fn repeated_set_items_and_map_keys_are_duplicates() {
        let cases = [
            (json!({"spec": {"tags": ["a", "b"]}}), vec![]),
            (
                json!({"spec": {"tags": ["a", "b", "a", "a"]}}),
                vec!["spec.tags[2]: Duplicate value: \"a\""],
            ),
            (
                json!({"spec": {"parts": [{"name": "x"}, {"name": "y", "n": 1}, {"name": "y", "n": 2}]}}),
                vec!["spec.parts[2]: Duplicate value: map[string]interface {}{\"name\":\"y\"}"],
            ),
            (
                json!({"spec": {"parts": ["x"]}}),
                vec![
                    "spec.parts[0]: Invalid value: \"x\": must be an object for an array of list-type map",
                ],
            ),
            (
                json!({"spec": {"byKey": {"k": [1, 1]}}}),
                vec!["spec.byKey[k][1]: Duplicate value: 1"],
            ),
        ];
        for (obj, want) in cases {
            let mut out = Vec::new();
            check(&schema(), &obj, "", &mut out);
            let got: Vec<String> = out.iter().map(FieldError::message).collect();
            assert_eq!(got, want, "{obj}");
        }
    }
}
