//! Runs the shipping tests (chart, deploy/, examples, IAM policy, Argo CD health check,
//! Dockerfile, workflows, the commands the documents tell users to type) under `cargo test`, so
//! `make test` and CI cover them.
//!
//! The tests themselves are Python (`tests/ship/test_*.py`): they drive the real Helm library,
//! kubectl, moto and Lua 5.1, which only exist as Python packages and Debian binaries. Each module
//! is one Rust test so a failure names the area that broke.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    let venv = std::env::var_os("ROLESMITH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"));
    let python = venv.join("bin").join("python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/venv.sh (make tools)",
        python.display()
    );
    python
}

fn run_module(module: &str) {
    let dir = root().join("tests").join("ship");
    let mut command = Command::new(python());
    command
        .args(["-m", "unittest", "-v", module])
        .current_dir(&dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // The documented commands run this build's `rolesmith`, and `make generate` builds into
        // the target dir this test was built in, whatever CARGO_TARGET_DIR or config chose.
        .env("ROLESMITH_BIN", env!("CARGO_BIN_EXE_rolesmith"))
        .env("CARGO_TARGET_DIR", target_dir());
    match kube_sim_binary() {
        Some(bin) => command.env("KUBE_SIM_BIN", bin),
        // A nested `cargo build` would wait forever for the lock this `cargo test` holds.
        None => command.env("SHIP_NO_NESTED_CARGO", "1"),
    };
    let status = command.status().expect("python starts");
    assert!(
        status.success(),
        "tests/ship/{module}.py failed (output above)"
    );
}

/// The target directory this test binary was built in (`<target>/debug/deps/ship-…`): the
/// ancestor holding cargo's CACHEDIR.TAG.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root().join("target"))
}

/// The kube-sim that `cargo build --workspace --bins` left next to this test binary, so the
/// Python side does not start a nested cargo build while this one holds the build lock.
fn kube_sim_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let candidate = profile_dir.join("kube-sim");
    is_fresh(&candidate).then_some(candidate)
}

fn is_fresh(binary: &Path) -> bool {
    let Ok(built) = binary.metadata().and_then(|m| m.modified()) else {
        return false;
    };
    let package = root().join("tests").join("kube-sim");
    newest_change(&package.join("src"))
        .into_iter()
        .chain(newest_change(&package.join("Cargo.toml")))
        .all(|changed| changed <= built)
}

fn newest_change(path: &Path) -> Option<std::time::SystemTime> {
    let meta = path.metadata().ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|entry| newest_change(&entry.path()))
        .max()
}

#[test]
fn examples() {
    run_module("test_examples");
}

#[test]
fn iam_rules() {
    run_module("test_iam_rules");
}

#[test]
fn iam_policy() {
    run_module("test_iam_policy");
}

#[test]
fn argocd_health() {
    run_module("test_argocd_health");
}

#[test]
fn chart() {
    run_module("test_chart");
}

#[test]
fn deploy_manifests() {
    run_module("test_deploy");
}

#[test]
fn dockerfile() {
    run_module("test_dockerfile");
}

#[test]
fn gitops_and_ci() {
    run_module("test_gitops_and_ci");
}

#[test]
fn documented_commands() {
    run_module("test_documented_commands");
}
