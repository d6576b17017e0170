//! From an `IamRole` object to the plain [`DesiredRole`] the core works on.

use crate::api::IamRole;
use crate::error::{Error, Result};
use crate::model::{DesiredRole, Owner};
use crate::policy;

/// IAM's limit on role names.
const MAX_ROLE_NAME: usize = 64;

/// The role name: `spec.roleName`, else `<namespace>.<name>`, shortened with a stable hash when
/// too long so two long object names never collide. The derivation never depends on
/// configuration: a derived name must stay the same for the life of the object. The dot cannot
/// occur in a namespace name, so two namespaces never derive the same name.
pub fn role_name(namespace: &str, name: &str, explicit: Option<&str>) -> String {
    if let Some(explicit) = explicit {
        return explicit.to_string();
    }
    let full = format!("{namespace}.{name}");
    if full.len() <= MAX_ROLE_NAME {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(full.as_bytes()));
    // Kubernetes names are ASCII, so byte slicing is on a character boundary.
    let keep = MAX_ROLE_NAME - hash.len() - 1;
    format!("{}-{hash}", &full[..keep])
}

/// FNV-1a (32 bit): tiny, stable across releases and platforms, enough to tell names apart.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

/// The namespace and name of an object, or an error naming what is missing.
pub fn object_ref(role: &IamRole) -> Result<(String, String)> {
    let namespace = role
        .metadata
        .namespace
        .clone()
        .ok_or_else(|| Error::InvalidSpec(vec!["metadata.namespace is missing".into()]))?;
    let name = role
        .metadata
        .name
        .clone()
        .ok_or_else(|| Error::InvalidSpec(vec!["metadata.name is missing".into()]))?;
    Ok((namespace, name))
}

pub fn owner(cluster: &str, role: &IamRole) -> Result<Owner> {
    let (namespace, name) = object_ref(role)?;
    Ok(Owner {
        cluster: cluster.to_string(),
        namespace,
        name,
    })
}

/// Translates the spec; every problem is collected so the user sees them all at once.
pub fn desired_role(role: &IamRole) -> Result<DesiredRole> {
    let (namespace, name) = object_ref(role)?;
    let spec = &role.spec;
    let mut problems = Vec::new();

    let assume_role_policy = match policy::document_text(&spec.assume_role_policy) {
        Ok(text) => text,
        Err(error) => {
            problems.push(format!("spec.assumeRolePolicy: {error}"));
            String::new()
        }
    };
    let mut inline_policies = std::collections::BTreeMap::new();
    for (policy_name, document) in &spec.inline_policies {
        match policy::document_text(document) {
            Ok(text) => {
                inline_policies.insert(policy_name.clone(), text);
            }
            Err(error) => problems.push(format!("spec.inlinePolicies.{policy_name}: {error}")),
        }
    }
    if !problems.is_empty() {
        return Err(Error::InvalidSpec(problems));
    }
    Ok(DesiredRole {
        name: role_name(&namespace, &name, spec.role_name.as_deref()),
        path: spec.path.clone(),
        description: spec.description.clone().unwrap_or_default(),
        max_session_duration: spec.max_session_duration,
        assume_role_policy,
        inline_policies,
        managed_policy_arns: spec.managed_policy_arns.clone(),
        permissions_boundary: spec.permissions_boundary.clone(),
        tags: spec.tags.clone(),
        ignored_tag_keys: spec.ignore_tag_keys.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names() {
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            ("team-a", "app", None, "team-a.app"),
            ("team-a", "app", Some("Explicit"), "Explicit"),
        ];
        for (namespace, name, explicit, expected) in cases {
            assert_eq!(role_name(namespace, name, *explicit), *expected);
        }
    }

    #[test]
    fn long_names_are_shortened_stably_and_distinctly() {
        let long = "a".repeat(60);
        let first = role_name("ns", &format!("{long}-one"), None);
        let second = role_name("ns", &format!("{long}-two"), None);
        assert_eq!(first.len(), 64);
        assert_eq!(second.len(), 64);
        assert_ne!(first, second);
        assert_eq!(first, role_name("ns", &format!("{long}-one"), None));
        assert!(first.starts_with("ns.aaaa"));
    }
}
