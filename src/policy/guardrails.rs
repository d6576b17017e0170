//! Readings of a document that matter for safety rather than validity: who a trust policy lets
//! in and whether a permissions policy makes the role an administrator. Each answers one
//! question about the parsed document; the wording of warnings lives with the caller.

use serde_json::Value;

use crate::arn::{Arn, principal_account};

use super::json::{
    Statement, allows_action, is_allow, pattern_covers, patterns_overlap, principals, statements,
    strings,
};

/// Whether an Allow statement lets any AWS principal in (`"*"`, `{"AWS": "*"}` or `"*"` in the
/// AWS list) without a Condition that narrows who the caller is (see [`identifying_key`]): a
/// condition such as `Bool aws:SecureTransport` or `StringLike aws:PrincipalOrgID "*"` still
/// lets every AWS account in.
pub fn wildcard_principal_without_condition(text: &str) -> bool {
    parsed(text).is_some_and(|doc| {
        statements(&doc).into_iter().any(|statement| {
            is_allow(statement)
                && !narrowing_condition(statement, identifying_key)
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

/// Whether an Allow statement grants everything but a few actions (`NotAction`) on every
/// resource: almost an administrator, and every action AWS adds later is granted too.
pub fn allows_all_but_on_everything(text: &str) -> bool {
    parsed(text).is_some_and(|doc| {
        statements(&doc).into_iter().any(|statement| {
            is_allow(statement)
                && statement.contains_key("NotAction")
                && strings(statement.get("Resource")).contains(&"*")
        })
    })
}

/// The accounts other than `own_account_id` (any account when it is unknown) that an Allow
/// statement lets assume the role without a narrowing `sts:ExternalId` condition (a negated one,
/// or `StringLike "*"`, requires no particular id): the confused-deputy risk when a third party
/// assumes the role. In the order they appear, without repeats.
pub fn untrusted_accounts_without_external_id(
    text: &str,
    own_account_id: Option<&str>,
) -> Vec<String> {
    let Some(doc) = parsed(text) else {
        return Vec::new();
    };
    let external_id = |key: &str| {
        key.eq_ignore_ascii_case("sts:ExternalId")
            .then_some(KeyKind::Id)
    };
    let mut accounts: Vec<String> = Vec::new();
    for statement in statements(&doc) {
        if !is_allow(statement) || narrowing_condition(statement, external_id) {
            continue;
        }
        for account in principals(statement, "AWS")
            .into_iter()
            .filter_map(principal_account)
        {
            if own_account_id != Some(account) && !accounts.iter().any(|seen| seen == account) {
                accounts.push(account.to_string());
            }
        }
    }
    accounts
}

/// One OIDC provider an Allow statement trusts for `sts:AssumeRoleWithWebIdentity` (by name or
/// through a wildcard such as `sts:*`), and which of its claims a narrowing condition pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebIdentityTrust {
    /// The provider as its condition-key prefix, e.g. `oidc.eks.…/id/ABC`.
    pub provider: String,
    /// `<provider>:sub`: without it, every identity the provider issues tokens for (any service
    /// account of the cluster, any repository on GitHub) can assume the role.
    pub subject: bool,
    /// `<provider>:aud`: which client the token was minted for.
    pub audience: bool,
}

/// Every statement's web identity trust, in order (a provider trusted by two statements appears
/// twice: each statement lets callers in on its own).
pub fn web_identity_trusts(text: &str) -> Vec<WebIdentityTrust> {
    let Some(doc) = parsed(text) else {
        return Vec::new();
    };
    let mut trusts = Vec::new();
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
            let pinned = |claim: &str| {
                let key = format!("{provider}:{claim}");
                narrowing_condition(statement, |k: &str| {
                    k.eq_ignore_ascii_case(&key).then_some(KeyKind::Text)
                })
            };
            trusts.push(WebIdentityTrust {
                provider: provider.to_string(),
                subject: pinned("sub"),
                audience: pinned("aud"),
            });
        }
    }
    trusts
}

/// The SAML providers an Allow statement trusts for `sts:AssumeRoleWithSAML` (by name or
/// through a wildcard) without a narrowing `SAML:aud` condition, which is what ties the
/// assertion to the AWS sign-in endpoint.
pub fn saml_providers_without_audience(text: &str) -> Vec<String> {
    let Some(doc) = parsed(text) else {
        return Vec::new();
    };
    let audience = |key: &str| {
        key.eq_ignore_ascii_case("SAML:aud")
            .then_some(KeyKind::Text)
    };
    let mut providers = Vec::new();
    for statement in statements(&doc) {
        if !is_allow(statement)
            || !allows_action(statement, "sts:AssumeRoleWithSAML")
            || narrowing_condition(statement, audience)
        {
            continue;
        }
        for federated in principals(statement, "Federated") {
            if federated.contains(":saml-provider/") && !providers.iter().any(|p| p == federated) {
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

/// Whether an Allow statement grants an action `pattern` matches (IAM's wildcards on either
/// side; under any condition and on any resource): through an Action that overlaps it, or a
/// NotAction none of whose entries surely covers all of it.
pub fn allows_actions_matching(text: &str, pattern: &str) -> bool {
    parsed(text).is_some_and(|doc| {
        statements(&doc).into_iter().any(|statement| {
            is_allow(statement)
                && if statement.contains_key("NotAction") {
                    !strings(statement.get("NotAction"))
                        .iter()
                        .any(|excluded| pattern_covers(excluded, pattern))
                } else {
                    strings(statement.get("Action"))
                        .iter()
                        .any(|action| patterns_overlap(action, pattern))
                }
        })
    })
}

/// The accounts an Allow statement names as AWS principals (account ids, or the account of an
/// IAM or STS ARN), with `"*"` for the AWS wildcard whatever its condition: in the order they
/// appear, without repeats.
pub fn trusted_accounts(text: &str) -> Vec<String> {
    let Some(doc) = parsed(text) else {
        return Vec::new();
    };
    let mut accounts: Vec<String> = Vec::new();
    for statement in statements(&doc) {
        if !is_allow(statement) {
            continue;
        }
        let wildcard =
            (statement.get("Principal").and_then(Value::as_str) == Some("*")).then_some("*");
        let named = principals(statement, "AWS").into_iter().filter_map(|p| {
            if p == "*" {
                Some("*")
            } else {
                principal_account(p)
            }
        });
        for account in wildcard.into_iter().chain(named) {
            if !accounts.iter().any(|seen| seen == account) {
                accounts.push(account.to_string());
            }
        }
    }
    accounts
}

fn parsed(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

/// What a condition key holds, which decides whether a wildcard in its value still narrows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// An organisation, account or external id: any wildcard makes it match ids of strangers.
    Id,
    /// An ARN: narrows only with a literal account, and no wildcard before it (`StringLike`'s `*`
    /// crosses colons, and a role path may contain them).
    Arn,
    /// An organisation path `o-…/r-…/ou-…/`: narrows with a literal organisation id.
    OrgPath,
    /// Anything else (an OIDC subject): narrows unless it is nothing but wildcards.
    Text,
}

/// Condition keys that say who the caller is, in a way the caller cannot choose: its
/// organisation, account, ARN, the resource a service acts for, the external id the role's
/// owner handed out, or the subject a web identity provider vouches for (`<issuer>:sub`, the
/// issuer being a host name). Tags, user ids, `aws:SourceOwner` and audiences do not count:
/// anyone can set their own tags, and an audience is shared by every user of the provider.
pub(crate) fn identifying_key(key: &str) -> Option<KeyKind> {
    let key = key.to_ascii_lowercase();
    match key.as_str() {
        "aws:principalorgid" | "aws:principalaccount" | "aws:sourceaccount" | "sts:externalid" => {
            Some(KeyKind::Id)
        }
        "aws:principalarn" | "aws:sourcearn" => Some(KeyKind::Arn),
        "aws:principalorgpaths" => Some(KeyKind::OrgPath),
        _ => key
            .strip_suffix(":sub")
            .filter(|issuer| issuer.contains('.'))
            .map(|_| KeyKind::Text),
    }
}

/// Whether a Condition of the statement requires one of the keys `key` accepts to match a value
/// that narrows. Conditions are all required, so one such entry narrows the whole statement.
pub(crate) fn narrowing_condition(
    statement: &Statement,
    key: impl Fn(&str) -> Option<KeyKind>,
) -> bool {
    let Some(Value::Object(operators)) = statement.get("Condition") else {
        return false;
    };
    operators.iter().any(|(operator, entries)| {
        let Some(wildcards) = positive_match(operator) else {
            return false;
        };
        entries.as_object().is_some_and(|entries| {
            entries.iter().any(|(name, values)| {
                key(name).is_some_and(|kind| values_narrow(kind, wildcards, values))
            })
        })
    })
}

/// For an operator that requires the key to be present and to match, whether it matches with
/// wildcards; None for the ones that narrow nothing: negations, `…IfExists` and
/// `ForAllValues:` (both pass when the key is absent), `Null`, `Bool` and the rest.
/// `ArnEquals` takes wildcards just like `ArnLike`.
fn positive_match(operator: &str) -> Option<bool> {
    let operator = operator.to_ascii_lowercase();
    let operator = operator.strip_prefix("foranyvalue:").unwrap_or(&operator);
    match operator {
        "stringequals" | "stringequalsignorecase" => Some(false),
        "stringlike" | "arnlike" | "arnequals" => Some(true),
        _ => None,
    }
}

/// Values are alternatives: every one of them must narrow (an empty list narrows nothing).
fn values_narrow(kind: KeyKind, wildcards: bool, values: &Value) -> bool {
    match values {
        Value::Array(list) => {
            !list.is_empty() && list.iter().all(|v| value_narrows(kind, wildcards, v))
        }
        one => value_narrows(kind, wildcards, one),
    }
}

fn value_narrows(kind: KeyKind, wildcards: bool, value: &Value) -> bool {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        _ => return false,
    };
    // A policy variable (`${aws:PrincipalAccount}`) becomes the caller's own value.
    if text.contains("${") {
        return false;
    }
    if !wildcards {
        return true;
    }
    let literal = |part: &str| !part.contains(['*', '?']);
    match kind {
        KeyKind::Id => literal(&text),
        KeyKind::Arn => Arn::parse(&text).is_ok_and(|arn| {
            [arn.partition, arn.service, arn.region]
                .iter()
                .all(|part| literal(part))
                && arn.account_id().is_some()
        }),
        KeyKind::OrgPath => text
            .split('/')
            .next()
            .is_some_and(|org| !org.is_empty() && literal(org)),
        KeyKind::Text => text.chars().any(|c| c != '*' && c != '?'),
    }
}

#[cfg(test)]
mod tests;
