//! Existing accounts: roles watched without risk (`managementPolicy: Observe`), drift visible on
//! the object, tags owned by an organisation left alone.

use std::collections::BTreeMap;
use std::time::Duration;

use rolesmith::iam::IamApi;
use rolesmith::model::IamOp;

use crate::harness::{OperatorOptions, World, condition, condition_is};
use crate::support::{FaultProxy, service_trust};

fn manifest(name: &str, extra: &str) -> String {
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {name}, namespace: default}}
spec:
  description: wanted
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}
  tags: {{team: new}}
{extra}
"#
    )
}

/// An operator whose IAM requests all go through a recording proxy: writes are counted where IAM
/// receives them, not by the operator's own account of what it sent.
fn behind_proxy(world: &mut World, extra: &[&str]) -> FaultProxy {
    let proxy = FaultProxy::start(&world.moto.endpoint);
    world.kill_operator();
    let mut extra_args = vec![
        "--unconfined-namespaces".to_string(),
        "default,platform".to_string(),
    ];
    extra_args.extend(extra.iter().map(|a| a.to_string()));
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        extra_args,
        ..OperatorOptions::default()
    });
    proxy
}

/// IAM requests that change something, as the proxy received them.
fn writes(proxy: &FaultProxy) -> Vec<String> {
    proxy
        .actions()
        .into_iter()
        .filter(|a| !a.starts_with("Get") && !a.starts_with("List"))
        .collect()
}

fn drift_fields(object: &serde_json::Value) -> Vec<String> {
    object["status"]["drift"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["field"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observed_role_reports_drift_and_is_never_written() {
    let mut world = World::start().await;
    let proxy = behind_proxy(&mut world, &[]);
    world
        .iam
        .execute(&IamOp::CreateRole {
            role: "default.legacy".into(),
            path: "/".into(),
            description: "made by hand".into(),
            max_session_duration: 3600,
            assume_role_policy: service_trust("lambda.amazonaws.com"),
            permissions_boundary: None,
            tags: BTreeMap::from([("team".to_string(), "old".to_string())]),
        })
        .await
        .expect("a role made by hand");
    let before = world.role("default.legacy").await;

    world.apply_yaml(&manifest("legacy", "  managementPolicy: Observe"));
    let object = world
        .wait_for_object(
            "default",
            "legacy",
            "drift reported",
            Duration::from_secs(60),
            |o| condition_is(o, "Drifted", "True"),
        )
        .await;
    assert_eq!(drift_fields(&object), ["tags.team", "description"]);
    assert_eq!(condition(&object, "Ready").unwrap()["reason"], "Observed");
    assert!(
        object["status"]["roleArn"]
            .as_str()
            .is_some_and(|a| a.ends_with("role/default.legacy"))
    );
    assert!(
        world.events_about("legacy").contains("Drift"),
        "{}",
        world.events_about("legacy")
    );

    // Three drift checks later: still nothing written, the role as it was.
    let reads = proxy.requests("GetRole");
    tokio::time::sleep(world.resync * 3).await;
    assert!(
        proxy.requests("GetRole") + proxy.requests("GetAccountAuthorizationDetails") > reads,
        "the drift checks went through the proxy: {:?}",
        proxy.counts_per_action()
    );
    assert_eq!(
        writes(&proxy),
        Vec::<String>::new(),
        "an observed role was written"
    );
    assert_eq!(world.role("default.legacy").await, before);

    // Managing it needs adopt: true, like any role without rolesmith's tag.
    world.apply_yaml(&manifest("legacy", ""));
    world
        .wait_for_object(
            "default",
            "legacy",
            "OwnershipConflict",
            Duration::from_secs(30),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "OwnershipConflict"),
        )
        .await;
    assert_eq!(writes(&proxy), Vec::<String>::new());
    world.kubectl_ok(&[
        "delete",
        "iamrole",
        "legacy",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    assert_eq!(world.role("default.legacy").await, before, "left as it was");
    assert_eq!(
        writes(&proxy),
        Vec::<String>::new(),
        "deleting it wrote nothing either"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repairs_are_recorded_and_organisation_tags_survive() {
    let mut world = World::start().await;
    let proxy = behind_proxy(&mut world, &["--ignore-tag-keys", "org:*"]);
    world.apply_yaml(&manifest("tagged", ""));
    world.wait_ready("default", "tagged", "60s");

    // The organisation stamps a tag; someone edits the description by hand.
    for op in [
        IamOp::TagRole {
            role: "default.tagged".into(),
            tags: BTreeMap::from([("org:cost-center".to_string(), "42".to_string())]),
        },
        IamOp::UpdateRole {
            role: "default.tagged".into(),
            description: "edited by hand".into(),
            max_session_duration: 3600,
        },
    ] {
        world.iam.execute(&op).await.expect("out-of-band change");
    }
    let object = world
        .wait_for_object(
            "default",
            "tagged",
            "repair recorded",
            Duration::from_secs(30),
            |o| o["status"]["lastRepair"]["fields"] == serde_json::json!(["description"]),
        )
        .await;
    assert!(condition_is(&object, "Drifted", "False"));
    assert!(
        world
            .events_about("tagged")
            .contains("undid out-of-band changes to: description")
    );

    tokio::time::sleep(world.resync * 3).await;
    assert_eq!(proxy.requests("UntagRole"), 0);
    assert_eq!(
        proxy.requests("UpdateRole"),
        1,
        "the description repaired once"
    );
    let role = world.role("default.tagged").await.expect("exists");
    assert_eq!(
        role.tags.get("org:cost-center").map(String::as_str),
        Some("42")
    );
    assert_eq!(role.description, "wanted");

    // Setting a tag the organisation owns is a contradiction, refused before IAM sees it.
    let writes_before = writes(&proxy).len();
    world.apply_yaml(
        &manifest("tagged", "").replace("{team: new}", "{team: new, \"org:cost-center\": \"7\"}"),
    );
    let object = world
        .wait_for_object(
            "default",
            "tagged",
            "refused",
            Duration::from_secs(30),
            |o| condition_is(o, "Stalled", "True"),
        )
        .await;
    let message = condition(&object, "Ready").unwrap()["message"].to_string();
    assert!(message.contains("owned by others"), "{message}");
    assert_eq!(writes(&proxy).len(), writes_before);
}
