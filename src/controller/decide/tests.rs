//! Every transition a reconcile can cause, one row each: status, Events, requeue.

use super::*;
use crate::admission::{Rule, Severity};
use crate::drift::Difference;
use crate::status::{DRIFTED, READY, RECONCILING, STALLED, WARNINGS};

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn role() -> RoleIdentity {
    RoleIdentity {
        name: Some("team.app".into()),
        arn: Some("arn:aws:iam::123456789012:role/team.app".into()),
        id: Some("AROAEXAMPLE".into()),
        last_used: None,
        account: Some("123456789012".into()),
        instance_profile_arn: None,
    }
}

fn synced(changes: &[&'static str], warnings: &[&str]) -> Attempt {
    Attempt {
        role: role(),
        changes: changes.to_vec(),
        findings: Some(
            warnings
                .iter()
                .map(|w| Finding::new(Rule::AdminAccess, Severity::High, "", *w))
                .collect(),
        ),
        ..Attempt::default()
    }
}

fn failed(category: Category, message: &str) -> Attempt {
    Attempt {
        failure: Some(Failure {
            category,
            message: message.into(),
            retry_after: None,
        }),
        ..Attempt::default()
    }
}

fn condition<'a>(status: &'a IamRoleStatus, kind: &str) -> (&'a str, &'a str) {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| (c.status.as_str(), c.reason.as_str()))
        .unwrap_or(("missing", ""))
}

/// (reason, warning?) of each Event.
fn events(decision: &Decision) -> Vec<(String, bool)> {
    decision
        .events
        .iter()
        .map(|n| (n.reason.clone(), n.warning))
        .collect()
}

