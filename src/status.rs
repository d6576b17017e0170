//! The status an IamRole should have after a reconcile: pure, so every transition is table-tested.
//!
//! Conditions follow kstatus (what Flux, `kubectl wait` and Argo CD read): `Ready` is the summary,
//! `Reconciling` is True while work or a transient retry is in progress, `Stalled` is True when
//! only a spec change can help. `lastTransitionTime` moves only when a condition's status changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::admission::Finding;
use crate::api::IamRoleStatus;
use crate::error::{Category, truncate};

mod guardrail;
pub use guardrail::{guardrail_status, refused_by, refused_by_a_guardrail};

pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";
pub const WARNINGS: &str = "Warnings";
/// True while IAM differs from the spec (`status.drift` lists how).
pub const DRIFTED: &str = "Drifted";

/// How a reconcile ended, as far as the user is concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// IAM matches the spec; `changes` writes were needed to get there.
    Synced { changes: usize },
    /// A transient failure: rolesmith retries by itself.
    Retrying { category: Category, message: String },
    /// A user error: nothing more happens until the spec (or the world) changes.
    Blocked { category: Category, message: String },
}

/// What is known about the role in IAM.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoleIdentity {
    /// Only once a role of that name exists and belongs to the object; else status keeps the
    /// name it had.
    pub name: Option<String>,
    pub arn: Option<String>,
    pub id: Option<String>,
    /// IAM's RoleLastUsed, when the reconcile read the role and IAM said anything.
    pub last_used: Option<crate::model::LastUsed>,
    /// The account the role lives in, once it exists there (like `name`).
    pub account: Option<String>,
    /// The instance profile that holds the role; `None` after a sync means there is none.
    pub instance_profile_arn: Option<String>,
}

pub fn next_status(
    current: Option<&IamRoleStatus>,
    generation: Option<i64>,
    outcome: &Outcome,
    role: &RoleIdentity,
    findings: &[Finding],
    now: jiff::Timestamp,
) -> IamRoleStatus {
    let previous = current.cloned().unwrap_or_default();
    let conditions = conditions(
        &previous.conditions,
        generation,
        outcome,
        findings,
        now,
        "the IAM role matches the spec",
    );
    let synced = matches!(outcome, Outcome::Synced { .. });
    IamRoleStatus {
        role_arn: role.arn.clone().or(previous.role_arn),
        role_id: role.id.clone().or(previous.role_id),
        role_name: role.name.clone().or(previous.role_name),
        observed_generation: generation,
        conditions,
        last_sync_time: if synced {
            Some(now.to_string())
        } else {
            previous.last_sync_time
        },
        drift: previous.drift,
        last_repair: previous.last_repair,
        last_used: role
            .last_used
            .clone()
            .map(Into::into)
            .or(previous.last_used),
        account_id: role.account.clone().or(previous.account_id),
        pod_identity_associations: previous.pod_identity_associations,
        instance_profile_arn: if synced {
            role.instance_profile_arn.clone()
        } else {
            role.instance_profile_arn
                .clone()
                .or(previous.instance_profile_arn)
        },
    }
}

/// The kstatus conditions (Ready, Reconciling, Stalled, Warnings) after a reconcile, for any
/// kind: `in_sync` is the Ready message when IAM matches the spec. Other conditions in
/// `previous` are kept.
pub fn conditions(
    previous: &[Condition],
    generation: Option<i64>,
    outcome: &Outcome,
    findings: &[Finding],
    now: jiff::Timestamp,
    in_sync: &str,
) -> Vec<Condition> {
    let (ready, reconciling, stalled) = match outcome {
        Outcome::Synced { .. } => (
            cond(READY, true, "Synced", in_sync),
            cond(RECONCILING, false, "Synced", "no work in progress"),
            cond(STALLED, false, "Synced", "no error"),
        ),
        Outcome::Retrying { category, message } => (
            cond(READY, false, category.as_str(), message),
            cond(
                RECONCILING,
                true,
                category.as_str(),
                &retry_message(message),
            ),
            cond(
                STALLED,
                false,
                category.as_str(),
                "retrying a transient error",
            ),
        ),
        Outcome::Blocked { category, message } => (
            cond(READY, false, category.as_str(), message),
            cond(
                RECONCILING,
                false,
                category.as_str(),
                "waiting for a change of the spec",
            ),
            cond(STALLED, true, category.as_str(), message),
        ),
    };
    let warning = if findings.is_empty() {
        cond(WARNINGS, false, "NoWarnings", "no risky settings found")
    } else {
        let text: Vec<String> = findings.iter().map(ToString::to_string).collect();
        cond(WARNINGS, true, "RiskySettings", &text.join("; "))
    };
    let mut conditions: Vec<Condition> = [ready, reconciling, stalled, warning]
        .into_iter()
        .map(|draft| draft.into_condition(previous, generation, now))
        .collect();
    // Conditions set by others (Drifted) stay until they set them again.
    conditions.extend(
        previous
            .iter()
            .filter(|c| ![READY, RECONCILING, STALLED, WARNINGS].contains(&c.type_.as_str()))
            .cloned(),
    );
    conditions
}

