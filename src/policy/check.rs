//! Structural checks of a policy document against IAM's grammar, so a malformed document is
//! reported on the IamRole with a precise message instead of as IAM's terse
//! `MalformedPolicyDocument` after a round trip.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::document::kind_of;
use super::json::strings;

/// Which IAM grammar a document follows: a trust policy names who may assume the role, a
/// permissions (inline) policy says what the role may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    Trust,
    Permissions,
}

const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];
const DOCUMENT_KEYS: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_KEYS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];
const PRINCIPAL_KINDS: [&str; 4] = ["AWS", "Service", "Federated", "CanonicalUser"];

/// Problems IAM would refuse the document for, as messages a person can act on (empty when
/// the document is fine). Messages do not name the spec field: the caller prefixes it.
pub fn check_document(text: &str, kind: DocumentKind) -> Vec<String> {
    if text.trim().is_empty() {
        return vec!["is empty; write a JSON object with Version and Statement".to_string()];
    }
    let value = match serde_json::from_str::<Value>(text) {
        Ok(value) => value,
        Err(err) => return vec![format!("is not valid JSON: {err}")],
    };
    let Some(document) = value.as_object() else {
        return vec![format!(
            "must be a JSON object with Version and Statement, not {}",
            kind_of(&value)
        )];
    };
    let mut problems = Vec::new();
    unknown_keys(document, &DOCUMENT_KEYS, "the document", &mut problems);
    match document.get("Version") {
        None => {}
        Some(Value::String(version)) if VERSIONS.contains(&version.as_str()) => {}
        Some(other) => problems.push(format!(
            "Version {other} is not one IAM accepts; use \"2012-10-17\""
        )),
    }
    if let Some(id) = document.get("Id").filter(|id| !id.is_string()) {
        problems.push(format!("Id must be a string, not {}", kind_of(id)));
    }
    let statements: Vec<(String, &Value)> = match document.get("Statement") {
        None => {
            problems.push("has no Statement; IAM needs at least one statement".to_string());
            Vec::new()
        }
        Some(Value::Array(list)) if list.is_empty() => {
            problems.push("Statement is an empty list; IAM needs at least one statement".into());
            Vec::new()
        }
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, statement)| (format!("Statement[{i}]"), statement))
            .collect(),
        Some(one @ Value::Object(_)) => vec![("Statement".to_string(), one)],
        Some(other) => {
            problems.push(format!(
                "Statement must be an object or a list of objects, not {}",
                kind_of(other)
            ));
            Vec::new()
        }
    };
    for (label, statement) in &statements {
        check_statement(label, statement, kind, &mut problems);
    }
    duplicate_sids(&statements, &mut problems);
    problems
}

fn check_statement(label: &str, value: &Value, kind: DocumentKind, problems: &mut Vec<String>) {
    let Some(statement) = value.as_object() else {
        problems.push(format!("{label} must be an object, not {}", kind_of(value)));
        return;
    };
    unknown_keys(statement, &STATEMENT_KEYS, label, problems);
    match statement.get("Sid") {
        None => {}
        Some(Value::String(sid)) if sid.bytes().all(|b| b.is_ascii_alphanumeric()) => {}
        Some(Value::String(sid)) => problems.push(format!(
            "{label}: Sid {sid:?} may contain only letters A-Z, a-z and digits 0-9"
        )),
        Some(other) => problems.push(format!(
            "{label}: Sid must be a string, not {}",
            kind_of(other)
        )),
    }
    match statement.get("Effect") {
        Some(Value::String(effect)) if effect == "Allow" || effect == "Deny" => {}
        None => problems.push(format!(
            "{label}: Effect is missing; use \"Allow\" or \"Deny\""
        )),
        Some(other) => problems.push(format!(
            "{label}: Effect {other} is not \"Allow\" or \"Deny\""
        )),
    }
    let actions = one_of(statement, "Action", "NotAction", label, problems);
    if actions.is_none() {
        problems.push(format!(
            "{label} has neither Action nor NotAction; name the actions it covers"
        ));
    }
    let resources = one_of(statement, "Resource", "NotResource", label, problems);
    let principals = one_of(statement, "Principal", "NotPrincipal", label, problems);
    match kind {
        DocumentKind::Trust => {
            if principals.is_none() {
                problems.push(format!(
                    "{label} has no Principal; a trust policy statement must name who may assume the role"
                ));
            }
            if let Some(field) = resources {
                problems.push(format!(
                    "{label}: {field} is not allowed in a trust policy (the resource is the role itself)"
                ));
            }
            for action in strings(statement.get("Action")) {
                if !action.to_ascii_lowercase().starts_with("sts:") {
                    problems.push(format!(
                        "{label}: Action {action:?} cannot be in a trust policy; only sts: actions such as sts:AssumeRole, sts:AssumeRoleWithWebIdentity, sts:AssumeRoleWithSAML or sts:TagSession"
                    ));
                }
            }
        }
        DocumentKind::Permissions => {
            if let Some(field) = principals {
                problems.push(format!(
                    "{label}: Policy document should not specify a principal ({field} belongs in the trust policy, spec.assumeRolePolicy)"
                ));
            }
            if resources.is_none() {
                problems.push(format!(
                    "{label} has neither Resource nor NotResource; name the resources (\"*\" for all)"
                ));
            }
        }
    }
    for field in ["Action", "NotAction", "Resource", "NotResource"] {
        if let Some(value) = statement.get(field) {
            string_list_shape(&format!("{label}: {field}"), value, problems);
        }
    }
    // What real IAM refuses and moto lets through.
    for field in ["Action", "NotAction"] {
        for action in strings(statement.get(field)) {
            if action != "*" && !action.contains(':') {
                problems.push(format!(
                    "{label}: {field} {action:?} must be prefaced by a service, like s3:GetObject (or be \"*\")"
                ));
            }
        }
    }
    for field in ["Resource", "NotResource"] {
        for resource in strings(statement.get(field)) {
            if resource != "*" && !resource.starts_with("arn:") {
                problems.push(format!(
                    "{label}: {field} {resource:?} must be in ARN format (arn:partition:service:…) or \"*\""
                ));
            }
        }
    }
    // An Allow with NotPrincipal lets everyone except the named principals assume the role.
    if kind == DocumentKind::Trust
        && statement.get("Effect").and_then(Value::as_str) == Some("Allow")
        && statement.contains_key("NotPrincipal")
    {
        problems.push(format!(
            "{label}: Allow with NotPrincipal would let every principal except the ones named assume the role; name the allowed principals with Principal instead"
        ));
    }
    for field in ["Principal", "NotPrincipal"] {
        if let Some(value) = statement.get(field) {
            principal_shape(&format!("{label}: {field}"), value, problems);
        }
    }
    if let Some(condition) = statement.get("Condition") {
        condition_shape(&format!("{label}: Condition"), condition, problems);
    }
}

