//! Admission as tables over what it decides: the rule and the field of every problem and finding.
//! The wording users read is checked in `iam_rules`.

pub(super) mod iam_rules;
mod names;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::error::{Category, Error};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

fn owner() -> Owner {
    Owner {
        cluster: "test".into(),
        namespace: "team".into(),
        name: "app".into(),
    }
}

/// A valid object: team/app, named `team.app` by derivation.
fn input() -> Input {
    team_app(Spec {
        assume_role_policy: Some(Value::String(TRUST.into())),
        inline_policies: BTreeMap::from([("read".to_string(), Value::String(READ.into()))]),
        managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
        tags: BTreeMap::from([("team".to_string(), "payments".to_string())]),
        ..Spec::default()
    })
}

/// The object team/app with `spec`, its path and session length as the CRD's defaults fill
/// them in.
pub(super) fn team_app(spec: Spec) -> Input {
    Input {
        namespace: Some("team".into()),
        name: Some("app".into()),
        spec: Spec {
            path: "/".into(),
            max_session_duration: 3600,
            ..spec
        },
        recorded_name: None,
        recorded_arn: false,
    }
}

/// What a test may change besides the object.
struct Setting {
    confinement: Confinement,
    ignore_tag_keys: Vec<String>,
    cluster_id: String,
    workloads: Workloads,
}

impl Default for Setting {
    fn default() -> Self {
        Setting {
            confinement: Confinement::default(),
            ignore_tag_keys: Vec::new(),
            cluster_id: "test".into(),
            workloads: Workloads::default(),
        }
    }
}

fn admit_with(input: &Input, setting: &Setting) -> Result<Admitted, Vec<Problem>> {
    let context = Context {
        confinement: &setting.confinement,
        ignore_tag_keys: &setting.ignore_tag_keys,
        cluster_id: &setting.cluster_id,
        guardrails: &[],
        workloads: &setting.workloads,
    };
    admit(input, &context)
}

type Edit = fn(&mut Input, &mut Setting);
/// A table row: label, edit of the valid object, what admission must answer.
type Row<'a, E, W> = (&'a str, E, &'a [W]);

fn tag(input: &mut Input, key: &str, value: &str) {
    input.spec.tags.insert(key.into(), value.into());
}

fn trust(input: &mut Input, document: Value) {
    input.spec.assume_role_policy = Some(document);
}

#[test]
fn the_base_object_is_admitted_as_it_asks() {
    let admitted = admit_with(&input(), &Setting::default()).expect("admitted");
    assert_eq!(admitted.desired.name, "team.app");
    assert_eq!(admitted.desired.assume_role_policy, TRUST);
    assert_eq!(admitted.owner, owner());
    assert_eq!(
        findings(&admitted.desired, Some("123456789012")),
        Vec::new()
    );
}

