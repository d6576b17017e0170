//! Role names derived from the namespace and name: stable, distinct, within IAM's limit and
//! the namespace's prefix.

use super::TRUST;
use crate::admission::limits::ROLE_NAME_MAX;
use crate::admission::names::fnv1a;
use crate::admission::{Confinement, Input, Problem, Rule, Spec, role_name, translate};
use crate::model::DesiredRole;

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

fn object(namespace: &str, name: &str, recorded: Option<&str>) -> Input {
    Input {
        namespace: Some(namespace.to_string()),
        name: Some(name.to_string()),
        spec: Spec {
            path: "/".into(),
            max_session_duration: 3600,
            assume_role_policy: Some(serde_json::Value::String(TRUST.into())),
            ..Spec::default()
        },
        recorded_name: recorded.map(str::to_string),
        recorded_arn: false,
    }
}

/// The desired role the object asks for, before IAM's rules are checked (names of 200
/// characters and more make an ownership tag IAM refuses: not what these tests are about).
fn desired_role(input: &Input) -> Result<DesiredRole, Vec<Problem>> {
    let mut problems = Vec::new();
    let namespace = input.namespace.as_deref().unwrap_or_default();
    let name = input.name.as_deref().unwrap_or_default();
    translate(namespace, name, input, &mut problems).ok_or(problems)
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
    let confinement = Confinement::default();
    for length in 1..=63 {
        let namespace = namespace(length);
        for name_length in [1, 8, 9, 30, 62, 63, 64, 200, 253] {
            let name = "n".repeat(name_length);
            let fits = length + 1 + name_length <= ROLE_NAME_MAX;
            let label = format!("{namespace}/{name}");
            match desired_role(&object(&namespace, &name, None)) {
                Ok(desired) => {
                    assert!(desired.name.len() <= ROLE_NAME_MAX, "{label}");
                    assert!(
                        desired.name.starts_with(&format!("{namespace}.")),
                        "{label}: {}",
                        desired.name
                    );
                    assert_eq!(
                        confinement.check(&namespace, &desired.name, "/"),
                        Vec::new(),
                        "{label}"
                    );
                    assert_eq!(desired.name, role_name(&namespace, &name, None));
                    assert!(fits || length <= 55, "{label}: should be refused");
                }
                Err(problems) => {
                    assert!(!fits && length >= 56, "{label}: refused: {problems:?}");
                    assert_eq!(problems.len(), 1, "{label}");
                    assert_eq!(problems[0].rule, Rule::RoleNameUnderivable);
                    assert_eq!(problems[0].field, "spec.roleName");
                    let message = problems[0].to_string();
                    for fragment in [
                        "spec.roleName: not set, and no role name can be derived",
                        &format!("namespace {namespace:?} is {length} characters long"),
                        "set spec.roleName",
                    ] {
                        assert!(message.contains(fragment), "{message}");
                    }
                }
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

/// `rolesmith plan` reads names Kubernetes would refuse: a multi-byte character at the cut
/// must not panic (validation refuses the name afterwards).
#[test]
fn non_ascii_names_are_shortened_without_panicking() {
    for namespace in ["n", "ns", "nsé"] {
        let name = role_name(namespace, &"é".repeat(40), None);
        assert!(name.len() <= ROLE_NAME_MAX, "{name}");
        assert!(name.starts_with(&format!("{namespace}.")), "{name}");
    }
}
