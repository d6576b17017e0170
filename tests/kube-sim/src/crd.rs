//! CustomResourceDefinitions: checking one, the status the server gives it, and the ResourceTypes
//! its served versions register (at once, so discovery shows them as soon as the CRD exists).

use serde_json::{Value, json};

use crate::builtin;
use crate::resource::ResourceType;
use crate::status::Cause;

/// apiextensions-apiserver lists a custom resource's verbs in this order (not sorted like the
/// built-ins'); clients such as `kubectl api-resources -o wide` print them as listed.
pub const CRD_VERBS: [&str; 8] = [
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

pub const GROUP: &str = "apiextensions.k8s.io";
pub const PLURAL: &str = "customresourcedefinitions";

pub fn is_crd(rt: &ResourceType) -> bool {
    rt.group == GROUP && rt.plural == PLURAL
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The checks kube-apiserver makes that a test CRD could plausibly get wrong.
pub fn validate(crd: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut required = |field: &str| {
        causes.push(Cause::new(
            "FieldValueRequired",
            field,
            format!("{field}: Required value"),
        ));
    };
    let group = str_at(crd, "/spec/group");
    let plural = str_at(crd, "/spec/names/plural");
    if group.is_empty() {
        required("spec.group");
    }
    if plural.is_empty() {
        required("spec.names.plural");
    }
    if str_at(crd, "/spec/names/kind").is_empty() {
        required("spec.names.kind");
    }
    let scope = str_at(crd, "/spec/scope");
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!("spec.scope: Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""),
        ));
    }
    let name = str_at(crd, "/metadata/name");
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let versions = versions(crd);
    if versions.is_empty() {
        causes.push(Cause::new("FieldValueInvalid", "spec.versions", "spec.versions: Invalid value: null: must have exactly one version marked as storage version".into()));
    } else {
        let storage = versions
            .iter()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .count();
        if storage != 1 {
            causes.push(Cause::new(
                "FieldValueInvalid",
                "spec.versions",
                format!("spec.versions: Invalid value: {}: must have exactly one version marked as storage version", Value::Array(versions.to_vec())),
            ));
        }
        for (i, v) in versions.iter().enumerate() {
            if let Some(schema) = v.pointer("/schema/openAPIV3Schema")
                && let Some(prefix) = schema_error_prefix(versions, i)
            {
                let problems = crate::peers::rule_compile_errors(schema)
                    .into_iter()
                    .chain(crate::peers::rule_cost_errors(schema));
                for e in problems {
                    let field = format!("{prefix}.{}", e.field);
                    let body = e
                        .message
                        .strip_prefix(&format!("{}: ", e.field))
                        .unwrap_or(&e.message);
                    causes.push(Cause::new(&e.reason, &field, format!("{field}: {body}")));
                }
            }
            let columns = v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if let Err(why) = crate::peers::check_printer_columns(columns) {
                let field = format!("spec.versions[{i}].additionalPrinterColumns");
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    &field,
                    format!("{field}: Invalid value: {why}"),
                ));
            }
            if v.pointer("/schema/openAPIV3Schema").is_none() {
                let field = format!("spec.versions[{i}].schema.openAPIV3Schema");
                causes.push(Cause::new(
                    "FieldValueRequired",
                    &field,
                    format!("{field}: Required value: schemas are required"),
                ));
            }
        }
    }
    causes
}

/// Where a version's schema errors are reported: kube-apiserver converts a CRD whose versions
/// all have the same schema to one `spec.validation`, and reports its errors once, there.
/// `None` for the versions after the first in that case.
fn schema_error_prefix(versions: &[Value], i: usize) -> Option<String> {
    let shared = versions
        .iter()
        .all(|v| v.get("schema") == versions[0].get("schema"));
    match (shared, i) {
        (true, 0) => Some("spec.validation".into()),
        (true, _) => None,
        (false, i) => Some(format!("spec.versions[{i}].schema")),
    }
}

