//! The account's roles against its quota (GetAccountSummary): read at most every
//! [`QUOTA_MAX_AGE`] per account, and kept current in between by the adapter's own CreateRole
//! and DeleteRole, so a reconcile costs no call for it and a burst of creates still stops at the
//! quota.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_iam::operation::get_account_summary::GetAccountSummaryOutput;
use aws_sdk_iam::types::SummaryKeyType;

use super::IamApi;
use super::aws::AwsIam;
use crate::error::{Error, Result};
use crate::model::IamOp;

/// How long one GetAccountSummary answer stands for an account.
pub const QUOTA_MAX_AGE: Duration = Duration::from_secs(300);

/// The roles of one account and how many it may have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleQuota {
    pub account: String,
    pub roles: u64,
    pub quota: u64,
}

impl RoleQuota {
    /// Whether IAM would refuse another role.
    pub fn reached(&self) -> bool {
        self.quota > 0 && self.roles >= self.quota
    }
}

/// The last answer per account id, with when it was read.
#[derive(Debug, Default)]
pub struct QuotaCache {
    by_account: Mutex<HashMap<String, (Instant, RoleQuota)>>,
}

impl QuotaCache {
    /// The answer for `account` if it is younger than [`QUOTA_MAX_AGE`] at `now`.
    pub fn fresh(&self, account: &str, now: Instant) -> Option<RoleQuota> {
        let cached = self.lock();
        let (read, quota) = cached.get(account)?;
        (now.saturating_duration_since(*read) < QUOTA_MAX_AGE).then(|| quota.clone())
    }

    pub fn store(&self, quota: RoleQuota, now: Instant) {
        self.lock().insert(quota.account.clone(), (now, quota));
    }

    /// A role this adapter created (+1) or deleted (-1) in `account`: counted at once.
    pub fn adjust(&self, account: &str, delta: i64) {
        if let Some((_, quota)) = self.lock().get_mut(account) {
            quota.roles = quota.roles.saturating_add_signed(delta);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, RoleQuota)>> {
        self.by_account
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How a successful write changes the account's role count.
pub fn role_count_change(op: &IamOp) -> i64 {
    match op {
        IamOp::CreateRole { .. } => 1,
        IamOp::DeleteRole { .. } => -1,
        _ => 0,
    }
}

/// `Roles` and `RolesQuota` of a GetAccountSummary answer, when IAM gave both.
pub(super) fn roles_and_quota(answer: &GetAccountSummaryOutput) -> Option<(u64, u64)> {
    let value = |key: SummaryKeyType| {
        answer
            .summary_map()
            .and_then(|map| map.get(&key))
            .and_then(|v| u64::try_from(*v).ok())
    };
    value(SummaryKeyType::Roles).zip(value(SummaryKeyType::RolesQuota))
}

impl AwsIam {
    pub(super) async fn read_role_quota(&self) -> Result<RoleQuota> {
        let account = self.caller_account().await?;
        if let Some(quota) = self.quota_cache().fresh(&account, Instant::now()) {
            return Ok(quota);
        }
        let answer = self
            .call(
                "GetAccountSummary",
                self.client.get_account_summary().send(),
            )
            .await?;
        let Some((roles, quota)) = roles_and_quota(&answer) else {
            return Err(Error::Internal(
                "IAM GetAccountSummary answered without Roles and RolesQuota; check the IAM endpoint the operator uses".into(),
            ));
        };
        let quota = RoleQuota {
            account,
            roles,
            quota,
        };
        self.quota_cache().store(quota.clone(), Instant::now());
        Ok(quota)
    }

    /// After a successful write: keeps the cached count current. An account not known yet has
    /// no count to keep.
    pub(super) fn count_write(&self, op: &IamOp) {
        let delta = role_count_change(op);
        if delta != 0
            && let Some(account) = self.known_account()
        {
            self.quota_cache().adjust(account, delta);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(roles: u64) -> RoleQuota {
        RoleQuota {
            account: "111111111111".into(),
            roles,
            quota: 1000,
        }
    }

    #[test]
    fn an_answer_stands_for_a_few_minutes_per_account() {
        let cache = QuotaCache::default();
        let t0 = Instant::now();
        assert_eq!(cache.fresh("111111111111", t0), None);
        cache.store(quota(10), t0);
        assert_eq!(
            cache.fresh("111111111111", t0 + Duration::from_secs(299)),
            Some(quota(10))
        );
        assert_eq!(cache.fresh("111111111111", t0 + QUOTA_MAX_AGE), None);
        assert_eq!(cache.fresh("222222222222", t0), None);
    }

    #[test]
    fn own_creates_and_deletes_count_at_once() {
        let cache = QuotaCache::default();
        let t0 = Instant::now();
        cache.store(quota(999), t0);
        cache.adjust("111111111111", 1);
        let now = cache.fresh("111111111111", t0).expect("cached");
        assert!(now.reached() && now.roles == 1000);
        cache.adjust("111111111111", -1);
        assert!(!cache.fresh("111111111111", t0).expect("cached").reached());
        // An account never read is not invented.
        cache.adjust("222222222222", 1);
        assert_eq!(cache.fresh("222222222222", t0), None);
        assert!(
            !RoleQuota {
                quota: 0,
                ..quota(5)
            }
            .reached()
        );
    }

    #[test]
    fn writes_that_change_the_count() {
        let delete = IamOp::DeleteRole { role: "r".into() };
        let untag = IamOp::UntagRole {
            role: "r".into(),
            keys: vec![],
        };
        assert_eq!(role_count_change(&delete), -1);
        assert_eq!(role_count_change(&untag), 0);
    }
}
