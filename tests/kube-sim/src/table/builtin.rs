//! Columns of built-in kinds. kube-apiserver has a printer for every built-in; the sim keeps only
//! the one a project test reads: Events (`kubectl get events` in tests/e2e/brownfield.rs). Every
//! other built-in prints Name and Age, which kubectl shows as it would any server's table.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::age::age;
use super::column::{age_column, name_column};
use super::event;
use super::fields::str_at;
use crate::resource::ResourceType;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Printer {
    /// core/v1 Events, and events.k8s.io/v1 Events printed in their core form.
    Event,
    NameAge,
}

pub fn printer_for(rt: &ResourceType) -> Printer {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("" | "events.k8s.io", "Event") => Printer::Event,
        _ => Printer::NameAge,
    }
}

impl Printer {
    pub fn columns(self) -> Vec<Value> {
        match self {
            Printer::Event => event::columns(),
            Printer::NameAge => vec![name_column(), age_column()],
        }
    }

    pub fn cells(self, obj: &Value, now: Timestamp) -> Vec<Value> {
        match self {
            Printer::Event => event::cells(obj, now),
            Printer::NameAge => {
                let created = obj
                    .pointer("/metadata/creationTimestamp")
                    .and_then(Value::as_str);
                vec![
                    json!(str_at(obj, &["metadata", "name"])),
                    json!(age(created, now)),
                ]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn every_printer_has_one_cell_per_column() {
        let meta = json!({"name": "x", "namespace": "default", "creationTimestamp": "2026-11-29T11:00:00Z"});
        for p in [Printer::Event, Printer::NameAge] {
            let cells = p.cells(&json!({"metadata": meta}), now());
            assert_eq!(cells.len(), p.columns().len(), "{p:?}");
            // Events print their name last; every other kind first.
            let at = p
                .columns()
                .iter()
                .position(|c| c["format"] == "name")
                .unwrap();
            assert_eq!(p.columns()[at]["name"], "Name", "{p:?}");
            assert_eq!(cells[at], "x", "{p:?}");
        }
        assert_eq!(
            Printer::NameAge.cells(&json!({"metadata": meta}), now()),
            [json!("x"), json!("60m")]
        );
    }

    #[test]
    fn kinds_map_to_their_printers() {
        let rt = |group: &str, kind: &str| ResourceType {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            plural: String::new(),
            singular: String::new(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            verbs: vec![],
            status_subresource: false,
            schema: None,
            printer_columns: vec![],
            custom: false,
        };
        assert_eq!(printer_for(&rt("", "Event")), Printer::Event);
        assert_eq!(printer_for(&rt("events.k8s.io", "Event")), Printer::Event);
        assert_eq!(printer_for(&rt("", "ConfigMap")), Printer::NameAge);
        assert_eq!(
            printer_for(&rt("apiextensions.k8s.io", "CustomResourceDefinition")),
            Printer::NameAge
        );
    }
}
