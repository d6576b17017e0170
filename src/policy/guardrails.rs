//! Readings of a document that matter for safety rather than validity: who a trust policy lets
//! in and whether a permissions policy makes the role an administrator. Each answers one
//! question about the parsed document; the wording of warnings lives with the caller.

use serde_json::Value;

use super::json::{
    Statement, allows_action, condition_keys, is_allow, principals, statements, strings,
};

/// Whether an Allow statement lets any AWS principal in (`"*"`, `{"AWS": "*"}` or `"*"` in the
/// AWS list) with no Condition to narrow it down (such as `aws:PrincipalOrgID`).
pub fn wildcard_principal_without_condition(text: &str) -> bool {
    parsed(text).is_some_and(|doc| {
        statements(&doc).into_iter().any(|statement| {
            is_allow(statement)
                && condition_keys(statement).is_empty()
                && (statement.get("Principal").and_then(Value::as_str) == Some("*")
                    || principals(statement, "AWS").contains(&"*"))
        })
    })
}

/// Whether an Allow statement grants every action (`*` or `*:*`) on every resource (`*`).
pub fn grants_admin(text: &str) -> bool {
    parsed(text).is_some_and(|doc| {
        statements(&doc).into_iter().any(|statement| {
            is_allow(statement)
                && strings(statement.get("Action"))
                    .iter()
                    .any(|action| *action == "*" || *action == "*:*")
                && strings(statement.get("Resource")).contains(&"*")
        })
    })
}

/// The accounts other than `own_account_id` (any account when it is unknown) that an Allow
/// statement lets assume the role without an `sts:ExternalId` condition: the confused-deputy
/// risk when a third party assumes the role. In the order they appear, without repeats.
pub fn untrusted_accounts_without_external_id(
    text: &str,
    own_account_id: Option<&str>,
) -> Vec<String> {
    let Some(doc) = parsed(text) else {
        return Vec::new();
    };
    let mut accounts: Vec<String> = Vec::new();
    for statement in statements(&doc) {
        if !is_allow(statement) || has_condition_key(statement, &["sts:ExternalId"]) {
            continue;
        }
        for account in principals(statement, "AWS")
            .into_iter()
            .filter_map(account_of)
        {
            if own_account_id != Some(account) && !accounts.iter().any(|seen| seen == account) {
                accounts.push(account.to_string());
            }
        }
    }
    accounts
}

/// The OIDC providers (as their condition-key prefix, e.g. `oidc.eks.…/id/ABC`) that an Allow
/// statement trusts for `sts:AssumeRoleWithWebIdentity` without a condition on the provider's
/// `:sub` or `:aud` key: without one, every identity the provider issues tokens for (any
/// service account of the cluster, any repository on GitHub) can assume the role.
pub fn web_identity_providers_without_subject(text: &str) -> Vec<String> {
    let Some(doc) = parsed(text) else {
        return Vec::new();
    };
    let mut providers = Vec::new();
    for statement in statements(&doc) {
        if !is_allow(statement) || !allows_action(statement, "sts:AssumeRoleWithWebIdentity") {
            continue;
        }
        for federated in principals(statement, "Federated") {
            if federated.contains(":saml-provider/") {
                continue;
            }
            let provider = federated
                .split_once(":oidc-provider/")
                .map_or(federated, |(_, host)| host);
            let sub = format!("{provider}:sub");
            let aud = format!("{provider}:aud");
            if !has_condition_key(statement, &[&sub, &aud])
                && !providers.iter().any(|p| p == provider)
            {
                providers.push(provider.to_string());
            }
        }
    }
    providers
}

/// The SAML providers an Allow statement trusts without a `SAML:aud` condition, which is what
/// ties the assertion to the AWS sign-in endpoint.
pub fn saml_providers_without_audience(text: &str) -> Vec<String> {
    let Some(doc) = parsed(text) else {
        return Vec::new();
    };
    let mut providers = Vec::new();
    for statement in statements(&doc) {
        if !is_allow(statement) || has_condition_key(statement, &["SAML:aud"]) {
            continue;
        }
        let saml_action = allows_action(statement, "sts:AssumeRoleWithSAML");
        for federated in principals(statement, "Federated") {
            let is_saml = federated.contains(":saml-provider/") || saml_action;
            if is_saml && !providers.iter().any(|p| p == federated) {
                providers.push(federated.to_string());
            }
        }
    }
    providers
}

/// Principals IAM shows as a unique id (`AROA…` for a role, `AIDA…` for a user) instead of an
/// ARN: IAM rewrites a principal that was deleted after the trust policy was written. Such a
/// document cannot be restored by rewriting it (IAM refuses the old ARN until the principal
/// exists again), so the caller reports the ids as the reason for the drift.
pub fn unique_id_principals(text: &str) -> Vec<String> {
    let Some(doc) = parsed(text) else {
        return Vec::new();
    };
    let is_unique_id = |p: &str| {
        (p.starts_with("AROA") || p.starts_with("AIDA"))
            && p.len() > 4
            && p.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    let mut ids: Vec<String> = Vec::new();
    for statement in statements(&doc) {
        for principal in principals(statement, "AWS") {
            if is_unique_id(principal) && !ids.iter().any(|id| id == principal) {
                ids.push(principal.to_string());
            }
        }
    }
    ids
}

fn parsed(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

/// IAM condition keys are case-insensitive.
fn has_condition_key(statement: &Statement, wanted: &[&str]) -> bool {
    condition_keys(statement)
        .iter()
        .any(|key| wanted.iter().any(|w| key.eq_ignore_ascii_case(w)))
}

/// The account of an AWS principal: a bare id, or the account field of an iam/sts ARN.
/// Unique ids (`AROA…`) and `*` name no account.
fn account_of(principal: &str) -> Option<&str> {
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if is_account(principal) {
        return Some(principal);
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam" | "sts", _, account, _] if is_account(account) => Some(account),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let single =
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#;
        assert!(wildcard_principal_without_condition(single));
        assert!(!wildcard_principal_without_condition("not json"));
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
                    &format!(
                        r#","Condition":{{"StringLike":{{"{HOST}:aud":"sts.amazonaws.com"}}}}"#
                    ),
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
}
