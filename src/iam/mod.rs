//! The IAM adapter: every IAM call rolesmith makes goes through [`IamApi`], so the engine can be
//! tested against a fake and the real implementation ([`aws::AwsIam`]) stays thin.
//!
//! Errors are always [`Error::Iam`](crate::error::Error::Iam), classified by [`classify`].

pub mod assume;
pub mod audit;
pub mod aws;
pub mod classify;
pub mod counting;
mod instance_profile;
mod limit;
pub mod managed_policy;
mod observe;
pub mod quota;
mod read;
pub(crate) mod sdk_error;
mod service_linked_role;
pub mod sweep;
mod write;

use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::{Category, Error, Result};
use crate::model::{
    IamOp, ObservedInstanceProfile, ObservedPolicy, ObservedRole, PolicyAttachments, PolicyOp,
};
use crate::plan::service_linked_role::{
    DeletionAnswer, DesiredServiceLinkedRole, ObservedServiceLinkedRole,
};

pub use assume::{AssumeSettings, Verified};
pub use aws::{AwsIam, AwsIamConfig};
pub use counting::CountingObserver;
pub use managed_policy::{PolicyOutcome, policy_arn};
pub use quota::RoleQuota;

/// What a write tells us beyond success. Only `CreateRole` fills it: the ARN and the unique id
/// are what status needs, and reading them back would cost a call that may not see the role yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpOutcome {
    pub arn: Option<String>,
    pub role_id: Option<String>,
}

pub trait IamApi: Send + Sync {
    /// GetRole + ListRolePolicies (every page) + GetRolePolicy per name + ListAttachedRolePolicies
    /// (every page) + ListInstanceProfilesForRole (every page): exactly 4 + N calls for a role
    /// with N inline policies (one page each).
    /// NoSuchEntity on GetRole → `Ok(None)`. Documents are percent-decoded with
    /// [`crate::policy::decode_iam_text`]. Tags come from GetRole's answer (no ListRoleTags).
    fn get_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ObservedRole>>>;

    /// One instance profile with its roles and tags (GetInstanceProfile). NoSuchEntity →
    /// `Ok(None)`.
    fn get_instance_profile<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ObservedInstanceProfile>>>;

    /// One write, exactly one IAM call.
    fn execute<'a>(&'a self, op: &'a IamOp) -> BoxFuture<'a, Result<OpOutcome>>;

    /// Every role of the account in bulk ([`sweep`]): a few calls for thousands of roles. The
    /// roles `visitor` wants are handed to it as each page arrives; a wanted role it is not
    /// handed must be read on its own (it may be new, or gone).
    fn sweep<'a>(&'a self, visitor: &'a mut dyn SweepVisitor) -> BoxFuture<'a, Result<Sweep>>;

    /// GetPolicy + ListPolicyVersions (every page) + GetPolicyVersion of the default version:
    /// 3 calls. NoSuchEntity on GetPolicy → `Ok(None)`. Tags come from GetPolicy's answer.
    fn get_policy<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<Option<ObservedPolicy>>>;

    /// Who the policy is attached to (ListEntitiesForPolicy, every page).
    fn list_policy_attachments<'a>(
        &'a self,
        arn: &'a str,
    ) -> BoxFuture<'a, Result<PolicyAttachments>>;

    /// One write on a managed policy, exactly one IAM call.
    fn execute_policy<'a>(&'a self, op: &'a PolicyOp) -> BoxFuture<'a, Result<PolicyOutcome>>;

    /// The account the credentials act in and its partition: known before the first role is
    /// created, so a trust policy naming the own account is never mistaken for cross-account
    /// access, and a policy's ARN can be derived before it exists. Asked once (STS
    /// GetCallerIdentity, which needs no permission) and cached.
    fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity>>;

    /// The account's roles and its quota of roles (GetAccountSummary), read at most every few
    /// minutes per account ([`quota::QUOTA_MAX_AGE`]) and counted on between reads.
    fn role_quota(&self) -> BoxFuture<'_, Result<RoleQuota>>;
    /// The service's service-linked roles (ListRoles under `/aws-service-role/<service>/`,
    /// every page). An IAM without them answers with an error, as below.
    fn list_service_linked_roles<'a>(
        &'a self,
        aws_service_name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ObservedServiceLinkedRole>>> {
        Box::pin(async move { Err(without_service_linked_roles("ListRoles", aws_service_name)) })
    }

    /// CreateServiceLinkedRole: IAM names the role.
    fn create_service_linked_role<'a>(
        &'a self,
        desired: &'a DesiredServiceLinkedRole,
    ) -> BoxFuture<'a, Result<ObservedServiceLinkedRole>> {
        Box::pin(async move {
            Err(without_service_linked_roles(
                "CreateServiceLinkedRole",
                &desired.aws_service_name,
            ))
        })
    }

    /// DeleteServiceLinkedRole: the deletion task's id, `None` when the role is gone already.
    fn delete_service_linked_role<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            Err(without_service_linked_roles(
                "DeleteServiceLinkedRole",
                name,
            ))
        })
    }

    /// GetServiceLinkedRoleDeletionStatus.
    fn service_linked_role_deletion_status<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<DeletionAnswer>> {
        Box::pin(async move {
            Err(without_service_linked_roles(
                "GetServiceLinkedRoleDeletionStatus",
                task_id,
            ))
        })
    }

    /// The account of [`IamApi::caller_identity`].
    fn caller_account(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move { Ok(self.caller_identity().await?.account) })
    }

    /// How much longer the account's IAM calls are paused by throttling, if they are.
    fn paused_for(&self) -> Option<Duration> {
        None
    }

    /// Asks STS now who the credentials are (an assumed role is assumed afresh), for an
    /// AwsAccount's verification. Without a better answer: [`IamApi::caller_identity`].
    fn verify(&self) -> BoxFuture<'_, Result<Verified>> {
        Box::pin(async move {
            let identity = self.caller_identity().await?;
            Ok(Verified {
                caller_arn: format!("arn:{}:iam::{}:root", identity.partition, identity.account),
                identity,
            })
        })
    }
}

