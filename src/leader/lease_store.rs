//! The Lease object on the API server. Every call is bounded in time: a hung request must not
//! keep a leader believing it still leads.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

pub(crate) struct LeaseStore {
    api: Api<Lease>,
    name: String,
    timeout: Duration,
}

/// The answer to a write.
pub(crate) enum Written {
    /// The server stored it; this is the object it returned (with the new resourceVersion).
    Stored(Box<Lease>),
    /// 409: the object changed since we read it, or someone created it first.
    Contended,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error(transparent)]
    Kube(#[from] kube::Error),
    #[error("the API server did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the Lease read from the API server has no resourceVersion")]
    NoResourceVersion,
}

impl LeaseStore {
    pub fn new(client: Client, namespace: &str, name: &str, timeout: Duration) -> LeaseStore {
        LeaseStore {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            timeout,
        }
    }

    pub async fn get(&self) -> Result<Option<Lease>, StoreError> {
        self.bounded(self.api.get_opt(&self.name)).await
    }

    /// Creates the Lease when `current` is `None`, else replaces `current` conditionally on its
    /// resourceVersion.
    pub async fn write(
        &self,
        current: Option<&Lease>,
        spec: LeaseSpec,
    ) -> Result<Written, StoreError> {
        let params = PostParams::default();
        let result = match current {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(spec),
                };
                self.bounded(self.api.create(&params, &lease)).await
            }
            Some(current) => {
                // Without a resourceVersion the PUT would be unconditional and two candidates
                // could both win.
                if current.metadata.resource_version.is_none() {
                    return Err(StoreError::NoResourceVersion);
                }
                let lease = Lease {
                    metadata: current.metadata.clone(),
                    spec: Some(spec),
                };
                self.bounded(self.api.replace(&self.name, &params, &lease))
                    .await
            }
        };
        match result {
            Ok(lease) => Ok(Written::Stored(Box::new(lease))),
            Err(StoreError::Kube(kube::Error::Api(status))) if status.code == 409 => {
                Ok(Written::Contended)
            }
            Err(error) => Err(error),
        }
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }
}
