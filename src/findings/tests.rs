//! Table tests per check: the case that fires, the case that does not, and near misses (some
//! taken from the facts behind the linters' own test cases: Parliament, Cloudsplaining and IAM
//! Access Analyzer's documented findings).

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

const OWN: &str = "111122223333";
const BOUNDARY: &str = "arn:aws:iam::111122223333:policy/boundary";

fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

fn role_with<'a>(
    trust: &'a str,
    inline: &'a BTreeMap<String, String>,
    managed: &'a [String],
    documents: &'a BTreeMap<String, String>,
) -> RoleFacts<'a> {
    RoleFacts {
        trust,
        inline_policies: inline,
        managed_policy_arns: managed,
        managed_documents: documents,
        permissions_boundary: Some(BOUNDARY),
        own_account: Some(OWN),
        usage: None,
    }
}

/// The findings of a role trusting `trust_statements` and with one inline policy `p` holding
/// `permission_statements` (none when empty), as (id, severity).
fn found(trust_statements: &str, permission_statements: &str) -> Vec<(&'static str, Severity)> {
    let trust = doc(trust_statements);
    let mut inline = BTreeMap::new();
    if !permission_statements.is_empty() {
        inline.insert("p".to_string(), doc(permission_statements));
    }
    let empty = BTreeMap::new();
    role_findings(
        &role_with(&trust, &inline, &[], &empty),
        &Settings::default(),
    )
    .into_iter()
    .map(|f| (f.check.id(), f.severity))
    .collect()
}

const EC2: &str =
    r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#;

/// (label, statement, wanted (id, severity) pairs).
type Cases<'a, S> = [(&'a str, S, &'a [(&'a str, Severity)])];

fn trust_cases(cases: &Cases<'_, &str>) {
    for (label, statement, want) in cases {
        assert_eq!(found(statement, ""), want.to_vec(), "{label}: {statement}");
    }
}

fn permission_cases(cases: &Cases<'_, &str>) {
    for (label, statement, want) in cases {
        assert_eq!(found(EC2, statement), want.to_vec(), "{label}: {statement}");
    }
}

use Severity::{Critical, High, Info, Low, Medium};

#[test]
fn ids_are_unique_stable_and_summarised() {
    let ids: Vec<&str> = CHECKS.iter().map(|c| c.id()).collect();
    assert_eq!(
        ids,
        [
            "wildcard-trust",
            "cross-account-no-external-id",
            "service-trust-no-source",
            "web-identity-no-subject",
            "web-identity-no-audience",
            "pod-identity-no-tag-conditions",
            "saml-no-audience",
            "admin-access",
            "notaction-allow",
            "notresource-allow",
            "notprincipal-allow",
            "passrole-wildcard",
            "privilege-escalation",
            "forallvalues-single-valued",
            "no-permissions-boundary",
            "unused-role",
            "account-quota",
        ]
    );
    for check in CHECKS {
        assert!(summary(check).ends_with('.'), "{check}");
    }
    assert_eq!(summary(Rule::PathForm), "");
    assert_eq!(Severity::parse("HIGH"), Ok(High));
    assert!(Severity::parse("severe").is_err());
    assert!(Critical.at_least(High) && High.at_least(High) && !Info.at_least(Low));
}

#[test]
fn a_clean_role_has_no_findings() {
    trust_cases(&[("ec2 service", EC2, &[])]);
    permission_cases(&[(
        "read one bucket",
        r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
        &[],
    )]);
}

