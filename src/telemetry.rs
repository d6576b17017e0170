//! Logs, metrics, and the `/metrics`, `/healthz`, `/readyz` endpoints.
//!
//! Every metric label is bounded: error categories come from [`Category`], IAM actions from the
//! fixed set the adapter calls, outcomes from [`CallOutcome`], findings from [`Rule`] and
//! [`Severity`].

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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

use crate::admission::{Finding, Rule, Severity};
use crate::error::Category;
use crate::iam::{CallObserver, CallOutcome};

mod drift;
pub use drift::DriftCheckDone;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CategoryLabel {
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: &'static str,
    outcome: &'static str,
    /// The AwsAccount whose credentials made the call, or [`OWN_ACCOUNT`]: bounded by the
    /// number of AwsAccounts.
    account: String,
}

/// The `account` label of calls made with the operator's own credentials (no AwsAccount has
/// this name: object names cannot start with `_`).
pub const OWN_ACCOUNT: &str = "_operator";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

/// Bounded by the accounts the operator acts in.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabel {
    account: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    check: &'static str,
    severity: &'static str,
}

/// The operator's metrics, registered once at startup.
pub struct Metrics {
    registry: Registry,
    reconciles: Counter,
    reconcile_errors: Family<CategoryLabel, Counter>,
    reconcile_duration: Histogram,
    iam_calls: Family<CallLabels, Counter>,
    iam_call_duration: Family<OperationLabel, Histogram>,
    findings: Family<FindingLabels, Gauge>,
    /// What each object counts in `findings`, so a changed or deleted object takes its share
    /// back.
    findings_by_object: Mutex<HashMap<String, BTreeSet<(Rule, Severity)>>>,
    drift: drift::DriftMetrics,
    account_roles: Family<AccountLabel, Gauge>,
    account_roles_quota: Family<AccountLabel, Gauge>,
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
        let findings = Family::<FindingLabels, Gauge>::default();
        registry.register(
            "findings",
            "IamRoles with a finding, by check and severity",
            findings.clone(),
        );
        let drift = drift::DriftMetrics::register(&mut registry);
        let account_roles = Family::<AccountLabel, Gauge>::default();
        registry.register(
            "account_roles",
            "IAM roles in the account, as GetAccountSummary last told (counted on between reads)",
            account_roles.clone(),
        );
        let account_roles_quota = Family::<AccountLabel, Gauge>::default();
        registry.register(
            "account_roles_quota",
            "The account's quota of IAM roles (RolesQuota)",
            account_roles_quota.clone(),
        );
        Metrics {
            account_roles,
            account_roles_quota,
            registry,
            drift,
            findings,
            findings_by_object: Mutex::new(HashMap::new()),
            reconciles,
            reconcile_errors,
            reconcile_duration,
            iam_calls,
            iam_call_duration,
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

    /// The findings of one object (`namespace/name`) as of its last reconcile.
    pub fn set_findings(&self, object: &str, findings: &[Finding]) {
        let now: BTreeSet<(Rule, Severity)> = findings.iter().map(|f| (f.id, f.severity)).collect();
        let mut by_object = self
            .findings_by_object
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = by_object.remove(object).unwrap_or_default();
        for gone in before.difference(&now) {
            self.finding_gauge(*gone).dec();
        }
        for new in now.difference(&before) {
            self.finding_gauge(*new).inc();
        }
        if !now.is_empty() {
            by_object.insert(object.to_string(), now);
        }
    }

    /// The object is gone: its findings no longer count.
    pub fn forget_findings(&self, object: &str) {
        self.set_findings(object, &[]);
    }

    fn finding_gauge(&self, (check, severity): (Rule, Severity)) -> Gauge {
        self.findings
            .get_or_create(&FindingLabels {
                check: check.id(),
                severity: severity.as_str(),
            })
            .clone()
    }

    /// The roles of an account and its quota, as the last reconcile in it saw them.
    pub fn account_quota(&self, quota: &crate::iam::RoleQuota) {
        let label = AccountLabel {
            account: quota.account.clone(),
        };
        let as_gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.account_roles
            .get_or_create(&label)
            .set(as_gauge(quota.roles));
        self.account_roles_quota
            .get_or_create(&label)
            .set(as_gauge(quota.quota));
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
        self.observe_in(OWN_ACCOUNT, action, outcome, elapsed);
    }
}

/// The observer of one AwsAccount's calls: the same metrics, labelled with its name.
pub struct AccountObserver {
    metrics: Arc<Metrics>,
    account: String,
}

impl AccountObserver {
    pub fn new(metrics: Arc<Metrics>, account: &str) -> AccountObserver {
        AccountObserver {
            metrics,
            account: account.to_string(),
        }
    }
}

impl CallObserver for AccountObserver {
    fn observe(&self, action: &'static str, outcome: CallOutcome, elapsed: Duration) {
        self.metrics
            .observe_in(&self.account, action, outcome, elapsed);
    }
}

impl Metrics {
    fn observe_in(
        &self,
        account: &str,
        action: &'static str,
        outcome: CallOutcome,
        elapsed: Duration,
    ) {
        let outcome_label = match &outcome {
            CallOutcome::Ok => "ok",
            CallOutcome::Error(category) => category.as_str(),
        };
        self.iam_calls
            .get_or_create(&CallLabels {
                operation: action,
                outcome: outcome_label,
                account: account.to_string(),
            })
            .inc();
        self.iam_call_duration
            .get_or_create(&OperationLabel { operation: action })
            .observe(elapsed.as_secs_f64());
        // Readiness follows IAM reachability: only transport-level trouble marks it down, since
        // a user's bad policy says nothing about whether IAM can be reached. Only the
        // operator's own credentials count: another account's trouble stalls its own roles and
        // is reported on its AwsAccount, it does not take the whole operator out of service.
        if account != OWN_ACCOUNT {
            return;
        }
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
mod tests {
    use super::*;

    fn finding(check: Rule, severity: Severity) -> Finding {
        Finding::new(check, severity, "spec.assumeRolePolicy", "")
    }

    fn line(metrics: &Metrics, check: &str, severity: &str) -> Option<String> {
        let text = metrics.encode().unwrap();
        let prefix = format!("rolesmith_findings{{check=\"{check}\",severity=\"{severity}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }

    /// The gauge counts objects, not reconciles: a finding seen again is not counted twice, and
    /// one fixed or deleted is taken back.
    #[test]
    fn account_roles_and_quota_by_account() {
        let metrics = Metrics::new(Arc::new(Health::default()));
        metrics.account_quota(&crate::iam::RoleQuota {
            account: "111111111111".into(),
            roles: 950,
            quota: 1000,
        });
        let text = metrics.encode().expect("encodes");
        assert!(
            text.contains("rolesmith_account_roles{account=\"111111111111\"} 950"),
            "{text}"
        );
        assert!(
            text.contains("rolesmith_account_roles_quota{account=\"111111111111\"} 1000"),
            "{text}"
        );
    }

    #[test]
    fn findings_count_objects_by_check_and_severity() {
        let metrics = Metrics::new(Arc::new(Health::default()));
        let admin = finding(Rule::AdminAccess, Severity::High);
        let sub = finding(Rule::WebIdentityNoSubject, Severity::High);
        metrics.set_findings("a/one", &[admin.clone(), admin.clone(), sub.clone()]);
        metrics.set_findings("a/one", &[admin.clone(), sub.clone()]);
        metrics.set_findings("b/two", std::slice::from_ref(&admin));
        assert_eq!(line(&metrics, "admin-access", "high").as_deref(), Some("2"));
        assert_eq!(
            line(&metrics, "web-identity-no-subject", "high").as_deref(),
            Some("1")
        );
        metrics.set_findings("a/one", &[admin]);
        assert_eq!(
            line(&metrics, "web-identity-no-subject", "high").as_deref(),
            Some("0")
        );
        metrics.forget_findings("b/two");
        metrics.forget_findings("never/seen");
        assert_eq!(line(&metrics, "admin-access", "high").as_deref(), Some("1"));
    }
}
