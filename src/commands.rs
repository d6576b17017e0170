//! What each subcommand does. `main.rs` only parses the command line and calls [`dispatch`].

use std::process::ExitCode;

use futures::FutureExt;
use std::sync::Arc;

mod account;
mod policies;

use crate::admission::{self, Confinement, Finding, Problem};
use crate::api::IamPolicy;
use crate::cli::{AuditArgs, AuditFormat, AwsArgs, Cli, Command, FileArgs, OutputFormat, RunArgs};
use crate::controller::{self, Context, Settings};
use crate::desired;
use crate::engine::{self, Mode};
use crate::error::Error;
use crate::iam::{AwsIam, AwsIamConfig, CallObserver, IamApi};
use crate::leader::{self, LeaseSettings};
use crate::manifest::Object;
use crate::plan;
use crate::ratelimit::AccountLimiter;
use crate::telemetry::{self, Health, Metrics};

pub async fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crd(args) => match crate::api::crds_yaml(args.kind) {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Run(args) => run(*args).await,
        Command::Plan(args) => files(args, Mode::DryRun).await,
        Command::Apply(args) => files(args, Mode::Execute).await,
        Command::Audit(args) => audit(args).await,
    }
}

fn iam_config(aws: &AwsArgs) -> AwsIamConfig {
    AwsIamConfig {
        endpoint_url: aws.iam_endpoint.clone().filter(|e| !e.is_empty()),
        region: aws.aws_region.clone().filter(|r| !r.is_empty()),
        ..AwsIamConfig::default()
    }
}

async fn run(args: RunArgs) -> ExitCode {
    telemetry::init_logging(args.log_format);
    let workloads = args.workloads.settings();
    if let Some(arn) = &workloads.oidc_provider_arn
        && admission::service_accounts::issuer(arn).is_none()
    {
        tracing::error!(%arn, "--oidc-provider-arn is not an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>); fix the flag");
        return ExitCode::FAILURE;
    }
    let client = match kube::Client::try_default().await {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build a Kubernetes client");
            return ExitCode::FAILURE;
        }
    };
    let health = Arc::new(Health::default());
    let metrics = Arc::new(Metrics::new(health.clone()));
    let observer: Arc<dyn CallObserver> = metrics.clone();
    // One bucket for the whole account: every reconcile shares it. The burst is one second's
    // worth, so no second ever carries more than twice the configured rate.
    let burst = controller::account::connect::burst(args.aws.iam_rate_limit);
    let limiter = Arc::new(AccountLimiter::new(args.aws.iam_rate_limit, burst));
    let own = Arc::new(
        AwsIam::new(iam_config(&args.aws), observer)
            .await
            .with_limiter(limiter),
    );
    let connector = Arc::new(controller::account::connect::AwsConnector {
        base: own.clone(),
        metrics: metrics.clone(),
        rate: args.aws.iam_rate_limit,
    });
    let iam: Arc<dyn IamApi> = own;
    let settings = Settings {
        cluster_id: args.cluster_id.clone(),
        namespace: args.watch_namespace.clone().filter(|n| !n.is_empty()),
        resync: args.resync_interval,
        drift_check: args.drift_check,
        concurrency: args.concurrency,
        base_backoff: args.retry_base,
        max_backoff: args.retry_max,
        propagation_window: args.propagation_window,
        iam_rate_limit: args.aws.iam_rate_limit,
        ignore_tag_keys: args.ignore_tag_keys.clone(),
        force_detach: args.force_detach,
        unused_after: args.unused_after,
        workloads,
        confinement: Confinement {
            name_prefix: args.role_name_prefix.clone(),
            path_prefix: args.role_path_prefix.clone(),
            exempt_namespaces: args.unconfined_namespaces.clone(),
        },
    };
    tracing::info!(cluster_id = %settings.cluster_id, namespace = ?settings.namespace, resync = ?settings.resync, "starting rolesmith");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested; finishing in-flight reconciles");
        let _ = stop_tx.send(true);
    });
    let server = tokio::spawn(telemetry::serve(
        args.metrics_addr,
        metrics.clone(),
        stopped(stop_rx.clone()),
    ));
    let mut ctx = Context::new(client.clone(), iam, metrics, settings).with_connector(connector);
    if ctx.settings.workloads.eks_cluster_name.is_some() {
        let config = AwsIamConfig {
            endpoint_url: args
                .workloads
                .eks_endpoint
                .clone()
                .filter(|e| !e.is_empty()),
            region: args.aws.aws_region.clone().filter(|r| !r.is_empty()),
            ..AwsIamConfig::default()
        };
        ctx = ctx.with_eks(Arc::new(crate::eks::AwsEks::new(&config).await));
    }
    let ctx = Arc::new(ctx);
    let led = if args.leader_election {
        let identity = leader_identity();
        tracing::info!(%identity, lease = %args.lease_name, "leader election on");
        // A standby is healthy and ready; it just does not act.
        health.set_kube(true);
        let lease = LeaseSettings::new(&args.lease_name, &args.lease_namespace, identity);
        leader::run_as_leader(client, lease, stopped(stop_rx.clone()), |lost| {
            controller::run(ctx, health, lost.shared())
        })
        .await
    } else {
        controller::run(ctx, health, stopped(stop_rx.clone())).await;
        Ok(())
    };
    if let Err(error) = led {
        // No state from the leader period may survive: exit and let Kubernetes restart us.
        tracing::error!(%error, "stopping");
        return ExitCode::FAILURE;
    }
    match server.await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            tracing::error!(%error, "metrics server failed");
            ExitCode::FAILURE
        }
        Err(error) => {
            tracing::error!(%error, "metrics server task failed");
            ExitCode::FAILURE
        }
    }
}

