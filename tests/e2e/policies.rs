//! Customer managed policies end to end through kubectl: an IamPolicy created and updated six
//! times (versions capped at 5, the default moving, no new version for an equivalent rewrite),
//! attached to two IamRoles by reference, its deletion held while they use it and done once they
//! drop it; with --force-detach, detached and deleted at once. `kubectl explain` documents it.

use std::time::{Duration, Instant};

use rolesmith::iam::IamApi;
use serde_json::Value;

use crate::harness::{OperatorOptions, World, condition, condition_is, tail};

const ARN: &str = "arn:aws:iam::123456789012:policy/default.shared";

/// The IamPolicy `shared` with `action` allowed; `rewritten` writes the same document as a JSON
/// string with its keys in another order.
fn policy(action: &str, rewritten: bool) -> String {
    let document = if rewritten {
        format!(
            "'{{\"Statement\":[{{\"Resource\":\"arn:aws:s3:::shared/*\",\"Action\":[\"{action}\"],\"Effect\":\"Allow\"}}],\"Version\":\"2012-10-17\"}}'"
        )
    } else {
        format!(
            "\n    Version: \"2012-10-17\"\n    Statement:\n      - {{Effect: Allow, Action: {action}, Resource: \"arn:aws:s3:::shared/*\"}}"
        )
    };
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamPolicy
metadata: {{name: shared, namespace: default}}
spec:
  description: reads of the shared bucket
  tags: {{team: a}}
  document: {document}
"#
    )
}

fn role(name: &str, refers: bool) -> String {
    let refs = if refers {
        "  managedPolicyRefs: [{name: shared}]"
    } else {
        ""
    };
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {name}, namespace: default}}
spec:
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}
{refs}
"#
    )
}

pub(crate) fn get(world: &World, kind: &str, name: &str) -> Option<Value> {
    let output = world.kubectl(&["get", kind, name, "-n", "default", "-o", "json"]);
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).expect("kubectl -o json prints JSON"))
}

