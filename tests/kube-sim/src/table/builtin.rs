//! Columns of kube-apiserver's built-in printers (pkg/printers/internalversion) for the kinds the sim
//! serves where they are cheap to reproduce exactly; other built-ins get Name and Age.
//! The real server always renders the wide columns (priority 1); kubectl shows them with `-o wide`.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::age::age;
use super::column::{CREATION_DESCRIPTION, age_column, column, name_column};
use super::fields::{int_at, len_at, str_at};
use super::{event, pod, service};
use crate::resource::ResourceType;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Printer {
    ConfigMap,
    Secret,
    ServiceAccount,
    Namespace,
    Lease,
    Deployment,
    /// core/v1 Events, and events.k8s.io/v1 Events printed in their core form.
    Event,
    Pod,
    Service,
    /// Roles and ClusterRoles print their creation time, not an age.
    Role,
    RoleBinding,
    /// Kinds served by the generic table convertor (CRDs themselves): Name and "Created At".
    Default,
    NameAge,
}

pub fn printer_for(rt: &ResourceType) -> Printer {
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "ConfigMap") => Printer::ConfigMap,
        ("", "Secret") => Printer::Secret,
        ("", "ServiceAccount") => Printer::ServiceAccount,
        ("", "Namespace") => Printer::Namespace,
        ("coordination.k8s.io", "Lease") => Printer::Lease,
        ("apps", "Deployment") => Printer::Deployment,
        ("" | "events.k8s.io", "Event") => Printer::Event,
        ("", "Pod") => Printer::Pod,
        ("", "Service") => Printer::Service,
        ("rbac.authorization.k8s.io", "Role" | "ClusterRole") => Printer::Role,
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => Printer::RoleBinding,
        ("apiextensions.k8s.io", _) => Printer::Default,
        _ => Printer::NameAge,
    }
}

