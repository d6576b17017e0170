//! From an `IamRole` object to the plain [`DesiredRole`] the core works on.

use crate::api::IamRole;
use crate::error::{Error, Result};
use crate::model::{DesiredRole, Owner};
use crate::policy;

mod managed_policy;
pub use managed_policy::{desired_policy, policy_name, policy_owner};

/// IAM's limit on role names.
const MAX_ROLE_NAME: usize = 64;
/// Hex digits of the hash that tells shortened names apart (32 bits: a namespace would need tens
/// of thousands of long object names before two are likely to collide).
const HASH_LEN: usize = 8;

/// The role name: `spec.roleName`, else the derived name (see [`derived_role_name`]).
///
/// Where no name can be derived (`desired_role` refuses such an object), this is the name earlier
/// releases derived, so deleting the object still finds a role one of them created for it.
pub fn role_name(namespace: &str, name: &str, explicit: Option<&str>) -> String {
    if let Some(explicit) = explicit {
        return explicit.to_string();
    }
    derived_role_name(namespace, name).unwrap_or_else(|_| earlier_role_name(namespace, name))
}

/// `<namespace>.<name>`, shortened with a stable hash when too long so two long object names
/// never collide; it always starts with `<namespace>.`, which name confinement requires. The
/// dot cannot occur in a namespace name, so two namespaces never derive the same name, and
/// the derivation never depends on configuration: a derived name must stay the same for the
/// life of the object.
///
/// Shortened names keep the form earlier releases gave them (`<first 55 characters>-<hash>`)
/// wherever that form kept the whole `<namespace>.`, so existing roles keep their names. A
/// 55-character namespace has room for the hash only without the dash; a longer one has no
/// room at all, and the error says so.
fn derived_role_name(namespace: &str, name: &str) -> std::result::Result<String, String> {
    let full = format!("{namespace}.{name}");
    if full.len() <= MAX_ROLE_NAME {
        return Ok(full);
    }
    let prefix = namespace.len() + 1;
    if prefix + 1 + HASH_LEN <= MAX_ROLE_NAME {
        return Ok(earlier_role_name(namespace, name));
    }
    if prefix + HASH_LEN <= MAX_ROLE_NAME {
        return Ok(format!("{namespace}.{}", hash(&full)));
    }
    Err(format!(
        "spec.roleName: not set, and no role name can be derived: namespace {namespace:?} is {} characters long, so \"{namespace}.\" leaves no room in IAM's {MAX_ROLE_NAME} characters for the object name or an {HASH_LEN}-character hash; set spec.roleName (it can only be set when the object is created)",
        namespace.chars().count()
    ))
}

/// The derivation of earlier releases: the first 55 characters of `<namespace>.<name>`, a dash
/// and the hash. For namespaces of 55 characters or more it cuts into the namespace itself.
fn earlier_role_name(namespace: &str, name: &str) -> String {
    let full = format!("{namespace}.{name}");
    if full.len() <= MAX_ROLE_NAME {
        return full;
    }
    let mut keep = MAX_ROLE_NAME - HASH_LEN - 1;
    // Kubernetes names are ASCII, but `rolesmith plan` reads manifests no API server checked:
    // cut on a character boundary (validation then refuses the character).
    while !full.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}-{}", &full[..keep], hash(&full))
}

