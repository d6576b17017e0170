//! The EKS adapter for `spec.serviceAccounts` via Pod Identity: an association ties one
//! ServiceAccount of the cluster to one IAM role. Behind [`EksApi`], like IAM behind `IamApi`;
//! errors are [`Error::Iam`](crate::error::Error::Iam) with the EKS action's name, classified
//! as IAM's are (throttling and 5xx retried, access denied reported).

use std::collections::BTreeMap;

use futures::future::BoxFuture;

use aws_sdk_eks::error::ProvideErrorMetadata;

use crate::error::{Error, Result};
use crate::iam::AwsIamConfig;

/// An EKS Pod Identity association, as far as rolesmith cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Association {
    pub id: String,
    pub namespace: String,
    pub service_account: String,
    /// The role it gives the ServiceAccount.
    pub role_arn: String,
}

/// Where an association applies: one ServiceAccount of one cluster (EKS allows one association
/// there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot<'a> {
    pub cluster: &'a str,
    pub namespace: &'a str,
    pub service_account: &'a str,
}

pub trait EksApi: Send + Sync {
    /// The association in `slot`, if any: ListPodIdentityAssociations filtered to the
    /// ServiceAccount, then DescribePodIdentityAssociation for its role (the list does not name
    /// it). One call when there is none, two otherwise.
    fn find_association<'a>(&'a self, slot: Slot<'a>)
    -> BoxFuture<'a, Result<Option<Association>>>;

    /// CreatePodIdentityAssociation in `slot` for `role_arn`, tagged with `tags`.
    fn create_association<'a>(
        &'a self,
        slot: Slot<'a>,
        role_arn: &'a str,
        tags: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<Association>>;

    /// DeletePodIdentityAssociation; one already gone is not an error.
    fn delete_association<'a>(&'a self, cluster: &'a str, id: &'a str)
    -> BoxFuture<'a, Result<()>>;
}

pub struct AwsEks {
    client: aws_sdk_eks::Client,
}

impl AwsEks {
    /// Credentials from the SDK's default chain, the region from `config` or `AWS_REGION` (EKS
    /// is regional: the cluster's region), the endpoint from `config` or
    /// `AWS_ENDPOINT_URL_EKS` / `AWS_ENDPOINT_URL`.
    pub async fn new(config: &AwsIamConfig) -> AwsEks {
        Self::from_loader(crate::iam::aws::loader(config)).await
    }

    /// Fixed credentials instead of the default chain (tests, tools).
    pub async fn with_static_credentials(
        config: &AwsIamConfig,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> AwsEks {
        let credentials = aws_sdk_eks::config::Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "rolesmith-static",
        );
        Self::from_loader(crate::iam::aws::loader(config).credentials_provider(credentials)).await
    }

    async fn from_loader(loader: aws_config::ConfigLoader) -> AwsEks {
        let sdk_config = loader.load().await;
        AwsEks {
            client: aws_sdk_eks::Client::new(&sdk_config),
        }
    }
}

const NOT_FOUND: &str = "ResourceNotFoundException";

fn from_sdk<E>(
    action: &'static str,
    error: aws_sdk_eks::error::SdkError<E, aws_sdk_eks::config::http::HttpResponse>,
) -> Error
where
    E: aws_sdk_eks::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    crate::iam::sdk_error::from_sdk(action, error)
}

/// Two answers to CreatePodIdentityAssociation that the next attempt resolves: another writer
/// made an association for the ServiceAccount since it was looked up (the next look finds it),
/// and a role created moments ago that EKS does not see yet (IAM's eventual consistency).
fn retried_on_create(mut error: Error) -> Error {
    if let Error::Iam {
        code,
        message,
        category,
        ..
    } = &mut error
        && (code == "ResourceInUseException"
            || (code == "InvalidParameterException" && message.to_lowercase().contains("role")))
    {
        *category = crate::error::Category::IamTransient;
    }
    error
}

