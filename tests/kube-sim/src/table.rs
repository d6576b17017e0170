//! `meta.k8s.io/v1` Table responses (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), which
//! `kubectl get` prints verbatim. Custom resources follow apiextensions-apiserver's table convertor:
//! a Name column, then the CRD's printer columns (or Age when it defines none), each cell the first
//! JSONPath match. Built-ins: Events as kube-apiserver prints them, every other kind Name and Age.

pub mod age;
mod builtin;
pub mod cell;
mod column;
mod event;
mod fields;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::jsonpath::{self, JsonPath};
use crate::resource::ResourceType;

pub use column::{CREATION_DESCRIPTION, NAME_DESCRIPTION};

/// The `includeObject` values kube-apiserver accepts; an empty value means `Metadata`.
pub const INCLUDE_OBJECT_VALUES: [&str; 3] = ["None", "Metadata", "Object"];

/// The Table for `objects` (one for a GET, all items for a LIST). `list_meta` becomes the table's
/// metadata (resourceVersion, continue). `include_object` is "Object", "Metadata" (also "") or "None".
pub fn table(
    rt: &ResourceType,
    objects: &[Value],
    list_meta: Value,
    include_object: &str,
    now: Timestamp,
) -> Value {
    let (columns, rows): (Vec<Value>, Vec<Value>) = if rt.custom {
        let printer = CustomPrinter::new(&rt.printer_columns);
        let rows = objects
            .iter()
            .map(|o| row(printer.cells(o, now), o, include_object))
            .collect();
        (printer.columns(), rows)
    } else {
        let printer = builtin::printer_for(rt);
        let rows = objects
            .iter()
            .map(|o| {
                // Built-in printers read the internal (stored) form, as kube-apiserver's do:
                // events.k8s.io Events are printed as core Events.
                let stored = crate::conversion::to_storage(rt, o.clone());
                row(printer.cells(&stored, now), o, include_object)
            })
            .collect();
        (printer.columns(), rows)
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": if list_meta.is_null() { json!({}) } else { list_meta },
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// Checks a CRD version's `additionalPrinterColumns` the way the server does when it builds the
/// table convertor, so a CRD whose columns the sim cannot evaluate is refused instead of printing blanks.
pub fn check_printer_columns(columns: &[Value]) -> Result<(), String> {
    for col in columns {
        let path = col.get("jsonPath").and_then(Value::as_str).unwrap_or("");
        if path.is_empty() || !path.starts_with('.') {
            return Err(format!(
                "printer column jsonPath {path:?} must be a simple json path starting with ."
            ));
        }
        jsonpath::parse(path)?;
    }
    Ok(())
}

fn row(cells: Vec<Value>, obj: &Value, include_object: &str) -> Value {
    json!({"cells": cells, "object": row_object(obj, include_object)})
}

fn row_object(obj: &Value, include_object: &str) -> Value {
    match include_object {
        "Object" => obj.clone(),
        "None" => Value::Null,
        _ => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
    }
}

struct CustomColumn {
    definition: Value,
    column_type: String,
    /// `None` when the path cannot be parsed: the cell stays empty (the CRD should have been refused).
    path: Option<JsonPath>,
}

struct CustomPrinter {
    columns: Vec<CustomColumn>,
}

impl CustomPrinter {
    fn new(printer_columns: &[Value]) -> Self {
        let default_age = [json!({
            "name": "Age",
            "type": "date",
            "description": CREATION_DESCRIPTION,
            "jsonPath": ".metadata.creationTimestamp",
        })];
        let source = if printer_columns.is_empty() {
            &default_age[..]
        } else {
            printer_columns
        };
        let columns = source
            .iter()
            .map(|col| {
                let text = |k: &str| col.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                let json_path = text("jsonPath");
                let description = match text("description") {
                    d if d.is_empty() => format!(
                        "Custom resource definition column (in JSONPath format): {json_path}"
                    ),
                    d => d,
                };
                let column_type = text("type");
                CustomColumn {
                    definition: json!({
                        "name": text("name"),
                        "type": column_type,
                        "format": text("format"),
                        "description": description,
                        "priority": col.get("priority").and_then(Value::as_i64).unwrap_or(0),
                    }),
                    column_type,
                    path: jsonpath::parse(&json_path).ok(),
                }
            })
            .collect();
        CustomPrinter { columns }
    }

    fn columns(&self) -> Vec<Value> {
        let name = json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0});
        std::iter::once(name)
            .chain(self.columns.iter().map(|c| c.definition.clone()))
            .collect()
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let name = obj
            .pointer("/metadata/name")
            .cloned()
            .unwrap_or_else(|| json!(""));
        std::iter::once(name)
            .chain(
                self.columns
                    .iter()
                    .map(|c| match c.path.as_ref().and_then(|p| p.first(obj)) {
                        Some(v) => cell::cell(&c.column_type, v, now),
                        None => Value::Null,
                    }),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget_type(columns: Vec<Value>) -> ResourceType {
        ResourceType {
            group: "test.kube-sim.dev".into(),
            version: "v1".into(),
            kind: "Widget".into(),
            list_kind: "WidgetList".into(),
            plural: "widgets".into(),
            singular: "widget".into(),
            namespaced: true,
            short_names: vec!["wd".into()],
            categories: vec!["all".into(), "sim".into()],
            verbs: vec![],
            status_subresource: true,
            schema: None,
            printer_columns: columns,
            custom: true,
        }
    }

    fn widget_columns() -> Vec<Value> {
        vec![
            json!({"name": "Color", "type": "string", "description": "The widget's colour.", "jsonPath": ".spec.color"}),
            json!({"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1}),
            json!({"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}),
            json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}),
        ]
    }

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn widget(name: &str, ready: Option<&str>) -> Value {
        let mut w = json!({
            "apiVersion": "test.kube-sim.dev/v1", "kind": "Widget",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": "7", "creationTimestamp": "2026-11-29T11:59:25Z"},
            "spec": {"color": "red", "size": 3}
        });
        if let Some(r) = ready {
            w["status"] = json!({"conditions": [{"type": "Synced", "status": "True"}, {"type": "Ready", "status": r}]});
        }
        w
    }

    #[test]
    fn custom_resources_get_name_then_the_crd_columns() {
        let t = table(
            &widget_type(widget_columns()),
            &[widget("a", Some("False")), widget("b", None)],
            json!({"resourceVersion": "9"}),
            "",
            now(),
        );
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"], json!({"resourceVersion": "9"}));
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Color", "Size", "Ready", "Age"]);
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(
            t["columnDefinitions"][1]["description"],
            "The widget's colour."
        );
        assert_eq!(t["columnDefinitions"][2]["priority"], 1);
        assert_eq!(
            t["columnDefinitions"][2]["description"],
            "Custom resource definition column (in JSONPath format): .spec.size"
        );
        assert_eq!(t["columnDefinitions"][4]["type"], "date");
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["a", "red", 3, "False", "35s"])
        );
        assert_eq!(t["rows"][1]["cells"], json!(["b", "red", 3, null, "35s"]));
    }

    #[test]
    fn a_crd_without_columns_shows_name_and_age() {
        let t = table(
            &widget_type(vec![]),
            &[widget("a", None)],
            json!({}),
            "None",
            now(),
        );
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Age"]);
        assert_eq!(t["columnDefinitions"][1]["type"], "date");
        assert_eq!(t["rows"][0]["cells"], json!(["a", "35s"]));
        assert_eq!(t["rows"][0]["object"], Value::Null);
    }

    #[test]
    fn rows_carry_the_object_asked_for() {
        let rt = widget_type(widget_columns());
        let w = widget("a", None);
        let metadata = table(&rt, std::slice::from_ref(&w), json!({}), "Metadata", now());
        assert_eq!(
            metadata["rows"][0]["object"],
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": w["metadata"]})
        );
        let default = table(&rt, std::slice::from_ref(&w), json!({}), "", now());
        assert_eq!(default["rows"][0]["object"], metadata["rows"][0]["object"]);
        let full = table(&rt, std::slice::from_ref(&w), json!({}), "Object", now());
        assert_eq!(full["rows"][0]["object"], w);
    }

    #[test]
    fn builtins_without_a_printer_show_name_and_age() {
        let rt = ResourceType {
            group: String::new(),
            kind: "ConfigMap".into(),
            custom: false,
            ..widget_type(vec![])
        };
        let cm = json!({"metadata": {"name": "c", "creationTimestamp": "2026-11-29T11:00:00Z"}, "data": {"k": "v"}});
        let t = table(&rt, &[cm], json!({"resourceVersion": "3"}), "", now());
        assert_eq!(t["rows"][0]["cells"], json!(["c", "60m"]));
    }

    #[test]
    fn printer_columns_are_checked() {
        assert!(check_printer_columns(&widget_columns()).is_ok());
        let bad = [
            json!({"name": "X", "type": "string", "jsonPath": "spec.x"}),
            json!({"name": "X", "type": "string", "jsonPath": ""}),
            json!({"name": "X", "type": "string", "jsonPath": ".spec..x"}),
        ];
        for col in bad {
            assert!(
                check_printer_columns(std::slice::from_ref(&col)).is_err(),
                "{col}"
            );
        }
    }
}
