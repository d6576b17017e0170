//! Path items and operations of one resource type. kubectl reads two things here: the PATCH
//! operation's `fieldValidation` query parameter (without it `kubectl apply` refuses to run, see trace
//! e_v3nofv) and its request content types (strategic merge only where the server does it).

use serde_json::{Map, Value, json};

use super::kind_schema::{component_ref, kind_name, list_name};
use super::meta_schemas::meta_ref;
use crate::resource::ResourceType;

/// Adds every path of `rt` to `paths`.
pub fn add_paths(rt: &ResourceType, paths: &mut Map<String, Value>) {
    let base = if rt.group.is_empty() {
        format!("/api/{}", rt.version)
    } else {
        format!("/apis/{}/{}", rt.group, rt.version)
    };
    let ops = Ops::new(rt);
    let (collection, mut path_params) = if rt.namespaced {
        (
            format!("{base}/namespaces/{{namespace}}/{}", rt.plural),
            vec![namespace_param()],
        )
    } else {
        (format!("{base}/{}", rt.plural), vec![])
    };
    path_params.push(pretty_param());

    let mut item = Map::new();
    ops.add(&mut item, "get", "list", "", list_params(), None);
    ops.add(&mut item, "post", "create", "", write_params(), None);
    ops.add(
        &mut item,
        "delete",
        "deletecollection",
        "",
        deletecollection_params(),
        None,
    );
    insert_path(paths, collection.clone(), item, &path_params);

    let mut named_params = vec![name_param()];
    named_params.extend(path_params.iter().cloned());
    let mut item = Map::new();
    ops.add(&mut item, "get", "get", "", vec![], None);
    ops.add(&mut item, "put", "update", "", write_params(), None);
    ops.add(&mut item, "delete", "delete", "", delete_params(), None);
    ops.add(&mut item, "patch", "patch", "", patch_params(), None);
    insert_path(paths, format!("{collection}/{{name}}"), item, &named_params);

    if rt.status_subresource {
        let mut item = Map::new();
        ops.add(&mut item, "get", "get", "Status", vec![], None);
        ops.add(&mut item, "put", "update", "Status", write_params(), None);
        ops.add(&mut item, "patch", "patch", "Status", patch_params(), None);
        insert_path(
            paths,
            format!("{collection}/{{name}}/status"),
            item,
            &named_params,
        );
    }

    if rt.namespaced {
        let mut item = Map::new();
        ops.add(
            &mut item,
            "get",
            "list",
            "",
            list_params(),
            Some(format!("list{}{}ForAllNamespaces", ops.group_part, rt.kind)),
        );
        insert_path(
            paths,
            format!("{base}/{}", rt.plural),
            item,
            &[pretty_param()],
        );
    }
}

fn insert_path(
    paths: &mut Map<String, Value>,
    path: String,
    mut item: Map<String, Value>,
    params: &[Value],
) {
    if item.is_empty() {
        return;
    }
    item.insert("parameters".into(), Value::Array(params.to_vec()));
    paths.insert(path, Value::Object(item));
}

struct Ops<'a> {
    rt: &'a ResourceType,
    /// e.g. `TestKubeSimDevV1`, `CoreV1`, `AppsV1`.
    group_part: String,
    kind_ref: Value,
    list_ref: Value,
}

impl<'a> Ops<'a> {
    fn new(rt: &'a ResourceType) -> Self {
        Ops {
            rt,
            group_part: operation_group(&rt.group, &rt.version),
            kind_ref: json!({"$ref": component_ref(&kind_name(rt))}),
            list_ref: json!({"$ref": component_ref(&list_name(rt))}),
        }
    }

