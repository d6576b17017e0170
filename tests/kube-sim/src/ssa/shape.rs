//! What server-side apply needs to know about a value's type, the way kube-apiserver derives it
//! for structured-merge-diff: maps are granular (or atomic), lists atomic, `set` or `map`
//! keyed; struct fields are "named" (they need not be owned to exist).
//!
//! CRDs are typed by their structural schema, with `metadata` as ObjectMeta. Built-in kinds
//! the simulator keeps schemaless are typed loosely: every object key is a named field and
//! every list is atomic, except lists under the names the real built-ins key by `name`
//! (`containers`, `initContainers`, `ephemeralContainers`, `env`, `ports`, `volumes`,
//! `volumeMounts`) when all their items carry a unique string `name`.

use serde_json::Value;

use super::fieldpath::Pe;

/// The list fields of built-in kinds merged item by item, keyed by `name`.
pub const NAME_KEYED_LISTS: [&str; 7] = [
    "containers",
    "initContainers",
    "ephemeralContainers",
    "env",
    "ports",
    "volumes",
    "volumeMounts",
];

use crate::meta::OBJECT_META_FIELDS;

const OWNER_REFERENCE_FIELDS: [&str; 6] = [
    "apiVersion",
    "kind",
    "name",
    "uid",
    "controller",
    "blockOwnerDeletion",
];

