//! The OpenAPI value checks kube-apiserver runs on custom resources (kube-openapi's
//! validators, in their order and with their messages), with update ratcheting: a value
//! equal to the old value at the same (correlated) place is not re-judged.

use serde_json::{Map, Number, Value};

use super::error::{FieldError, FieldErrorKind as Kind};
use super::{correlate, formats, go_fmt, path};

pub fn check(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    at: &str,
    out: &mut Vec<FieldError>,
) {
    if old == Some(value) {
        return;
    }
    let name = if at.is_empty() { "" } else { at };
    if value.is_null() {
        check_null(schema, name, out);
        return;
    }
    check_type(schema, value, name, out);
    check_composition(schema, value, old, name, out);
    match value {
        Value::String(s) => {
            check_string(schema, s, name, out);
            check_format(schema, s, name, out);
        }
        Value::Number(n) => check_number(schema, n, name, out),
        Value::Array(items) => check_array(schema, items, old, name, out),
        _ => {}
    }
    check_enum(schema, value, name, out);
    if let Value::Object(map) = value {
        check_object(schema, map, old, name, out);
    }
}

fn str_of<'a>(schema: &'a Value, key: &str) -> Option<&'a str> {
    schema.get(key).and_then(Value::as_str)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn int_of(schema: &Value, key: &str) -> Option<i64> {
    schema.get(key).and_then(Value::as_i64)
}

/// The declared types; `x-kubernetes-int-or-string` means both.
fn types(schema: &Value) -> Vec<&str> {
    if flag(schema, "x-kubernetes-int-or-string") {
        return vec!["integer", "string"];
    }
    str_of(schema, "type").into_iter().collect()
}

/// go-openapi's `schemaInfoForType`: the JSON type and the implied format of a value.
fn value_type(value: &Value) -> (&'static str, &'static str) {
    match value {
        Value::Null => ("null", ""),
        Value::Bool(_) => ("boolean", ""),
        Value::Number(n) if n.is_f64() => ("number", "double"),
        Value::Number(_) => ("integer", "int64"),
        Value::String(_) => ("string", ""),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
    }
}

fn type_error(name: &str, type_name: &str, actual: &str) -> FieldError {
    FieldError::new(
        name,
        Kind::TypeInvalid,
        Some(Value::String(actual.to_string())),
        format!(
            "{name} in body must be of type {type_name}: {}",
            go_fmt::quote(actual)
        ),
    )
}

fn check_null(schema: &Value, name: &str, out: &mut Vec<FieldError>) {
    let declared = types(schema);
    if !declared.is_empty() && !flag(schema, "nullable") {
        out.push(type_error(name, &declared.join(","), "null"));
    }
    // go-openapi's enum check never matches null, even for nullable fields.
    check_enum(schema, &Value::Null, name, out);
}

fn check_type(schema: &Value, value: &Value, name: &str, out: &mut Vec<FieldError>) {
    let declared = types(schema);
    if declared.is_empty() {
        return;
    }
    let (actual, actual_format) = value_type(value);
    let is_float_int = actual == "number"
        && declared.contains(&"integer")
        && value.as_f64().is_some_and(|f| f.fract() == 0.0);
    let is_int_float = actual == "integer" && declared.contains(&"number");
    let matches = declared.contains(&actual) || is_float_int || is_int_float;
    let format = str_of(schema, "format").unwrap_or("");
    let stringish = matches!(value, Value::String(_) | Value::Array(_));
    if !(stringish || format.is_empty() || matches || actual_format == format) {
        out.push(type_error(name, format, actual_format));
        return;
    }
    let numeric = declared.contains(&"integer") || declared.contains(&"number");
    if !numeric && !format.is_empty() && stringish {
        // go-openapi leaves formatted strings (and, by accident, arrays) to the format check.
        return;
    }
    if !matches {
        out.push(type_error(name, &declared.join(","), actual));
    }
}

