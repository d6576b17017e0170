use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

use super::{Candidate, Step, holder, next_step, release_spec};

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn me() -> Candidate {
    Candidate {
        identity: "pod-a".into(),
        lease_seconds: 15,
    }
}

/// A lease renewed at `renewed` (seconds after the epoch used by `at`).
fn lease(holder: &str, renewed: i64, duration: i32, transitions: i32) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(holder.into()),
        lease_duration_seconds: Some(duration),
        acquire_time: Some(MicroTime(at(renewed - 100))),
        renew_time: Some(MicroTime(at(renewed))),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    }
}

/// What a step amounts to, for compact tables.
#[derive(Debug, PartialEq)]
enum Kind {
    Acquire,
    Renew,
    Wait,
    Lost,
}

fn kind(step: &Step) -> Kind {
    match step {
        Step::Write { takeover: true, .. } => Kind::Acquire,
        Step::Write {
            takeover: false, ..
        } => Kind::Renew,
        Step::Wait { .. } => Kind::Wait,
        Step::Lost { .. } => Kind::Lost,
    }
}

#[test]
fn what_a_candidate_and_a_leader_do() {
    let no_times = LeaseSpec {
        holder_identity: Some("pod-b".into()),
        lease_duration_seconds: Some(15),
        ..LeaseSpec::default()
    };
    let acquired_only = LeaseSpec {
        renew_time: None,
        ..lease("pod-b", 0, 15, 0)
    };
    let no_duration = LeaseSpec {
        lease_duration_seconds: None,
        ..lease("pod-b", 0, 15, 0)
    };
    let no_holder = LeaseSpec {
        holder_identity: None,
        ..lease("", 0, 15, 0)
    };
    // (case, lease, leading, now, expected)
    let table: Vec<(&str, Option<LeaseSpec>, bool, i64, Kind)> = vec![
        ("absent: create it", None, false, 0, Kind::Acquire),
        (
            "absent while leading: deleted under us",
            None,
            true,
            0,
            Kind::Lost,
        ),
        (
            "ours: renew",
            Some(lease("pod-a", 0, 15, 3)),
            true,
            5,
            Kind::Renew,
        ),
        (
            "ours from before: renew",
            Some(lease("pod-a", 0, 15, 3)),
            false,
            5,
            Kind::Renew,
        ),
        (
            "ours even if expired",
            Some(lease("pod-a", 0, 15, 3)),
            false,
            60,
            Kind::Renew,
        ),
        (
            "another holder, valid",
            Some(lease("pod-b", 0, 15, 0)),
            false,
            10,
            Kind::Wait,
        ),
        (
            "another holder, exactly at expiry",
            Some(lease("pod-b", 0, 15, 0)),
            false,
            15,
            Kind::Wait,
        ),
        (
            "another holder, expired",
            Some(lease("pod-b", 0, 15, 0)),
            false,
            16,
            Kind::Acquire,
        ),
        (
            "another holder's short lease, expired",
            Some(lease("pod-b", 0, 2, 0)),
            false,
            3,
            Kind::Acquire,
        ),
        (
            "another holder while leading",
            Some(lease("pod-b", 0, 15, 0)),
            true,
            1,
            Kind::Lost,
        ),
        (
            "another holder, expired, while leading",
            Some(lease("pod-b", 0, 15, 0)),
            true,
            60,
            Kind::Lost,
        ),
        (
            "released (empty holder)",
            Some(lease("", 0, 1, 4)),
            false,
            0,
            Kind::Acquire,
        ),
        (
            "released (no holder)",
            Some(no_holder.clone()),
            false,
            0,
            Kind::Acquire,
        ),
        (
            "released while leading",
            Some(lease("", 0, 1, 4)),
            true,
            0,
            Kind::Lost,
        ),
        (
            "empty spec",
            Some(LeaseSpec::default()),
            false,
            0,
            Kind::Acquire,
        ),
        (
            "no renew or acquire time proves nothing",
            Some(no_times),
            false,
            0,
            Kind::Acquire,
        ),
        (
            "acquire time stands in for renew time",
            Some(acquired_only.clone()),
            false,
            -90,
            Kind::Wait,
        ),
        (
            "acquire time stands in, expired",
            Some(acquired_only),
            false,
            -84,
            Kind::Acquire,
        ),
        (
            "no duration: ours stands in, valid",
            Some(no_duration.clone()),
            false,
            15,
            Kind::Wait,
        ),
        (
            "no duration: ours stands in, expired",
            Some(no_duration),
            false,
            16,
            Kind::Acquire,
        ),
    ];
    for (case, spec, leading, now, expected) in table {
        let step = next_step(spec.as_ref(), &me(), leading, at(now));
        assert_eq!(kind(&step), expected, "{case}: {step:?}");
    }
}

