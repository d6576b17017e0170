//! The AwsAccount controller: verifies each account's credentials with sts:GetCallerIdentity
//! (Ready, or why not), refuses a second default, lists the IamRoles that use the account, and
//! holds its deletion while there are any.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::utils::Predicate;
use kube::runtime::{WatchStreamExt, predicates, watcher};
use kube::{Resource, ResourceExt};

use super::super::{CachedRole, Context, Note, publish};
use crate::api::account::ACCOUNT_FINALIZER;
use crate::api::{AwsAccount, AwsAccountStatus};
use crate::error::{Category, Error, Result};

/// How many users `status.usedBy` lists.
const USED_BY_SHOWN: usize = 50;
/// A second default is looked at again this often (the other AwsAccount's change does not wake
/// this one).
const DUPLICATE_RECHECK: Duration = Duration::from_secs(10);
/// A verified account is verified again at least this often: a trust policy edited in AWS shows
/// on the AwsAccount within this time.
const REVERIFY_MAX: Duration = Duration::from_secs(300);

/// The AwsAccount watch: its store (for routing) and the stream its controller runs on.
pub(in crate::controller) fn watch(
    ctx: &Context,
) -> (
    Store<AwsAccount>,
    impl futures::Stream<Item = Result<AwsAccount, watcher::Error>> + Send + 'static,
) {
    // Our own status writes must not wake the account again (each would verify anew); the
    // periodic requeue re-verifies.
    super::super::watch::owned(Api::all(ctx.client.clone()))
}

/// AwsAccount spec changes and deletions (not status writes: two defaults would wake each
/// other forever).
fn default_changes(
    ctx: &Context,
) -> impl futures::Stream<Item = Result<AwsAccount, watcher::Error>> + Send + 'static {
    every_change(ctx).predicate_filter(
        predicates::generation.combine(super::super::watch::deleting::<AwsAccount>),
        Default::default(),
    )
}

/// AwsAccount changes that can change what its roles do: its spec, and its Ready condition's
/// status and reason. A re-verification that changes only `lastVerifiedTime` wakes no role.
pub(in crate::controller) fn changes_that_matter_to_roles(
    ctx: &Context,
) -> impl futures::Stream<Item = Result<AwsAccount, watcher::Error>> + Send + 'static {
    every_change(ctx).predicate_filter(
        predicates::generation.combine(readiness),
        Default::default(),
    )
}

/// Every AwsAccount as it changes, status writes included.
fn every_change(
    ctx: &Context,
) -> impl futures::Stream<Item = Result<AwsAccount, watcher::Error>> + Send + 'static {
    watcher(
        Api::<AwsAccount>::all(ctx.client.clone()),
        watcher::Config::default(),
    )
    .default_backoff()
    .touched_objects()
}

fn readiness(account: &AwsAccount) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let ready = account
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == crate::status::READY)?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&ready.status, &ready.reason).hash(&mut hasher);
    Some(hasher.finish())
}