/// Every rule admission can break, one row each: (label, edit, expected (rule, field) in order).
#[test]
fn refusals_by_rule_and_field() {
    let cases: Vec<Row<'_, Edit, (Rule, &str)>> = vec![
        (
            "no namespace nor name",
            |i, _| {
                i.namespace = None;
                i.name = None;
            },
            &[
                (Rule::MissingMetadata, "metadata.namespace"),
                (Rule::MissingMetadata, "metadata.name"),
            ],
        ),
        (
            "empty role name",
            |i, s| {
                i.spec.role_name = Some(String::new());
                s.confinement = Confinement::none();
            },
            &[(Rule::RoleNameEmpty, "spec.roleName")],
        ),
        (
            "long role name",
            |i, _| i.spec.role_name = Some(format!("team.{}", "a".repeat(60))),
            &[(Rule::RoleNameTooLong, "spec.roleName")],
        ),
        (
            "role name characters",
            |i, _| i.spec.role_name = Some("team.a b".into()),
            &[(Rule::RoleNameCharacters, "spec.roleName")],
        ),
        (
            "no name can be derived",
            |i, _| {
                i.namespace = Some("n".repeat(60));
                i.name = Some("application".into());
            },
            &[(Rule::RoleNameUnderivable, "spec.roleName")],
        ),
        (
            "empty path",
            |i, _| i.spec.path = String::new(),
            &[(Rule::PathEmpty, "spec.path")],
        ),
        (
            "long path",
            |i, _| i.spec.path = format!("/{}/", "p".repeat(511)),
            &[(Rule::PathTooLong, "spec.path")],
        ),
        (
            "path form and characters",
            |i, _| i.spec.path = "team app".into(),
            &[
                (Rule::PathForm, "spec.path"),
                (Rule::PathCharacters, "spec.path"),
            ],
        ),
        (
            "description",
            |i, _| i.spec.description = Some(format!("{}€", "d".repeat(1000))),
            &[
                (Rule::DescriptionTooLong, "spec.description"),
                (Rule::DescriptionCharacters, "spec.description"),
            ],
        ),
        (
            "session duration",
            |i, _| i.spec.max_session_duration = 60,
            &[(Rule::SessionDurationRange, "spec.maxSessionDuration")],
        ),
        (
            "unreadable documents",
            |i, _| {
                trust(i, json!(42));
                i.spec.inline_policies.insert("bad".into(), json!("{"));
            },
            &[
                (Rule::PolicyUnreadable, "spec.assumeRolePolicy"),
                (Rule::PolicyUnreadable, "spec.inlinePolicies.bad"),
            ],
        ),
        (
            "policy grammar",
            |i, _| {
                let document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]});
                i.spec.inline_policies.insert("read".into(), document);
            },
            &[
                (Rule::PolicyGrammar, "spec.inlinePolicies.read"),
                (Rule::PolicyGrammar, "spec.inlinePolicies.read"),
            ],
        ),
        (
            "large trust policy",
            |i, _| {
                let services: Vec<String> = (0..150)
                    .map(|n| format!("service{n}.amazonaws.com"))
                    .collect();
                trust(
                    i,
                    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                        "Principal": {"Service": services}, "Action": "sts:AssumeRole"}]}),
                );
            },
            &[(Rule::TrustPolicyTooLarge, "spec.assumeRolePolicy")],
        ),
        (
            "wildcard trust",
            |i, _| {
                trust(
                    i,
                    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                        "Principal": "*", "Action": "sts:AssumeRole"}]}),
                );
            },
            &[(Rule::WildcardTrust, "spec.assumeRolePolicy")],
        ),
        (
            "policy names",
            |i, _| {
                let read = Value::String(READ.into());
                i.spec.inline_policies.insert(String::new(), read.clone());
                i.spec.inline_policies.insert("p".repeat(129), read.clone());
                i.spec.inline_policies.insert("a b".into(), read.clone());
                i.spec.inline_policies.insert("Read".into(), read);
            },
            &[
                (Rule::PolicyNameEmpty, "spec.inlinePolicies"),
                (Rule::PolicyNameCharacters, "spec.inlinePolicies"),
                (Rule::PolicyNameTooLong, "spec.inlinePolicies"),
                (Rule::PolicyNamesDifferInCase, "spec.inlinePolicies"),
            ],
        ),
        (
            "inline policies together too large",
            |i, _| {
                for n in 0..60 {
                    let resource = format!("arn:aws:s3:::{}/*", "b".repeat(100));
                    let document = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                        "Action": "s3:GetObject", "Resource": resource}]});
                    i.spec.inline_policies.insert(format!("p{n}"), document);
                }
            },
            &[(Rule::InlinePoliciesTooLarge, "spec.inlinePolicies")],
        ),
        (
            "managed policies",
            |i, _| {
                i.spec.managed_policy_arns = (0..20)
                    .map(|n| format!("arn:aws:iam::123456789012:policy/p{n}"))
                    .collect();
                i.spec
                    .managed_policy_arns
                    .push("arn:aws:iam::123456789012:policy/p0".into());
                i.spec.permissions_boundary = Some("arn:aws:s3:::bucket".into());
            },
            &[
                (Rule::ManagedPoliciesTooMany, "spec.managedPolicyArns"),
                (Rule::ManagedPolicyListedTwice, "spec.managedPolicyArns[20]"),
                (Rule::PolicyArnInvalid, "spec.permissionsBoundary"),
            ],
        ),
        (
            "partitions",
            |i, _| i.spec.permissions_boundary = Some("arn:aws-cn:iam::aws:policy/B".into()),
            &[(
                Rule::PolicyArnsMixedPartitions,
                "spec.managedPolicyArns/spec.permissionsBoundary",
            )],
        ),
        (
            "too many tags",
            |i, _| {
                for n in 0..49 {
                    tag(i, &format!("k{n}"), "v");
                }
            },
            &[(Rule::TagsTooMany, "spec.tags")],
        ),
        (
            "tag keys",
            |i, _| {
                tag(i, "", "v");
                tag(i, &"k".repeat(129), "v");
                tag(i, "a#b", "v");
                tag(i, "AWS:x", "v");
                tag(i, "Team", "v");
            },
            &[
                (Rule::TagKeyEmpty, "spec.tags"),
                (Rule::TagKeyReserved, "spec.tags.AWS:x"),
                (Rule::TagKeyCharacters, "spec.tags.a#b"),
                (Rule::TagKeyTooLong, "spec.tags"),
                (Rule::TagKeysDifferInCase, "spec.tags"),
            ],
        ),
        (
            "rolesmith's own tag",
            |i, _| tag(i, "RoleSmith.dev/Owner", "x"),
            &[(Rule::OwnerTagInSpec, "spec.tags.RoleSmith.dev/Owner")],
        ),
        (
            "tag values",
            |i, _| {
                tag(i, "long", &"v".repeat(257));
                tag(i, "odd", "a#b");
            },
            &[
                (Rule::TagValueTooLong, "spec.tags.long"),
                (Rule::TagValueCharacters, "spec.tags.odd"),
            ],
        ),
        (
            "a tag the operator leaves to others",
            |_, s| s.ignore_tag_keys = vec!["te*".into()],
            &[(Rule::IgnoredTagInSpec, "spec.tags.team")],
        ),
        (
            "a tag the spec leaves to others",
            |i, _| i.spec.ignore_tag_keys = vec!["TEAM".into()],
            &[(Rule::IgnoredTagInSpec, "spec.tags.team")],
        ),
        (
            "cluster id IAM refuses in a tag value",
            |_, s| s.cluster_id = "prod#1".into(),
            &[(Rule::OwnerTagInvalid, "")],
        ),
        (
            "outside the namespace's names",
            |i, _| i.spec.role_name = Some("admin".into()),
            &[(Rule::ConfinementNamePrefix, "spec.roleName")],
        ),
        (
            "outside the namespace's paths",
            |i, s| {
                s.confinement.path_prefix = "/k8s/{namespace}/".into();
                i.spec.path = "/other/".into();
            },
            &[(Rule::ConfinementPathPrefix, "spec.path")],
        ),
        (
            "exempt namespace",
            |i, s| {
                s.confinement.exempt_namespaces = vec!["team".into()];
                i.spec.role_name = Some("admin".into());
            },
            &[],
        ),
        (
            "renaming a role the object created",
            |i, _| {
                i.recorded_name = Some("team.old".into());
                i.recorded_arn = true;
            },
            &[(Rule::RenameOrphansRole, "spec.roleName")],
        ),
        (
            "a recorded name without a role is no rename",
            |i, _| i.recorded_name = Some("team.old".into()),
            &[],
        ),
        (
            "everything at once",
            |i, s| {
                i.spec.role_name = Some("admin".into());
                i.spec.max_session_duration = 1;
                tag(i, "aws:x", "v");
                i.recorded_name = Some("team.app".into());
                i.recorded_arn = true;
                s.cluster_id = "a,b".into();
            },
            &[
                (Rule::ConfinementNamePrefix, "spec.roleName"),
                (Rule::RenameOrphansRole, "spec.roleName"),
                (Rule::SessionDurationRange, "spec.maxSessionDuration"),
                (Rule::TagKeyReserved, "spec.tags.aws:x"),
                (Rule::OwnerTagInvalid, ""),
            ],
        ),
    ];
    for (label, edit, want) in cases {
        let mut object = input();
        let mut setting = Setting::default();
        edit(&mut object, &mut setting);
        let got: Vec<(Rule, String)> = match admit_with(&object, &setting) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| (p.rule, p.field)).collect(),
        };
        let want: Vec<(Rule, String)> = want.iter().map(|(r, f)| (*r, f.to_string())).collect();
        assert_eq!(got, want, "{label}");
    }
}

