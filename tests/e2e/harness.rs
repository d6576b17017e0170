//! One isolated world per test: the test API server (in-process), a private moto, the
//! `rolesmith` binary as a separate process, and the real kubectl — all on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube_sim::KubeSim;
use rolesmith::iam::{AwsIam, IamApi};
use rolesmith::model::ObservedRole;
use serde_json::Value;

use crate::support::{self, Moto};

pub const CLUSTER_ID: &str = "e2e";
/// The operator's (fake) secret key: unique, so a test can prove it never shows up anywhere.
pub const SECRET_ACCESS_KEY: &str = "e2e-SECRET-never-to-be-printed-5d1c";
/// The (made-up) OIDC provider of the test cluster, for IamRoles with IRSA serviceAccounts.
pub const OIDC_PROVIDER_ARN: &str =
    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/E2E";

pub struct World {
    pub sim: KubeSim,
    pub moto: Moto,
    /// "Someone else" with IAM access: reads and changes IAM behind rolesmith's back.
    pub iam: AwsIam,
    pub home: tempfile::TempDir,
    pub operator: Option<Operator>,
    pub resync: Duration,
}

pub struct Operator {
    child: Child,
    pub metrics_port: u16,
    pub log: PathBuf,
}

impl Operator {
    #[allow(dead_code, reason = "used by benches/fleet.rs")]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl World {
    /// Everything started, the CRD applied with kubectl, the operator running.
    pub async fn start() -> World {
        Self::start_with_resync(Duration::from_secs(3)).await
    }

    pub async fn start_with_resync(resync: Duration) -> World {
        let sim = KubeSim::start().await.expect("kube-sim starts");
        Self::start_with_sim(sim, resync).await
    }