#[derive(Clone, Copy, Debug)]
pub enum Shape<'a> {
    /// The whole object: a CRD's schema (or none for a built-in) plus apiVersion/kind/metadata.
    Root(Option<&'a Value>),
    /// A node of a CRD's structural schema.
    Schema(&'a Value),
    /// Typed by the value itself (`x-kubernetes-preserve-unknown-fields`): granular maps with
    /// unnamed keys, atomic lists.
    Deduced,
    /// A leaf whatever the value (`x-kubernetes-int-or-string`, ObjectMeta scalars).
    Leaf,
    ObjectMeta,
    /// `labels` and `annotations`.
    StringMap,
    /// `finalizers`.
    StringSet,
    OwnerReferences,
    OwnerReference,
    /// A field of a schemaless built-in; `keyed` for the lists in [`NAME_KEYED_LISTS`].
    Builtin {
        keyed: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Scalar,
    Map { atomic: bool },
    List(ListType),
}

fn str_of<'a>(schema: &'a Value, key: &str) -> Option<&'a str> {
    schema.get(key).and_then(Value::as_str)
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn deduced(value: &Value) -> Kind {
    match value {
        Value::Object(_) => Kind::Map { atomic: false },
        Value::Array(_) => Kind::List(ListType::Atomic),
        _ => Kind::Scalar,
    }
}

/// The kind a value must have for a declared kind to apply; null fits any container.
fn fits(kind: Kind, value: &Value) -> Kind {
    let ok = matches!(
        (&kind, value),
        (_, Value::Null)
            | (Kind::Scalar, _)
            | (Kind::Map { .. }, Value::Object(_))
            | (Kind::List(_), Value::Array(_))
    );
    if ok { kind } else { Kind::Scalar }
}

impl<'a> Shape<'a> {
    pub fn kind(&self, value: &Value) -> Kind {
        match self {
            Shape::Root(_) | Shape::ObjectMeta | Shape::StringMap | Shape::OwnerReference => {
                fits(Kind::Map { atomic: false }, value)
            }
            Shape::Deduced => deduced(value),
            Shape::Leaf => Kind::Scalar,
            Shape::StringSet => fits(Kind::List(ListType::Set), value),
            Shape::OwnerReferences => {
                fits(Kind::List(ListType::Map(vec!["uid".to_string()])), value)
            }
            Shape::Builtin { keyed } => match value {
                Value::Array(items) if *keyed && keyed_by_name(items) => {
                    Kind::List(ListType::Map(vec!["name".to_string()]))
                }
                other => deduced(other),
            },
            Shape::Schema(schema) => {
                if flag(schema, "x-kubernetes-int-or-string") {
                    return Kind::Scalar;
                }
                let declared = match str_of(schema, "type") {
                    Some("object") => Kind::Map {
                        atomic: str_of(schema, "x-kubernetes-map-type") == Some("atomic"),
                    },
                    Some("array") => Kind::List(match str_of(schema, "x-kubernetes-list-type") {
                        Some("set") => ListType::Set,
                        Some("map") => ListType::Map(
                            schema
                                .get("x-kubernetes-list-map-keys")
                                .and_then(Value::as_array)
                                .map(|k| {
                                    k.iter()
                                        .filter_map(Value::as_str)
                                        .map(String::from)
                                        .collect()
                                })
                                .unwrap_or_default(),
                        ),
                        _ => ListType::Atomic,
                    }),
                    Some(_) => Kind::Scalar,
                    None => return deduced(value),
                };
                fits(declared, value)
            }
        }
    }

    /// Whether `key` is a declared struct field here rather than an entry of a map.
    pub fn named(&self, key: &str) -> bool {
        match self {
            Shape::Root(schema) => {
                matches!(key, "apiVersion" | "kind" | "metadata")
                    || schema.is_none_or(|s| has_property(s, key))
            }
            Shape::Schema(schema) => has_property(schema, key),
            Shape::ObjectMeta => OBJECT_META_FIELDS.contains(&key),
            Shape::OwnerReference => OWNER_REFERENCE_FIELDS.contains(&key),
            Shape::Builtin { .. } => true,
            Shape::Deduced
            | Shape::Leaf
            | Shape::StringMap
            | Shape::StringSet
            | Shape::OwnerReferences => false,
        }
    }

    pub fn field(&self, key: &str) -> Shape<'a> {
        match self {
            Shape::Root(schema) => match key {
                "metadata" => Shape::ObjectMeta,
                "apiVersion" | "kind" => Shape::Leaf,
                _ => match schema {
                    Some(s) => Shape::Schema(s).field(key),
                    None => Shape::Builtin { keyed: false },
                },
            },
            Shape::Schema(schema) => {
                if let Some(prop) = schema.get("properties").and_then(|p| p.get(key)) {
                    return Shape::Schema(prop);
                }
                match schema.get("additionalProperties") {
                    Some(extra @ Value::Object(_)) => Shape::Schema(extra),
                    _ => Shape::Deduced,
                }
            }
            Shape::ObjectMeta => match key {
                "labels" | "annotations" => Shape::StringMap,
                "finalizers" => Shape::StringSet,
                "ownerReferences" => Shape::OwnerReferences,
                _ => Shape::Leaf,
            },
            Shape::Builtin { .. } => match key {
                "metadata" => Shape::ObjectMeta,
                _ => Shape::Builtin {
                    keyed: NAME_KEYED_LISTS.contains(&key),
                },
            },
            Shape::StringMap | Shape::OwnerReference | Shape::Leaf | Shape::StringSet => {
                Shape::Leaf
            }
            Shape::Deduced | Shape::OwnerReferences => Shape::Deduced,
        }
    }

    pub fn item(&self) -> Shape<'a> {
        match self {
            Shape::Schema(schema) => match schema.get("items") {
                Some(items) => Shape::Schema(items),
                None => Shape::Deduced,
            },
            Shape::OwnerReferences => Shape::OwnerReference,
            Shape::StringSet => Shape::Leaf,
            Shape::Builtin { .. } => Shape::Builtin { keyed: false },
            _ => Shape::Deduced,
        }
    }

    /// The path element of a `set` or `map` list item, or why it has none.
    pub fn item_pe(&self, list: &ListType, item: &Value) -> Result<Pe, String> {
        match list {
            ListType::Atomic => Err("invalid indexing of non-associative list".to_string()),
            ListType::Set => match item {
                Value::Object(_) => Err(
                    "associative list without keys has an element that's a map type".to_string(),
                ),
                Value::Array(_) => {
                    Err("not supported: associative list with lists as elements".to_string())
                }
                Value::Null => Err(
                    "associative list without keys has an element that's an explicit null"
                        .to_string(),
                ),
                scalar => Ok(Pe::Value(scalar.clone())),
            },
            ListType::Map(keys) => {
                let Value::Object(map) = item else {
                    return Err(if item.is_null() {
                        "associative list with keys may not have a null element".to_string()
                    } else {
                        "associative list with keys may not have non-map elements".to_string()
                    });
                };
                let mut fields = Vec::new();
                for key in keys {
                    let value = match map.get(key) {
                        Some(v) => v.clone(),
                        None => self.key_default(key).ok_or_else(|| {
                            format!(
                                "associative list with keys has an element that omits key field {} (and doesn't have default value)",
                                crate::schema::go_quote(key)
                            )
                        })?,
                    };
                    fields.push((key.clone(), value));
                }
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Pe::Key(fields))
            }
        }
    }

    fn key_default(&self, key: &str) -> Option<Value> {
        match self {
            Shape::Schema(schema) => schema
                .get("items")
                .and_then(|i| i.get("properties"))
                .and_then(|p| p.get(key))
                .and_then(|k| k.get("default"))
                .cloned(),
            _ => None,
        }
    }
}

