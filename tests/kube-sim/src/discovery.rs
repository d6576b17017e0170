//! Discovery documents: aggregated v2 (`APIGroupDiscoveryList`, what kubectl 1.37 asks for first) and
//! the legacy forms (`APIVersions`, `APIGroupList`, `APIResourceList`), plus `/version`.
//! kubectl resolves short names (`wd`) and categories (`sim`) from these, so they must be complete.
//!
//! Order follows kube-apiserver: built-in groups as registered, then custom groups by name; versions
//! by Kubernetes version priority (the first is preferred); resources by name.

mod version_priority;

use serde_json::{Value, json};

use crate::resource::ResourceType;

pub use version_priority::sort_versions;

/// The Content-Type of an aggregated discovery answer; kubectl ignores the body without it.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

const STATUS_VERBS: [&str; 3] = ["get", "patch", "update"];

/// GET /api in aggregated form: the core group's versions and resources.
pub fn aggregated_core(types: &[ResourceType]) -> Value {
    let core: Vec<&ResourceType> = types.iter().filter(|t| t.group.is_empty()).collect();
    let items = if core.is_empty() {
        vec![]
    } else {
        vec![
            json!({"metadata": {"creationTimestamp": null}, "versions": aggregated_versions(&core)}),
        ]
    };
    discovery_list(items)
}

/// GET /apis in aggregated form: every named group.
pub fn aggregated_groups(types: &[ResourceType]) -> Value {
    let items = groups(types)
        .into_iter()
        .map(|(name, members)| {
            json!({
                "metadata": {"name": name, "creationTimestamp": null},
                "versions": aggregated_versions(&members),
            })
        })
        .collect();
    discovery_list(items)
}

/// GET /api in legacy form.
pub fn api_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    })
}

/// GET /apis in legacy form.
pub fn api_group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = groups(types)
        .into_iter()
        .map(|(name, members)| {
            let versions: Vec<Value> = versions_of(&members)
                .into_iter()
                .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                .collect();
            json!({"name": name, "versions": versions, "preferredVersion": versions[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// GET /api/v1 or /apis/G/V in legacy form, with a `plural/status` entry per status subresource;
/// `None` when nothing is served at that group/version.
pub fn api_resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let mut members: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if members.is_empty() {
        return None;
    }
    members.sort_by(|a, b| a.plural.cmp(&b.plural));
    let mut resources = Vec::new();
    for t in members {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": t.verbs,
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        resources.push(r);
        if t.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

/// GET /version.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "37",
        "emulationMajor": "1",
        "emulationMinor": "37",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "36",
        "gitVersion": "v1.37.0-kube-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch(std::env::consts::ARCH)),
    })
}

fn go_arch(rust_arch: &str) -> &str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

fn discovery_list(items: Vec<Value>) -> Value {
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

/// Named groups in serving order: built-ins as registered, then custom groups by name.
fn groups(types: &[ResourceType]) -> Vec<(String, Vec<&ResourceType>)> {
    let mut builtin: Vec<(String, Vec<&ResourceType>)> = Vec::new();
    let mut custom: Vec<(String, Vec<&ResourceType>)> = Vec::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        let bucket = if builtin.iter().any(|(g, _)| *g == t.group) || !t.custom {
            &mut builtin
        } else {
            &mut custom
        };
        match bucket.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, members)) => members.push(t),
            None => bucket.push((t.group.clone(), vec![t])),
        }
    }
    custom.sort_by(|a, b| a.0.cmp(&b.0));
    builtin.extend(custom);
    builtin
}

fn versions_of(members: &[&ResourceType]) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for t in members {
        if !versions.contains(&t.version) {
            versions.push(t.version.clone());
        }
    }
    sort_versions(&mut versions);
    versions
}

