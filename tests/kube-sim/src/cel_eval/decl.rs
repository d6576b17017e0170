//! The CEL declaration of a structural schema node (apiserver `SchemaDeclType`), with the two
//! numbers the cost estimator needs: the most elements a value may have (`MaxElements`: string
//! bytes, list items, map entries) and the fewest bytes it takes in JSON (`MinSerializedSize`),
//! both sized from the 3 MiB request limit where the schema sets no bound.

use std::collections::BTreeMap;

use serde_json::Value;

/// kube-apiserver's largest request body, the bound of everything the schema leaves open.
pub const MAX_REQUEST_BYTES: u64 = 3 * 1024 * 1024;
const MAX_DURATION_SIZE_JSON: u64 = 32;
const MAX_DATETIME_SIZE_JSON: u64 = 32;
const MIN_DURATION_SIZE_JSON: u64 = 3;
const JSON_DATE_SIZE: u64 = 12;
const MIN_DATETIME_SIZE_JSON: u64 = 21;
const MIN_STRING_SIZE: u64 = 2;
const MIN_BOOL_SIZE: u64 = 4;
const MIN_NUMBER_SIZE: u64 = 1;

#[derive(Clone, Debug, PartialEq)]
pub enum Decl {
    Int,
    Double,
    Bool,
    /// Strings, and the string formats CEL sees as other types (bytes, duration, timestamp).
    Str {
        kind: StrKind,
        max: u64,
        min_size: u64,
    },
    List {
        elem: Box<Decl>,
        max: u64,
    },
    /// `additionalProperties` maps; keys are strings whose size the server leaves at 0.
    Map {
        elem: Box<Decl>,
        max: u64,
    },
    Object {
        fields: BTreeMap<String, Decl>,
        min_size: u64,
    },
    /// `x-kubernetes-int-or-string`.
    IntOrString {
        max: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StrKind {
    String,
    Bytes,
    Duration,
    Timestamp,
}

/// The map key type: apiserver's `StringType`, declared without a size.
pub static MAP_KEY: Decl = Decl::Str {
    kind: StrKind::String,
    max: 0,
    min_size: MIN_STRING_SIZE,
};

impl Decl {
    /// `MaxElements`: 0 for types without elements (numbers, booleans, objects).
    pub fn max_elements(&self) -> u64 {
        match self {
            Decl::Str { max, .. }
            | Decl::List { max, .. }
            | Decl::Map { max, .. }
            | Decl::IntOrString { max } => *max,
            Decl::Int | Decl::Double | Decl::Bool | Decl::Object { .. } => 0,
        }
    }

    pub fn min_serialized_size(&self) -> u64 {
        match self {
            Decl::Int | Decl::Double | Decl::IntOrString { .. } => MIN_NUMBER_SIZE,
            Decl::Bool => MIN_BOOL_SIZE,
            Decl::Str { min_size, .. } | Decl::Object { min_size, .. } => *min_size,
            Decl::List { .. } | Decl::Map { .. } => 2,
        }
    }

    pub fn field(&self, name: &str) -> Option<&Decl> {
        match self {
            Decl::Object { fields, .. } => fields.get(name),
            _ => None,
        }
    }

    /// `ElemType`: list items and map values.
    pub fn elem(&self) -> Option<&Decl> {
        match self {
            Decl::List { elem, .. } | Decl::Map { elem, .. } => Some(elem),
            _ => None,
        }
    }

    /// `KeyType`: only maps have one.
    pub fn key(&self) -> Option<&Decl> {
        match self {
            Decl::Map { .. } => Some(&MAP_KEY),
            _ => None,
        }
    }
}

fn text<'a>(s: &'a Value, key: &str) -> &'a str {
    s.get(key).and_then(Value::as_str).unwrap_or("")
}

fn bound(s: &Value, key: &str) -> Option<u64> {
    s.get(key)
        .and_then(Value::as_i64)
        .map(|n| u64::try_from(n).unwrap_or(0))
}

/// `SchemaDeclType`: `None` where the schema has no CEL type (an untyped node, e.g. one that
/// only preserves unknown fields; a list or map of such), which the server cannot compile
/// rules against. `resource_root` adds apiVersion, kind and metadata.name/generateName.
pub fn decl_type(s: &Value, resource_root: bool) -> Option<Decl> {
    if s.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
        let max = match bound(s, "maxLength") {
            Some(n) => n.saturating_mul(4),
            None => MAX_REQUEST_BYTES - 2,
        };
        return Some(Decl::IntOrString { max });
    }
    match text(s, "type") {
        "array" => {
            let items = decl_type(s.get("items")?, embedded(s.get("items")?))?;
            let max = bound(s, "maxItems")
                .unwrap_or_else(|| (MAX_REQUEST_BYTES - 2) / (items.min_serialized_size() + 1));
            Some(Decl::List {
                elem: Box::new(items),
                max,
            })
        }
        "object" => object(s, resource_root),
        "string" => Some(string(s)),
        "boolean" => Some(Decl::Bool),
        "number" => Some(Decl::Double),
        "integer" => Some(Decl::Int),
        _ => None,
    }
}

fn embedded(s: &Value) -> bool {
    s.get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true)
}

