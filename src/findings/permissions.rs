//! What the role's policies grant: administrators, grants by exclusion, and conditions that do
//! not mean what they seem to.

use serde_json::Value;

use super::{Finding, Location, RoleFacts, Rule, Severity};
use crate::admission::limits::PARTITIONS;
use crate::arn::Arn;
use crate::policy::grants_admin;
use crate::policy::json::{Statement, is_allow, statements};

/// AWS's AdministratorAccess policy, in any partition.
fn is_aws_admin_policy(arn: &str) -> bool {
    Arn::parse(arn).is_ok_and(|arn| {
        PARTITIONS.contains(&arn.partition)
            && arn.service == "iam"
            && arn.region.is_empty()
            && arn.account == "aws"
            && arn.resource == "policy/AdministratorAccess"
    })
}

pub(super) fn findings(role: &RoleFacts<'_>, documents: &[(Location, &str)]) -> Vec<Finding> {
    let mut found = Vec::new();
    for (location, text) in documents {
        if grants_admin(text) {
            let message = match location {
                Location::Managed(arn) => format!(
                    "{arn} allows every action on every resource (Action \"*\", Resource \"*\"): the role is an administrator; attach policies that grant only what it needs"
                ),
                _ => "allows every action on every resource (Action \"*\", Resource \"*\"): the role is an administrator; grant only the actions it needs".into(),
            };
            found.push(Finding::new(
                Rule::AdminAccess,
                Severity::High,
                location.clone(),
                message,
            ));
        }
    }
    for arn in role.managed_policy_arns {
        if is_aws_admin_policy(arn) {
            found.push(Finding::new(
                Rule::AdminAccess,
                Severity::High,
                Location::Managed(arn.clone()),
                format!("{arn} makes the role an administrator; attach policies that grant only what it needs"),
            ));
        }
    }
    for (location, text) in documents {
        let Ok(doc) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let statements = statements(&doc);
        let allows = || statements.iter().filter(|s| is_allow(s));
        if allows().any(|s| s.contains_key("NotAction")) {
            found.push(Finding::new(
                Rule::NotActionAllow,
                Severity::Medium,
                location.clone(),
                "an Allow statement uses NotAction, which grants every action it does not list, including actions AWS adds later; list the allowed actions in Action instead".into(),
            ));
        }
        if allows().any(|s| s.contains_key("NotResource")) {
            found.push(Finding::new(
                Rule::NotResourceAllow,
                Severity::Medium,
                location.clone(),
                "an Allow statement uses NotResource, which grants on every resource it does not list, including ones created later; list the resources in Resource instead".into(),
            ));
        }
        found.extend(single_valued_for_all_values(&statements, location));
    }
    found
}

/// `ForAllValues:` holds when the request has no value for the key, so on a key that has at
/// most one value it lets through every request that lacks it (IAM Access Analyzer's
/// "ForAllValues with single-valued key"). Only Allow statements: in a Deny it errs the safe way.
pub(super) fn single_valued_for_all_values(
    statements: &[&Statement],
    location: &Location,
) -> Vec<Finding> {
    let mut keys: Vec<(String, String)> = Vec::new();
    for statement in statements.iter().filter(|s| is_allow(s)) {
        let Some(Value::Object(operators)) = statement.get("Condition") else {
            continue;
        };
        for (operator, entries) in operators {
            let lower = operator.to_ascii_lowercase();
            if !lower.starts_with("forallvalues:") {
                continue;
            }
            let plain = &operator["forallvalues:".len()..];
            for key in entries.as_object().into_iter().flat_map(|e| e.keys()) {
                let seen = keys.iter().any(|(k, _)| k == key);
                if single_valued(key) && !seen {
                    keys.push((key.clone(), plain.to_string()));
                }
            }
        }
    }
    keys.into_iter()
        .map(|(key, plain)| {
            Finding::new(
                Rule::ForAllValuesSingleValued,
                Severity::Medium,
                location.clone(),
                format!("ForAllValues:{plain} on {key}, a key with a single value, also matches every request without the key; use {plain} instead"),
            )
        })
        .collect()
}

/// Condition keys a request carries at most one value of. Unknown keys are not judged: a
/// service key may be multi-valued.
fn single_valued(key: &str) -> bool {
    const SINGLE: [&str; 34] = [
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:currenttime",
        "aws:epochtime",
        "aws:federatedprovider",
        "aws:multifactorauthage",
        "aws:multifactorauthpresent",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalisawsservice",
        "aws:principalorgid",
        "aws:principaltype",
        "aws:referer",
        "aws:requestedregion",
        "aws:resourceaccount",
        "aws:resourceorgid",
        "aws:securetransport",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceip",
        "aws:sourceorgid",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:tokenissuetime",
        "aws:useragent",
        "aws:userid",
        "aws:username",
        "aws:viaawsservice",
        "iam:passedtoservice",
        "iam:permissionsboundary",
        "sts:externalid",
        "sts:rolesessionname",
        "sts:sourceidentity",
    ];
    const SINGLE_PREFIXES: [&str; 3] = ["aws:requesttag/", "aws:resourcetag/", "aws:principaltag/"];
    let key = key.to_ascii_lowercase();
    SINGLE.contains(&key.as_str())
        || SINGLE_PREFIXES.iter().any(|p| key.starts_with(p))
        || key
            .strip_suffix(":sub")
            .is_some_and(|issuer| issuer.contains('.'))
}