/// Rules on schema nodes CEL cannot type ("unable to convert structural schema to CEL
/// declarations"): kube-apiserver refuses such a CRD, so this does too.
pub fn untyped_rule_causes(crd: &Value) -> Vec<crate::status::Cause> {
    let versions = versions(crd);
    let mut out = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        if let Some(schema) = v.pointer("/schema/openAPIV3Schema")
            && let Some(prefix) = schema_error_prefix(versions, i)
        {
            for node in crate::peers::untyped_rule_nodes(schema) {
                let field = format!("{prefix}.{node}");
                out.push(crate::status::Cause::new(
                    "FieldValueInvalid",
                    &field,
                    format!(
                        "{field}: Internal error: internal error: failed to construct type information for x-kubernetes-validations rules: unable to convert structural schema to CEL declarations"
                    ),
                ));
            }
        }
    }
    out
}

fn versions(crd: &Value) -> &[Value] {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The status kube-apiserver's controllers converge a CRD to: names accepted, established.
/// Condition times are kept from `old` so an unchanged CRD stays a no-op.
pub fn status(crd: &Value, old: Option<&Value>, now: &str) -> Value {
    let names = crd
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let kind = names.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut accepted = names.clone();
    if accepted.get("singular").is_none() {
        accepted["singular"] = json!(kind.to_lowercase());
    }
    if accepted.get("listKind").is_none() {
        accepted["listKind"] = json!(format!("{kind}List"));
    }
    let time_of = |ctype: &str| {
        old.and_then(|o| o.pointer("/status/conditions"))
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == ctype))
            .and_then(|c| c.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(now))
    };
    let mut stored: Vec<Value> = old
        .and_then(|o| o.pointer("/status/storedVersions"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(storage) = versions(crd)
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        && let Some(name) = storage.get("name")
        && !stored.contains(name)
    {
        stored.push(name.clone());
    }
    json!({
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": time_of("NamesAccepted"),
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": time_of("Established"),
            }
        ],
        "acceptedNames": accepted,
        "storedVersions": stored,
    })
}

