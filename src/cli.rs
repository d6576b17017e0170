//! Command-line interface: `run` (the operator), `crd`, and the cluster-less `plan` / `apply`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::findings::{DEFAULT_SOURCE_SERVICES, Severity};
use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "rolesmith",
    version,
    about = "Manages AWS IAM roles from Kubernetes IamRole resources"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the operator: watch IamRoles and make IAM match them.
    Run(Box<RunArgs>),
    /// Print a CustomResourceDefinition as YAML (IamRole unless --kind says otherwise).
    Crd(CrdArgs),
    /// Show what `apply` would change in IAM, without changing anything. Exit code: 0 no changes,
    /// 2 changes pending, 1 error.
    Plan(FileArgs),
    /// Make IAM match the IamRoles in the files, without a cluster (e.g. to bootstrap the
    /// operator's own role).
    Apply(FileArgs),
    /// Check every role of the account (not only rolesmith's) for risky settings; reads IAM,
    /// never writes. Exit code: 0 no finding at or above --min-severity, 3 findings, 1 error.
    Audit(AuditArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CrdArgs {
    /// Print only this kind's CRD (default: every kind's, as one multi-document YAML stream —
    /// what `crds/` holds).
    #[arg(long, value_enum)]
    pub kind: Option<CrdKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrdKind {
    #[value(name = "IamRole")]
    IamRole,
    #[value(name = "IamPolicy")]
    IamPolicy,
    #[value(name = "RoleGuardrail")]
    RoleGuardrail,
    #[value(name = "AwsAccount")]
    AwsAccount,
    #[value(name = "IamServiceLinkedRole")]
    IamServiceLinkedRole,
}

#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// IAM endpoint URL (default: AWS's, or AWS_ENDPOINT_URL_IAM / AWS_ENDPOINT_URL).
    #[arg(long, env = "ROLESMITH_IAM_ENDPOINT")]
    pub iam_endpoint: Option<String>,
    /// AWS region used for signing (IAM is global; default us-east-1).
    #[arg(long, env = "AWS_REGION")]
    pub aws_region: Option<String>,
    /// IAM calls per second allowed for the whole account, shared by every reconcile in it
    /// (each AwsAccount gets the same budget of its own).
    #[arg(long, env = "ROLESMITH_IAM_RATE_LIMIT", default_value_t = 10.0)]
    pub iam_rate_limit: f64,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Names this cluster in the ownership tag of every role it creates.
    #[arg(long, env = "ROLESMITH_CLUSTER_ID", default_value = "default")]
    pub cluster_id: String,
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "ROLESMITH_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// How stale drift may get: every interval one bulk read of the account finds the roles that
    /// differ from their spec (e.g. 5m, 30s, 1h).
    #[arg(long, env = "ROLESMITH_RESYNC_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub resync_interval: Duration,
    /// Tag keys owned by others (an organisation's tag policy, an SCP forbidding UntagRole):
    /// never removed, changed or set on any role. Comma-separated exact keys or `prefix*`.
    #[arg(long, env = "ROLESMITH_IGNORE_TAG_KEYS", value_delimiter = ',')]
    pub ignore_tag_keys: Vec<String>,
    /// A role neither used nor created within this long gets the unused-role warning (e.g. 90d,
    /// 720h). IAM reports use with a delay of hours.
    #[arg(long, env = "ROLESMITH_UNUSED_AFTER", default_value = "90d", value_parser = parse_age)]
    pub unused_after: Duration,
    /// Deleting an IamPolicy that is still attached to roles detaches it from them first.
    /// Without it the deletion waits (the finalizer holds) until no role uses the policy.
    #[arg(long, env = "ROLESMITH_FORCE_DETACH")]
    pub force_detach: bool,
    /// How the periodic drift check reads IAM: `auto` sweeps the account in bulk unless reading
    /// the managed roles one by one costs fewer calls; `sweep` and `per-role` force one way.
    #[arg(
        long,
        env = "ROLESMITH_DRIFT_CHECK",
        value_enum,
        default_value = "auto"
    )]
    pub drift_check: crate::drift::DriftCheck,
    /// IamRoles reconciled at the same time, in each account.
    #[arg(long, env = "ROLESMITH_CONCURRENCY", default_value_t = 4)]
    pub concurrency: u16,
    #[arg(long, env = "ROLESMITH_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Address of the /metrics, /healthz and /readyz server.
    #[arg(long, env = "ROLESMITH_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// First delay after a transient failure (doubles per failure, jittered).
    #[arg(long, env = "ROLESMITH_RETRY_BASE", default_value = "1s", value_parser = parse_duration)]
    pub retry_base: Duration,
    /// Longest delay between retries of one role.
    #[arg(long, env = "ROLESMITH_RETRY_MAX", default_value = "2m", value_parser = parse_duration)]
    pub retry_max: Duration,
    /// How long an error IAM's propagation can explain (a trust policy naming a principal IAM
    /// does not know yet, a just-created role not visible on delete) is retried before it is
    /// reported as the user's to fix.
    #[arg(long, env = "ROLESMITH_PROPAGATION_WINDOW", default_value = "2m", value_parser = parse_duration)]
    pub propagation_window: Duration,
    /// Role names an IamRole may use must start with this (`{namespace}` is replaced); empty
    /// disables the rule. Keeps one namespace from squatting or adopting another's roles.
    #[arg(long, env = "ROLESMITH_ROLE_NAME_PREFIX", default_value = crate::admission::DEFAULT_NAME_PREFIX)]
    pub role_name_prefix: String,
    /// Role paths an IamRole may use must start with this (`{namespace}` is replaced); empty
    /// or `/` allows every path.
    #[arg(long, env = "ROLESMITH_ROLE_PATH_PREFIX", default_value = "")]
    pub role_path_prefix: String,
    /// Namespaces exempt from the name and path rules (e.g. the platform team's), comma-separated.
    #[arg(long, env = "ROLESMITH_UNCONFINED_NAMESPACES", value_delimiter = ',')]
    pub unconfined_namespaces: Vec<String>,
    /// Elect one active replica through a coordination.k8s.io Lease.
    #[arg(long, env = "ROLESMITH_LEADER_ELECTION", default_value_t = false)]
    pub leader_election: bool,
    #[arg(long, env = "ROLESMITH_LEASE_NAME", default_value = "rolesmith-leader")]
    pub lease_name: String,
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    #[command(flatten)]
    pub workloads: WorkloadArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How the cluster's pods get AWS credentials, for `spec.serviceAccounts`.
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// ARN of the cluster's IAM OIDC provider
    /// (arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>), needed
    /// for serviceAccounts entries via IRSA.
    #[arg(long, env = "ROLESMITH_OIDC_PROVIDER_ARN")]
    pub oidc_provider_arn: Option<String>,
    /// How a serviceAccounts entry that names no `via` gets credentials: IRSA or PodIdentity.
    #[arg(long, env = "ROLESMITH_WORKLOAD_IDENTITY", default_value = "IRSA", value_parser = crate::admission::WorkloadIdentity::parse)]
    pub workload_identity: crate::admission::WorkloadIdentity,
    /// Name of the EKS cluster, needed for serviceAccounts entries via PodIdentity (their
    /// Pod Identity associations are made there).
    #[arg(long, env = "ROLESMITH_EKS_CLUSTER_NAME")]
    pub eks_cluster_name: Option<String>,
    /// EKS endpoint URL (default: the region's, or AWS_ENDPOINT_URL_EKS / AWS_ENDPOINT_URL).
    #[arg(long, env = "ROLESMITH_EKS_ENDPOINT")]
    pub eks_endpoint: Option<String>,
}