fn check_string(schema: &Value, s: &str, name: &str, out: &mut Vec<FieldError>) {
    let chars = s.chars().count() as i64;
    // go-openapi reports only the first failing string check.
    if let Some(max) = int_of(schema, "maxLength")
        && chars > max
    {
        let unit = if max == 1 { "byte" } else { "bytes" };
        out.push(FieldError::new(
            name,
            Kind::TooLong,
            None,
            format!("may not be more than {max} {unit}"),
        ));
        return;
    }
    if let Some(min) = int_of(schema, "minLength")
        && chars < min
    {
        out.push(FieldError::new(
            name,
            Kind::Invalid,
            Some(Value::String(s.to_string())),
            format!("{name} in body should be at least {min} chars long"),
        ));
        return;
    }
    if let Some(pattern) = str_of(schema, "pattern") {
        let matched = regex::Regex::new(pattern).map(|re| re.is_match(s));
        if !matched.unwrap_or(false) {
            // An uncompilable pattern cannot be in a served CRD; fail rather than accept.
            out.push(FieldError::new(
                name,
                Kind::Invalid,
                Some(Value::String(s.to_string())),
                format!("{name} in body should match '{pattern}'"),
            ));
        }
    }
}

fn check_format(schema: &Value, s: &str, name: &str, out: &mut Vec<FieldError>) {
    let Some(format) = str_of(schema, "format") else {
        return;
    };
    if formats::check(format, s) == Some(false) {
        out.push(FieldError::new(
            name,
            Kind::TypeInvalid,
            Some(Value::String(s.to_string())),
            format!(
                "{name} in body must be of type {format}: {}",
                go_fmt::quote(s)
            ),
        ));
    }
}

/// A bound as Go prints it next to this value: integers against integers, floats otherwise.
fn bound_text(value_is_int: bool, bound: f64) -> String {
    if value_is_int {
        (bound.trunc() as i64).to_string()
    } else {
        go_fmt::float(bound)
    }
}

fn check_number(schema: &Value, n: &Number, name: &str, out: &mut Vec<FieldError>) {
    let value = Value::Number(n.clone());
    let as_int = n.as_i64();
    let f = n.as_f64().unwrap_or(f64::NAN);
    let invalid =
        |detail: String| FieldError::new(name, Kind::Invalid, Some(value.clone()), detail);

    let declared = types(schema);
    if declared.contains(&"integer") && str_of(schema, "format") == Some("int32") {
        let fits = match as_int {
            Some(i) => i32::try_from(i).is_ok(),
            None => f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX),
        };
        if !fits {
            // A plain error in go-openapi, which the apiserver reports against no field.
            out.push(FieldError::new(
                "",
                Kind::Invalid,
                Some(Value::String(String::new())),
                format!("Checked value must be of type integer with format int32 in {name}"),
            ));
        }
    }
    if let Some(factor) = schema.get("multipleOf").and_then(Value::as_f64) {
        let bad = match as_int {
            Some(i) if factor.fract() == 0.0 && factor != 0.0 => i % (factor as i64) != 0,
            _ => (f / factor).fract() != 0.0,
        };
        if bad {
            let text = bound_text(as_int.is_some() && factor.fract() == 0.0, factor);
            out.push(invalid(format!(
                "{name} in body should be a multiple of {text}"
            )));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        let exclusive = flag(schema, "exclusiveMaximum");
        let over = match as_int {
            Some(i) => {
                let m = max.trunc() as i64;
                if exclusive { i >= m } else { i > m }
            }
            None => {
                if exclusive {
                    f >= max
                } else {
                    f > max
                }
            }
        };
        if over {
            let relation = if exclusive {
                "less than"
            } else {
                "less than or equal to"
            };
            let text = bound_text(as_int.is_some(), max);
            out.push(invalid(format!(
                "{name} in body should be {relation} {text}"
            )));
        }
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        let exclusive = flag(schema, "exclusiveMinimum");
        let under = match as_int {
            Some(i) => {
                let m = min.trunc() as i64;
                if exclusive { i <= m } else { i < m }
            }
            None => {
                if exclusive {
                    f <= min
                } else {
                    f < min
                }
            }
        };
        if under {
            let relation = if exclusive {
                "greater than"
            } else {
                "greater than or equal to"
            };
            let text = bound_text(as_int.is_some(), min);
            out.push(invalid(format!(
                "{name} in body should be {relation} {text}"
            )));
        }
    }
}

