//! `spec.serviceAccounts` on the cluster's side: each ServiceAccount an IamRole gives its role
//! through IRSA carries the role's ARN in `eks.amazonaws.com/role-arn`, written once the role
//! exists, and removed when the entry or the IamRole goes. Only a value that is this role's ARN
//! is ever removed, and a value naming another role is never replaced (the decisions are
//! `admission::service_accounts`'s): two IamRoles naming one ServiceAccount leave it with the
//! first one written, and the other reports the conflict.

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::runtime::reflector::{ObjectRef, Store};

use super::*;
use crate::admission::WorkloadIdentity;
use crate::admission::service_accounts::{
    Annotation, ROLE_ARN_ANNOTATION, WorkloadAccount, annotation_action, removes_annotation,
    with_defaults,
};

/// The ServiceAccounts the operator has seen, filled by the watch `run` starts.
pub(super) type Accounts = std::sync::OnceLock<Store<ServiceAccount>>;

/// The ServiceAccounts `role` gives its role to through IRSA, as (namespace, name).
fn irsa_accounts(role: &IamRole, default_via: WorkloadIdentity) -> Vec<(String, String)> {
    with_defaults(
        &role.namespace().unwrap_or_default(),
        &role.spec.service_accounts,
        default_via,
    )
    .into_iter()
    .filter(|account| account.via == WorkloadIdentity::Irsa)
    .map(
        |WorkloadAccount {
             namespace, name, ..
         }| (namespace, name),
    )
    .collect()
}

fn annotation(account: &ServiceAccount) -> Option<&str> {
    account
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(ROLE_ARN_ANNOTATION))
        .map(String::as_str)
}

fn key(account: &ServiceAccount) -> (String, String) {
    (account.namespace().unwrap_or_default(), account.name_any())
}

/// Gives `role`'s ServiceAccounts the annotation `arn`, and takes it from those no longer
/// listed. An OwnershipConflict when a listed ServiceAccount names another role.
pub(super) async fn wire(role: &IamRole, arn: &str, ctx: &Context) -> Result<()> {
    let Some(store) = ctx.service_accounts.get() else {
        return Ok(());
    };
    let wanted = irsa_accounts(role, ctx.settings.workloads.default_via);
    let mut conflicts = Vec::new();
    for (namespace, name) in &wanted {
        let Some(account) = store.get(&ObjectRef::new(name).within(namespace)) else {
            // Annotated when it appears: the watch wakes this object.
            continue;
        };
        match annotation_action(annotation(&account), arn) {
            Annotation::InSync => {}
            Annotation::Write => annotate(ctx, &account, Some(arn)).await?,
            Annotation::HeldByOther(other) => {
                conflicts.push(format!("{namespace}/{name} (it names {other})"))
            }
        }
    }
    for account in store.state() {
        if removes_annotation(annotation(&account), arn) && !wanted.contains(&key(&account)) {
            annotate(ctx, &account, None).await?;
        }
    }
    if conflicts.is_empty() {
        return Ok(());
    }
    Err(Error::OwnershipConflict(format!(
        "role {arn} exists, but ServiceAccount {} already carries another role in {ROLE_ARN_ANNOTATION}, which rolesmith never replaces; remove the ServiceAccount from the other IamRole's serviceAccounts (or the annotation, if it was set by hand) and this role takes it",
        conflicts.join(", ")
    )))
}

/// Takes the annotation `arn` from every ServiceAccount that carries it: the IamRole is going.
pub(super) async fn release(arn: &str, ctx: &Context) -> Result<()> {
    let Some(store) = ctx.service_accounts.get() else {
        return Ok(());
    };
    for account in store.state() {
        if removes_annotation(annotation(&account), arn) {
            annotate(ctx, &account, None).await?;
        }
    }
    Ok(())
}

/// Sets (or with `None` removes) the annotation. The patch carries the resourceVersion the
/// decision was made on: if another IamRole wrote first, the API server refuses it (409) and
/// the retry sees that IamRole's value instead of overwriting it.
async fn annotate(ctx: &Context, account: &ServiceAccount, arn: Option<&str>) -> Result<()> {
    let (namespace, name) = key(account);
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = serde_json::json!({
        "metadata": {
            "resourceVersion": account.resource_version(),
            "annotations": {ROLE_ARN_ANNOTATION: arn},
        }
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch(&name, &params, &Patch::Merge(&patch)).await?;
    tracing::info!(service_account = %format!("{namespace}/{name}"), role = ?arn, "role-ARN annotation written");
    Ok(())
}

/// The IamRoles to wake when `account` changed: those whose role exists and should be in its
/// annotation but is not (the ServiceAccount is new, or lost the annotation). Changes that need
/// nothing from any IamRole wake none, so the ServiceAccounts listed at start cost no reconcile.
pub(super) fn roles_to_wake(
    roles: &Store<CachedRole>,
    account: &ServiceAccount,
    default_via: WorkloadIdentity,
) -> Vec<ObjectRef<CachedRole>> {
    // Every ServiceAccount listed at start comes through here once, against every IamRole:
    // the cheapest tests go first.
    let current = annotation(account);
    if current.is_some_and(|value| !value.is_empty()) {
        return Vec::new();
    }
    let wanted = key(account);
    roles
        .state()
        .iter()
        .filter(|cached| cached.facts().names_service_accounts)
        .filter(|cached| cached.meta().deletion_timestamp.is_none())
        .filter_map(|cached| cached.role())
        .filter(|role| {
            let arn = role.status.as_ref().and_then(|s| s.role_arn.as_deref());
            arn.is_some_and(|arn| annotation_action(current, arn) == Annotation::Write)
        })
        .filter(|role| irsa_accounts(role, default_via).contains(&wanted))
        .map(|role| ObjectRef::new(&role.name_any()).within(&role.namespace().unwrap_or_default()))
        .collect()
}