fn retry_message(message: &str) -> String {
    format!("retrying with backoff after: {message}")
}

struct Draft {
    kind: &'static str,
    status: bool,
    reason: String,
    message: String,
}

fn cond(kind: &'static str, status: bool, reason: &str, message: &str) -> Draft {
    Draft {
        kind,
        status,
        reason: reason.to_string(),
        message: truncate(message, 2048),
    }
}

impl Draft {
    fn into_condition(
        self,
        previous: &[Condition],
        generation: Option<i64>,
        now: jiff::Timestamp,
    ) -> Condition {
        let status = if self.status { "True" } else { "False" }.to_string();
        let since = previous
            .iter()
            .find(|c| c.type_ == self.kind && c.status == status)
            .map(|c| c.last_transition_time.clone())
            .unwrap_or(Time(now));
        Condition {
            type_: self.kind.to_string(),
            status,
            reason: self.reason,
            message: self.message,
            observed_generation: generation,
            last_transition_time: since,
        }
    }
}

/// Sets one condition, keeping its `lastTransitionTime` when its status does not change.
pub fn set_condition(
    status: &mut IamRoleStatus,
    kind: &'static str,
    value: bool,
    reason: &str,
    message: &str,
    now: jiff::Timestamp,
) {
    let condition = cond(kind, value, reason, message).into_condition(
        &status.conditions,
        status.observed_generation,
        now,
    );
    match status.conditions.iter_mut().find(|c| c.type_ == kind) {
        Some(existing) => *existing = condition,
        None => status.conditions.push(condition),
    }
}

/// The Ready condition of a status, if any.
pub fn ready_condition(status: Option<&IamRoleStatus>) -> Option<&Condition> {
    status?.conditions.iter().find(|c| c.type_ == READY)
}

