use std::time::Duration;

use super::Timing;
use crate::leader::{LeaderError, LeaseSettings};

fn settings(lease_ms: u64, renew_ms: u64) -> LeaseSettings {
    LeaseSettings {
        lease_duration: Duration::from_millis(lease_ms),
        renew_every: Duration::from_millis(renew_ms),
        ..LeaseSettings::new("rolesmith", "default", "pod-a")
    }
}

#[test]
fn settings_are_checked() {
    // (lease ms, renew ms, accepted)
    let table = [
        (15_000, 5_000, true),
        (2_000, 500, true),
        (2_000, 1_499, true),
        (2_000, 1_500, false), // a renewal period as long as the leading time
        (2_000, 3_000, false),
        (2_000, 0, false),
        (0, 0, false),
        (0, 1, false),
    ];
    for (lease, renew, accepted) in table {
        let result = Timing::new(&settings(lease, renew));
        assert_eq!(
            result.is_ok(),
            accepted,
            "{lease} ms / {renew} ms: {result:?}"
        );
        if let Err(error) = result {
            assert!(
                matches!(error, LeaderError::InvalidSettings(_)),
                "{error:?}"
            );
        }
    }
    let huge = LeaseSettings {
        lease_duration: Duration::from_secs(u64::from(u32::MAX)),
        ..settings(0, 1_000)
    };
    assert!(
        Timing::new(&huge).is_err(),
        "leaseDurationSeconds is an i32"
    );
}

#[test]
fn lease_seconds_round_up() {
    // (lease ms, renew ms, leaseDurationSeconds)
    let table = [
        (15_000, 5_000, 15),
        (2_000, 500, 2),
        (2_500, 500, 3),
        (800, 100, 1),
        (1_001, 100, 2),
    ];
    for (lease, renew, seconds) in table {
        let timing = Timing::new(&settings(lease, renew)).unwrap();
        assert_eq!(timing.lease_seconds, seconds, "{lease} ms");
    }
}

#[test]
fn a_leader_stops_well_before_others_may_take_over() {
    for (lease, renew) in [(15_000, 5_000), (2_000, 500), (60_000, 10_000)] {
        let timing = Timing::new(&settings(lease, renew)).unwrap();
        let lease = Duration::from_millis(lease);
        assert_eq!(timing.lead_for() + timing.margin(), lease);
        assert!(timing.lead_for() + timing.stop_grace() < lease);
        assert!(timing.lead_for() > timing.renew + timing.retry_after_failure() / 2);
    }
    let timing = Timing::new(&settings(15_000, 5_000)).unwrap();
    assert_eq!(timing.lead_for(), Duration::from_millis(11_250));
    assert_eq!(timing.stop_grace(), Duration::from_millis(1_875));
}

#[test]
fn polling_is_jittered_down_only() {
    let timing = Timing::new(&settings(2_000, 500)).unwrap();
    // (random, poll ms)
    let table = [(0.0, 500), (0.5, 437), (1.0, 375), (-3.0, 500), (7.0, 375)];
    for (random, ms) in table {
        assert_eq!(timing.poll(random).as_millis(), ms, "random {random}");
    }
}