fn check_array(
    schema: &Value,
    items: &[Value],
    old: Option<&Value>,
    name: &str,
    out: &mut Vec<FieldError>,
) {
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            let old_item = correlate::list_item(schema, old, item);
            check(item_schema, item, old_item, &path::index(name, i), out);
        }
    }
    let size = items.len() as i64;
    if let Some(min) = int_of(schema, "minItems")
        && size < min
    {
        out.push(FieldError::new(
            name,
            Kind::Invalid,
            Some(Value::from(size)),
            format!("{name} in body should have at least {min} items"),
        ));
    }
    if let Some(max) = int_of(schema, "maxItems")
        && size > max
    {
        out.push(too_many(name, size, max));
    }
}

fn too_many(name: &str, actual: i64, max: i64) -> FieldError {
    let unit = if max == 1 { "item" } else { "items" };
    FieldError::new(
        name,
        Kind::TooMany,
        Some(Value::from(actual)),
        format!("must have at most {max} {unit}"),
    )
}

fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn check_enum(schema: &Value, value: &Value, name: &str, out: &mut Vec<FieldError>) {
    let Some(allowed) = schema.get("enum").and_then(Value::as_array) else {
        return;
    };
    if allowed.is_empty() || (!value.is_null() && allowed.iter().any(|a| same_json(a, value))) {
        return;
    }
    let quoted: Vec<String> = allowed
        .iter()
        .map(|a| match a {
            Value::String(s) => go_fmt::quote(s),
            other => go_fmt::quote(&other.to_string()),
        })
        .collect();
    out.push(FieldError::new(
        name,
        Kind::NotSupported,
        Some(value.clone()),
        format!("supported values: {}", quoted.join(", ")),
    ));
}

fn check_object(
    schema: &Value,
    map: &Map<String, Value>,
    old: Option<&Value>,
    name: &str,
    out: &mut Vec<FieldError>,
) {
    let size = map.len() as i64;
    if let Some(min) = int_of(schema, "minProperties")
        && size < min
    {
        out.push(FieldError::new(
            name,
            Kind::Invalid,
            Some(Value::from(size)),
            format!("{name} in body should have at least {min} properties"),
        ));
    }
    if let Some(max) = int_of(schema, "maxProperties")
        && size > max
    {
        out.push(too_many(name, size, max));
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let old_map = old.and_then(Value::as_object);
    if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        for (key, child) in map {
            if props.is_none_or(|p| !p.contains_key(key)) {
                let old_child = old_map.and_then(|m| m.get(key));
                check(extra, child, old_child, &path::child(name, key), out);
            }
        }
    }
    if let Some(props) = props {
        for (key, prop) in props {
            if let Some(child) = map.get(key) {
                let old_child = old_map.and_then(|m| m.get(key));
                check(prop, child, old_child, &path::child(name, key), out);
            }
        }
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(key) {
                out.push(FieldError::new(
                    &path::child(name, key),
                    Kind::Required,
                    None,
                    "",
                ));
            }
        }
    }
}

/// allOf / anyOf / oneOf / not, which structural schemas allow for value checks only.
fn check_composition(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    name: &str,
    out: &mut Vec<FieldError>,
) {
    let branch_errors = |s: &Value| {
        let mut errs = Vec::new();
        check(s, value, old, name, &mut errs);
        errs
    };
    let composite = |detail: String| {
        FieldError::new(
            name,
            Kind::Invalid,
            Some(Value::String(String::new())),
            detail,
        )
    };
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            out.extend(branch_errors(s));
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let results: Vec<Vec<FieldError>> = any.iter().map(branch_errors).collect();
        if !results.iter().any(Vec::is_empty) {
            out.push(composite(format!(
                "{name} in body must validate at least one schema (anyOf)"
            )));
            if let Some(first) = results.into_iter().next() {
                out.extend(first);
            }
        }
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let passing = one.iter().filter(|s| branch_errors(s).is_empty()).count();
        if passing != 1 {
            out.push(composite(format!(
                "{name} in body must validate one and only one schema (oneOf)"
            )));
        }
    }
    if let Some(not) = schema.get("not")
        && branch_errors(not).is_empty()
    {
        out.push(composite(format!(
            "{name} in body must not validate the schema (not)"
        )));
    }
}
