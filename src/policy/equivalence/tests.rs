//! Each rule of equivalence appears twice: a pair that must compare equal and a near miss
//! that must not. Every pair is checked in both directions.

use super::equivalent;
use crate::policy::decode_iam_text;

/// A document with one statement, given as the statement's JSON.
fn one(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
}

fn check(cases: &[(&str, String, String, bool)]) {
    for (label, a, b, want) in cases {
        assert_eq!(equivalent(a, b), *want, "{label}: {a} vs {b}");
        assert_eq!(equivalent(b, a), *want, "{label} (reversed): {b} vs {a}");
        assert!(equivalent(a, a), "{label}: a document equals itself: {a}");
    }
}

const S3: &str = r#""Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*""#;

#[test]
fn formatting_and_key_order() {
    check(&[
        (
            "whitespace",
            one(&format!("{{{S3}}}")),
            format!(
                "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{ {} }}\n  ]\n}}",
                S3.replace(',', ",\n      ")
            ),
            true,
        ),
        (
            "key order in statement and document",
            one(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#),
            r#"{"Statement":[{"Resource":"*","Action":"s3:GetObject","Effect":"Allow"}],"Version":"2012-10-17"}"#.into(),
            true,
        ),
        (
            "a value changed under reformatting",
            one(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#),
            r#"{ "Statement": [ { "Resource": "*", "Action": "s3:PutObject", "Effect": "Allow" } ], "Version": "2012-10-17" }"#.into(),
            false,
        ),
    ]);
}

#[test]
fn statements_are_a_multiset() {
    let a = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#;
    let b = r#"{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}"#;
    let doc = |list: &[&str]| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            list.join(",")
        )
    };
    check(&[
        ("reordered", doc(&[a, b]), doc(&[b, a]), true),
        ("one statement changed", doc(&[a, b]), doc(&[a, a]), false),
        (
            "duplicate statement is not the same as one",
            doc(&[a, a]),
            doc(&[a]),
            false,
        ),
        ("missing statement", doc(&[a, b]), doc(&[a]), false),
        ("no statements on either side", doc(&[]), doc(&[]), true),
        (
            "empty list versus one statement",
            doc(&[]),
            doc(&[a]),
            false,
        ),
    ]);
}

