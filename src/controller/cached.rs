//! What the watch cache keeps of each IamRole. The cache holds every IamRole for the life of the
//! operator, so at 10,000 of them what it keeps per object is most of the operator's memory: the
//! typed object (a struct of mostly empty options, maps of policy documents) took 5.5 KB for a
//! role with two inline policies and two tags; its JSON text takes 1.6 KB, deflated 0.6 KB. So
//! the cache keeps the deflated text, the few metadata fields kube's watch and queue read, and
//! the [`Facts`] the frequent lookups need; whoever needs the object decodes it
//! ([`CachedRole::decode`], some microseconds), as the reconcile copied it before.

use std::borrow::Cow;

use futures::{Stream, TryStreamExt};
use kube::Resource;
use kube::api::ObjectMeta;
use kube::core::{DeserializeGuard, NamespaceResourceScope, error_boundary::InvalidObject};
use kube::runtime::reflector::{ObjectRef, store::Writer};
use kube::runtime::watcher;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::slim::LAST_APPLIED;
use crate::api::IamRole;

pub(super) type Guarded = DeserializeGuard<IamRole>;

/// miniz's fastest level: a watch event costs some microseconds more, and a higher level saves
/// only 3 % more of a typical object.
const DEFLATE_LEVEL: u8 = 1;
/// More than any object the API server stores (etcd refuses requests over 1.5 MiB).
const TEXT_LIMIT: usize = 4 << 20;

/// One IamRole in the watch cache.
#[derive(Clone, Debug)]
pub struct CachedRole {
    /// The fields kube's watch (resourceVersion), queue (name, namespace) and the reconcile
    /// triggers (generation, finalizers, deletion) read; the rest is in `body`.
    meta: ObjectMeta,
    /// The object as the API server sent it, without managedFields and without the copy of the
    /// object `kubectl apply` keeps in an annotation (nothing reads them), as deflated JSON.
    body: Box<[u8]>,
    facts: Facts,
}

/// What is read of every cached IamRole on every change of another kind (a ServiceAccount, an
/// IamPolicy, an AwsAccount) and by each sweep's look for the accounts in use: decoding 10,000
/// objects for each would cost more than the change. Taken from the object as it arrives.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// The object matches the IamRole types (else only its reconcile reads it, to report why).
    pub readable: bool,
    pub account_ref: Option<Box<str>>,
    /// `spec.managedPolicyRefs` is not empty.
    pub refers_to_policies: bool,
    /// `spec.serviceAccounts` is not empty.
    pub names_service_accounts: bool,
    /// A reconcile is due as soon as the object is seen ([`super::needs_reconcile_now`]).
    pub needs_reconcile: bool,
    /// Its status says a RoleGuardrail refuses it (each drift check counts them per guardrail).
    pub refused_by_a_guardrail: bool,
}

impl CachedRole {
    /// The object from its JSON form (a watch event's or a list item's).
    pub fn from_value(mut object: Value) -> Result<CachedRole, serde_json::Error> {
        slim(&mut object);
        let metadata = object
            .get("metadata")
            .cloned()
            .ok_or_else(|| serde_json::Error::custom("the object has no metadata"))?;
        let metadata: ObjectMeta = serde_json::from_value(metadata)?;
        let text = serde_json::to_vec(&object)?;
        let guarded: Guarded = serde_json::from_slice(&text)?;
        let facts = facts(&guarded);
        Ok(CachedRole {
            meta: kept(metadata),
            body: miniz_oxide::deflate::compress_to_vec(&text, DEFLATE_LEVEL).into_boxed_slice(),
            facts,
        })
    }

    /// The whole object, as the watch would have read it.
    pub fn decode(&self) -> Guarded {
        self.text()
            .and_then(|text| serde_json::from_slice(&text).map_err(|e| e.to_string()))
            .unwrap_or_else(|error| {
                // The text was written from a value that decoded on arrival: this cannot
                // happen, but if it did, the object is reported as unreadable, not lost.
                DeserializeGuard(Err(InvalidObject {
                    error,
                    metadata: self.meta.clone(),
                }))
            })
    }

