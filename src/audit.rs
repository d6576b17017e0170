//! `rolesmith audit`: the findings of every role of an account, as a table, JSON or SARIF 2.1.0.
//! The scan is [`crate::iam::audit`]; this turns it into rows and text, purely.

use serde_json::{Value, json};

use crate::findings::{self, CHECKS, Finding, Location, RoleFacts, Rule, Severity, Usage};
use crate::iam::audit::AccountScan;

/// Where IAM puts service-linked roles.
const SERVICE_LINKED_PATH: &str = "/aws-service-role/";

/// One finding of the audit: on a role, or on the account (no role name or ARN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub role_name: Option<String>,
    pub role_arn: Option<String>,
    pub check: Rule,
    pub severity: Severity,
    pub location: Location,
    pub message: String,
}

impl Row {
    fn new(name: Option<&str>, arn: Option<&str>, finding: Finding) -> Row {
        Row {
            role_name: name.map(String::from),
            role_arn: arn.map(String::from),
            check: finding.check,
            severity: finding.severity,
            location: finding.location,
            message: finding.message,
        }
    }

    /// The message with where it applies, for formats without a field for it (a message about a
    /// managed policy that starts with its ARN says where already).
    pub fn text(&self) -> String {
        match &self.location {
            Location::Managed(arn) if self.message.starts_with(arn.as_str()) => {
                format!("managed policy {}", self.message)
            }
            location => format!("{}: {}", location.in_iam(), self.message),
        }
    }
}

/// What the audit found at or above the minimum severity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub rows: Vec<Row>,
    pub roles_scanned: usize,
    /// Roles in the account and its quota, as GetAccountSummary says.
    pub role_quota: Option<(u64, u64)>,
    pub min_severity: Severity,
}

/// The findings of every role (in name order) and of the account, at or above `min_severity`.
pub fn report(
    scan: &AccountScan,
    account_id: &str,
    settings: &findings::Settings,
    min_severity: Severity,
    now: jiff::Timestamp,
) -> Report {
    let mut rows = Vec::new();
    for scanned in &scan.roles {
        let role = &scanned.role;
        // A service-linked role belongs to the AWS service that made it, which deletes it when it
        // is done with it: its idleness is not the account owner's to act on.
        let service_linked = role.path.starts_with(SERVICE_LINKED_PATH);
        let usage = scanned
            .created
            .filter(|_| !service_linked)
            .map(|created| Usage {
                now,
                created,
                last_used: scanned.last_used,
                last_used_region: scanned.last_used_region.clone(),
            });
        let facts = RoleFacts {
            trust: &role.assume_role_policy,
            inline_policies: &role.inline_policies,
            managed_policy_arns: &role.managed_policy_arns,
            managed_documents: &scan.managed_documents,
            permissions_boundary: role.permissions_boundary.as_deref(),
            own_account: Some(account_id),
            usage: usage.as_ref(),
        };
        rows.extend(
            findings::role_findings(&facts, settings)
                .into_iter()
                .filter(|f| f.severity.at_least(min_severity))
                .map(|f| Row::new(Some(&role.name), Some(&role.arn), f)),
        );
    }
    if let Some(finding) = scan
        .role_quota
        .and_then(|(roles, quota)| findings::account_quota(roles, quota))
        .filter(|f| f.severity.at_least(min_severity))
    {
        rows.push(Row::new(None, None, finding));
    }
    Report {
        rows,
        roles_scanned: scan.roles.len(),
        role_quota: scan.role_quota,
        min_severity,
    }
}

impl Report {
    /// `scanned 5 roles (quota 1000): 4 findings on 3 roles (1 critical, 2 high, 1 medium) at or
    /// above low`.
    pub fn summary(&self) -> String {
        let mut roles: Vec<&str> = self
            .rows
            .iter()
            .filter_map(|r| r.role_name.as_deref())
            .collect();
        roles.dedup();
        let counts: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|s| {
                let n = self.rows.iter().filter(|r| r.severity == *s).count();
                (n > 0).then(|| format!("{n} {s}"))
            })
            .collect();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let found = if self.rows.is_empty() {
            "no findings".to_string()
        } else {
            format!(
                "{} on {} ({})",
                plural(self.rows.len(), "finding"),
                plural(roles.len(), "role"),
                counts.join(", ")
            )
        };
        let quota = match self.role_quota {
            Some((_, quota)) => format!(" (quota {quota})"),
            None => String::new(),
        };
        format!(
            "scanned {}{quota}: {found} at or above {}",
            plural(self.roles_scanned, "role"),
            self.min_severity
        )
    }

    /// Per role (then the account), one finding a line, and the summary.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mut current: Option<Option<&str>> = None;
        for row in &self.rows {
            if current != Some(row.role_arn.as_deref()) {
                current = Some(row.role_arn.as_deref());
                match (&row.role_name, &row.role_arn) {
                    (Some(name), Some(arn)) => out.push_str(&format!("{name} ({arn})\n")),
                    _ => out.push_str("account\n"),
                }
            }
            out.push_str(&format!(
                "  {:<8}  {:<30}  {}\n",
                row.severity,
                row.check,
                row.text()
            ));
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// A list of `{roleName, roleArn, check, severity, message}`; the account's own findings
    /// have null role name and ARN.
    pub fn json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    json!({
                        "roleName": row.role_name,
                        "roleArn": row.role_arn,
                        "check": row.check.id(),
                        "severity": row.severity.as_str(),
                        "message": row.text(),
                    })
                })
                .collect(),
        )
    }

    /// A minimal valid SARIF 2.1.0 log: one run, every check as a rule, each finding a result
    /// located at its role (a logical location: there is no file).
    pub fn sarif(&self) -> Value {
        let rules: Vec<Value> = CHECKS
            .iter()
            .map(|check| {
                json!({
                    "id": check.id(),
                    "shortDescription": { "text": findings::summary(*check) },
                })
            })
            .collect();
        let results: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let index = CHECKS.iter().position(|c| *c == row.check);
                let location = match (&row.role_name, &row.role_arn) {
                    (Some(name), Some(arn)) => {
                        json!({ "name": name, "fullyQualifiedName": arn, "kind": "resource" })
                    }
                    _ => json!({ "name": "account", "kind": "resource" }),
                };
                json!({
                    "ruleId": row.check.id(),
                    "ruleIndex": index,
                    "level": sarif_level(row.severity),
                    "message": { "text": row.text() },
                    "locations": [{ "logicalLocations": [location] }],
                    "properties": { "severity": row.severity.as_str() },
                })
            })
            .collect();
        json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": { "driver": {
                    "name": "rolesmith",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }},
                "results": results,
            }],
        })
    }
}

/// SARIF has three levels for a finding; critical and high are errors.
fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

#[cfg(test)]
mod tests;
