//! `spec.serviceAccounts` via PodIdentity on the EKS side: one association per entry, made once
//! the role exists, recorded in `status.podIdentityAssociations`, and deleted with the entry or
//! the IamRole. Only associations status records are ever deleted; one EKS has for the
//! ServiceAccount with another role is left alone and reported (the decisions are
//! `admission::service_accounts`'s).

use super::*;
use crate::admission::WorkloadIdentity;
use crate::admission::service_accounts::{
    Association, association_action, association_wanted, with_defaults,
};
use crate::api::PodIdentityAssociation;
use crate::eks::Slot;

/// Makes the associations `role`'s entries want, for the role `arn`, and deletes those no longer
/// wanted. Answers what exists afterwards (for status) and whether all went well: an
/// OwnershipConflict when a ServiceAccount has another role's association.
pub(super) async fn associate(
    role: &IamRole,
    arn: &str,
    ctx: &Context,
) -> (Vec<PodIdentityAssociation>, Result<()>) {
    let recorded = recorded(role);
    let wanted: Vec<_> = with_defaults(
        &role.namespace().unwrap_or_default(),
        &role.spec.service_accounts,
        ctx.settings.workloads.default_via,
    )
    .into_iter()
    .filter(|account| account.via == WorkloadIdentity::PodIdentity)
    .collect();
    if wanted.is_empty() && recorded.is_empty() {
        return (Vec::new(), Ok(()));
    }
    let (Some(eks), Some(cluster)) = (&ctx.eks, &ctx.settings.workloads.eks_cluster_name) else {
        let error = Error::Internal(
            "Pod Identity associations to manage, but the operator has no EKS cluster (--eks-cluster-name)".into(),
        );
        return (recorded, Err(error));
    };
    let mut now = Vec::new();
    let mut conflicts = Vec::new();
    let mut failure = None;
    for account in &wanted {
        let slot = Slot {
            cluster,
            namespace: &account.namespace,
            service_account: &account.name,
        };
        let found = eks.find_association(slot).await;
        let found = match found {
            Ok(found) => found,
            Err(error) => {
                failure.get_or_insert(error);
                continue;
            }
        };
        let entry = |id: &str| PodIdentityAssociation {
            namespace: account.namespace.clone(),
            service_account: account.name.clone(),
            association_id: id.to_string(),
        };
        match association_action(found.as_ref().map(|f| f.role_arn.as_str()), arn) {
            Association::Keep => {
                if let Some(found) = &found {
                    now.push(entry(&found.id));
                }
            }
            Association::Create => {
                let tags = owner_tags(role, ctx);
                match eks.create_association(slot, arn, &tags).await {
                    Ok(made) => {
                        tracing::info!(service_account = %format!("{}/{}", account.namespace, account.name), id = %made.id, "Pod Identity association created");
                        now.push(entry(&made.id));
                    }
                    Err(error) => {
                        failure.get_or_insert(error);
                    }
                }
            }
            Association::HeldByOther(other) => conflicts.push(format!(
                "{}/{} (it gives {other})",
                account.namespace, account.name
            )),
        }
    }
    for old in recorded {
        if association_wanted(&wanted, &old.namespace, &old.service_account) {
            continue;
        }
        match eks.delete_association(cluster, &old.association_id).await {
            Ok(()) => tracing::info!(id = %old.association_id, "Pod Identity association deleted"),
            Err(error) => {
                failure.get_or_insert(error);
                now.push(old);
            }
        }
    }
    let result = match (failure, conflicts.is_empty()) {
        (Some(error), _) => Err(error),
        (None, true) => Ok(()),
        (None, false) => Err(Error::OwnershipConflict(format!(
            "role {arn} exists, but ServiceAccount {} already has an EKS Pod Identity association with another role, which rolesmith never replaces (EKS allows one); delete that association (or the other IamRole's entry) and this role takes it",
            conflicts.join(", ")
        ))),
    };
    (now, result)
}

/// Deletes every association `role` made: it is going.
pub(super) async fn dissociate(role: &IamRole, ctx: &Context) -> Result<()> {
    let recorded = recorded(role);
    if recorded.is_empty() {
        return Ok(());
    }
    let (Some(eks), Some(cluster)) = (&ctx.eks, &ctx.settings.workloads.eks_cluster_name) else {
        return Err(Error::Internal(
            "this IamRole made Pod Identity associations, but the operator has no EKS cluster (--eks-cluster-name) to delete them from".into(),
        ));
    };
    for old in recorded {
        eks.delete_association(cluster, &old.association_id).await?;
    }
    Ok(())
}

fn recorded(role: &IamRole) -> Vec<PodIdentityAssociation> {
    role.status
        .as_ref()
        .map(|status| status.pod_identity_associations.clone())
        .unwrap_or_default()
}

/// The ownership tag roles get, so an association says which object made it.
fn owner_tags(role: &IamRole, ctx: &Context) -> std::collections::BTreeMap<String, String> {
    desired::owner(&ctx.settings.cluster_id, role)
        .map(|owner| {
            std::collections::BTreeMap::from([(
                crate::model::OWNER_TAG_KEY.to_string(),
                owner.tag_value(),
            )])
        })
        .unwrap_or_default()
}
