//! Reading IamRoles from the same YAML/JSON manifests kubectl takes (for `plan` and `apply`).
//!
//! Without an API server nothing prunes or rejects unknown fields, so this does what kubectl's
//! strict field validation does: a misspelt field (`managedPolicyArn:`) anywhere in the object is
//! an error, not a silently ignored line (serde_ignored), and a value of the wrong type is named
//! by its path (serde_path_to_error). One broken object does not stop the others.

use std::path::Path;

use kube::CustomResourceExt;

use crate::admission::{Problem, Rule};
use crate::api::{IamPolicy, IamRole, RoleGuardrail};
use crate::error::{Error, Result};

const API_VERSION: &str = "iam.rolesmith.dev/v1alpha1";
/// Read from the document before the object is (to tell IamRoles from other kinds).
const TYPE_FIELDS: [&str; 2] = ["apiVersion", "kind"];

/// One IamRole found in the files, or why the object could not be read (named as well as the
/// manifest allows).
pub type Loaded = std::result::Result<IamRole, (String, Error)>;

/// Every IamRole in the files (multi-document YAML, `List` kinds included); other kinds are
/// skipped. Objects without a namespace get `default_namespace`, as kubectl would. A file that
/// cannot be read or parsed at all is an error for the whole call.
pub fn load(paths: &[impl AsRef<Path>], default_namespace: &str) -> Result<Vec<Loaded>> {
    Ok(roles_only(load_tagged(paths, default_namespace)?))
}

/// An object of one of rolesmith's kinds.
#[derive(Clone, Debug)]
pub enum Object {
    Role(Box<IamRole>),
    Policy(Box<IamPolicy>),
    /// Cluster-scoped: no namespace is given to it.
    Guardrail(Box<RoleGuardrail>),
}

/// One IamRole or IamPolicy found in the files, or why it could not be read.
pub type LoadedObject = std::result::Result<Object, (String, Error)>;

/// Like [`load`], for IamRoles and IamPolicies, in file order.
pub fn load_objects(
    paths: &[impl AsRef<Path>],
    default_namespace: &str,
) -> Result<Vec<LoadedObject>> {
    Ok(load_tagged(paths, default_namespace)?
        .into_iter()
        .map(|(_, loaded)| loaded)
        .collect())
}

fn load_tagged(paths: &[impl AsRef<Path>], default_namespace: &str) -> Result<Vec<Tagged>> {
    let mut objects = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|error| unreadable(format!("{}: {error}", path.display())))?;
        let parsed = parse_tagged(&text, default_namespace).map_err(|error| match error {
            Error::Refused(problems) => Error::refused(
                problems
                    .into_iter()
                    .map(|p| Problem {
                        message: format!("{}: {}", path.display(), p.message),
                        ..p
                    })
                    .collect(),
            ),
            other => other,
        })?;
        objects.extend(parsed);
    }
    Ok(objects)
}

/// Like [`parse_all`], failing on the first object that cannot be read.
pub fn parse(text: &str, default_namespace: &str) -> Result<Vec<IamRole>> {
    parse_all(text, default_namespace)?
        .into_iter()
        .map(|loaded| loaded.map_err(|(_, error)| error))
        .collect()
}

pub fn parse_all(text: &str, default_namespace: &str) -> Result<Vec<Loaded>> {
    Ok(roles_only(parse_tagged(text, default_namespace)?))
}

/// Which kind an object (or a failed one) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Role,
    Policy,
    Guardrail,
}

type Tagged = (Kind, LoadedObject);

fn roles_only(objects: Vec<Tagged>) -> Vec<Loaded> {
    objects
        .into_iter()
        .filter(|(kind, _)| *kind == Kind::Role)
        .filter_map(|(_, loaded)| match loaded {
            Ok(Object::Role(role)) => Some(Ok(*role)),
            Ok(Object::Policy(_) | Object::Guardrail(_)) => None,
            Err(failed) => Some(Err(failed)),
        })
        .collect()
}

fn parse_tagged(text: &str, default_namespace: &str) -> Result<Vec<Tagged>> {
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(text)
        .map_err(|error| unreadable(format!("not valid YAML: {error}")))?;
    let known = Known {
        role: known_spec_fields(&IamRole::crd()),
        policy: known_spec_fields(&IamPolicy::crd()),
        guardrail: known_spec_fields(&RoleGuardrail::crd()),
    };
    let mut objects = Vec::new();
    for document in documents {
        collect(document, default_namespace, &known, &mut objects);
    }
    Ok(objects)
}

