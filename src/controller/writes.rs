//! What the controller writes to Kubernetes: status, Events, and the report on an object that
//! cannot be read as its kind (an IamRole or an IamPolicy).

use super::*;

/// An object that cannot be read as its kind `K`: say so on the object (status and an Event) and
/// leave IAM alone. Its finalizer stays: deleting what it made in IAM needs the spec
/// (deletionPolicy), so the user fixes the object and deletion then proceeds normally — nothing
/// is orphaned. Both kinds' statuses keep `observedGeneration` and `conditions` alike.
pub(super) async fn report_invalid<K>(invalid: &InvalidObject, ctx: &Context) -> Result<Action>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    let meta = &invalid.metadata;
    let namespace = meta.namespace.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();
    let kind = K::kind(&());
    let message = format!(
        "the object does not match the {kind} schema this operator understands: {} (IAM is left unchanged; fix the object, or upgrade the CRD and the operator together)",
        crate::error::truncate(&invalid.error, 512)
    );
    tracing::warn!(error = %invalid.error, %kind, "invalid object");
    let attempt = Attempt {
        failure: Some(Failure {
            category: Category::InvalidSpec,
            message: message.clone(),
            retry_after: None,
        }),
        ..Attempt::default()
    };
    let decision = decide(&attempt, None, meta.generation, jiff::Timestamp::now());
    // A merge patch of the conditions only: the role's name, ARN and id stay in status, because
    // deleting the object once it is fixed must still find the role it created.
    let api: Api<DeserializeGuard<K>> = Api::namespaced(ctx.client.clone(), &namespace);
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&serde_json::json!({
            "status": {
                "observedGeneration": decision.status.observed_generation,
                "conditions": decision.status.conditions,
            },
        })),
    )
    .await?;
    let uid = meta.uid.clone().unwrap_or_default();
    if ctx.retry.first_report(&uid, &invalid.error) {
        let reference = k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some(K::api_version(&()).to_string()),
            kind: Some(kind.to_string()),
            name: Some(name),
            namespace: Some(namespace),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            ..Default::default()
        };
        let note = Note {
            warning: true,
            reason: "InvalidObject".into(),
            action: "Read",
            text: message,
        };
        publish(&reference, ctx, &note).await;
    }
    Ok(Action::await_change())
}

/// Server-side apply of `next` as the object's whole status, owned by the operator's field
/// manager.
pub(super) async fn write_status<K>(
    object: &K,
    ctx: &Context,
    next: &impl serde::Serialize,
) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": next,
    });
    api.patch_status(
        &object.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Events are best effort: failing to record one must not fail the reconcile.
pub(super) async fn publish(
    reference: &k8s_openapi::api::core::v1::ObjectReference,
    ctx: &Context,
    note: &Note,
) {
    let text = crate::error::truncate(&note.text, 1024);
    let published = ctx
        .events
        .publish(reference, note.warning, &note.reason, note.action, &text)
        .await;
    if let Err(error) = published {
        tracing::warn!(%error, "could not publish event");
    }
}
