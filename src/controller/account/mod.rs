//! Many AWS accounts from one operator: the `AwsAccount` kind's controller ([`reconcile`]), the
//! pure choice of a role's account ([`route`]), and here the IAM client of each account.
//!
//! Each AwsAccount that assumes a role gets its own client, built on first use and rebuilt when
//! its spec changes: its own credentials, rate limit and throttling pause, its own call metrics
//! (label `account`) and its own sweep. An AwsAccount without `assumeRole` is the operator's own
//! account, so it shares the operator's client (IAM's limits are per account).

pub mod connect;
pub(super) mod reconcile;
pub mod route;
pub mod workers;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use kube::ResourceExt;
use kube::runtime::reflector::Store;

use crate::api::account::DEFAULT_SESSION_NAME;
use crate::api::{AwsAccount, AwsAccountSpec, IamRole};
use crate::error::{Category, Error, Result};
use crate::iam::{AssumeSettings, IamApi, Verified};

pub use route::{Chosen, Known};

/// How long a failed verification answers for its account before STS is asked again: a fleet
/// of roles in a denied account must not each call AssumeRole on every retry.
const FAILED_VERIFICATION_KEPT: Duration = Duration::from_secs(5);

/// Builds the client of an AwsAccount that assumes a role.
pub trait Connect: Send + Sync {
    /// A client for the AwsAccount `name`, acting through `settings`.
    fn connect<'a>(
        &'a self,
        name: &'a str,
        settings: &'a AssumeSettings,
    ) -> BoxFuture<'a, Arc<dyn IamApi>>;
}

/// One AwsAccount's client, for the spec it was built from.
pub struct AccountClient {
    spec: AwsAccountSpec,
    pub iam: Arc<dyn IamApi>,
    verified: tokio::sync::Mutex<Option<(Instant, Result<Verified, Unverified>)>>,
}

/// Why an account's credentials cannot be used; its `reason` is the AwsAccount's Ready reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unverified {
    /// STS refused AssumeRole.
    Denied(String),
    /// The credentials act in another account.
    WrongAccount(String),
    /// STS did not answer (or answered something unreadable).
    Unreachable(String),
}

impl Unverified {
    pub fn reason(&self) -> &'static str {
        match self {
            Unverified::Denied(_) => "AssumeRoleDenied",
            Unverified::WrongAccount(_) => "WrongAccount",
            Unverified::Unreachable(_) => "StsUnavailable",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Unverified::Denied(m) | Unverified::WrongAccount(m) | Unverified::Unreachable(m) => m,
        }
    }

    /// What a role in the account reports.
    pub fn into_error(self, account: &str) -> Error {
        let category = match self {
            Unverified::Denied(_) => Category::AssumeRoleDenied,
            _ => Category::AccountUnavailable,
        };
        Error::Account {
            category,
            message: format!("AwsAccount {account}: {}", self.message()),
        }
    }
}

impl AccountClient {
    /// The credentials' identity; a cached answer unless `fresh`. Credentials acting in
    /// another account than `spec.accountId` are refused.
    pub async fn verified(&self, fresh: bool) -> Result<Verified, Unverified> {
        let mut cached = self.verified.lock().await;
        let reuse = match &*cached {
            Some((_, Ok(_))) => !fresh,
            Some((at, Err(_))) => !fresh && at.elapsed() < FAILED_VERIFICATION_KEPT,
            None => false,
        };
        if !reuse {
            let answer = self
                .iam
                .verify()
                .await
                .map_err(|error| match error.category() {
                    Category::AssumeRoleDenied => Unverified::Denied(error.message()),
                    _ => Unverified::Unreachable(error.message()),
                });
            let answer = answer.and_then(|verified| {
                if verified.identity.account == self.spec.account_id {
                    Ok(verified)
                } else {
                    Err(Unverified::WrongAccount(wrong_account(
                        &self.spec.account_id,
                        &verified,
                    )))
                }
            });
            *cached = Some((Instant::now(), answer));
        }
        match &*cached {
            Some((_, answer)) => answer.clone(),
            None => Err(Unverified::Unreachable("not verified yet".into())),
        }
    }
}

fn wrong_account(expected: &str, verified: &Verified) -> String {
    format!(
        "the credentials act in account {} ({}), not in accountId {expected}; fix assumeRole.roleArn, or the operator's credentials",
        verified.identity.account, verified.caller_arn
    )
}

/// The AwsAccounts and a client for each.
pub struct Accounts {
    own: Arc<dyn IamApi>,
    connect: Option<Arc<dyn Connect>>,
    /// Set once the AwsAccount watch has listed everything; unset when the cluster has no
    /// AwsAccount CRD, and then every role is the operator's own account's.
    store: OnceLock<Store<AwsAccount>>,
    clients: tokio::sync::Mutex<HashMap<String, Arc<AccountClient>>>,
    /// Each account's reconciles in flight.
    workers: workers::Workers,
}

/// Where a role's calls go.
pub struct Routed {
    pub iam: Arc<dyn IamApi>,
    /// The AwsAccount's name (None: the operator's own account).
    pub key: Option<String>,
    pub account_id: String,
}