fn hash(full: &str) -> String {
    format!("{:0width$x}", fnv1a(full.as_bytes()), width = HASH_LEN)
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
    let earlier = earlier_role_name(&namespace, &name);
    let recorded = role.status.as_ref().and_then(|s| s.role_name.as_deref());
    let role_name = match (&spec.role_name, derived_role_name(&namespace, &name)) {
        (Some(explicit), _) => explicit.clone(),
        // A role an earlier release created under the shortened name it gave (only possible
        // without name confinement) keeps that name: status records it once the role exists
        // and is this object's, and renaming would orphan it.
        (None, _) if recorded == Some(earlier.as_str()) => earlier,
        (None, Ok(derived)) => derived,
        (None, Err(problem)) => {
            problems.push(problem);
            String::new()
        }
    };
    if !problems.is_empty() {
        return Err(Error::InvalidSpec(problems));
    }
    Ok(DesiredRole {
        name: role_name,
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

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn object(namespace: &str, name: &str, recorded: Option<&str>) -> IamRole {
        let mut role: IamRole = serde_json::from_value(serde_json::json!({
            "apiVersion": "iam.rolesmith.dev/v1alpha1",
            "kind": "IamRole",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"assumeRolePolicy": TRUST},
        }))
        .expect("a valid IamRole");
        if let Some(recorded) = recorded {
            role.status = Some(crate::api::IamRoleStatus {
                role_name: Some(recorded.to_string()),
                ..Default::default()
            });
        }
        role
    }

    /// A Kubernetes namespace of `length` characters (at most 63).
    fn namespace(length: usize) -> String {
        "ns-"
            .chars()
            .chain(std::iter::repeat('x'))
            .take(length)
            .collect()
    }

    /// Names that fit, and every shortened name the earlier derivation gave while it kept the
    /// `<namespace>.` prefix: an existing role keeps its name.
    #[test]
    fn derived_names_that_complied_before_are_unchanged() {
        let cases: Vec<(String, String, &str)> = vec![
            ("team-a".into(), "app".into(), "team-a.app"),
            (
                "ns".into(),
                format!("{}-one", "a".repeat(60)),
                "ns.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-7f6a5da1",
            ),
            (
                namespace(20),
                "b".repeat(100),
                "ns-xxxxxxxxxxxxxxxxx.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-45c264ff",
            ),
            (
                namespace(50),
                "application-server".into(),
                "ns-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.appl-c48dcb91",
            ),
            (
                namespace(54),
                "application-server".into(),
                "ns-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.-2a52cd41",
            ),
            (
                namespace(60),
                "abc".into(),
                "ns-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.abc",
            ),
        ];
        for (namespace, name, want) in cases {
            assert_eq!(
                role_name(&namespace, &name, None),
                want,
                "{namespace}/{name}"
            );
            let desired = desired_role(&object(&namespace, &name, None));
            assert_eq!(
                desired.map(|d| d.name).ok().as_deref(),
                Some(want),
                "{namespace}/{name}"
            );
        }
    }

    /// Every namespace length Kubernetes allows: a derived name starts with `<namespace>.`, is at
    /// most 64 characters and passes the default confinement; only where `<namespace>.` leaves no
    /// room for a hash is the object refused, as an invalid spec that says what to do.
    #[test]
    fn derived_names_keep_the_namespace_prefix_or_are_refused() {
        let confinement = crate::confine::Confinement::default();
        for length in 1..=63 {
            let namespace = namespace(length);
            for name_length in [1, 8, 9, 30, 62, 63, 64, 200, 253] {
                let name = "n".repeat(name_length);
                let fits = length + 1 + name_length <= MAX_ROLE_NAME;
                let label = format!("{namespace}/{name}");
                match desired_role(&object(&namespace, &name, None)) {
                    Ok(desired) => {
                        assert!(desired.name.len() <= MAX_ROLE_NAME, "{label}");
                        assert!(
                            desired.name.starts_with(&format!("{namespace}.")),
                            "{label}: {}",
                            desired.name
                        );
                        assert_eq!(
                            confinement.check(&namespace, &desired.name, "/"),
                            Vec::<String>::new(),
                            "{label}"
                        );
                        assert_eq!(desired.name, role_name(&namespace, &name, None));
                        assert!(fits || length <= 55, "{label}: should be refused");
                    }
                    Err(Error::InvalidSpec(problems)) => {
                        assert!(!fits && length >= 56, "{label}: refused: {problems:?}");
                        assert_eq!(problems.len(), 1, "{label}");
                        for fragment in [
                            "spec.roleName: not set, and no role name can be derived",
                            &format!("namespace {namespace:?} is {length} characters long"),
                            "set spec.roleName",
                        ] {
                            assert!(problems[0].contains(fragment), "{problems:?}");
                        }
                    }
                    Err(other) => panic!("{label}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn shortened_names_in_one_namespace_stay_distinct() {
        for length in [2, 40, 54, 55] {
            let namespace = namespace(length);
            let names: std::collections::BTreeSet<String> = (0..200)
                .map(|i| role_name(&namespace, &format!("{}-{i}", "a".repeat(70)), None))
                .collect();
            assert_eq!(names.len(), 200, "namespace of {length}");
        }
    }

    /// A role an earlier release created under its shortened name (possible only without name
    /// confinement) keeps that name: the object's status records it.
    #[test]
    fn a_recorded_name_from_the_earlier_derivation_is_kept() {
        let name = "c".repeat(30);
        for length in [55, 58, 63] {
            let namespace = namespace(length);
            let full = format!("{namespace}.{name}");
            let earlier = format!("{}-{:08x}", &full[..55], fnv1a(full.as_bytes()));
            let kept = desired_role(&object(&namespace, &name, Some(&earlier)));
            assert_eq!(kept.map(|d| d.name).ok(), Some(earlier.clone()));
            assert_eq!(role_name(&namespace, &name, None).len(), 64);
            // Any other recorded name is no way around the refusal.
            let other = desired_role(&object(&namespace, &name, Some("admin")));
            assert_eq!(
                other.map(|d| d.name).ok().is_some(),
                length == 55,
                "namespace of {length}"
            );
        }
    }

    /// Two equal keys in one object: IAM and rolesmith could each keep a different one. A JSON
    /// string reaches IAM as written, so it is refused here; the YAML reader already refuses
    /// them in a mapping (and in a JSON manifest, which it reads as YAML).
    #[test]
    fn duplicate_keys_in_policies_are_refused() {
        let manifest = |policy: &str| {
            format!(
                "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata:\n  name: app\n  namespace: team\nspec:\n  assumeRolePolicy: '{TRUST}'\n  inlinePolicies:\n    read:\n{policy}\n"
            )
        };
        let json_string = manifest(
            r#"      '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Effect":"Allow"}]}'"#,
        );
        let roles = crate::manifest::parse(&json_string, "default").expect("readable YAML");
        match desired_role(&roles[0]) {
            Err(Error::InvalidSpec(problems)) => assert_eq!(
                problems,
                [
                    "spec.inlinePolicies.read: the policy has the key \"Effect\" twice in Statement[0]; IAM and rolesmith could each read a different one, so write it once"
                ]
            ),
            other => panic!("{other:?}"),
        }
        let trust = TRUST.replace(r#""Principal""#, r#""Principal":"*","Principal""#);
        let mut role = object("team", "app", None);
        role.spec.assume_role_policy = serde_json::Value::String(trust);
        match desired_role(&role) {
            Err(Error::InvalidSpec(problems)) => {
                assert!(problems[0].starts_with("spec.assumeRolePolicy: the policy has the key \"Principal\" twice in Statement[0]"), "{problems:?}")
            }
            other => panic!("{other:?}"),
        }

        let yaml_mapping = manifest(
            "      Version: \"2012-10-17\"\n      Statement:\n        - Effect: Deny\n          Action: \"*\"\n          Resource: \"*\"\n          Effect: Allow",
        );
        let json_manifest = r#"{"apiVersion":"iam.rolesmith.dev/v1alpha1","kind":"IamRole","metadata":{"name":"app","namespace":"team"},"spec":{"assumeRolePolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333","aws:SourceAccount":"444455556666"}}}]}}}"#;
        for (text, key) in [
            (yaml_mapping.as_str(), "Effect"),
            (json_manifest, "aws:SourceAccount"),
        ] {
            let error = crate::manifest::parse(text, "default").expect_err("duplicate key");
            let message = error.to_string();
            assert!(message.contains("duplicate mapping key"), "{message}");
            assert!(message.contains(key), "{message}");
        }
    }

    /// `rolesmith plan` reads names Kubernetes would refuse: a multi-byte character at the cut
    /// must not panic (validation refuses the name afterwards).
    #[test]
    fn non_ascii_names_are_shortened_without_panicking() {
        for namespace in ["n", "ns", "nsé"] {
            let name = role_name(namespace, &"é".repeat(40), None);
            assert!(name.len() <= MAX_ROLE_NAME, "{name}");
            assert!(name.starts_with(&format!("{namespace}.")), "{name}");
        }
    }
}
