//! `plan` and `apply` for IamPolicies, and the IamRoles' `managedPolicyRefs` resolved to the
//! IamPolicies in the same files (without a cluster there is no other place to find them).

use std::collections::BTreeMap;

use crate::admission::{self, Context, Problem, Rule};
use crate::api::{IamPolicy, IamRole};
use crate::desired;
use crate::engine::Mode;
use crate::engine::managed_policy::{self, PolicyReport};
use crate::error::{Error, Result};
use crate::iam::IamApi;
use crate::model::DesiredRole;

/// One IamPolicy admitted, then planned or applied.
pub(super) async fn run_policy(
    iam: &dyn IamApi,
    context: &Context<'_>,
    policy: &IamPolicy,
    mode: Mode,
) -> Result<(String, PolicyReport)> {
    let admitted =
        admission::admit_policy(&desired::policy_input(policy), context).map_err(Error::refused)?;
    let report = managed_policy::apply_policy(
        iam,
        &admitted.desired,
        &admitted.owner,
        policy.spec.adopt,
        None,
        mode,
    )
    .await?;
    Ok((admitted.desired.name, report))
}

/// The IamPolicies of the files, by `namespace/name`.
pub(super) fn by_key(policies: &[&IamPolicy]) -> BTreeMap<String, IamPolicy> {
    policies
        .iter()
        .map(|p| {
            let key = format!(
                "{}/{}",
                p.metadata.namespace.clone().unwrap_or_default(),
                p.metadata.name.clone().unwrap_or_default()
            );
            (key, (*p).clone())
        })
        .collect()
}

/// Adds the ARNs of the IamPolicies `role` refers to; each must be in the files.
pub(super) async fn with_file_refs(
    iam: &dyn IamApi,
    mut desired: DesiredRole,
    role: &IamRole,
    policies: &BTreeMap<String, IamPolicy>,
    context: &Context<'_>,
) -> Result<DesiredRole> {
    let own = role.metadata.namespace.clone().unwrap_or_default();
    let mut missing = Vec::new();
    for (index, reference) in role.spec.managed_policy_refs.iter().enumerate() {
        let namespace = reference.namespace.as_deref().unwrap_or(&own);
        let key = format!("{namespace}/{}", reference.name);
        let Some(policy) = policies.get(&key) else {
            missing.push(Problem::new(
                format!("spec.managedPolicyRefs[{index}]"),
                Rule::PolicyReferenceUnresolved,
                format!(
                    "IamPolicy {key} is not in the given files; without a cluster, references resolve only to IamPolicies given with -f"
                ),
            ));
            continue;
        };
        let admitted = admission::admit_policy(&desired::policy_input(policy), context)
            .map_err(Error::refused)?;
        let arn = managed_policy::arn_for(iam, &admitted.desired).await?;
        if !desired.managed_policy_arns.contains(&arn) {
            desired.managed_policy_arns.push(arn);
        }
    }
    if !missing.is_empty() {
        return Err(Error::refused(missing));
    }
    Ok(desired)
}

pub(super) fn print_text(object: &str, name: &str, report: &PolicyReport, mode: Mode) {
    let verb = match mode {
        Mode::DryRun => "would apply",
        Mode::Execute => "applied",
    };
    if report.ops.is_empty() {
        println!("{object}: policy {name} is in sync (no changes)");
    } else {
        println!(
            "{object}: policy {name}: {verb} {} change(s)",
            report.ops.len()
        );
        for op in &report.ops {
            println!("  {}", op.action());
        }
    }
    for finding in &report.findings {
        println!("  warning: {finding}");
    }
}
