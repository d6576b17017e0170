//! Who may assume the role: checks of the trust policy.

use serde_json::Value;

use super::{Finding, Location, Rule, Severity, permissions};
use crate::policy::json::{Statement, allows_action, is_allow, principals, statements};
use crate::policy::{
    KeyKind, identifying_key, narrowing_condition, saml_providers_without_audience,
    untrusted_accounts_without_external_id, web_identity_trusts,
};

/// The Service principal of EKS Pod Identity.
const POD_IDENTITY: &str = "pods.eks.amazonaws.com";
/// Cognito identity pools: the audience is the pool id, and there is no subject to pin.
const COGNITO: &str = "cognito-identity.amazonaws.com";
/// Session tags EKS Pod Identity sets, naming the cluster, namespace and service account.
const POD_IDENTITY_TAGS: [&str; 4] = [
    "aws:requesttag/eks-cluster-arn",
    "aws:requesttag/eks-cluster-name",
    "aws:requesttag/kubernetes-namespace",
    "aws:requesttag/kubernetes-service-account",
];

pub(super) fn findings(
    text: &str,
    own_account: Option<&str>,
    source_services: &[String],
) -> Vec<Finding> {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let statements = statements(&doc);
    let allows: Vec<&Statement> = statements.iter().copied().filter(|s| is_allow(s)).collect();
    let mut found = Vec::new();
    let finding =
        |check, severity, message| Finding::new(check, severity, Location::Trust, message);

    found.extend(wildcard(&allows));
    if allows.iter().any(|s| s.contains_key("NotPrincipal")) {
        found.push(finding(
            Rule::NotPrincipalAllow,
            Severity::High,
            "an Allow statement uses NotPrincipal, which lets in every principal it does not name; name the principals in Principal instead".into(),
        ));
    }
    for account in untrusted_accounts_without_external_id(text, own_account) {
        let whose = if own_account.is_some() {
            "another AWS account"
        } else {
            "an AWS account (the operator's own account is unknown)"
        };
        found.push(finding(
            Rule::CrossAccountNoExternalId,
            Severity::High,
            format!("{whose}, {account}, may assume the role without an sts:ExternalId condition; when a third party assumes it, require the external id they gave you (confused deputy)"),
        ));
    }
    for service in services_without_source(&allows, source_services) {
        found.push(finding(
            Rule::ServiceTrustNoSource,
            Severity::Medium,
            format!("service {service} may assume the role on behalf of any resource, other accounts' included (cross-service confused deputy); add StringEquals aws:SourceAccount with your account id or ArnLike aws:SourceArn with the resource that should use it"),
        ));
    }
    found.extend(web_identity(text));
    if pod_identity_without_tags(&allows) {
        found.push(finding(
            Rule::PodIdentityNoTagConditions,
            Severity::Low,
            format!("EKS Pod Identity ({POD_IDENTITY}) may assume the role for any pod identity association in the account; add StringEquals conditions on aws:RequestTag/kubernetes-namespace and aws:RequestTag/kubernetes-service-account (and eks-cluster-arn) naming the pods that should"),
        ));
    }
    for provider in saml_providers_without_audience(text) {
        found.push(finding(
            Rule::SamlNoAudience,
            Severity::Medium,
            format!("SAML provider {provider:?} is trusted without a SAML:aud condition; add StringEquals SAML:aud \"https://signin.aws.amazon.com/saml\""),
        ));
    }
    found.extend(permissions::single_valued_for_all_values(
        &statements,
        &Location::Trust,
    ));
    found
}

/// `Principal "*"`: critical when no condition narrows who the caller is (such a trust policy
/// is also refused), medium when one does, because the condition alone keeps strangers out.
fn wildcard(allows: &[&Statement]) -> Option<Finding> {
    let wildcard: Vec<&&Statement> = allows
        .iter()
        .filter(|s| {
            s.get("Principal").and_then(Value::as_str) == Some("*")
                || principals(s, "AWS").contains(&"*")
        })
        .collect();
    let open = wildcard
        .iter()
        .any(|s| !narrowing_condition(s, identifying_key));
    let (severity, message) = match (wildcard.is_empty(), open) {
        (true, _) => return None,
        (false, true) => (
            Severity::Critical,
            "a statement allows Principal \"*\" (any AWS account) without a Condition that narrows who may assume the role; name the principals, or require a literal value such as StringEquals aws:PrincipalOrgID \"o-…\"",
        ),
        (false, false) => (
            Severity::Medium,
            "a statement allows Principal \"*\" and only its Condition keeps other accounts out; name the principals instead where you can",
        ),
    };
    Some(Finding::new(
        Rule::WildcardTrust,
        severity,
        Location::Trust,
        message.into(),
    ))
}

/// The listed services trusted for `sts:AssumeRole` without a narrowing condition on the
/// resource or account they act for.
fn services_without_source(allows: &[&Statement], listed: &[String]) -> Vec<String> {
    let source = |key: &str| match key.to_ascii_lowercase().as_str() {
        "aws:sourcearn" => Some(KeyKind::Arn),
        "aws:sourceaccount" | "aws:sourceorgid" => Some(KeyKind::Id),
        "aws:sourceorgpaths" => Some(KeyKind::OrgPath),
        _ => None,
    };
    let mut services: Vec<String> = Vec::new();
    for statement in allows {
        if !allows_action(statement, "sts:AssumeRole") || narrowing_condition(statement, source) {
            continue;
        }
        for service in principals(statement, "Service") {
            let wanted = listed.iter().any(|l| l.eq_ignore_ascii_case(service));
            if wanted && !services.iter().any(|s| s.eq_ignore_ascii_case(service)) {
                services.push(service.to_string());
            }
        }
    }
    services
}

/// OIDC providers trusted for `sts:AssumeRoleWithWebIdentity` without a narrowing condition on
/// the subject (which identity) or the audience (which client the token was minted for).
fn web_identity(text: &str) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    for trust in web_identity_trusts(text) {
        let provider = trust.provider.as_str();
        let cognito = provider.eq_ignore_ascii_case(COGNITO);
        let mut add = |check, severity, message: String| {
            let new = Finding::new(check, severity, Location::Trust, message);
            if !found.contains(&new) {
                found.push(new);
            }
        };
        if !cognito && !trust.subject {
            add(
                Rule::WebIdentityNoSubject,
                Severity::High,
                format!(
                    "web identity provider {provider:?} is trusted without a condition on \"{provider}:sub\"; every identity it issues tokens for (any service account of the cluster, any repository) can assume the role, so require the one subject that should"
                ),
            );
        }
        if !trust.audience {
            let (severity, what) = if cognito {
                (Severity::High, "the identity pool id")
            } else {
                (
                    Severity::Low,
                    "the audience the tokens are minted for, such as \"sts.amazonaws.com\"",
                )
            };
            add(
                Rule::WebIdentityNoAudience,
                severity,
                format!(
                    "web identity provider {provider:?} is trusted without a condition on \"{provider}:aud\"; require StringEquals \"{provider}:aud\" with {what}"
                ),
            );
        }
    }
    found
}

fn pod_identity_without_tags(allows: &[&Statement]) -> bool {
    let tag = |key: &str| {
        POD_IDENTITY_TAGS
            .iter()
            .any(|t| t.eq_ignore_ascii_case(key))
            .then_some(KeyKind::Text)
    };
    allows.iter().any(|statement| {
        principals(statement, "Service")
            .iter()
            .any(|s| s.eq_ignore_ascii_case(POD_IDENTITY))
            && allows_action(statement, "sts:AssumeRole")
            && !narrowing_condition(statement, tag)
    })
}
