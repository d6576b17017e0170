//! The reads of `rolesmith audit`: every role of the account with the customer managed policies
//! they may attach (GetAccountAuthorizationDetails, every page), and the account's role count
//! and quota (GetAccountSummary). Only reads.

use std::collections::BTreeMap;

use aws_sdk_iam::primitives::DateTime;
use aws_sdk_iam::types::{EntityType, ManagedPolicyDetail};

use super::aws::AwsIam;
use super::sweep::{PAGE_SIZE, next_marker, observed_role};
use crate::error::Result;
use crate::model::ObservedRole;
use crate::policy::decode_iam_text;

/// One role as the scan found it.
#[derive(Clone, Debug, Default)]
pub struct ScannedRole {
    /// Description and maximum session are not in the bulk answer and are left empty.
    pub role: ObservedRole,
    pub created: Option<jiff::Timestamp>,
    pub last_used: Option<jiff::Timestamp>,
    pub last_used_region: Option<String>,
}

/// Everything the audit judges.
#[derive(Clone, Debug, Default)]
pub struct AccountScan {
    pub roles: Vec<ScannedRole>,
    /// The default version of every customer managed policy, by ARN.
    pub managed_documents: BTreeMap<String, String>,
    /// `Roles` and `RolesQuota` of GetAccountSummary, when IAM gave both.
    pub role_quota: Option<(u64, u64)>,
    /// IAM calls made.
    pub calls: usize,
}

impl AwsIam {
    pub async fn scan_account(&self) -> Result<AccountScan> {
        let mut scan = AccountScan::default();
        let mut marker: Option<String> = None;
        loop {
            let request = self
                .client
                .get_account_authorization_details()
                .filter(EntityType::Role)
                .filter(EntityType::LocalManagedPolicy)
                .max_items(PAGE_SIZE)
                .set_marker(marker.take())
                .send();
            let page = self.call("GetAccountAuthorizationDetails", request).await?;
            scan.calls += 1;
            for policy in page.policies() {
                if let Some((arn, document)) = default_document(policy) {
                    scan.managed_documents.insert(arn, document);
                }
            }
            for detail in page.role_detail_list.unwrap_or_default() {
                let created = detail.create_date().and_then(timestamp);
                let used = detail.role_last_used();
                let last_used = used.and_then(|u| u.last_used_date()).and_then(timestamp);
                let last_used_region = used.and_then(|u| u.region()).map(String::from);
                scan.roles.push(ScannedRole {
                    role: observed_role(detail, String::new(), 0),
                    created,
                    last_used,
                    last_used_region,
                });
            }
            match next_marker(page.is_truncated, page.marker) {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        let summary = self
            .call(
                "GetAccountSummary",
                self.client.get_account_summary().send(),
            )
            .await?;
        scan.calls += 1;
        scan.role_quota = super::quota::roles_and_quota(&summary);
        scan.roles.sort_by(|a, b| a.role.name.cmp(&b.role.name));
        Ok(scan)
    }
}

fn default_document(policy: &ManagedPolicyDetail) -> Option<(String, String)> {
    let arn = policy.arn()?;
    let version = policy
        .policy_version_list()
        .iter()
        .find(|v| v.is_default_version())?;
    Some((arn.to_string(), decode_iam_text(version.document()?)))
}

/// IAM's dates are whole seconds; one out of jiff's range (it never is) reads as unknown.
fn timestamp(date: &DateTime) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_second(date.secs()).ok()
}