/// The Event reason and metric label: a namespace's limit outweighs the rest.
#[test]
fn refusal_categories() {
    let forbidden = |rule| Error::refused(vec![Problem::new("f", rule, "m")]).category();
    assert_eq!(forbidden(Rule::ConfinementNamePrefix), Category::Forbidden);
    assert_eq!(forbidden(Rule::ConfinementPathPrefix), Category::Forbidden);
    assert_eq!(forbidden(Rule::RoleNameTooLong), Category::InvalidSpec);
    let mixed = Error::refused(vec![
        Problem::new("spec.tags.aws:x", Rule::TagKeyReserved, "reserved"),
        Problem::new("spec.roleName", Rule::ConfinementNamePrefix, "outside"),
    ]);
    assert_eq!(mixed.category(), Category::Forbidden);
    assert_eq!(
        mixed.to_string(),
        "not allowed in this namespace: spec.tags.aws:x: reserved; spec.roleName: outside"
    );
    let invalid = Error::refused(vec![Problem::new("", Rule::OwnerTagInvalid, "bad")]);
    assert_eq!(invalid.to_string(), "invalid spec: bad");
}

#[test]
fn findings_by_id_severity_and_field() {
    let cross = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]});
    let oidc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/A"},
        "Action": "sts:AssumeRoleWithWebIdentity"}]});
    let saml = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:saml-provider/Idp"},
        "Action": "sts:AssumeRoleWithSAML"}]});
    type Change = Box<dyn Fn(&mut Input)>;
    let cases: Vec<Row<'_, Change, (Rule, Severity, &str)>> = vec![
        (
            "admin inline policy",
            Box::new(|i| {
                i.spec
                    .inline_policies
                    .insert("all".into(), Value::String(ADMIN.into()));
            }),
            &[(Rule::AdminAccess, Severity::High, "spec.inlinePolicies.all")],
        ),
        (
            "AdministratorAccess in aws-us-gov",
            Box::new(|i| {
                i.spec.managed_policy_arns =
                    vec!["arn:aws-us-gov:iam::aws:policy/AdministratorAccess".into()];
            }),
            &[(Rule::AdminAccess, Severity::High, "spec.managedPolicyArns")],
        ),
        (
            "a customer policy named AdministratorAccess",
            Box::new(|i| {
                i.spec.managed_policy_arns =
                    vec!["arn:aws:iam::123456789012:policy/AdministratorAccess".into()];
            }),
            &[],
        ),
        (
            "another account",
            Box::new(move |i| trust(i, cross.clone())),
            &[(
                Rule::CrossAccountNoExternalId,
                Severity::High,
                "spec.assumeRolePolicy",
            )],
        ),
        (
            "web identity",
            Box::new(move |i| trust(i, oidc.clone())),
            &[
                (
                    Rule::WebIdentityNoSubject,
                    Severity::High,
                    "spec.assumeRolePolicy",
                ),
                (
                    Rule::WebIdentityNoAudience,
                    Severity::Low,
                    "spec.assumeRolePolicy",
                ),
            ],
        ),
        (
            "SAML",
            Box::new(move |i| trust(i, saml.clone())),
            &[(
                Rule::SamlNoAudience,
                Severity::Medium,
                "spec.assumeRolePolicy",
            )],
        ),
    ];
    for (label, edit, want) in cases {
        let mut object = input();
        edit(&mut object);
        let admitted = admit_with(&object, &Setting::default()).expect(label);
        let found = findings(&admitted.desired, Some("123456789012"));
        let got: Vec<(Rule, Severity, &str)> = found
            .iter()
            .map(|f| (f.id, f.severity, f.field.as_str()))
            .collect();
        assert_eq!(got, want, "{label}");
    }
}

/// Ids are the metric labels and what users search for: unique, kebab-case, never empty.
#[test]
fn rule_ids_are_unique_kebab_case() {
    let mut seen = std::collections::BTreeSet::new();
    for rule in Rule::ALL {
        let id = rule.id();
        assert!(seen.insert(id), "{id} twice");
        assert!(!id.is_empty() && !id.starts_with('-') && !id.ends_with('-'));
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{id}"
        );
    }
}

/// The engine's defence repeats admission's checks of the role: the same function, the same
/// answer.
#[test]
fn the_engine_check_agrees_with_admission() {
    let mut object = input();
    object.spec.max_session_duration = 7;
    let refused = admit_with(&object, &Setting::default()).expect_err("refused");
    object.spec.max_session_duration = 3600;
    let mut desired = admit_with(&object, &Setting::default())
        .expect("admitted")
        .desired;
    desired.max_session_duration = 7;
    assert_eq!(check_desired(&desired, &owner()), refused);
}
