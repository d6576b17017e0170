//! `x-kubernetes-validations`: CEL rules run at the node that declares them with `self`
//! bound to its value. Transition rules (reading `oldSelf`) run only on updates where the
//! node has an old value; other rules are skipped (ratcheted) when the value is unchanged.

use serde_json::Value;

use super::error::{FieldError, FieldErrorKind as Kind};
use super::{correlate, path};
use crate::cel_eval;

pub fn check(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    at: &str,
    out: &mut Vec<FieldError>,
) {
    if value.is_null() {
        return;
    }
    if let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for rule in rules {
            check_rule(schema, rule, value, old, at, out);
        }
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            let old_map = old.and_then(Value::as_object);
            for (key, child) in map {
                let old_child = old_map.and_then(|m| m.get(key));
                if let Some(prop) = props.and_then(|p| p.get(key)) {
                    check(prop, child, old_child, &path::child(at, key), out);
                } else if let Some(extra) = extra {
                    check(extra, child, old_child, &path::key(at, key), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let old_item = correlate::list_item(schema, old, item);
                    check(item_schema, item, old_item, &path::index(at, i), out);
                }
            }
        }
        _ => {}
    }
}

/// True when any node of the schema declares a rule (the apiserver only adds its "rules
/// were not checked" error when there were rules to skip).
pub fn any(schema: &Value) -> bool {
    let Value::Object(map) = schema else {
        return false;
    };
    let here = map
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    let in_properties = map
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| p.values().any(any));
    let in_children = ["additionalProperties", "items", "not"]
        .iter()
        .filter_map(|k| map.get(*k))
        .any(any);
    let in_branches = ["allOf", "anyOf", "oneOf"]
        .iter()
        .filter_map(|k| map.get(*k).and_then(Value::as_array))
        .flatten()
        .any(any);
    here || in_properties || in_children || in_branches
}

/// Every rule and message expression of the schema that does not compile, with the path of
/// its node: kube-apiserver refuses such a CRD.
pub fn compile_errors(schema: &Value, at: &str, out: &mut Vec<FieldError>) {
    let Value::Object(map) = schema else {
        return;
    };
    if let Some(rules) = map
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for (i, rule) in rules.iter().enumerate() {
            let here = path::index(&path::child(at, "x-kubernetes-validations"), i);
            for key in ["rule", "messageExpression"] {
                if let Some(src) = rule.get(key).and_then(Value::as_str)
                    && let Err(e) = cel_eval::compile(src)
                {
                    out.push(FieldError::new(
                        &path::child(&here, key),
                        Kind::Invalid,
                        Some(Value::String(src.to_string())),
                        e,
                    ));
                }
            }
        }
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (key, prop) in props {
            compile_errors(prop, &path::key(&path::child(at, "properties"), key), out);
        }
    }
    for key in ["additionalProperties", "items", "not"] {
        if let Some(child) = map.get(key) {
            compile_errors(child, &path::child(at, key), out);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(children) = map.get(key).and_then(Value::as_array) {
            for (i, child) in children.iter().enumerate() {
                compile_errors(child, &path::index(&path::child(at, key), i), out);
            }
        }
    }
}

fn text<'a>(rule: &'a Value, key: &str) -> Option<&'a str> {
    rule.get(key).and_then(Value::as_str)
}

/// `ruleErrorString`: the trimmed message, else the rule.
fn rule_error_string(rule: &Value) -> String {
    match text(rule, "message")
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(m) => m.to_string(),
        None => text(rule, "rule").unwrap_or_default().trim().to_string(),
    }
}

/// `ruleMessageOrDefault`.
fn message_or_default(rule: &Value) -> String {
    match text(rule, "message")
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(m) => m.to_string(),
        None => format!("failed rule: {}", rule_error_string(rule)),
    }
}

/// `.a.b['c.d']` → `a.b.c.d`, the child name the apiserver appends to the node's path.
fn normalized_field_path(field_path: &str) -> String {
    let mut names = Vec::new();
    let mut rest = field_path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(".") {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            names.push(after[..end].to_string());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['") {
            let end = after.find("']").unwrap_or(after.len());
            names.push(after[..end].to_string());
            rest = after.get(end + 2..).unwrap_or("");
        } else {
            names.push(rest.to_string());
            break;
        }
    }
    names.join(".")
}

fn check_rule(
    schema: &Value,
    rule: &Value,
    value: &Value,
    old: Option<&Value>,
    at: &str,
    out: &mut Vec<FieldError>,
) {
    let node_type = Value::String(
        schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    );
    let Some(source) = text(rule, "rule") else {
        return;
    };
    let compiled = match cel_eval::compile(source) {
        Ok(c) => c,
        Err(e) => {
            // The real server would have refused the CRD; say so instead of guessing.
            out.push(FieldError::new(
                at,
                Kind::Internal,
                None,
                format!("rule compile error: {e}"),
            ));
            return;
        }
    };
    let optional_old = rule
        .get("optionalOldSelf")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if compiled.uses_old_self() && old.is_none() && !optional_old {
        return;
    }
    if !compiled.uses_old_self() && old == Some(value) {
        return;
    }
    let result = if optional_old {
        compiled.eval_bool_optional_old(value, old, Some(schema))
    } else {
        compiled.eval_bool(value, old, Some(schema))
    };
    let passed = match result {
        Ok(passed) => passed,
        Err(e) => {
            let detail = if e.starts_with("found no matching overload") {
                format!(
                    "'{e}': call arguments did not match a supported operator, function or macro signature for rule: {}",
                    rule_error_string(rule)
                )
            } else {
                format!("{e} evaluating rule: {}", rule_error_string(rule))
            };
            out.push(FieldError::new(at, Kind::Invalid, Some(node_type), detail));
            return;
        }
    };
    if passed {
        return;
    }
    let error_path = match text(rule, "fieldPath").filter(|p| !p.is_empty()) {
        Some(fp) => path::child(at, &normalized_field_path(fp)),
        None => at.to_string(),
    };
    let message = text(rule, "messageExpression")
        .and_then(|expr| cel_eval::eval_message_expression(expr, value, old, Some(schema)).ok())
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty() && !m.contains('\n'))
        .unwrap_or_else(|| message_or_default(rule));
    let error = match text(rule, "reason") {
        Some("FieldValueForbidden") => FieldError::new(&error_path, Kind::Forbidden, None, message),
        Some("FieldValueRequired") => FieldError::new(&error_path, Kind::Required, None, message),
        Some("FieldValueDuplicate") => {
            FieldError::new(&error_path, Kind::Duplicate, Some(node_type), "")
        }
        _ => FieldError::new(&error_path, Kind::Invalid, Some(node_type), message),
    };
    out.push(error);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_normalize_like_the_apiserver() {
        assert_eq!(normalized_field_path(".name"), "name");
        assert_eq!(normalized_field_path(".a.b"), "a.b");
        assert_eq!(normalized_field_path(".a['c.d']"), "a.c.d");
        assert_eq!(normalized_field_path("['x']"), "x");
    }
}