impl WorkloadArgs {
    pub fn settings(&self) -> crate::admission::Workloads {
        crate::admission::Workloads {
            oidc_provider_arn: self.oidc_provider_arn.clone().filter(|arn| !arn.is_empty()),
            default_via: self.workload_identity,
            eks_cluster_name: self
                .eks_cluster_name
                .clone()
                .filter(|name| !name.is_empty()),
            other_account: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct FileArgs {
    /// Manifest files (YAML or JSON, several documents allowed); other kinds are ignored.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Namespace for objects that name none.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Must equal the operator's --cluster-id so the two agree on ownership.
    #[arg(long, env = "ROLESMITH_CLUSTER_ID", default_value = "default")]
    pub cluster_id: String,
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    pub output: OutputFormat,
    #[command(flatten)]
    pub workloads: WorkloadArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub account: AccountArgs,
}

/// Another account than the credentials' own, as an AwsAccount would name it.
#[derive(Debug, Clone, Args)]
pub struct AccountArgs {
    /// The account to act in (12 digits): nothing is done when the credentials (assumed or
    /// not) act in another.
    #[arg(long)]
    pub account_id: Option<String>,
    /// Assume this role with the credentials and act as it (a role in --account-id).
    #[arg(long)]
    pub assume_role_arn: Option<String>,
    /// The ExternalId the assumed role's trust policy requires. Never printed.
    #[arg(
        long,
        env = "ROLESMITH_EXTERNAL_ID",
        requires = "assume_role_arn",
        hide_env_values = true
    )]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// The account to audit (`--account-id`; the audit refuses to run when the credentials act
    /// in another), reached through `--assume-role-arn`/`--external-id` when given.
    #[command(flatten)]
    pub account: AccountArgs,
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    pub output: AuditFormat,
    /// Report (and exit 3 for) findings of this severity or worse: info, low, medium, high,
    /// critical.
    #[arg(long, default_value = "low", value_parser = Severity::parse)]
    pub min_severity: Severity,
    /// A role neither used nor created within this long is reported as unused (e.g. 90d, 720h).
    #[arg(long, default_value = "90d", value_parser = parse_age)]
    pub unused_after: Duration,
    /// Service principals whose trust must name the resource or account they act for
    /// (aws:SourceArn / aws:SourceAccount), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_SOURCE_SERVICES.map(String::from))]
    pub source_services: Vec<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// A duration that may also be a whole number of days (`90d`, a day being 24 hours).
pub fn parse_age(text: &str) -> Result<Duration, String> {
    match text.strip_suffix('d').map(str::parse::<u64>) {
        Some(Ok(days)) => Ok(Duration::from_secs(days.saturating_mul(86_400))),
        _ => parse_duration(text),
    }
}

/// `90`, `90s`, `10m`, `1h`, `1h30m`, or an ISO 8601 duration.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let parsed: jiff::SignedDuration = text
        .parse()
        .map_err(|error| format!("not a duration (try 30s, 10m, 1h): {error}"))?;
    Duration::try_from(parsed).map_err(|_| "a duration must not be negative".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("90", Some(90)),
            ("30s", Some(30)),
            ("10m", Some(600)),
            ("1h30m", Some(5400)),
            ("PT2M", Some(120)),
            ("soon", None),
            ("-5s", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_duration(text).ok().map(|d| d.as_secs()),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn ages() {
        let cases = [
            ("90d", Some(90 * 86_400)),
            ("1d", Some(86_400)),
            ("0d", Some(0)),
            ("12h", Some(43_200)),
            ("30", Some(30)),
            ("d", None),
            ("1.5d", None),
            ("-1d", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_age(text).ok().map(|d| d.as_secs()),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