/// Whether the cluster serves AwsAccounts and the operator may list them. A cluster upgraded
/// without the new CRD keeps working as before: every role in the operator's own account.
pub(in crate::controller) async fn served(ctx: &Context) -> bool {
    let api: Api<AwsAccount> = Api::all(ctx.client.clone());
    let mut delay = Duration::from_millis(200);
    loop {
        match api
            .list_metadata(&kube::api::ListParams::default().limit(1))
            .await
        {
            Ok(_) => return true,
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 403 => {
                tracing::warn!(
                    code = status.code,
                    "AwsAccounts cannot be listed (CRD not installed, or no RBAC): every IamRole uses the operator's own account"
                );
                return false;
            }
            // Anything else may pass: guessing "no AwsAccounts" could put a role in the wrong
            // account.
            Err(error) => {
                tracing::warn!(%error, ?delay, "cannot list AwsAccounts yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Runs the AwsAccount controller on `stream` until `shutdown`.
pub(in crate::controller) async fn run(
    ctx: Arc<Context>,
    reader: Store<AwsAccount>,
    stream: impl futures::Stream<Item = Result<AwsAccount, watcher::Error>> + Send + 'static,
    roles: Store<CachedRole>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let others = reader.clone();
    let defaults_changed = default_changes(&ctx);
    let state = Arc::new(State { ctx, roles });
    Controller::for_stream(stream, reader)
        // A default that appears, goes or stops being one changes whether the others are the
        // only default: they are looked at again.
        .watches_stream(defaults_changed, move |changed| {
            let name = changed.name_any();
            others
                .state()
                .iter()
                .filter(|other| other.spec.default && other.name_any() != name)
                .map(|other| ObjectRef::from_obj(other.as_ref()))
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, state)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "AwsAccount reconcile ended in error");
            }
        })
        .await;
}

struct State {
    ctx: Arc<Context>,
    roles: Store<CachedRole>,
}

/// The IamRoles an AwsAccount serves (changed or gone ones: theirs to wake).
pub(in crate::controller) fn roles_of(
    roles: &Store<CachedRole>,
    account: &AwsAccount,
) -> Vec<ObjectRef<CachedRole>> {
    let name = account.name_any();
    roles
        .state()
        .iter()
        .filter(|role| role.facts().readable)
        .filter(|role| {
            uses(
                role.facts().account_ref.as_deref(),
                &name,
                account.spec.default,
            )
        })
        .map(|role| ObjectRef::from_obj(role.as_ref()))
        .collect()
}

fn uses(account_ref: Option<&str>, name: &str, default: bool) -> bool {
    match account_ref {
        Some(named) => named == name,
        None => default,
    }
}

fn users(roles: &Store<CachedRole>, account: &AwsAccount) -> Vec<String> {
    let mut users: Vec<String> = roles_of(roles, account)
        .into_iter()
        .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
        .collect();
    users.sort();
    users
}

async fn reconcile(account: Arc<AwsAccount>, state: Arc<State>) -> Result<Action> {
    let api: Api<AwsAccount> = Api::all(state.ctx.client.clone());
    finalizer(&api, ACCOUNT_FINALIZER, account, |event| async {
        match event {
            FinalizerEvent::Apply(account) => verify(&account, &state).await,
            FinalizerEvent::Cleanup(account) => release(&account, &state).await,
        }
    })
    .await
    .map_err(super::super::finalizer_error)
}

fn error_policy(account: Arc<AwsAccount>, error: &Error, state: Arc<State>) -> Action {
    let delay = state.ctx.settings.max_backoff.max(Duration::from_secs(1));
    tracing::info!(account = %account.name_any(), category = %error.category(), error = %error.message(), ?delay, "AwsAccount not settled; looking again");
    Action::requeue(delay)
}

/// What one look at an AwsAccount found.
#[derive(Clone, Debug, PartialEq)]
pub(in crate::controller) struct Look {
    pub ready: bool,
    pub reason: &'static str,
    pub message: String,
    pub caller_arn: Option<String>,
    pub verified_now: bool,
}

async fn verify(account: &AwsAccount, state: &State) -> Result<Action> {
    let ctx = &state.ctx;
    let name = account.name_any();
    let others_default: Vec<String> = ctx
        .accounts
        .known()
        .iter()
        .filter(|other| other.spec.default && other.name_any() != name)
        .map(|other| other.name_any())
        .collect();
    let problems = account.spec.problems();
    let (look, requeue) = if !problems.is_empty() {
        // Refused before any call, as the schema would have.
        let look = Look {
            ready: false,
            reason: "InvalidSpec",
            message: format!("{}; fix the AwsAccount", problems.join("; ")),
            caller_arn: None,
            verified_now: false,
        };
        (look, DUPLICATE_RECHECK)
    } else if account.spec.default && !others_default.is_empty() {
        // No call: the schema cannot see other objects, so the operator refuses both.
        let look = Look {
            ready: false,
            reason: "DuplicateDefault",
            message: format!(
                "AwsAccount {} is also marked default; mark only one: IamRoles that name no account wait until then",
                others_default.join(", ")
            ),
            caller_arn: None,
            verified_now: false,
        };
        (look, DUPLICATE_RECHECK)
    } else {
        let client = ctx.accounts.client(&name, &account.spec).await?;
        match client.verified(true).await {
            Ok(verified) => (
                Look {
                    ready: true,
                    reason: "Verified",
                    message: format!(
                        "the credentials act in account {} as {}",
                        verified.identity.account, verified.caller_arn
                    ),
                    caller_arn: Some(verified.caller_arn),
                    verified_now: true,
                },
                ctx.settings
                    .resync
                    .clamp(Duration::from_secs(30), REVERIFY_MAX),
            ),
            Err(why) => (
                Look {
                    ready: false,
                    reason: why.reason(),
                    message: why.message().to_string(),
                    caller_arn: None,
                    verified_now: true,
                },
                ctx.settings.max_backoff.max(Duration::from_secs(1)),
            ),
        }
    };
    let used_by = users(&state.roles, account);
    write(account, state, &look, used_by).await?;
    Ok(Action::requeue(requeue))
}

/// Deletion: held while IamRoles use the account, then the client goes.
async fn release(account: &AwsAccount, state: &State) -> Result<Action> {
    let name = account.name_any();
    let used_by = users(&state.roles, account);
    if used_by.is_empty() {
        state.ctx.accounts.forget(&name).await;
        return Ok(Action::await_change());
    }
    let message = format!(
        "deletion waits until the {} IamRoles that use this account are gone: {}",
        used_by.len(),
        crate::error::truncate(&used_by.join(", "), 512)
    );
    let look = Look {
        ready: false,
        reason: "AccountInUse",
        message: message.clone(),
        caller_arn: account.status.as_ref().and_then(|s| s.caller_arn.clone()),
        verified_now: false,
    };
    write(account, state, &look, used_by).await?;
    Err(Error::Account {
        category: Category::AccountInUse,
        message,
    })
}

async fn write(
    account: &AwsAccount,
    state: &State,
    look: &Look,
    used_by: Vec<String>,
) -> Result<()> {
    let ctx = &state.ctx;
    let now = jiff::Timestamp::now();
    let previous = account.status.clone().unwrap_or_default();
    let before = previous
        .conditions
        .iter()
        .find(|c| c.type_ == crate::status::READY)
        .map(|c| c.reason.clone());
    let next = next_status(&previous, account.metadata.generation, look, used_by, now);
    let api: Api<AwsAccount> = Api::all(ctx.client.clone());
    let mut body = serde_json::to_value(&next)
        .map_err(|error| Error::Internal(format!("AwsAccount status: {error}")))?;
    // A merge patch leaves out what it omits: an emptied list must be sent to be emptied.
    body["usedBy"] = serde_json::json!(next.used_by);
    api.patch_status(
        &account.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&serde_json::json!({ "status": body })),
    )
    .await?;
    if before.as_deref() != Some(look.reason) {
        tracing::info!(account = %account.name_any(), reason = look.reason, message = %look.message, "AwsAccount checked");
        let note = Note {
            warning: !look.ready,
            reason: look.reason.into(),
            action: "Verify",
            text: look.message.clone(),
        };
        publish(&account.object_ref(&()), ctx, &note).await;
    }
    Ok(())
}

/// The next status: the Ready condition (its transition time kept while its status holds),
/// what was verified, and the users. Pure.
pub(in crate::controller) fn next_status(
    previous: &AwsAccountStatus,
    generation: Option<i64>,
    look: &Look,
    mut used_by: Vec<String>,
    now: jiff::Timestamp,
) -> AwsAccountStatus {
    let status = if look.ready { "True" } else { "False" };
    let prior = previous
        .conditions
        .iter()
        .find(|c| c.type_ == crate::status::READY);
    let since = match prior {
        Some(prior) if prior.status == status => prior.last_transition_time.clone(),
        _ => Time(now),
    };
    used_by.truncate(USED_BY_SHOWN);
    let mut conditions: Vec<Condition> = previous
        .conditions
        .iter()
        .filter(|c| c.type_ != crate::status::READY)
        .cloned()
        .collect();
    conditions.push(Condition {
        type_: crate::status::READY.to_string(),
        status: status.to_string(),
        reason: look.reason.to_string(),
        message: look.message.clone(),
        observed_generation: generation,
        last_transition_time: since,
    });
    AwsAccountStatus {
        observed_generation: generation,
        conditions,
        caller_arn: if look.ready {
            look.caller_arn.clone()
        } else {
            look.caller_arn.clone().or(previous.caller_arn.clone())
        },
        last_verified_time: if look.verified_now {
            Some(now.to_string())
        } else {
            previous.last_verified_time.clone()
        },
        used_by,
    }
}

#[cfg(test)]
mod tests;
