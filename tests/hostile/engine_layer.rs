//! The engine layer: every corpus manifest the engine must refuse is refused by the real binary
//! (`plan` and `apply`), with the InvalidSpec category and the expected message, and IAM sees no
//! write; a refused object (an object that cannot even be read as an IamRole included) does not
//! stop the good ones next to it.

use serde_json::Value;

use crate::cli::{self, Env, Run};
use crate::corpus::{self, Case, Header, Stage};
use crate::support::{self, FaultProxy, Moto};

/// IAM actions that change something (rolesmith's reads are Get* and List*).
const WRITE_PREFIXES: [&str; 9] = [
    "Create", "Put", "Attach", "Detach", "Tag", "Untag", "Update", "Delete", "Remove",
];

pub fn is_write(action: &str) -> bool {
    WRITE_PREFIXES
        .iter()
        .any(|prefix| action.starts_with(prefix))
}

/// Why `run` is not the refusal `header` asks for (empty when it is). `object` is the refused
/// object's `namespace/name`, which an object-level result must carry.
pub fn refusal_problems(header: &Header, object: &str, run: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    if run.code != Some(1) {
        problems.push(format!("exit code {:?}, expected 1", run.code));
    }
    let message = match header.stage {
        Stage::Load => {
            if !run.stdout.trim().is_empty() {
                problems.push("a file that cannot be read printed a result".to_string());
            }
            if !run.stderr.starts_with("error: invalid spec: ") {
                problems.push("stderr does not start with \"error: invalid spec: \"".to_string());
            }
            run.stderr.clone()
        }
        Stage::Object => match run.results() {
            Err(error) => {
                problems.push(error);
                return problems;
            }
            Ok(results) => object_error(&results, object, &mut problems),
        },
    };
    for fragment in header.engine_fragments() {
        if !message.contains(fragment) {
            problems.push(format!("the message lacks {fragment:?}"));
        }
    }
    problems
}