#[test]
fn single_statement_object_equals_list_of_one() {
    let statement = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#;
    let object = format!(r#"{{"Version":"2012-10-17","Statement":{statement}}}"#);
    let changed = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::x"}}"#;
    check(&[
        ("object ≡ [object]", object.clone(), one(statement), true),
        (
            "object ≢ [other object]",
            changed.into(),
            one(statement),
            false,
        ),
    ]);
}

#[test]
fn actions_and_resources_are_sets() {
    for field in ["Action", "NotAction", "Resource", "NotResource"] {
        let with = |value: &str| one(&format!(r#"{{"Effect":"Allow","{field}":{value}}}"#));
        check(&[
            (
                "string ≡ one-element list",
                with(r#""a:B""#),
                with(r#"["a:B"]"#),
                true,
            ),
            (
                "order",
                with(r#"["a:B","c:D"]"#),
                with(r#"["c:D","a:B"]"#),
                true,
            ),
            (
                "duplicates collapse",
                with(r#"["a:B","a:B"]"#),
                with(r#""a:B""#),
                true,
            ),
            (
                "string ≢ other string",
                with(r#""a:B""#),
                with(r#"["a:C"]"#),
                false,
            ),
            (
                "subset",
                with(r#"["a:B","c:D"]"#),
                with(r#"["a:B"]"#),
                false,
            ),
            (
                "missing ≡ empty list",
                one(r#"{"Effect":"Allow"}"#),
                with("[]"),
                true,
            ),
            (
                "missing ≢ a member",
                one(r#"{"Effect":"Allow"}"#),
                with(r#""a:B""#),
                false,
            ),
        ]);
    }
    // Action and NotAction mean opposite things: the same list under the other key differs.
    check(&[(
        "Action ≢ NotAction",
        one(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
        one(r#"{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}"#),
        false,
    )]);
}

#[test]
fn case_sensitivity() {
    let with = |effect: &str, action: &str, resource: &str| {
        one(&format!(
            r#"{{"Effect":"{effect}","Action":"{action}","Resource":"{resource}"}}"#
        ))
    };
    check(&[
        (
            "Effect is case-insensitive",
            with("Allow", "s3:GetObject", "*"),
            with("allow", "s3:GetObject", "*"),
            true,
        ),
        (
            "Effect value still matters",
            with("Allow", "s3:GetObject", "*"),
            with("Deny", "s3:GetObject", "*"),
            false,
        ),
        (
            "ARNs are case-sensitive",
            with("Allow", "s3:GetObject", "arn:aws:s3:::Bucket"),
            with("Allow", "s3:GetObject", "arn:aws:s3:::bucket"),
            false,
        ),
        (
            "identical ARNs",
            with("Allow", "s3:GetObject", "arn:aws:s3:::Bucket"),
            with("Allow", "s3:GetObject", "arn:aws:s3:::Bucket"),
            true,
        ),
        // awspolicyequivalence compares actions as written even though IAM does not.
        (
            "actions compared as written",
            with("Allow", "s3:GetObject", "*"),
            with("Allow", "s3:getobject", "*"),
            false,
        ),
        (
            "same action",
            with("Allow", "s3:getobject", "*"),
            with("Allow", "s3:getobject", "*"),
            true,
        ),
    ]);
}

#[test]
fn version_id_and_sid_are_exact() {
    let statement = r#"{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#;
    let doc = |head: &str, statement: &str| format!(r#"{{{head}"Statement":[{statement}]}}"#);
    check(&[
        (
            "same Version",
            doc(r#""Version":"2012-10-17","#, statement),
            doc(r#""Version":"2012-10-17","#, statement),
            true,
        ),
        (
            "other Version",
            doc(r#""Version":"2012-10-17","#, statement),
            doc(r#""Version":"2008-10-17","#, statement),
            false,
        ),
        (
            "missing Version is not 2012-10-17",
            doc(r#""Version":"2012-10-17","#, statement),
            doc("", statement),
            false,
        ),
        (
            "missing Version on both sides",
            doc("", statement),
            doc("", statement),
            true,
        ),
        (
            "same Id",
            doc(r#""Version":"2012-10-17","Id":"x","#, statement),
            doc(r#""Id":"x","Version":"2012-10-17","#, statement),
            true,
        ),
        (
            "Id differs in case",
            doc(r#""Version":"2012-10-17","Id":"x","#, statement),
            doc(r#""Version":"2012-10-17","Id":"X","#, statement),
            false,
        ),
        (
            "Id missing on one side",
            doc(r#""Version":"2012-10-17","Id":"x","#, statement),
            doc(r#""Version":"2012-10-17","#, statement),
            false,
        ),
        (
            "Sid differs in case",
            doc(r#""Version":"2012-10-17","#, statement),
            doc(
                r#""Version":"2012-10-17","#,
                &statement.replace("Read", "read"),
            ),
            false,
        ),
        (
            "Sid missing on one side",
            doc(r#""Version":"2012-10-17","#, statement),
            doc(
                r#""Version":"2012-10-17","#,
                &statement.replace(r#""Sid":"Read","#, ""),
            ),
            false,
        ),
    ]);
}

#[test]
fn principals() {
    let trust = |principal: &str| {
        one(&format!(
            r#"{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}"#
        ))
    };
    let no_principal = one(r#"{"Effect":"Allow","Action":"sts:AssumeRole"}"#);
    check(&[
        (
            "AWS string ≡ list of one",
            trust(r#"{"AWS":"arn:aws:iam::111122223333:role/a"}"#),
            trust(r#"{"AWS":["arn:aws:iam::111122223333:role/a"]}"#),
            true,
        ),
        (
            "members are a set",
            trust(
                r#"{"AWS":["arn:aws:iam::111122223333:role/a","arn:aws:iam::111122223333:role/b"]}"#,
            ),
            trust(
                r#"{"AWS":["arn:aws:iam::111122223333:role/b","arn:aws:iam::111122223333:role/a"]}"#,
            ),
            true,
        ),
        (
            "one member differs",
            trust(
                r#"{"AWS":["arn:aws:iam::111122223333:role/a","arn:aws:iam::111122223333:role/b"]}"#,
            ),
            trust(
                r#"{"AWS":["arn:aws:iam::111122223333:role/a","arn:aws:iam::111122223333:role/c"]}"#,
            ),
            false,
        ),
        (
            "kinds compared key by key, order-free",
            trust(r#"{"Service":"ec2.amazonaws.com","AWS":"arn:aws:iam::111122223333:role/a"}"#),
            trust(r#"{"AWS":"arn:aws:iam::111122223333:role/a","Service":["ec2.amazonaws.com"]}"#),
            true,
        ),
        (
            "same member under another kind",
            trust(r#"{"AWS":"x"}"#),
            trust(r#"{"Service":"x"}"#),
            false,
        ),
        (
            "extra kind",
            trust(r#"{"Service":"ec2.amazonaws.com"}"#),
            trust(r#"{"Service":"ec2.amazonaws.com","AWS":"111122223333"}"#),
            false,
        ),
        (
            "account id ≡ aws root ARN",
            trust(r#"{"AWS":"111122223333"}"#),
            trust(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#),
            true,
        ),
        (
            "account id ≡ aws-cn root ARN",
            trust(r#"{"AWS":"111122223333"}"#),
            trust(r#"{"AWS":"arn:aws-cn:iam::111122223333:root"}"#),
            true,
        ),
        (
            "account id ≡ aws-us-gov root ARN",
            trust(r#"{"AWS":["111122223333"]}"#),
            trust(r#"{"AWS":"arn:aws-us-gov:iam::111122223333:root"}"#),
            true,
        ),
        (
            "account id ≢ another account's root",
            trust(r#"{"AWS":"111122223333"}"#),
            trust(r#"{"AWS":"arn:aws:iam::444455556666:root"}"#),
            false,
        ),
        (
            "account id ≢ a user of that account",
            trust(r#"{"AWS":"111122223333"}"#),
            trust(r#"{"AWS":"arn:aws:iam::111122223333:user/root"}"#),
            false,
        ),
        (
            "account id ≢ an sts root",
            trust(r#"{"AWS":"111122223333"}"#),
            trust(r#"{"AWS":"arn:aws:sts::111122223333:root"}"#),
            false,
        ),
        (
            "root ARNs of two partitions differ",
            trust(r#"{"AWS":"arn:aws:iam::111122223333:root"}"#),
            trust(r#"{"AWS":"arn:aws-cn:iam::111122223333:root"}"#),
            false,
        ),
        (
            "11 digits are not an account id",
            trust(r#"{"AWS":"11112222333"}"#),
            trust(r#"{"AWS":"arn:aws:iam::11112222333:root"}"#),
            false,
        ),
        (
            "account ids inside sets",
            trust(r#"{"AWS":["111122223333","arn:aws:iam::444455556666:role/x"]}"#),
            trust(
                r#"{"AWS":["arn:aws:iam::444455556666:role/x","arn:aws:iam::111122223333:root"]}"#,
            ),
            true,
        ),
        (
            "a set with an extra account is not covered",
            trust(r#"{"AWS":["111122223333","arn:aws:iam::111122223333:root"]}"#),
            trust(r#"{"AWS":["111122223333","444455556666"]}"#),
            false,
        ),
        ("\"*\" ≡ \"*\"", trust(r#""*""#), trust(r#""*""#), true),
        // awspolicyequivalence keeps the two forms apart; IAM returns what it was given.
        (
            "\"*\" ≢ {AWS: *}",
            trust(r#""*""#),
            trust(r#"{"AWS":"*"}"#),
            false,
        ),
        (
            "\"*\" ≢ no principal",
            trust(r#""*""#),
            no_principal.clone(),
            false,
        ),
        (
            "missing ≡ empty map",
            no_principal.clone(),
            trust("{}"),
            true,
        ),
        (
            "missing ≡ all-empty sets",
            no_principal.clone(),
            trust(r#"{"AWS":[],"Service":[]}"#),
            true,
        ),
        (
            "empty kinds dropped",
            trust(r#"{"AWS":[],"Service":"s"}"#),
            trust(r#"{"Service":"s"}"#),
            true,
        ),
        (
            "missing ≢ a principal",
            no_principal.clone(),
            trust(r#"{"AWS":"111122223333"}"#),
            false,
        ),
        (
            "ARN case matters",
            trust(r#"{"AWS":"arn:aws:iam::111122223333:role/App"}"#),
            trust(r#"{"AWS":"arn:aws:iam::111122223333:role/app"}"#),
            false,
        ),
    ]);
    // NotPrincipal follows the same rules and is not interchangeable with Principal.
    let not = |principal: &str| {
        one(&format!(
            r#"{{"Effect":"Deny","NotPrincipal":{principal},"Action":"s3:*","Resource":"*"}}"#
        ))
    };
    check(&[
        (
            "NotPrincipal account id ≡ root",
            not(r#"{"AWS":"111122223333"}"#),
            not(r#"{"AWS":["arn:aws:iam::111122223333:root"]}"#),
            true,
        ),
        (
            "NotPrincipal differs",
            not(r#"{"AWS":"111122223333"}"#),
            not(r#"{"AWS":"444455556666"}"#),
            false,
        ),
        (
            "Principal ≢ NotPrincipal",
            not(r#"{"AWS":"111122223333"}"#),
            one(
                r#"{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}"#,
            ),
            false,
        ),
    ]);
}

#[test]
fn conditions() {
    let with = |condition: &str| {
        one(&format!(
            r#"{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{condition}}}"#
        ))
    };
    let without = one(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#);
    check(&[
        (
            "bool ≡ its string",
            with(r#"{"Bool":{"aws:SecureTransport":true}}"#),
            with(r#"{"Bool":{"aws:SecureTransport":"true"}}"#),
            true,
        ),
        (
            "bool ≢ the other string",
            with(r#"{"Bool":{"aws:SecureTransport":true}}"#),
            with(r#"{"Bool":{"aws:SecureTransport":"false"}}"#),
            false,
        ),
        (
            "number ≡ its string",
            with(r#"{"NumericLessThan":{"s3:max-keys":5}}"#),
            with(r#"{"NumericLessThan":{"s3:max-keys":"5"}}"#),
            true,
        ),
        (
            "float written as integer",
            with(r#"{"NumericLessThan":{"s3:max-keys":5.0}}"#),
            with(r#"{"NumericLessThan":{"s3:max-keys":"5"}}"#),
            true,
        ),
        (
            "fraction",
            with(r#"{"NumericLessThan":{"k":0.5}}"#),
            with(r#"{"NumericLessThan":{"k":["0.5"]}}"#),
            true,
        ),
        (
            "number ≢ another number",
            with(r#"{"NumericLessThan":{"s3:max-keys":5}}"#),
            with(r#"{"NumericLessThan":{"s3:max-keys":"50"}}"#),
            false,
        ),
        (
            "values are sets",
            with(r#"{"StringEquals":{"k":["a","b"]}}"#),
            with(r#"{"StringEquals":{"k":["b","a","a"]}}"#),
            true,
        ),
        (
            "string ≡ one-element list",
            with(r#"{"StringEquals":{"k":"a"}}"#),
            with(r#"{"StringEquals":{"k":["a"]}}"#),
            true,
        ),
        (
            "value sets differ",
            with(r#"{"StringEquals":{"k":["a","b"]}}"#),
            with(r#"{"StringEquals":{"k":["a"]}}"#),
            false,
        ),
        (
            "values are case-sensitive",
            with(r#"{"StringEquals":{"k":"a"}}"#),
            with(r#"{"StringEquals":{"k":"A"}}"#),
            false,
        ),
        (
            "operators and keys are order-free maps",
            with(r#"{"StringEquals":{"a":"1","b":"2"},"Bool":{"c":"true"}}"#),
            with(r#"{"Bool":{"c":"true"},"StringEquals":{"b":"2","a":"1"}}"#),
            true,
        ),
        (
            "other operator",
            with(r#"{"StringEquals":{"k":"a"}}"#),
            with(r#"{"StringLike":{"k":"a"}}"#),
            false,
        ),
        (
            "other key",
            with(r#"{"StringEquals":{"k":"a"}}"#),
            with(r#"{"StringEquals":{"j":"a"}}"#),
            false,
        ),
        (
            "extra key",
            with(r#"{"StringEquals":{"k":"a"}}"#),
            with(r#"{"StringEquals":{"k":"a","j":"a"}}"#),
            false,
        ),
        (
            "extra operator",
            with(r#"{"StringEquals":{"k":"a"}}"#),
            with(r#"{"StringEquals":{"k":"a"},"Bool":{"b":"true"}}"#),
            false,
        ),
        ("missing ≡ empty", without.clone(), with("{}"), true),
        (
            "missing ≢ a condition",
            without.clone(),
            with(r#"{"Bool":{"aws:SecureTransport":"true"}}"#),
            false,
        ),
    ]);
}

#[test]
fn text_that_is_not_json_compares_exactly() {
    check(&[
        ("same garbage", "not json".into(), "not json".into(), true),
        (
            "different garbage",
            "not json".into(),
            "not  json".into(),
            false,
        ),
        ("garbage versus a document", "{".into(), one(S3), false),
        ("empty text", String::new(), String::new(), true),
    ]);
}

#[test]
fn documents_outside_the_grammar_compare_structurally() {
    check(&[
        (
            "non-string action, same",
            one(r#"{"Action":[{"x":1}]}"#),
            one(r#"{ "Action" : [ {"x":1} ] }"#),
            true,
        ),
        (
            "non-string action, different",
            one(r#"{"Action":[{"x":1}]}"#),
            one(r#"{"Action":[{"x":2}]}"#),
            false,
        ),
        (
            "number as Statement",
            r#"{"Statement":1}"#.into(),
            r#"{"Statement":1}"#.into(),
            true,
        ),
        (
            "no Statement, key order",
            r#"{"Version":"2012-10-17","Id":"a"}"#.into(),
            r#"{"Id":"a","Version":"2012-10-17"}"#.into(),
            true,
        ),
        (
            "no Statement, different",
            r#"{"Version":"2012-10-17"}"#.into(),
            r#"{"Version":"2008-10-17"}"#.into(),
            false,
        ),
        ("array at the top", "[1]".into(), "[ 1 ]".into(), true),
        (
            "unknown statement key must match",
            one(r#"{"Effect":"Allow","X":1}"#),
            one(r#"{"X":2,"Effect":"Allow"}"#),
            false,
        ),
        (
            "unknown statement key, same",
            one(r#"{"Effect":"Allow","X":{"a":1,"b":2}}"#),
            one(r#"{"X":{"b":2,"a":1},"Effect":"Allow"}"#),
            true,
        ),
        (
            "unknown top-level key must match",
            format!(r#"{{"Extra":1,{}"#, &one(S3)[1..]),
            one(S3),
            false,
        ),
    ]);
}

#[test]
fn documents_read_back_from_iam_through_decode() {
    let desired = r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "111122223333", "Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/AB+C"},
            "Action": ["sts:AssumeRole"],
            "Condition": {"StringEquals": {"sts:ExternalId": "a/b c"}, "Bool": {"aws:MultiFactorAuthPresent": true}}
        }]
    }"#;
    // What IAM stores after rewriting the account id, compacted and with its own key order.
    let stored = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.example.com/id/AB+C","AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"StringEquals":{"sts:ExternalId":"a/b c"}}}]}"#;
    let encode = |text: &str, slash: bool| {
        let mut out = String::new();
        for byte in text.bytes() {
            let keep =
                byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || (!slash && byte == b'/');
            if keep {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    };
    let real_iam = encode(stored, true);
    let moto = encode(stored, false);
    assert!(real_iam.contains("%2F") && !moto.contains("%2F") && moto.contains('/'));
    assert!(real_iam.contains("%2B"), "a plus sign arrives encoded");
    for (label, answer) in [("real IAM", &real_iam), ("moto", &moto)] {
        let decoded = decode_iam_text(answer);
        assert_eq!(decoded, stored, "{label}");
        assert!(equivalent(desired, &decoded), "{label}");
    }
    // A change hidden in the encoded text is still seen.
    let changed = encode(&stored.replace("a/b c", "a/b d"), true);
    assert!(!equivalent(desired, &decode_iam_text(&changed)));
    // `+` must stay `+` when it arrives unencoded: form decoding would turn the OIDC id into
    // "AB C" and report drift on every pass.
    let unencoded_plus = moto.replace("%2B", "+");
    assert!(unencoded_plus.contains("AB+C"));
    assert_eq!(decode_iam_text(&unencoded_plus), stored);
    assert!(equivalent(desired, &decode_iam_text(&unencoded_plus)));
}

#[test]
fn only_drops_allow_statements_table() {
    use super::only_drops_allow_statements;
    const EC2: &str = r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#;
    const LAMBDA: &str = r#"{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}"#;
    const DENY: &str = r#"{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}"#;
    let doc = |statements: &[&str]| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            statements.join(",")
        )
    };
    let cases: &[(&str, String, String, bool)] = &[
        ("same", doc(&[EC2]), doc(&[EC2]), true),
        ("drops an allow", doc(&[EC2]), doc(&[EC2, LAMBDA]), true),
        (
            "drops an allow, reordered",
            doc(&[LAMBDA]),
            doc(&[EC2, LAMBDA]),
            true,
        ),
        ("adds an allow", doc(&[EC2, LAMBDA]), doc(&[EC2]), false),
        ("replaces an allow", doc(&[LAMBDA]), doc(&[EC2]), false),
        ("drops a deny", doc(&[EC2]), doc(&[EC2, DENY]), false),
        (
            "keeps the deny, drops an allow",
            doc(&[EC2, DENY]),
            doc(&[EC2, LAMBDA, DENY]),
            true,
        ),
        (
            "other version",
            r#"{"Version":"2008-10-17","Statement":[]}"#.into(),
            doc(&[EC2]),
            false,
        ),
        ("not json", "{".into(), doc(&[EC2]), false),
    ];
    for (label, narrower, wider, want) in cases {
        assert_eq!(
            only_drops_allow_statements(narrower, wider),
            *want,
            "{label}: {narrower} vs {wider}"
        );
    }
}
