//! The README's first command, run non-interactively: it must bring everything up, show the
//! roles as kubectl and IAM see them, explain how to continue, and stop everything it started.

use std::process::Command;

use crate::harness::repo;

#[test]
fn sandbox_shows_ready_roles_and_cleans_up() {
    let dir = tempfile::tempdir().expect("temp dir for the sandbox");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| repo("target"));
    let kube_sim = target.join("debug").join("kube-sim");
    if !kube_sim.is_file() {
        // `make test` builds every binary first; a bare `cargo test` may not have.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "kube-sim", "--bin", "kube-sim"])
            .current_dir(repo("."))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "kube-sim builds");
    }
    let output = Command::new("bash")
        .arg(repo("scripts/sandbox.sh"))
        .env("SANDBOX_ONESHOT", "1")
        .env("SANDBOX_DIR", dir.path())
        .env("ROLESMITH_BIN", env!("CARGO_BIN_EXE_rolesmith"))
        .env("KUBE_SIM_BIN", &kube_sim)
        .output()
        .expect("sandbox script runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log = std::fs::read_to_string(dir.path().join("rolesmith.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "sandbox failed:\n{stdout}\n{stderr}\n{log}"
    );

    let examples = std::fs::read_dir(repo("examples"))
        .expect("examples/")
        .count();
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("$ kubectl get iamroles -o wide"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .collect();
    assert!(
        table[0].starts_with("NAME") && table[0].contains("READY") && table[0].contains("ARN"),
        "{stdout}"
    );
    assert_eq!(table.len() - 1, examples, "one row per example:\n{stdout}");
    assert!(
        table[1..]
            .iter()
            .all(|row| row.contains("True") && row.contains("arn:aws:iam::123456789012:role/")),
        "{stdout}"
    );
    let iam_roles = stdout
        .lines()
        .filter(|line| line.starts_with("== arn:aws:iam::"))
        .count();
    assert_eq!(iam_roles, examples, "IAM shows every role:\n{stdout}");
    for expected in [
        "trust policy:",
        "inline ",
        "attached: arn:aws:iam::aws:policy/",
        "permissions boundary:",
        "tag rolesmith.dev/owner = sandbox/default/",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(
        stdout.contains(&format!(
            "export KUBECONFIG={}",
            dir.path().join("kubeconfig").display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("stopped everything it started"), "{stdout}");
    // Nothing left listening on the kubeconfig's port.
    let kubeconfig = std::fs::read_to_string(dir.path().join("kubeconfig")).unwrap_or_default();
    let port = kubeconfig
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|port| port.parse::<u16>().ok())
        .expect("the kubeconfig names the API server's port");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the API server is still running"
    );
}