impl Printer {
    pub fn columns(self) -> Vec<Value> {
        match self {
            Printer::Event => return event::columns(),
            Printer::Pod => return pod::columns(),
            Printer::Service => return service::columns(),
            _ => {}
        }
        let mut cols = vec![name_column()];
        match self {
            Printer::ConfigMap => {
                cols.push(column("Data", "string", "", "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.", 0));
                cols.push(age_column());
            }
            Printer::Secret => {
                cols.push(column("Type", "string", "", "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types", 0));
                cols.push(column("Data", "string", "", "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4", 0));
                cols.push(age_column());
            }
            Printer::ServiceAccount => {
                cols.push(column("Secrets", "string", "", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", 0));
                cols.push(age_column());
            }
            Printer::Namespace => {
                cols.push(column(
                    "Status",
                    "string",
                    "",
                    "The status of the namespace",
                    0,
                ));
                cols.push(age_column());
            }
            Printer::Lease => {
                cols.push(column("Holder", "string", "", "The holder of the lease", 0));
                cols.push(age_column());
            }
            Printer::Deployment => {
                cols.push(column(
                    "Ready",
                    "string",
                    "",
                    "Number of the pod with ready state",
                    0,
                ));
                cols.push(column("Up-to-date", "string", "", "Total number of non-terminating pods targeted by this deployment that have the desired template spec.", 0));
                cols.push(column("Available", "string", "", "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.", 0));
                cols.push(age_column());
                cols.push(column(
                    "Containers",
                    "string",
                    "",
                    "Names of each container in the template.",
                    1,
                ));
                cols.push(column(
                    "Images",
                    "string",
                    "",
                    "Images referenced by each container in the template.",
                    1,
                ));
                cols.push(column("Selector", "string", "", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.", 1));
            }
            Printer::Role | Printer::Default => {
                cols.push(column("Created At", "date", "", CREATION_DESCRIPTION, 0));
            }
            Printer::RoleBinding => {
                cols.push(column("Role", "string", "", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error. This field is immutable.", 0));
                cols.push(age_column());
                cols.push(column("Users", "string", "", "Users in the roleBinding", 1));
                cols.push(column(
                    "Groups",
                    "string",
                    "",
                    "Groups in the roleBinding",
                    1,
                ));
                cols.push(column(
                    "ServiceAccounts",
                    "string",
                    "",
                    "ServiceAccounts in the roleBinding",
                    1,
                ));
            }
            Printer::NameAge => cols.push(age_column()),
            Printer::Event | Printer::Pod | Printer::Service => {}
        }
        cols
    }

    /// `row.conditions` of the real printers (only finished pods carry any).
    pub fn row_conditions(self, obj: &Value) -> Option<Value> {
        match self {
            Printer::Pod => pod::conditions(obj),
            _ => None,
        }
    }

    pub fn cells(self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let name = json!(str_at(obj, &["metadata", "name"]));
        let created = obj
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str);
        let age = json!(age(created, now));
        match self {
            Printer::ConfigMap => vec![
                name,
                json!(len_at(obj, "data") + len_at(obj, "binaryData")),
                age,
            ],
            Printer::Secret => vec![
                name,
                json!(str_at(obj, &["type"])),
                json!(len_at(obj, "data")),
                age,
            ],
            Printer::ServiceAccount => vec![name, json!(len_at(obj, "secrets")), age],
            Printer::Namespace => vec![name, json!(str_at(obj, &["status", "phase"])), age],
            Printer::Lease => vec![name, json!(str_at(obj, &["spec", "holderIdentity"])), age],
            Printer::Deployment => deployment_cells(obj, name, age),
            Printer::Role | Printer::Default => vec![name, json!(created_at(created))],
            Printer::RoleBinding => role_binding_cells(obj, name, age),
            Printer::NameAge => vec![name, age],
            Printer::Event => event::cells(obj, now),
            Printer::Pod => pod::cells(obj, now),
            Printer::Service => service::cells(obj, now),
        }
    }
}

/// The generic convertor prints the creation time itself, in UTC RFC 3339 with seconds.
fn created_at(created: Option<&str>) -> String {
    match created.and_then(|c| c.parse::<Timestamp>().ok()) {
        Some(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        // Go formats the zero time.
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

fn deployment_cells(obj: &Value, name: Value, age: Value) -> Vec<Value> {
    // An unset spec.replicas defaults to 1 on a real server.
    let desired = int_at(obj, "/spec/replicas").unwrap_or(1);
    let ready = int_at(obj, "/status/readyReplicas").unwrap_or(0);
    let containers: Vec<&Value> = obj
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    vec![
        name,
        json!(format!("{ready}/{desired}")),
        json!(int_at(obj, "/status/updatedReplicas").unwrap_or(0)),
        json!(int_at(obj, "/status/availableReplicas").unwrap_or(0)),
        age,
        json!(names.join(",")),
        json!(images.join(",")),
        json!(selector_string(obj.pointer("/spec/selector"))),
    ]
}

/// `labels.Selector.String()` of a LabelSelector: requirements sorted by key, comma-separated.
pub fn selector_string(selector: Option<&Value>) -> String {
    let Some(selector) = selector else {
        return String::new();
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in labels {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or(""))));
        }
    }
    for expr in selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = str_at(expr, &["key"]);
        let mut values: Vec<&str> = expr
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        values.sort();
        let text = match str_at(expr, &["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other} ({})", values.join(",")),
        };
        reqs.push((key.to_string(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

fn role_binding_cells(obj: &Value, name: Value, age: Value) -> Vec<Value> {
    let role = format!(
        "{}/{}",
        str_at(obj, &["roleRef", "kind"]),
        str_at(obj, &["roleRef", "name"])
    );
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for subject in obj
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let subject_name = str_at(subject, &["name"]).to_string();
        match str_at(subject, &["kind"]) {
            "User" => users.push(subject_name),
            "Group" => groups.push(subject_name),
            "ServiceAccount" => match str_at(subject, &["namespace"]) {
                "" => sas.push(subject_name),
                ns => sas.push(format!("{ns}/{subject_name}")),
            },
            _ => {}
        }
    }
    vec![
        name,
        json!(role),
        age,
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn meta(name: &str) -> Value {
        json!({"name": name, "namespace": "default", "creationTimestamp": "2026-11-29T11:00:00Z"})
    }

    #[test]
    fn every_printer_has_one_cell_per_column() {
        let printers = [
            Printer::ConfigMap,
            Printer::Secret,
            Printer::ServiceAccount,
            Printer::Namespace,
            Printer::Lease,
            Printer::Deployment,
            Printer::Event,
            Printer::Pod,
            Printer::Service,
            Printer::Role,
            Printer::RoleBinding,
            Printer::Default,
            Printer::NameAge,
        ];
        for p in printers {
            let cells = p.cells(&json!({"metadata": meta("x")}), now());
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
    }

    #[test]
    fn cells_match_the_real_printers() {
        let cases: &[(Printer, Value, Value)] = &[
            (
                Printer::ConfigMap,
                json!({"metadata": meta("cm"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
                json!(["cm", 3, "60m"]),
            ),
            (
                Printer::Secret,
                json!({"metadata": meta("s"), "type": "Opaque", "data": {"a": "MQ=="}}),
                json!(["s", "Opaque", 1, "60m"]),
            ),
            (
                Printer::Namespace,
                json!({"metadata": meta("ns"), "status": {"phase": "Active"}}),
                json!(["ns", "Active", "60m"]),
            ),
            (
                Printer::Lease,
                json!({"metadata": meta("l"), "spec": {"holderIdentity": "pod-1"}}),
                json!(["l", "pod-1", "60m"]),
            ),
            (
                Printer::Role,
                json!({"metadata": meta("r")}),
                json!(["r", "2026-11-29T11:00:00Z"]),
            ),
            (
                Printer::Deployment,
                json!({"metadata": meta("d"),
                       "spec": {"selector": {"matchLabels": {"tier": "web", "app": "x"}},
                                "template": {"spec": {"containers": [{"name": "a", "image": "img:1"}, {"name": "b", "image": "img:2"}]}}},
                       "status": {"readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}),
                json!([
                    "d",
                    "1/1",
                    1,
                    1,
                    "60m",
                    "a,b",
                    "img:1,img:2",
                    "app=x,tier=web"
                ]),
            ),
            (
                Printer::RoleBinding,
                json!({"metadata": meta("rb"), "roleRef": {"kind": "ClusterRole", "name": "view"},
                       "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "devs"},
                                    {"kind": "ServiceAccount", "name": "op", "namespace": "sys"},
                                    {"kind": "User", "name": "bob"}]}),
                json!([
                    "rb",
                    "ClusterRole/view",
                    "60m",
                    "alice, bob",
                    "devs",
                    "sys/op"
                ]),
            ),
        ];
        for (printer, obj, want) in cases {
            assert_eq!(&Value::from(printer.cells(obj, now())), want, "{printer:?}");
        }
    }

    #[test]
    fn selectors_print_like_labels_selector_string() {
        let sel = json!({"matchLabels": {"b": "2"}, "matchExpressions": [
            {"key": "a", "operator": "In", "values": ["y", "x"]},
            {"key": "c", "operator": "Exists"},
            {"key": "d", "operator": "DoesNotExist"},
            {"key": "e", "operator": "NotIn", "values": ["z"]}
        ]});
        assert_eq!(
            selector_string(Some(&sel)),
            "a in (x,y),b=2,c,!d,e notin (z)"
        );
        assert_eq!(selector_string(None), "");
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
        assert_eq!(printer_for(&rt("", "ConfigMap")), Printer::ConfigMap);
        assert_eq!(
            printer_for(&rt("rbac.authorization.k8s.io", "ClusterRole")),
            Printer::Role
        );
        assert_eq!(
            printer_for(&rt("apiextensions.k8s.io", "CustomResourceDefinition")),
            Printer::Default
        );
        assert_eq!(printer_for(&rt("", "Pod")), Printer::Pod);
        assert_eq!(printer_for(&rt("events.k8s.io", "Event")), Printer::Event);
        assert_eq!(printer_for(&rt("", "Endpoints")), Printer::NameAge);
    }
}
