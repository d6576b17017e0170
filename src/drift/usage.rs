//! What the drift sweep tells about a role's use: its RoleLastUsed and creation date come with
//! the bulk read, so a role whose `unused-role` judgment changed, or whose recorded last use is a
//! day or more behind IAM's, is reconciled (which records both) without any per-role read
//! ([`super::DriftJudge::judging_use`]).

use std::time::Duration;

use super::{LastSync, Managed};
use crate::findings::Usage;
use crate::model::ObservedRole;

/// How far status.lastUsed may lag IAM's: a role in use moves its date with every use, and a
/// reconcile per use would undo what the sweep saves. Also the most often it is refreshed.
pub const LAST_USED_REFRESH: Duration = Duration::from_secs(24 * 3600);

/// Whether the sweep's `observed` role tells `m`'s object something about its use: used since
/// status recorded it (by a day or more), or turned unused (or used) since the object was last
/// in sync. Whether the sweep may judge the object at all is the caller's ([`LastSync::judged_by`]).
pub fn use_changed<K>(
    m: &Managed<K>,
    observed: &ObservedRole,
    sweep_started: jiff::Timestamp,
    unused_after: Duration,
) -> bool {
    let parse = |date: Option<&str>| date.and_then(|d| d.parse::<jiff::Timestamp>().ok());
    let seen = parse(observed.last_used.as_ref().and_then(|u| u.date.as_deref()));
    let recorded = parse(m.recorded_last_used.as_deref());
    let used_since = match (seen, recorded) {
        (Some(_), None) => true,
        (Some(seen), Some(recorded)) => {
            seen.duration_since(recorded).unsigned_abs() >= LAST_USED_REFRESH
        }
        (None, _) => false,
    };
    let usage = Usage::from_iam(
        sweep_started,
        observed.created.as_deref(),
        observed.last_used.as_ref(),
    );
    let flipped = match (m.last_sync, usage) {
        (LastSync::At(synced), Some(usage)) => {
            usage.unused_at(synced, unused_after) != usage.unused_at(sweep_started, unused_after)
        }
        _ => false,
    };
    used_since || flipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LastUsed;
    use crate::plan::tests::fixtures::{desired, observed, owner};

    const DAY: i64 = 86_400;

    /// A label, created, IAM's last use, status.lastUsed (seconds), last in sync, reconciled.
    type Case = (&'static str, i64, Option<i64>, Option<i64>, LastSync, bool);

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    fn iso(seconds: i64) -> String {
        at(seconds).to_string()
    }

    #[test]
    fn which_roles_are_reconciled_for_their_use() {
        let after = Duration::from_secs(90 * DAY as u64);
        let now = 200 * DAY;
        let cases: [Case; 9] = [
            (
                "fresh, never used",
                now - DAY,
                None,
                None,
                LastSync::At(at(now - 60)),
                false,
            ),
            (
                "turned unused since the last sync",
                0,
                None,
                None,
                LastSync::At(at(90 * DAY - 1)),
                true,
            ),
            (
                "unused already at the last sync",
                0,
                None,
                None,
                LastSync::At(at(now - 60)),
                false,
            ),
            (
                "first use seen",
                0,
                Some(now - 3600),
                None,
                LastSync::At(at(now - 60)),
                true,
            ),
            (
                "used within the day recorded",
                0,
                Some(now - 60),
                Some(now - 3600),
                LastSync::At(at(now - 60)),
                false,
            ),
            (
                "used a day after the recorded use",
                0,
                Some(now - 60),
                Some(now - DAY - 60),
                LastSync::At(at(now - 60)),
                true,
            ),
            (
                "used again after being unused",
                0,
                Some(now - 60),
                Some(now - 100 * DAY),
                LastSync::At(at(now - 120)),
                true,
            ),
            (
                "never in sync: its retries decide",
                0,
                None,
                None,
                LastSync::Never,
                false,
            ),
            (
                "reconcile still to come",
                0,
                None,
                None,
                LastSync::Pending,
                false,
            ),
        ];
        for (label, created, seen, recorded, last_sync, want) in cases {
            let mut role = observed();
            role.created = Some(iso(created));
            role.last_used = seen.map(|s| LastUsed {
                date: Some(iso(s)),
                region: Some("eu-west-1".into()),
            });
            let managed = [Managed {
                key: label,
                desired: desired(),
                owner: owner(),
                adopt: false,
                observed_drift: None,
                last_sync,
                recorded_last_used: recorded.map(iso),
            }];
            // Through the sweep's judge, as the sweeper runs it (the role is otherwise in sync).
            let mut judge = crate::drift::DriftJudge::new(&managed, at(now)).judging_use(after);
            crate::model::SweepVisitor::visit(&mut judge, role);
            assert_eq!(!judge.drifted().is_empty(), want, "{label}");
        }
    }
}
