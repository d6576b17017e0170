//! rolesmith: makes AWS IAM roles match `IamRole` resources.
//!
//! The modules, by layer. Each layer uses only the layers above it; the `layers` test below
//! refuses an import that breaks the rule.
//!
//! **Core** — pure decisions over plain data, no IO, no Kubernetes or AWS types:
//! - [`model`]: the plain data every layer shares (desired and observed role, IAM writes, owner);
//! - [`error`]: the one error type and its bounded category;
//! - [`arn`]: the one reading of an ARN (partition, account, resource);
//! - [`policy`]: policy documents: IAM's encoding, semantic equivalence, grammar, guardrails;
//! - [`admission`]: whether an object may proceed, in one step: IAM's limits (named once), its
//!   input rules, derived role names, namespace confinement, the rename guard; refusals
//!   ([`admission::Problem`]) and findings ([`admission::Finding`]) by stable rule id;
//! - [`findings`]: the risk checks behind admission's findings and `audit`, by family;
//! - [`plan`]: desired + observed → the ordered IAM writes; ownership; deletion;
//! - [`drift`]: the periodic drift check: what differs, and whether a bulk read pays off;
//! - [`consistency`]: how long IAM's eventual consistency may explain an error.
//!
//! **AWS** — the IAM adapter behind a trait:
//! - [`iam`]: `IamApi`, its aws-sdk-iam implementation (per-role reads, the account sweep,
//!   writes, error classification) and call counting;
//! - [`ratelimit`]: one IAM rate limit per account, paused by throttling;
//! - [`eks`]: `EksApi`, EKS Pod Identity associations (for `spec.serviceAccounts`).
//!
//! **Engine** — [`engine`]: observe → plan → execute (after a defensive admission check), shared
//! by the controller and the command line.
//!
//! **Kubernetes** — the API and the operator:
//! - [`api`]: the `IamRole`, `IamPolicy`, `IamServiceLinkedRole`, `RoleGuardrail` and `AwsAccount`
//!   types; the CRDs are generated from them;
//! - [`desired`]: an `IamRole` object → the plain input admission reads, its owner (and the same
//!   for an `IamPolicy`);
//! - [`status`]: conditions (kstatus), pure;
//! - [`controller`]: the watch, the pure per-reconcile decision, retries, the drift sweeper;
//! - [`leader`]: leader election on a Lease;
//! - [`telemetry`]: metrics, health endpoints, logging.
//!
//! **Command line** — [`cli`] (flags), [`commands`] (run, crd, plan, apply: each object through
//! [`admission::admit`]; audit), [`manifest`] (IamRole files for `plan`/`apply`), [`audit`] (an
//! account's findings as table, JSON, SARIF).

pub mod admission;
pub mod api;
pub mod arn;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod consistency;
pub mod controller;
pub mod desired;
pub mod drift;
pub mod eks;
pub mod engine;
pub mod error;
pub mod findings;
pub mod iam;
pub mod leader;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod policy;
pub mod ratelimit;
pub mod status;
pub mod telemetry;

#[cfg(test)]
mod layers {
    //! The layering above, checked on the source: a core module that imported Kubernetes, AWS or
    //! a module of a lower layer would no longer be a pure decision.

    const CORE: [&str; 9] = [
        "model",
        "arn",
        "policy",
        "admission",
        "findings",
        "plan",
        "drift",
        "consistency",
        "error",
    ];
    const AWS: [&str; 3] = ["iam", "ratelimit", "eks"];
    /// Lower layers than core and AWS: neither may import them.
    const ABOVE_AWS: [&str; 11] = [
        "audit",
        "engine",
        "api",
        "desired",
        "status",
        "controller",
        "leader",
        "telemetry",
        "cli",
        "commands",
        "manifest",
    ];

    fn sources(module: &str) -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        let file = root.join(format!("{module}.rs"));
        if let Ok(text) = std::fs::read_to_string(&file) {
            found.push((file.display().to_string(), text));
        }
        let mut dirs = vec![root.join(module)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    found.push((path.display().to_string(), text));
                }
            }
        }
        found
    }

    /// Lines outside `#[cfg(test)]` tails that name `needle`.
    fn offending(text: &str, needles: &[String]) -> Vec<String> {
        let production = text.split("#[cfg(test)]").next().unwrap_or("");
        production
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .filter(|line| needles.iter().any(|n| line.contains(n.as_str())))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn core_is_pure() {
        let mut needles: Vec<String> = ["kube::", "k8s_openapi", "aws_sdk", "aws_config", "tokio"]
            .iter()
            .map(|n| n.to_string())
            .collect();
        needles.extend(AWS.iter().chain(&ABOVE_AWS).map(|m| format!("crate::{m}")));
        for module in CORE {
            for (file, text) in sources(module) {
                let mut bad = offending(&text, &needles);
                // The one error type wraps a Kubernetes client error: its only outside type.
                bad.retain(|line| !(module == "error" && line.contains("kube::Error")));
                assert!(bad.is_empty(), "{file} reaches below the core: {bad:#?}");
            }
        }
    }

    #[test]
    fn the_aws_adapter_knows_no_kubernetes() {
        let mut needles: Vec<String> = ["kube::", "k8s_openapi"]
            .iter()
            .map(|n| n.to_string())
            .collect();
        needles.extend(ABOVE_AWS.iter().map(|m| format!("crate::{m}")));
        for module in AWS {
            for (file, text) in sources(module) {
                let bad = offending(&text, &needles);
                assert!(
                    bad.is_empty(),
                    "{file} reaches into a lower layer: {bad:#?}"
                );
            }
        }
    }

    /// The README's architecture table lists every module (`name.rs` or `name/`) and names no
    /// file that is gone.
    #[test]
    fn the_readme_architecture_table_matches_the_modules() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_default();
        let readme = read("README.md");
        let table: String = readme
            .split("## Architecture")
            .nth(1)
            .and_then(|rest| rest.split("\nTests").next())
            .unwrap_or_default()
            .to_string();
        let modules: Vec<String> = read("src/lib.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("pub mod "))
            .map(|name| name.trim_end_matches(';').to_string())
            .collect();
        assert!(modules.len() > 10, "{modules:?}");
        for module in &modules {
            let file = format!("`{module}.rs`");
            let dir = format!("`{module}/`");
            assert!(
                table.contains(&file) || table.contains(&dir),
                "README's architecture table lacks {module}"
            );
        }
        let mut paths = Vec::new();
        let mut dirs = vec![root.join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let relative = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                if path.is_dir() {
                    paths.push(format!("/{relative}/"));
                    dirs.push(path);
                } else {
                    paths.push(format!("/{relative}"));
                }
            }
        }
        let files = table
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|named| named.ends_with(".rs") || named.ends_with('/'))
            // Directories of the repository (`src/`, `crds/`) are not modules.
            .filter(|named| !root.join(named).is_dir());
        for named in files {
            assert!(
                paths
                    .iter()
                    .any(|path| path.ends_with(&format!("/{named}"))),
                "README's architecture table names {named}, which src/ lacks"
            );
        }
    }
}
