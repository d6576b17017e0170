//! Strategic merge patch for built-in kinds: what kubectl's client-side apply and `kubectl patch`
//! send. Lists merge by the keys Kubernetes' Go types declare (containers by name, ports by
//! containerPort or port, …); directives `$patch`, `$retainKeys`, `$setElementOrder/…` and
//! `$deleteFromPrimitiveList/…` are honoured; any other `$` directive is refused with a 400.

use serde_json::{Map, Value};

use crate::status::{ApiError, ApiResult};

pub fn strategic_merge_patch(old: &Value, body: &[u8]) -> ApiResult<Value> {
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let Value::Object(patch) = patch else {
        return Err(ApiError::bad_request(
            "a strategic merge patch must be a JSON object",
        ));
    };
    let mut out = old.clone();
    let Value::Object(target) = &mut out else {
        return Err(ApiError::internal("stored object is not a JSON object"));
    };
    merge_map(target, &patch, &mut Vec::new()).map_err(ApiError::bad_request)?;
    Ok(out)
}

/// The merge key of a list field, from its name and where it sits.
fn merge_key(field: &str, path: &[String]) -> Option<ListMerge> {
    let in_container = path
        .last()
        .is_some_and(|p| p == "containers" || p == "initContainers" || p == "ephemeralContainers");
    let key = match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "imagePullSecrets"
        | "env" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" if in_container => "containerPort",
        "ports" => "port",
        "hostAliases" => "ip",
        "ownerReferences" => "uid",
        "conditions" => "type",
        "topologySpreadConstraints" => "topologyKey",
        "finalizers" => return Some(ListMerge::Primitive),
        _ => return None,
    };
    Some(ListMerge::Key(key))
}

enum ListMerge {
    Key(&'static str),
    Primitive,
}

fn merge_map(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
) -> Result<(), String> {
    match patch.get("$patch").and_then(Value::as_str) {
        None => {}
        Some("replace") => {
            *target = patch
                .iter()
                .filter(|(k, _)| *k != "$patch")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            return Ok(());
        }
        Some("delete") => {
            target.clear();
            return Ok(());
        }
        Some(other) => return Err(format!("unknown patch type: {other}")),
    }
    let retain: Option<Vec<String>> = match patch.get("$retainKeys") {
        None => None,
        Some(Value::Array(keys)) => Some(
            keys.iter()
                .filter_map(|k| k.as_str().map(String::from))
                .collect(),
        ),
        Some(_) => return Err("$retainKeys must be a list of strings".into()),
    };
    for (key, value) in patch {
        if key == "$patch" || key == "$retainKeys" || key.starts_with("$setElementOrder/") {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let remove = value.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = target.get_mut(field) {
                list.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if key.starts_with('$') {
            return Err(format!(
                "kube-sim does not implement the strategic merge patch directive {key:?}"
            ));
        }
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(sub) => {
                if sub.get("$patch").and_then(Value::as_str) == Some("delete") {
                    target.remove(key);
                    continue;
                }
                let entry = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(inner) = entry {
                    path.push(key.clone());
                    let result = merge_map(inner, sub, path);
                    path.pop();
                    result?;
                }
            }
            Value::Array(items) => {
                let merged = match (merge_key(key, path), target.get(key)) {
                    (Some(strategy), Some(Value::Array(existing))) => {
                        path.push(key.clone());
                        let result = merge_list(existing, items, &strategy, path);
                        path.pop();
                        result?
                    }
                    _ => strip_directives(items)?,
                };
                target.insert(key.clone(), Value::Array(merged));
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
    if let Some(keep) = retain {
        target.retain(|k, _| keep.contains(k));
    }
    Ok(())
}

fn merge_list(
    existing: &[Value],
    items: &[Value],
    strategy: &ListMerge,
    path: &mut Vec<String>,
) -> Result<Vec<Value>, String> {
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return strip_directives(
            &items
                .iter()
                .filter(|i| i.get("$patch").is_none())
                .cloned()
                .collect::<Vec<_>>(),
        );
    }
    let mut out = existing.to_vec();
    match strategy {
        ListMerge::Primitive => {
            for item in items {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
        }
        ListMerge::Key(key) => {
            for item in items {
                let Value::Object(patch_item) = item else {
                    return Err(format!("list items merged by {key:?} must be objects"));
                };
                let id = patch_item.get(*key);
                let position = id.and_then(|id| out.iter().position(|e| e.get(*key) == Some(id)));
                let delete = patch_item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (position, delete) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => {
                        if let Value::Object(target) = &mut out[i] {
                            merge_map(target, patch_item, path)?;
                        }
                    }
                    (None, false) => {
                        let mut fresh = Map::new();
                        merge_map(&mut fresh, patch_item, path)?;
                        out.push(Value::Object(fresh));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A list that replaces the stored one still must not carry directives into the object.
fn strip_directives(items: &[Value]) -> Result<Vec<Value>, String> {
    items
        .iter()
        .map(|item| match item {
            Value::Object(map) if map.keys().any(|k| k.starts_with('$')) => {
                let mut fresh = Map::new();
                merge_map(&mut fresh, map, &mut Vec::new())?;
                Ok(Value::Object(fresh))
            }
            other => Ok(other.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn smp(old: Value, patch: Value) -> Value {
        strategic_merge_patch(&old, patch.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn containers_merge_by_name_and_env_by_name() {
        let old = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
            {"name": "b", "image": "b:1"}
        ]}}}});
        let out = smp(
            old,
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                "containers": [{"name": "a", "image": "a:2", "env": [{"name": "Y", "value": "2"}]}]
            }}}}),
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([
                {"name": "a", "image": "a:2", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
                {"name": "b", "image": "b:1"}
            ])
        );
    }

    #[test]
    fn ports_key_depends_on_context() {
        let old = json!({"spec": {"ports": [{"port": 80, "name": "http"}], "containers": [{"name": "c", "ports": [{"containerPort": 8080}]}]}});
        let out = smp(
            old,
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}], "containers": [{"name": "c", "ports": [{"containerPort": 9090}]}]}}),
        );
        assert_eq!(
            out["spec"]["ports"],
            json!([{"port": 80, "name": "http", "targetPort": 8080}])
        );
        assert_eq!(
            out["spec"]["containers"][0]["ports"],
            json!([{"containerPort": 8080}, {"containerPort": 9090}])
        );
    }

    #[test]
    fn directives() {
        let old = json!({"metadata": {"finalizers": ["a", "b"], "labels": {"x": "1", "y": "2"}},
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                     "containers": [{"name": "a"}, {"name": "b"}], "args": ["1", "2"]}});
        let out = smp(
            old,
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "labels": {"x": null}},
                   "spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                            "containers": [{"name": "b", "$patch": "delete"}], "args": ["3"]}}),
        );
        assert_eq!(
            out["metadata"],
            json!({"finalizers": ["b"], "labels": {"y": "2"}})
        );
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        assert_eq!(out["spec"]["containers"], json!([{"name": "a"}]));
        assert_eq!(out["spec"]["args"], json!(["3"]));
    }

    #[test]
    fn unknown_directives_are_refused() {
        let err = strategic_merge_patch(&json!({}), br#"{"spec": {"$bogus": 1}}"#).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(err.message.contains("$bogus"));
    }
}