    /// Adds the operation for `verb` when the type serves it.
    fn add(
        &self,
        item: &mut Map<String, Value>,
        method: &str,
        verb: &str,
        subresource: &str,
        params: Vec<Value>,
        operation_id: Option<String>,
    ) {
        if !self.rt.verbs.iter().any(|v| v == verb) {
            return;
        }
        let kind = &self.rt.kind;
        let scope = if self.rt.namespaced { "Namespaced" } else { "" };
        let (id_verb, action, description, body, responses) = match verb {
            "list" => (
                "list",
                "list",
                format!("list or watch objects of kind {kind}"),
                None,
                ok(&self.list_ref, &["200"]),
            ),
            "create" => (
                "create",
                "post",
                format!("create a {kind}"),
                Some(self.kind_ref.clone()),
                ok(&self.kind_ref, &["200", "201", "202"]),
            ),
            "deletecollection" => (
                "deleteCollection",
                "deletecollection",
                format!("delete collection of {kind}"),
                Some(json!({"$ref": meta_ref("DeleteOptions")})),
                ok(&json!({"$ref": meta_ref("Status")}), &["200"]),
            ),
            "get" => (
                "read",
                "get",
                format!(
                    "read {} of the specified {kind}",
                    subresource_noun(subresource)
                ),
                None,
                ok(&self.kind_ref, &["200"]),
            ),
            "update" => (
                "replace",
                "put",
                format!(
                    "replace {} of the specified {kind}",
                    subresource_noun(subresource)
                ),
                Some(self.kind_ref.clone()),
                ok(&self.kind_ref, &["200", "201"]),
            ),
            "delete" => (
                "delete",
                "delete",
                format!("delete a {kind}"),
                Some(json!({"$ref": meta_ref("DeleteOptions")})),
                ok(&self.kind_ref, &["200", "202"]),
            ),
            "patch" => (
                "patch",
                "patch",
                format!(
                    "partially update {} of the specified {kind}",
                    subresource_noun(subresource)
                ),
                None,
                ok(&self.kind_ref, &["200", "201"]),
            ),
            _ => return,
        };
        let mut op = json!({
            "tags": [self.tag()],
            "description": description,
            "operationId": operation_id.unwrap_or_else(|| format!("{id_verb}{}{scope}{kind}{subresource}", self.group_part)),
            "parameters": params,
            "responses": responses,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {"group": self.rt.group, "version": self.rt.version, "kind": kind},
        });
        if let Some(schema) = body {
            op["requestBody"] = json!({"content": {"*/*": {"schema": schema}}, "required": true});
        }
        if verb == "patch" {
            op["requestBody"] = json!({"content": patch_content(self.rt), "required": true});
        }
        item.insert(method.to_string(), op);
    }

    fn tag(&self) -> String {
        let mut g = self.group_part.clone();
        if let Some(first) = g.get(..1) {
            g.replace_range(..1, &first.to_lowercase());
        }
        let version_start = g.len() - capitalize(&self.rt.version).len();
        format!("{}_{}", &g[..version_start], self.rt.version)
    }
}

fn subresource_noun(subresource: &str) -> &'static str {
    if subresource.is_empty() {
        "the"
    } else {
        "status"
    }
}

/// Request content types for PATCH. Custom resources take JSON, merge and apply patches. Built-ins
/// take strategic merge patches too, but the sim publishes them with permissive schemas, and when this
/// content type is listed kubectl computes its strategic patch from the published schema and prints
/// `warning: error calculating patch from openapi v3 spec: unable to find api field "spec"` (checked
/// with kubectl 1.37). Left out, kubectl falls back to its compiled-in patch metadata, which is what
/// kube-apiserver's full schemas are generated from, so the patches are the same as against a real server.
fn patch_content(rt: &ResourceType) -> Value {
    let patch = json!({"schema": {"$ref": meta_ref("Patch")}});
    let mut content = Map::new();
    for ty in [
        "application/apply-patch+yaml",
        "application/json-patch+json",
        "application/merge-patch+json",
    ] {
        content.insert(ty.to_string(), patch.clone());
    }
    if !rt.custom && rt.schema.is_some() {
        content.insert("application/strategic-merge-patch+json".into(), patch);
    }
    Value::Object(content)
}

