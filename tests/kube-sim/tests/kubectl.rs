//! kube-sim driven by the real kubectl 1.37 (`.venv/bin/kubectl`, installed by scripts/venv.sh), with
//! no flags beyond what each scenario needs: KUBECONFIG points at the sim and HOME is a fresh
//! directory per test, since kubectl caches discovery and OpenAPI per host:port under ~/.kube/cache.
//! Outputs are asserted exactly where kubectl prints them the same on every run.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use kube_sim::KubeSim;
use serde_json::Value;
use tokio::process::{Child, Command};

const WIDGETS_CRD: &str = include_str!("fixtures/widgets-crd.yaml");
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(90);

fn kubectl_path() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/kubectl");
    assert!(
        path.exists(),
        "kubectl not found at {}: run scripts/venv.sh to install the project's Python tools",
        path.display()
    );
    path
}

/// One sim and the home directory kubectl runs in; manifests are written there and named relatively,
/// so kubectl's messages mention `w1.yaml` rather than a temporary path.
struct Cluster {
    sim: KubeSim,
    home: tempfile::TempDir,
}

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            success: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Cluster {
    async fn start() -> Cluster {
        let sim = KubeSim::start().await.expect("kube-sim starts");
        let home = tempfile::Builder::new()
            .prefix("kubectl-home-")
            .tempdir()
            .expect("temp HOME");
        Cluster { sim, home }
    }

    /// A cluster where the Widget CRD is already applied.
    async fn with_widgets() -> Cluster {
        let c = Cluster::start().await;
        c.write("crd.yaml", WIDGETS_CRD);
        c.ok(&["apply", "-f", "crd.yaml"]).await;
        c
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl_path());
        cmd.args(args)
            .current_dir(self.home.path())
            .env_clear()
            .env("HOME", self.home.path())
            .env("KUBECONFIG", self.sim.kubeconfig())
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.home.path().join(name), text).expect("write manifest");
    }

    async fn run(&self, args: &[&str]) -> Run {
        let child = self.command(args).spawn().expect("kubectl starts");
        finish(child, args).await
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("kubectl starts")
    }

    /// Runs kubectl and returns its stdout, failing the test with its stderr if it failed.
    async fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args).await;
        assert!(
            r.success,
            "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r.stdout
    }

    /// Runs kubectl expecting a failure and returns its stderr.
    async fn fails(&self, args: &[&str]) -> String {
        let r = self.run(args).await;
        assert!(
            !r.success,
            "kubectl {args:?} succeeded unexpectedly:\nstdout: {}",
            r.stdout
        );
        r.stderr
    }

    async fn get_json(&self, args: &[&str]) -> Value {
        let mut full = vec!["get"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["-o", "json"]);
        let out = self.ok(&full).await;
        serde_json::from_str(&out).expect("kubectl -o json prints JSON")
    }
}

async fn finish(child: Child, args: &[&str]) -> Run {
    match tokio::time::timeout(KUBECTL_TIMEOUT, child.wait_with_output()).await {
        Ok(out) => out.expect("kubectl runs").into(),
        Err(_) => panic!("kubectl {args:?} did not finish within {KUBECTL_TIMEOUT:?}"),
    }
}

/// Proves a background kubectl is still waiting, then collects it once it ends.
async fn still_running(child: &mut Child, what: &str) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    if let Some(status) = child.try_wait().expect("poll kubectl") {
        panic!("{what} ended early with {status}");
    }
}

fn widget(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: test.kube-sim.dev/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}

/// The table kubectl printed, cut into cells at the header's column starts (kubectl aligns columns
/// and prints an empty cell for a missing value, so splitting on whitespace would lose it).
fn table(out: &str) -> Vec<Vec<String>> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or("");
    let mut starts = Vec::new();
    let mut prev = ' ';
    for (i, ch) in header.char_indices() {
        if ch != ' ' && prev == ' ' {
            starts.push(i);
        }
        prev = ch;
    }
    let cut = |line: &str| -> Vec<String> {
        starts
            .iter()
            .enumerate()
            .map(|(k, &from)| {
                let to = starts
                    .get(k + 1)
                    .copied()
                    .unwrap_or(line.len())
                    .min(line.len());
                line.get(from.min(line.len())..to)
                    .unwrap_or("")
                    .trim()
                    .to_string()
            })
            .collect()
    };
    std::iter::once(header).chain(lines).map(cut).collect()
}

