//! Admission: whether an object may proceed, decided in one place.
//!
//! [`admit`] takes the plain form of an `IamRole` ([`Input`]) and what the operator or the command
//! line knows ([`Context`]), and answers with the role to make ([`Admitted`]) or with every
//! [`Problem`] at once. The controller, `rolesmith plan` and `rolesmith apply` all call it; the
//! engine repeats [`check_desired`] (the part that needs no object) before writing, as a
//! defence for callers that build a [`DesiredRole`] themselves.
//!
//! A problem names its field, a [`Rule`] (a stable kebab-case id) and a message; a [`Finding`]
//! (a risky but legal choice) uses the same ids with a [`Severity`]. IAM's limits are named once,
//! in [`limits`], for the schema, these checks and the IAM adapter.
//!
//! To add a check: add its [`Rule`] in `problem.rs`, and call it from [`check_desired`] (IAM's
//! rules for the role), from [`admit`] (rules that need the object or the operator's settings),
//! or from [`findings`] (warnings). Another kind gets its own `Input` and `admit_*` function
//! built from the same parts.

mod confine;
mod findings;
mod guardrail;
pub mod limits;
mod managed_policy;
mod names;
mod policy_arns;
mod problem;
mod role;
pub mod service_accounts;
mod tags;
mod text;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use confine::{Confinement, DEFAULT_NAME_PREFIX};
pub use findings::findings;
pub use guardrail::{Guardrail, guardrail_problems};
pub use managed_policy::{
    AdmittedPolicy, PolicyInput, PolicySpec, admit_policy, check_policy, policy_findings,
    policy_name,
};
pub use names::role_name;
pub use problem::{Finding, Problem, Rule, Severity, joined};
pub use service_accounts::{ServiceAccountRef, WorkloadAccount, WorkloadIdentity, Workloads};

use crate::model::{DesiredRole, Owner};
use crate::policy;

/// A Kubernetes object as admission reads it: its identity, its spec (`S`), and what its status
/// recorded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object<S> {
    /// `None` when the manifest has none (the API server always sets both).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub spec: S,
    /// The IAM name status records: the role or policy this object already manages (or an
    /// earlier release named).
    pub recorded_name: Option<String>,
    /// Whether status records an ARN: the recorded role or policy exists and is this object's.
    pub recorded_arn: bool,
}

/// An `IamRole` as admission reads it.
pub type Input = Object<Spec>;

/// The spec fields admission reads, as written (documents as YAML/JSON values or JSON strings).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spec {
    pub role_name: Option<String>,
    pub path: String,
    pub description: Option<String>,
    pub max_session_duration: i32,
    /// `None`: the trust policy is made of `service_accounts` alone.
    pub assume_role_policy: Option<serde_json::Value>,
    pub service_accounts: Vec<ServiceAccountRef>,
    pub inline_policies: BTreeMap<String, serde_json::Value>,
    pub managed_policy_arns: Vec<String>,
    pub permissions_boundary: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub ignore_tag_keys: Vec<String>,
    pub instance_profile: bool,
}

/// What the caller knows beyond the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context<'a> {
    /// Which names and paths each namespace may use.
    pub confinement: &'a Confinement,
    /// The operator's --ignore-tag-keys, added to the spec's.
    pub ignore_tag_keys: &'a [String],
    /// The cluster id that goes into the ownership tag.
    pub cluster_id: &'a str,
    /// The cluster's workload identity settings, for `spec.serviceAccounts`.
    pub workloads: &'a Workloads,
}

/// An object that may proceed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    pub desired: DesiredRole,
    pub owner: Owner,
    /// `spec.serviceAccounts` with defaults applied (their trust statements are in `desired`).
    pub service_accounts: Vec<WorkloadAccount>,
}

/// The owner of the object `namespace/name` (an IamRole or an IamPolicy), or a problem for
/// each of the two that the manifest lacks.
fn owner(
    namespace: &Option<String>,
    name: &Option<String>,
    context: &Context<'_>,
) -> Result<Owner, Vec<Problem>> {
    match (namespace, name) {
        (Some(namespace), Some(name)) => Ok(Owner {
            cluster: context.cluster_id.to_string(),
            namespace: namespace.clone(),
            name: name.clone(),
        }),
        (namespace, name) => {
            let missing = [("metadata.namespace", namespace), ("metadata.name", name)];
            Err(missing
                .into_iter()
                .filter(|(_, value)| value.is_none())
                .map(|(field, _)| Problem::new(field, Rule::MissingMetadata, "is missing"))
                .collect())
        }
    }
}

/// The role `input` asks for, if it may have it; otherwise every problem found, in field
/// order within each check.
pub fn admit(input: &Input, context: &Context<'_>) -> Result<Admitted, Vec<Problem>> {
    let owner = owner(&input.namespace, &input.name, context)?;
    let (namespace, name) = (&owner.namespace, &owner.name);
    let mut problems = Vec::new();
    let service_accounts = service_accounts::resolve(
        namespace,
        &input.spec.service_accounts,
        context.workloads,
        context.confinement,
    )
    .unwrap_or_else(|found| {
        problems.extend(found);
        Vec::new()
    });
    let desired = translate(namespace, name, input, &mut problems).and_then(|desired| {
        with_workload_trust(desired, &service_accounts, context, &mut problems)
    });
    let mut desired = desired.ok_or_else(|| problems.clone())?;
    desired
        .ignored_tag_keys
        .extend(context.ignore_tag_keys.iter().cloned());
    problems.extend(
        context
            .confinement
            .check(namespace, &desired.name, &desired.path),
    );
    problems.extend(rename_problems(input, &desired.name));
    problems.extend(check_desired(&desired, &owner));
    if !problems.is_empty() {
        return Err(problems);
    }
    // Findings are not part of admission's answer: they need the account, which only the engine
    // knows once it has asked IAM, so it works them out there (`findings`), once per reconcile.
    Ok(Admitted {
        desired,
        owner,
        service_accounts,
    })
}

