//! Runs the real `rolesmith` binary the way a user or CI job does (`plan`/`apply -f FILE`).

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

/// A refused manifest is refused before any IAM call; even a full apply against moto takes well
/// under a second, so this only catches a hang.
const TIMEOUT: Duration = Duration::from_secs(120);

/// What one run printed and how it ended.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub args: Vec<String>,
    /// None when killed by a signal or the timeout.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `-o json` result: one entry per IamRole, in file order.
    pub fn results(&self) -> Result<Vec<Value>, String> {
        serde_json::from_str(&self.stdout)
            .map_err(|error| format!("stdout is not the JSON result list: {error}"))
    }

    /// Everything printed, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "rolesmith {}\nexit code: {:?}\nstdout:\n{}\nstderr:\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        )
    }
}

/// Credentials and settings for one run. Nothing is inherited from the test's environment, so a
/// developer's AWS profile or RUST_LOG cannot change what the binary does or prints.
pub struct Env<'a> {
    pub endpoint: &'a str,
    pub secret_access_key: &'a str,
    pub extra: Vec<(&'a str, &'a str)>,
}

impl<'a> Env<'a> {
    pub fn new(endpoint: &'a str) -> Env<'a> {
        Env {
            endpoint,
            secret_access_key: "testing",
            extra: Vec::new(),
        }
    }
}

pub async fn rolesmith(args: &[&str], env: &Env<'_>) -> Run {
    let home = tempfile::tempdir().expect("temp HOME");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolesmith"));
    command
        .args(args)
        .args(["--iam-endpoint", env.endpoint])
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("no-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", env.secret_access_key)
        .env("AWS_REGION", "us-east-1")
        .envs(env.extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("the rolesmith binary runs");
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("rolesmith {args:?} did not finish within {TIMEOUT:?}"))
        .expect("rolesmith's output is readable");
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
