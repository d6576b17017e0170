//! Grants with which a role can give itself (or another principal) more than it has: the
//! privilege-escalation methods Rhino Security Labs catalogued and Parliament and Cloudsplaining
//! check, and `iam:PassRole` on every role.

use serde_json::Value;

use super::{Finding, Location, Rule, Severity};
use crate::policy::KeyKind;
use crate::policy::json::{Statement, allows_action, is_allow, statements, strings};
use crate::policy::narrowing_condition;

/// Each method: a name and the actions that, all allowed on every resource, make it possible.
pub const ESCALATION_METHODS: [(&str, &[&str]); 21] = [
    ("CreateNewPolicyVersion", &["iam:CreatePolicyVersion"]),
    (
        "SetExistingDefaultPolicyVersion",
        &["iam:SetDefaultPolicyVersion"],
    ),
    ("CreateAccessKey", &["iam:CreateAccessKey"]),
    ("CreateLoginProfile", &["iam:CreateLoginProfile"]),
    ("UpdateLoginProfile", &["iam:UpdateLoginProfile"]),
    ("AttachUserPolicy", &["iam:AttachUserPolicy"]),
    ("AttachGroupPolicy", &["iam:AttachGroupPolicy"]),
    ("AttachRolePolicy", &["iam:AttachRolePolicy"]),
    ("PutUserPolicy", &["iam:PutUserPolicy"]),
    ("PutGroupPolicy", &["iam:PutGroupPolicy"]),
    ("PutRolePolicy", &["iam:PutRolePolicy"]),
    ("AddUserToGroup", &["iam:AddUserToGroup"]),
    (
        "UpdateRolePolicyToAssumeIt",
        &["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
    ),
    (
        "PassExistingRoleToNewLambdaThenInvoke",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ],
    ),
    (
        "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:CreateEventSourceMapping",
        ],
    ),
    (
        "PassExistingRoleToNewGlueDevEndpoint",
        &["iam:PassRole", "glue:CreateDevEndpoint"],
    ),
    ("UpdateExistingGlueDevEndpoint", &["glue:UpdateDevEndpoint"]),
    (
        "PassExistingRoleToCloudFormation",
        &["iam:PassRole", "cloudformation:CreateStack"],
    ),
    (
        "PassExistingRoleToNewDataPipeline",
        &["iam:PassRole", "datapipeline:CreatePipeline"],
    ),
    (
        "EditExistingLambdaFunctionWithRole",
        &["lambda:UpdateFunctionCode"],
    ),
    (
        "PassExistingRoleToNewEC2",
        &["iam:PassRole", "ec2:RunInstances"],
    ),
];

pub(super) fn findings(documents: &[(Location, &str)]) -> Vec<Finding> {
    let parsed: Vec<(&Location, Value)> = documents
        .iter()
        .filter_map(|(location, text)| Some((location, serde_json::from_str(text).ok()?)))
        .collect();
    let all: Vec<(&Location, &Statement)> = parsed
        .iter()
        .flat_map(|(location, doc)| statements(doc).into_iter().map(move |s| (*location, s)))
        .collect();
    let mut found = Vec::new();
    for (location, statement) in &all {
        if passes_any_role(statement) {
            let new = Finding::new(
                Rule::PassRoleWildcard,
                Severity::High,
                (*location).clone(),
                "allows iam:PassRole on every role without an iam:PassedToService condition: whatever it launches can run as any role, an administrator's included; list the roles it may pass and require iam:PassedToService".into(),
            );
            if !found.contains(&new) {
                found.push(new);
            }
        }
    }
    // Where each usable action comes from; a method whose actions all come from one document is
    // reported there, one spread over several against the permissions as a whole.
    let source = |action: &str| -> Option<&Location> {
        let denied = all.iter().any(|(_, s)| denies_everywhere(s, action));
        if denied {
            return None;
        }
        all.iter()
            .find(|(_, s)| is_allow(s) && on_every_resource(s) && allows_action(s, action))
            .map(|(location, _)| *location)
    };
    let mut methods: Vec<(Location, Vec<&str>)> = Vec::new();
    for (name, actions) in ESCALATION_METHODS {
        let Some(sources) = actions
            .iter()
            .map(|a| source(a))
            .collect::<Option<Vec<&Location>>>()
        else {
            continue;
        };
        let location = match sources.as_slice() {
            [first, rest @ ..] if rest.iter().all(|l| l == first) => (*first).clone(),
            _ => Location::Permissions,
        };
        match methods.iter_mut().find(|(l, _)| *l == location) {
            Some((_, names)) => names.push(name),
            None => methods.push((location, vec![name])),
        }
    }
    for (location, names) in methods {
        found.push(Finding::new(
            Rule::PrivilegeEscalation,
            Severity::High,
            location,
            format!(
                "allows privilege escalation ({}): with these actions on every resource the role can grant itself or others more permissions; scope them to named resources or remove them",
                names.join(", ")
            ),
        ));
    }
    found
}

/// `Resource "*"` or `NotResource`: the grant is not tied to named resources.
fn on_every_resource(statement: &Statement) -> bool {
    statement.contains_key("NotResource") || strings(statement.get("Resource")).contains(&"*")
}

/// An unconditional Deny of the action on every resource takes it away whatever else allows it.
fn denies_everywhere(statement: &Statement, action: &str) -> bool {
    !is_allow(statement)
        && statement
            .get("Effect")
            .and_then(Value::as_str)
            .is_some_and(|e| e.eq_ignore_ascii_case("Deny"))
        && !statement.contains_key("Condition")
        && !statement.contains_key("NotResource")
        && strings(statement.get("Resource")).contains(&"*")
        && allows_action(statement, action)
}

/// `iam:PassRole` on `*` or on every role of an account (`…:role/*`), without a narrowing
/// `iam:PassedToService` condition.
fn passes_any_role(statement: &Statement) -> bool {
    let any_role = |resource: &&str| {
        *resource == "*"
            || resource
                .splitn(6, ':')
                .nth(5)
                .is_some_and(|name| name == "*" || name == "role/*")
    };
    let passed_to = |key: &str| {
        key.eq_ignore_ascii_case("iam:PassedToService")
            .then_some(KeyKind::Text)
    };
    is_allow(statement)
        && allows_action(statement, "iam:PassRole")
        && (statement.contains_key("NotResource")
            || strings(statement.get("Resource")).iter().any(any_role))
        && !narrowing_condition(statement, passed_to)
}