/// Of a pair of mutually exclusive fields, the one present; reports both being present.
fn one_of(
    statement: &Map<String, Value>,
    field: &'static str,
    negated: &'static str,
    label: &str,
    problems: &mut Vec<String>,
) -> Option<&'static str> {
    match (
        statement.contains_key(field),
        statement.contains_key(negated),
    ) {
        (true, true) => {
            problems.push(format!(
                "{label} has both {field} and {negated}; use one of them"
            ));
            Some(field)
        }
        (true, false) => Some(field),
        (false, true) => Some(negated),
        (false, false) => None,
    }
}

fn string_list_shape(label: &str, value: &Value, problems: &mut Vec<String>) {
    match value {
        Value::String(text) if !text.is_empty() => {}
        Value::String(_) => problems.push(format!("{label} is an empty string")),
        Value::Array(list) if list.is_empty() => {
            problems.push(format!("{label} is an empty list; name at least one"));
        }
        Value::Array(list) => {
            if list
                .iter()
                .any(|member| member.as_str().is_none_or(str::is_empty))
            {
                problems.push(format!("{label} must list only non-empty strings"));
            }
        }
        other => problems.push(format!(
            "{label} must be a string or a list of strings, not {}",
            kind_of(other)
        )),
    }
}

fn principal_shape(label: &str, value: &Value, problems: &mut Vec<String>) {
    match value {
        Value::String(text) if text == "*" => {}
        Value::Object(kinds) if kinds.is_empty() => problems.push(format!(
            "{label} is empty; name at least one principal, e.g. {{\"Service\": \"ec2.amazonaws.com\"}}"
        )),
        Value::Object(kinds) => {
            for (kind, members) in kinds {
                if PRINCIPAL_KINDS.contains(&kind.as_str()) {
                    string_list_shape(&format!("{label}.{kind}"), members, problems);
                } else {
                    problems.push(format!(
                        "{label} has unknown kind {kind:?}; use AWS, Service, Federated or CanonicalUser"
                    ));
                }
            }
        }
        other => problems.push(format!(
            "{label} must be \"*\" or an object such as {{\"AWS\": \"arn:aws:iam::111122223333:root\"}}, not {other}"
        )),
    }
}

fn condition_shape(label: &str, value: &Value, problems: &mut Vec<String>) {
    let Some(operators) = value.as_object() else {
        problems.push(format!(
            "{label} must be an object of operators, e.g. {{\"StringEquals\": {{\"sts:ExternalId\": \"…\"}}}}, not {}",
            kind_of(value)
        ));
        return;
    };
    for (operator, keys) in operators {
        let Some(keys) = keys.as_object() else {
            problems.push(format!(
                "{label}.{operator} must be an object of condition keys, not {}",
                kind_of(keys)
            ));
            continue;
        };
        for (key, values) in keys {
            let scalar =
                |v: &Value| matches!(v, Value::String(_) | Value::Bool(_) | Value::Number(_));
            let fine = match values {
                Value::Array(list) => list.iter().all(scalar),
                other => scalar(other),
            };
            if !fine {
                problems.push(format!(
                    "{label}.{operator}.{key} must be a string, number, boolean or a list of them"
                ));
            }
        }
    }
}

fn unknown_keys(
    object: &Map<String, Value>,
    allowed: &[&str],
    label: &str,
    problems: &mut Vec<String>,
) {
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            problems.push(format!(
                "{label} has unknown key {key:?}; allowed: {}",
                allowed.join(", ")
            ));
        }
    }
}

fn duplicate_sids(statements: &[(String, &Value)], problems: &mut Vec<String>) {
    let mut seen: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (label, statement) in statements {
        // An empty Sid is how many generators say "no Sid"; IAM does not count those.
        if let Some(sid) = statement
            .get("Sid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            seen.entry(sid).or_default().push(label);
        }
    }
    for (sid, labels) in seen {
        if labels.len() > 1 {
            problems.push(format!(
                "Sid {sid:?} is used by {}; IAM requires each Sid to be unique",
                labels.join(" and ")
            ));
        }
    }
}

#[cfg(test)]
mod tests;
