use super::*;

/// The providers some statement trusts with neither its subject nor its audience pinned (what
/// the web identity checks report at the least), without repeats.
fn web_identity_providers_without_subject(text: &str) -> Vec<String> {
    let mut providers: Vec<String> = Vec::new();
    for trust in web_identity_trusts(text) {
        if !trust.subject && !trust.audience && !providers.contains(&trust.provider) {
            providers.push(trust.provider);
        }
    }
    providers
}

fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

#[test]
fn wildcard_principal() {
    let cases = [
        (
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}"#,
            true,
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}"#,
            true,
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":["111122223333","*"]},"Action":"sts:AssumeRole"}"#,
            true,
        ),
        (
            r#"{"Effect":"allow","Principal":"*","Action":"sts:AssumeRole"}"#,
            true,
        ),
        (
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{}}"#,
            true,
        ),
        (
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{}}}"#,
            true,
        ),
        (
            r#"{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}"#,
            false,
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}"#,
            false,
        ),
        (
            r#"{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}"#,
            false,
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}"#,
            false,
        ),
        (
            r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
            false,
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/*"},"Action":"sts:AssumeRole"}"#,
            false,
        ),
    ];
    for (statement, want) in cases {
        assert_eq!(
            wildcard_principal_without_condition(&doc(statement)),
            want,
            "{statement}"
        );
    }
    let single = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#;
    assert!(wildcard_principal_without_condition(single));
    assert!(!wildcard_principal_without_condition("not json"));
}

/// Only a condition that narrows who the caller is makes a wildcard principal acceptable:
/// a positive match (no negation, no IfExists, no ForAllValues, which pass when the key is
/// absent) on a key that identifies the caller, against a value that is not a wildcard.
#[test]
fn wildcard_principal_needs_a_narrowing_condition() {
    let cases: &[(&str, bool)] = &[
        // Narrowing: the statement is accepted.
        (
            r#"{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
            false,
        ),
        (
            r#"{"StringEqualsIgnoreCase":{"aws:PrincipalOrgID":"O-ABC123"}}"#,
            false,
        ),
        (r#"{"StringLike":{"aws:PrincipalOrgID":"o-abc123"}}"#, false),
        (
            r#"{"ForAnyValue:StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
            false,
        ),
        (
            r#"{"StringEquals":{"AWS:principalorgid":"o-abc123"}}"#,
            false,
        ),
        (
            r#"{"StringEquals":{"aws:PrincipalOrgID":["o-a","o-b"]}}"#,
            false,
        ),
        (
            r#"{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}"#,
            false,
        ),
        (
            r#"{"StringEquals":{"aws:PrincipalAccount":111122223333}}"#,
            false,
        ),
        (
            r#"{"StringEquals":{"aws:SourceAccount":"111122223333"}}"#,
            false,
        ),
        (
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:topic"}}"#,
            false,
        ),
        (
            r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/ci"}}"#,
            false,
        ),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}}"#,
            false,
        ),
        (
            r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/ci-*"}}"#,
            false,
        ),
        (
            r#"{"StringEquals":{"aws:SourceArn":"arn:aws:s3:::bucket"}}"#,
            false,
        ),
        (
            r#"{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-abc123/r-ab12/ou-ab12-11111111/*"}}"#,
            false,
        ),
        (r#"{"StringEquals":{"sts:ExternalId":"f1b2c3"}}"#, false),
        (r#"{"StringEquals":{"sts:ExternalId":"*"}}"#, false),
        (
            r#"{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:org/app:ref:refs/heads/main"}}"#,
            false,
        ),
        (
            r#"{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:org/app:*"}}"#,
            false,
        ),
        // One narrowing condition is enough: conditions are all required.
        (
            r#"{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
            false,
        ),
        // Restricting nothing: the statement is refused.
        (r#"{"Bool":{"aws:SecureTransport":"true"}}"#, true),
        (r#"{"Bool":{"aws:SecureTransport":true}}"#, true),
        (r#"{"StringLike":{"aws:PrincipalOrgID":"*"}}"#, true),
        (r#"{"StringLike":{"aws:PrincipalOrgID":"o-*"}}"#, true),
        (
            r#"{"StringLike":{"aws:PrincipalOrgID":["o-abc123","*"]}}"#,
            true,
        ),
        (r#"{"StringEquals":{"aws:PrincipalOrgID":[]}}"#, true),
        (
            r#"{"StringLike":{"aws:PrincipalAccount":"11112222333?"}}"#,
            true,
        ),
        (r#"{"StringLike":{"aws:PrincipalArn":"*"}}"#, true),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/ci"}}"#,
            true,
        ),
        (
            r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::*:*"}}"#,
            true,
        ),
        (
            r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:*:*:111122223333:*"}}"#,
            true,
        ),
        (
            r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333"}}"#,
            true,
        ),
        (r#"{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::*"}}"#, true),
        (r#"{"StringLike":{"aws:PrincipalOrgPaths":"*/*"}}"#, true),
        (
            r#"{"StringLike":{"aws:PrincipalOrgPaths":"o-*/r-ab12/*"}}"#,
            true,
        ),
        (
            r#"{"StringEquals":{"aws:PrincipalAccount":"${aws:PrincipalAccount}"}}"#,
            true,
        ),
        (
            r#"{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
            true,
        ),
        (
            r#"{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-abc123"}}"#,
            true,
        ),
        (
            r#"{"ForAllValues:StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}"#,
            true,
        ),
        (r#"{"Null":{"aws:PrincipalOrgID":"false"}}"#, true),
        (
            r#"{"StringEquals":{"aws:PrincipalTag/team":"payments"}}"#,
            true,
        ),
        (r#"{"StringEquals":{"aws:userid":"AROAEXAMPLE:*"}}"#, true),
        (
            r#"{"StringEquals":{"aws:PrincipalOrgID":{"nested":"o-abc123"}}}"#,
            true,
        ),
        (r#"{"StringLike":{"sts:ExternalId":"*"}}"#, true),
        (r#"{"StringNotEquals":{"sts:ExternalId":"f1b2c3"}}"#, true),
        (
            r#"{"StringLike":{"token.actions.githubusercontent.com:sub":"*"}}"#,
            true,
        ),
        (
            r#"{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}"#,
            true,
        ),
        (r#"{"StringEquals":{"aws:sub":"x"}}"#, true),
    ];
    for (condition, refused) in cases {
        for principal in [r#""*""#, r#"{"AWS":"*"}"#] {
            let statement = format!(
                r#"{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole","Condition":{condition}}}"#
            );
            assert_eq!(
                wildcard_principal_without_condition(&doc(&statement)),
                *refused,
                "{statement}"
            );
        }
    }
}

#[test]
fn federation_checks_match_action_wildcards() {
    const EKS: &str =
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    const HOST: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    const SAML: &str = "arn:aws:iam::111122223333:saml-provider/Okta";
    let statement = |federated: &str, action: &str, condition: &str| {
        doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"{federated}"}},{action}{condition}}}"#
        ))
    };
    // (action field, web identity allowed, SAML allowed)
    let actions: &[(&str, bool, bool)] = &[
        (r#""Action":"sts:AssumeRoleWithWebIdentity""#, true, false),
        (r#""Action":"STS:assumerolewithwebidentity""#, true, false),
        (r#""Action":"sts:AssumeRoleWithSAML""#, false, true),
        (r#""Action":"sts:AssumeRoleWith*""#, true, true),
        (r#""Action":"sts:AssumeRole*""#, true, true),
        (r#""Action":"sts:*""#, true, true),
        (r#""Action":"*""#, true, true),
        (r#""Action":"sts:AssumeRoleWith?ebIdentity""#, true, false),
        (
            r#""Action":["sts:TagSession","sts:AssumeRoleWith*"]"#,
            true,
            true,
        ),
        (r#""NotAction":"sts:AssumeRole""#, true, true),
        (r#""NotAction":"sts:AssumeRoleWith*""#, false, false),
        (
            r#""Action":["sts:AssumeRole","sts:TagSession"]"#,
            false,
            false,
        ),
        (r#""Action":"sts:AssumeRoleWithWebIdentityX""#, false, false),
        (r#""Action":"sts:AssumeRoleWith""#, false, false),
        (r#""Action":"s3:*""#, false, false),
    ];
    for (action, web_identity, saml) in actions {
        let oidc = statement(EKS, action, "");
        let want: &[&str] = if *web_identity { &[HOST] } else { &[] };
        assert_eq!(
            web_identity_providers_without_subject(&oidc),
            want,
            "{oidc}"
        );
        // An OIDC provider is never reported as a SAML one, whatever the actions.
        assert!(saml_providers_without_audience(&oidc).is_empty(), "{oidc}");
        let saml_text = statement(SAML, action, "");
        let want: &[&str] = if *saml { &[SAML] } else { &[] };
        assert_eq!(
            saml_providers_without_audience(&saml_text),
            want,
            "{saml_text}"
        );
        assert!(web_identity_providers_without_subject(&saml_text).is_empty());
    }
    // A subject or audience condition counts only when it narrows.
    let conditions: &[(String, bool)] = &[
        (
            format!(
                r#","Condition":{{"StringLike":{{"{HOST}:sub":"system:serviceaccount:a:*"}}}}"#
            ),
            false,
        ),
        (
            format!(r#","Condition":{{"StringLike":{{"{HOST}:sub":"*"}}}}"#),
            true,
        ),
        (
            format!(
                r#","Condition":{{"StringNotEquals":{{"{HOST}:sub":"system:serviceaccount:a:b"}}}}"#
            ),
            true,
        ),
        (
            format!(
                r#","Condition":{{"StringEqualsIfExists":{{"{HOST}:aud":"sts.amazonaws.com"}}}}"#
            ),
            true,
        ),
    ];
    for (condition, warned) in conditions {
        let text = statement(EKS, r#""Action":"sts:*""#, condition);
        let want: &[&str] = if *warned { &[HOST] } else { &[] };
        assert_eq!(
            web_identity_providers_without_subject(&text),
            want,
            "{text}"
        );
    }
    let saml_conditions: &[(&str, bool)] = &[
        (
            r#","Condition":{"StringEquals":{"saml:aud":"https://signin.aws.amazon.com/saml"}}"#,
            false,
        ),
        (r#","Condition":{"StringLike":{"SAML:aud":"*"}}"#, true),
        (
            r#","Condition":{"StringNotEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}"#,
            true,
        ),
    ];
    for (condition, warned) in saml_conditions {
        let text = statement(SAML, r#""Action":"sts:AssumeRoleWith*""#, condition);
        let want: &[&str] = if *warned { &[SAML] } else { &[] };
        assert_eq!(saml_providers_without_audience(&text), want, "{text}");
    }
}

#[test]
fn external_id_counts_only_when_it_narrows() {
    let cases: &[(&str, bool)] = &[
        (r#"{"StringEquals":{"sts:ExternalId":"f1b2c3"}}"#, false),
        (r#"{"StringLike":{"sts:ExternalId":"f1b2c3"}}"#, false),
        (r#"{"StringLike":{"sts:ExternalId":"*"}}"#, true),
        (r#"{"StringNotEquals":{"sts:ExternalId":"f1b2c3"}}"#, true),
        (
            r#"{"StringEqualsIfExists":{"sts:ExternalId":"f1b2c3"}}"#,
            true,
        ),
        (r#"{"Null":{"sts:ExternalId":"false"}}"#, true),
    ];
    for (condition, warned) in cases {
        let text = doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"AWS":"444455556666"}},"Action":"sts:AssumeRole","Condition":{condition}}}"#
        ));
        let want: &[&str] = if *warned { &["444455556666"] } else { &[] };
        assert_eq!(
            untrusted_accounts_without_external_id(&text, Some("111122223333")),
            want,
            "{text}"
        );
    }
}

#[test]
fn admin() {
    let cases = [
        (r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#, true),
        (
            r#"{"Effect":"Allow","Action":"*:*","Resource":["*"]}"#,
            true,
        ),
        (
            r#"{"Effect":"Allow","Action":["s3:GetObject","*"],"Resource":["arn:aws:s3:::b","*"]}"#,
            true,
        ),
        (
            r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b"}"#,
            false,
        ),
        (
            r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#,
            false,
        ),
        (r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#, false),
        (
            r#"{"Effect":"Allow","NotAction":"*","Resource":"*"}"#,
            false,
        ),
    ];
    for (statement, want) in cases {
        assert_eq!(grants_admin(&doc(statement)), want, "{statement}");
    }
}

#[test]
fn cross_account_without_external_id() {
    let own = Some("111122223333");
    let cases: [(&str, Option<&str>, &[&str]); 11] = [
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole"}"#,
            own,
            &["444455556666"],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/ci"},"Action":"sts:AssumeRole"}"#,
            own,
            &["444455556666"],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::444455556666:assumed-role/ci/s"},"Action":"sts:AssumeRole"}"#,
            own,
            &["444455556666"],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::444455556666:root","444455556666","777788889999"]},"Action":"sts:AssumeRole"}"#,
            own,
            &["444455556666", "777788889999"],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ci"},"Action":"sts:AssumeRole"}"#,
            own,
            &[],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/ci"},"Action":"sts:AssumeRole"}"#,
            None,
            &["111122223333"],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}"#,
            own,
            &[],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"STS:externalid":"x"}}}"#,
            own,
            &[],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}"#,
            own,
            &["444455556666"],
        ),
        (
            r#"{"Effect":"Deny","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole"}"#,
            own,
            &[],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"AROAEXAMPLEID","Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
            None,
            &[],
        ),
    ];
    for (statement, own, want) in cases {
        assert_eq!(
            untrusted_accounts_without_external_id(&doc(statement), own),
            want,
            "{statement} own={own:?}"
        );
    }
}

#[test]
fn web_identity() {
    const EKS: &str =
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    const HOST: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    let statement = |federated: &str, action: &str, condition: &str| {
        doc(&format!(
            r#"{{"Effect":"Allow","Principal":{{"Federated":"{federated}"}},"Action":"{action}"{condition}}}"#
        ))
    };
    let cases: [(String, &[&str]); 8] = [
        (statement(EKS, "sts:AssumeRoleWithWebIdentity", ""), &[HOST]),
        (
            statement(
                EKS,
                "sts:AssumeRoleWithWebIdentity",
                &format!(
                    r#","Condition":{{"StringEquals":{{"{HOST}:sub":"system:serviceaccount:a:b"}}}}"#
                ),
            ),
            &[],
        ),
        (
            statement(
                EKS,
                "sts:AssumeRoleWithWebIdentity",
                &format!(r#","Condition":{{"StringLike":{{"{HOST}:aud":"sts.amazonaws.com"}}}}"#),
            ),
            &[],
        ),
        // A condition on another provider's key does not restrict this one.
        (
            statement(
                EKS,
                "sts:AssumeRoleWithWebIdentity",
                r#","Condition":{"StringEquals":{"oidc.other.example/id/X:sub":"a"}}"#,
            ),
            &[HOST],
        ),
        (
            statement(
                EKS,
                "sts:AssumeRoleWithWebIdentity",
                r#","Condition":{"StringEquals":{"aws:PrincipalTag/x":"a"}}"#,
            ),
            &[HOST],
        ),
        (
            statement(
                "cognito-identity.amazonaws.com",
                "sts:AssumeRoleWithWebIdentity",
                "",
            ),
            &["cognito-identity.amazonaws.com"],
        ),
        (
            statement(
                "cognito-identity.amazonaws.com",
                "sts:AssumeRoleWithWebIdentity",
                r#","Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:x"}}"#,
            ),
            &[],
        ),
        (statement(EKS, "sts:AssumeRole", ""), &[]),
    ];
    for (text, want) in cases {
        assert_eq!(
            web_identity_providers_without_subject(&text),
            want,
            "{text}"
        );
    }
}

#[test]
fn deleted_principals() {
    let cases: [(&str, &[&str]); 5] = [
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"AROA1234567890EXAMPLE"},"Action":"sts:AssumeRole"}"#,
            &["AROA1234567890EXAMPLE"],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":["AIDAEXAMPLE1","arn:aws:iam::111122223333:root","AIDAEXAMPLE1"]},"Action":"sts:AssumeRole"}"#,
            &["AIDAEXAMPLE1"],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/AROA"},"Action":"sts:AssumeRole"}"#,
            &[],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"Service":"AROAEXAMPLE"},"Action":"sts:AssumeRole"}"#,
            &[],
        ),
        (
            r#"{"Effect":"Allow","Principal":{"AWS":"AROA"},"Action":"sts:AssumeRole"}"#,
            &[],
        ),
    ];
    for (statement, want) in cases {
        assert_eq!(unique_id_principals(&doc(statement)), want, "{statement}");
    }
}

#[test]
fn saml() {
    const SAML: &str = "arn:aws:iam::111122223333:saml-provider/Okta";
    let statement = |condition: &str, effect: &str| {
        doc(&format!(
            r#"{{"Effect":"{effect}","Principal":{{"Federated":"{SAML}"}},"Action":"sts:AssumeRoleWithSAML"{condition}}}"#
        ))
    };
    let cases: [(String, &[&str]); 4] = [
        (statement("", "Allow"), &[SAML]),
        (
            statement(
                r#","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}"#,
                "Allow",
            ),
            &[],
        ),
        (
            statement(r#","Condition":{"StringEquals":{"SAML:sub":"x"}}"#, "Allow"),
            &[SAML],
        ),
        (statement("", "Deny"), &[]),
    ];
    for (text, want) in cases {
        assert_eq!(saml_providers_without_audience(&text), want, "{text}");
    }
    // A web-identity statement is not a SAML one.
    let oidc = doc(
        r#"{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"}"#,
    );
    assert!(saml_providers_without_audience(&oidc).is_empty());
}

#[test]
fn actions_an_allow_grants_against_a_denied_pattern() {
    let allow = |field: &str, actions: &str| {
        doc(&format!(
            r#"{{"Effect":"Allow","{field}":{actions},"Resource":"*"}}"#
        ))
    };
    let cases = [
        (allow("Action", r#""iam:PassRole""#), "iam:PassRole", true),
        (allow("Action", r#""iam:*""#), "iam:PassRole", true),
        (
            allow("Action", r#"["s3:GetObject","iam:Pass*"]"#),
            "iam:*",
            true,
        ),
        (allow("Action", r#""iam:Create*""#), "iam:*Role", true),
        (allow("Action", r#""iam:Get*""#), "iam:PassRole", false),
        (allow("Action", r#""s3:*""#), "iam:*", false),
        // NotAction grants everything it does not list.
        (allow("NotAction", r#""s3:*""#), "iam:PassRole", true),
        (allow("NotAction", r#"["iam:*"]"#), "iam:PassRole", false),
        (allow("NotAction", r#""iam:PassRole""#), "iam:*", true),
        (
            doc(r#"{"Effect":"Deny","Action":"iam:*","Resource":"*"}"#),
            "iam:PassRole",
            false,
        ),
        ("not json".to_string(), "iam:PassRole", false),
    ];
    for (text, pattern, want) in cases {
        assert_eq!(
            allows_actions_matching(&text, pattern),
            want,
            "{text} {pattern}"
        );
    }
}

#[test]
fn accounts_a_trust_policy_names() {
    let trust = |principal: &str, effect: &str| {
        doc(&format!(
            r#"{{"Effect":"{effect}","Principal":{principal},"Action":"sts:AssumeRole"}}"#
        ))
    };
    let cases: [(String, &[&str]); 7] = [
        (
            trust(r#"{"AWS":"111122223333"}"#, "Allow"),
            &["111122223333"],
        ),
        (
            trust(
                r#"{"AWS":["arn:aws:iam::111122223333:root","arn:aws:iam::444455556666:role/x","111122223333"]}"#,
                "Allow",
            ),
            &["111122223333", "444455556666"],
        ),
        (trust(r#"{"AWS":"*"}"#, "Allow"), &["*"]),
        (trust(r#""*""#, "Allow"), &["*"]),
        (trust(r#"{"Service":"ec2.amazonaws.com"}"#, "Allow"), &[]),
        (trust(r#"{"AWS":"111122223333"}"#, "Deny"), &[]),
        (
            trust(
                r#"{"Federated":"arn:aws:iam::111122223333:oidc-provider/x"}"#,
                "Allow",
            ),
            &[],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(trusted_accounts(&text), want, "{text}");
    }
}
