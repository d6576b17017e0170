//! The watches the operator's kinds share: where objects are listed, and which of their changes
//! need a reconcile.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use futures::{Stream, StreamExt, TryFuture};
use kube::api::Api;
use kube::core::NamespaceResourceScope;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, Store};
use kube::runtime::utils::Predicate;
use kube::runtime::{WatchStreamExt, predicates, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A namespaced kind in the namespace the operator watches, or in every namespace.
pub(super) fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The objects of `api`, cached (slimmed: no managedFields, no last-applied copy), and those
/// that need a reconcile: a new generation, a finalizer change or a deletion. Our own status
/// writes trigger nothing; drift is looked for on a schedule.
pub(super) fn owned<K>(
    api: Api<K>,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let (reader, writer) = reflector::store();
    let triggers = predicates::generation
        .combine(predicates::finalizers)
        .combine(deleting::<K>);
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .modify(|object| super::slim::slim(object.meta_mut()))
        .reflect(writer)
        .applied_objects()
        .predicate_filter(triggers, Default::default());
    (reader, stream)
}

/// A trigger that changes when an object's deletion begins.
pub(super) fn deleting<K: Resource>(object: &K) -> Option<u64> {
    Some(u64::from(object.meta().deletion_timestamp.is_some()))
}

/// `Kind/namespace/name`: the key of an object of a kind other than IamRole in retry state,
/// logs and spans.
pub(super) fn kind_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{}/{}/{}",
        K::kind(&()),
        object.meta().namespace.as_deref().unwrap_or_default(),
        object.meta().name.as_deref().unwrap_or_default()
    )
}

/// Runs `reconcile` over `watch` until `shutdown` resolves. A reconcile reports its own errors
/// (status, Event, metric): here they are only logged at debug.
pub(super) async fn drive<K, C, Fut>(
    (reader, stream): (
        Store<K>,
        impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
    ),
    concurrency: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
    reconcile: impl FnMut(Arc<K>, Arc<C>) -> Fut,
    error_policy: impl Fn(Arc<K>, &Error, Arc<C>) -> Action,
    ctx: Arc<C>,
) where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    Fut: TryFuture<Ok = Action, Error = Error> + Send + 'static,
{
    let config = kube::runtime::controller::Config::default().concurrency(concurrency);
    Controller::for_stream(stream, reader)
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, kind = %K::kind(&()), "reconcile ended in error");
            }
        })
        .await;
}

/// What follows a reconcile of a kind without a drift sweep (IamPolicy, IamServiceLinkedRole):
/// a transient failure is retried with backoff; otherwise the object's failures are forgotten
/// and it is looked at again when it changes, or every resync interval after a success (IAM may
/// change behind our back).
pub(super) fn next_look<T>(
    ctx: &super::Context,
    key: &str,
    uid: &str,
    result: &crate::error::Result<T>,
) -> Action {
    match result {
        Err(error) if error.is_retryable() => Action::requeue(ctx.retry_delay(key, None)),
        Err(_) => {
            ctx.retry.forget_failures(key, uid);
            Action::await_change()
        }
        Ok(_) => {
            ctx.retry.forget_failures(key, uid);
            Action::requeue(ctx.settings.resync)
        }
    }
}