/// The message of the single refused object in a result list, noting what else is wrong.
fn object_error(results: &[Value], object: &str, problems: &mut Vec<String>) -> String {
    let [result] = results else {
        problems.push(format!("{} results, expected 1", results.len()));
        return String::new();
    };
    if result["object"] != object {
        problems.push(format!("object {}, expected {object:?}", result["object"]));
    }
    if result.get("operations").is_some() {
        problems.push("the refused object has planned operations".to_string());
    }
    let category = &result["error"]["category"];
    if category != "InvalidSpec" {
        problems.push(format!("category {category}, expected \"InvalidSpec\""));
    }
    result["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `namespace/name` of a manifest that parses (empty for the load-stage files, which name none).
fn object_label(case: &Case) -> String {
    if case.header.stage == Stage::Load {
        return String::new();
    }
    let object = corpus::manifest_json(case).unwrap_or_else(|error| panic!("{error}"));
    let field = |name: &str| {
        object["metadata"][name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    format!("{}/{}", field("namespace"), field("name"))
}

fn engine_cases() -> Vec<Case> {
    corpus::load()
        .into_iter()
        .filter(|case| case.header.layer.engine())
        .collect()
}

/// Every role and customer managed policy IAM has.
async fn role_names(iam: &aws_sdk_iam::Client) -> Vec<String> {
    let roles = iam.list_roles().send().await.expect("ListRoles");
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .expect("ListPolicies");
    roles
        .roles()
        .iter()
        .map(|r| r.role_name().to_string())
        .chain(
            policies
                .policies()
                .iter()
                .filter_map(|p| p.policy_name().map(|n| format!("policy {n}"))),
        )
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_refuses_every_engine_layer_manifest_and_iam_sees_no_write() {
    let moto = Moto::start();
    // Every request the binary makes goes through the proxy, which records its IAM action.
    let proxy = FaultProxy::start(&moto.endpoint);
    let iam = support::sdk_client(&moto.endpoint).await;
    let env = Env::new(&proxy.endpoint);
    let cases = engine_cases();
    assert!(cases.len() >= 40, "only {} engine-layer cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let path = case.path.to_string_lossy();
        let object = object_label(case);
        for command in ["plan", "apply"] {
            let seen_before = proxy.actions().len();
            let run = cli::rolesmith(&[command, "-f", &path, "-o", "json"], &env).await;
            let mut problems = refusal_problems(&case.header, &object, &run);
            let writes: Vec<String> = proxy.actions()[seen_before..]
                .iter()
                .filter(|action| is_write(action))
                .cloned()
                .collect();
            if !writes.is_empty() {
                problems.push(format!("IAM saw writes: {writes:?}"));
            }
            let roles = role_names(&iam).await;
            if !roles.is_empty() {
                problems.push(format!("IAM has roles afterwards: {roles:?}"));
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{} ({command}): {}\n{}",
                    case.name,
                    problems.join("; "),
                    run.describe()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} engine-layer cases were not refused as expected:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refused_object_does_not_stop_the_good_one_next_to_it() {
    let moto = Moto::start();
    let iam = support::sdk_client(&moto.endpoint).await;
    let env = Env::new(&moto.endpoint);
    // Every object-level refusal (type errors and unknown fields included), with the good role in
    // the middle of the list.
    let bad: Vec<Case> = engine_cases()
        .into_iter()
        .filter(|case| case.header.stage == Stage::Object)
        .collect();
    assert!(
        bad.iter().any(|case| case.name == "86-session-as-string"),
        "no type error among the object-level refusals"
    );
    let mut objects: Vec<String> = bad.iter().map(object_label).collect();
    let bad_paths: Vec<String> = bad
        .iter()
        .map(|case| case.path.to_string_lossy().into_owned())
        .collect();
    let good = corpus::hostile_path("good.yaml")
        .to_string_lossy()
        .into_owned();
    let middle = bad.len() / 2;
    let mut files: Vec<&str> = bad_paths.iter().map(String::as_str).collect();
    files.insert(middle, &good);
    objects.insert(middle, "default/hostile-good".to_string());
    let mut args = vec!["apply", "-o", "json"];
    for file in &files {
        args.extend(["-f", file]);
    }

    let run = cli::rolesmith(&args, &env).await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let results = run
        .results()
        .unwrap_or_else(|e| panic!("{e}\n{}", run.describe()));
    assert_eq!(results.len(), files.len(), "{}", run.describe());
    for (index, result) in results.iter().enumerate() {
        // One result per object, in file order.
        assert_eq!(result["object"], objects[index], "{result:#}");
        if index == middle {
            assert!(
                result.get("error").is_none(),
                "good role refused: {result:#}"
            );
            assert_eq!(result["roleName"], "hostile-good");
            let arn = result["roleArn"].as_str().unwrap_or_default();
            assert!(arn.ends_with(":role/hostile/hostile-good"), "{result:#}");
        } else {
            assert_eq!(
                result["error"]["category"], "InvalidSpec",
                "{}: {result:#}",
                files[index]
            );
        }
    }
    assert_eq!(role_names(&iam).await, ["hostile-good"]);

    // The good role was applied in full: planning it again finds nothing to do.
    let again = cli::rolesmith(&["plan", "-f", &good, "-o", "json"], &env).await;
    assert_eq!(again.code, Some(0), "{}", again.describe());
}

/// An object that cannot even be read as an IamRole (a type error, an unknown enum value) is
/// refused on its own, in the text and the JSON output, and the good role next to it is applied,
/// whether the two are in separate files or in one multi-document file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_that_cannot_be_read_does_not_stop_the_good_one_next_to_it() {
    let moto = Moto::start();
    let iam = support::sdk_client(&moto.endpoint).await;
    let env = Env::new(&moto.endpoint);
    let path = |name: &str| corpus::hostile_path(name).to_string_lossy().into_owned();
    let unreadable = path("corpus/86-session-as-string.yaml");
    let good = path("good.yaml");

    // Text output, separate files: both objects are reported, the error wins the exit code.
    let plan = cli::rolesmith(&["plan", "-f", &unreadable, "-f", &good], &env).await;
    assert_eq!(plan.code, Some(1), "{}", plan.describe());
    let lines: Vec<&str> = plan.stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(
            "default/hostile-86: error (InvalidSpec): invalid spec: spec.maxSessionDuration: invalid type: string \"3600\", expected i32"
        ),
        "{}",
        plan.describe()
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("default/hostile-good: role hostile-good: would apply ")),
        "{}",
        plan.describe()
    );
    assert!(role_names(&iam).await.is_empty(), "plan wrote to IAM");

    // JSON output, one multi-document file: the good role between two unreadable objects.
    let read = |name: &str| std::fs::read_to_string(path(name)).expect("readable");
    let dir = tempfile::tempdir().expect("temp dir");
    let together = dir.path().join("together.yaml");
    let documents = [
        read("corpus/88-tag-value-yaml-boolean.yaml"),
        read("good.yaml"),
        read("corpus/87-deletion-policy-unknown.yaml"),
    ];
    std::fs::write(&together, documents.join("---\n")).expect("temp file written");
    let together = together.to_string_lossy();
    let run = cli::rolesmith(&["apply", "-f", &together, "-o", "json"], &env).await;
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let results = run
        .results()
        .unwrap_or_else(|e| panic!("{e}\n{}", run.describe()));
    let summary: Vec<(&str, &str, &str)> = results
        .iter()
        .map(|result| {
            (
                result["object"].as_str().unwrap_or_default(),
                result["error"]["category"].as_str().unwrap_or_default(),
                result["roleName"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("default/hostile-88", "InvalidSpec", ""),
            ("default/hostile-good", "", "hostile-good"),
            ("default/hostile-87", "InvalidSpec", ""),
        ],
        "{}",
        run.describe()
    );
    for (result, fragment) in [
        (
            &results[0],
            "spec.tags.country: invalid type: boolean `false`",
        ),
        (
            &results[2],
            "spec.deletionPolicy: unknown variant `Destroy`",
        ),
    ] {
        let message = result["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
        assert!(result.get("operations").is_none(), "{result:#}");
    }
    let arn = results[1]["roleArn"].as_str().unwrap_or_default();
    assert!(
        arn.ends_with(":role/hostile/hostile-good"),
        "{}",
        run.describe()
    );
    assert_eq!(role_names(&iam).await, ["hostile-good"]);

    // The good role was applied in full: planning it again finds nothing to do.
    let again = cli::rolesmith(&["plan", "-f", &good, "-o", "json"], &env).await;
    assert_eq!(again.code, Some(0), "{}", again.describe());
}

#[test]
fn refusal_checks_catch_what_is_wrong() {
    let header = |stage| Header {
        expect: "spec.roleName".into(),
        expect_engine: Some("U+200B".into()),
        expect_crd: None,
        layer: corpus::Layer::Both,
        stage,
    };
    let run = |code, stdout: &str, stderr: &str| Run {
        args: Vec::new(),
        code,
        stdout: stdout.into(),
        stderr: stderr.into(),
    };
    let refused = r#"[{"object":"default/x","error":{"category":"InvalidSpec","message":"invalid spec: spec.roleName: \"a\u200Bb\" contains '\u200B' (U+200B)"}}]"#;
    let cases: Vec<(&str, Header, Run, &[&str])> = vec![
        (
            "refused",
            header(Stage::Object),
            run(Some(1), refused, ""),
            &[],
        ),
        (
            "accepted",
            header(Stage::Object),
            run(Some(2), r#"[{"object":"default/x","operations":[]}]"#, ""),
            &[
                "exit code Some(2)",
                "planned operations",
                "category null",
                "lacks \"spec.roleName\"",
                "lacks \"U+200B\"",
            ],
        ),
        (
            "other category",
            header(Stage::Object),
            run(Some(1), &refused.replace("InvalidSpec", "IamRejected"), ""),
            &["category \"IamRejected\""],
        ),
        (
            "another object refused",
            header(Stage::Object),
            run(Some(1), &refused.replace("default/x", "default/y"), ""),
            &["object \"default/y\", expected \"default/x\""],
        ),
        (
            "two results",
            header(Stage::Object),
            run(
                Some(1),
                &format!("[{0},{0}]", &refused[1..refused.len() - 1]),
                "",
            ),
            &["2 results", "lacks \"spec.roleName\"", "lacks \"U+200B\""],
        ),
        (
            "no JSON",
            header(Stage::Object),
            run(Some(1), "", "error: boom"),
            &["stdout is not the JSON result list"],
        ),
        (
            "refused while loading",
            header(Stage::Load),
            run(
                Some(1),
                "",
                "error: invalid spec: f.yaml: spec.roleName U+200B",
            ),
            &[],
        ),
        (
            "load error with a result",
            header(Stage::Load),
            run(
                Some(1),
                refused,
                "error: invalid spec: spec.roleName U+200B",
            ),
            &["printed a result"],
        ),
        (
            "killed",
            header(Stage::Load),
            run(None, "", ""),
            &[
                "exit code None",
                "stderr does not start",
                "lacks \"spec.roleName\"",
                "lacks \"U+200B\"",
            ],
        ),
    ];
    for (label, header, run, want) in cases {
        let got = refusal_problems(&header, "default/x", &run);
        assert_eq!(got.len(), want.len(), "{label}: {got:#?}");
        for (problem, fragment) in got.iter().zip(want) {
            assert!(
                problem.contains(fragment),
                "{label}: {problem:?} lacks {fragment:?}"
            );
        }
    }
    assert!(is_write("CreateRole") && is_write("TagRole") && is_write("UntagRole"));
    assert!(!is_write("GetRole") && !is_write("ListRoleTags"));
}
