//! Admission of an `IamPolicy` (a customer managed policy): the same parts as a role's — names,
//! path, description, tags, the ownership tag, confinement — and its own document rules.

use std::collections::BTreeMap;

use super::limits::{MANAGED_POLICY_MAX, POLICY_NAME_MAX};
use super::names::fnv1a;
use super::problem::{Finding, Problem, Rule, Severity};
use super::{Context, role, tags};
use crate::model::{DesiredPolicy, Owner};
use crate::policy::{self, DocumentKind};

/// Hex digits of the hash in a shortened policy name.
const HASH_LEN: usize = 8;

/// An `IamPolicy` as admission reads it.
pub type PolicyInput = super::Object<PolicySpec>;

/// The spec fields admission reads, as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicySpec {
    pub policy_name: Option<String>,
    pub path: String,
    pub description: Option<String>,
    pub document: serde_json::Value,
    pub tags: BTreeMap<String, String>,
}

/// An IamPolicy that may proceed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmittedPolicy {
    pub desired: DesiredPolicy,
    pub owner: Owner,
}

/// `spec.policyName`, else `<namespace>.<name>`, shortened to `<first 119 characters>-<hash>`
/// when longer than IAM's 128 characters. A namespace has at most 63 characters, so the
/// shortened name always keeps the whole `<namespace>.` that name confinement requires.
pub fn policy_name(namespace: &str, name: &str, explicit: Option<&str>) -> String {
    if let Some(explicit) = explicit {
        return explicit.to_string();
    }
    let full = format!("{namespace}.{name}");
    if full.len() <= POLICY_NAME_MAX {
        return full;
    }
    let mut keep = POLICY_NAME_MAX - HASH_LEN - 1;
    while !full.is_char_boundary(keep) {
        keep -= 1;
    }
    let hash = format!("{:0width$x}", fnv1a(full.as_bytes()), width = HASH_LEN);
    format!("{}-{hash}", &full[..keep])
}

/// The policy `input` asks for, if it may have it; otherwise every problem found.
pub fn admit_policy(
    input: &PolicyInput,
    context: &Context<'_>,
) -> Result<AdmittedPolicy, Vec<Problem>> {
    let owner = super::owner(&input.namespace, &input.name, context)?;
    let (namespace, name) = (&owner.namespace, &owner.name);
    let spec = &input.spec;
    let document = policy::document_text(&spec.document).map_err(|error| {
        vec![Problem::new(
            "spec.document",
            Rule::PolicyUnreadable,
            error.to_string(),
        )]
    })?;
    // The name status recorded wins over a derivation, as for roles: renaming would orphan it.
    let policy_name = match (&spec.policy_name, &input.recorded_name) {
        (Some(explicit), _) => explicit.clone(),
        (None, Some(recorded)) => recorded.clone(),
        (None, None) => policy_name(namespace, name, None),
    };
    let desired = DesiredPolicy {
        name: policy_name,
        path: spec.path.clone(),
        description: spec.description.clone().unwrap_or_default(),
        document,
        tags: spec.tags.clone(),
        ignored_tag_keys: context.ignore_tag_keys.to_vec(),
    };
    let mut problems = confinement_problems(context, namespace, &desired);
    problems.extend(check_policy(&desired, &owner));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(AdmittedPolicy { desired, owner })
}

/// The namespace's limits on names and paths, worded for a policy.
fn confinement_problems(
    context: &Context<'_>,
    namespace: &str,
    desired: &DesiredPolicy,
) -> Vec<Problem> {
    context
        .confinement
        .check(namespace, &desired.name, &desired.path)
        .into_iter()
        .map(|mut problem| {
            if problem.field == "spec.roleName" {
                problem.field = "spec.policyName".to_string();
            }
            problem.message = problem
                .message
                .replace("omit roleName", "omit policyName")
                .replace("'s roles:", "'s policies:");
            problem
        })
        .collect()
}

/// IAM's rules for the policy itself, the keys owned by others and the ownership tag.
pub fn check_policy(desired: &DesiredPolicy, owner: &Owner) -> Vec<Problem> {
    let rules = [
        Rule::PolicyNameEmpty,
        Rule::PolicyNameTooLong,
        Rule::PolicyNameCharacters,
    ];
    let mut problems =
        role::name_problems("spec.policyName", "", &desired.name, POLICY_NAME_MAX, rules);
    problems.extend(role::path_problems(&desired.path));
    problems.extend(role::description_problems(&desired.description));
    problems.extend(
        policy::check_document(&desired.document, DocumentKind::Permissions)
            .into_iter()
            .map(|problem| Problem::new("spec.document", Rule::PolicyGrammar, problem)),
    );
    let size = policy::non_whitespace_len(&desired.document);
    if size > MANAGED_POLICY_MAX {
        problems.push(Problem::new(
            "spec.document",
            Rule::ManagedPolicyTooLarge,
            format!(
                "is {size} characters long without whitespace; IAM allows {MANAGED_POLICY_MAX} for a managed policy (split it into several IamPolicies)"
            ),
        ));
    }
    problems.extend(tags::all_tag_problems(
        &desired.tags,
        &desired.ignored_tag_keys,
        owner,
    ));
    problems
}

/// Risky but legal documents: surfaced, never blocking.
pub fn policy_findings(desired: &DesiredPolicy) -> Vec<Finding> {
    let mut found = Vec::new();
    if policy::grants_admin(&desired.document) {
        found.push(Finding::new(
            Rule::AdminAccess,
            Severity::High,
            "spec.document",
            "allows every action on every resource (Action \"*\", Resource \"*\"): every role it is attached to is an administrator; grant only the actions needed",
        ));
    }
    if policy::allows_all_but_on_everything(&desired.document) {
        found.push(Finding::new(
            Rule::NotActionEverywhere,
            Severity::High,
            "spec.document",
            "allows every action except those in NotAction on every resource: nearly an administrator, and actions AWS adds later are granted too; list the allowed actions instead",
        ));
    }
    found
}

#[cfg(test)]
mod tests;