/// True when the two statuses differ in anything but `lastSyncTime`: used to skip writes.
pub fn differs_materially(a: Option<&IamRoleStatus>, b: &IamRoleStatus) -> bool {
    match a {
        None => true,
        Some(a) => {
            let mut a = a.clone();
            a.last_sync_time = b.last_sync_time.clone();
            a != *b
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    fn role() -> RoleIdentity {
        RoleIdentity {
            name: Some("ns-app".into()),
            arn: Some("arn:aws:iam::123456789012:role/ns-app".into()),
            id: Some("AROAEXAMPLE".into()),
            last_used: None,
            account: Some("123456789012".into()),
            instance_profile_arn: None,
        }
    }

    /// lastUsed follows IAM when it says something, and is kept when a reconcile read nothing.
    #[test]
    fn last_used_is_recorded_and_kept() {
        let used = crate::model::LastUsed {
            date: Some("2026-12-01T10:00:00Z".into()),
            region: Some("eu-west-1".into()),
        };
        let identity = RoleIdentity {
            last_used: Some(used),
            ..role()
        };
        let first = next_status(
            None,
            Some(1),
            &Outcome::Synced { changes: 0 },
            &identity,
            &[],
            at(0),
        );
        let want = crate::api::RoleLastUsed {
            last_used_date: Some("2026-12-01T10:00:00Z".into()),
            region: Some("eu-west-1".into()),
        };
        assert_eq!(first.last_used.as_ref(), Some(&want));
        let failed = Outcome::Retrying {
            category: Category::IamTransient,
            message: "x".into(),
        };
        let later = next_status(
            Some(&first),
            Some(1),
            &failed,
            &RoleIdentity::default(),
            &[],
            at(5),
        );
        assert_eq!(later.last_used.as_ref(), Some(&want));
    }

    fn get<'a>(status: &'a IamRoleStatus, kind: &str) -> &'a Condition {
        status
            .conditions
            .iter()
            .find(|c| c.type_ == kind)
            .unwrap_or_else(|| panic!("no {kind} condition"))
    }

    fn truth(status: &IamRoleStatus) -> (String, String, String) {
        (
            get(status, READY).status.clone(),
            get(status, RECONCILING).status.clone(),
            get(status, STALLED).status.clone(),
        )
    }

    #[test]
    fn conditions_per_outcome() {
        let transient = Outcome::Retrying {
            category: Category::IamTransient,
            message: "Throttling".into(),
        };
        let blocked = Outcome::Blocked {
            category: Category::OwnershipConflict,
            message: "not ours".into(),
        };
        let cases = [
            (
                Outcome::Synced { changes: 2 },
                ("True", "False", "False"),
                "Synced",
            ),
            (transient, ("False", "True", "False"), "IamTransient"),
            (blocked, ("False", "False", "True"), "OwnershipConflict"),
        ];
        for (outcome, (ready, reconciling, stalled), reason) in cases {
            let status = next_status(None, Some(3), &outcome, &role(), &[], at(0));
            assert_eq!(
                truth(&status),
                (ready.into(), reconciling.into(), stalled.into()),
                "{outcome:?}"
            );
            assert_eq!(get(&status, READY).reason, reason);
            assert_eq!(status.observed_generation, Some(3));
            assert_eq!(get(&status, READY).observed_generation, Some(3));
        }
    }

    #[test]
    fn transition_time_kept_while_status_unchanged_and_moved_on_change() {
        let synced = Outcome::Synced { changes: 0 };
        let first = next_status(None, Some(1), &synced, &role(), &[], at(0));
        let second = next_status(Some(&first), Some(1), &synced, &role(), &[], at(60));
        assert_eq!(
            get(&second, READY).last_transition_time,
            get(&first, READY).last_transition_time
        );
        assert_eq!(second.last_sync_time, Some(at(60).to_string()));

        let failing = Outcome::Blocked {
            category: Category::InvalidSpec,
            message: "bad".into(),
        };
        let third = next_status(Some(&second), Some(2), &failing, &role(), &[], at(120));
        assert_eq!(get(&third, READY).last_transition_time, Time(at(120)));
        assert_eq!(
            third.last_sync_time, second.last_sync_time,
            "sync time only on success"
        );
    }

    #[test]
    fn identity_survives_errors_and_warnings_show() {
        let synced = next_status(
            None,
            Some(1),
            &Outcome::Synced { changes: 1 },
            &role(),
            &[],
            at(0),
        );
        let unknown = RoleIdentity::default();
        let retry = Outcome::Retrying {
            category: Category::IamTransient,
            message: "5xx".into(),
        };
        let warned = vec![crate::admission::Finding::new(
            crate::admission::Rule::CrossAccountNoExternalId,
            crate::admission::Severity::High,
            "spec.assumeRolePolicy",
            "trust allows another account without sts:ExternalId",
        )];
        let next = next_status(Some(&synced), Some(1), &retry, &unknown, &warned, at(5));
        assert_eq!(next.role_arn, synced.role_arn);
        assert_eq!(get(&next, WARNINGS).status, "True");
        assert!(get(&next, WARNINGS).message.contains("ExternalId"));
    }

    #[test]
    fn material_difference_ignores_sync_time_only() {
        let synced = Outcome::Synced { changes: 0 };
        let first = next_status(None, Some(1), &synced, &role(), &[], at(0));
        let later = next_status(Some(&first), Some(1), &synced, &role(), &[], at(60));
        assert!(!differs_materially(Some(&first), &later));
        let newer = next_status(Some(&first), Some(2), &synced, &role(), &[], at(60));
        assert!(differs_materially(Some(&first), &newer));
        assert!(differs_materially(None, &first));
    }

    /// A name the role never got (refused, or not created yet) must not reach status: deletion
    /// removes the role status names.
    #[test]
    fn role_name_only_once_the_role_exists() {
        let refused = Outcome::Blocked {
            category: Category::Forbidden,
            message: "not allowed".into(),
        };
        let never_created = next_status(
            None,
            Some(1),
            &refused,
            &RoleIdentity::default(),
            &[],
            at(0),
        );
        assert_eq!(never_created.role_name, None);
        let created = next_status(
            Some(&never_created),
            Some(2),
            &Outcome::Synced { changes: 3 },
            &role(),
            &[],
            at(5),
        );
        assert_eq!(created.role_name.as_deref(), Some("ns-app"));
        let later_refused = next_status(
            Some(&created),
            Some(3),
            &refused,
            &RoleIdentity::default(),
            &[],
            at(9),
        );
        assert_eq!(later_refused.role_name.as_deref(), Some("ns-app"));
        assert_eq!(later_refused.role_arn, created.role_arn);
    }
}