pub(crate) async fn wait_for(
    world: &World,
    kind: &str,
    name: &str,
    what: &str,
    check: impl Fn(Option<&Value>) -> bool,
) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let object = get(world, kind, name);
        if check(object.as_ref()) {
            return object;
        }
        if Instant::now() > deadline {
            panic!(
                "{kind} {name}: {what} not reached; object: {}\noperator log:\n{}",
                object.map(|o| o["status"].to_string()).unwrap_or_default(),
                tail(&world.operator_log(), 60)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Ready for the object's current generation.
pub(crate) fn ready_now(object: Option<&Value>) -> bool {
    object.is_some_and(|o| {
        o["status"]["observedGeneration"] == o["metadata"]["generation"]
            && condition_is(o, "Ready", "True")
    })
}

async fn attached(world: &World, role: &str) -> Vec<String> {
    world
        .role(role)
        .await
        .map(|r| r.settings.managed_policy_arns)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_is_versioned_attached_by_reference_and_held_while_attached() {
    let world = World::start().await;
    world.apply_yaml(&policy("s3:GetObject", false));
    let created = wait_for(&world, "iampolicy", "shared", "Ready", ready_now)
        .await
        .expect("exists");
    assert_eq!(created["status"]["policyArn"], ARN);
    assert_eq!(created["status"]["defaultVersionId"], "v1");
    let observed = world.iam.get_policy(ARN).await.unwrap().expect("in IAM");
    assert_eq!(
        observed.tags.get("rolesmith.dev/owner").map(String::as_str),
        Some("e2e/default/shared")
    );

    // Six updates; the fourth is the third's document rewritten (JSON string, other key order).
    let expected_default = ["v2", "v3", "v4", "v4", "v5", "v6"];
    for (i, want) in expected_default.iter().enumerate() {
        let action = if i == 3 {
            "s3:GetObject2".to_string()
        } else {
            format!("s3:GetObject{i}")
        };
        world.apply_yaml(&policy(&action, i == 3));
        let object = wait_for(&world, "iampolicy", "shared", "Ready", ready_now)
            .await
            .expect("exists");
        assert_eq!(object["status"]["defaultVersionId"], *want, "update {i}");
        let observed = world.iam.get_policy(ARN).await.unwrap().expect("in IAM");
        assert_eq!(observed.default_version_id, *want, "update {i}");
        assert!(
            observed.versions.len() <= 5,
            "update {i}: {:?}",
            observed.versions
        );
        assert!(
            observed.document.contains(&action),
            "update {i}: {}",
            observed.document
        );
    }
    let observed = world.iam.get_policy(ARN).await.unwrap().expect("in IAM");
    let ids: Vec<&str> = observed.versions.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["v2", "v3", "v4", "v5", "v6"],
        "the oldest went first"
    );

    // Two roles refer to it.
    world.apply_yaml(&role("app-a", true));
    world.apply_yaml(&role("app-b", true));
    world.wait_ready("default", "app-a", "60s");
    world.wait_ready("default", "app-b", "60s");
    assert_eq!(
        attached(&world, "default.app-a").await,
        vec![ARN.to_string()]
    );
    assert_eq!(
        attached(&world, "default.app-b").await,
        vec![ARN.to_string()]
    );

    // Deleting it is held: the object stays, says why, and IAM keeps the policy.
    world.kubectl_ok(&[
        "delete",
        "iampolicy",
        "shared",
        "-n",
        "default",
        "--wait=false",
    ]);
    let held = wait_for(&world, "iampolicy", "shared", "held", |o| {
        o.and_then(|o| condition(o, "Reconciling"))
            .is_some_and(|c| c["reason"] == "PolicyInUse" && c["status"] == "True")
    })
    .await
    .expect("still there");
    let message = condition(&held, "Ready").expect("Ready")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("role default.app-a"), "{message}");
    assert!(world.events_about("shared").contains("DeletionHeld"));
    assert!(world.iam.get_policy(ARN).await.unwrap().is_some());

    // Freed once the roles drop it.
    world.apply_yaml(&role("app-a", false));
    world.apply_yaml(&role("app-b", false));
    wait_for(&world, "iampolicy", "shared", "deleted", |o| o.is_none()).await;
    assert!(
        world.iam.get_policy(ARN).await.unwrap().is_none(),
        "deleted in IAM"
    );
    assert!(attached(&world, "default.app-a").await.is_empty());
    world.wait_ready("default", "app-a", "60s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_waits_for_its_policy_and_force_detach_deletes_an_attached_one() {
    let mut world = World::start().await;
    world.kill_operator();
    world.start_operator_with(&OperatorOptions {
        extra_args: vec![
            "--unconfined-namespaces".into(),
            "default,platform".into(),
            "--force-detach".into(),
        ],
        ..OperatorOptions::default()
    });
    // The role comes first: it waits, and is woken when the policy has its ARN.
    world.apply_yaml(&role("early", true));
    wait_for(&world, "iamrole", "early", "waiting for the policy", |o| {
        o.and_then(|o| condition(o, "Reconciling"))
            .is_some_and(|c| c["reason"] == "PolicyNotReady" && c["status"] == "True")
    })
    .await;
    world.apply_yaml(&policy("s3:GetObject", false));
    world.wait_ready("default", "early", "60s");
    assert_eq!(
        attached(&world, "default.early").await,
        vec![ARN.to_string()]
    );

    world.kubectl_ok(&[
        "delete",
        "iampolicy",
        "shared",
        "-n",
        "default",
        "--wait=false",
    ]);
    wait_for(&world, "iampolicy", "shared", "deleted", |o| o.is_none()).await;
    assert!(
        world.iam.get_policy(ARN).await.unwrap().is_none(),
        "deleted in IAM"
    );
    assert!(
        attached(&world, "default.early").await.is_empty(),
        "detached first"
    );
    // The role still refers to it, so it waits again, and says so.
    wait_for(&world, "iamrole", "early", "waiting again", |o| {
        o.and_then(|o| condition(o, "Ready"))
            .is_some_and(|c| c["reason"] == "PolicyNotReady")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_explains_iampolicy_and_refuses_cross_namespace_references() {
    let world = World::start().await;
    let explained = world.kubectl_ok(&["explain", "iampolicy.spec"]);
    for field in [
        "policyName",
        "document",
        "deletionPolicy",
        "adopt",
        "tags",
        "path",
    ] {
        assert!(explained.contains(field), "{field} missing:\n{explained}");
    }
    // team-a is confined: a reference into another namespace is refused, nothing attached.
    world.kubectl_ok(&["create", "namespace", "team-a"]);
    world.apply_yaml(&policy("s3:GetObject", false));
    wait_for(&world, "iampolicy", "shared", "Ready", ready_now).await;
    let cross = role("app", false).replace("namespace: default", "namespace: team-a")
        + "  managedPolicyRefs: [{name: shared, namespace: default}]\n";
    world.apply_yaml(&cross);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = world.kubectl_ok(&["get", "iamrole", "app", "-n", "team-a", "-o", "json"]);
        let object: Value = serde_json::from_str(&text).expect("JSON");
        if condition(&object, "Ready").is_some_and(|c| c["reason"] == "OutsideNamespaceRoles") {
            let message = condition(&object, "Ready").expect("Ready")["message"].to_string();
            assert!(message.contains("spec.managedPolicyRefs[0]"), "{message}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not refused: {}",
            object["status"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(world.role("team-a.app").await.is_none(), "nothing written");
}

use crate::hostile::corpus;

/// The IamPolicy cases of the hostile corpus that get past the schema: each is refused by the
/// operator (Ready False, reason InvalidSpec, a Warning Event) and IAM gets no policy; a risky
/// but legal document is created with the Warnings condition set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_iampolicies_are_refused_on_the_object_and_never_reach_iam() {
    let world = World::start().await;
    let cases: Vec<_> = corpus::load()
        .into_iter()
        .filter(|c| c.text.contains("\nkind: IamPolicy\n"))
        .filter(|c| c.header.layer == corpus::Layer::Engine)
        .collect();
    assert!(
        cases.len() >= 5,
        "only {} engine-only IamPolicy cases",
        cases.len()
    );
    for case in &cases {
        world.apply_yaml(&case.text);
    }
    for case in &cases {
        let object = corpus::manifest_json(case).expect("YAML");
        let name = object["metadata"]["name"]
            .as_str()
            .expect("named")
            .to_string();
        let refused = wait_for(&world, "iampolicy", &name, "refused", |o| {
            o.and_then(|o| condition(o, "Ready"))
                .is_some_and(|c| c["reason"] == "InvalidSpec")
        })
        .await
        .expect("exists");
        let message = condition(&refused, "Ready").expect("Ready")["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains(&case.header.expect),
            "{}: {message}",
            case.name
        );
        assert!(
            world.events_about(&name).contains("InvalidSpec"),
            "{}",
            case.name
        );
    }
    let policies = world
        .iam
        .get_policy("arn:aws:iam::123456789012:policy/default.hostile-104")
        .await
        .unwrap();
    assert!(policies.is_none());
    let listed = crate::support::sdk_client(&world.moto.endpoint)
        .await
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .expect("ListPolicies");
    assert!(listed.policies().is_empty(), "{:?}", listed.policies());

    let notaction = std::fs::read_to_string(crate::harness::repo(
        "tests/hostile/findings/iampolicy-notaction.yaml",
    ))
    .expect("readable");
    world.apply_yaml(&notaction);
    let created = wait_for(
        &world,
        "iampolicy",
        "findings-notaction",
        "Ready",
        ready_now,
    )
    .await
    .expect("exists");
    let warning = condition(&created, "Warnings").expect("Warnings");
    assert_eq!(warning["status"], "True");
    assert!(
        warning["message"]
            .as_str()
            .is_some_and(|m| m.contains("NotAction")),
        "{warning}"
    );
    assert!(
        !world
            .operator_log()
            .contains(crate::harness::SECRET_ACCESS_KEY)
    );
}