struct Row {
    name: &'static str,
    prior: Option<Attempt>,
    now: Attempt,
    ready: (&'static str, &'static str),
    stalled: &'static str,
    reconciling: &'static str,
    events: Vec<(&'static str, bool)>,
    requeue: Requeue,
    write: bool,
}

/// A row: its name, the prior and current attempt, (Ready, Stalled, Reconciling), the Events,
/// and (requeue, status written).
fn row(
    name: &'static str,
    prior: Option<Attempt>,
    now: Attempt,
    conditions: ((&'static str, &'static str), &'static str, &'static str),
    events: Vec<(&'static str, bool)>,
    (requeue, write): (Requeue, bool),
) -> Row {
    let (ready, stalled, reconciling) = conditions;
    Row {
        name,
        prior,
        now,
        ready,
        stalled,
        reconciling,
        events,
        requeue,
        write,
    }
}

#[test]
fn transitions() {
    let throttled = || failed(Category::IamTransient, "Throttling: Rate exceeded");
    let rejected = || failed(Category::IamRejected, "MalformedPolicyDocument");
    let rows = vec![
        row(
            "first create",
            None,
            synced(&["CreateRole", "PutRolePolicy"], &[]),
            (("True", "Synced"), "False", "False"),
            vec![("Synced", false)],
            (Requeue::DriftCheck, true),
        ),
        row(
            "in sync again: nothing to announce",
            Some(synced(&[], &[])),
            synced(&[], &[]),
            (("True", "Synced"), "False", "False"),
            vec![],
            (Requeue::DriftCheck, true),
        ),
        row(
            "drift repaired",
            Some(synced(&[], &[])),
            synced(&["PutRolePolicy"], &[]),
            (("True", "Synced"), "False", "False"),
            vec![("Synced", false)],
            (Requeue::DriftCheck, true),
        ),
        row(
            "transient failure",
            Some(synced(&[], &[])),
            throttled(),
            (("False", "IamTransient"), "False", "True"),
            vec![("IamTransient", true)],
            (Requeue::Retry, true),
        ),
        row(
            "the same transient failure again: no new Event, no write",
            Some(throttled()),
            throttled(),
            (("False", "IamTransient"), "False", "True"),
            vec![],
            (Requeue::Retry, false),
        ),
        row(
            "recovered",
            Some(throttled()),
            synced(&[], &[]),
            (("True", "Synced"), "False", "False"),
            vec![("Synced", false)],
            (Requeue::DriftCheck, true),
        ),
        row(
            "user error",
            Some(synced(&[], &[])),
            rejected(),
            (("False", "IamRejected"), "True", "False"),
            vec![("IamRejected", true)],
            (Requeue::DriftCheck, true),
        ),
        row(
            "risky settings announced once",
            Some(synced(&[], &[])),
            synced(&[], &["admin"]),
            (("True", "Synced"), "False", "False"),
            vec![("RiskySettings", true)],
            (Requeue::DriftCheck, true),
        ),
        row(
            "the same risky settings: no new Event",
            Some(synced(&[], &["admin"])),
            synced(&[], &["admin"]),
            (("True", "Synced"), "False", "False"),
            vec![],
            (Requeue::DriftCheck, true),
        ),
        row(
            "warnings survive a failure that came before the checks",
            Some(synced(&[], &["admin"])),
            throttled(),
            (("False", "IamTransient"), "False", "True"),
            vec![("IamTransient", true)],
            (Requeue::Retry, true),
        ),
    ];
    for row in rows {
        let prior = row
            .prior
            .as_ref()
            .map(|attempt| decide(attempt, None, Some(1), at(0)).status);
        let decision = decide(&row.now, prior.as_ref(), Some(1), at(30));
        let name = row.name;
        assert_eq!(condition(&decision.status, READY), row.ready, "{name}");
        assert_eq!(
            condition(&decision.status, STALLED).0,
            row.stalled,
            "{name}"
        );
        assert_eq!(
            condition(&decision.status, RECONCILING).0,
            row.reconciling,
            "{name}"
        );
        let want: Vec<(String, bool)> = row
            .events
            .iter()
            .map(|(reason, warning)| (reason.to_string(), *warning))
            .collect();
        assert_eq!(events(&decision), want, "{name}");
        assert_eq!(decision.requeue, row.requeue, "{name}");
        assert_eq!(decision.write_status, row.write, "{name}");
    }
}

#[test]
fn warnings_are_kept_when_unknown() {
    let warned = decide(&synced(&[], &["admin"]), None, Some(1), at(0)).status;
    let after = decide(
        &failed(Category::IamTransient, "5xx"),
        Some(&warned),
        Some(1),
        at(5),
    );
    assert_eq!(
        condition(&after.status, WARNINGS),
        ("True", "RiskySettings")
    );
    assert_eq!(
        after.status.role_arn, warned.role_arn,
        "the role stays known"
    );
    assert_eq!(after.status.role_name, warned.role_name);
}

#[test]
fn the_events_say_what_changed() {
    let decision = decide(
        &synced(&["CreateRole", "PutRolePolicy", "AttachRolePolicy"], &[]),
        None,
        Some(1),
        at(0),
    );
    assert_eq!(
        decision.events[0].text,
        "applied 3 IAM change(s): CreateRole, PutRolePolicy, AttachRolePolicy"
    );
}

fn drifted(fields: &[&str]) -> Vec<Difference> {
    fields
        .iter()
        .map(|f| Difference {
            field: f.to_string(),
            summary: "differs".into(),
        })
        .collect()
}

#[test]
fn drift_is_recorded_announced_and_cleared() {
    let in_sync = decide(&synced(&[], &[]), None, Some(1), at(0)).status;
    assert_eq!(condition(&in_sync, DRIFTED), ("False", "InSync"));

    // Observe: every difference is listed, announced once, Ready says Observed.
    let observed = Attempt {
        differences: drifted(&["description", "tags.team"]),
        observing: true,
        ..synced(&[], &[])
    };
    let first = decide(&observed, Some(&in_sync), Some(1), at(10));
    assert_eq!(condition(&first.status, DRIFTED), ("True", "Drifted"));
    assert_eq!(condition(&first.status, READY), ("True", "Observed"));
    assert_eq!(first.status.drift.len(), 2);
    assert_eq!(
        events(&first),
        vec![("Observed".to_string(), false), ("Drift".to_string(), true)]
    );
    let again = decide(&observed, Some(&first.status), Some(1), at(20));
    assert_eq!(events(&again), vec![], "the same drift is announced once");
    let since = |s: &IamRoleStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == DRIFTED)
            .map(|c| c.last_transition_time.clone())
    };
    assert_eq!(since(&again.status), since(&first.status));

    // Manage: a repair of drift clears it and records what was undone.
    let repaired = Attempt {
        changes: vec!["UpdateRole"],
        differences: drifted(&["description"]),
        ..synced(&[], &[])
    };
    let after = decide(&repaired, Some(&first.status), Some(1), at(30));
    assert!(after.status.drift.is_empty());
    assert_eq!(condition(&after.status, DRIFTED), ("False", "InSync"));
    let repair = after.status.last_repair.clone().expect("repair recorded");
    assert_eq!(repair.fields, vec!["description".to_string()]);
    assert!(events(&after).contains(&("Drift".to_string(), true)));

    // A spec edit is not drift: no repair recorded, no Drift Event.
    let edited = Attempt {
        spec_changed: true,
        ..repaired.clone()
    };
    let after_edit = decide(&edited, Some(&in_sync), Some(2), at(40));
    assert_eq!(after_edit.status.last_repair, None);
    assert!(
        !events(&after_edit)
            .iter()
            .any(|(reason, _)| reason == "Drift")
    );

    // A repair that failed leaves the drift listed.
    let failed_repair = Attempt {
        differences: drifted(&["trust"]),
        ..failed(Category::IamRejected, "MalformedPolicyDocument")
    };
    let stuck = decide(&failed_repair, Some(&in_sync), Some(1), at(50));
    assert_eq!(condition(&stuck.status, DRIFTED), ("True", "Drifted"));
}
