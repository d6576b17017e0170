//! `spec.serviceAccounts` end to end: the trust policy IAM gets, the ServiceAccounts' role-ARN
//! annotation written, written late, removed only when it is the role's, and never flapping
//! between two IamRoles that name one ServiceAccount.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{OIDC_PROVIDER_ARN, OperatorOptions, World, condition, tail};

const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/E2E";
const ANNOTATION: &str = "eks.amazonaws.com/role-arn";

fn role_yaml(name: &str, role: &str, accounts: &[&str]) -> String {
    let entries: Vec<String> = accounts.iter().map(|a| format!("{{name: {a}}}")).collect();
    format!(
        "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata: {{name: {name}, namespace: default}}\nspec:\n  roleName: {role}\n  serviceAccounts: [{}]\n",
        entries.join(", ")
    )
}

/// A ServiceAccount manifest, for one that carries annotations from the start.
fn service_account(name: &str, extra_metadata: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: default\n{extra_metadata}"
    )
}

fn annotation(world: &World, name: &str) -> Option<String> {
    let text = world.kubectl_ok(&["get", "serviceaccount", name, "-n", "default", "-o", "json"]);
    let account: Value = serde_json::from_str(&text).expect("JSON");
    account["metadata"]["annotations"][ANNOTATION]
        .as_str()
        .map(str::to_string)
}

