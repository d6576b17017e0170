//! What one IamPolicy reconcile means for the object: its next status and the Events. Pure.

use crate::admission::Finding;
use crate::api::IamPolicyStatus;
use crate::controller::{Failure, Note};
use crate::status::{self, WARNINGS};

/// What a reconcile found and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyAttempt {
    /// The policy's name, once it is known to exist and to be this object's.
    pub name: Option<String>,
    pub arn: Option<String>,
    pub policy_id: Option<String>,
    pub default_version_id: Option<String>,
    pub attachment_count: Option<i32>,
    /// The IAM writes made, in order.
    pub changes: Vec<&'static str>,
    pub findings: Vec<Finding>,
    pub failure: Option<Failure>,
}

pub type PolicyDecision = crate::controller::decide::KindDecision<IamPolicyStatus>;

pub fn decide_policy(
    attempt: &PolicyAttempt,
    prior: Option<&IamPolicyStatus>,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> PolicyDecision {
    let previous = prior.cloned().unwrap_or_default();
    let outcome =
        crate::controller::decide::outcome_of(attempt.failure.as_ref(), attempt.changes.len());
    let mut conditions = status::conditions(
        &previous.conditions,
        generation,
        &outcome,
        &attempt.findings,
        now,
        "the IAM policy matches the spec",
    );
    // A failed reconcile did not look at the document's risks: the prior finding stands.
    if attempt.failure.is_some()
        && let Some(prior_warning) = previous.conditions.iter().find(|c| c.type_ == WARNINGS)
        && let Some(slot) = conditions.iter_mut().find(|c| c.type_ == WARNINGS)
    {
        *slot = prior_warning.clone();
    }
    let next = IamPolicyStatus {
        policy_arn: attempt.arn.clone().or(previous.policy_arn.clone()),
        policy_id: attempt.policy_id.clone().or(previous.policy_id.clone()),
        policy_name: attempt.name.clone().or(previous.policy_name.clone()),
        default_version_id: attempt
            .default_version_id
            .clone()
            .or(previous.default_version_id.clone()),
        attachment_count: attempt.attachment_count.or(previous.attachment_count),
        observed_generation: generation,
        conditions,
    };
    let mut events = Vec::new();
    let name = next.policy_name.as_deref().unwrap_or("(not created yet)");
    match &attempt.failure {
        None if !attempt.changes.is_empty() => events.push(Note {
            warning: false,
            reason: "Synced".into(),
            action: "Apply",
            text: format!("IAM policy {name}: {}", attempt.changes.join(", ")),
        }),
        None => {}
        Some(failure) => events.extend(crate::controller::decide::failure_note(
            failure,
            &previous.conditions,
            &next.conditions,
            "Apply",
        )),
    }
    PolicyDecision {
        write_status: prior != Some(&next),
        status: next,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::{Rule, Severity};
    use crate::error::Category;
    use crate::status::READY;

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn created() -> PolicyAttempt {
        PolicyAttempt {
            name: Some("team-a.shared".into()),
            arn: Some("arn:aws:iam::123456789012:policy/team-a.shared".into()),
            policy_id: Some("ANPA".into()),
            default_version_id: Some("v1".into()),
            attachment_count: Some(0),
            changes: vec!["CreatePolicy"],
            findings: Vec::new(),
            failure: None,
        }
    }

    fn ready(status: &IamPolicyStatus) -> (String, String) {
        let c = status.conditions.iter().find(|c| c.type_ == READY).unwrap();
        (c.status.clone(), c.reason.clone())
    }

    #[test]
    fn transitions() {
        let first = decide_policy(&created(), None, Some(1), now());
        assert!(first.write_status);
        assert_eq!(ready(&first.status), ("True".into(), "Synced".into()));
        assert_eq!(first.status.default_version_id.as_deref(), Some("v1"));
        assert_eq!(first.events.len(), 1);
        assert_eq!(
            first.events[0].text,
            "IAM policy team-a.shared: CreatePolicy"
        );

        // Nothing changed: nothing to write, nothing to say.
        let quiet = PolicyAttempt {
            changes: Vec::new(),
            ..created()
        };
        let again = decide_policy(&quiet, Some(&first.status), Some(1), now());
        assert!(!again.write_status && again.events.is_empty(), "{again:?}");

        // A transient failure keeps what is known, says so once.
        let failing = PolicyAttempt {
            failure: Some(Failure {
                category: Category::IamTransient,
                message: "throttled".into(),
                retry_after: None,
            }),
            ..PolicyAttempt::default()
        };
        let failed = decide_policy(&failing, Some(&first.status), Some(1), now());
        assert_eq!(
            ready(&failed.status),
            ("False".into(), "IamTransient".into())
        );
        assert_eq!(failed.status.policy_arn, first.status.policy_arn);
        assert_eq!(failed.events.len(), 1);
        assert!(failed.events[0].warning);
        let repeated = decide_policy(&failing, Some(&failed.status), Some(1), now());
        assert!(repeated.events.is_empty(), "announced once");

        // Held deletion: Reconciling with PolicyInUse.
        let held = PolicyAttempt {
            failure: Some(Failure {
                category: Category::PolicyInUse,
                message: "still attached".into(),
                retry_after: None,
            }),
            ..PolicyAttempt::default()
        };
        let held = decide_policy(&held, Some(&first.status), Some(1), now());
        let reconciling = held
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == status::RECONCILING)
            .unwrap();
        assert_eq!(
            (reconciling.status.as_str(), reconciling.reason.as_str()),
            ("True", "PolicyInUse")
        );
    }

    #[test]
    fn warnings_survive_a_failed_reconcile() {
        let risky = PolicyAttempt {
            findings: vec![Finding::new(
                Rule::AdminAccess,
                Severity::High,
                "spec.document",
                "admin",
            )],
            ..created()
        };
        let first = decide_policy(&risky, None, Some(1), now());
        let failing = PolicyAttempt {
            failure: Some(Failure {
                category: Category::IamTransient,
                message: "x".into(),
                retry_after: None,
            }),
            ..PolicyAttempt::default()
        };
        let next = decide_policy(&failing, Some(&first.status), Some(1), now());
        let warning = next
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == WARNINGS)
            .unwrap();
        assert_eq!(warning.status, "True");
    }
}