fn aggregated_versions(members: &[&ResourceType]) -> Vec<Value> {
    versions_of(members)
        .into_iter()
        .map(|v| {
            let mut in_version: Vec<&&ResourceType> =
                members.iter().filter(|t| t.version == v).collect();
            in_version.sort_by(|a, b| a.plural.cmp(&b.plural));
            let resources: Vec<Value> = in_version
                .into_iter()
                .map(|t| aggregated_resource(t))
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect()
}

fn aggregated_resource(t: &ResourceType) -> Value {
    let kind = json!({"group": t.group, "version": t.version, "kind": t.kind});
    let mut r = json!({
        "resource": t.plural,
        "responseKind": kind,
        "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": t.singular,
        "verbs": t.verbs,
    });
    if !t.short_names.is_empty() {
        r["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        r["categories"] = json!(t.categories);
    }
    if t.status_subresource {
        r["subresources"] =
            json!([{"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}]);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(group: &str, version: &str, kind: &str, plural: &str, custom: bool) -> ResourceType {
        ResourceType {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            verbs: [
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            status_subresource: false,
            schema: None,
            printer_columns: vec![],
            custom,
        }
    }

    fn widget() -> ResourceType {
        ResourceType {
            short_names: vec!["wd".into()],
            categories: vec!["all".into(), "sim".into()],
            status_subresource: true,
            ..rt("test.kube-sim.dev", "v1", "Widget", "widgets", true)
        }
    }

    fn types() -> Vec<ResourceType> {
        vec![
            rt("", "v1", "Namespace", "namespaces", false),
            rt("", "v1", "ConfigMap", "configmaps", false),
            rt("apps", "v1", "Deployment", "deployments", false),
            rt("zeta.dev", "v1alpha1", "Zed", "zeds", true),
            widget(),
            rt("test.kube-sim.dev", "v1beta1", "Widget", "widgets", true),
            rt("coordination.k8s.io", "v1", "Lease", "leases", false),
        ]
    }

    #[test]
    fn aggregated_groups_describe_a_crd_with_status() {
        let doc = aggregated_groups(&types());
        assert_eq!(doc["kind"], "APIGroupDiscoveryList");
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
        let names: Vec<&str> = doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "apps",
                "coordination.k8s.io",
                "test.kube-sim.dev",
                "zeta.dev"
            ]
        );
        let test_group = &doc["items"][2];
        assert_eq!(test_group["versions"][0]["version"], "v1");
        assert_eq!(test_group["versions"][1]["version"], "v1beta1");
        assert_eq!(test_group["versions"][0]["freshness"], "Current");
        assert_eq!(
            test_group["versions"][0]["resources"][0],
            json!({
                "resource": "widgets",
                "responseKind": {"group": "test.kube-sim.dev", "version": "v1", "kind": "Widget"},
                "scope": "Namespaced",
                "singularResource": "widget",
                "verbs": ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"],
                "shortNames": ["wd"],
                "categories": ["all", "sim"],
                "subresources": [{
                    "subresource": "status",
                    "responseKind": {"group": "test.kube-sim.dev", "version": "v1", "kind": "Widget"},
                    "verbs": ["get", "patch", "update"]
                }]
            })
        );
    }

    #[test]
    fn aggregated_core_has_one_unnamed_group() {
        let doc = aggregated_core(&types());
        let items = doc["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0]["metadata"].get("name").is_none());
        let resources: Vec<&str> = items[0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resource"].as_str().unwrap())
            .collect();
        assert_eq!(resources, ["configmaps", "namespaces"]);
        assert_eq!(
            items[0]["versions"][0]["resources"][0]["responseKind"]["group"],
            ""
        );
        assert!(
            items[0]["versions"][0]["resources"][0]
                .get("subresources")
                .is_none()
        );
    }

    #[test]
    fn legacy_group_list_prefers_the_highest_priority_version() {
        let doc = api_group_list(&types());
        assert_eq!(doc["kind"], "APIGroupList");
        let test_group = doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "test.kube-sim.dev")
            .unwrap();
        assert_eq!(
            test_group["versions"],
            json!([{"groupVersion": "test.kube-sim.dev/v1", "version": "v1"}, {"groupVersion": "test.kube-sim.dev/v1beta1", "version": "v1beta1"}])
        );
        assert_eq!(
            test_group["preferredVersion"],
            json!({"groupVersion": "test.kube-sim.dev/v1", "version": "v1"})
        );
        assert!(
            doc["groups"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["name"] != "")
        );
    }

    #[test]
    fn legacy_resource_list_has_status_entries() {
        let doc = api_resource_list(&types(), "test.kube-sim.dev", "v1").unwrap();
        assert_eq!(doc["groupVersion"], "test.kube-sim.dev/v1");
        assert_eq!(doc["resources"][0]["name"], "widgets");
        assert_eq!(doc["resources"][0]["shortNames"], json!(["wd"]));
        assert_eq!(doc["resources"][0]["categories"], json!(["all", "sim"]));
        assert_eq!(doc["resources"][0]["singularName"], "widget");
        assert_eq!(
            doc["resources"][1],
            json!({"name": "widgets/status", "singularName": "", "namespaced": true, "kind": "Widget", "verbs": ["get", "patch", "update"]})
        );
        let core = api_resource_list(&types(), "", "v1").unwrap();
        assert_eq!(core["groupVersion"], "v1");
        assert!(api_resource_list(&types(), "test.kube-sim.dev", "v2").is_none());
        assert!(api_resource_list(&types(), "nope", "v1").is_none());
    }

    #[test]
    fn version_document() {
        let v = version_info();
        assert_eq!(v["gitVersion"], "v1.37.0-kube-sim");
        assert_eq!(v["major"], "1");
        assert_eq!(v["minor"], "37");
        assert!(v["platform"].as_str().unwrap().contains('/'));
        assert_eq!(api_versions()["versions"], json!(["v1"]));
    }
}