fn has_property(schema: &Value, key: &str) -> bool {
    schema
        .get("properties")
        .is_some_and(|p| p.get(key).is_some())
}

fn keyed_by_name(items: &[Value]) -> bool {
    let mut names = std::collections::BTreeSet::new();
    items.iter().all(|i| {
        i.get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| names.insert(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_follow_the_schema_and_fall_back_to_the_value() {
        let schema = json!({"type": "object", "properties": {
            "tags": {"type": "array", "x-kubernetes-list-type": "set"},
            "parts": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
            "plain": {"type": "array"},
            "sel": {"type": "object", "x-kubernetes-map-type": "atomic"},
            "free": {"x-kubernetes-preserve-unknown-fields": true},
            "port": {"x-kubernetes-int-or-string": true}
        }});
        let root = Shape::Root(Some(&schema));
        assert_eq!(
            root.field("tags").kind(&json!([])),
            Kind::List(ListType::Set)
        );
        assert_eq!(
            root.field("parts").kind(&json!([])),
            Kind::List(ListType::Map(vec!["name".into()]))
        );
        assert_eq!(
            root.field("plain").kind(&json!([])),
            Kind::List(ListType::Atomic)
        );
        assert_eq!(
            root.field("sel").kind(&json!({})),
            Kind::Map { atomic: true }
        );
        assert_eq!(
            root.field("free").kind(&json!({"a": 1})),
            Kind::Map { atomic: false }
        );
        assert_eq!(
            root.field("free").kind(&json!([1])),
            Kind::List(ListType::Atomic)
        );
        assert_eq!(root.field("port").kind(&json!({"a": 1})), Kind::Scalar);
        // A value of the wrong kind is a leaf.
        assert_eq!(root.field("tags").kind(&json!("x")), Kind::Scalar);
        assert!(root.named("metadata") && root.named("tags") && !root.named("nope"));
        assert!(root.field("metadata").named("labels"));
        assert!(!root.field("metadata").field("labels").named("team"));
    }

    #[test]
    fn builtins_key_well_known_lists_by_name_only_when_every_item_has_one() {
        let spec = Shape::Root(None).field("spec");
        let containers = spec.field("containers");
        assert_eq!(
            containers.kind(&json!([{"name": "a"}, {"name": "b"}])),
            Kind::List(ListType::Map(vec!["name".into()]))
        );
        assert_eq!(
            containers.kind(&json!([{"name": "a"}, {"image": "b"}])),
            Kind::List(ListType::Atomic)
        );
        assert_eq!(
            containers.kind(&json!([{"name": "a"}, {"name": "a"}])),
            Kind::List(ListType::Atomic)
        );
        assert_eq!(
            spec.field("args").kind(&json!([{"name": "a"}])),
            Kind::List(ListType::Atomic)
        );
        assert!(spec.named("anything"));
    }

    #[test]
    fn item_path_elements_use_keys_defaults_or_values() {
        let schema = json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name", "proto"],
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "proto": {"type": "string", "default": "TCP"}}}});
        let shape = Shape::Schema(&schema);
        let list = ListType::Map(vec!["name".into(), "proto".into()]);
        assert_eq!(
            shape.item_pe(&list, &json!({"proto": "UDP", "name": "a"})),
            Ok(Pe::Key(vec![
                ("name".into(), json!("a")),
                ("proto".into(), json!("UDP"))
            ]))
        );
        assert_eq!(
            shape.item_pe(&list, &json!({"name": "a"})),
            Ok(Pe::Key(vec![
                ("name".into(), json!("a")),
                ("proto".into(), json!("TCP"))
            ]))
        );
        assert!(
            shape
                .item_pe(&list, &json!({"proto": "x"}))
                .unwrap_err()
                .contains("omits key field \"name\"")
        );
        assert_eq!(
            shape.item_pe(&ListType::Set, &json!("x")),
            Ok(Pe::Value(json!("x")))
        );
        assert!(shape.item_pe(&ListType::Set, &json!({})).is_err());
    }
}