fn ok(schema: &Value, codes: &[&str]) -> Value {
    let mut responses = Map::new();
    for code in codes {
        let description = match *code {
            "201" => "Created",
            "202" => "Accepted",
            _ => "OK",
        };
        responses.insert(
            code.to_string(),
            json!({"description": description, "content": {
                "application/json": {"schema": schema},
                "application/yaml": {"schema": schema},
            }}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(responses)
}

/// `TestKubeSimDevV1` for `test.kube-sim.dev/v1`, `CoreV1` for core, `RbacAuthorizationV1` for
/// `rbac.authorization.k8s.io/v1`: the group part of kube-apiserver's operation ids.
pub fn operation_group(group: &str, version: &str) -> String {
    let group = match group {
        "" => "core",
        g => g.strip_suffix(".k8s.io").unwrap_or(g),
    };
    let words: String = group.split(['.', '-']).map(capitalize).collect();
    format!("{words}{}", capitalize(version))
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn query(name: &str, ty: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "description": description, "schema": {"type": ty, "uniqueItems": true}})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "description": description, "required": true, "schema": {"type": "string", "uniqueItems": true}})
}

fn namespace_param() -> Value {
    path_param(
        "namespace",
        "object name and auth scope, such as for teams and projects",
    )
}

fn name_param() -> Value {
    path_param("name", "name of the object")
}

fn pretty_param() -> Value {
    query(
        "pretty",
        "string",
        "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
    )
}

fn dry_run() -> Value {
    query(
        "dryRun",
        "string",
        "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
    )
}

fn field_manager() -> Value {
    query(
        "fieldManager",
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
    )
}

fn field_validation() -> Value {
    query(
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
    )
}

fn write_params() -> Vec<Value> {
    vec![dry_run(), field_manager(), field_validation()]
}

fn patch_params() -> Vec<Value> {
    vec![
        dry_run(),
        field_manager(),
        field_validation(),
        query(
            "force",
            "boolean",
            "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
        ),
    ]
}

fn delete_params() -> Vec<Value> {
    vec![
        dry_run(),
        query(
            "gracePeriodSeconds",
            "integer",
            "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately.",
        ),
        query(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "boolean",
            "if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error.",
        ),
        query(
            "orphanDependents",
            "boolean",
            "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7.",
        ),
        query(
            "propagationPolicy",
            "string",
            "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'.",
        ),
    ]
}

fn list_params() -> Vec<Value> {
    vec![
        query(
            "allowWatchBookmarks",
            "boolean",
            "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion.",
        ),
        query(
            "continue",
            "string",
            "The continue option should be set when retrieving more results from the server.",
        ),
        query(
            "fieldSelector",
            "string",
            "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
        ),
        query(
            "labelSelector",
            "string",
            "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
        ),
        query(
            "limit",
            "integer",
            "limit is a maximum number of responses to return for a list call.",
        ),
        query(
            "resourceVersion",
            "string",
            "resourceVersion sets a constraint on what resource versions a request may be served from.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "resourceVersionMatch determines how resourceVersion is applied to list calls.",
        ),
        query(
            "sendInitialEvents",
            "boolean",
            "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection, then a bookmark annotated \"k8s.io/initial-events-end\": \"true\".",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
        ),
        query(
            "watch",
            "boolean",
            "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
        ),
    ]
}

fn deletecollection_params() -> Vec<Value> {
    let mut params = delete_params();
    params.extend(
        list_params()
            .into_iter()
            .filter(|p| p["name"] != "watch" && p["name"] != "allowWatchBookmarks"),
    );
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_groups_match_kube_apiserver() {
        let cases = [
            ("", "v1", "CoreV1"),
            ("apps", "v1", "AppsV1"),
            ("rbac.authorization.k8s.io", "v1", "RbacAuthorizationV1"),
            ("apiextensions.k8s.io", "v1", "ApiextensionsV1"),
            ("test.kube-sim.dev", "v1", "TestKubeSimDevV1"),
            ("iam.rolesmith.dev", "v1alpha1", "IamRolesmithDevV1alpha1"),
        ];
        for (group, version, want) in cases {
            assert_eq!(operation_group(group, version), want);
        }
    }
}
