//! The CRD layer: every corpus manifest the CRD must refuse is refused by its schema and CEL
//! rules as the API server evaluates them (kube-sim's prune → defaults → validate, the same code
//! its write path runs), with the expected message; the manifests only the engine refuses do get
//! through the schema (so each `layer` header is true both ways); and a handful are refused by
//! the real kubectl against kube-sim.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use kube_sim::KubeSim;
use kube_sim::schema::{FieldError, apply_defaults, prune, validate};
use serde_json::Value;

use crate::corpus::{self, Case, Layer, Stage};

/// Corpus cases also run through kubectl: one per kind of schema check (pattern, bounds, list
/// set, enum, type, CEL, strict unknown field in spec and next to it, YAML merge key), and the
/// IamPolicy CRD's.
const THROUGH_KUBECTL: [&str; 14] = [
    "46-managed-policies-21",
    "47-managed-duplicate",
    "50-role-name-space",
    "53-role-name-zero-width",
    "65-tag-aws-prefix-via-merge-key",
    "67-tag-owner",
    "79-session-too-short",
    "83-description-control-chars",
    "87-deletion-policy-unknown",
    "88-tag-value-yaml-boolean",
    "91-unknown-spec-field",
    "97-spec-field-at-top-level",
    "102-iampolicy-name-space",
    "108-iampolicy-unknown-field",
];

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn crd_file() -> PathBuf {
    repo("crds/iamroles.iam.rolesmith.dev.yaml")
}

fn policy_crd_file() -> PathBuf {
    repo("crds/iampolicies.iam.rolesmith.dev.yaml")
}

/// The schemas of both kinds; [`Schemas::of`] picks the one an object's kind needs.
struct Schemas {
    role: Value,
    policy: Value,
}

impl Schemas {
    fn of(&self, object: &Value) -> &Value {
        if object["kind"] == "IamPolicy" {
            &self.policy
        } else {
            &self.role
        }
    }
}

fn schemas() -> Schemas {
    Schemas {
        role: schema_of(&crd_file()),
        policy: schema_of(&policy_crd_file()),
    }
}

/// The v1alpha1 version's openAPIV3Schema from a committed CRD.
fn schema_of(file: &Path) -> Value {
    let text = std::fs::read_to_string(file).expect("the CRD file is readable");
    let crd: Value = serde_saphyr::from_str(&text).expect("the CRD is YAML");
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema")
        .cloned()
        .expect("the CRD has an openAPIV3Schema")
}

/// What the API server answers to creating `object`: kubectl apply asks for strict field
/// validation, so unknown fields refuse it first; otherwise the schema and CEL errors, as kubectl
/// prints them. Empty: the object is stored.
pub fn server_errors(schema: &Value, object: &Value) -> Vec<String> {
    let mut object = object.clone();
    let unknown = prune(schema, &mut object);
    if !unknown.is_empty() {
        return unknown
            .iter()
            .map(|path| format!("unknown field \"{path}\""))
            .collect();
    }
    apply_defaults(schema, &mut object);
    validate(schema, &object, None)
        .iter()
        .map(FieldError::message)
        .collect()
}

/// Why `errors` are not the refusal `case` asks for: one message must hold every fragment.
fn crd_refusal_problem(case: &Case, errors: &[String]) -> Option<String> {
    let fragments = case.header.crd_fragments();
    if errors.is_empty() {
        return Some("the schema accepts it".to_string());
    }
    let matched = errors
        .iter()
        .any(|error| fragments.iter().all(|fragment| error.contains(fragment)));
    (!matched).then(|| format!("no error holds all of {fragments:?}; errors: {errors:#?}"))
}

