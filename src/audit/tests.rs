use std::collections::BTreeMap;

use super::*;
use crate::iam::audit::ScannedRole;
use crate::model::ObservedRole;

const ACCOUNT: &str = "111122223333";
const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

fn role(name: &str, inline: &[(&str, &str)], created: &str) -> ScannedRole {
    ScannedRole {
        role: ObservedRole {
            name: name.into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
            assume_role_policy: EC2_TRUST.into(),
            inline_policies: inline
                .iter()
                .map(|(n, d)| (n.to_string(), d.to_string()))
                .collect(),
            permissions_boundary: Some(format!("arn:aws:iam::{ACCOUNT}:policy/boundary")),
            ..ObservedRole::default()
        },
        created: Some(at(created)),
        last_used: None,
        last_used_region: None,
    }
}

fn scan() -> AccountScan {
    let mut unbounded = role("b-unbounded", &[], "2026-11-30T00:00:00Z");
    unbounded.role.permissions_boundary = None;
    AccountScan {
        roles: vec![
            role("a-admin", &[("all", ADMIN)], "2026-11-30T00:00:00Z"),
            unbounded,
            role("c-clean", &[], "2026-11-30T00:00:00Z"),
            role("d-idle", &[], "2025-01-01T00:00:00Z"),
        ],
        managed_documents: BTreeMap::new(),
        role_quota: Some((950, 1000)),
        calls: 2,
    }
}

fn run(min: Severity) -> Report {
    report(
        &scan(),
        ACCOUNT,
        &findings::Settings::default(),
        min,
        at("2026-12-01T00:00:00Z"),
    )
}

#[test]
fn rows_per_role_then_the_account_filtered_by_severity() {
    let rows = |min| -> Vec<(Option<String>, &'static str, Severity)> {
        run(min)
            .rows
            .into_iter()
            .map(|r| (r.role_name, r.check.id(), r.severity))
            .collect()
    };
    assert_eq!(
        rows(Severity::Info),
        vec![
            (Some("a-admin".into()), "admin-access", Severity::High),
            (
                Some("b-unbounded".into()),
                "no-permissions-boundary",
                Severity::Info
            ),
            (Some("d-idle".into()), "unused-role", Severity::Low),
            (None, "account-quota", Severity::Medium),
        ]
    );
    assert_eq!(
        rows(Severity::Medium),
        vec![
            (Some("a-admin".into()), "admin-access", Severity::High),
            (None, "account-quota", Severity::Medium),
        ]
    );
    assert_eq!(rows(Severity::Critical), vec![]);
}

#[test]
fn summary_and_table() {
    assert_eq!(
        run(Severity::Low).summary(),
        "scanned 4 roles (quota 1000): 3 findings on 2 roles (1 high, 1 medium, 1 low) at or above low"
    );
    assert_eq!(
        run(Severity::Critical).summary(),
        "scanned 4 roles (quota 1000): no findings at or above critical"
    );
    let table = run(Severity::Low).table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "a-admin (arn:aws:iam::111122223333:role/a-admin)");
    assert!(lines[1].starts_with("  high      admin-access "), "{table}");
    assert!(lines[1].ends_with("inline policy all: allows every action on every resource (Action \"*\", Resource \"*\"): the role is an administrator; grant only the actions it needs"), "{table}");
    assert_eq!(lines[2], "d-idle (arn:aws:iam::111122223333:role/d-idle)");
    assert_eq!(lines[4], "account");
    assert!(lines[5].contains("account-quota"), "{table}");
    assert!(lines[5].contains("950 of its 1000 roles (95%)"), "{table}");
    assert_eq!(lines.len(), 7, "{table}");
}

#[test]
fn json_rows() {
    let json = run(Severity::Medium).json();
    assert_eq!(
        json[0],
        json!({
            "roleName": "a-admin",
            "roleArn": "arn:aws:iam::111122223333:role/a-admin",
            "check": "admin-access",
            "severity": "high",
            "message": "inline policy all: allows every action on every resource (Action \"*\", Resource \"*\"): the role is an administrator; grant only the actions it needs",
        })
    );
    assert_eq!(json[1]["roleName"], Value::Null);
    assert_eq!(json[1]["check"], "account-quota");
    assert_eq!(json.as_array().map(Vec::len), Some(2));
}

/// The parts of SARIF 2.1.0 a consumer needs: version, one run with a named driver whose rules
/// the results point at by id and index, a level from the three SARIF has, a message text.
#[test]
fn sarif_is_minimal_and_consistent() {
    let sarif = run(Severity::Info).sarif();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "rolesmith");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), findings::CHECKS.len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        assert!(
            result["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        assert!(result["locations"][0]["logicalLocations"][0]["name"].is_string());
    }
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["error", "note", "note", "warning"]);
    assert_eq!(
        results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "arn:aws:iam::111122223333:role/a-admin"
    );
}

#[test]
fn managed_policy_messages_name_the_policy_once() {
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess".to_string();
    let local = format!("arn:aws:iam::{ACCOUNT}:policy/all");
    let mut attached = role("attached", &[], "2026-11-30T00:00:00Z");
    attached.role.managed_policy_arns = vec![admin.clone(), local.clone()];
    let scan = AccountScan {
        roles: vec![attached],
        managed_documents: BTreeMap::from([(local.clone(), ADMIN.to_string())]),
        ..AccountScan::default()
    };
    let report = report(
        &scan,
        ACCOUNT,
        &findings::Settings::default(),
        Severity::Low,
        at("2026-12-01T00:00:00Z"),
    );
    let texts: Vec<String> = report.rows.iter().map(Row::text).collect();
    assert_eq!(
        texts,
        [
            format!(
                "managed policy {local} allows every action on every resource (Action \"*\", Resource \"*\"): the role is an administrator; attach policies that grant only what it needs"
            ),
            format!(
                "managed policy {admin} makes the role an administrator; attach policies that grant only what it needs"
            ),
        ]
    );
    assert_eq!(
        report.summary(),
        "scanned 1 role: 2 findings on 1 role (2 high) at or above low"
    );
}

#[test]
fn service_linked_roles_are_never_unused() {
    let mut linked = role("AWSServiceRoleForSupport", &[], "2020-01-01T00:00:00Z");
    linked.role.path = "/aws-service-role/support.amazonaws.com/".into();
    let mut own = role("old", &[], "2020-01-01T00:00:00Z");
    own.role.path = "/aws-service-role-lookalike/".into();
    let scan = AccountScan {
        roles: vec![linked, own],
        ..AccountScan::default()
    };
    let rows = report(
        &scan,
        ACCOUNT,
        &findings::Settings::default(),
        Severity::Low,
        at("2026-12-01T00:00:00Z"),
    )
    .rows;
    let found: Vec<(Option<String>, &str)> = rows
        .into_iter()
        .map(|r| (r.role_name, r.check.id()))
        .collect();
    assert_eq!(found, [(Some("old".to_string()), "unused-role")]);
}
