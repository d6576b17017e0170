use super::DocumentKind::{Permissions, Trust};
use super::*;

/// Each case lists the fragments its problems must contain, one fragment per problem, in
/// order; an empty list means the document is fine.
fn check(cases: &[(&str, DocumentKind, &str, &[&str])]) {
    for (label, kind, text, fragments) in cases {
        let problems = check_document(text, *kind);
        assert_eq!(problems.len(), fragments.len(), "{label}: {problems:#?}");
        for (problem, fragment) in problems.iter().zip(fragments.iter()) {
            assert!(
                problem.contains(fragment),
                "{label}: {problem:?} lacks {fragment:?}"
            );
        }
    }
}

const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const READ_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}]}"#;

fn permissions(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
}

#[test]
fn whole_documents() {
    check(&[
        ("trust policy", Trust, LAMBDA_TRUST, &[]),
        ("permissions policy", Permissions, READ_ONLY, &[]),
        (
            "old version",
            Permissions,
            &READ_ONLY.replace("2012-10-17", "2008-10-17"),
            &[],
        ),
        (
            "no version",
            Permissions,
            &READ_ONLY.replace(r#""Version":"2012-10-17","#, ""),
            &[],
        ),
        (
            "with Id",
            Permissions,
            &READ_ONLY.replace(r#""Version""#, r#""Id":"x","Version""#),
            &[],
        ),
        (
            "single statement object",
            Trust,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}}"#,
            &[],
        ),
        ("empty text", Trust, "  ", &["is empty"]),
        ("not JSON", Trust, "{\"Version\":", &["is not valid JSON"]),
        (
            "an array",
            Trust,
            "[]",
            &["must be a JSON object with Version and Statement, not an array"],
        ),
        ("a string", Permissions, "\"x\"", &["not a string"]),
        (
            "other version",
            Permissions,
            &READ_ONLY.replace("2012-10-17", "2012-10-18"),
            &["Version \"2012-10-18\" is not one IAM accepts"],
        ),
        (
            "numeric version",
            Permissions,
            &READ_ONLY.replace("\"2012-10-17\"", "2012"),
            &["Version 2012 is not"],
        ),
        (
            "Id not a string",
            Permissions,
            &READ_ONLY.replace(r#""Version""#, r#""Id":1,"Version""#),
            &["Id must be a string"],
        ),
        (
            "no Statement",
            Permissions,
            r#"{"Version":"2012-10-17"}"#,
            &["has no Statement"],
        ),
        (
            "empty Statement",
            Permissions,
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            &["Statement is an empty list"],
        ),
        (
            "Statement a string",
            Permissions,
            r#"{"Version":"2012-10-17","Statement":"x"}"#,
            &["Statement must be an object or a list of objects, not a string"],
        ),
        (
            "statement not an object",
            Permissions,
            r#"{"Version":"2012-10-17","Statement":[1]}"#,
            &["Statement[0] must be an object, not a number"],
        ),
        (
            "unknown top-level key",
            Permissions,
            &READ_ONLY.replace(r#""Version""#, r#""version":"x","Version""#),
            &["the document has unknown key \"version\"; allowed: Version, Id, Statement"],
        ),
    ]);
}

#[test]
fn statements() {
    check(&[
        (
            "unknown key",
            Permissions,
            &permissions(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Actions":"x"}"#),
            &["Statement[0] has unknown key \"Actions\""],
        ),
        (
            "Effect missing",
            Permissions,
            &permissions(r#"{"Action":"s3:*","Resource":"*"}"#),
            &["Statement[0]: Effect is missing"],
        ),
        (
            "Effect lowercase",
            Permissions,
            &permissions(r#"{"Effect":"allow","Action":"s3:*","Resource":"*"}"#),
            &["Effect \"allow\" is not \"Allow\" or \"Deny\""],
        ),
        (
            "Deny",
            Permissions,
            &permissions(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#),
            &[],
        ),
        (
            "NotAction",
            Permissions,
            &permissions(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#),
            &[],
        ),
        (
            "NotResource",
            Permissions,
            &permissions(r#"{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::b"}"#),
            &[],
        ),
        (
            "no action",
            Permissions,
            &permissions(r#"{"Effect":"Allow","Resource":"*"}"#),
            &["neither Action nor NotAction"],
        ),
        (
            "both actions",
            Permissions,
            &permissions(
                r#"{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}"#,
            ),
            &["both Action and NotAction"],
        ),
        (
            "both resources",
            Permissions,
            &permissions(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"arn:aws:s3:::x"}"#,
            ),
            &["both Resource and NotResource"],
        ),
        (
            "no resource",
            Permissions,
            &permissions(r#"{"Effect":"Allow","Action":"s3:*"}"#),
            &["neither Resource nor NotResource"],
        ),
        (
            "empty action list",
            Permissions,
            &permissions(r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#),
            &["Statement[0]: Action is an empty list"],
        ),
        (
            "number in action list",
            Permissions,
            &permissions(r#"{"Effect":"Allow","Action":["s3:*",1],"Resource":"*"}"#),
            &["Action must list only non-empty strings"],
        ),
        (
            "resource an object",
            Permissions,
            &permissions(r#"{"Effect":"Allow","Action":"s3:*","Resource":{"a":1}}"#),
            &["Resource must be a string or a list of strings, not an object"],
        ),
        (
            "Sid with a dash",
            Permissions,
            &permissions(r#"{"Sid":"read-all","Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            &["Sid \"read-all\" may contain only letters"],
        ),
        (
            "Sid a number",
            Permissions,
            &permissions(r#"{"Sid":1,"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
            &["Sid must be a string"],
        ),
        (
            "duplicate Sid",
            Permissions,
            &permissions(
                r#"{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}"#,
            ),
            &["Sid \"A\" is used by Statement[0] and Statement[1]"],
        ),
        (
            "Sids differing in case are distinct",
            Permissions,
            &permissions(
                r#"{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}"#,
            ),
            &[],
        ),
        (
            "empty Sids are not duplicates",
            Permissions,
            &permissions(
                r#"{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"","Effect":"Deny","Action":"s3:Delete*","Resource":"*"}"#,
            ),
            &[],
        ),
        (
            "principal in a permissions policy",
            Permissions,
            &permissions(r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}"#),
            &["Policy document should not specify a principal"],
        ),
        (
            "NotPrincipal in a permissions policy",
            Permissions,
            &permissions(
                r#"{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}"#,
            ),
            &["should not specify a principal (NotPrincipal"],
        ),
        (
            "condition",
            Permissions,
            &permissions(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":[5,"10"]}}}"#,
            ),
            &[],
        ),
        (
            "condition not an object",
            Permissions,
            &permissions(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":"x"}"#),
            &["Condition must be an object of operators"],
        ),
        (
            "operator not an object",
            Permissions,
            &permissions(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":true}}"#,
            ),
            &["Condition.Bool must be an object of condition keys"],
        ),
        (
            "condition value an object",
            Permissions,
            &permissions(
                r#"{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"k":{"x":1}}}}"#,
            ),
            &["Condition.Bool.k must be a string, number, boolean"],
        ),
        (
            "several problems in one statement",
            Permissions,
            &permissions(r#"{"Effect":"Maybe","Principal":"*"}"#),
            &[
                "Effect \"Maybe\"",
                "neither Action nor NotAction",
                "should not specify a principal",
                "neither Resource nor NotResource",
            ],
        ),
    ]);
}

#[test]
fn what_real_iam_refuses_but_moto_accepts() {
    let cases: &[(&str, DocumentKind, &str, &[&str])] = &[
        (
            "action without a service",
            DocumentKind::Permissions,
            &permissions(r#"{"Effect":"Allow","Action":"GetObject","Resource":"*"}"#),
            &["must be prefaced by a service"],
        ),
        (
            "resource that is not an ARN",
            DocumentKind::Permissions,
            &permissions(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"my-bucket"}"#),
            &["must be in ARN format"],
        ),
        (
            "wildcards are fine",
            DocumentKind::Permissions,
            &permissions(
                r#"{"Effect":"Allow","Action":["*","s3:Get*"],"Resource":["*","arn:aws:s3:::b/*"]}"#,
            ),
            &[],
        ),
        (
            "Allow with NotPrincipal in a trust policy",
            DocumentKind::Trust,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}]}"#,
            &["Allow with NotPrincipal"],
        ),
    ];
    check(cases);
}

#[test]
fn trust_policies() {
    let trust = |statement: &str| permissions(statement);
    check(&[
        (
            "web identity",
            Trust,
            &trust(
                r#"{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"oidc.example.com:sub":"x"}}}"#,
            ),
            &[],
        ),
        (
            "action case",
            Trust,
            &trust(
                r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"STS:AssumeRole"}"#,
            ),
            &[],
        ),
        (
            "sts wildcard",
            Trust,
            &trust(r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:*"}"#),
            &[],
        ),
        (
            "no principal",
            Trust,
            &trust(r#"{"Effect":"Allow","Action":"sts:AssumeRole"}"#),
            &["Statement[0] has no Principal"],
        ),
        (
            "NotPrincipal counts",
            Trust,
            &trust(
                r#"{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}"#,
            ),
            &[],
        ),
        (
            "both principals",
            Trust,
            &trust(
                r#"{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}"#,
            ),
            &["both Principal and NotPrincipal"],
        ),
        (
            "non-sts action",
            Trust,
            &trust(
                r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["sts:AssumeRole","s3:GetObject"]}"#,
            ),
            &["Action \"s3:GetObject\" cannot be in a trust policy"],
        ),
        (
            "bare wildcard action",
            Trust,
            &trust(r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"*"}"#),
            &["Action \"*\" cannot be in a trust policy"],
        ),
        (
            "resource in a trust policy",
            Trust,
            &trust(
                r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Resource":"*"}"#,
            ),
            &["Resource is not allowed in a trust policy"],
        ),
        (
            "principal string other than *",
            Trust,
            &trust(r#"{"Effect":"Allow","Principal":"111122223333","Action":"sts:AssumeRole"}"#),
            &["Principal must be \"*\" or an object"],
        ),
        (
            "unknown principal kind",
            Trust,
            &trust(
                r#"{"Effect":"Allow","Principal":{"Aws":"111122223333"},"Action":"sts:AssumeRole"}"#,
            ),
            &["unknown kind \"Aws\""],
        ),
        (
            "empty principal map",
            Trust,
            &trust(r#"{"Effect":"Allow","Principal":{},"Action":"sts:AssumeRole"}"#),
            &["Principal is empty"],
        ),
        (
            "empty principal list",
            Trust,
            &trust(r#"{"Effect":"Allow","Principal":{"AWS":[]},"Action":"sts:AssumeRole"}"#),
            &["Principal.AWS is an empty list"],
        ),
    ]);
}
