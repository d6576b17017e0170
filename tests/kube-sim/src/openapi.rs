//! OpenAPI v3: the `/openapi/v3` index and one document per group-version. kubectl needs them for
//! plain `kubectl apply` (it checks the PATCH operation accepts `fieldValidation` before relying on
//! server-side validation) and for `kubectl explain`. Each index entry carries a hash of its document,
//! so kubectl's HTTP cache refetches a group-version as soon as a CRD changes it.

mod kind_schema;
mod meta_schemas;
mod paths;

use serde_json::{Map, Value, json};

use crate::resource::ResourceType;

pub use kind_schema::definition_prefix;
pub use paths::operation_group;

/// GET /openapi/v3.
pub fn index(types: &[ResourceType]) -> Value {
    let mut gvs: Vec<(String, String)> = Vec::new();
    for t in types {
        let gv = (t.group.clone(), t.version.clone());
        if !gvs.contains(&gv) {
            gvs.push(gv);
        }
    }
    let mut entries = Map::new();
    for (group, version) in gvs {
        if let Some(doc) = group_version(types, &group, &version) {
            let key = index_key(&group, &version);
            let url = format!("/openapi/v3/{key}?hash={}", document_hash(&doc));
            entries.insert(key, json!({"serverRelativeURL": url}));
        }
    }
    json!({"paths": entries})
}

/// GET /openapi/v3/apis/G/V (or /openapi/v3/api/v1 for core); `None` when the group-version is not served.
pub fn group_version(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let members: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.version == version)
        .collect();
    if members.is_empty() {
        return None;
    }
    let mut schemas = meta_schemas::meta_schemas(group, version);
    let mut path_items = Map::new();
    for t in &members {
        schemas.insert(kind_schema::kind_name(t), kind_schema::kind_schema(t));
        schemas.insert(kind_schema::list_name(t), kind_schema::list_schema(t));
        paths::add_paths(t, &mut path_items);
    }
    let title = if members.iter().any(|t| t.custom) {
        "Kubernetes CRD Swagger"
    } else {
        "Kubernetes"
    };
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": title, "version": "v1.37.0"},
        "paths": path_items,
        "components": {"schemas": schemas},
    }))
}

