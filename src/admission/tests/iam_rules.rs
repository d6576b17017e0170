//! IAM's rules for the role, by the messages users read: each names the field, what is wrong
//! and what IAM allows.

use std::collections::BTreeMap;

use super::owner;
use crate::admission::{check_desired, findings};
use crate::model::{DesiredRole, OWNER_TAG_KEY};
use crate::policy;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;

/// A valid role; other admission tests start from it too.
pub(in crate::admission) fn role() -> DesiredRole {
    DesiredRole {
        name: "app-role".into(),
        settings: crate::model::RoleSettings {
            path: "/".into(),
            description: String::new(),
            max_session_duration: 3600,
            assume_role_policy: TRUST.into(),
            inline_policies: BTreeMap::from([("read".to_string(), READ.to_string())]),
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            permissions_boundary: None,
            tags: BTreeMap::from([("team".to_string(), "payments".to_string())]),
        },
        ignored_tag_keys: Vec::new(),
        instance_profile: false,
    }
}

/// Runs each case's edit on a valid role and checks the problems: one fragment per
/// expected problem, in order; no fragments means the role must be valid.
type Edit<'a> = Box<dyn Fn(&mut DesiredRole) + 'a>;

/// The problems IAM's rules find, as users read them.
fn messages(desired: &DesiredRole) -> Vec<String> {
    check_desired(desired, &owner())
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn warnings(desired: &DesiredRole, own_account_id: Option<&str>) -> Vec<String> {
    findings(desired, own_account_id)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn check(cases: Vec<(&str, Edit<'_>, &[&str])>) {
    for (label, edit, fragments) in cases {
        let mut desired = role();
        edit(&mut desired);
        let problems = messages(&desired);
        assert_eq!(problems.len(), fragments.len(), "{label}: {problems:#?}");
        for (problem, fragment) in problems.iter().zip(fragments.iter()) {
            assert!(
                problem.contains(fragment),
                "{label}: {problem:?} lacks {fragment:?}"
            );
        }
    }
}

macro_rules! case {
    ($label:expr, |$r:ident| $edit:expr, $fragments:expr) => {
        (
            $label,
            Box::new(|$r: &mut DesiredRole| {
                $edit;
            }) as Edit<'_>,
            &$fragments[..],
        )
    };
}

#[test]
fn the_base_role_is_valid_and_has_no_warnings() {
    assert_eq!(messages(&role()), Vec::<String>::new());
    assert_eq!(
        warnings(&role(), Some("123456789012")),
        Vec::<String>::new()
    );
}

#[test]
fn role_name() {
    let seventy = format!(
        "spec.roleName: \"{}\" is 70 characters long; IAM allows 1 to 64",
        "b".repeat(70)
    );
    check(vec![
        case!(
            "all allowed characters",
            |r| r.name = "Az09+=,.@_-".into(),
            []
        ),
        case!("64 characters", |r| r.name = "a".repeat(64), []),
        case!("one character", |r| r.name = "a".into(), []),
        case!(
            "empty",
            |r| r.name = String::new(),
            ["spec.roleName: is empty; IAM allows 1 to 64"]
        ),
        case!(
            "65 characters",
            |r| r.name = "a".repeat(65),
            ["is 65 characters long; IAM allows 1 to 64"]
        ),
        case!(
            "70 characters",
            |r| r.name = "b".repeat(70),
            [seventy.as_str()]
        ),
        case!(
            "space and slash",
            |r| r.name = "app role/x".into(),
            [
                "spec.roleName: \"app role/x\" contains ' ', '/'; IAM allows only A-Z a-z 0-9 and + = , . @ _ -"
            ]
        ),
        case!(
            "Cyrillic look-alike",
            |r| r.name = "аpp".into(),
            ["contains 'а' (U+0430)"]
        ),
        case!(
            "accented letter",
            |r| r.name = "café".into(),
            ["contains 'é' (U+00E9)"]
        ),
        case!("Unicode digit", |r| r.name = "app١".into(), ["(U+0661)"]),
    ]);
}

#[test]
fn path() {
    check(vec![
        case!("root", |r| r.path = "/".into(), []),
        case!("nested", |r| r.path = "/team/app-1/".into(), []),
        case!("printable ASCII", |r| r.path = "/!~a/".into(), []),
        case!(
            "512 characters",
            |r| r.path = format!("/{}/", "a".repeat(510)),
            []
        ),
        case!(
            "513 characters",
            |r| r.path = format!("/{}/", "a".repeat(511)),
            ["is 513 characters long; IAM allows 1 to 512"]
        ),
        case!("empty", |r| r.path = String::new(), ["spec.path: is empty"]),
        case!(
            "no leading slash",
            |r| r.path = "team/".into(),
            ["spec.path: \"team/\" must be \"/\" or start and end with \"/\""]
        ),
        case!(
            "no trailing slash",
            |r| r.path = "/team".into(),
            ["must be \"/\" or start and end"]
        ),
        case!(
            "empty segment only",
            |r| r.path = "//".into(),
            ["must be \"/\" or start and end"]
        ),
        case!(
            "space",
            |r| r.path = "/my team/".into(),
            ["contains ' '; IAM allows only printable ASCII"]
        ),
        case!(
            "non-ASCII",
            |r| r.path = "/équipe/".into(),
            ["contains 'é' (U+00E9)"]
        ),
    ]);
}

#[test]
fn description() {
    check(vec![
        case!("empty", |r| r.description = String::new(), []),
        case!(
            "ASCII and control whitespace",
            |r| r.description = "Runs the app.\n\tOwner: payments\r\n".into(),
            []
        ),
        case!("Latin-1", |r| r.description = "Café ¡olé! ÿ".into(), []),
        case!("1000 characters", |r| r.description = "é".repeat(1000), []),
        case!(
            "1001 characters",
            |r| r.description = "a".repeat(1001),
            ["spec.description: is 1001 characters long; IAM allows at most 1000"]
        ),
        case!(
            "emoji",
            |r| r.description = "app 🚀".into(),
            ["spec.description: contains '🚀' (U+1F680)"]
        ),
        case!(
            "beyond Latin-1",
            |r| r.description = "Zürich – east".into(),
            ["contains '–' (U+2013)"]
        ),
        case!(
            "non-breaking space and soft hyphen",
            |r| r.description = "a\u{a0}b".into(),
            ["(U+00A0)"]
        ),
        case!(
            "other control character",
            |r| r.description = "a\u{7}".into(),
            ["(U+0007)"]
        ),
    ]);
}

#[test]
fn max_session_duration() {
    check(vec![
        case!("minimum", |r| r.max_session_duration = 3600, []),
        case!("maximum", |r| r.max_session_duration = 43200, []),
        case!(
            "below",
            |r| r.max_session_duration = 3599,
            [
                "spec.maxSessionDuration: 3599 seconds is outside IAM's range of 3600 (1 hour) to 43200 (12 hours)"
            ]
        ),
        case!(
            "above",
            |r| r.max_session_duration = 43201,
            ["43201 seconds is outside"]
        ),
        case!("negative", |r| r.max_session_duration = -1, ["-1 seconds"]),
    ]);
}

#[test]
fn trust_policy() {
    let padded = |size: usize| {
        // A condition value long enough to bring the document to `size` non-whitespace characters.
        let base = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":""}}}]}"#;
        let filler = "x".repeat(size - base.len());
        base.replace(
            r#""sts:ExternalId":"""#,
            &format!(r#""sts:ExternalId":"{filler}""#),
        )
    };
    assert_eq!(policy::non_whitespace_len(&padded(2048)), 2048);
    check(vec![
        case!(
            "2048 characters",
            |r| r.assume_role_policy = padded(2048),
            []
        ),
        case!(
            "2049 characters",
            |r| r.assume_role_policy = padded(2049),
            [
                "spec.assumeRolePolicy: is 2049 characters long without whitespace; IAM allows 2048 by default (the quota can be raised to 4096, but rolesmith enforces the default)"
            ]
        ),
        case!(
            "whitespace is free",
            |r| r.assume_role_policy = padded(2048).replace(',', ",\n        "),
            []
        ),
        case!(
            "empty",
            |r| r.assume_role_policy = String::new(),
            ["spec.assumeRolePolicy: is empty"]
        ),
        case!(
            "not JSON",
            |r| r.assume_role_policy = "{".into(),
            ["spec.assumeRolePolicy: is not valid JSON"]
        ),
        case!(
            "structural problem",
            |r| r.assume_role_policy = TRUST.replace("\"Effect\":\"Allow\",", ""),
            ["spec.assumeRolePolicy: Statement[0]: Effect is missing"]
        ),
        case!(
            "permissions action in a trust policy",
            |r| r.assume_role_policy = TRUST.replace("sts:AssumeRole", "s3:GetObject"),
            [
                "spec.assumeRolePolicy: Statement[0]: Action \"s3:GetObject\" cannot be in a trust policy"
            ]
        ),
        case!(
            "wildcard principal",
            |r| r.assume_role_policy =
                TRUST.replace(r#"{"Service":"lambda.amazonaws.com"}"#, r#""*""#),
            [
                "spec.assumeRolePolicy: a statement allows Principal \"*\" (any AWS account) without a Condition"
            ]
        ),
        case!(
            "wildcard AWS principal",
            |r| r.assume_role_policy =
                TRUST.replace(r#""Service":"lambda.amazonaws.com""#, r#""AWS":"*""#),
            ["without a Condition"]
        ),
        case!(
            "wildcard principal with a condition that narrows nothing",
            |r| {
                r.assume_role_policy = TRUST.replace(
                r#"{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole""#,
                r#""*","Action":"sts:AssumeRole","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#
            )
            },
            [
                "spec.assumeRolePolicy: a statement allows Principal \"*\" (any AWS account) without a Condition that narrows who may assume the role"
            ]
        ),
        case!(
            "wildcard principal with a wildcard organisation",
            |r| {
                r.assume_role_policy = TRUST.replace(
                r#"{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole""#,
                r#""*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalOrgID":"*"}}"#
            )
            },
            ["without a Condition that narrows"]
        ),
        case!(
            "wildcard principal with an organisation condition",
            |r| {
                r.assume_role_policy = TRUST.replace(
                r#"{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole""#,
                r#""*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}"#
            )
            },
            []
        ),
    ]);
}

#[test]
fn inline_policies() {
    let sized = |size: usize| {
        let base = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::"}]}"#;
        base.replace(":::", &format!(":::{}", "b".repeat(size - base.len())))
    };
    check(vec![
        case!("none", |r| r.inline_policies.clear(), []),
        case!(
            "name characters",
            |r| r.inline_policies = BTreeMap::from([("Az09+=,.@_-".into(), READ.into())]),
            []
        ),
        case!(
            "128-character name",
            |r| r.inline_policies = BTreeMap::from([("p".repeat(128), READ.into())]),
            []
        ),
        case!(
            "129-character name",
            |r| r.inline_policies = BTreeMap::from([("p".repeat(129), READ.into())]),
            ["is 129 characters long; IAM allows 1 to 128"]
        ),
        case!(
            "empty name",
            |r| r.inline_policies = BTreeMap::from([(String::new(), READ.into())]),
            ["spec.inlinePolicies: policy name is empty"]
        ),
        case!(
            "name with a colon",
            |r| r.inline_policies = BTreeMap::from([("s3:read".into(), READ.into())]),
            ["spec.inlinePolicies: policy name \"s3:read\" contains ':'"]
        ),
        case!(
            "principal in a permissions policy",
            |r| r.inline_policies = BTreeMap::from([(
                "p".into(),
                READ.replace(r#""Action""#, r#""Principal":"*","Action""#)
            )]),
            ["spec.inlinePolicies.p: Statement[0]: Policy document should not specify a principal"]
        ),
        case!(
            "missing resource",
            |r| r.inline_policies = BTreeMap::from([(
                "p".into(),
                READ.replace(r#","Resource":"arn:aws:s3:::b/*""#, "")
            )]),
            ["spec.inlinePolicies.p: Statement[0] has neither Resource nor NotResource"]
        ),
        case!(
            "names differing only in case",
            |r| r.inline_policies = BTreeMap::from([
                ("Read".into(), READ.into()),
                ("read".into(), READ.into()),
                ("write".into(), READ.into()),
                ("READ".into(), READ.into())
            ]),
            [
                "spec.inlinePolicies: policy names \"READ\", \"Read\" and \"read\" differ only in case; IAM does not tell policy names apart by case"
            ]
        ),
        case!(
            "names differing in more than case",
            |r| r.inline_policies = BTreeMap::from([
                ("read".into(), READ.into()),
                ("read-1".into(), READ.into()),
                ("reads".into(), READ.into())
            ]),
            []
        ),
        case!(
            "10240 characters together",
            |r| r.inline_policies =
                BTreeMap::from([("a".into(), sized(5120)), ("b".into(), sized(5120))]),
            []
        ),
        case!(
            "10241 characters together",
            |r| r.inline_policies =
                BTreeMap::from([("a".into(), sized(5120)), ("b".into(), sized(5121))]),
            [
                "spec.inlinePolicies: the documents together are 10241 characters long without whitespace; IAM allows 10240 per role"
            ]
        ),
    ]);
}

#[test]
fn managed_policies_and_boundary() {
    let arns = |count: usize| -> Vec<String> {
        (0..count)
            .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}"))
            .collect()
    };
    check(vec![
        case!("20 policies", |r| r.managed_policy_arns = arns(20), []),
        case!(
            "21 policies",
            |r| r.managed_policy_arns = arns(21),
            ["spec.managedPolicyArns: lists 21 policies; IAM allows at most 20 per role"]
        ),
        case!(
            "AWS-managed with a path",
            |r| r.managed_policy_arns =
                vec!["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".into()],
            []
        ),
        case!(
            "customer-managed with a nested path",
            |r| r.managed_policy_arns =
                vec!["arn:aws:iam::123456789012:policy/a/b/Name+=,.@_-".into()],
            []
        ),
        case!(
            "China partition",
            |r| r.managed_policy_arns = vec!["arn:aws-cn:iam::aws:policy/ReadOnlyAccess".into()],
            []
        ),
        case!(
            "GovCloud partition",
            |r| r.managed_policy_arns = vec!["arn:aws-us-gov:iam::123456789012:policy/x".into()],
            []
        ),
        case!(
            "duplicate",
            |r| r.managed_policy_arns = vec![
                "arn:aws:iam::aws:policy/A".into(),
                "arn:aws:iam::aws:policy/B".into(),
                "arn:aws:iam::aws:policy/A".into()
            ],
            ["spec.managedPolicyArns[2]: \"arn:aws:iam::aws:policy/A\" is already listed at [0]"]
        ),
        case!(
            "ARNs differing in case are two policies",
            |r| r.managed_policy_arns = vec![
                "arn:aws:iam::aws:policy/A".into(),
                "arn:aws:iam::aws:policy/a".into()
            ],
            []
        ),
        case!(
            "not an ARN",
            |r| r.managed_policy_arns = vec!["ReadOnlyAccess".into()],
            [
                "spec.managedPolicyArns[0]: \"ReadOnlyAccess\" is not a policy ARN; expected arn:aws:iam::"
            ]
        ),
        case!(
            "unknown partition",
            |r| r.managed_policy_arns = vec!["arn:aws-iso:iam::aws:policy/A".into()],
            ["has partition \"aws-iso\""]
        ),
        case!(
            "other service",
            |r| r.managed_policy_arns = vec!["arn:aws:s3:::bucket/policy/x".into()],
            ["is not an IAM ARN (service \"s3\")"]
        ),
        case!(
            "region",
            |r| r.managed_policy_arns = vec!["arn:aws:iam:us-east-1:aws:policy/A".into()],
            ["has a region (\"us-east-1\")"]
        ),
        case!(
            "short account",
            |r| r.managed_policy_arns = vec!["arn:aws:iam::12345:policy/A".into()],
            ["has account \"12345\""]
        ),
        case!(
            "role instead of policy",
            |r| r.managed_policy_arns = vec!["arn:aws:iam::123456789012:role/A".into()],
            ["is not a policy ARN (resource \"role/A\")"]
        ),
        case!(
            "empty name",
            |r| r.managed_policy_arns = vec!["arn:aws:iam::aws:policy/team/".into()],
            ["has policy name \"\""]
        ),
        case!(
            "space in name",
            |r| r.managed_policy_arns = vec!["arn:aws:iam::aws:policy/Read Only".into()],
            ["has policy name \"Read Only\""]
        ),
        case!(
            "boundary",
            |r| r.permissions_boundary = Some("arn:aws:iam::123456789012:policy/boundary".into()),
            []
        ),
        case!(
            "bad boundary",
            |r| r.permissions_boundary = Some("arn:aws:iam::123456789012:boundary".into()),
            [
                "spec.permissionsBoundary: \"arn:aws:iam::123456789012:boundary\" is not a policy ARN"
            ]
        ),
        case!(
            "boundary in another partition",
            |r| r.permissions_boundary = Some("arn:aws-cn:iam::aws:policy/B".into()),
            [
                "spec.managedPolicyArns/spec.permissionsBoundary: the ARNs are in several partitions (aws: spec.managedPolicyArns[0]; aws-cn: spec.permissionsBoundary)"
            ]
        ),
        case!(
            "managed policies in two partitions",
            |r| r
                .managed_policy_arns
                .push("arn:aws-us-gov:iam::aws:policy/B".into()),
            ["(aws: spec.managedPolicyArns[0]; aws-us-gov: spec.managedPolicyArns[1])"]
        ),
    ]);
}

#[test]
fn tags() {
    let many = |count: usize| -> BTreeMap<String, String> {
        (0..count)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect()
    };
    check(vec![
        case!("none", |r| r.tags.clear(), []),
        case!("49 tags", |r| r.tags = many(49), []),
        case!(
            "50 tags",
            |r| r.tags = many(50),
            [
                "spec.tags: has 50 tags; IAM allows 50 per role and rolesmith adds its ownership tag rolesmith.dev/owner, so at most 49"
            ]
        ),
        case!(
            "allowed characters",
            |r| r.tags = BTreeMap::from([(
                "Kostenstelle/Größe_1.a:b=c+d-e@f".into(),
                "東京 ١٢ x".into()
            )]),
            []
        ),
        case!(
            "empty value",
            |r| r.tags = BTreeMap::from([("k".into(), String::new())]),
            []
        ),
        case!(
            "128-character key, 256-character value",
            |r| r.tags = BTreeMap::from([("k".repeat(128), "v".repeat(256))]),
            []
        ),
        case!(
            "129-character key",
            |r| r.tags = BTreeMap::from([("k".repeat(129), "v".into())]),
            ["is 129 characters long; IAM allows 1 to 128"]
        ),
        case!(
            "257-character value",
            |r| r.tags = BTreeMap::from([("k".into(), "v".repeat(257))]),
            ["spec.tags.k: the value is 257 characters long; IAM allows at most 256"]
        ),
        case!(
            "empty key",
            |r| r.tags = BTreeMap::from([(String::new(), "v".into())]),
            ["spec.tags: a key is empty"]
        ),
        case!(
            "bad key character",
            |r| r.tags = BTreeMap::from([("cost!".into(), "v".into())]),
            [
                "spec.tags.cost!: the key contains '!'; IAM allows only letters, digits, spaces and _ . : / = + - @"
            ]
        ),
        case!(
            "bad value character",
            |r| r.tags = BTreeMap::from([("k".into(), "a,b;c".into())]),
            ["spec.tags.k: the value contains ',', ';'"]
        ),
        case!(
            "emoji value",
            |r| r.tags = BTreeMap::from([("k".into(), "🚀".into())]),
            ["the value contains '🚀' (U+1F680)"]
        ),
        case!(
            "aws: prefix",
            |r| r.tags = BTreeMap::from([("aws:cloudformation:stack-name".into(), "v".into())]),
            ["spec.tags.aws:cloudformation:stack-name: keys starting with \"aws:\" are reserved"]
        ),
        case!(
            "AWS: prefix",
            |r| r.tags = BTreeMap::from([("AWS:x".into(), "v".into())]),
            ["keys starting with \"aws:\" are reserved"]
        ),
        case!(
            "aws without colon is fine",
            |r| r.tags = BTreeMap::from([("aws-team".into(), "v".into())]),
            []
        ),
        case!(
            "ownership tag",
            |r| r.tags = BTreeMap::from([(OWNER_TAG_KEY.into(), "c/n/x".into())]),
            ["spec.tags.rolesmith.dev/owner: this tag is set by rolesmith itself"]
        ),
        case!(
            "ownership tag in another case",
            |r| r.tags = BTreeMap::from([("Rolesmith.dev/Owner".into(), "c/n/x".into())]),
            ["this tag is set by rolesmith itself"]
        ),
        case!(
            "keys equal ignoring case",
            |r| r.tags = BTreeMap::from([("Team".into(), "a".into()), ("team".into(), "b".into())]),
            ["spec.tags: keys \"Team\" and \"team\" differ only in case"]
        ),
    ]);
}

#[test]
fn all_problems_are_reported_together() {
    let mut desired = role();
    desired.name = String::new();
    desired.max_session_duration = 1;
    desired.tags.insert("aws:x".into(), "v".into());
    let problems = messages(&desired);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].starts_with("spec.roleName"));
    assert!(problems[1].starts_with("spec.maxSessionDuration"));
    assert!(problems[2].starts_with("spec.tags.aws:x"));
}

#[test]
fn warnings_for_risky_choices() {
    let own = Some("123456789012");
    let trust =
        |statement: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
    let cross = trust(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}"#,
    );
    let same_account = trust(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ci"},"Action":"sts:AssumeRole"}"#,
    );
    let external_id = trust(
        r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}"#,
    );
    let eks = "oidc.eks.us-east-1.amazonaws.com/id/ABC";
    let oidc = |condition: &str| {
        trust(&format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::123456789012:oidc-provider/{eks}"}},"Action":"sts:AssumeRoleWithWebIdentity"{condition}}}"#
        ))
    };
    let saml = |condition: &str| {
        trust(&format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::123456789012:saml-provider/Okta"}},"Action":"sts:AssumeRoleWithSAML"{condition}}}"#
        ))
    };
    let admin =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let cases: Vec<(&str, Edit<'_>, Option<&str>, &[&str])> = vec![
        (
            "admin inline policy",
            Box::new(|r| {
                r.inline_policies.insert("all".into(), admin.into());
            }),
            own,
            &["spec.inlinePolicies.all: allows every action on every resource"],
        ),
        (
            "admin with *:*",
            Box::new(|r| {
                r.inline_policies
                    .insert("all".into(), admin.replacen("\"*\"", "\"*:*\"", 1));
            }),
            own,
            &["spec.inlinePolicies.all: allows every action"],
        ),
        (
            "broad but not admin",
            Box::new(|r| {
                r.inline_policies
                    .insert("s3".into(), admin.replacen("\"*\"", "\"s3:*\"", 1));
            }),
            own,
            &[],
        ),
        (
            "AdministratorAccess",
            Box::new(|r| {
                r.managed_policy_arns = vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()]
            }),
            own,
            &[
                "spec.managedPolicyArns: arn:aws:iam::aws:policy/AdministratorAccess makes the role an administrator",
            ],
        ),
        (
            "another account without external id",
            Box::new(move |r| r.assume_role_policy = cross.clone()),
            own,
            &[
                "spec.assumeRolePolicy: another AWS account, 444455556666, may assume the role without an sts:ExternalId condition",
            ],
        ),
        (
            "own account",
            Box::new(move |r| r.assume_role_policy = same_account.clone()),
            own,
            &[],
        ),
        (
            "unknown own account",
            Box::new({
                let t = trust(
                    r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ci"},"Action":"sts:AssumeRole"}"#,
                );
                move |r| r.assume_role_policy = t.clone()
            }),
            None,
            &["an AWS account (the operator's own account is unknown), 123456789012, may assume"],
        ),
        (
            "with external id",
            Box::new(move |r| r.assume_role_policy = external_id.clone()),
            own,
            &[],
        ),
        (
            "web identity without sub or aud",
            Box::new({
                let t = oidc("");
                move |r| r.assume_role_policy = t.clone()
            }),
            own,
            &[
                "spec.assumeRolePolicy: web identity provider \"oidc.eks.us-east-1.amazonaws.com/id/ABC\" is trusted without a condition on \"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub\"",
                "web identity provider \"oidc.eks.us-east-1.amazonaws.com/id/ABC\" is trusted without a condition on \"oidc.eks.us-east-1.amazonaws.com/id/ABC:aud\"; require StringEquals",
            ],
        ),
        (
            "web identity with sub only",
            Box::new({
                let t = oidc(&format!(
                    r#","Condition":{{"StringEquals":{{"{eks}:sub":"system:serviceaccount:a:b"}}}}"#
                ));
                move |r| r.assume_role_policy = t.clone()
            }),
            own,
            &["is trusted without a condition on \"oidc.eks.us-east-1.amazonaws.com/id/ABC:aud\""],
        ),
        (
            "web identity with sub and aud",
            Box::new({
                let t = oidc(&format!(
                    r#","Condition":{{"StringEquals":{{"{eks}:sub":"system:serviceaccount:a:b","{eks}:aud":"sts.amazonaws.com"}}}}"#
                ));
                move |r| r.assume_role_policy = t.clone()
            }),
            own,
            &[],
        ),
        (
            "no permissions boundary is not a warning",
            Box::new(|r| r.permissions_boundary = None),
            own,
            &[],
        ),
        (
            "web identity through sts:*",
            Box::new({
                let t = oidc("").replace("sts:AssumeRoleWithWebIdentity", "sts:*");
                move |r| r.assume_role_policy = t.clone()
            }),
            own,
            &[
                "spec.assumeRolePolicy: web identity provider \"oidc.eks.us-east-1.amazonaws.com/id/ABC\"",
                ":aud\"; require StringEquals",
            ],
        ),
        (
            "web identity through sts:AssumeRoleWith*",
            Box::new({
                let t = oidc("").replace("sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWith*");
                move |r| r.assume_role_policy = t.clone()
            }),
            own,
            &[
                "spec.assumeRolePolicy: web identity provider \"oidc.eks.us-east-1.amazonaws.com/id/ABC\"",
                ":aud\"; require StringEquals",
            ],
        ),
        (
            "SAML without audience",
            Box::new({
                let t = saml("");
                move |r| r.assume_role_policy = t.clone()
            }),
            own,
            &[
                "spec.assumeRolePolicy: SAML provider \"arn:aws:iam::123456789012:saml-provider/Okta\" is trusted without a SAML:aud condition",
            ],
        ),
        (
            "SAML with audience",
            Box::new({
                let t = saml(
                    r#","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}"#,
                );
                move |r| r.assume_role_policy = t.clone()
            }),
            own,
            &[],
        ),
    ];
    for (label, edit, own, fragments) in cases {
        let mut desired = role();
        edit(&mut desired);
        let found = warnings(&desired, own);
        assert_eq!(found.len(), fragments.len(), "{label}: {found:#?}");
        for (warning, fragment) in found.iter().zip(fragments.iter()) {
            assert!(
                warning.contains(fragment),
                "{label}: {warning:?} lacks {fragment:?}"
            );
        }
        // Warnings never block.
        assert_eq!(messages(&desired), Vec::<String>::new(), "{label}");
    }
}

#[test]
fn tag_pattern_compiles() {
    assert!(crate::admission::tags::TAG_CHARS.is_ok());
}
