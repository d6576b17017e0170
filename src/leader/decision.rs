//! What to do with the Lease as we see it: the pure heart of leader election, like client-go's
//! `tryAcquireOrRenew` without the IO.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

/// Who we are, as written into the Lease.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub identity: String,
    pub lease_seconds: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    /// Make the Lease say this: create it when there was none, else replace the object we read
    /// (with its resourceVersion, so that of two candidates only one wins). `takeover` when it
    /// moves the lease to us from someone else, from nobody, or brings it into existence.
    Write { spec: LeaseSpec, takeover: bool },
    /// Someone else holds a lease that is still valid.
    Wait { holder: String, until: Timestamp },
    /// We were leading and the lease is no longer ours: whoever has it may be acting already.
    Lost { holder: Option<String> },
}

/// `current` is the Lease's spec (`None` when the object does not exist); `leading` says whether
/// we currently act as leader on the strength of an earlier write.
pub(crate) fn next_step(
    current: Option<&LeaseSpec>,
    me: &Candidate,
    leading: bool,
    now: Timestamp,
) -> Step {
    let Some(current) = current else {
        if leading {
            return Step::Lost { holder: None };
        }
        return Step::Write {
            spec: LeaseSpec {
                holder_identity: Some(me.identity.clone()),
                lease_duration_seconds: Some(me.lease_seconds),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            },
            takeover: true,
        };
    };
    let holder = holder(current);
    if holder == Some(me.identity.as_str()) {
        return Step::Write {
            spec: LeaseSpec {
                holder_identity: Some(me.identity.clone()),
                lease_duration_seconds: Some(me.lease_seconds),
                acquire_time: current.acquire_time.clone().or(Some(MicroTime(now))),
                renew_time: Some(MicroTime(now)),
                ..current.clone()
            },
            takeover: false,
        };
    }
    if leading {
        return Step::Lost {
            holder: holder.map(str::to_string),
        };
    }
    if let Some(holder) = holder {
        let until = valid_until(current, me.lease_seconds);
        if until.is_some_and(|until| now <= until) {
            return Step::Wait {
                holder: holder.to_string(),
                until: until.unwrap_or(Timestamp::MAX),
            };
        }
    }
    Step::Write {
        spec: LeaseSpec {
            holder_identity: Some(me.identity.clone()),
            lease_duration_seconds: Some(me.lease_seconds),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(current.lease_transitions.unwrap_or(0).saturating_add(1)),
            ..current.clone()
        },
        takeover: true,
    }
}

/// The spec that hands the lease back so a standby takes it at its next poll, or `None` when
/// it is not ours to release. Like client-go: no holder, one second, times set to now.
pub(crate) fn release_spec(
    current: &LeaseSpec,
    me: &Candidate,
    now: Timestamp,
) -> Option<LeaseSpec> {
    if holder(current) != Some(me.identity.as_str()) {
        return None;
    }
    Some(LeaseSpec {
        holder_identity: Some(String::new()),
        lease_duration_seconds: Some(1),
        acquire_time: Some(MicroTime(now)),
        renew_time: Some(MicroTime(now)),
        ..current.clone()
    })
}

/// The holder named in the lease; an empty name means released.
pub(crate) fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity.as_deref().filter(|h| !h.is_empty())
}

/// When the holder's claim runs out: last renewal (or acquisition) plus its duration. A lease
/// that says neither when it was renewed nor acquired proves nothing and is free (`None`).
/// Without a duration, ours stands in: every replica runs with the same settings.
fn valid_until(spec: &LeaseSpec, default_seconds: i32) -> Option<Timestamp> {
    let since = spec.renew_time.as_ref().or(spec.acquire_time.as_ref())?.0;
    let seconds = spec.lease_duration_seconds.unwrap_or(default_seconds);
    Some(
        since
            .checked_add(SignedDuration::from_secs(i64::from(seconds)))
            .unwrap_or(Timestamp::MAX),
    )
}

#[cfg(test)]
mod tests;