/// The index key (`api/v1`, `apis/G/V`), which is also the document's path under /openapi/v3/.
pub fn index_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A stable content hash (FNV-1a, 64 bits) as 16 upper-case hex digits, like the server's etags.
pub fn document_hash(doc: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in doc.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget_crd_type() -> ResourceType {
        let text = include_str!("../tests/fixtures/widgets-crd.yaml");
        let crd: Value = serde_saphyr::from_str(text).unwrap();
        let v = &crd["spec"]["versions"][0];
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
            status_subresource: true,
            schema: Some(v["schema"]["openAPIV3Schema"].clone()),
            printer_columns: v["additionalPrinterColumns"].as_array().unwrap().clone(),
            custom: true,
        }
    }

    fn configmap_type() -> ResourceType {
        ResourceType {
            group: String::new(),
            kind: "ConfigMap".into(),
            list_kind: "ConfigMapList".into(),
            plural: "configmaps".into(),
            singular: "configmap".into(),
            status_subresource: false,
            schema: None,
            printer_columns: vec![],
            custom: false,
            ..widget_crd_type()
        }
    }

    fn namespace_type() -> ResourceType {
        ResourceType {
            kind: "Namespace".into(),
            list_kind: "NamespaceList".into(),
            plural: "namespaces".into(),
            singular: "namespace".into(),
            namespaced: false,
            status_subresource: true,
            ..configmap_type()
        }
    }

    fn types() -> Vec<ResourceType> {
        vec![configmap_type(), namespace_type(), widget_crd_type()]
    }

    /// What kubectl's QueryParamVerifierV3 checks before it trusts server-side field validation.
    fn patch_supports_field_validation(
        doc: &Value,
        group: &str,
        version: &str,
        kind: &str,
    ) -> bool {
        doc["paths"].as_object().unwrap().values().any(|item| {
            let Some(patch) = item.get("patch") else {
                return false;
            };
            let gvk = &patch["x-kubernetes-group-version-kind"];
            gvk["group"] == group
                && gvk["version"] == version
                && gvk["kind"] == kind
                && patch["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        })
    }

    #[test]
    fn index_lists_every_group_version_with_a_content_hash() {
        let idx = index(&types());
        let paths = idx["paths"].as_object().unwrap();
        assert_eq!(
            paths.keys().collect::<Vec<_>>(),
            ["api/v1", "apis/test.kube-sim.dev/v1"]
        );
        let url = paths["apis/test.kube-sim.dev/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        let doc = group_version(&types(), "test.kube-sim.dev", "v1").unwrap();
        assert_eq!(
            url,
            format!(
                "/openapi/v3/apis/test.kube-sim.dev/v1?hash={}",
                document_hash(&doc)
            )
        );
        assert_eq!(document_hash(&doc).len(), 16);

        let mut changed = widget_crd_type();
        changed.schema.as_mut().unwrap()["description"] = json!("changed");
        let idx2 = index(&[configmap_type(), namespace_type(), changed]);
        assert_ne!(
            idx2["paths"]["apis/test.kube-sim.dev/v1"],
            idx["paths"]["apis/test.kube-sim.dev/v1"]
        );
        assert_eq!(idx2["paths"]["api/v1"], idx["paths"]["api/v1"]);
    }

    #[test]
    fn crd_document_supports_field_validation_and_explain() {
        let doc = group_version(&types(), "test.kube-sim.dev", "v1").unwrap();
        assert_eq!(doc["openapi"], "3.0.0");
        assert!(patch_supports_field_validation(
            &doc,
            "test.kube-sim.dev",
            "v1",
            "Widget"
        ));
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/apis/test.kube-sim.dev/v1/namespaces/{namespace}/widgets",
            "/apis/test.kube-sim.dev/v1/namespaces/{namespace}/widgets/{name}",
            "/apis/test.kube-sim.dev/v1/namespaces/{namespace}/widgets/{name}/status",
            "/apis/test.kube-sim.dev/v1/widgets",
        ] {
            assert!(paths.contains_key(p), "{p}");
        }
        let item = &paths["/apis/test.kube-sim.dev/v1/namespaces/{namespace}/widgets/{name}"];
        assert_eq!(
            item["patch"]["operationId"],
            "patchTestKubeSimDevV1NamespacedWidget"
        );
        assert_eq!(item["patch"]["tags"][0], "testKubeSimDev_v1");
        let content = item["patch"]["requestBody"]["content"].as_object().unwrap();
        assert!(content.contains_key("application/apply-patch+yaml"));
        assert!(content.contains_key("application/merge-patch+json"));
        assert!(!content.contains_key("application/strategic-merge-patch+json"));
        assert_eq!(
            paths["/apis/test.kube-sim.dev/v1/widgets"]["get"]["operationId"],
            "listTestKubeSimDevV1WidgetForAllNamespaces"
        );

        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let widget = &schemas["dev.kube-sim.test.v1.Widget"];
        assert_eq!(
            widget["x-kubernetes-group-version-kind"],
            json!([{"group": "test.kube-sim.dev", "kind": "Widget", "version": "v1"}])
        );
        assert_eq!(
            widget["properties"]["spec"]["description"],
            "The desired state of the widget."
        );
        assert_eq!(
            widget["properties"]["spec"]["properties"]["color"]["enum"],
            json!(["red", "green", "blue"])
        );
        assert!(schemas.contains_key("dev.kube-sim.test.v1.WidgetList"));
        assert!(schemas.contains_key("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
        assert_every_ref_resolves(&doc);
    }

    #[test]
    fn core_document_has_cluster_and_namespaced_paths() {
        let doc = group_version(&types(), "", "v1").unwrap();
        assert!(patch_supports_field_validation(&doc, "", "v1", "ConfigMap"));
        assert!(patch_supports_field_validation(&doc, "", "v1", "Namespace"));
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.contains_key("/api/v1/namespaces/{namespace}/configmaps/{name}"));
        assert!(paths.contains_key("/api/v1/namespaces/{name}"));
        assert!(paths.contains_key("/api/v1/namespaces/{name}/status"));
        assert!(paths.contains_key("/api/v1/configmaps"));
        assert!(!paths.contains_key("/api/v1/namespaces/{namespace}/namespaces"));
        assert_eq!(
            paths["/api/v1/namespaces/{name}"]["get"]["operationId"],
            "readCoreV1Namespace"
        );
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert_eq!(
            schemas["io.k8s.api.core.v1.ConfigMap"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        assert_every_ref_resolves(&doc);
        assert!(group_version(&types(), "apps", "v1").is_none());
    }

    #[test]
    fn object_meta_keeps_the_patch_extensions() {
        let doc = group_version(&types(), "", "v1").unwrap();
        let meta = &doc["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
            ["properties"];
        assert_eq!(
            meta["ownerReferences"]["x-kubernetes-patch-merge-key"],
            "uid"
        );
        assert_eq!(
            meta["ownerReferences"]["x-kubernetes-patch-strategy"],
            "merge"
        );
        assert_eq!(meta["finalizers"]["x-kubernetes-patch-strategy"], "merge");
    }

    fn assert_every_ref_resolves(doc: &Value) {
        fn walk(v: &Value, schemas: &Map<String, Value>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        let name = r
                            .strip_prefix("#/components/schemas/")
                            .unwrap_or_else(|| panic!("odd ref {r}"));
                        assert!(schemas.contains_key(name), "dangling {r}");
                    }
                    m.values().for_each(|c| walk(c, schemas));
                }
                Value::Array(a) => a.iter().for_each(|c| walk(c, schemas)),
                _ => {}
            }
        }
        walk(doc, doc["components"]["schemas"].as_object().unwrap());
    }
}