#[test]
fn wildcard_trust() {
    trust_cases(&[
        (
            "any principal",
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}"#,
            &[("wildcard-trust", Critical)],
        ),
        (
            "AWS * in a list",
            r#"{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]},"Action":"sts:AssumeRole"}"#,
            &[("wildcard-trust", Critical)],
        ),
        (
            "a condition that narrows nothing",
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
            &[("wildcard-trust", Critical)],
        ),
        (
            "organisation condition",
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}"#,
            &[("wildcard-trust", Medium)],
        ),
        (
            "one open statement among narrowed ones is critical",
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}},{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}"#,
            &[("wildcard-trust", Critical)],
        ),
        (
            "a Deny is not a grant",
            r#"{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}"#,
            &[],
        ),
        (
            "every role of the own account is not a wildcard principal",
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/*"},"Action":"sts:AssumeRole"}"#,
            &[],
        ),
    ]);
}

#[test]
fn cross_account_and_not_principal() {
    trust_cases(&[
        (
            "another account",
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}"#,
            &[("cross-account-no-external-id", High)],
        ),
        (
            "with an external id",
            r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x1"}}}"#,
            &[],
        ),
        (
            "a negated external id requires none",
            r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"sts:ExternalId":"x1"}}}"#,
            &[("cross-account-no-external-id", High)],
        ),
        (
            "own account",
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ci"},"Action":"sts:AssumeRole"}"#,
            &[],
        ),
        (
            "NotPrincipal in an Allow",
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/ci"},"Action":"sts:AssumeRole"}"#,
            &[("notprincipal-allow", High)],
        ),
        (
            "NotPrincipal in a Deny is the documented use",
            r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/ci"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
            &[],
        ),
    ]);
}

#[test]
fn service_trust_without_source() {
    let sns = |condition: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Service":"sns.amazonaws.com"}},"Action":"sts:AssumeRole"{condition}}}"#
        )
    };
    let cases: &Cases<'_, String> = &[
        (
            "sns without source",
            sns(""),
            &[("service-trust-no-source", Medium)],
        ),
        (
            "source account",
            sns(r#","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}"#),
            &[],
        ),
        (
            "source ARN",
            sns(
                r#","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:topic"}}"#,
            ),
            &[],
        ),
        (
            "a source ARN in any account narrows nothing",
            sns(r#","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:topic"}}"#),
            &[("service-trust-no-source", Medium)],
        ),
        (
            "IfExists passes without the key",
            sns(r#","Condition":{"StringEqualsIfExists":{"aws:SourceAccount":"111122223333"}}"#),
            &[("service-trust-no-source", Medium)],
        ),
        (
            "a service not on the list (lambda)",
            sns("").replace("sns.amazonaws.com", "lambda.amazonaws.com"),
            &[],
        ),
        ("ec2 is not on the list", EC2.to_string(), &[]),
        (
            "case of the service name",
            sns("").replace("sns.amazonaws.com", "SNS.amazonaws.com"),
            &[("service-trust-no-source", Medium)],
        ),
    ];
    for (label, statement, want) in cases {
        assert_eq!(found(statement, ""), want.to_vec(), "{label}");
    }
    // The list is the caller's: with lambda on it, a lambda trust needs a source too.
    let trust = doc(&sns("").replace("sns.amazonaws.com", "lambda.amazonaws.com"));
    let empty = BTreeMap::new();
    let settings = Settings {
        source_services: vec!["lambda.amazonaws.com".into()],
        ..Settings::default()
    };
    let ids: Vec<&str> = role_findings(&role_with(&trust, &empty, &[], &empty), &settings)
        .iter()
        .map(|f| f.check.id())
        .collect();
    assert_eq!(ids, ["service-trust-no-source"]);
}

#[test]
fn web_identity_subject_and_audience() {
    const HOST: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    let oidc = |condition: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:oidc-provider/{HOST}"}},"Action":"sts:AssumeRoleWithWebIdentity"{condition}}}"#
        )
    };
    let cases: &Cases<'_, String> = &[
        (
            "neither",
            oidc(""),
            &[
                ("web-identity-no-subject", High),
                ("web-identity-no-audience", Low),
            ],
        ),
        (
            "both",
            oidc(&format!(
                r#","Condition":{{"StringEquals":{{"{HOST}:sub":"system:serviceaccount:a:b","{HOST}:aud":"sts.amazonaws.com"}}}}"#
            )),
            &[],
        ),
        (
            "audience alone lets every service account in",
            oidc(&format!(
                r#","Condition":{{"StringEquals":{{"{HOST}:aud":"sts.amazonaws.com"}}}}"#
            )),
            &[("web-identity-no-subject", High)],
        ),
        (
            "subject alone",
            oidc(&format!(
                r#","Condition":{{"StringEquals":{{"{HOST}:sub":"system:serviceaccount:a:b"}}}}"#
            )),
            &[("web-identity-no-audience", Low)],
        ),
        (
            "a subject that is only a wildcard",
            oidc(&format!(
                r#","Condition":{{"StringLike":{{"{HOST}:sub":"*","{HOST}:aud":"sts.amazonaws.com"}}}}"#
            )),
            &[("web-identity-no-subject", High)],
        ),
        (
            "another provider's subject",
            oidc(
                r#","Condition":{"StringEquals":{"oidc.other.example/id/X:sub":"a","oidc.other.example/id/X:aud":"b"}}"#,
            ),
            &[
                ("web-identity-no-subject", High),
                ("web-identity-no-audience", Low),
            ],
        ),
        (
            "through sts:AssumeRoleWith*",
            oidc("").replace("sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWith*"),
            &[
                ("web-identity-no-subject", High),
                ("web-identity-no-audience", Low),
            ],
        ),
        (
            "plain AssumeRole is not web identity",
            oidc("").replace("sts:AssumeRoleWithWebIdentity", "sts:AssumeRole"),
            &[],
        ),
        (
            "Cognito: the audience is the pool, no subject needed",
            r#"{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:pool"}}}"#.into(),
            &[],
        ),
        (
            "Cognito without the pool",
            r#"{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":"sts:AssumeRoleWithWebIdentity"}"#.into(),
            &[("web-identity-no-audience", High)],
        ),
    ];
    for (label, statement, want) in cases {
        assert_eq!(found(statement, ""), want.to_vec(), "{label}");
    }
}

#[test]
fn pod_identity_and_saml() {
    let pods = |condition: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Service":"pods.eks.amazonaws.com"}},"Action":["sts:AssumeRole","sts:TagSession"]{condition}}}"#
        )
    };
    let saml = |condition: &str| {
        format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::111122223333:saml-provider/Okta"}},"Action":"sts:AssumeRoleWithSAML"{condition}}}"#
        )
    };
    let cases: &Cases<'_, String> = &[
        (
            "pod identity without tags",
            pods(""),
            &[("pod-identity-no-tag-conditions", Low)],
        ),
        (
            "pod identity pinned to a service account",
            pods(
                r#","Condition":{"StringEquals":{"aws:RequestTag/kubernetes-namespace":"orders","aws:RequestTag/kubernetes-service-account":"api"}}"#,
            ),
            &[],
        ),
        (
            "a wildcard tag value narrows nothing",
            pods(r#","Condition":{"StringLike":{"aws:RequestTag/kubernetes-namespace":"*"}}"#),
            &[("pod-identity-no-tag-conditions", Low)],
        ),
        (
            "another service's tag key",
            pods(r#","Condition":{"StringEquals":{"aws:RequestTag/team":"a"}}"#),
            &[("pod-identity-no-tag-conditions", Low)],
        ),
        (
            "SAML without audience",
            saml(""),
            &[("saml-no-audience", Medium)],
        ),
        (
            "SAML with audience",
            saml(
                r#","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}"#,
            ),
            &[],
        ),
    ];
    for (label, statement, want) in cases {
        assert_eq!(found(statement, ""), want.to_vec(), "{label}");
    }
}

#[test]
fn admin_and_grants_by_exclusion() {
    permission_cases(&[
        (
            "admin",
            r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#,
            &[("admin-access", High)],
        ),
        (
            "admin as *:*",
            r#"{"Effect":"Allow","Action":"*:*","Resource":"*"}"#,
            &[("admin-access", High)],
        ),
        (
            "everything on one bucket is not admin",
            r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b"}"#,
            &[],
        ),
        (
            "denied admin is no grant",
            r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#,
            &[],
        ),
        (
            "NotAction",
            r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::b"}"#,
            &[("notaction-allow", Medium)],
        ),
        (
            "NotAction in a Deny is the usual guard",
            r#"{"Effect":"Deny","NotAction":"s3:GetObject","Resource":"*"}"#,
            &[],
        ),
        (
            "NotResource",
            r#"{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/*"}"#,
            &[("notresource-allow", Medium)],
        ),
    ]);
    // AWS managed by ARN, customer managed by document.
    let trust = doc(EC2);
    let empty = BTreeMap::new();
    let arns = vec![
        "arn:aws:iam::aws:policy/AdministratorAccess".to_string(),
        "arn:aws:iam::aws:policy/ReadOnlyAccess".to_string(),
        "arn:aws:iam::111122223333:policy/all".to_string(),
    ];
    let documents = BTreeMap::from([(
        arns[2].clone(),
        doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#),
    )]);
    let found: Vec<(&str, String)> = role_findings(
        &role_with(&trust, &empty, &arns, &documents),
        &Settings::default(),
    )
    .into_iter()
    .map(|f| (f.check.id(), f.location.in_iam()))
    .collect();
    assert_eq!(
        found,
        [
            (
                "admin-access",
                "managed policy arn:aws:iam::111122223333:policy/all".to_string()
            ),
            (
                "admin-access",
                "managed policy arn:aws:iam::aws:policy/AdministratorAccess".to_string()
            ),
        ]
    );
}

#[test]
fn passrole_on_every_role() {
    permission_cases(&[
        (
            "PassRole on *",
            r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}"#,
            &[("passrole-wildcard", High)],
        ),
        (
            "on every role of the account",
            r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/*"}"#,
            &[("passrole-wildcard", High)],
        ),
        (
            "through iam:Pass*",
            r#"{"Effect":"Allow","Action":"iam:Pass*","Resource":"*"}"#,
            &[("passrole-wildcard", High)],
        ),
        (
            "with PassedToService",
            r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"ecs-tasks.amazonaws.com"}}}"#,
            &[],
        ),
        (
            "PassedToService that is only a wildcard",
            r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringLike":{"iam:PassedToService":"*"}}}"#,
            &[("passrole-wildcard", High)],
        ),
        (
            "named roles",
            r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/app-*"}"#,
            &[],
        ),
        (
            "GetRole on * is not PassRole",
            r#"{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}"#,
            &[],
        ),
    ]);
}

#[test]
fn privilege_escalation() {
    permission_cases(&[
        (
            "CreatePolicyVersion",
            r#"{"Effect":"Allow","Action":"iam:CreatePolicyVersion","Resource":"*"}"#,
            &[("privilege-escalation", High)],
        ),
        (
            "on one policy it is scoped",
            r#"{"Effect":"Allow","Action":"iam:CreatePolicyVersion","Resource":"arn:aws:iam::111122223333:policy/app"}"#,
            &[],
        ),
        (
            "Put*Policy through a wildcard",
            r#"{"Effect":"Allow","Action":"iam:Put*","Resource":"*"}"#,
            &[("privilege-escalation", High)],
        ),
        (
            "UpdateAssumeRolePolicy needs AssumeRole too",
            r#"{"Effect":"Allow","Action":"iam:UpdateAssumeRolePolicy","Resource":"*"}"#,
            &[],
        ),
        (
            "UpdateAssumeRolePolicy with AssumeRole",
            r#"{"Effect":"Allow","Action":["iam:UpdateAssumeRolePolicy","sts:AssumeRole"],"Resource":"*"}"#,
            &[("privilege-escalation", High)],
        ),
        (
            "PassRole (scoped to a service) + RunInstances",
            r#"{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"},{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"ec2.amazonaws.com"}}}"#,
            &[("privilege-escalation", High)],
        ),
        (
            "RunInstances without PassRole",
            r#"{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}"#,
            &[],
        ),
        (
            "lambda create without invoke",
            r#"{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction"],"Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}"#,
            &[],
        ),
        (
            "lambda create + invoke",
            r#"{"Effect":"Allow","Action":["iam:PassRole","lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"lambda.amazonaws.com"}}}"#,
            &[("privilege-escalation", High)],
        ),
        (
            "PassRole + CreateStack",
            r#"{"Effect":"Allow","Action":["iam:PassRole","cloudformation:CreateStack"],"Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"cloudformation.amazonaws.com"}}}"#,
            &[("privilege-escalation", High)],
        ),
        (
            "an unconditional Deny takes it away",
            r#"{"Effect":"Allow","Action":"iam:*Policy*","Resource":"*"},{"Effect":"Deny","Action":"iam:*","Resource":"*"}"#,
            &[],
        ),
        (
            "CreateAccessKey through NotAction",
            r#"{"Effect":"Allow","NotAction":["s3:*"],"Resource":"*"}"#,
            &[
                ("notaction-allow", Medium),
                ("passrole-wildcard", High),
                ("privilege-escalation", High),
            ],
        ),
        (
            "an administrator is reported once, as admin-access",
            r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#,
            &[("admin-access", High)],
        ),
    ]);
}

#[test]
fn escalation_across_two_policies_is_reported_on_the_permissions() {
    let trust = doc(EC2);
    let inline = BTreeMap::from([
        (
            "a".to_string(),
            doc(r#"{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*"}"#),
        ),
        (
            "b".to_string(),
            doc(
                r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"StringEquals":{"iam:PassedToService":"ec2.amazonaws.com"}}}"#,
            ),
        ),
    ]);
    let empty = BTreeMap::new();
    let found = role_findings(
        &role_with(&trust, &inline, &[], &empty),
        &Settings::default(),
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].check, Rule::PrivilegeEscalation);
    assert_eq!(found[0].location, Location::Permissions);
    assert!(found[0].message.contains("PassExistingRoleToNewEC2"));
}

#[test]
fn for_all_values_on_single_valued_keys() {
    permission_cases(&[
        (
            "aws:SourceVpc",
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAllValues:StringEquals":{"aws:SourceVpc":"vpc-1"}}}"#,
            &[("forallvalues-single-valued", Medium)],
        ),
        (
            "a request tag",
            r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:*:*:instance/*","Condition":{"forallvalues:StringLike":{"aws:RequestTag/team":"a*"}}}"#,
            &[("forallvalues-single-valued", Medium)],
        ),
        (
            "aws:TagKeys is multi-valued: the intended use",
            r#"{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:*:*:instance/*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}}"#,
            &[],
        ),
        (
            "ForAnyValue is not ForAllValues",
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAnyValue:StringEquals":{"aws:SourceVpc":"vpc-1"}}}"#,
            &[],
        ),
        (
            "a Deny errs the safe way",
            r#"{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAllValues:StringEquals":{"aws:SourceVpc":"vpc-1"}}}"#,
            &[],
        ),
        (
            "an unknown service key is not judged",
            r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAllValues:StringEquals":{"s3:prefix":"a"}}}"#,
            &[],
        ),
    ]);
    trust_cases(&[(
        "in a trust policy",
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"ForAllValues:StringEquals":{"aws:PrincipalOrgID":"o-1"}}}"#,
        &[("forallvalues-single-valued", Medium)],
    )]);
}

#[test]
fn permissions_boundary() {
    let trust = doc(EC2);
    let empty = BTreeMap::new();
    let mut role = role_with(&trust, &empty, &[], &empty);
    role.permissions_boundary = None;
    let found = role_findings(&role, &Settings::default());
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].check, found[0].severity),
        (Rule::NoPermissionsBoundary, Info)
    );
    role.permissions_boundary = Some(BOUNDARY);
    assert_eq!(role_findings(&role, &Settings::default()), vec![]);
}

#[test]
fn unused_roles() {
    let at = |text: &str| text.parse::<jiff::Timestamp>().unwrap();
    let now = at("2026-12-01T00:00:00Z");
    let day = Duration::from_secs(86_400);
    let usage = |created: &str, last: Option<&str>, region: Option<&str>| Usage {
        now,
        created: at(created),
        last_used: last.map(at),
        last_used_region: region.map(String::from),
    };
    let cases: Vec<(&str, Usage, Duration, Option<&str>)> = vec![
        (
            "never used, created long ago",
            usage("2026-01-01T00:00:00Z", None, None),
            90 * day,
            Some(
                "the role has not been used since it was created 2026-01-01, more than 90 days ago",
            ),
        ),
        (
            "never used, but new",
            usage("2026-11-20T00:00:00Z", None, None),
            90 * day,
            None,
        ),
        (
            "used recently",
            usage(
                "2020-01-01T00:00:00Z",
                Some("2026-11-30T10:00:00Z"),
                Some("eu-west-1"),
            ),
            90 * day,
            None,
        ),
        (
            "last used long ago",
            usage(
                "2020-01-01T00:00:00Z",
                Some("2026-01-02T10:00:00Z"),
                Some("eu-west-1"),
            ),
            90 * day,
            Some("the role was last used 2026-01-02 in eu-west-1, more than 90 days ago"),
        ),
        (
            "exactly at the limit is not over it",
            usage("2026-11-30T00:00:00Z", None, None),
            day,
            None,
        ),
        (
            "a second over it",
            usage("2026-11-29T23:59:59Z", None, None),
            day,
            Some("more than 1 day ago"),
        ),
        (
            "created in the future (clock skew)",
            usage("2026-12-02T00:00:00Z", None, None),
            Duration::ZERO,
            None,
        ),
        (
            "a limit in hours",
            usage("2026-11-30T00:00:00Z", None, None),
            Duration::from_secs(7200),
            Some("more than 2 hours ago"),
        ),
    ];
    let trust = doc(EC2);
    let empty = BTreeMap::new();
    for (label, usage, after, want) in cases {
        let mut role = role_with(&trust, &empty, &[], &empty);
        role.usage = Some(&usage);
        let settings = Settings {
            unused_after: after,
            ..Settings::default()
        };
        let found = role_findings(&role, &settings);
        match want {
            None => assert_eq!(found, vec![], "{label}"),
            Some(fragment) => {
                assert_eq!(found.len(), 1, "{label}: {found:#?}");
                assert_eq!((found[0].check, found[0].severity), (Rule::UnusedRole, Low));
                assert!(
                    found[0].message.contains(fragment),
                    "{label}: {}",
                    found[0].message
                );
            }
        }
    }
}

#[test]
fn account_quota_warns_above_ninety_percent() {
    let cases = [
        (0, 1000, None),
        (900, 1000, None),
        (901, 1000, Some(Medium)),
        (999, 1000, Some(Medium)),
        (1000, 1000, Some(High)),
        (1200, 1000, Some(High)),
        (5, 0, None),
    ];
    for (roles, quota, want) in cases {
        let found = account_quota(roles, quota);
        assert_eq!(found.as_ref().map(|f| f.severity), want, "{roles}/{quota}");
        if let Some(finding) = found {
            assert_eq!(finding.check, Rule::AccountQuota);
            assert!(finding.message.contains(&format!("{roles}")));
        }
    }
    assert!(
        account_quota(901, 1000).is_some_and(|f| f.message.contains("901 of its 1000 roles (90%)"))
    );
}

#[test]
fn unparsable_documents_have_no_findings_here() {
    // The grammar checks report them; the findings judge only what parses.
    assert_eq!(found("", ""), vec![]);
    let empty = BTreeMap::new();
    let inline = BTreeMap::from([("p".to_string(), "not json".to_string())]);
    assert_eq!(
        role_findings(&role_with("{", &inline, &[], &empty), &Settings::default()),
        vec![]
    );
}
