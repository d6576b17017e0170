//! Component schemas for the kinds of one group-version: a CRD's `openAPIV3Schema` completed the way
//! apiextensions-apiserver publishes it (apiVersion, kind, metadata as ObjectMeta, the GVK extension),
//! its List kind, and permissive schemas for the built-ins the sim stores without a schema.

use serde_json::{Map, Value, json};

use super::meta_schemas::{
    LIST_META_DESCRIPTION, OBJECT_META_DESCRIPTION, api_version_property, kind_property, meta_ref,
    ref_property,
};
use crate::resource::ResourceType;

/// The component name prefix of a group-version, as kube-apiserver names its definitions:
/// Go package paths for built-ins, the reversed group for custom resources.
pub fn definition_prefix(group: &str, version: &str, custom: bool) -> String {
    if custom {
        let reversed: Vec<&str> = group.split('.').rev().collect();
        return format!("{}.{version}", reversed.join("."));
    }
    match group {
        "" => format!("io.k8s.api.core.{version}"),
        "apiextensions.k8s.io" => {
            format!("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}")
        }
        "apiregistration.k8s.io" => {
            format!("io.k8s.kube-aggregator.pkg.apis.apiregistration.{version}")
        }
        g => {
            let package = g
                .strip_suffix(".k8s.io")
                .map_or(g, |p| p.split('.').next().unwrap_or(p));
            format!("io.k8s.api.{package}.{version}")
        }
    }
}

pub fn kind_name(rt: &ResourceType) -> String {
    format!(
        "{}.{}",
        definition_prefix(&rt.group, &rt.version, rt.custom),
        rt.kind
    )
}

pub fn list_name(rt: &ResourceType) -> String {
    format!(
        "{}.{}",
        definition_prefix(&rt.group, &rt.version, rt.custom),
        rt.list_kind
    )
}

pub fn component_ref(name: &str) -> String {
    format!("#/components/schemas/{name}")
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!([{"group": group, "kind": kind, "version": version}])
}

/// The schema of the kind itself.
pub fn kind_schema(rt: &ResourceType) -> Value {
    let mut schema = match &rt.schema {
        Some(s) => {
            let mut s = s.clone();
            complete_object(&mut s);
            embed_resources(&mut s);
            s
        }
        // Built-ins are stored schemaless: publish them as open objects so nothing is rejected or
        // pruned on their behalf, with the envelope fields `kubectl explain` can still describe.
        None => {
            let mut s = json!({
                "type": "object",
                "description": format!("{} (kube-sim serves this kind without a schema: every field is kept as written).", rt.kind),
                "x-kubernetes-preserve-unknown-fields": true,
            });
            complete_object(&mut s);
            s
        }
    };
    schema["x-kubernetes-group-version-kind"] = gvk(&rt.group, &rt.version, &rt.kind);
    schema
}

/// The `<Kind>List` schema.
pub fn list_schema(rt: &ResourceType) -> Value {
    json!({
        "description": format!("{} is a list of {}", rt.list_kind, rt.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": api_version_property(),
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", rt.plural),
                "type": "array",
                "items": {"$ref": component_ref(&kind_name(rt))},
            },
            "kind": kind_property(),
            "metadata": ref_property(&meta_ref("ListMeta"), LIST_META_DESCRIPTION, true),
        },
        "x-kubernetes-group-version-kind": gvk(&rt.group, &rt.version, &rt.list_kind),
    })
}

/// Adds apiVersion and kind (keeping any the author wrote) and makes metadata the ObjectMeta reference.
fn complete_object(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(props) = props.as_object_mut() else {
        return;
    };
    props
        .entry("apiVersion")
        .or_insert_with(api_version_property);
    props.entry("kind").or_insert_with(kind_property);
    props.insert(
        "metadata".into(),
        ref_property(&meta_ref("ObjectMeta"), OBJECT_META_DESCRIPTION, true),
    );
}

/// `x-kubernetes-embedded-resource` objects get the same envelope, as apiextensions does.
fn embed_resources(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    for (key, child) in obj.iter_mut() {
        match key.as_str() {
            "properties" | "patternProperties" => {
                if let Some(children) = child.as_object_mut() {
                    for sub in children.values_mut() {
                        embed_one(sub);
                    }
                }
            }
            "items" | "additionalProperties" | "not" => embed_one(child),
            "allOf" | "anyOf" | "oneOf" => {
                if let Some(items) = child.as_array_mut() {
                    items.iter_mut().for_each(embed_one);
                }
            }
            _ => {}
        }
    }
}

fn embed_one(sub: &mut Value) {
    if sub
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true)
    {
        complete_object(sub);
    }
    embed_resources(sub);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_names_follow_kube_apiserver() {
        let cases = [
            ("", "v1", false, "io.k8s.api.core.v1"),
            ("apps", "v1", false, "io.k8s.api.apps.v1"),
            (
                "rbac.authorization.k8s.io",
                "v1",
                false,
                "io.k8s.api.rbac.v1",
            ),
            (
                "coordination.k8s.io",
                "v1",
                false,
                "io.k8s.api.coordination.v1",
            ),
            (
                "apiextensions.k8s.io",
                "v1",
                false,
                "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1",
            ),
            ("test.kube-sim.dev", "v1", true, "dev.kube-sim.test.v1"),
            (
                "iam.rolesmith.dev",
                "v1alpha1",
                true,
                "dev.rolesmith.iam.v1alpha1",
            ),
        ];
        for (group, version, custom, want) in cases {
            assert_eq!(definition_prefix(group, version, custom), want, "{group}");
        }
    }

    #[test]
    fn crd_schemas_get_the_envelope_and_gvk() {
        let rt = ResourceType {
            group: "test.kube-sim.dev".into(),
            version: "v1".into(),
            kind: "Widget".into(),
            list_kind: "WidgetList".into(),
            plural: "widgets".into(),
            singular: "widget".into(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            verbs: vec![],
            status_subresource: true,
            schema: Some(json!({
                "type": "object",
                "description": "A widget.",
                "properties": {
                    "kind": {"type": "string", "description": "mine"},
                    "spec": {"type": "object", "properties": {
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}
                    }}
                }
            })),
            printer_columns: vec![],
            custom: true,
        };
        let s = kind_schema(&rt);
        assert_eq!(s["description"], "A widget.");
        assert_eq!(
            s["x-kubernetes-group-version-kind"],
            json!([{"group": "test.kube-sim.dev", "kind": "Widget", "version": "v1"}])
        );
        assert_eq!(s["properties"]["kind"]["description"], "mine");
        assert_eq!(s["properties"]["apiVersion"]["type"], "string");
        assert_eq!(
            s["properties"]["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );
        let embedded = &s["properties"]["spec"]["properties"]["template"]["properties"];
        assert_eq!(
            embedded["metadata"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
        );

        let list = list_schema(&rt);
        assert_eq!(
            list["properties"]["items"]["items"]["$ref"],
            "#/components/schemas/dev.kube-sim.test.v1.Widget"
        );
        assert_eq!(
            list["x-kubernetes-group-version-kind"][0]["kind"],
            "WidgetList"
        );

        let builtin = kind_schema(&ResourceType {
            schema: None,
            custom: false,
            group: "apps".into(),
            kind: "Deployment".into(),
            ..rt
        });
        assert_eq!(builtin["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(
            builtin["x-kubernetes-group-version-kind"][0]["kind"],
            "Deployment"
        );
    }
}