/// One ResourceType per served version of the CRD.
pub fn resource_types(crd: &Value) -> Vec<ResourceType> {
    let names = crd
        .pointer("/spec/names")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let text = |k: &str| {
        names
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let list = |k: &str| -> Vec<String> {
        names
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let kind = text("kind");
    let singular = if text("singular").is_empty() {
        kind.to_lowercase()
    } else {
        text("singular")
    };
    let list_kind = if text("listKind").is_empty() {
        format!("{kind}List")
    } else {
        text("listKind")
    };
    versions(crd)
        .iter()
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .map(|v| ResourceType {
            group: str_at(crd, "/spec/group").to_string(),
            version: v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            kind: kind.clone(),
            list_kind: list_kind.clone(),
            plural: text("plural"),
            singular: singular.clone(),
            namespaced: str_at(crd, "/spec/scope") == "Namespaced",
            short_names: list("shortNames"),
            categories: list("categories"),
            verbs: CRD_VERBS.iter().map(|s| s.to_string()).collect(),
            status_subresource: v.pointer("/subresources/status").is_some(),
            schema: v.pointer("/schema/openAPIV3Schema").cloned(),
            printer_columns: v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            custom: true,
        })
        .collect()
}

/// Built-ins plus every stored CRD's served versions.
pub fn all_types(crds: &[&Value]) -> Vec<ResourceType> {
    let mut types = builtin::builtin_types();
    for crd in crds {
        types.extend(resource_types(crd));
    }
    types
}

/// (group, plural) whose objects a CRD defines.
pub fn defined_resource(crd: &Value) -> (String, String) {
    (
        str_at(crd, "/spec/group").to_string(),
        str_at(crd, "/spec/names/plural").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widgets() -> Value {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/widgets-crd.yaml"
        ))
        .unwrap();
        serde_saphyr::from_str(&text).unwrap()
    }

    #[test]
    fn widgets_fixture_registers_one_type() {
        let crd = widgets();
        assert!(validate(&crd).is_empty(), "{:?}", validate(&crd));
        let types = resource_types(&crd);
        assert_eq!(types.len(), 1);
        let t = &types[0];
        assert_eq!(
            (t.group.as_str(), t.version.as_str(), t.plural.as_str()),
            ("test.kube-sim.dev", "v1", "widgets")
        );
        assert!(t.namespaced && t.status_subresource && t.custom && t.schema.is_some());
        assert_eq!(t.short_names, ["wd"]);
        assert_eq!(t.printer_columns.len(), 4);
        assert_eq!(
            t.verbs,
            [
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch"
            ]
        );
    }

    #[test]
    fn status_is_established_and_stable() {
        let crd = widgets();
        let first = status(&crd, None, "2026-01-01T00:00:00Z");
        assert_eq!(first["conditions"][1]["type"], "Established");
        assert_eq!(first["conditions"][1]["status"], "True");
        assert_eq!(first["storedVersions"], json!(["v1"]));
        assert_eq!(first["acceptedNames"]["listKind"], "WidgetList");
        let mut stored = crd.clone();
        stored["status"] = first.clone();
        assert_eq!(status(&crd, Some(&stored), "2027-01-01T00:00:00Z"), first);
    }

    fn project_crd() -> Value {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../crds/iamroles.iam.rolesmith.dev.yaml"
        ))
        .unwrap();
        serde_saphyr::from_str(&text).unwrap()
    }

    #[test]
    fn rules_over_the_cost_budget_refuse_the_crd() {
        let mut crd = widgets();
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            ["aliases"] = json!({"type": "array", "items": {"type": "string"},
                "x-kubernetes-validations": [{"rule": "self.all(x, x.matches('^a.*$'))"}]});
        let causes = validate(&crd);
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        let rule = "spec.validation.openAPIV3Schema.properties[spec].properties[aliases].x-kubernetes-validations[0].rule";
        assert_eq!(fields, [rule, rule, "spec.validation.openAPIV3Schema"]);
        assert_eq!(causes[0].reason, "FieldValueForbidden");
        assert!(
            causes[0].message.starts_with(&format!(
                "{rule}: Forbidden: estimated rule cost exceeds budget by factor of more than 100x"
            )),
            "{}",
            causes[0].message
        );
    }

    #[test]
    fn rules_on_untyped_nodes_refuse_the_crd_and_the_project_crd_has_none() {
        let crd = project_crd();
        assert!(validate(&crd).is_empty(), "{:?}", validate(&crd));
        assert!(untyped_rule_causes(&crd).is_empty());
        assert!(untyped_rule_causes(&widgets()).is_empty());
        let mut untyped = widgets();
        untyped["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            ["documents"] = json!({"type": "object",
                "additionalProperties": {"x-kubernetes-preserve-unknown-fields": true},
                "x-kubernetes-validations": [{"rule": "self.all(k, size(k) < 10)"}]});
        let causes = untyped_rule_causes(&untyped);
        assert_eq!(causes.len(), 1);
        assert_eq!(
            causes[0].message,
            "spec.validation.openAPIV3Schema.properties[spec].properties[documents].x-kubernetes-validations: Internal error: internal error: failed to construct type information for x-kubernetes-validations rules: unable to convert structural schema to CEL declarations"
        );
    }

    #[test]
    fn schema_errors_are_reported_per_version_only_when_schemas_differ() {
        let one = json!({"name": "v1", "schema": {"openAPIV3Schema": {"type": "object"}}});
        let other = json!({"name": "v2", "schema": {"openAPIV3Schema": {"type": "object", "properties": {}}}});
        let same = [one.clone(), one.clone()];
        assert_eq!(
            schema_error_prefix(&same, 0).as_deref(),
            Some("spec.validation")
        );
        assert_eq!(schema_error_prefix(&same, 1), None);
        let different = [one, other];
        assert_eq!(
            schema_error_prefix(&different, 1).as_deref(),
            Some("spec.versions[1].schema")
        );
    }

    #[test]
    fn invalid_crds_are_explained() {
        let mut crd = widgets();
        crd["metadata"]["name"] = json!("wrong");
        crd["spec"]["scope"] = json!("Galaxy");
        let fields: Vec<String> = validate(&crd).into_iter().map(|c| c.field).collect();
        assert_eq!(fields, ["spec.scope", "metadata.name"]);
    }
}