/// The spec fields of each kind, for the unknown-field message.
struct Known {
    role: Vec<String>,
    policy: Vec<String>,
    guardrail: Vec<String>,
}

fn known_spec_fields(
    crd: &k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
) -> Vec<String> {
    let crd = serde_json::to_value(crd).unwrap_or_default();
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties")
        .and_then(|p| p.as_object())
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

fn collect(
    document: serde_json::Value,
    default_namespace: &str,
    known: &Known,
    objects: &mut Vec<Tagged>,
) {
    if document.is_null() {
        return;
    }
    let kind = document
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default();
    if kind == "List" || kind.ends_with("List") {
        if let Some(items) = document.get("items").and_then(|i| i.as_array()) {
            for item in items {
                collect(item.clone(), default_namespace, known, objects);
            }
        }
        return;
    }
    let api_version = document
        .get("apiVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let kind = match kind {
        "IamRole" if api_version == API_VERSION => Kind::Role,
        "IamPolicy" if api_version == API_VERSION => Kind::Policy,
        "RoleGuardrail" if api_version == API_VERSION => Kind::Guardrail,
        _ => return,
    };
    let name = document
        .pointer("/metadata/name")
        .and_then(|n| n.as_str())
        .unwrap_or("<unnamed>")
        .to_string();
    let namespace = document
        .pointer("/metadata/namespace")
        .and_then(|n| n.as_str())
        .unwrap_or(default_namespace)
        .to_string();
    let label = format!("{namespace}/{name}");
    let read = match kind {
        Kind::Role => read_object::<IamRole>(document, &known.role).map(|mut role| {
            role.metadata.namespace = Some(namespace);
            Object::Role(Box::new(role))
        }),
        Kind::Policy => read_object::<IamPolicy>(document, &known.policy).map(|mut policy| {
            policy.metadata.namespace = Some(namespace);
            Object::Policy(Box::new(policy))
        }),
        Kind::Guardrail => read_object::<RoleGuardrail>(document, &known.guardrail)
            .map(|guardrail| Object::Guardrail(Box::new(guardrail))),
    };
    objects.push((
        kind,
        read.map_err(|problems| (label, Error::refused(problems))),
    ));
}

/// The document as an IamRole or IamPolicy, or every field the kind does not have (serde_ignored) and the
/// value of the wrong type, all by path (serde_path_to_error): what kubectl's strict field
/// validation would refuse.
fn read_object<T: serde::de::DeserializeOwned>(
    document: serde_json::Value,
    known: &[String],
) -> std::result::Result<T, Vec<Problem>> {
    let mut ignored = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| ignored.push(dotted(&path));
    let parsed: std::result::Result<T, _> =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(document, &mut note));
    let mut problems: Vec<Problem> = ignored
        .into_iter()
        // The type's own fields, which the derived struct keeps outside its data.
        .filter(|field| !TYPE_FIELDS.contains(&field.as_str()))
        .map(|field| unknown_field(field, known))
        .collect();
    match parsed {
        Ok(object) if problems.is_empty() => return Ok(object),
        Ok(_) => {}
        Err(error) => problems.push(Problem::new(
            dotted_error_path(error.path()),
            Rule::MalformedField,
            error.inner().to_string(),
        )),
    }
    Err(problems)
}

fn unknown_field(field: String, known: &[String]) -> Problem {
    let message = if !field.contains('.') {
        "unknown field (spec fields go under spec:)".to_string()
    } else if field.starts_with("spec.") && field.matches('.').count() == 1 {
        format!("unknown field (a typo? known fields: {})", known.join(", "))
    } else {
        "unknown field".to_string()
    };
    Problem::new(field, Rule::UnknownField, message)
}

