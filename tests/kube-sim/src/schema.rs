//! Structural-schema handling of custom resources, as kube-apiserver does it: prune unknown
//! fields, apply defaults, then validate (OpenAPI checks, list-type uniqueness, CEL rules)
//! with the apiserver's own error texts, since kubectl prints them to users verbatim.
//!
//! `schema` is always the version's `openAPIV3Schema`; `obj` the whole object.

mod correlate;
mod defaults;
mod error;
mod formats;
mod go_fmt;
mod list_types;
mod openapi_checks;
mod path;
mod prune;
mod rule_costs;
mod rules;

use serde_json::Value;

pub use error::{FieldError, FieldErrorKind};
/// Go's `%q`, for other modules quoting values the way the apiserver does.
pub use go_fmt::quote as go_quote;

/// Removes the fields `schema` does not declare (keeping everything under
/// `x-kubernetes-preserve-unknown-fields`, `apiVersion`/`kind`/`metadata` at the root and
/// in embedded resources) and returns their paths, sorted, for `fieldValidation=Strict`:
/// `spec.foo`, `spec.items[0].bar`.
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    prune::prune_root(schema, obj)
}

/// Drops `null`s of non-nullable fields that have no default, then fills `default`s
/// wherever the parent object exists. Run after [`prune`], before [`validate`].
pub fn apply_defaults(schema: &Value, obj: &mut Value) {
    defaults::drop_non_nullable_nulls(obj, schema);
    defaults::default(obj, schema);
}

/// The error kube-apiserver appends, at no field, when schema errors kept it from running
/// the CEL rules.
pub const RULES_NOT_CHECKED: &str = "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

/// Validates `obj` (`old` on updates, which enables ratcheting and transition rules).
/// Metadata is the server's business: only what the schema declares about it is checked.
pub fn validate(schema: &Value, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    openapi_checks::check(schema, obj, old, "", &mut errors);
    check_embedded_resources(schema, obj, "", true, &mut errors);
    list_types::check(schema, obj, "", &mut errors);
    if rules::any(schema) {
        if errors.iter().any(|e| e.kind.blocks_rules()) {
            errors.push(FieldError::new(
                "",
                FieldErrorKind::Invalid,
                Some(Value::Null),
                RULES_NOT_CHECKED,
            ));
        } else {
            rules::check(schema, obj, old, "", &mut errors);
        }
    }
    errors
}

/// The rules and message expressions of a CRD version's schema that do not compile (or use
/// functions kube-sim does not implement). kube-apiserver refuses such a CRD with 422.
pub fn rule_compile_errors(schema: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    rules::compile_errors(schema, "openAPIV3Schema", &mut errors);
    errors
}

/// The CEL cost budget errors of a CRD version's schema (per rule, per message expression,
/// and for the whole schema), as kube-apiserver refuses the CRD with them.
pub fn rule_cost_errors(schema: &Value) -> Vec<FieldError> {
    rule_costs::cost_errors(schema, "openAPIV3Schema")
}

/// Nodes of a CRD version's schema that carry CEL rules but have no CEL type.
pub fn untyped_rule_nodes(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    rule_costs::untyped_rule_nodes(schema, "openAPIV3Schema", true, &mut out);
    out
}

/// Nested `x-kubernetes-embedded-resource` objects need `apiVersion` and `kind`
/// (`schemaobjectmeta.Validate`); the root is the server's own business.
fn check_embedded_resources(
    schema: &Value,
    value: &Value,
    at: &str,
    root: bool,
    out: &mut Vec<FieldError>,
) {
    match value {
        Value::Object(map) => {
            let embedded = schema
                .get("x-kubernetes-embedded-resource")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if embedded && !root {
                for key in ["apiVersion", "kind"] {
                    let here = path::child(at, key);
                    match map.get(key) {
                        None => out.push(FieldError::new(
                            &here,
                            FieldErrorKind::Required,
                            None,
                            "must not be empty",
                        )),
                        Some(Value::String(s)) if s.is_empty() => out.push(FieldError::new(
                            &here,
                            FieldErrorKind::Invalid,
                            Some(Value::String(String::new())),
                            "must not be empty",
                        )),
                        Some(Value::String(_)) => {}
                        Some(other) => out.push(FieldError::new(
                            &here,
                            FieldErrorKind::Invalid,
                            Some(other.clone()),
                            "must be a string",
                        )),
                    }
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let extra = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map {
                if root && key == "metadata" {
                    continue;
                }
                if let Some(prop) = props.and_then(|p| p.get(key)) {
                    check_embedded_resources(prop, child, &path::child(at, key), false, out);
                } else if let Some(extra) = extra {
                    check_embedded_resources(extra, child, &path::child(at, key), false, out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_embedded_resources(item_schema, item, &path::index(at, i), false, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