    /// The object's JSON text.
    fn text(&self) -> Result<Vec<u8>, String> {
        miniz_oxide::inflate::decompress_to_vec_with_limit(&self.body, TEXT_LIMIT)
            .map_err(|error| format!("the cached object cannot be inflated: {error}"))
    }

    /// The IamRole, if the object matches the types.
    pub fn role(&self) -> Option<IamRole> {
        if !self.facts.readable {
            return None;
        }
        self.decode().0.ok()
    }

    pub fn facts(&self) -> &Facts {
        &self.facts
    }
}

impl<'de> Deserialize<'de> for CachedRole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CachedRole::from_value(Value::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

impl Resource for CachedRole {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        IamRole::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        IamRole::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        IamRole::version(dt)
    }

    fn api_version(dt: &()) -> Cow<'_, str> {
        IamRole::api_version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        IamRole::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

/// Drops managedFields and kubectl's last-applied copy from a JSON object.
fn slim(object: &mut Value) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    metadata.remove("managedFields");
    if let Some(annotations) = metadata
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            metadata.remove("annotations");
        }
    }
}

/// The metadata fields a [`CachedRole`] keeps outside its text.
fn kept(metadata: ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: metadata.name,
        namespace: metadata.namespace,
        uid: metadata.uid,
        resource_version: metadata.resource_version,
        generation: metadata.generation,
        deletion_timestamp: metadata.deletion_timestamp,
        finalizers: metadata.finalizers,
        ..ObjectMeta::default()
    }
}

fn facts(guarded: &Guarded) -> Facts {
    let needs_reconcile = super::needs_reconcile_now(guarded);
    match &guarded.0 {
        Ok(role) => Facts {
            readable: true,
            account_ref: role.spec.account_ref.as_deref().map(Box::from),
            refers_to_policies: !role.spec.managed_policy_refs.is_empty(),
            names_service_accounts: !role.spec.service_accounts.is_empty(),
            needs_reconcile,
            refused_by_a_guardrail: role
                .status
                .as_ref()
                .is_some_and(|status| crate::status::refused_by_a_guardrail(&status.conditions)),
        },
        Err(_) => Facts {
            needs_reconcile,
            ..Facts::default()
        },
    }
}

/// The IamRoles the watch `events` brings, cached in `writer`, and those that need a reconcile
/// now: seen for the first time, or with a new generation, other finalizers or a deletion begun
/// (our own status writes change none of them) — and not settled already
/// ([`Facts::needs_reconcile`]). The cache's previous copy of each object is what it is compared
/// with, so no second copy of every object's triggers is kept.
pub(super) fn reflect_and_pick<S>(
    events: S,
    mut writer: Writer<CachedRole>,
) -> impl Stream<Item = Result<CachedRole, watcher::Error>> + Send + 'static
where
    S: Stream<Item = Result<watcher::Event<CachedRole>, watcher::Error>> + Send + 'static,
{
    let reader = writer.as_reader();
    events
        .map_ok(move |event| {
            let due = match &event {
                watcher::Event::Apply(object) | watcher::Event::InitApply(object) => {
                    let previous = reader.get(&ObjectRef::from_obj(object));
                    object.facts.needs_reconcile && changed(previous.as_deref(), object)
                }
                _ => false,
            };
            writer.apply_watcher_event(&event);
            let picked = match event {
                watcher::Event::Apply(object) | watcher::Event::InitApply(object) if due => {
                    Some(Ok(object))
                }
                _ => None,
            };
            futures::stream::iter(picked)
        })
        .try_flatten()
}

/// Whether `object` differs from the cache's `previous` copy in what calls for a reconcile. A
/// relist compares with the copy from before it (kube swaps the new list in at its end), so a
/// reconnect reconciles only what changed meanwhile.
fn changed(previous: Option<&CachedRole>, object: &CachedRole) -> bool {
    let Some(previous) = previous else {
        return true;
    };
    let (before, now) = (&previous.meta, &object.meta);
    before.generation != now.generation
        || before.finalizers != now.finalizers
        || before.deletion_timestamp.is_some() != now.deletion_timestamp.is_some()
}

#[cfg(test)]
mod tests;
