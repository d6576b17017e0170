//! JSON → CEL values, typed by the structural schema the way kube-apiserver types them:
//! `number` fields are doubles even when written as integers, `date-time` strings are
//! timestamps, `duration` strings durations, and declared property names are escaped
//! (`my-field` → `my__dash__field`, `namespace` → `__namespace__`).

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, Program, Value as Cel};
use serde_json::Value;

/// Words CEL reserves; Kubernetes exposes properties with these names as `__word__`.
const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

pub fn to_cel(value: &Value, schema: Option<&Value>) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => number(n, schema_type(schema) == Some("number")),
        Value::String(s) => string(s, schema),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.get("items"));
            Cel::List(Arc::new(
                items.iter().map(|v| to_cel(v, item_schema)).collect(),
            ))
        }
        Value::Object(map) => {
            let properties = schema
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object);
            let additional = schema
                .and_then(|s| s.get("additionalProperties"))
                .filter(|a| a.is_object());
            let mut out = HashMap::new();
            for (name, child) in map {
                let (key, child_schema) = match properties.and_then(|p| p.get(name)) {
                    Some(prop) => match escape_property(name) {
                        Some(escaped) => (escaped, Some(prop)),
                        // Kubernetes gives such properties no CEL name at all.
                        None => continue,
                    },
                    None => (name.clone(), additional),
                };
                out.insert(Key::String(Arc::new(key)), to_cel(child, child_schema));
            }
            Cel::Map(Map { map: Arc::new(out) })
        }
    }
}

fn schema_type(schema: Option<&Value>) -> Option<&str> {
    schema.and_then(|s| s.get("type")).and_then(Value::as_str)
}

fn number(n: &serde_json::Number, as_double: bool) -> Cel {
    if as_double {
        return Cel::Float(n.as_f64().unwrap_or(f64::NAN));
    }
    if let Some(i) = n.as_i64() {
        Cel::Int(i)
    } else if let Some(u) = n.as_u64() {
        Cel::UInt(u)
    } else {
        Cel::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn string(s: &str, schema: Option<&Value>) -> Cel {
    let format = schema.and_then(|s| s.get("format")).and_then(Value::as_str);
    let converter = match format {
        Some("date-time") => "timestamp(s)",
        Some("duration") => "duration(s)",
        _ => return Cel::String(Arc::new(s.to_string())),
    };
    // The cel crate builds its own time types; letting it parse keeps us off chrono.
    // A value the schema check already rejects stays a string.
    let Ok(program) = Program::compile(converter) else {
        return Cel::String(Arc::new(s.to_string()));
    };
    let mut context = Context::default();
    context.add_variable_from_value("s", s.to_string());
    program
        .execute(&context)
        .unwrap_or_else(|_| Cel::String(Arc::new(s.to_string())))
}

/// Kubernetes' property-name escaping; `None` when the name has no CEL spelling.
pub fn escape_property(name: &str) -> Option<String> {
    let first = name.chars().next()?;
    if first.is_ascii_digit() {
        return None;
    }
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '_' if chars.peek() == Some(&'_') => {
                chars.next();
                out.push_str("__underscores__");
            }
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn property_names_escape_like_kubernetes() {
        let cases = [
            ("roleName", Some("roleName")),
            ("my-field", Some("my__dash__field")),
            ("a.b/c", Some("a__dot__b__slash__c")),
            ("x__y", Some("x__underscores__y")),
            ("namespace", Some("__namespace__")),
            ("1abc", None),
            ("a b", None),
            ("", None),
        ];
        for (name, want) in cases {
            assert_eq!(escape_property(name).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn numbers_follow_the_schema_type() {
        assert!(matches!(to_cel(&json!(3), None), Cel::Int(3)));
        assert!(
            matches!(to_cel(&json!(3), Some(&json!({"type": "number"}))), Cel::Float(f) if f == 3.0)
        );
        assert!(matches!(to_cel(&json!(1.5), None), Cel::Float(f) if f == 1.5));
    }

    #[test]
    fn map_keys_stay_raw_but_properties_are_escaped() {
        let schema = json!({"type": "object", "properties": {
            "tags": {"type": "object", "additionalProperties": {"type": "string"}}
        }});
        let Cel::Map(root) = to_cel(&json!({"tags": {"a-b": "x"}, "unknown": 1}), Some(&schema))
        else {
            panic!("not a map");
        };
        let Some(Cel::Map(tags)) = root.map.get(&Key::String(Arc::new("tags".into()))) else {
            panic!("tags missing");
        };
        assert!(tags.map.contains_key(&Key::String(Arc::new("a-b".into()))));
    }
}
