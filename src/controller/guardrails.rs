//! RoleGuardrails: read into a store every reconcile consults, each change waking the IamRoles
//! of the namespaces the guardrail covers (before and after the change), and each guardrail's
//! status saying whether the operator enforces all of it.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::Stream;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};

use super::*;
use crate::admission::Guardrail;
use crate::api::RoleGuardrail;

/// How long a reconcile waits for the first list of RoleGuardrails before it fails (and is
/// retried): a role must never be written before the guardrails that may refuse it are known.
const FIRST_LIST_WAIT: Duration = Duration::from_secs(10);

/// The store every reconcile reads, and the writer [`stream`] fills.
pub(super) fn store() -> (Store<RoleGuardrail>, Mutex<Option<Writer<RoleGuardrail>>>) {
    let (reader, writer) = reflector::store();
    (reader, Mutex::new(Some(writer)))
}

/// The guardrails in force, as admission reads them, once the first list has been read.
pub(super) async fn in_force(ctx: &Context) -> Result<Vec<Guardrail>> {
    let listed = tokio::time::timeout(FIRST_LIST_WAIT, ctx.guardrails.wait_until_ready()).await;
    if !matches!(listed, Ok(Ok(()))) {
        return Err(Error::Kube(Box::new(kube::Error::Service(
            "the RoleGuardrails could not be listed yet; IamRoles wait until they are: check that the RoleGuardrail CRD is installed (kubectl apply -f crds/) and that the operator may list roleguardrails".into(),
        ))));
    }
    Ok(current(&ctx.guardrails))
}

/// The guardrails the store holds now (empty before the first list).
pub(super) fn current(store: &Store<RoleGuardrail>) -> Vec<Guardrail> {
    let mut guardrails: Vec<Guardrail> = store
        .state()
        .iter()
        .map(|object| crate::desired::guardrail(object).0)
        .collect();
    // Messages list violations guardrail by guardrail: the same order on every reconcile.
    guardrails.sort_by(|a, b| a.name.cmp(&b.name));
    guardrails
}

/// Every RoleGuardrail change, after the store has it and its status is written.
pub(super) fn stream(
    ctx: Arc<Context>,
    writer: Writer<RoleGuardrail>,
) -> impl Stream<Item = std::result::Result<RoleGuardrail, watcher::Error>> + Send + 'static {
    let api: Api<RoleGuardrail> = Api::all(ctx.client.clone());
    watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object| super::slim::slim(object.meta_mut()))
        .reflect(writer)
        .touched_objects()
        .and_then(move |guardrail| {
            let ctx = ctx.clone();
            async move {
                if let Err(error) = write_status(&guardrail, &ctx, None).await {
                    tracing::warn!(guardrail = %guardrail.name_any(), error = %error.message(), "could not write RoleGuardrail status");
                }
                Ok(guardrail)
            }
        })
}

/// Counts, for every guardrail, the IamRoles in `roles` it refuses, and writes the counts that
/// changed. The drift sweeper calls it once per drift check: roles change status one by one, and
/// a count per change would cost a write per refused reconcile.
pub(super) async fn count_refusals(ctx: &Context, roles: &Store<CachedRole>) {
    let guardrails = ctx.guardrails.state();
    if guardrails.is_empty() {
        return;
    }
    let names: Vec<String> = guardrails.iter().map(|g| g.name_any()).collect();
    // Only refused objects are decoded, each once for all guardrails.
    let refused: Vec<Vec<Condition>> = roles
        .state()
        .iter()
        .filter(|cached| cached.facts().refused_by_a_guardrail)
        .filter_map(|cached| cached.role()?.status)
        .map(|status| status.conditions)
        .filter(|conditions| {
            names
                .iter()
                .any(|name| crate::status::refused_by(name, conditions))
        })
        .collect();
    for guardrail in guardrails {
        let name = guardrail.name_any();
        let refusing = refused
            .iter()
            .filter(|conditions| crate::status::refused_by(&name, conditions))
            .count();
        let refusing = i32::try_from(refusing).unwrap_or(i32::MAX);
        if guardrail.status.as_ref().and_then(|s| s.refusing) == Some(refusing) {
            continue;
        }
        if let Err(error) = write_status(&guardrail, ctx, Some(refusing)).await {
            tracing::warn!(guardrail = %name, error = %error.message(), "could not write RoleGuardrail status");
        }
    }
}

/// Writes the guardrail's status when it would change; `refusing`: a new count of the roles it
/// refuses (else the previous count stands).
async fn write_status(
    guardrail: &RoleGuardrail,
    ctx: &Context,
    refusing: Option<i32>,
) -> Result<()> {
    let (_, problems) = crate::desired::guardrail(guardrail);
    let previous = guardrail.status.as_ref();
    let next = crate::status::guardrail_status(
        previous,
        guardrail.metadata.generation,
        &problems,
        refusing,
        jiff::Timestamp::now(),
    );
    if previous == Some(&next) {
        return Ok(());
    }
    let api: Api<RoleGuardrail> = Api::all(ctx.client.clone());
    let patch = serde_json::json!({
        "apiVersion": RoleGuardrail::api_version(&()),
        "kind": RoleGuardrail::kind(&()),
        "status": next,
    });
    api.patch_status(
        &guardrail.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(())
}

/// Maps a changed guardrail to the IamRoles to reconcile: those in the namespaces it covers now
/// or covered before the change (a role it no longer covers may proceed).
pub(super) struct Coverage {
    roles: Store<CachedRole>,
    before: Mutex<HashMap<String, Vec<String>>>,
}

impl Coverage {
    pub(super) fn new(roles: Store<CachedRole>) -> Coverage {
        Coverage {
            roles,
            before: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn roles_to_wake(&self, guardrail: &RoleGuardrail) -> Vec<ObjectRef<CachedRole>> {
        let now = guardrail.spec.namespaces.clone();
        let before = match self.before.lock() {
            Ok(mut remembered) => remembered
                .insert(guardrail.name_any(), now.clone())
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let namespaces: Vec<String> = now.into_iter().chain(before).collect();
        let covering = Guardrail {
            namespaces,
            ..Guardrail::default()
        };
        self.roles
            .state()
            .iter()
            .filter(|role| covering.covers(role.namespace().as_deref().unwrap_or_default()))
            .map(|role| ObjectRef::from_obj(role.as_ref()))
            .collect()
    }
}