#[test]
fn creating_names_us_with_no_transitions() {
    let step = next_step(None, &me(), false, at(7));
    let expected = LeaseSpec {
        holder_identity: Some("pod-a".into()),
        lease_duration_seconds: Some(15),
        acquire_time: Some(MicroTime(at(7))),
        renew_time: Some(MicroTime(at(7))),
        lease_transitions: Some(0),
        ..LeaseSpec::default()
    };
    assert_eq!(
        step,
        Step::Write {
            spec: expected,
            takeover: true
        }
    );
}

#[test]
fn renewing_keeps_acquire_time_and_transitions() {
    let current = LeaseSpec {
        preferred_holder: Some("pod-c".into()),
        ..lease("pod-a", 0, 10, 3)
    };
    let Step::Write { spec, takeover } = next_step(Some(&current), &me(), true, at(5)) else {
        panic!("expected a write");
    };
    assert!(!takeover);
    assert_eq!(spec.renew_time, Some(MicroTime(at(5))));
    assert_eq!(spec.acquire_time, Some(MicroTime(at(-100))));
    assert_eq!(spec.lease_transitions, Some(3));
    // Our duration replaces whatever was written before; fields we do not manage stay.
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert_eq!(spec.preferred_holder.as_deref(), Some("pod-c"));
    let without_acquire = LeaseSpec {
        acquire_time: None,
        ..lease("pod-a", 0, 15, 3)
    };
    let Step::Write { spec, .. } = next_step(Some(&without_acquire), &me(), true, at(5)) else {
        panic!("expected a write");
    };
    assert_eq!(spec.acquire_time, Some(MicroTime(at(5))));
}

#[test]
fn taking_over_counts_a_transition_and_restarts_acquire_time() {
    // (current transitions, written transitions)
    let table = [
        (Some(0), 1),
        (Some(4), 5),
        (None, 1),
        (Some(i32::MAX), i32::MAX),
    ];
    for (before, after) in table {
        let current = LeaseSpec {
            lease_transitions: before,
            ..lease("pod-b", 0, 15, 0)
        };
        let Step::Write { spec, takeover } = next_step(Some(&current), &me(), false, at(20)) else {
            panic!("expected a write for {before:?}");
        };
        assert!(takeover);
        assert_eq!(spec.lease_transitions, Some(after), "{before:?}");
        assert_eq!(spec.holder_identity.as_deref(), Some("pod-a"));
        assert_eq!(spec.acquire_time, Some(MicroTime(at(20))));
        assert_eq!(spec.renew_time, Some(MicroTime(at(20))));
        assert_eq!(spec.lease_duration_seconds, Some(15));
    }
}

#[test]
fn waiting_and_losing_say_who_holds_it() {
    let step = next_step(Some(&lease("pod-b", 0, 15, 0)), &me(), false, at(3));
    assert_eq!(
        step,
        Step::Wait {
            holder: "pod-b".into(),
            until: at(15)
        }
    );
    let step = next_step(Some(&lease("pod-b", 0, 15, 0)), &me(), true, at(3));
    assert_eq!(
        step,
        Step::Lost {
            holder: Some("pod-b".into())
        }
    );
    assert_eq!(
        next_step(None, &me(), true, at(3)),
        Step::Lost { holder: None }
    );
}

#[test]
fn only_the_holder_releases() {
    // (holder, released)
    let table = [("pod-a", true), ("pod-b", false), ("", false)];
    for (who, released) in table {
        let current = lease(who, 0, 15, 2);
        let result = release_spec(&current, &me(), at(9));
        assert_eq!(result.is_some(), released, "{who:?}");
        if let Some(spec) = result {
            assert_eq!(holder(&spec), None);
            assert_eq!(spec.holder_identity.as_deref(), Some(""));
            assert_eq!(spec.lease_duration_seconds, Some(1));
            assert_eq!(spec.renew_time, Some(MicroTime(at(9))));
            assert_eq!(spec.lease_transitions, Some(2));
            // A released lease is free to the next candidate at once.
            let next = next_step(Some(&spec), &me(), false, at(9));
            assert_eq!(kind(&next), Kind::Acquire);
        }
    }
}
