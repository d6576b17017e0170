//! Roles that are riskier for what they lack or how long they have lain idle, and an account
//! about to run out of roles.

use std::time::Duration;

use super::{Finding, Location, RoleFacts, Rule, Settings, Severity, Usage};

/// Above this share of the account's role quota, `account-quota` warns.
pub const QUOTA_WARNING_PERCENT: u64 = 90;

pub(super) fn findings(role: &RoleFacts<'_>, settings: &Settings) -> Vec<Finding> {
    let mut found = Vec::new();
    if role.permissions_boundary.is_none() {
        found.push(Finding::new(
            Rule::NoPermissionsBoundary,
            Severity::Info,
            Location::Boundary,
            "the role has no permissions boundary; set one that caps what its policies can ever grant".into(),
        ));
    }
    found.extend(
        role.usage
            .and_then(|usage| unused_role(usage, settings.unused_after)),
    );
    found
}

/// `unused-role` for a role with `usage`, if neither used nor created within `after`.
pub fn unused_role(usage: &Usage, after: Duration) -> Option<Finding> {
    unused(usage, after)
        .map(|message| Finding::new(Rule::UnusedRole, Severity::Low, Location::Role, message))
}

/// Why the role counts as unused, if it does: neither used nor created within `after`.
fn unused(usage: &Usage, after: Duration) -> Option<String> {
    let since = usage.last_used.unwrap_or(usage.created);
    let idle = usage.now.duration_since(since);
    if idle.is_negative() || idle.unsigned_abs() <= after {
        return None;
    }
    let limit = describe(after);
    let what = match (&usage.last_used, &usage.last_used_region) {
        (Some(at), Some(region)) => format!("was last used {} in {region}", day(*at)),
        (Some(at), None) => format!("was last used {}", day(*at)),
        (None, _) => format!(
            "has not been used since it was created {}",
            day(usage.created)
        ),
    };
    Some(format!(
        "the role {what}, more than {limit} ago; delete it if nothing needs it any more"
    ))
}

fn day(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

/// `90 days`, `12 hours`, `30 seconds`.
fn describe(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (count, unit) = if seconds >= 86_400 && seconds.is_multiple_of(86_400) {
        (seconds / 86_400, "day")
    } else if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else {
        (seconds, "second")
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

/// `account-quota`: high once no role can be created, medium above [`QUOTA_WARNING_PERCENT`].
pub fn account_quota(roles: u64, quota: u64) -> Option<Finding> {
    if quota == 0 {
        return None;
    }
    let (severity, message) = if roles >= quota {
        (
            Severity::High,
            format!(
                "the account has {roles} roles and its quota is {quota}: IAM refuses every new role; delete unused roles or ask AWS for a higher quota"
            ),
        )
    } else if roles * 100 > quota * QUOTA_WARNING_PERCENT {
        (
            Severity::Medium,
            format!(
                "the account has {roles} of its {quota} roles ({}%); delete unused roles or ask AWS for a higher quota before creating roles fails",
                roles * 100 / quota
            ),
        )
    } else {
        return None;
    };
    Some(Finding::new(
        Rule::AccountQuota,
        severity,
        Location::Account,
        message,
    ))
}
