//! `spec.managedPolicyRefs`: IamPolicy objects resolved to the ARNs their status records, and
//! the map back from a changed IamPolicy to the IamRoles that refer to it (so they are woken).

use kube::runtime::reflector::{ObjectRef, Store};

use super::*;
use crate::admission::{Admitted, Rule};
use crate::api::{IamPolicy, PolicyRef};
use crate::model::DesiredRole;

/// The namespace a reference points into.
fn target_namespace<'a>(reference: &'a PolicyRef, own: &'a str) -> &'a str {
    reference.namespace.as_deref().unwrap_or(own)
}

/// Whether `role` refers to the IamPolicy `namespace/name`.
pub(super) fn refers_to(role: &IamRole, namespace: &str, name: &str) -> bool {
    let own = role.namespace().unwrap_or_default();
    role.spec
        .managed_policy_refs
        .iter()
        .any(|r| r.name == name && target_namespace(r, &own) == namespace)
}

/// The IamRoles to reconcile when `policy` changed.
pub(super) fn roles_referring_to(
    store: &Store<CachedRole>,
    policy: &DeserializeGuard<IamPolicy>,
) -> Vec<ObjectRef<CachedRole>> {
    let namespace = policy.namespace().unwrap_or_default();
    let name = policy.name_any();
    store
        .state()
        .iter()
        .filter(|cached| cached.facts().refers_to_policies)
        .filter_map(|cached| cached.role())
        .filter(|role| refers_to(role, &namespace, &name))
        .map(|role| ObjectRef::new(&role.name_any()).within(&role.namespace().unwrap_or_default()))
        .collect()
}

/// The ARNs IamPolicies record in status, each read from the API server at most once per
/// resolver: a reconcile uses a fresh one (it must see the latest status); a drift sweep shares
/// one across every role, so 10,000 roles referring to one policy cost one GET, not 10,000.
#[derive(Default)]
pub(super) struct PolicyArns {
    read: std::collections::HashMap<(String, String), Option<String>>,
}

impl PolicyArns {
    async fn arn(&mut self, ctx: &Context, namespace: &str, name: &str) -> Result<Option<String>> {
        let key = (namespace.to_string(), name.to_string());
        if let Some(known) = self.read.get(&key) {
            return Ok(known.clone());
        }
        let api: Api<IamPolicy> = Api::namespaced(ctx.client.clone(), namespace);
        // A policy being deleted is not attached anew: the IamPolicy controller may be detaching
        // it (--force-detach) at this moment, and an attach in between would undo that.
        let arn = api
            .get_opt(name)
            .await?
            .filter(|policy| policy.metadata.deletion_timestamp.is_none())
            .and_then(|policy| policy.status.and_then(|status| status.policy_arn));
        self.read.insert(key, arn.clone());
        Ok(arn)
    }
}

/// Admission with the operator's settings and `guardrails`, and the references resolved
/// through `arns`.
pub(super) async fn admit_with_refs(
    role: &IamRole,
    ctx: &Context,
    arns: &mut PolicyArns,
    guardrails: &[crate::admission::Guardrail],
) -> Result<Admitted> {
    let other_account = workload_account(role, ctx).await?;
    let mut admitted =
        super::apply::admit(role, &ctx.settings, guardrails, other_account.as_deref())?;
    admitted.desired = with_policy_refs(admitted.desired, role, ctx, arns).await?;
    Ok(admitted)
}

/// The account of a role with `serviceAccounts` that lives in another account than the
/// operator's (its trust statements differ there). Routing itself is left to the caller.
async fn workload_account(role: &IamRole, ctx: &Context) -> Result<Option<String>> {
    if role.spec.service_accounts.is_empty() {
        return Ok(None);
    }
    let Ok(Some((_, spec))) = ctx.accounts.choose(role) else {
        return Ok(None);
    };
    let own = ctx.iam.caller_account().await?;
    Ok(other_account(role, Some(&spec), &own).map(str::to_string))
}

/// `spec`'s account, for a role with `serviceAccounts` that lives there rather than in the
/// operator's own account `own`. Pure: the reconcile and the sweeper both admit with it.
pub(super) fn other_account<'a>(
    role: &IamRole,
    spec: Option<&'a crate::api::AwsAccountSpec>,
    own: &str,
) -> Option<&'a str> {
    spec.map(|spec| spec.account_id.as_str())
        .filter(|account| !role.spec.service_accounts.is_empty() && *account != own)
}

/// Adds the ARNs of the referenced IamPolicies to `desired`. A reference the namespace may not
/// make is refused; one whose IamPolicy has no policy in IAM yet makes the role wait.
pub(super) async fn with_policy_refs(
    mut desired: DesiredRole,
    role: &IamRole,
    ctx: &Context,
    arns: &mut PolicyArns,
) -> Result<DesiredRole> {
    let own = role.namespace().unwrap_or_default();
    let mut forbidden = Vec::new();
    let mut waiting = Vec::new();
    for (index, reference) in role.spec.managed_policy_refs.iter().enumerate() {
        let namespace = target_namespace(reference, &own);
        let field = format!("spec.managedPolicyRefs[{index}]");
        if !ctx.settings.confinement.may_refer(&own, namespace) {
            forbidden.push(crate::admission::Problem::new(
                field,
                Rule::CrossNamespaceReference,
                format!(
                    "IamPolicy {namespace}/{} is in another namespace; only namespaces the operator does not confine (--unconfined-namespaces) may refer to other namespaces' policies: use an IamPolicy in {own}",
                    reference.name
                ),
            ));
            continue;
        }
        match arns.arn(ctx, namespace, &reference.name).await? {
            Some(arn) if !desired.managed_policy_arns.contains(&arn) => {
                desired.managed_policy_arns.push(arn);
            }
            Some(_) => {}
            None => waiting.push(format!("{namespace}/{}", reference.name)),
        }
    }
    if !forbidden.is_empty() {
        return Err(Error::refused(forbidden));
    }
    if !waiting.is_empty() {
        return Err(Error::PolicyNotReady(format!(
            "spec.managedPolicyRefs: waiting for IamPolicy {} to have a policy in IAM (status.policyArn); the role is reconciled again when it does",
            waiting.join(", ")
        )));
    }
    Ok(desired)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(namespace: &str, refs: serde_json::Value) -> IamRole {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "iam.rolesmith.dev/v1alpha1",
            "kind": "IamRole",
            "metadata": {"name": "app", "namespace": namespace},
            "spec": {
                "assumeRolePolicy": {"Version": "2012-10-17", "Statement": []},
                "managedPolicyRefs": refs,
            },
        }))
        .expect("a valid IamRole")
    }

    #[test]
    fn references_default_to_the_own_namespace() {
        let role = role(
            "team-a",
            serde_json::json!([{"name": "shared"}, {"name": "base", "namespace": "platform"}]),
        );
        for (namespace, name, want) in [
            ("team-a", "shared", true),
            ("team-b", "shared", false),
            ("platform", "base", true),
            ("team-a", "base", false),
            ("team-a", "other", false),
        ] {
            assert_eq!(
                refers_to(&role, namespace, name),
                want,
                "{namespace}/{name}"
            );
        }
    }
}
