//! Guardrails that do not block: risky but legitimate choices the user should see. The checks
//! are the catalog's ([`crate::findings`]); here they meet the desired role.

use std::collections::BTreeMap;

use super::problem::{Finding, Severity};
use crate::findings::{RoleFacts, Settings, role_findings};
use crate::model::DesiredRole;

/// Every finding for `desired` worse than `info` (a role without a permissions boundary is left
/// to `rolesmith audit`: most have none, and a warning on each would drown the others).
/// `own_account_id`: the account the operator writes to, when known; trust in any other account
/// is cross-account.
pub fn findings(desired: &DesiredRole, own_account_id: Option<&str>) -> Vec<Finding> {
    catalog_findings(desired, own_account_id)
        .iter()
        .filter(|finding| finding.severity.at_least(Severity::Low))
        .map(crate::findings::Finding::to_admission)
        .collect()
}

/// Every finding of the catalog for `desired`, whatever its severity (a guardrail may deny an
/// `info` one such as `no-permissions-boundary`). Attached managed policies are judged by ARN:
/// reading their documents would cost calls on every reconcile.
pub(super) fn catalog_findings(
    desired: &DesiredRole,
    own_account_id: Option<&str>,
) -> Vec<crate::findings::Finding> {
    let no_documents = BTreeMap::new();
    let facts = RoleFacts {
        trust: &desired.assume_role_policy,
        inline_policies: &desired.inline_policies,
        managed_policy_arns: &desired.managed_policy_arns,
        managed_documents: &no_documents,
        permissions_boundary: desired.permissions_boundary.as_deref(),
        own_account: own_account_id,
        usage: None,
    };
    role_findings(&facts, &Settings::default())
}