/// IAM's rules for the role itself, the keys owned by others and the ownership tag: everything
/// that needs no object. Empty means IAM should accept the role.
pub fn check_desired(desired: &DesiredRole, owner: &Owner) -> Vec<Problem> {
    let mut problems = Vec::new();
    problems.extend(role::role_name_problems(&desired.name));
    problems.extend(role::path_problems(&desired.path));
    problems.extend(role::description_problems(&desired.description));
    problems.extend(role::session_duration_problems(
        desired.max_session_duration,
    ));
    problems.extend(role::trust_policy_problems(&desired.assume_role_policy));
    problems.extend(role::inline_policy_problems(&desired.inline_policies));
    problems.extend(policy_arns::policy_arn_problems(
        &desired.managed_policy_arns,
        desired.permissions_boundary.as_deref(),
    ));
    problems.extend(tags::all_tag_problems(
        &desired.tags,
        &desired.ignored_tag_keys,
        owner,
    ));
    problems
}

/// The spec as IAM will get it: documents as JSON text, the role name given or derived. `None`
/// when a document or the name cannot be had (the reasons are in `problems`).
fn translate(
    namespace: &str,
    name: &str,
    input: &Input,
    problems: &mut Vec<Problem>,
) -> Option<DesiredRole> {
    let spec = &input.spec;
    let before = problems.len();
    let assume_role_policy = match &spec.assume_role_policy {
        Some(document) => match policy::document_text(document) {
            Ok(text) => text,
            Err(error) => {
                problems.push(Problem::new(
                    "spec.assumeRolePolicy",
                    Rule::PolicyUnreadable,
                    error.to_string(),
                ));
                String::new()
            }
        },
        // Made of the ServiceAccounts' statements alone (`with_workload_trust`).
        None if !spec.service_accounts.is_empty() => String::new(),
        None => {
            problems.push(Problem::new(
                "spec.assumeRolePolicy",
                Rule::TrustPolicyMissing,
                "is missing: without a trust policy nobody can assume the role; write one, or list spec.serviceAccounts",
            ));
            String::new()
        }
    };
    let mut inline_policies = BTreeMap::new();
    for (policy_name, document) in &spec.inline_policies {
        match policy::document_text(document) {
            Ok(text) => {
                inline_policies.insert(policy_name.clone(), text);
            }
            Err(error) => problems.push(Problem::new(
                format!("spec.inlinePolicies.{policy_name}"),
                Rule::PolicyUnreadable,
                error.to_string(),
            )),
        }
    }
    let earlier = names::earlier_role_name(namespace, name);
    let role_name = match (&spec.role_name, names::derived_role_name(namespace, name)) {
        (Some(explicit), _) => explicit.clone(),
        // A role an earlier release created under the shortened name it gave (only possible
        // without name confinement) keeps that name: status records it once the role exists
        // and is this object's, and renaming would orphan it.
        (None, _) if input.recorded_name.as_deref() == Some(earlier.as_str()) => earlier,
        (None, Ok(derived)) => derived,
        (None, Err(problem)) => {
            problems.push(problem);
            String::new()
        }
    };
    if problems.len() > before {
        return None;
    }
    Some(DesiredRole {
        name: role_name,
        settings: crate::model::RoleSettings {
            path: spec.path.clone(),
            description: spec.description.clone().unwrap_or_default(),
            max_session_duration: spec.max_session_duration,
            assume_role_policy,
            inline_policies,
            managed_policy_arns: spec.managed_policy_arns.clone(),
            permissions_boundary: spec.permissions_boundary.clone(),
            tags: spec.tags.clone(),
        },
        ignored_tag_keys: spec.ignore_tag_keys.clone(),
        instance_profile: spec.instance_profile,
    })
}

/// `desired` with the trust statements of `accounts` merged into its trust policy, so the
/// checks, the plan and `rolesmith plan` all see the document IAM will get.
fn with_workload_trust(
    mut desired: DesiredRole,
    accounts: &[WorkloadAccount],
    context: &Context<'_>,
    problems: &mut Vec<Problem>,
) -> Option<DesiredRole> {
    if accounts.is_empty() && desired.assume_role_policy.is_empty() {
        // The entries were refused (their problems are already in `problems`).
        return None;
    }
    if accounts.is_empty() {
        return Some(desired);
    }
    let statements = service_accounts::trust_statements(accounts, context.workloads);
    let written = Some(desired.assume_role_policy.as_str()).filter(|text| !text.is_empty());
    match service_accounts::merged_trust(written, statements) {
        Ok(text) => {
            desired.assume_role_policy = text;
            Some(desired)
        }
        Err(reason) => {
            problems.push(Problem::new(
                "spec.assumeRolePolicy",
                Rule::PolicyUnreadable,
                format!("the ServiceAccounts' statements cannot be added to it: {reason}"),
            ));
            None
        }
    }
}

/// The name an object already created is kept: an old CRD without the CEL immutability rule, or
/// a manifest given to the command line, must not rename and orphan it.
fn rename_problems(input: &Input, name: &str) -> Vec<Problem> {
    match &input.recorded_name {
        Some(recorded) if input.recorded_arn && recorded != name => vec![Problem::new(
            "spec.roleName",
            Rule::RenameOrphansRole,
            format!(
                "this object manages role {recorded}; renaming it to {name} would orphan that role: create a new IamRole instead"
            ),
        )],
        _ => Vec::new(),
    }
}