async fn wait_annotation(world: &World, name: &str, want: Option<&str>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = annotation(world, name);
        if got.as_deref() == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "ServiceAccount {name}: annotation {got:?}, want {want:?}\noperator log:\n{}",
            tail(&world.operator_log(), 60)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn role_arn(world: &World, name: &str) -> String {
    world.get_json("default", name)["status"]["roleArn"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no status.roleArn"))
        .to_string()
}

fn irsa_statement(subjects: Value) -> Value {
    json!({
        "Effect": "Allow",
        "Principal": {"Federated": OIDC_PROVIDER_ARN},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{ISSUER}:sub"): subjects,
            format!("{ISSUER}:aud"): "sts.amazonaws.com",
        }}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irsa_service_accounts_are_annotated_released_and_never_fought_over() {
    let mut world = World::start().await;
    // Created the way users do (kubectl sends these as protobuf).
    for account in ["api", "worker"] {
        world.kubectl_ok(&["create", "serviceaccount", account, "-n", "default"]);
    }
    let hand_set = "arn:aws:iam::123456789012:role/set-by-hand";
    world.apply_yaml(&service_account(
        "manual",
        &format!("  annotations: {{{ANNOTATION}: {hand_set}}}\n"),
    ));

    // Neither a trust policy nor ServiceAccounts: nobody could assume the role, and the CRD says
    // so before the operator sees it.
    let refused = world.kubectl_stdin(
        &["apply", "-f", "-"],
        "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata: {name: nobody, namespace: default}\nspec: {roleName: e2e-wl-nobody}\n",
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && stderr.contains("assumeRolePolicy is required unless serviceAccounts"),
        "{stderr}"
    );

    // No hand-written trust: the statements come from the entries.
    world.apply_yaml(&role_yaml("a", "e2e-wl-a", &["api", "worker", "late"]));
    world.wait_ready("default", "a", "60s");
    let arn_a = role_arn(&world, "a");
    let trust = world
        .role("e2e-wl-a")
        .await
        .expect("role exists")
        .settings
        .assume_role_policy;
    let expected = json!({"Version": "2012-10-17", "Statement": [irsa_statement(json!([
        "system:serviceaccount:default:api",
        "system:serviceaccount:default:worker",
        "system:serviceaccount:default:late",
    ]))]});
    assert!(
        rolesmith::policy::equivalent(&expected.to_string(), &trust),
        "IAM has {trust}"
    );
    wait_annotation(&world, "api", Some(&arn_a)).await;
    wait_annotation(&world, "worker", Some(&arn_a)).await;

    // A ServiceAccount created after the role is annotated when it appears.
    world.kubectl_ok(&["create", "serviceaccount", "late", "-n", "default"]);
    wait_annotation(&world, "late", Some(&arn_a)).await;

    // An entry removed: its annotation goes, the others stay.
    world.apply_yaml(&role_yaml("a", "e2e-wl-a", &["api", "late"]));
    wait_annotation(&world, "worker", None).await;
    assert_eq!(annotation(&world, "api").as_deref(), Some(arn_a.as_str()));

    // A second IamRole naming `api`, and `manual` whose annotation someone set by hand: a
    // conflict on b, reported; the annotations stay as they are through many reconciles.
    world.apply_yaml(&role_yaml("b", "e2e-wl-b", &["api", "manual"]));
    let b = world
        .wait_for_object(
            "default",
            "b",
            "OwnershipConflict",
            Duration::from_secs(60),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "OwnershipConflict"),
        )
        .await;
    let message = condition(&b, "Ready").expect("Ready")["message"].to_string();
    assert!(
        message.contains("default/api") && message.contains("default/manual"),
        "{message}"
    );
    assert!(
        condition(&b, "Stalled").is_some_and(|c| c["status"] == "True"),
        "{b}"
    );
    let events = world.events_about("b");
    assert!(events.contains("OwnershipConflict"), "{events}");
    for round in 0..4 {
        // Spec edits make both reconcile again.
        for (name, role, accounts) in [
            ("a", "e2e-wl-a", &["api", "late"][..]),
            ("b", "e2e-wl-b", &["api", "manual"][..]),
        ] {
            world.apply_yaml(&format!(
                "{}  tags: {{round: \"{round}\"}}\n",
                role_yaml(name, role, accounts)
            ));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(annotation(&world, "api").as_deref(), Some(arn_a.as_str()));
        assert_eq!(annotation(&world, "manual").as_deref(), Some(hand_set));
    }
    let b = world.get_json("default", "b");
    assert_eq!(
        condition(&b, "Ready").expect("Ready")["reason"],
        "OwnershipConflict"
    );

    // a goes: its annotations go with it, and b, the other claimant, takes `api`.
    world.kubectl_ok(&["delete", "iamrole", "a", "-n", "default", "--timeout=60s"]);
    wait_annotation(&world, "late", None).await;
    let arn_b = role_arn(&world, "b");
    wait_annotation(&world, "api", Some(&arn_b)).await;
    // The hand-set value is never removed.
    world.kubectl_ok(&["delete", "iamrole", "b", "-n", "default", "--timeout=60s"]);
    wait_annotation(&world, "api", None).await;
    assert_eq!(annotation(&world, "manual").as_deref(), Some(hand_set));

    // An operator without --oidc-provider-arn refuses IRSA entries: Stalled, an Event, and no
    // IAM write.
    world.kill_operator();
    world.start_operator_with(&OperatorOptions {
        extra_args: vec!["--unconfined-namespaces".into(), "default".into()],
        ..OperatorOptions::default()
    });
    world.apply_yaml(&role_yaml("c", "e2e-wl-c", &["api"]));
    let c = world
        .wait_for_object("default", "c", "Stalled", Duration::from_secs(60), |o| {
            condition(o, "Stalled").is_some_and(|c| c["status"] == "True")
        })
        .await;
    let message = condition(&c, "Stalled").expect("Stalled")["message"].to_string();
    assert!(message.contains("--oidc-provider-arn"), "{message}");
    assert!(world.events_about("c").contains("InvalidSpec"));
    assert!(world.role("e2e-wl-c").await.is_none());
    assert_eq!(annotation(&world, "api"), None);
}

/// Pod Identity against the fake EKS endpoint in tests/fake-eks (moto has no EKS Pod
/// Identity API; the fake follows EKS's REST-JSON model): an association per entry, recorded in
/// status, deleted with the entry and with the IamRole, and another role's association left
/// alone and reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_identity_associations_follow_the_entries() {
    let eks = fake_eks::FakeEks::start("e2e").await;
    let mut world = World::start().await;
    world.restart_operator_with_eks(&eks.endpoint, "e2e");
    let manifest = |entries: &str| {
        format!(
            "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata: {{name: p, namespace: default}}\nspec:\n  roleName: e2e-wl-p\n  serviceAccounts: [{entries}]\n"
        )
    };
    world.apply_yaml(&manifest("{name: api}, {name: worker, via: PodIdentity}"));
    world.wait_ready("default", "p", "60s");
    let arn = role_arn(&world, "p");
    let associations = eks.associations();
    assert_eq!(associations.len(), 1, "{associations:?}");
    let made = &associations[0];
    assert_eq!(
        (
            made.cluster.as_str(),
            made.namespace.as_str(),
            made.service_account.as_str(),
            made.role_arn.as_str()
        ),
        ("e2e", "default", "worker", arn.as_str())
    );
    assert_eq!(made.tags["rolesmith.dev/owner"], "e2e/default/p");
    let status = world.get_json("default", "p")["status"].clone();
    assert_eq!(
        status["podIdentityAssociations"],
        json!([{"namespace": "default", "serviceAccount": "worker", "associationId": made.id}])
    );
    let trust = world
        .role("e2e-wl-p")
        .await
        .expect("role exists")
        .settings
        .assume_role_policy;
    let expected = json!({"Version": "2012-10-17", "Statement": [
        irsa_statement(json!("system:serviceaccount:default:api")),
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/kubernetes-namespace": "default",
                "aws:RequestTag/kubernetes-service-account": "worker",
            }}
        }
    ]});
    assert!(
        rolesmith::policy::equivalent(&expected.to_string(), &trust),
        "IAM has {trust}"
    );

    // A ServiceAccount whose association gives another role: reported, left alone.
    let someone = "arn:aws:iam::123456789012:role/someone-else";
    let theirs = eks.add("e2e", "default", "shared", someone);
    world.apply_yaml(&manifest(
        "{name: worker, via: PodIdentity}, {name: shared, via: PodIdentity}",
    ));
    let p = world
        .wait_for_object(
            "default",
            "p",
            "OwnershipConflict",
            Duration::from_secs(60),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "OwnershipConflict"),
        )
        .await;
    let message = condition(&p, "Ready").expect("Ready")["message"].to_string();
    assert!(message.contains("default/shared"), "{message}");

    // Entries removed: their associations go; the other role's stays.
    world.apply_yaml(&manifest("{name: api}"));
    world
        .wait_for_object(
            "default",
            "p",
            "Ready again",
            Duration::from_secs(60),
            |o| {
                condition(o, "Ready").is_some_and(|c| c["status"] == "True")
                    && o["status"]["podIdentityAssociations"].is_null()
            },
        )
        .await;
    let left: Vec<String> = eks.associations().into_iter().map(|a| a.id).collect();
    assert_eq!(left, std::slice::from_ref(&theirs));

    // With the IamRole, its associations go too (before the role).
    world.apply_yaml(&manifest("{name: api}, {name: worker, via: PodIdentity}"));
    world
        .wait_for_object("default", "p", "associated", Duration::from_secs(60), |o| {
            o["status"]["podIdentityAssociations"]
                .as_array()
                .is_some_and(|a| a.len() == 1)
        })
        .await;
    world.kubectl_ok(&["delete", "iamrole", "p", "-n", "default", "--timeout=60s"]);
    let left: Vec<String> = eks.associations().into_iter().map(|a| a.id).collect();
    assert_eq!(left, [theirs]);
    assert!(world.role("e2e-wl-p").await.is_none());
}

