//! From an `IamPolicy` object to the plain [`DesiredPolicy`] the core works on.

use super::hash;
use crate::api::IamPolicy;
use crate::error::{Error, Result};
use crate::model::{DesiredPolicy, Owner};
use crate::policy;

/// IAM's limit on managed policy names.
const MAX_POLICY_NAME: usize = 128;

/// `spec.policyName`, else `<namespace>.<name>`, shortened to `<first 119 characters>-<hash>`
/// when longer than IAM's 128 characters. A namespace has at most 63 characters, so the
/// shortened name always keeps the whole `<namespace>.` that name confinement requires.
pub fn policy_name(namespace: &str, name: &str, explicit: Option<&str>) -> String {
    if let Some(explicit) = explicit {
        return explicit.to_string();
    }
    let full = format!("{namespace}.{name}");
    if full.len() <= MAX_POLICY_NAME {
        return full;
    }
    let mut keep = MAX_POLICY_NAME - super::HASH_LEN - 1;
    while !full.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}-{}", &full[..keep], hash(&full))
}

fn object_ref(policy: &IamPolicy) -> Result<(String, String)> {
    let namespace = policy.metadata.namespace.clone();
    let name = policy.metadata.name.clone();
    match (namespace, name) {
        (Some(namespace), Some(name)) => Ok((namespace, name)),
        _ => Err(Error::InvalidSpec(vec![
            "metadata.namespace and metadata.name must both be set".into(),
        ])),
    }
}

pub fn policy_owner(cluster: &str, policy: &IamPolicy) -> Result<Owner> {
    let (namespace, name) = object_ref(policy)?;
    Ok(Owner {
        cluster: cluster.to_string(),
        namespace,
        name,
    })
}

/// Translates the spec; the name recorded in status wins over a derivation, as for roles.
pub fn desired_policy(policy: &IamPolicy) -> Result<DesiredPolicy> {
    let (namespace, name) = object_ref(policy)?;
    let spec = &policy.spec;
    let document = policy::document_text(&spec.document)
        .map_err(|error| Error::InvalidSpec(vec![format!("spec.document: {error}")]))?;
    let recorded = policy
        .status
        .as_ref()
        .and_then(|s| s.policy_name.as_deref());
    let name = match (&spec.policy_name, recorded) {
        (Some(explicit), _) => explicit.clone(),
        (None, Some(recorded)) => recorded.to_string(),
        (None, None) => policy_name(&namespace, &name, None),
    };
    Ok(DesiredPolicy {
        name,
        path: spec.path.clone(),
        description: spec.description.clone().unwrap_or_default(),
        document,
        tags: spec.tags.clone(),
        ignored_tag_keys: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names() {
        assert_eq!(policy_name("team-a", "shared", None), "team-a.shared");
        assert_eq!(
            policy_name("team-a", "shared", Some("Explicit")),
            "Explicit"
        );
        let long = "a".repeat(200);
        let one = policy_name("team-a", &format!("{long}-one"), None);
        let two = policy_name("team-a", &format!("{long}-two"), None);
        assert_eq!((one.len(), two.len()), (128, 128));
        assert_ne!(one, two);
        assert!(one.starts_with("team-a.aaa"));
        assert_eq!(one, policy_name("team-a", &format!("{long}-one"), None));
    }

    #[test]
    fn desired_from_an_object() {
        let object: IamPolicy = serde_json::from_value(serde_json::json!({
            "apiVersion": "iam.rolesmith.dev/v1alpha1",
            "kind": "IamPolicy",
            "metadata": {"name": "shared", "namespace": "team-a"},
            "spec": {
                "description": "reads",
                "document": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
                ]},
                "tags": {"team": "a"}
            },
        }))
        .expect("a valid IamPolicy");
        let desired = desired_policy(&object).expect("translates");
        assert_eq!(desired.name, "team-a.shared");
        assert_eq!(desired.description, "reads");
        assert!(desired.document.contains("s3:GetObject"));
        let mut broken = object.clone();
        broken.spec.document = serde_json::json!([1]);
        let error = desired_policy(&broken).expect_err("a list is no document");
        assert!(error.to_string().contains("spec.document:"), "{error}");
    }
}
