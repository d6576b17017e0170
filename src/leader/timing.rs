//! How long a successful Lease write lets us lead, and how often we talk to the API server.

use std::time::Duration;

use super::{LeaderError, LeaseSettings};

/// Durations derived from [`LeaseSettings`], validated once so the loops cannot misbehave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    pub lease: Duration,
    pub renew: Duration,
    /// leaseDurationSeconds, rounded up: others may wait a little longer than needed, never less.
    pub lease_seconds: i32,
}

impl Timing {
    pub fn new(settings: &LeaseSettings) -> Result<Timing, LeaderError> {
        let lease = settings.lease_duration;
        let whole_seconds = lease.as_secs() + u64::from(lease.subsec_nanos() > 0);
        let Ok(lease_seconds) = i32::try_from(whole_seconds.max(1)) else {
            return Err(LeaderError::InvalidSettings(format!(
                "lease_duration ({lease:?}) does not fit leaseDurationSeconds"
            )));
        };
        let timing = Timing {
            lease,
            renew: settings.renew_every,
            lease_seconds,
        };
        if timing.renew.is_zero() {
            return Err(LeaderError::InvalidSettings(
                "renew_every must be longer than zero".into(),
            ));
        }
        // One renewal period must fit in the time a write lets us lead, or a leader would lose
        // the lease between two renewals that both succeed.
        if timing.renew >= timing.lead_for() {
            return Err(LeaderError::InvalidSettings(format!(
                "renew_every ({:?}) must be shorter than three quarters of lease_duration ({:?})",
                timing.renew, timing.lease
            )));
        }
        Ok(timing)
    }

    /// Room between the moment we stop leading and the moment others may take the lease: it
    /// absorbs clock skew between replicas and the time work needs to notice `lost`.
    pub fn margin(&self) -> Duration {
        self.lease / 4
    }

    /// How long after sending a successful write we may act as leader.
    pub fn lead_for(&self) -> Duration {
        self.lease.saturating_sub(self.margin())
    }

    /// How long work may take to return after `lost` before its future is dropped. Half the
    /// margin, so even a slow stop ends before others may take the lease.
    pub fn stop_grace(&self) -> Duration {
        self.margin() / 2
    }

    /// Retry a failed renewal sooner than a regular one: the deadline is approaching.
    pub fn retry_after_failure(&self) -> Duration {
        self.renew / 2
    }

    /// A candidate's polling period, jittered *down* (`random` in 0..1) so candidates do not
    /// poll in lockstep and a takeover still happens within one renewal period of expiry.
    pub fn poll(&self, random: f64) -> Duration {
        self.renew.mul_f64(1.0 - 0.25 * random.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests;
