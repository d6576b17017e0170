//! Known gaps: hostile input the engine should refuse but accepts today (files in
//! `tests/hostile/gaps/`, each with `# gap:` and `# iam:` headers), and one CLI behaviour.
//!
//! The suite stays green while a gap is open and prints the list on every run. When a fix lands,
//! the test fails on purpose: move the file into `corpus/` with `expect`/`layer` headers so the fix
//! stays covered.

use crate::cli::{self, Env};
use crate::corpus::{self, Case};
use crate::support::{self, Moto};

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
    corpus::load_dir(&corpus::hostile_path("gaps"), parse_gap_header)
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

/// `rolesmith apply -f bad -f good`, where the bad file cannot be read as an IamRole (a type
/// error such as `maxSessionDuration: "3600"`): the whole run stops before planning anything, so
/// the good role is not applied and `-o json` prints no result at all (kubectl apply reports such
/// a file and goes on with the others). Only object-level refusals leave the others running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_gap_a_file_that_cannot_be_read_stops_every_other_object() {
    let moto = Moto::start();
    let iam = support::sdk_client(&moto.endpoint).await;
    let env = Env::new(&moto.endpoint);
    let unreadable = corpus::hostile_path("corpus/86-session-as-string.yaml");
    let good = corpus::hostile_path("good.yaml");
    let run = cli::rolesmith(
        &[
            "apply",
            "-o",
            "json",
            "-f",
            &good.to_string_lossy(),
            "-f",
            &unreadable.to_string_lossy(),
        ],
        &env,
    )
    .await;
    let roles = iam.list_roles().send().await.expect("ListRoles");
    println!(
        "known gap: a file that cannot be read stops `rolesmith apply` for every other object (exit {:?}, {} role(s) applied)",
        run.code,
        roles.roles().len()
    );
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stdout.trim().is_empty() && roles.roles().is_empty(),
        "gap fixed: the good role was applied next to an unreadable file; turn this into a test of the new behaviour\n{}",
        run.describe()
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