/// The answer of an [`IamApi`] that does not reach service-linked roles (an in-memory IAM).
fn without_service_linked_roles(action: &'static str, subject: &str) -> Error {
    Error::Internal(format!(
        "{action} ({subject}): this IAM client does not handle service-linked roles; run the operator against IAM"
    ))
}

/// Who the credentials are, as far as rolesmith needs: ARNs it derives use this account and
/// partition (`aws`, `aws-cn`, `aws-us-gov`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub partition: String,
}

impl CallerIdentity {
    /// From STS GetCallerIdentity's answer: the partition is only in the caller's ARN, and the
    /// account is taken from that ARN when the answer lacks it.
    pub fn from_sts(account: Option<&str>, arn: Option<&str>) -> Result<CallerIdentity> {
        let unreadable = || {
            Error::Internal(format!(
                "STS GetCallerIdentity answered without a readable caller ARN and account ({arn:?}, {account:?}); check the STS endpoint the operator uses"
            ))
        };
        let parsed = arn
            .and_then(|arn| crate::arn::Arn::parse(arn).ok())
            .ok_or_else(unreadable)?;
        let account = account
            .filter(|account| crate::arn::is_account_id(account))
            .or(parsed.account_id())
            .ok_or_else(unreadable)?;
        Ok(CallerIdentity {
            account: account.to_string(),
            partition: parsed.partition.to_string(),
        })
    }
}

pub use crate::model::{CollectRoles, Sweep, SweepVisitor};

/// How one IAM call ended, as seen by telemetry. The category keeps metric labels bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    Error(Category),
}

/// Told about every IAM call once, each page of a list being one call: metrics, and tests that
/// count calls. `elapsed` includes the SDK's retries, not the waits for the account's limiter.
pub trait CallObserver: Send + Sync {
    fn observe(&self, action: &'static str, outcome: CallOutcome, elapsed: Duration);
}

/// For callers that do not care.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoopObserver;

impl CallObserver for NoopObserver {
    fn observe(&self, _action: &'static str, _outcome: CallOutcome, _elapsed: Duration) {}
}

/// IAM's read actions all start with `Get` or `List`; everything else changes something.
pub fn is_read_action(action: &str) -> bool {
    action.starts_with("Get") || action.starts_with("List")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_actions() {
        let cases = [
            ("GetRole", true),
            ("GetRolePolicy", true),
            ("ListRolePolicies", true),
            ("ListAttachedRolePolicies", true),
            ("ListInstanceProfilesForRole", true),
            ("CreateRole", false),
            ("PutRolePolicy", false),
            ("TagRole", false),
            ("DeleteRole", false),
            ("RemoveRoleFromInstanceProfile", false),
        ];
        for (action, read) in cases {
            assert_eq!(is_read_action(action), read, "{action}");
        }
    }

    #[test]
    fn caller_identity_from_sts() {
        let ok = |account: &str, partition: &str| {
            Some(CallerIdentity {
                account: account.into(),
                partition: partition.into(),
            })
        };
        let cases = [
            (
                Some("123456789012"),
                Some("arn:aws:iam::123456789012:user/ops"),
                ok("123456789012", "aws"),
            ),
            (
                Some("123456789012"),
                Some("arn:aws-us-gov:sts::123456789012:assumed-role/operator/pod"),
                ok("123456789012", "aws-us-gov"),
            ),
            (
                Some("123456789012"),
                Some("arn:aws-cn:sts::123456789012:assumed-role/operator/pod"),
                ok("123456789012", "aws-cn"),
            ),
            // No account in the answer: the ARN's.
            (
                None,
                Some("arn:aws-cn:iam::210987654321:root"),
                ok("210987654321", "aws-cn"),
            ),
            // An account that is not one: the ARN's.
            (
                Some("moto"),
                Some("arn:aws:iam::123456789012:user/x"),
                ok("123456789012", "aws"),
            ),
            (Some("123456789012"), None, None),
            (Some("123456789012"), Some("not-an-arn"), None),
            (None, Some("arn:aws:iam::aws:policy/ReadOnlyAccess"), None),
        ];
        for (account, arn, expected) in cases {
            assert_eq!(
                CallerIdentity::from_sts(account, arn).ok(),
                expected,
                "{account:?} {arn:?}"
            );
        }
    }
}