    /// The same around a test API server started elsewhere (the benchmark runs it on a
    /// runtime of its own).
    pub async fn start_with_sim(sim: KubeSim, resync: Duration) -> World {
        let moto = Moto::start();
        let observer: Arc<dyn rolesmith::iam::CallObserver> =
            Arc::new(rolesmith::iam::NoopObserver);
        let iam = support::aws_iam(&moto.endpoint, observer).await;
        let home = tempfile::tempdir().expect("temp HOME for kubectl");
        let mut world = World {
            sim,
            moto,
            iam,
            home,
            operator: None,
            resync,
        };
        world.kubectl_ok(&["apply", "-f", &repo("crds").to_string_lossy()]);
        world.kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "crd/iamroles.iam.rolesmith.dev",
            "crd/iampolicies.iam.rolesmith.dev",
            "crd/roleguardrails.iam.rolesmith.dev",
            "crd/awsaccounts.iam.rolesmith.dev",
            "crd/iamservicelinkedroles.iam.rolesmith.dev",
            "--timeout=30s",
        ]);
        world.start_operator();
        world
    }

    pub fn start_operator(&mut self) {
        self.start_operator_with(&OperatorOptions {
            extra_args: default_operator_args(),
            ..OperatorOptions::default()
        });
    }

    /// Restarts the operator as [`World::start_operator`] does, making Pod Identity
    /// associations in `cluster` through the EKS endpoint `endpoint` (a fake-eks).
    pub fn restart_operator_with_eks(&mut self, endpoint: &str, cluster: &str) {
        self.kill_operator();
        let mut extra_args = default_operator_args();
        extra_args
            .extend(["--eks-cluster-name", cluster, "--eks-endpoint", endpoint].map(String::from));
        self.start_operator_with(&OperatorOptions {
            extra_args,
            ..OperatorOptions::default()
        });
    }

    pub fn kill_operator(&mut self) {
        self.operator = None;
    }

    pub fn operator_log(&self) -> String {
        self.operator
            .as_ref()
            .and_then(|op| std::fs::read_to_string(&op.log).ok())
            .unwrap_or_default()
    }

    /// Runs the real kubectl against the test API server, with no extra flags.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        kubectl_at(self.sim.kubeconfig(), self.home.path(), args, None)
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Output {
        kubectl_at(self.sim.kubeconfig(), self.home.path(), args, Some(stdin))
    }

    /// `kubectl get events` about the objects named `name` in `default`, as kubectl prints them.
    pub fn events_about(&self, name: &str) -> String {
        let selector = format!("involvedObject.name={name}");
        self.kubectl_ok(&[
            "get",
            "events",
            "-n",
            "default",
            "--field-selector",
            &selector,
        ])
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.operator_log()
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn apply_yaml(&self, yaml: &str) -> String {
        let output = self.kubectl_stdin(&["apply", "-f", "-"], yaml);
        assert!(
            output.status.success(),
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn get_json(&self, namespace: &str, name: &str) -> Value {
        let text = self.kubectl_ok(&["get", "iamrole", name, "-n", namespace, "-o", "json"]);
        serde_json::from_str(&text).expect("kubectl -o json prints JSON")
    }

    /// Waits with `kubectl wait` (the way users and CI do).
    pub fn wait_ready(&self, namespace: &str, name: &str, timeout: &str) {
        let output = self.kubectl(&[
            "wait",
            "--for=condition=Ready",
            &format!("iamrole/{name}"),
            "-n",
            namespace,
            &format!("--timeout={timeout}"),
        ]);
        assert!(
            output.status.success(),
            "{namespace}/{name} not Ready: {}\nstatus: {}\noperator log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.get_json(namespace, name)["status"],
            tail(&self.operator_log(), 60)
        );
    }

    /// Polls until `check` holds for the object's JSON, or panics with the last status.
    pub async fn wait_for_object(
        &self,
        namespace: &str,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let object = self.get_json(namespace, name);
            if check(&object) {
                return object;
            }
            if Instant::now() > deadline {
                panic!(
                    "{namespace}/{name}: {what} not reached; status: {}\noperator log:\n{}",
                    object["status"],
                    tail(&self.operator_log(), 60)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn role(&self, name: &str) -> Option<ObservedRole> {
        // A role deleted between GetRole and the list calls that follow it reads as gone.
        for _ in 0..5 {
            match self.iam.get_role(name).await {
                Ok(role) => return role,
                Err(rolesmith::error::Error::Iam { code, .. }) if code == "NoSuchEntity" => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("IAM answers: {error}"),
            }
        }
        None
    }

    /// Polls IAM until `check` holds for the role (None = absent).
    pub async fn wait_for_role(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(Option<&ObservedRole>) -> bool,
    ) -> Option<ObservedRole> {
        let deadline = Instant::now() + timeout;
        loop {
            let role = self.role(name).await;
            if check(role.as_ref()) {
                return role;
            }
            if Instant::now() > deadline {
                panic!(
                    "role {name}: {what} not reached; IAM has {role:#?}\noperator log:\n{}",
                    tail(&self.operator_log(), 60)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Sum of the operator's `rolesmith_iam_calls` counters for the given operations.
    pub async fn iam_calls(&self, operations: &[&str]) -> u64 {
        let port = self
            .operator
            .as_ref()
            .expect("operator running")
            .metrics_port;
        let text = http_get(port, "/metrics").await.unwrap_or_default();
        text.lines()
            .filter(|line| line.starts_with("rolesmith_iam_calls_total{"))
            .filter(|line| {
                operations
                    .iter()
                    .any(|op| line.contains(&format!("operation=\"{op}\"")))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    pub async fn http_get(&self, path: &str) -> Option<(u16, String)> {
        let port = self.operator.as_ref()?.metrics_port;
        http_get_status(port, path).await
    }
}

/// The IAM write operations rolesmith can issue.
pub const WRITES: &[&str] = &[
    "CreateRole",
    "UpdateRole",
    "UpdateAssumeRolePolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "TagRole",
    "UntagRole",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "RemoveRoleFromInstanceProfile",
    "DeleteRole",
];

pub fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn kubectl_binary() -> PathBuf {
    let venv = std::env::var_os("ROLESMITH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo(".venv"));
    let kubectl = venv.join("bin").join("kubectl");
    assert!(
        kubectl.is_file(),
        "{} not found: run scripts/venv.sh (or make test)",
        kubectl.display()
    );
    kubectl
}

fn kubectl_at(kubeconfig: &Path, home: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(kubectl_binary())
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin piped");
        pipe.write_all(text.as_bytes())
            .expect("write kubectl stdin");
    }
    child.wait_with_output().expect("kubectl finishes")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

async fn http_get(port: u16, path: &str) -> Option<String> {
    http_get_status(port, path).await.map(|(_, body)| body)
}

async fn http_get_status(port: u16, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, dechunk(&body)))
}

/// axum answers with chunked encoding when the length is unknown.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size_line, after)) = rest.split_once("\r\n") else {
            return body.to_string();
        };
        let Ok(size) = usize::from_str_radix(size_line.trim(), 16) else {
            return body.to_string();
        };
        if size == 0 {
            return out;
        }
        if after.len() < size {
            return body.to_string();
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn condition<'a>(object: &'a Value, kind: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

pub fn condition_is(object: &Value, kind: &str, status: &str) -> bool {
    condition(object, kind).is_some_and(|c| c["status"] == status)
}

/// What an operator started by [`World::start_operator_with`] does differently from the
/// default one.
/// The flags of [`World::start_operator`]'s operator beyond the harness's own.
fn default_operator_args() -> Vec<String> {
    // Most scenarios use short role names in these namespaces; every other namespace keeps the
    // default confinement (tested in ownership.rs).
    [
        "--unconfined-namespaces",
        "default,platform",
        "--oidc-provider-arn",
        OIDC_PROVIDER_ARN,
    ]
    .map(String::from)
    .to_vec()
}

#[derive(Clone, Debug, Default)]
pub struct OperatorOptions {
    /// IAM endpoint instead of moto's: a fault proxy in front of it, or a dead port.
    pub iam_endpoint: Option<String>,
    /// Further `rolesmith run` flags (each flag must not be one the harness already passes).
    pub extra_args: Vec<String>,
    /// `RUST_LOG` instead of the default, e.g. to see kube-runtime's watcher errors.
    pub rust_log: Option<String>,
}

impl World {
    /// Starts an operator like [`World::start_operator`], changed by `options`.
    pub fn start_operator_with(&mut self, options: &OperatorOptions) {
        let metrics_port = free_port();
        let log = self
            .home
            .path()
            .join(format!("rolesmith-{metrics_port}.log"));
        let log_file = std::fs::File::create(&log).expect("operator log file");
        let endpoint = options
            .iam_endpoint
            .clone()
            .unwrap_or_else(|| self.moto.endpoint.clone());
        // A profiler's wrapper script may stand in for the binary (`make bench`, heap profiles).
        let binary = std::env::var("ROLESMITH_OPERATOR_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_rolesmith").to_string());
        let child = Command::new(binary)
            .args([
                "run",
                "--cluster-id",
                CLUSTER_ID,
                "--iam-endpoint",
                &endpoint,
                "--resync-interval",
                &format!("{}ms", self.resync.as_millis()),
                "--retry-base",
                "200ms",
                "--retry-max",
                "2s",
                "--metrics-addr",
                &format!("127.0.0.1:{metrics_port}"),
            ])
            .args(&options.extra_args)
            .env("KUBECONFIG", self.sim.kubeconfig())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .env("AWS_REGION", "us-east-1")
            .env(
                "RUST_LOG",
                options
                    .rust_log
                    .as_deref()
                    .unwrap_or("info,rolesmith=debug"),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("rolesmith binary starts");
        self.operator = Some(Operator {
            child,
            metrics_port,
            log,
        });
    }

    /// The running operator's process id (None once it has been reaped or dropped).
    pub fn operator_pid(&mut self) -> Option<u32> {
        let operator = self.operator.as_mut()?;
        match operator.child.try_wait() {
            Ok(None) => Some(operator.child.id()),
            _ => None,
        }
    }

    /// Sends `signal` ("TERM", "KILL", …) with the `kill` command, as a kubelet would. Only
    /// while the child is unreaped, so the pid cannot belong to another process yet.
    pub fn signal_operator(&mut self, signal: &str) {
        let pid = self
            .operator_pid()
            .expect("the operator is running when signalled");
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("the kill command runs");
        assert!(status.success(), "kill -{signal} {pid} failed: {status}");
    }

    /// Waits up to `timeout` for the operator to exit; its log stays readable afterwards.
    pub async fn wait_operator_exit(
        &mut self,
        timeout: Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let operator = self.operator.as_mut()?;
            if let Ok(Some(status)) = operator.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
