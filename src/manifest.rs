//! Reading IamRoles from the same YAML/JSON manifests kubectl takes (for `plan` and `apply`).

use std::path::Path;

use crate::api::IamRole;
use crate::error::{Error, Result};

const API_VERSION: &str = "iam.rolesmith.dev/v1alpha1";

/// Every IamRole in the files (multi-document YAML, `List` kinds included); other kinds are
/// skipped. Objects without a namespace get `default_namespace`, as kubectl would.
pub fn load(paths: &[impl AsRef<Path>], default_namespace: &str) -> Result<Vec<IamRole>> {
    let mut roles = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|error| Error::InvalidSpec(vec![format!("{}: {error}", path.display())]))?;
        roles.extend(parse(&text, default_namespace).map_err(|error| {
            match error {
                Error::InvalidSpec(problems) => Error::InvalidSpec(
                    problems
                        .into_iter()
                        .map(|p| format!("{}: {p}", path.display()))
                        .collect(),
                ),
                other => other,
            }
        })?);
    }
    Ok(roles)
}

pub fn parse(text: &str, default_namespace: &str) -> Result<Vec<IamRole>> {
    let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(text)
        .map_err(|error| Error::InvalidSpec(vec![format!("not valid YAML: {error}")]))?;
    let mut roles = Vec::new();
    for document in documents {
        collect(document, default_namespace, &mut roles)?;
    }
    Ok(roles)
}

fn collect(
    document: serde_json::Value,
    default_namespace: &str,
    roles: &mut Vec<IamRole>,
) -> Result<()> {
    if document.is_null() {
        return Ok(());
    }
    let kind = document
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default();
    if kind == "List" || kind.ends_with("List") {
        if let Some(items) = document.get("items").and_then(|i| i.as_array()) {
            for item in items {
                collect(item.clone(), default_namespace, roles)?;
            }
        }
        return Ok(());
    }
    let api_version = document
        .get("apiVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    if kind != "IamRole" || api_version != API_VERSION {
        return Ok(());
    }
    let name = document
        .pointer("/metadata/name")
        .and_then(|n| n.as_str())
        .unwrap_or("<unnamed>")
        .to_string();
    let mut role: IamRole = serde_json::from_value(document)
        .map_err(|error| Error::InvalidSpec(vec![format!("IamRole {name}: {error}")]))?;
    if role.metadata.namespace.is_none() {
        role.metadata.namespace = Some(default_namespace.to_string());
    }
    roles.push(role);
    Ok(())
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
    fn bad_documents_are_reported_with_the_object_name() {
        let text = "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata: {name: broken}\nspec: {maxSessionDuration: soon}\n";
        let error = parse(text, "default").unwrap_err().to_string();
        assert!(error.contains("IamRole broken"), "{error}");
    }
}