fn association(
    action: &'static str,
    found: Option<&aws_sdk_eks::types::PodIdentityAssociation>,
) -> Result<Association> {
    let found = found
        .ok_or_else(|| Error::Internal(format!("EKS {action} answered without the association")))?;
    Ok(Association {
        id: found.association_id().unwrap_or_default().to_string(),
        namespace: found.namespace().unwrap_or_default().to_string(),
        service_account: found.service_account().unwrap_or_default().to_string(),
        role_arn: found.role_arn().unwrap_or_default().to_string(),
    })
}

impl EksApi for AwsEks {
    fn find_association<'a>(
        &'a self,
        slot: Slot<'a>,
    ) -> BoxFuture<'a, Result<Option<Association>>> {
        let Slot {
            cluster,
            namespace,
            service_account,
        } = slot;
        Box::pin(async move {
            let listed = self
                .client
                .list_pod_identity_associations()
                .cluster_name(cluster)
                .namespace(namespace)
                .service_account(service_account)
                .send()
                .await
                .map_err(|error| from_sdk("ListPodIdentityAssociations", error))?;
            let Some(id) = listed
                .associations()
                .iter()
                .find(|a| {
                    a.namespace() == Some(namespace) && a.service_account() == Some(service_account)
                })
                .and_then(|a| a.association_id())
            else {
                return Ok(None);
            };
            let described = self
                .client
                .describe_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .send()
                .await;
            match described {
                Ok(answer) => {
                    association("DescribePodIdentityAssociation", answer.association()).map(Some)
                }
                // Deleted between the two calls.
                Err(error) if error.code() == Some(NOT_FOUND) => Ok(None),
                Err(error) => Err(from_sdk("DescribePodIdentityAssociation", error)),
            }
        })
    }

    fn create_association<'a>(
        &'a self,
        slot: Slot<'a>,
        role_arn: &'a str,
        tags: &'a BTreeMap<String, String>,
    ) -> BoxFuture<'a, Result<Association>> {
        Box::pin(async move {
            let mut request = self
                .client
                .create_pod_identity_association()
                .cluster_name(slot.cluster)
                .namespace(slot.namespace)
                .service_account(slot.service_account)
                .role_arn(role_arn);
            for (key, value) in tags {
                request = request.tags(key, value);
            }
            let answer = request.send().await.map_err(|error| {
                retried_on_create(from_sdk("CreatePodIdentityAssociation", error))
            })?;
            association("CreatePodIdentityAssociation", answer.association())
        })
    }

    fn delete_association<'a>(
        &'a self,
        cluster: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let answer = self
                .client
                .delete_pod_identity_association()
                .cluster_name(cluster)
                .association_id(id)
                .send()
                .await;
            match answer {
                Ok(_) => Ok(()),
                Err(error) if error.code() == Some(NOT_FOUND) => Ok(()),
                Err(error) => Err(from_sdk("DeletePodIdentityAssociation", error)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Category;

    #[test]
    fn create_errors_the_next_attempt_resolves_are_transient() {
        let error = |code: &str, message: &str| Error::Iam {
            action: "CreatePodIdentityAssociation",
            code: code.into(),
            message: message.into(),
            category: Category::IamRejected,
            retry_after: None,
        };
        for (code, message, want) in [
            (
                "ResourceInUseException",
                "Association already exists",
                Category::IamTransient,
            ),
            (
                "InvalidParameterException",
                "Role arn:aws:iam::1:role/x does not exist",
                Category::IamTransient,
            ),
            (
                "InvalidParameterException",
                "Namespace is too long",
                Category::IamRejected,
            ),
            (
                "AccessDeniedException",
                "not authorized to perform iam:PassRole on role",
                Category::IamRejected,
            ),
        ] {
            assert_eq!(
                retried_on_create(error(code, message)).category(),
                want,
                "{code} {message}"
            );
        }
        // The message names the service that answered.
        assert_eq!(
            error("AccessDeniedException", "no").to_string(),
            "EKS CreatePodIdentityAssociation failed: AccessDeniedException: no"
        );
    }
}
