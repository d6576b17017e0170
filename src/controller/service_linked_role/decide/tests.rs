use super::*;
use crate::error::Category;
use crate::status::{READY, RECONCILING, STALLED};

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000).unwrap()
}

fn role() -> ObservedServiceLinkedRole {
    ObservedServiceLinkedRole {
        name: "AWSServiceRoleForElasticBeanstalk".into(),
        arn: "arn:aws:iam::123456789012:role/aws-service-role/elasticbeanstalk.amazonaws.com/AWSServiceRoleForElasticBeanstalk".into(),
        path: "/aws-service-role/elasticbeanstalk.amazonaws.com/".into(),
    }
}

fn condition<'a>(status: &'a IamServiceLinkedRoleStatus, kind: &str) -> (&'a str, &'a str) {
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == kind)
        .unwrap_or_else(|| panic!("no {kind} in {status:?}"));
    (c.status.as_str(), c.reason.as_str())
}

fn failed(category: Category, message: &str) -> Option<Failure> {
    Some(Failure {
        category,
        message: message.into(),
        retry_after: None,
    })
}

#[test]
fn created_adopted_refused_and_deleting() {
    let created = SlrAttempt {
        role: Some(role()),
        changes: vec!["CreateServiceLinkedRole"],
        ..SlrAttempt::default()
    };
    let adopted = SlrAttempt {
        role: Some(role()),
        adopted: true,
        ..SlrAttempt::default()
    };
    let refused = SlrAttempt {
        failure: failed(Category::OwnershipConflict, "exists; set spec.adopt: true"),
        ..SlrAttempt::default()
    };
    let deleting = SlrAttempt {
        failure: failed(Category::IamTransient, "IAM is deleting it"),
        deletion: Some(ServiceLinkedRoleDeletion {
            task_id: "task/1".into(),
            status: "IN_PROGRESS".into(),
            reason: None,
        }),
        ..SlrAttempt::default()
    };
    let deletion_failed = SlrAttempt {
        failure: failed(Category::IamRejected, "in use by an environment"),
        deletion: Some(ServiceLinkedRoleDeletion {
            task_id: "task/1".into(),
            status: "FAILED".into(),
            reason: Some("in use by an environment".into()),
        }),
        ..SlrAttempt::default()
    };
    // (attempt, Ready, Reconciling, Stalled, event reason, adopted)
    let cases = [
        (
            &created,
            ("True", "Synced"),
            "False",
            "False",
            Some("Created"),
            false,
        ),
        (
            &adopted,
            ("True", "Synced"),
            "False",
            "False",
            Some("Adopted"),
            true,
        ),
        (
            &refused,
            ("False", "OwnershipConflict"),
            "False",
            "True",
            Some("OwnershipConflict"),
            false,
        ),
        (
            &deleting,
            ("False", "IamTransient"),
            "True",
            "False",
            Some("IamTransient"),
            false,
        ),
        (
            &deletion_failed,
            ("False", "IamRejected"),
            "False",
            "True",
            Some("IamRejected"),
            false,
        ),
    ];
    for (attempt, ready, reconciling, stalled, event, was_adopted) in cases {
        let decision = decide_slr(attempt, None, Some(1), now());
        let status = &decision.status;
        assert_eq!(condition(status, READY), ready, "{attempt:?}");
        assert_eq!(condition(status, RECONCILING).0, reconciling, "{attempt:?}");
        assert_eq!(condition(status, STALLED).0, stalled, "{attempt:?}");
        assert_eq!(
            decision.events.first().map(|e| e.reason.as_str()),
            event,
            "{attempt:?}"
        );
        assert_eq!(status.adopted, was_adopted);
        assert_eq!(status.deletion, attempt.deletion);
        assert!(decision.write_status);
    }
}

/// A role once recorded stays recorded through failures (deletion must find it), and the same
/// answer twice writes nothing and announces nothing.
#[test]
fn status_keeps_the_role_and_repeats_nothing() {
    let adopted = SlrAttempt {
        role: Some(role()),
        adopted: true,
        ..SlrAttempt::default()
    };
    let first = decide_slr(&adopted, None, Some(1), now());
    let again = decide_slr(&adopted, Some(&first.status), Some(1), now());
    assert!(!again.write_status);
    assert!(again.events.is_empty());

    let failing = SlrAttempt {
        failure: failed(Category::IamTransient, "Throttling"),
        ..SlrAttempt::default()
    };
    let failed_once = decide_slr(&failing, Some(&first.status), Some(1), now());
    assert_eq!(
        failed_once.status.role_name.as_deref(),
        Some(role().name.as_str())
    );
    assert!(failed_once.status.adopted);
    assert_eq!(failed_once.events.len(), 1);
    let failed_twice = decide_slr(&failing, Some(&failed_once.status), Some(1), now());
    assert!(failed_twice.events.is_empty());
    assert!(!failed_twice.write_status);
}

/// `creating` holds from the create call until a role is recorded, through failures (an answer
/// lost on the way back leaves a role IAM made), and goes once the role is known.
#[test]
fn creating_lasts_until_the_role_is_recorded() {
    let lost = SlrAttempt {
        failure: failed(Category::IamTransient, "connection reset"),
        creating: true,
        ..SlrAttempt::default()
    };
    let after_lost = decide_slr(&lost, None, Some(1), now());
    assert!(after_lost.status.creating);
    let other_failure = SlrAttempt {
        failure: failed(Category::Kube, "timeout"),
        ..SlrAttempt::default()
    };
    let still = decide_slr(&other_failure, Some(&after_lost.status), Some(1), now());
    assert!(still.status.creating);
    let found = SlrAttempt {
        role: Some(role()),
        ..SlrAttempt::default()
    };
    let recorded = decide_slr(&found, Some(&still.status), Some(1), now());
    assert!(!recorded.status.creating);
    assert_eq!(
        recorded.status.role_name.as_deref(),
        Some(role().name.as_str())
    );
}