#[test]
fn the_crd_schema_refuses_every_crd_layer_manifest() {
    let schemas = schemas();
    let cases: Vec<Case> = corpus::load()
        .into_iter()
        .filter(|case| case.header.layer.crd())
        .collect();
    assert!(cases.len() >= 30, "only {} CRD-layer cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let object = corpus::manifest_json(case).unwrap_or_else(|error| panic!("{error}"));
            crd_refusal_problem(case, &server_errors(schemas.of(&object), &object))
                .map(|problem| format!("{}: {problem}", case.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} CRD-layer cases were not refused as expected:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// An engine-only case the schema refused would be mislabelled (it is `both`), and the engine's
/// rule would no longer be the only line of defence the corpus says it is.
#[test]
fn the_crd_schema_lets_engine_only_manifests_through() {
    let schemas = schemas();
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in corpus::load() {
        // The API server never sees a file no YAML parser reads (duplicate keys, alias bombs).
        if case.header.layer != Layer::Engine || case.header.stage == Stage::Load {
            continue;
        }
        let object = corpus::manifest_json(&case).unwrap_or_else(|error| panic!("{error}"));
        let errors = server_errors(schemas.of(&object), &object);
        if !errors.is_empty() {
            failures.push(format!("{}: refused by the schema: {errors:#?}", case.name));
        }
        checked += 1;
    }
    for good in ["good.yaml", "secret-looking.yaml"] {
        let text = std::fs::read_to_string(corpus::hostile_path(good)).expect("readable");
        let object: Value = serde_saphyr::from_str(&text).expect("YAML");
        let errors = server_errors(schemas.of(&object), &object);
        if !errors.is_empty() {
            failures.push(format!("{good}: refused by the schema: {errors:#?}"));
        }
    }
    assert!(checked >= 30, "only {checked} engine-only cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn refusal_check_needs_one_message_with_every_fragment() {
    let case = corpus::load()
        .into_iter()
        .find(|case| case.name == "50-role-name-space")
        .expect("case 50");
    let message = |text: &str| vec![text.to_string()];
    assert_eq!(
        crd_refusal_problem(&case, &[]),
        Some("the schema accepts it".into())
    );
    assert!(crd_refusal_problem(
        &case,
        &message("spec.roleName: Invalid value: \"orders api\": spec.roleName in body should match '^x$'")
    )
    .is_none());
    assert!(crd_refusal_problem(&case, &message("spec.roleName: Required value")).is_some());
    // Fragments split over two messages do not count.
    assert!(
        crd_refusal_problem(
            &case,
            &[
                "spec.roleName: Too long".to_string(),
                "spec.path: should match".to_string()
            ]
        )
        .is_some()
    );
}

/// Runs the real kubectl against `sim` (fresh HOME, so no discovery cache; no extra flags).
async fn kubectl(sim: &KubeSim, home: &Path, args: &[&str]) -> std::process::Output {
    let venv = std::env::var_os("ROLESMITH_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo(".venv"));
    let binary = venv.join("bin").join("kubectl");
    assert!(
        binary.is_file(),
        "{} not found: run scripts/venv.sh (or make test)",
        binary.display()
    );
    let child = tokio::process::Command::new(binary)
        .args(args)
        .env("KUBECONFIG", sim.kubeconfig())
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl runs");
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in 2 minutes"))
    .expect("kubectl's output is readable")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_is_refused_with_the_crd_message() {
    let sim = KubeSim::start().await.expect("kube-sim starts");
    let home = tempfile::tempdir().expect("temp HOME for kubectl");
    for crd in [crd_file(), policy_crd_file()] {
        let output = kubectl(&sim, home.path(), &["apply", "-f", &crd.to_string_lossy()]).await;
        assert!(
            output.status.success(),
            "the CRD applies: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let cases: Vec<Case> = corpus::load()
        .into_iter()
        .filter(|case| THROUGH_KUBECTL.contains(&case.name.as_str()))
        .collect();
    assert_eq!(
        cases.len(),
        THROUGH_KUBECTL.len(),
        "a listed case is missing"
    );
    let mut failures = Vec::new();
    for case in &cases {
        assert!(
            case.header.layer.crd(),
            "{} is not a CRD-layer case",
            case.name
        );
        let output = kubectl(
            &sim,
            home.path(),
            &["apply", "-f", &case.path.to_string_lossy()],
        )
        .await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let missing: Vec<&str> = case
            .header
            .crd_fragments()
            .into_iter()
            .filter(|fragment| !stderr.contains(fragment))
            .collect();
        if output.status.success() || !missing.is_empty() {
            failures.push(format!(
                "{}: exit {:?}, missing {missing:?}\nstdout: {}\nstderr: {stderr}",
                case.name,
                output.status.code(),
                String::from_utf8_lossy(&output.stdout)
            ));
        }
    }
    // Nothing was stored: every apply was refused.
    let list = kubectl(
        &sim,
        home.path(),
        &["get", "iamroles,iampolicies", "-A", "-o", "name"],
    )
    .await;
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "");
    // The good manifest goes through the same path: the refusals are the schema's, not kube-sim's.
    let good = corpus::hostile_path("good.yaml");
    let output = kubectl(&sim, home.path(), &["apply", "-f", &good.to_string_lossy()]).await;
    assert!(
        output.status.success(),
        "good.yaml refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
