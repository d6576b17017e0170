//! Known gaps: hostile input the engine should refuse but accepts today (files in
//! `tests/hostile/gaps/`, each with `# gap:` and `# iam:` headers).
//!
//! The suite stays green while a gap is open and prints the list on every run. When a fix lands,
//! the test fails on purpose: move the file into `corpus/` with `expect`/`layer` headers so the fix
//! stays covered.

use crate::cli::{self, Env};
use crate::corpus::{self, Case};
use crate::support::Moto;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GapHeader {
    /// What the engine misses.
    pub gap: String,
    /// What real IAM does with it, or the risk.
    pub iam: String,
}

pub fn parse_gap_header(text: &str) -> Result<GapHeader, String> {
    let value = |key: &str| {
        text.lines()
            .take_while(|line| line.starts_with('#'))
            .find_map(|line| line.strip_prefix(&format!("# {key}: ")))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
            .ok_or(format!("no `# {key}:` header"))
    };
    Ok(GapHeader {
        gap: value("gap")?,
        iam: value("iam")?,
    })
}

fn gaps() -> Vec<Case<GapHeader>> {
    let dir = corpus::hostile_path("gaps");
    // With every gap closed the directory is empty, and git keeps no empty directory.
    if !dir.exists() {
        return Vec::new();
    }
    corpus::load_dir(&dir, parse_gap_header)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_gaps() {
    let moto = Moto::start();
    let env = Env::new(&moto.endpoint);
    let mut fixed = Vec::new();
    let mut report =
        vec!["known gaps (accepted by `rolesmith plan`, should be refused):".to_string()];
    for case in gaps() {
        let run = cli::rolesmith(
            &["plan", "-f", &case.path.to_string_lossy(), "-o", "json"],
            &env,
        )
        .await;
        let accepted = run.code == Some(2)
            && run
                .results()
                .is_ok_and(|results| results.iter().all(|r| r.get("error").is_none()));
        report.push(format!(
            "  {}: {}\n      IAM: {}",
            case.name, case.header.gap, case.header.iam
        ));
        if !accepted {
            fixed.push(format!("{}\n{}", case.name, run.describe()));
        }
    }
    println!("{}", report.join("\n"));
    assert!(
        fixed.is_empty(),
        "known gaps now refused — move them into tests/hostile/corpus/ with expect/layer headers:\n{}",
        fixed.join("\n\n")
    );
}

#[test]
fn gap_headers() {
    let cases = [
        (
            "# gap: a\n# iam: b\napiVersion: v1\n",
            Ok(GapHeader {
                gap: "a".into(),
                iam: "b".into(),
            }),
        ),
        ("# gap: a\n", Err("no `# iam:` header")),
        ("# iam: b\n# gap: \n", Err("no `# gap:` header")),
        (
            "apiVersion: v1\n# gap: a\n# iam: b\n",
            Err("no `# gap:` header"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            parse_gap_header(text),
            want.map_err(str::to_string),
            "{text}"
        );
    }
}