/// The pod name (POD_NAME, else HOSTNAME) plus a random suffix: two processes must never share
/// an identity, or both would believe they lead.
fn leader_identity() -> String {
    let base = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "rolesmith".to_string());
    format!("{base}-{:08x}", fastrand::u32(..))
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `plan` and `apply`: the controller's engine, driven by files instead of a cluster.
async fn files(args: FileArgs, mode: Mode) -> ExitCode {
    let objects = match crate::manifest::load_objects(&args.files, &args.namespace) {
        Ok(objects) => objects,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    if objects.is_empty() {
        eprintln!(
            "error: no IamRole or IamPolicy (iam.rolesmith.dev/v1alpha1) found in the given files"
        );
        return ExitCode::FAILURE;
    }
    let iam = match account::client(iam_config(&args.aws), &args.aws, &args.account).await {
        Ok(iam) => iam,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let unconfined = Confinement::none();
    // The RoleGuardrails among the files apply to their IamRoles, as the operator's would.
    let guardrails: Vec<admission::Guardrail> = objects
        .iter()
        .filter_map(|o| match o {
            Ok(Object::Guardrail(guardrail)) => Some(desired::guardrail(guardrail).0),
            _ => None,
        })
        .collect();
    // No confinement: whoever runs the command holds IAM credentials already. A manifest that
    // carries status (`kubectl get -o yaml`) keeps its name.
    let context = admission::Context {
        confinement: &unconfined,
        ignore_tag_keys: &[],
        cluster_id: &args.cluster_id,
        guardrails: &guardrails,
        workloads: &args.workloads.settings(),
    };
    let policies: Vec<&IamPolicy> = objects
        .iter()
        .filter_map(|o| match o {
            Ok(Object::Policy(policy)) => Some(policy.as_ref()),
            _ => None,
        })
        .collect();
    let by_key = policies::by_key(&policies);
    let mut results: Vec<Option<serde_json::Value>> = vec![None; objects.len()];
    let mut failed = false;
    let mut changes = 0;
    // IamPolicies first (roles attach them); results stay in file order.
    let is_policy = |i: &usize| matches!(objects[*i], Ok(Object::Policy(_)));
    let order = (0..objects.len())
        .filter(is_policy)
        .chain((0..objects.len()).filter(|i| !is_policy(i)));
    for index in order {
        let (object, outcome) = match &objects[index] {
            Ok(Object::Role(role)) => {
                let outcome = async {
                    let admitted = admission::admit(&desired::input(role), &context)
                        .map_err(Error::refused)?;
                    let desired =
                        policies::with_file_refs(&iam, admitted.desired, role, &by_key, &context)
                            .await?;
                    let account = iam.caller_account().await?;
                    let problems = admission::account_guardrail_problems(
                        &admitted.owner.namespace,
                        &desired,
                        &guardrails,
                        &account,
                    );
                    if !problems.is_empty() {
                        return Err(Error::refused(problems));
                    }
                    let report =
                        engine::apply(&iam, &desired, &admitted.owner, role.spec.adopt, mode)
                            .await?;
                    Ok::<_, Error>(Done::Role(desired.name, report))
                }
                .await;
                (label(&role.metadata), outcome)
            }
            Ok(Object::Policy(policy)) => {
                let outcome = policies::run_policy(&iam, &context, policy, mode)
                    .await
                    .map(|(name, report)| Done::Policy(name, report));
                (label(&policy.metadata), outcome)
            }
            // Read above; nothing of its own to plan.
            Ok(Object::Guardrail(_)) => continue,
            Err((object, error)) => {
                let error = match error {
                    Error::Refused(problems) => Error::refused(problems.clone()),
                    other => Error::Internal(other.to_string()),
                };
                (object.clone(), Err(error))
            }
        };
        results[index] = Some(match outcome {
            Ok(Done::Role(name, report)) => {
                changes += report.ops.len();
                if args.output == OutputFormat::Text {
                    print_text(&object, &name, &report, mode);
                }
                serde_json::json!({
                    "object": object,
                    "roleName": name,
                    "roleArn": report.role_arn,
                    "operations": report.ops,
                    "warnings": report.findings.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
                })
            }
            Ok(Done::Policy(name, report)) => {
                changes += report.ops.len();
                if args.output == OutputFormat::Text {
                    policies::print_text(&object, &name, &report, mode);
                }
                serde_json::json!({
                    "object": object,
                    "policyName": name,
                    "policyArn": report.arn,
                    "operations": report.ops,
                    "warnings": report.findings.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
                })
            }
            Err(error) => {
                failed = true;
                if args.output == OutputFormat::Text {
                    println!(
                        "{object}: error ({}): {}",
                        error.category(),
                        error.message()
                    );
                }
                let problems: Vec<_> = error.problems().iter().map(problem_json).collect();
                serde_json::json!({
                    "object": object,
                    "error": {
                        "category": error.category().as_str(),
                        "message": error.message(),
                        "problems": problems,
                    },
                })
            }
        });
    }
    if args.output == OutputFormat::Json {
        let results: Vec<serde_json::Value> = results.into_iter().flatten().collect();
        match serde_json::to_string_pretty(&results) {
            Ok(text) => println!("{text}"),
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else if mode == Mode::DryRun && changes > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// What one object's plan or apply came to.
enum Done {
    Role(String, engine::ApplyReport),
    Policy(String, engine::managed_policy::PolicyReport),
}

fn label(meta: &kube::api::ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default()
    )
}

fn print_text(object: &str, name: &str, report: &engine::ApplyReport, mode: Mode) {
    let verb = match mode {
        Mode::DryRun => "would apply",
        Mode::Execute => "applied",
    };
    if report.ops.is_empty() {
        println!("{object}: role {name} is in sync (no changes)");
    } else {
        println!(
            "{object}: role {name}: {verb} {} change(s)",
            report.ops.len()
        );
        for op in &report.ops {
            println!("  {}", plan::describe(op));
            if let Some(document) = trust_document(op) {
                // The whole document: with spec.serviceAccounts it is partly rolesmith's.
                println!("      trust policy: {document}");
            }
        }
    }
    for finding in &report.findings {
        println!(
            "  warning ({}, {}): {finding}",
            finding.severity, finding.id
        );
    }
}

/// The trust policy a write sends to IAM, if it sends one.
fn trust_document(op: &crate::model::IamOp) -> Option<&str> {
    match op {
        crate::model::IamOp::CreateRole {
            assume_role_policy, ..
        } => Some(assume_role_policy),
        crate::model::IamOp::UpdateAssumeRolePolicy { document, .. } => Some(document),
        _ => None,
    }
}

fn finding_json(finding: &Finding) -> serde_json::Value {
    serde_json::json!({
        "id": finding.id.id(),
        "severity": finding.severity.as_str(),
        "field": finding.field,
        "message": finding.message,
    })
}

fn problem_json(problem: &Problem) -> serde_json::Value {
    serde_json::json!({
        "field": problem.field,
        "rule": problem.rule.id(),
        "message": problem.message,
    })
}

/// `audit`: reads the whole account, prints its findings; never writes to IAM.
async fn audit(args: AuditArgs) -> ExitCode {
    let iam = match account::client(iam_config(&args.aws), &args.aws, &args.account).await {
        Ok(iam) => iam,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let account = match iam.caller_account().await {
        Ok(account) => account,
        Err(error) => {
            eprintln!("error ({}): {}", error.category(), error.message());
            return ExitCode::FAILURE;
        }
    };
    let scan = match iam.scan_account().await {
        Ok(scan) => scan,
        Err(error) => {
            eprintln!("error ({}): {}", error.category(), error.message());
            return ExitCode::FAILURE;
        }
    };
    let settings = crate::findings::Settings {
        source_services: args.source_services.clone(),
        unused_after: args.unused_after,
    };
    let report = crate::audit::report(
        &scan,
        &account,
        &settings,
        args.min_severity,
        jiff::Timestamp::now(),
    );
    let text = match args.output {
        AuditFormat::Table => Ok(report.table()),
        AuditFormat::Json => serde_json::to_string_pretty(&report.json()),
        AuditFormat::Sarif => serde_json::to_string_pretty(&report.sarif()),
    };
    match text {
        Ok(text) => println!("{}", text.trim_end()),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    }
    if args.output != AuditFormat::Table {
        eprintln!("{}", report.summary());
    }
    if report.rows.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}
