//! Defaulting as apiextensions does it on decode: nulls of non-nullable fields without a
//! default are dropped first, then `default`s fill missing fields (and replace those nulls)
//! wherever the parent object exists, recursing into what was just defaulted.

use serde_json::Value;

fn nullable(schema: &Value) -> bool {
    schema
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn default_of(schema: &Value) -> Option<&Value> {
    schema.get("default")
}

fn properties(schema: &Value) -> Option<&serde_json::Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

fn additional(schema: &Value) -> Option<&Value> {
    schema.get("additionalProperties").filter(|a| a.is_object())
}

fn non_nullable_null(value: &Value, schema: Option<&Value>) -> bool {
    value.is_null() && schema.is_some_and(|s| !nullable(s))
}

/// `PruneNonNullableNullsWithoutDefaults`: declared properties only, as in Go (a null map
/// entry stays and fails validation).
pub fn drop_non_nullable_nulls(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            let Some(props) = properties(schema) else {
                return;
            };
            map.retain(|key, child| match props.get(key) {
                Some(s) => !(child.is_null() && default_of(s).is_none() && !nullable(s)),
                None => true,
            });
            for (key, child) in map.iter_mut() {
                if let Some(s) = props.get(key) {
                    drop_non_nullable_nulls(child, s);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    drop_non_nullable_nulls(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// `structuraldefaulting.Default`.
pub fn default(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(map) => {
            let props = properties(schema);
            if let Some(props) = props {
                for (key, prop) in props {
                    let Some(default) = default_of(prop) else {
                        continue;
                    };
                    let missing = map
                        .get(key)
                        .is_none_or(|v| non_nullable_null(v, Some(prop)));
                    if missing {
                        map.insert(key.clone(), default.clone());
                    }
                }
            }
            let extra = additional(schema);
            for (key, child) in map.iter_mut() {
                if let Some(prop) = props.and_then(|p| p.get(key)) {
                    default(child, prop);
                } else if let Some(extra) = extra {
                    if non_nullable_null(child, Some(extra))
                        && let Some(d) = default_of(extra)
                    {
                        *child = d.clone();
                    }
                    default(child, extra);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    if non_nullable_null(item, Some(item_schema))
                        && let Some(d) = default_of(item_schema)
                    {
                        *item = d.clone();
                    }
                    default(item, item_schema);
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
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "color": {"type": "string", "default": "red"},
                "size": {"type": "integer", "default": 1},
                "note": {"type": "string"},
                "maybe": {"type": "string", "nullable": true},
                "nested": {"type": "object", "default": {}, "properties": {"deep": {"type": "integer", "default": 7}}},
                "parts": {"type": "array", "items": {"type": "object", "properties": {
                    "count": {"type": "integer", "default": 1}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string", "default": "x"}}
            }},
            "status": {"type": "object", "properties": {"phase": {"type": "string", "default": "New"}}}
        }})
    }

    fn run(mut obj: Value) -> Value {
        drop_non_nullable_nulls(&mut obj, &schema());
        default(&mut obj, &schema());
        obj
    }

    #[test]
    fn defaults_apply_only_where_the_parent_exists() {
        let cases = [
            // No spec: nothing under it is defaulted.
            (json!({}), json!({})),
            (
                json!({"spec": {}}),
                json!({"spec": {"color": "red", "size": 1, "nested": {"deep": 7}}}),
            ),
            (
                json!({"spec": {"color": "blue", "size": 3, "nested": {"deep": 1}}}),
                json!({"spec": {"color": "blue", "size": 3, "nested": {"deep": 1}}}),
            ),
            // A null non-nullable field takes its default; one without a default goes.
            (
                json!({"spec": {"color": null, "note": null, "maybe": null}}),
                json!({"spec": {"color": "red", "size": 1, "maybe": null, "nested": {"deep": 7}}}),
            ),
            (
                json!({"spec": {"parts": [{}, {"count": 4}], "labels": {"a": null, "b": "y"}}}),
                json!({"spec": {"color": "red", "size": 1, "nested": {"deep": 7},
                                "parts": [{"count": 1}, {"count": 4}], "labels": {"a": "x", "b": "y"}}}),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(run(input.clone()), want, "{input}");
        }
    }
}