impl Accounts {
    pub fn new(own: Arc<dyn IamApi>, connect: Option<Arc<dyn Connect>>) -> Accounts {
        Accounts {
            own,
            connect,
            store: OnceLock::new(),
            clients: tokio::sync::Mutex::new(HashMap::new()),
            workers: workers::Workers::default(),
        }
    }

    pub fn own(&self) -> &Arc<dyn IamApi> {
        &self.own
    }

    pub(super) fn set_store(&self, store: Store<AwsAccount>) {
        let _ = self.store.set(store);
    }

    /// Resolves once the AwsAccounts are listed (at once when the cluster has none to list).
    pub async fn ready(&self) {
        if let Some(store) = self.store.get() {
            let _ = store.wait_until_ready().await;
        }
    }

    /// Every AwsAccount, those being deleted too: their roles must still be deletable while
    /// the AwsAccount waits for them.
    pub fn known(&self) -> Vec<Arc<AwsAccount>> {
        self.store.get().map(Store::state).unwrap_or_default()
    }

    /// The client for the AwsAccount `name` with `spec`, built now if it has none or its spec
    /// changed.
    pub async fn client(&self, name: &str, spec: &AwsAccountSpec) -> Result<Arc<AccountClient>> {
        let problems = spec.problems();
        if !problems.is_empty() {
            return Err(Error::Account {
                category: Category::AccountUnavailable,
                message: format!(
                    "AwsAccount {name} is invalid, so its credentials are not used: {}",
                    problems.join("; ")
                ),
            });
        }
        let mut clients = self.clients.lock().await;
        if let Some(client) = clients.get(name)
            && client.spec == *spec
        {
            return Ok(client.clone());
        }
        let iam = match &spec.assume_role {
            None => self.own.clone(),
            Some(assume) => {
                let Some(connect) = &self.connect else {
                    return Err(Error::Account {
                        category: Category::AccountUnavailable,
                        message: "this operator cannot assume roles (no AWS connector)".into(),
                    });
                };
                let settings = AssumeSettings {
                    role_arn: assume.role_arn.clone(),
                    external_id: assume.external_id.clone(),
                    session_name: assume
                        .session_name
                        .clone()
                        .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_string()),
                    tags: assume
                        .session_tags
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                };
                connect.connect(name, &settings).await
            }
        };
        let client = Arc::new(AccountClient {
            spec: spec.clone(),
            iam,
            verified: tokio::sync::Mutex::new(None),
        });
        clients.insert(name.to_string(), client.clone());
        Ok(client)
    }

    /// A worker slot of the account `key` ([`workers::Workers::acquire`]): every account gets
    /// the operator's --concurrency, so a throttled account whose reconciles wait for IAM holds
    /// only its own slots, never the other accounts'; `spare` workers wait for a slot.
    pub async fn worker(
        &self,
        key: Option<String>,
        per_account: usize,
        spare: usize,
    ) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.workers
            .acquire(key, per_account, spare, workers::WAIT_FOR_SLOT)
            .await
    }

    /// Drops the client of an AwsAccount that is gone.
    pub async fn forget(&self, name: &str) {
        self.clients.lock().await.remove(name);
    }

    /// The account `role` goes to, without any call.
    pub fn choose(&self, role: &IamRole) -> Result<Option<(String, AwsAccountSpec)>> {
        let namespace = role.namespace().unwrap_or_default();
        self.choose_for(role.spec.account_ref.as_deref(), &namespace)
    }

    /// The account a role of `namespace` naming `account_ref` goes to, without any call.
    pub fn choose_for(
        &self,
        account_ref: Option<&str>,
        namespace: &str,
    ) -> Result<Option<(String, AwsAccountSpec)>> {
        let accounts = self.known();
        let known: Vec<Known> = accounts
            .iter()
            .map(|account| Known {
                name: account.metadata.name.as_deref().unwrap_or_default(),
                spec: &account.spec,
            })
            .collect();
        match route::choose(account_ref, namespace, &known)? {
            Chosen::Own => Ok(None),
            Chosen::Account(name) => {
                let spec = known
                    .iter()
                    .find(|k| k.name == name)
                    .map(|k| k.spec.clone())
                    .ok_or_else(|| Error::Internal(format!("AwsAccount {name} vanished")))?;
                Ok(Some((name.to_string(), spec)))
            }
        }
    }

    /// The client and account for `role`: chosen without a call (a namespace that may not use
    /// the account causes none there), verified, and the account the role already lives in.
    pub async fn route(&self, role: &IamRole) -> Result<Routed> {
        let routed = match self.choose(role)? {
            None => Routed {
                iam: self.own.clone(),
                key: None,
                account_id: self.own.caller_account().await?,
            },
            Some((name, spec)) => {
                let client = self.client(&name, &spec).await?;
                client
                    .verified(false)
                    .await
                    .map_err(|why| why.into_error(&name))?;
                Routed {
                    iam: client.iam.clone(),
                    key: Some(name),
                    account_id: spec.account_id.clone(),
                }
            }
        };
        let status = role.status.as_ref();
        let home = route::home(
            status.and_then(|s| s.account_id.as_deref()),
            status.and_then(|s| s.role_arn.as_deref()),
        );
        route::stays_home(home.as_deref(), &routed.account_id)?;
        Ok(routed)
    }
}

#[cfg(test)]
mod tests;
