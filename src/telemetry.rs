//! Logs, metrics, and the `/metrics`, `/healthz`, `/readyz` endpoints.
//!
//! Every metric label is bounded: error categories come from [`Category`], IAM actions from the
//! fixed set the adapter calls, outcomes from [`CallOutcome`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::Category;
use crate::iam::{CallObserver, CallOutcome};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabel {
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

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
struct DriftMetrics {
    checks: Family<MethodLabel, Counter>,
    sweep_duration: Histogram,
    sweep_calls: Gauge,
    sweep_checked: Gauge,
    sweep_drifted: Gauge,
    roles_in_account: Gauge,
    drifted: Counter,
}

impl DriftMetrics {
    fn register(registry: &mut Registry) -> Self {
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

    fn record(&self, done: DriftCheckDone) {
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

/// The operator's metrics, registered once at startup.
pub struct Metrics {
    registry: Registry,
    reconciles: Counter,
    reconcile_errors: Family<CategoryLabel, Counter>,
    reconcile_duration: Histogram,
    iam_calls: Family<CallLabels, Counter>,
    iam_call_duration: Family<OperationLabel, Histogram>,
    drift: DriftMetrics,
    health: Arc<Health>,
}

impl Metrics {
    pub fn new(health: Arc<Health>) -> Self {
        let mut registry = Registry::with_prefix("rolesmith");
        let reconciles = Counter::default();
        let reconcile_errors = Family::<CategoryLabel, Counter>::default();
        let reconcile_duration = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        let iam_calls = Family::<CallLabels, Counter>::default();
        let iam_call_duration = Family::<OperationLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 12))
        });
        registry.register("reconciles", "IamRole reconciles run", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "IamRole reconciles that ended in an error, by category",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            reconcile_duration.clone(),
        );
        registry.register(
            "iam_calls",
            "IAM API calls by operation and outcome",
            iam_calls.clone(),
        );
        registry.register(
            "iam_call_duration_seconds",
            "IAM API call latency by operation",
            iam_call_duration.clone(),
        );
        let drift = DriftMetrics::register(&mut registry);
        Metrics {
            registry,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            iam_calls,
            iam_call_duration,
            drift,
            health,
        }
    }

    pub fn reconciled(&self, elapsed: Duration) {
        self.reconciles.inc();
        self.reconcile_duration.observe(elapsed.as_secs_f64());
    }

    /// A reconcile that ended in an error (reported in status or retried).
    pub fn failed(&self, category: Category) {
        self.reconcile_errors
            .get_or_create(&CategoryLabel {
                category: category.as_str(),
            })
            .inc();
    }

    pub fn drift_checked(&self, done: DriftCheckDone) {
        self.drift.record(done);
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl CallObserver for Metrics {
    fn observe(&self, action: &'static str, outcome: CallOutcome, elapsed: Duration) {
        let outcome_label = match &outcome {
            CallOutcome::Ok => "ok",
            CallOutcome::Error(category) => category.as_str(),
        };
        self.iam_calls
            .get_or_create(&CallLabels {
                operation: action,
                outcome: outcome_label,
            })
            .inc();
        self.iam_call_duration
            .get_or_create(&OperationLabel { operation: action })
            .observe(elapsed.as_secs_f64());
        // Readiness follows IAM reachability: only transport-level trouble marks it down, since
        // a user's bad policy says nothing about whether IAM can be reached.
        match outcome {
            CallOutcome::Ok => self.health.set_iam(true),
            CallOutcome::Error(Category::IamTransient) => self.health.set_iam(false),
            CallOutcome::Error(_) => self.health.set_iam(true),
        }
    }
}

/// What `/readyz` reports: the watch is established and IAM answers.
#[derive(Debug)]
pub struct Health {
    kube_ok: AtomicBool,
    iam_ok: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            kube_ok: AtomicBool::new(false),
            iam_ok: AtomicBool::new(true),
        }
    }
}

impl Health {
    pub fn set_kube(&self, ok: bool) {
        self.kube_ok.store(ok, Ordering::Relaxed);
    }
    pub fn set_iam(&self, ok: bool) {
        self.iam_ok.store(ok, Ordering::Relaxed);
    }
    /// `None` when ready, else why not.
    pub fn not_ready_reason(&self) -> Option<&'static str> {
        if !self.kube_ok.load(Ordering::Relaxed) {
            Some("the Kubernetes watch is not established")
        } else if !self.iam_ok.load(Ordering::Relaxed) {
            Some("IAM is not answering (last calls failed transiently)")
        } else {
            None
        }
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz_handler))
        .with_state(metrics);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /metrics, /healthz, /readyz");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn metrics_handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    match metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            "metrics encoding failed".to_string(),
        ),
    }
}

async fn readyz_handler(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    match metrics.health.not_ready_reason() {
        None => (StatusCode::OK, "ready".to_string()),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason.to_string()),
    }
}

/// Log format chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the tracing subscriber (level from `RUST_LOG`, default info). Startup only.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second init (tests) keeps the first subscriber: nothing to do.
    let _ = result;
}

#[cfg(test)]
mod tests;
