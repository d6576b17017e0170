//! No credential in output: `plan` and `apply` with a unique secret access key and session
//! token, on the success path, on InvalidSpec refusals (a rule, an unreadable object, a file that
//! is not YAML), and on IAM errors (refused, access denied, connection dropped), with the most
//! verbose logging asked for. Neither marker may appear on stdout or stderr.

use crate::cli::{self, Env, Run};
use crate::corpus;
use crate::support::{Fault, FaultProxy, Moto};

/// The credential-looking strings in secret-looking.yaml: user data, so `plan` shows them. Seeing
/// them proves the test reads the output it checks.
const POLICY_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// 40 characters in the alphabet of a real secret access key, unique to this run.
fn marker(prefix: &str) -> String {
    let random: String = (prefix.len()..40)
        .map(|_| fastrand::alphanumeric())
        .collect();
    format!("{prefix}{random}")
}

fn leaks(run: &Run, markers: &[&str]) -> Vec<String> {
    markers
        .iter()
        .filter(|marker| run.stdout.contains(*marker) || run.stderr.contains(*marker))
        .map(|marker| {
            format!(
                "{marker} appears in the output of rolesmith {}",
                run.args.join(" ")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_appear_in_output() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let secret = marker("SecretKey");
    let token = marker("SessionToken");
    let env = Env {
        endpoint: &proxy.endpoint,
        secret_access_key: &secret,
        extra: vec![
            ("AWS_SESSION_TOKEN", &token),
            ("RUST_LOG", "trace"),
            ("RUST_BACKTRACE", "1"),
        ],
    };
    let manifest = corpus::hostile_path("secret-looking.yaml");
    let manifest = manifest.to_string_lossy();
    let refused = corpus::hostile_path("corpus/54-role-name-rtl-override.yaml");
    let refused = refused.to_string_lossy();
    let unreadable = corpus::hostile_path("corpus/87-deletion-policy-unknown.yaml");
    let unreadable = unreadable.to_string_lossy();
    let not_yaml = corpus::hostile_path("corpus/89-yaml-duplicate-key.yaml");
    let not_yaml = not_yaml.to_string_lossy();

    let mut runs = Vec::new();
    let plan = cli::rolesmith(&["plan", "-f", &manifest, "-o", "json"], &env).await;
    assert_eq!(plan.code, Some(2), "{}", plan.describe());
    assert!(plan.stdout.contains(POLICY_SECRET), "{}", plan.describe());
    runs.push(plan);
    runs.push(cli::rolesmith(&["plan", "-f", &refused], &env).await);
    runs.push(cli::rolesmith(&["plan", "-f", &unreadable, "-o", "json"], &env).await);
    runs.push(cli::rolesmith(&["plan", "-f", &not_yaml], &env).await);

    // IAM errors, each with its message passed on to the user.
    proxy.inject(Fault::error(
        "CreateRole",
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:CreateRole",
    ));
    let denied = cli::rolesmith(&["apply", "-f", &manifest], &env).await;
    assert_eq!(denied.code, Some(1), "{}", denied.describe());
    assert!(
        denied.stdout.contains("AccessDenied"),
        "{}",
        denied.describe()
    );
    runs.push(denied);
    proxy.inject(Fault::error(
        "PutRolePolicy",
        400,
        "MalformedPolicyDocument",
        "Syntax errors in policy.",
    ));
    let malformed = cli::rolesmith(&["apply", "-f", &manifest, "-o", "json"], &env).await;
    assert!(
        malformed.stdout.contains("MalformedPolicyDocument"),
        "{}",
        malformed.describe()
    );
    runs.push(malformed);
    proxy.inject(Fault::hang_up("GetRole").always());
    runs.push(cli::rolesmith(&["apply", "-f", &manifest], &env).await);
    proxy.clear();

    let applied = cli::rolesmith(&["apply", "-f", &manifest], &env).await;
    assert_eq!(applied.code, Some(0), "{}", applied.describe());
    runs.push(applied);
    let in_sync = cli::rolesmith(&["plan", "-f", &manifest, "-o", "json"], &env).await;
    assert_eq!(in_sync.code, Some(0), "{}", in_sync.describe());
    runs.push(in_sync);

    let found: Vec<String> = runs
        .iter()
        .flat_map(|run| leaks(run, &[&secret, &token]))
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn leak_check_finds_a_marker_anywhere() {
    let secret = marker("SecretKey");
    assert_eq!(secret.len(), 40);
    assert_ne!(secret, marker("SecretKey"), "markers are unique");
    let run = |stdout: &str, stderr: &str| Run {
        args: vec!["plan".into()],
        code: Some(0),
        stdout: stdout.into(),
        stderr: stderr.into(),
    };
    assert!(leaks(&run("clean", "clean"), &[&secret]).is_empty());
    assert_eq!(
        leaks(&run(&format!("key={secret}"), ""), &[&secret]).len(),
        1
    );
    assert_eq!(
        leaks(&run("", &format!("debug: {secret:?}")), &[&secret]).len(),
        1
    );
}