/// A ServiceAccount in another namespace: annotated for an IamRole of an unconfined namespace,
/// refused (OutsideNamespaceRoles, nothing written) for one of a confined namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_accounts_of_other_namespaces_need_an_unconfined_namespace() {
    let world = World::start().await;
    for namespace in ["apps", "team"] {
        world.kubectl_ok(&["create", "namespace", namespace]);
    }
    world.apply_yaml(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: svc, namespace: apps}\n",
    );
    let role = |namespace: &str, name: &str| {
        format!(
            "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  serviceAccounts: [{{name: svc, namespace: apps}}]\n"
        )
    };
    // `default` is unconfined in the harness; `team` keeps the default confinement.
    world.apply_yaml(&role("default", "cross"));
    world.wait_ready("default", "cross", "60s");
    let arn = role_arn(&world, "cross");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = world.kubectl_ok(&["get", "serviceaccount", "svc", "-n", "apps", "-o", "json"]);
        let account: Value = serde_json::from_str(&text).expect("JSON");
        if account["metadata"]["annotations"][ANNOTATION] == arn.as_str() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "apps/svc not annotated: {account}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    world.apply_yaml(&role("team", "cross"));
    let refused = world
        .wait_for_object("team", "cross", "Stalled", Duration::from_secs(60), |o| {
            condition(o, "Stalled").is_some_and(|c| c["status"] == "True")
        })
        .await;
    let ready = condition(&refused, "Ready").expect("Ready");
    assert_eq!(ready["reason"], "OutsideNamespaceRoles", "{refused}");
    assert!(
        ready["message"]
            .as_str()
            .is_some_and(|m| m.contains("spec.serviceAccounts[0].namespace")),
        "{ready}"
    );
    assert!(world.role("team.cross").await.is_none());
}
