//! Drift-check metrics: how each periodic check went, and the last sweep's figures.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: &'static str,
}

/// What one periodic drift check did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftCheckDone {
    /// One bulk read of the account.
    Swept {
        elapsed: Duration,
        /// IAM calls of the bulk read (its pages).
        calls: usize,
        /// Managed roles the sweep judged (objects reconciled since it began are left out).
        checked: usize,
        /// Of those, the ones sent to reconcile.
        drifted: usize,
        roles_in_account: usize,
    },
    /// Every managed role re-read on its own: cheaper than a sweep, or IAM refused the sweep.
    PerRole { roles: usize, sweep_failed: bool },
    /// IAM did not answer the sweep; it is tried again shortly.
    SweepFailed,
}

/// Drift-check metrics: the last sweep's figures as gauges, totals as counters.
pub(super) struct DriftMetrics {
    checks: Family<MethodLabel, Counter>,
    sweep_duration: Histogram,
    sweep_calls: Gauge,
    sweep_checked: Gauge,
    sweep_drifted: Gauge,
    roles_in_account: Gauge,
    drifted: Counter,
}

impl DriftMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let metrics = DriftMetrics {
            checks: Family::default(),
            // 0.1 s to about 7 minutes: a 10,000-role account is tens of seconds.
            sweep_duration: Histogram::new(exponential_buckets(0.1, 2.0, 13)),
            sweep_calls: Gauge::default(),
            sweep_checked: Gauge::default(),
            sweep_drifted: Gauge::default(),
            roles_in_account: Gauge::default(),
            drifted: Counter::default(),
        };
        registry.register(
            "drift_checks",
            "Periodic drift checks by method: sweep, sweep_failed (tried again shortly), per_role, or per_role_after_failed_sweep (IAM refused the sweep)",
            metrics.checks.clone(),
        );
        registry.register(
            "drift_sweep_duration_seconds",
            "Time of one account sweep (all its bulk-read pages)",
            metrics.sweep_duration.clone(),
        );
        registry.register(
            "drift_sweep_calls",
            "IAM calls of the last account sweep",
            metrics.sweep_calls.clone(),
        );
        registry.register(
            "drift_sweep_roles_checked",
            "Managed roles the last account sweep compared with their spec",
            metrics.sweep_checked.clone(),
        );
        registry.register(
            "drift_sweep_roles_drifted",
            "Managed roles the last account sweep found different, missing or claimed",
            metrics.sweep_drifted.clone(),
        );
        registry.register(
            "drift_sweep_roles_in_account",
            "Roles in the account (managed or not) at the last account sweep",
            metrics.roles_in_account.clone(),
        );
        registry.register(
            "drift_roles_drifted",
            "Roles a drift check sent to reconcile (every role, for per-role checks)",
            metrics.drifted.clone(),
        );
        metrics
    }

    pub(super) fn record(&self, done: DriftCheckDone) {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let (method, drifted) = match done {
            DriftCheckDone::Swept {
                elapsed,
                calls,
                checked,
                drifted,
                roles_in_account,
            } => {
                self.sweep_duration.observe(elapsed.as_secs_f64());
                self.sweep_calls.set(gauge(calls));
                self.sweep_checked.set(gauge(checked));
                self.sweep_drifted.set(gauge(drifted));
                self.roles_in_account.set(gauge(roles_in_account));
                ("sweep", drifted)
            }
            DriftCheckDone::PerRole {
                roles,
                sweep_failed,
            } => {
                let method = if sweep_failed {
                    "per_role_after_failed_sweep"
                } else {
                    "per_role"
                };
                (method, roles)
            }
            DriftCheckDone::SweepFailed => ("sweep_failed", 0),
        };
        self.checks.get_or_create(&MethodLabel { method }).inc();
        self.drifted.inc_by(drifted as u64);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::DriftCheckDone;
    use crate::telemetry::{Health, Metrics};

    fn value(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} not in\n{text}"))
    }

    #[test]
    fn drift_checks_are_scraped_with_bounded_labels() {
        let metrics = Metrics::new(Arc::new(Health::default()));
        for drifted in [3, 1] {
            metrics.drift_checked(DriftCheckDone::Swept {
                elapsed: Duration::from_millis(1500),
                calls: 4,
                checked: 1200,
                drifted,
                roles_in_account: 1500,
            });
        }
        metrics.drift_checked(DriftCheckDone::PerRole {
            roles: 7,
            sweep_failed: true,
        });
        let text = metrics.encode().unwrap();
        let cases = [
            ("rolesmith_drift_checks_total{method=\"sweep\"}", 2.0),
            (
                "rolesmith_drift_checks_total{method=\"per_role_after_failed_sweep\"}",
                1.0,
            ),
            ("rolesmith_drift_sweep_duration_seconds_count", 2.0),
            ("rolesmith_drift_sweep_duration_seconds_sum", 3.0),
            ("rolesmith_drift_sweep_calls", 4.0),
            ("rolesmith_drift_sweep_roles_checked", 1200.0),
            ("rolesmith_drift_sweep_roles_drifted", 1.0),
            ("rolesmith_drift_sweep_roles_in_account", 1500.0),
            ("rolesmith_drift_roles_drifted_total", 11.0),
        ];
        for (series, want) in cases {
            assert_eq!(value(&text, series), want, "{series}");
        }
    }
}
