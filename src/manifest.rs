//! Reading IamRoles and IamPolicies from the same YAML/JSON manifests kubectl takes (for `plan` and `apply`).
//!
//! Without an API server nothing prunes or rejects unknown fields, so this does what kubectl's
//! strict field validation does: a misspelt field (`managedPolicyArn:`) is an error, not a
//! silently ignored line. One broken object does not stop the others.

use std::path::Path;

use kube::CustomResourceExt;

use crate::api::{IamPolicy, IamRole};
use crate::error::{Error, Result};

const API_VERSION: &str = "iam.rolesmith.dev/v1alpha1";
const TOP_LEVEL_FIELDS: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];

/// One IamRole found in the files, or why the object could not be read (named as well as the
/// manifest allows).
pub type Loaded = std::result::Result<IamRole, (String, Error)>;

/// An object of one of rolesmith's kinds.
#[derive(Clone, Debug)]
pub enum Object {
    Role(Box<IamRole>),
    Policy(Box<IamPolicy>),
}

/// One IamRole or IamPolicy found in the files, or why it could not be read.
pub type LoadedObject = std::result::Result<Object, (String, Error)>;

/// Every IamRole in the files (multi-document YAML, `List` kinds included); other kinds are
/// skipped. Objects without a namespace get `default_namespace`, as kubectl would. A file that
/// cannot be read or parsed at all is an error for the whole call.
pub fn load(paths: &[impl AsRef<Path>], default_namespace: &str) -> Result<Vec<Loaded>> {
    Ok(roles_only(load_tagged(paths, default_namespace)?))
}

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
            .map_err(|error| Error::InvalidSpec(vec![format!("{}: {error}", path.display())]))?;
        let parsed = parse_tagged(&text, default_namespace).map_err(|error| match error {
            Error::InvalidSpec(problems) => Error::InvalidSpec(
                problems
                    .into_iter()
                    .map(|p| format!("{}: {p}", path.display()))
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
}

impl Kind {
    fn of(kind: &str) -> Option<Kind> {
        match kind {
            "IamRole" => Some(Kind::Role),
            "IamPolicy" => Some(Kind::Policy),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Role => "IamRole",
            Kind::Policy => "IamPolicy",
        }
    }
}

type Tagged = (Kind, LoadedObject);

fn roles_only(objects: Vec<Tagged>) -> Vec<Loaded> {
    objects
        .into_iter()
        .filter(|(kind, _)| *kind == Kind::Role)
        .filter_map(|(_, loaded)| match loaded {
            Ok(Object::Role(role)) => Some(Ok(*role)),
            Ok(Object::Policy(_)) => None,
            Err(failed) => Some(Err(failed)),
        })
        .collect()
}

fn parse_tagged(text: &str, default_namespace: &str) -> Result<Vec<Tagged>> {
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(text)
        .map_err(|error| Error::InvalidSpec(vec![format!("not valid YAML: {error}")]))?;
    let known = Known {
        role: known_spec_fields(&IamRole::crd()),
        policy: known_spec_fields(&IamPolicy::crd()),
    };
    let mut objects = Vec::new();
    for document in documents {
        collect(document, default_namespace, &known, &mut objects);
    }
    Ok(objects)
}

struct Known {
    role: Vec<String>,
    policy: Vec<String>,
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
    let Some(kind) = Kind::of(kind).filter(|_| api_version == API_VERSION) else {
        return;
    };
    let known = match kind {
        Kind::Role => &known.role,
        Kind::Policy => &known.policy,
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
    let mut unknown: Vec<String> = document
        .as_object()
        .map(|object| {
            object
                .keys()
                .filter(|key| !TOP_LEVEL_FIELDS.contains(&key.as_str()))
                .map(|key| format!("{key}: unknown field (spec fields go under spec:)"))
                .collect()
        })
        .unwrap_or_default();
    unknown.extend(
        document
            .get("spec")
            .and_then(|spec| spec.as_object())
            .map(|spec| {
                spec.keys()
                    .filter(|key| !known.contains(key))
                    .map(|key| {
                        format!(
                            "spec.{key}: unknown field (a typo? known fields: {})",
                            known.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    if !unknown.is_empty() {
        objects.push((kind, Err((label, Error::InvalidSpec(unknown)))));
        return;
    }
    let parsed = match kind {
        Kind::Role => serde_json::from_value::<IamRole>(document).map(|mut role| {
            role.metadata.namespace = Some(namespace);
            Object::Role(Box::new(role))
        }),
        Kind::Policy => serde_json::from_value::<IamPolicy>(document).map(|mut policy| {
            policy.metadata.namespace = Some(namespace);
            Object::Policy(Box::new(policy))
        }),
    };
    let loaded = parsed.map_err(|error| {
        (
            label.clone(),
            Error::InvalidSpec(vec![format!("{} {label}: {error}", kind.name())]),
        )
    });
    objects.push((kind, loaded));
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
        assert!(roles[1].spec.assume_role_policy.is_string());
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
        assert!(
            broken.1.to_string().contains("IamRole default/broken"),
            "{}",
            broken.1
        );
        let typo = loaded[1].as_ref().unwrap_err();
        assert!(
            typo.1
                .to_string()
                .contains("spec.managedPolicyArn: unknown field"),
            "{}",
            typo.1
        );
        assert!(loaded[2].is_ok());
        assert!(parse(text, "default").is_err());
    }
}