/// Checks a printed table: every cell but the ages, which must look like `5s`.
fn assert_table(out: &str, age_column: usize, want: &[&[&str]]) {
    let got = table(out);
    assert_eq!(got.len(), want.len(), "rows of\n{out}");
    for (i, (row, want_row)) in got.iter().zip(want).enumerate() {
        assert_eq!(row.len(), want_row.len(), "cells of row {i} in\n{out}");
        for (j, (cell, want_cell)) in row.iter().zip(want_row.iter()).enumerate() {
            if i > 0 && j == age_column {
                let secs = cell.strip_suffix('s').unwrap_or("x");
                assert!(
                    secs.chars().all(|c| c.is_ascii_digit()),
                    "age {cell:?} in\n{out}"
                );
            } else {
                assert_eq!(cell, want_cell, "row {i} cell {j} in\n{out}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_creates_then_patches_and_records_last_applied() {
    let c = Cluster::start().await;
    c.write("crd.yaml", WIDGETS_CRD);
    let out = c.ok(&["apply", "-f", "crd.yaml"]).await;
    assert_eq!(
        out,
        "customresourcedefinition.apiextensions.k8s.io/widgets.test.kube-sim.dev created\n"
    );

    c.write("w1.yaml", &widget("w1", "  name: alpha\n  color: red\n"));
    let out = c.ok(&["apply", "-f", "w1.yaml"]).await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 created\n");
    let w = c.get_json(&["widget", "w1"]).await;
    assert_eq!(w["spec"]["size"], 1, "defaulted");
    assert_eq!(w["metadata"]["generation"], 1);

    c.write(
        "w1.yaml",
        &widget("w1", "  name: alpha\n  color: green\n  tags: [a, b]\n"),
    );
    let out = c.ok(&["apply", "-f", "w1.yaml"]).await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 configured\n");
    let w = c.get_json(&["widget", "w1"]).await;
    assert_eq!(w["spec"]["color"], "green");
    assert_eq!(w["spec"]["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(w["metadata"]["generation"], 2);
    let last: Value = serde_json::from_str(
        w["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("last-applied annotation"),
    )
    .expect("last-applied is JSON");
    assert_eq!(last["spec"]["color"], "green");
    assert_eq!(last["spec"]["tags"], serde_json::json!(["a", "b"]));

    // Dropping a field from the manifest removes it from the object.
    c.write("w1.yaml", &widget("w1", "  name: alpha\n  color: green\n"));
    assert_eq!(
        c.ok(&["apply", "-f", "w1.yaml"]).await,
        "widget.test.kube-sim.dev/w1 configured\n"
    );
    let w = c.get_json(&["widget", "w1"]).await;
    assert!(w["spec"].get("tags").is_none(), "{w}");

    let out = c.ok(&["apply", "-f", "w1.yaml"]).await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 unchanged\n");
    assert_eq!(
        c.get_json(&["widget", "w1"]).await["metadata"]["generation"],
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_reports_conflicts_until_forced() {
    let c = Cluster::with_widgets().await;
    c.write("w1.yaml", &widget("w1", "  name: alpha\n  color: red\n"));
    let out = c.ok(&["apply", "--server-side", "-f", "w1.yaml"]).await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 serverside-applied\n");

    c.write(
        "w1-blue.yaml",
        &widget("w1", "  name: alpha\n  color: blue\n"),
    );
    let err = c
        .fails(&[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-f",
            "w1-blue.yaml",
        ])
        .await;
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.color"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    assert_eq!(c.get_json(&["widget", "w1"]).await["spec"]["color"], "red");

    let out = c
        .ok(&[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "w1-blue.yaml",
        ])
        .await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 serverside-applied\n");
    // kubectl hides managedFields unless asked.
    let w = c.get_json(&["widget", "w1", "--show-managed-fields"]).await;
    assert_eq!(w["spec"]["color"], "blue");
    let managers: Vec<&str> = w["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"other"), "{managers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_prints_printer_columns_short_names_and_categories() {
    let c = Cluster::with_widgets().await;
    // `kubectl create namespace` would send protobuf, which the sim does not decode.
    c.write(
        "ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n",
    );
    c.ok(&["apply", "-f", "ns.yaml"]).await;
    c.write(
        "w1.yaml",
        &widget("w1", "  name: alpha\n  color: green\n  size: 4\n"),
    );
    c.write("w2.yaml", &widget("w2", "  name: beta\n"));
    c.ok(&["apply", "-f", "w1.yaml"]).await;
    c.ok(&["apply", "-f", "w2.yaml"]).await;
    c.ok(&["apply", "-n", "other", "-f", "w2.yaml"]).await;
    let status = r#"{"status":{"conditions":[{"type":"Synced","status":"True"},{"type":"Ready","status":"True"}]}}"#;
    let out = c
        .ok(&[
            "patch",
            "widget",
            "w1",
            "--subresource=status",
            "--type=merge",
            "-p",
            status,
        ])
        .await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 patched\n");

    let default_view: &[&[&str]] = &[
        &["NAME", "COLOR", "READY", "AGE"],
        &["w1", "green", "True", "age"],
        &["w2", "red", "", "age"],
    ];
    assert_table(&c.ok(&["get", "widgets"]).await, 3, default_view);
    assert_table(&c.ok(&["get", "wd"]).await, 3, default_view);
    assert_table(&c.ok(&["get", "sim"]).await, 3, default_view);
    assert_table(
        &c.ok(&["get", "widget.test.kube-sim.dev"]).await,
        3,
        default_view,
    );

    assert_table(
        &c.ok(&["get", "widgets", "-o", "wide"]).await,
        4,
        &[
            &["NAME", "COLOR", "SIZE", "READY", "AGE"],
            &["w1", "green", "4", "True", "age"],
            &["w2", "red", "1", "", "age"],
        ],
    );
    assert_table(
        &c.ok(&["get", "widgets", "-A"]).await,
        4,
        &[
            &["NAMESPACE", "NAME", "COLOR", "READY", "AGE"],
            &["default", "w1", "green", "True", "age"],
            &["default", "w2", "red", "", "age"],
            &["other", "w2", "red", "", "age"],
        ],
    );
    assert_table(
        &c.ok(&["get", "wd", "w2", "-n", "other"]).await,
        3,
        &[
            &["NAME", "COLOR", "READY", "AGE"],
            &["w2", "red", "", "age"],
        ],
    );

    assert_eq!(
        table(
            &c.ok(&["api-resources", "--api-group=test.kube-sim.dev"])
                .await
        ),
        [
            ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
            ["widgets", "wd", "test.kube-sim.dev/v1", "true", "Widget"]
        ]
    );
    // apiextensions-apiserver's verb order, not the sorted one of the built-ins.
    assert_eq!(
        dense_table(
            &c.ok(&[
                "api-resources",
                "--api-group=test.kube-sim.dev",
                "-o",
                "wide"
            ])
            .await
        )[1][5..],
        [
            "delete,deletecollection,get,list,patch,create,update,watch",
            "all,sim"
        ]
    );

    let r = c.run(&["get", "widgets", "-n", "empty"]).await;
    assert!(r.success);
    assert_eq!(r.stderr, "No resources found in empty namespace.\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_the_crd_descriptions() {
    let c = Cluster::with_widgets().await;
    let out = c.ok(&["explain", "widgets.spec"]).await;
    for want in [
        "GROUP:      test.kube-sim.dev\n",
        "KIND:       Widget\n",
        "VERSION:    v1\n",
        "FIELD: spec <Object>\n",
        "DESCRIPTION:\n    The desired state of the widget.\n",
        "  color\t<string>\n  enum: red, green, blue\n    The colour of the widget.\n",
        "  name\t<string> -required-\n    The widget's immutable name.\n",
        "  parts\t<[]Object>\n    Named parts, merged by name.\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let out = c.ok(&["explain", "wd.metadata.finalizers"]).await;
    assert!(out.contains("FIELD: finalizers <[]string>"), "{out}");
    assert!(
        out.contains("Must be empty before the object is deleted from the registry."),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_condition_is_satisfied_by_a_status_patch() {
    let c = Cluster::with_widgets().await;
    c.write("w1.yaml", &widget("w1", "  name: alpha\n"));
    c.ok(&["apply", "-f", "w1.yaml"]).await;

    let mut wait = c.spawn(&[
        "wait",
        "--for=condition=Ready",
        "widget/w1",
        "--timeout=60s",
    ]);
    still_running(&mut wait, "kubectl wait").await;
    let status = r#"{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Done"}]}}"#;
    c.ok(&[
        "patch",
        "widget",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        status,
    ])
    .await;
    let r = finish(wait, &["wait"]).await;
    assert!(r.success, "{}", r.stderr);
    assert_eq!(r.stdout, "widget.test.kube-sim.dev/w1 condition met\n");

    // Already satisfied: answers at once.
    let out = c
        .ok(&[
            "wait",
            "--for=condition=Ready",
            "widget/w1",
            "--timeout=10s",
        ])
        .await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 condition met\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_waits_for_the_last_finalizer() {
    let c = Cluster::with_widgets().await;
    c.write(
        "w1.yaml",
        "apiVersion: test.kube-sim.dev/v1\nkind: Widget\nmetadata:\n  name: w1\n  finalizers: [test.kube-sim.dev/hold]\nspec:\n  name: alpha\n",
    );
    c.ok(&["apply", "-f", "w1.yaml"]).await;

    let mut delete = c.spawn(&["delete", "widget", "w1", "--timeout=60s"]);
    still_running(&mut delete, "kubectl delete").await;
    let w = c.get_json(&["widget", "w1"]).await;
    assert!(w["metadata"]["deletionTimestamp"].is_string(), "{w}");

    let out = c
        .ok(&[
            "patch",
            "widget",
            "w1",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ])
        .await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 patched\n");
    let r = finish(delete, &["delete"]).await;
    assert!(r.success, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "widget.test.kube-sim.dev \"w1\" deleted from default namespace\n"
    );

    let err = c.fails(&["get", "widget", "w1"]).await;
    assert_eq!(
        err,
        "Error from server (NotFound): widgets.test.kube-sim.dev \"w1\" not found\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cel_rules_reject_with_their_messages() {
    let c = Cluster::with_widgets().await;
    c.write(
        "big-blue.yaml",
        &widget("w1", "  name: alpha\n  color: blue\n  size: 7\n"),
    );
    let err = c.fails(&["apply", "-f", "big-blue.yaml"]).await;
    assert_eq!(
        err,
        "The Widget \"w1\" is invalid: spec: Invalid value: \"object\": blue widgets are at most size 5\n"
    );

    c.write("w1.yaml", &widget("w1", "  name: alpha\n"));
    c.ok(&["apply", "-f", "w1.yaml"]).await;
    c.write("w1.yaml", &widget("w1", "  name: beta\n"));
    let err = c.fails(&["apply", "-f", "w1.yaml"]).await;
    assert_eq!(
        err,
        "The Widget \"w1\" is invalid: spec.name: Invalid value: \"string\": name is immutable\n"
    );
    assert_eq!(c.get_json(&["widget", "w1"]).await["spec"]["name"], "alpha");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_violations_get_kubectls_usual_messages() {
    let c = Cluster::with_widgets().await;
    c.write(
        "purple.yaml",
        &widget("w1", "  name: alpha\n  color: purple\n"),
    );
    let err = c.fails(&["apply", "-f", "purple.yaml"]).await;
    // Enum, size and type violations block the CEL rules, and kube-apiserver says so in a second cause
    // (a pattern violation does not).
    assert_eq!(
        err,
        "The Widget \"w1\" is invalid: \n\
         * spec.color: Unsupported value: \"purple\": supported values: \"red\", \"green\", \"blue\"\n\
         * <nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; \
         correct the existing errors to complete validation\n"
    );

    c.write("bad-name.yaml", &widget("w2", "  name: Bad_Name\n"));
    let err = c.fails(&["apply", "-f", "bad-name.yaml"]).await;
    assert_eq!(
        err,
        "The Widget \"w2\" is invalid: spec.name: Invalid value: \"Bad_Name\": spec.name in body should match '^[a-z][a-z0-9-]*$'\n"
    );

    c.write(
        "too-many.yaml",
        &widget("w3", "  name: gamma\n  tags: [a, b, c, d]\n"),
    );
    let err = c.fails(&["apply", "-f", "too-many.yaml"]).await;
    assert_eq!(
        err,
        "The Widget \"w3\" is invalid: \n\
         * spec.tags: Too many: 4: must have at most 3 items\n\
         * <nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; \
         correct the existing errors to complete validation\n"
    );

    let r = c.run(&["get", "widgets"]).await;
    assert_eq!(r.stderr, "No resources found in default namespace.\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_are_refused_by_strict_validation() {
    let c = Cluster::with_widgets().await;
    c.write("typo.yaml", &widget("w1", "  name: alpha\n  colour: red\n"));
    let err = c.fails(&["apply", "-f", "typo.yaml"]).await;
    assert!(
        err.contains("Error from server (BadRequest): error when creating \"typo.yaml\""),
        "{err}"
    );
    assert!(
        err.contains("strict decoding error: unknown field \"spec.colour\""),
        "{err}"
    );

    // Inside a preserve-unknown-fields map anything goes.
    c.write(
        "extra.yaml",
        &widget("w1", "  name: alpha\n  extra:\n    anything: [1, 2]\n"),
    );
    c.ok(&["apply", "-f", "extra.yaml"]).await;
    assert_eq!(
        c.get_json(&["widget", "w1"]).await["spec"]["extra"]["anything"],
        serde_json::json!([1, 2])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_apply_uses_strategic_merge_without_warnings() {
    let c = Cluster::start().await;
    let deployment = |image: &str, replicas: u32| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {{app: web}}\nspec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: app\n        image: {image}\n        env:\n        - {{name: A, value: \"1\"}}\n      - name: sidecar\n        image: proxy:1\n"
        )
    };
    c.write("deploy.yaml", &deployment("app:1", 1));
    let r = c.run(&["apply", "-f", "deploy.yaml"]).await;
    assert!(r.success, "{}", r.stderr);
    assert_eq!(r.stdout, "deployment.apps/web created\n");

    c.write("deploy.yaml", &deployment("app:2", 2));
    let r = c.run(&["apply", "-f", "deploy.yaml"]).await;
    assert!(r.success, "{}", r.stderr);
    assert_eq!(r.stdout, "deployment.apps/web configured\n");
    assert_eq!(r.stderr, "", "no warning about patch computation");
    let d = c.get_json(&["deployment", "web"]).await;
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 2, "{d}");
    assert_eq!(containers[0]["image"], "app:2");
    assert_eq!(containers[0]["env"][0]["value"], "1");
    assert_eq!(containers[1]["name"], "sidecar");
    assert_eq!(d["spec"]["replicas"], 2);

    c.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n",
    );
    assert_eq!(
        c.ok(&["apply", "-f", "cm.yaml"]).await,
        "configmap/settings created\n"
    );
    assert_table(
        &c.ok(&["get", "cm", "settings"]).await,
        1,
        &[&["NAME", "AGE"], &["settings", "age"]],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_takes_over_from_client_side_apply() {
    let c = Cluster::with_widgets().await;
    c.write("w1.yaml", &widget("w1", "  name: alpha\n  color: red\n"));
    assert_eq!(
        c.ok(&["apply", "-f", "w1.yaml"]).await,
        "widget.test.kube-sim.dev/w1 created\n"
    );

    // kubectl then moves the client-side manager's fields to its own apply entry with a JSON patch
    // of metadata.managedFields, which the server must keep as sent.
    let out = c.ok(&["apply", "--server-side", "-f", "w1.yaml"]).await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 serverside-applied\n");
    let w = c.get_json(&["widget", "w1", "--show-managed-fields"]).await;
    let mut managers: Vec<(&str, &str)> = w["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap_or(""),
                m["operation"].as_str().unwrap_or(""),
            )
        })
        .collect();
    managers.sort();
    assert_eq!(
        managers,
        [("kubectl", "Apply"), ("kubectl-last-applied", "Apply")]
    );

    // So a later change applied server-side conflicts with nobody.
    c.write("w1.yaml", &widget("w1", "  name: alpha\n  color: green\n"));
    let out = c.ok(&["apply", "--server-side", "-f", "w1.yaml"]).await;
    assert_eq!(out, "widget.test.kube-sim.dev/w1 serverside-applied\n");
    let w = c.get_json(&["widget", "w1"]).await;
    assert_eq!(w["spec"]["color"], "green");
    let last: Value = serde_json::from_str(
        w["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("last-applied annotation kept up to date"),
    )
    .expect("last-applied is JSON");
    assert_eq!(last["spec"]["color"], "green");
}

/// Columns of a printed table whose cells are never empty, split where kubectl's tab writer put
/// two or more spaces (header names such as `LAST SEEN` hold a single space).
fn dense_table(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

fn is_age(cell: &str) -> bool {
    cell.strip_suffix('s')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_events_prints_like_kube_apiserver() {
    use kube::Resource;
    use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};

    let c = Cluster::with_widgets().await;
    c.write("w1.yaml", &widget("w1", "  name: alpha\n"));
    c.ok(&["apply", "-f", "w1.yaml"]).await;

    // The operator's way: the kube Recorder writes events.k8s.io/v1 Events, twice (a series).
    let client = kube::Client::try_from(kube::Config::new(c.sim.url().parse().unwrap())).unwrap();
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("test.kube-sim.dev", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);
    let w1 = widgets.get("w1").await.unwrap();
    let recorder = Recorder::new(
        client,
        Reporter {
            controller: "widget-operator".into(),
            instance: Some("widget-operator-0".into()),
        },
    );
    let event = Event {
        type_: EventType::Warning,
        reason: "Refused".into(),
        note: Some("  the widget is too large \n".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    let reference = w1.object_ref(&resource);
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();

    let rows = dense_table(&c.ok(&["get", "events"]).await);
    assert_eq!(
        rows[0],
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(is_age(&rows[1][0]), "{rows:?}");
    assert_eq!(
        rows[1][1..],
        ["Warning", "Refused", "widget/w1", "the widget is too large"]
    );
    let wide = dense_table(&c.ok(&["get", "events", "-o", "wide"]).await);
    assert_eq!(
        wide[0],
        [
            "LAST SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "SUBOBJECT",
            "SOURCE",
            "MESSAGE",
            "FIRST SEEN",
            "COUNT",
            "NAME"
        ]
    );
    // No subobject: the empty cell vanishes from the dense split.
    assert_eq!(
        wide[1][3..6],
        [
            "widget/w1",
            "widget-operator, widget-operator-0",
            "the widget is too large"
        ]
    );
    assert_eq!(wide[1][7], "2", "the series count: {wide:?}");
    assert!(wide[1][8].starts_with("w1."), "{wide:?}");
}

/// kube-apiserver estimates each CEL rule's worst-case cost when a CRD is written and refuses
/// the CRD when a rule (times the items it runs for) exceeds the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_over_the_cel_cost_budget_are_refused() {
    let c = Cluster::start().await;
    let crd = |names_schema: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.test.kube-sim.dev
spec:
  group: test.kube-sim.dev
  names: {{kind: Gadget, plural: gadgets}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              names:
                type: array
{names_schema}                x-kubernetes-validations:
                - rule: self.all(x, x.matches('^a.*$'))
"
        )
    };
    // Unbounded: a million strings of up to 3 MiB, each matched against the regex.
    c.write(
        "costly.yaml",
        &crd("                items: {type: string}\n"),
    );
    let err = c.fails(&["apply", "-f", "costly.yaml"]).await;
    let rule = "spec.validation.openAPIV3Schema.properties[spec].properties[names].x-kubernetes-validations[0].rule";
    for want in [
        "The CustomResourceDefinition \"gadgets.test.kube-sim.dev\" is invalid",
        &format!(
            "{rule}: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
        ),
        &format!(
            "{rule}: Forbidden: contributed to estimated rule & messageExpression cost total exceeding cost limit for entire OpenAPIv3 schema"
        ),
        "spec.validation.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule & messageExpression cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x",
    ] {
        assert!(err.contains(want), "{want}\nnot in\n{err}");
    }
    assert!(
        c.fails(&["get", "crd", "gadgets.test.kube-sim.dev"])
            .await
            .contains("NotFound")
    );

    // Bounded, the same rule is cheap enough.
    c.write(
        "costly.yaml",
        &crd(
            "                maxItems: 20\n                items: {type: string, maxLength: 64}\n",
        ),
    );
    assert_eq!(
        c.ok(&["apply", "-f", "costly.yaml"]).await,
        "customresourcedefinition.apiextensions.k8s.io/gadgets.test.kube-sim.dev created\n"
    );
}

#[tokio::test]
async fn get_with_chunk_size_follows_continue_tokens() {
    let c = Cluster::with_widgets().await;
    let manifests: Vec<String> = (1..=5)
        .map(|i| widget(&format!("w{i}"), "  name: alpha\n"))
        .collect();
    c.write("many.yaml", &manifests.join("---\n"));
    c.ok(&["apply", "-f", "many.yaml"]).await;
    let out = c
        .ok(&["get", "widgets", "--chunk-size=2", "-o", "name"])
        .await;
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        (1..=5)
            .map(|i| format!("widget.test.kube-sim.dev/w{i}"))
            .collect::<Vec<_>>()
    );
    // The table is printed from three pages as one.
    let out = c.ok(&["get", "widgets", "--chunk-size=2"]).await;
    let rows = table(&out);
    assert_eq!(
        rows.iter()
            .skip(1)
            .map(|r| r[0].as_str())
            .collect::<Vec<_>>(),
        ["w1", "w2", "w3", "w4", "w5"],
        "{out}"
    );
    let pages: Vec<String> = c
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/widgets") && r.query.contains("limit=2"))
        .map(|r| r.query)
        .collect();
    assert_eq!(pages.len(), 6, "{pages:?}");
    assert_eq!(
        pages.iter().filter(|q| q.contains("continue=")).count(),
        4,
        "{pages:?}"
    );
}