fn object(s: &Value, resource_root: bool) -> Option<Decl> {
    if let Some(extra) = s.get("additionalProperties").filter(|a| a.is_object()) {
        let values = decl_type(extra, embedded(extra))?;
        let max = bound(s, "maxProperties")
            .unwrap_or_else(|| (MAX_REQUEST_BYTES - 2) / (values.min_serialized_size() + 6));
        return Some(Decl::Map {
            elem: Box::new(values),
            max,
        });
    }
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields = BTreeMap::new();
    let mut min_size = 2u64;
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let Some(decl) = decl_type(prop, embedded(prop)) else {
                continue;
            };
            if required.contains(&name.as_str()) && prop.get("default").is_none() {
                min_size =
                    min_size.saturating_add(name.len() as u64 + decl.min_serialized_size() + 4);
            }
            // Properties whose names CEL cannot spell are not declared.
            if let Some(escaped) = crate::cel_eval::escape_property(name) {
                fields.insert(escaped, decl);
            }
        }
    }
    if resource_root {
        // `WithTypeAndObjectMeta`: always readable at the root of a resource.
        let unbounded = || Decl::Str {
            kind: StrKind::String,
            max: MAX_REQUEST_BYTES - 2,
            min_size: MIN_STRING_SIZE,
        };
        fields.entry("apiVersion".into()).or_insert_with(unbounded);
        fields.entry("kind".into()).or_insert_with(unbounded);
        let meta = BTreeMap::from([
            ("name".to_string(), unbounded()),
            ("generateName".to_string(), unbounded()),
        ]);
        fields.insert(
            "metadata".into(),
            Decl::Object {
                fields: meta,
                min_size: 2,
            },
        );
    }
    Some(Decl::Object { fields, min_size })
}

fn string(s: &Value) -> Decl {
    let per_request = match text(s, "format") {
        "duration" => MAX_DURATION_SIZE_JSON,
        "date" => JSON_DATE_SIZE,
        "date-time" => MAX_DATETIME_SIZE_JSON,
        _ => MAX_REQUEST_BYTES - 2,
    };
    let (kind, max, min_size) = match text(s, "format") {
        "byte" => (
            StrKind::Bytes,
            bound(s, "maxLength").unwrap_or(per_request),
            MIN_STRING_SIZE,
        ),
        "duration" => (StrKind::Duration, per_request, MIN_DURATION_SIZE_JSON),
        "date" => (StrKind::Timestamp, per_request, JSON_DATE_SIZE),
        "date-time" => (StrKind::Timestamp, per_request, MIN_DATETIME_SIZE_JSON),
        _ => {
            let max = match bound(s, "maxLength") {
                // maxLength counts code points; a code point takes up to 4 bytes.
                Some(n) => n.saturating_mul(4),
                None => match s.get("enum").and_then(Value::as_array) {
                    Some(values) if !values.is_empty() => values
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|v| v.len() as u64)
                        .max()
                        .unwrap_or(0),
                    _ => per_request,
                },
            };
            (StrKind::String, max, MIN_STRING_SIZE)
        }
    };
    Decl::Str {
        kind,
        max,
        min_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_follow_the_schema_bounds_or_the_request_limit() {
        let cases = [
            (json!({"type": "string"}), 3_145_726),
            (json!({"type": "string", "maxLength": 10}), 40),
            (json!({"type": "string", "enum": ["a", "abc"]}), 3),
            (
                json!({"type": "string", "format": "date-time", "maxLength": 5}),
                32,
            ),
            (
                json!({"type": "array", "items": {"type": "string"}}),
                1_048_575,
            ),
            (
                json!({"type": "array", "maxItems": 7, "items": {"type": "string"}}),
                7,
            ),
            (
                json!({"type": "object", "additionalProperties": {"type": "string"}}),
                393_215,
            ),
            (
                json!({"type": "object", "maxProperties": 3, "additionalProperties": {"type": "integer"}}),
                3,
            ),
            (json!({"x-kubernetes-int-or-string": true}), 3_145_726),
            (json!({"type": "integer"}), 0),
        ];
        for (schema, want) in cases {
            assert_eq!(
                decl_type(&schema, false).unwrap().max_elements(),
                want,
                "{schema}"
            );
        }
    }

    #[test]
    fn required_fields_without_defaults_grow_the_minimum_size() {
        let s = json!({"type": "object", "required": ["ab", "cd"], "properties": {
            "ab": {"type": "string"}, "cd": {"type": "integer", "default": 1}, "ef": {"type": "boolean"}}});
        // {} plus "ab":"" (2 + 2 + 4); cd has a default.
        assert_eq!(decl_type(&s, false).unwrap().min_serialized_size(), 10);
    }

    #[test]
    fn untyped_nodes_have_no_cel_type() {
        let untyped = json!({"x-kubernetes-preserve-unknown-fields": true});
        assert_eq!(decl_type(&untyped, false), None);
        let map = json!({"type": "object", "additionalProperties": untyped});
        assert_eq!(decl_type(&map, false), None);
        let obj =
            json!({"type": "object", "properties": {"free": untyped, "n": {"type": "integer"}}});
        let decl = decl_type(&obj, false).unwrap();
        assert!(decl.field("free").is_none() && decl.field("n").is_some());
    }

    #[test]
    fn resource_roots_expose_type_and_object_meta() {
        let root = decl_type(&json!({"type": "object"}), true).unwrap();
        assert!(root.field("apiVersion").is_some());
        assert!(root.field("metadata").unwrap().field("name").is_some());
    }
}