/// `spec.tags.team`, `metadata.labels`: map keys and list indexes joined by dots, without
/// serde_ignored's markers for optional values.
fn dotted(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => join(dotted(parent), &format!("[{index}]")),
        Path::Map { parent, key } => join(dotted(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => dotted(parent),
    }
}

fn dotted_error_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .fold(String::new(), |field, segment| match segment {
            Segment::Seq { index } => join(field, &format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => join(field, key),
            Segment::Unknown => field,
        })
}

fn join(parent: String, child: &str) -> String {
    if parent.is_empty() || child.starts_with('[') {
        parent + child
    } else {
        format!("{parent}.{child}")
    }
}

/// A file that cannot be read as YAML at all.
fn unreadable(message: String) -> Error {
    Error::refused(vec![Problem::new("", Rule::ManifestUnreadable, message)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_iamroles_and_skips_other_kinds() {
        let text = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
---
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: app}
spec:
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: "sts:AssumeRole"}]
---
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: other-ns, namespace: team-b}
spec:
  path: /teams/
  assumeRolePolicy: '{"Version":"2012-10-17","Statement":[]}'
"#;
        let roles = parse(text, "team-a").unwrap();
        assert_eq!(roles.len(), 2);
        assert_eq!(roles[0].metadata.namespace.as_deref(), Some("team-a"));
        assert_eq!(roles[0].spec.path, "/", "defaults apply as on the server");
        assert_eq!(roles[0].spec.max_session_duration, 3600);
        assert_eq!(roles[1].metadata.namespace.as_deref(), Some("team-b"));
        assert!(
            roles[1]
                .spec
                .assume_role_policy
                .as_ref()
                .is_some_and(|t| t.is_string())
        );
    }

    #[test]
    fn a_broken_object_is_reported_alone() {
        let text = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: broken}
spec: {maxSessionDuration: soon, assumeRolePolicy: {}}
---
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: typo}
spec: {managedPolicyArn: [x], assumeRolePolicy: {}}
tags: {misplaced: true}
---
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: fine}
spec: {assumeRolePolicy: {}}
"#;
        let loaded = parse_all(text, "default").unwrap();
        assert_eq!(loaded.len(), 3);
        let broken = loaded[0].as_ref().unwrap_err();
        assert_eq!(broken.0, "default/broken");
        assert_eq!(
            broken.1.to_string(),
            "invalid spec: spec.maxSessionDuration: invalid type: string \"soon\", expected i32"
        );
        let typo = loaded[1].as_ref().unwrap_err();
        let fields: Vec<(&str, Rule)> = typo
            .1
            .problems()
            .iter()
            .map(|p| (p.field.as_str(), p.rule))
            .collect();
        assert_eq!(
            fields,
            [
                ("spec.managedPolicyArn", Rule::UnknownField),
                ("tags", Rule::UnknownField)
            ]
        );
        assert!(
            typo.1.to_string().contains(
                "spec.managedPolicyArn: unknown field (a typo? known fields: accountRef, adopt,"
            ),
            "{}",
            typo.1
        );
        assert!(loaded[2].is_ok());
        assert!(parse(text, "default").is_err());
    }

    /// Every field the kind does not have and every value of the wrong type is named by its
    /// path, wherever it is; what an API server fills in (`kubectl get -o yaml`) is known.
    #[test]
    fn unknown_fields_and_wrong_types_by_path() {
        let object = |rest: &str| {
            format!(
                "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata: {{name: a, uid: x, resourceVersion: '1', generation: 2, finalizers: [f], managedFields: []}}\nspec: {{assumeRolePolicy: {{}}}}\n{rest}"
            )
        };
        let cases: &[(&str, &[(&str, Rule)])] = &[
            ("", &[]),
            (
                "status: {roleName: x, conditions: [{type: Ready, status: 'True', reason: Synced, message: m, lastTransitionTime: '2026-01-01T00:00:00Z'}]}",
                &[],
            ),
            ("spek: {}", &[("spek", Rule::UnknownField)]),
            (
                "status: {roleNam: x}",
                &[("status.roleNam", Rule::UnknownField)],
            ),
            (
                "status: {drift: [{field: tags, summery: x}]}",
                &[
                    ("status.drift[0].summery", Rule::UnknownField),
                    ("status.drift[0]", Rule::MalformedField),
                ],
            ),
            (
                "status: {observedGeneration: soon}",
                &[("status.observedGeneration", Rule::MalformedField)],
            ),
        ];
        for (rest, want) in cases {
            let loaded = parse_all(&object(rest), "default").expect("YAML");
            let got: Vec<(String, Rule)> = match &loaded[0] {
                Ok(_) => Vec::new(),
                Err((_, error)) => error
                    .problems()
                    .iter()
                    .map(|p| (p.field.clone(), p.rule))
                    .collect(),
            };
            let want: Vec<(String, Rule)> = want.iter().map(|(f, r)| (f.to_string(), *r)).collect();
            assert_eq!(got, want, "{rest}");
        }
    }
}
