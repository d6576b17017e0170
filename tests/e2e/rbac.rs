//! Least privilege, proven: every Kubernetes API request the operator makes during a full
//! lifecycle is allowed by the ClusterRole `deploy/` ships (rendered from the chart), and the
//! ClusterRole grants nothing the operator never uses.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::harness::{World, condition, repo};

/// (apiGroup, resource or resource/subresource, verb)
type Permission = (String, String, String);

fn permission(method: &str, path: &str, query: &str) -> Option<Permission> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => (String::new(), rest),
        ["apis", group, _version, rest @ ..] => (group.to_string(), rest),
        _ => return None, // discovery, /version, /openapi: not resource requests
    };
    let rest = match rest {
        ["namespaces", _namespace, resource, tail @ ..] => {
            let mut v = vec![*resource];
            v.extend_from_slice(tail);
            v
        }
        other => other.to_vec(),
    };
    let (resource, name, sub) = match rest.as_slice() {
        [] => return None,
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(*name), None),
        [resource, name, sub, ..] => (*resource, Some(*name), Some(*sub)),
    };
    let watch = query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match (method, name.is_some()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return None,
    };
    let resource = match sub {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.to_string(),
    };
    Some((group, resource, verb.to_string()))
}

fn granted() -> BTreeSet<Permission> {
    let text = std::fs::read_to_string(repo("deploy/rbac.yaml")).expect("deploy/rbac.yaml");
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&text).expect("rbac.yaml parses");
    let mut granted = BTreeSet::new();
    for document in documents.iter().filter(|d| d["kind"] == "ClusterRole") {
        for rule in document["rules"].as_array().into_iter().flatten() {
            for group in rule["apiGroups"].as_array().into_iter().flatten() {
                for resource in rule["resources"].as_array().into_iter().flatten() {
                    for verb in rule["verbs"].as_array().into_iter().flatten() {
                        granted.insert((
                            group.as_str().unwrap_or_default().to_string(),
                            resource.as_str().unwrap_or_default().to_string(),
                            verb.as_str().unwrap_or_default().to_string(),
                        ));
                    }
                }
            }
        }
    }
    granted
}

const ROLE: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: NAME, namespace: default}
spec:
  roleName: ROLE
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
  tags: {team: a}
"#;

const POLICY: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamPolicy
metadata: {name: shared, namespace: default}
spec:
  document: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: s3:GetObject, Resource: "*"}]}
"#;

const GUARDRAIL: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: RoleGuardrail
metadata: {name: no-admin}
spec: {namespaces: [default], deny: [admin-access]}
"#;

const SERVICE_LINKED_ROLE: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamServiceLinkedRole
metadata: {name: beanstalk, namespace: default}
spec:
  awsServiceName: elasticbeanstalk.amazonaws.com
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_uses_exactly_what_its_cluster_role_grants() {
    let world = World::start().await;
    // A lifecycle touching every code path that talks to Kubernetes: create (finalizer, status,
    // events), edit, a user error (Warning event), delete (finalizer removal); an IamPolicy
    // that a role refers to (its own finalizer and status, the role's GET of it).
    // spec.serviceAccounts: a ServiceAccount annotated (list+watch, patch), its annotation
    // removed again when the role goes.
    world.apply_yaml(POLICY);
    // A guardrail covering the namespace (its watch, its status) that the roles below satisfy.
    world.apply_yaml(GUARDRAIL);
    // An AwsAccount (the operator's own account, by its id): its finalizer and status.
    world.apply_yaml(
        "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: AwsAccount\nmetadata: {name: home}\nspec: {accountId: \"123456789012\", allowedNamespaces: [default]}\n",
    );
    world.apply_yaml(SERVICE_LINKED_ROLE);
    world.apply_yaml(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: default}\n",
    );
    world.apply_yaml(
        &(ROLE.replace("NAME", "a").replace("ROLE", "e2e-rbac-a")
            + "  managedPolicyRefs: [{name: shared}]\n  serviceAccounts: [{name: app}]\n"),
    );
    world.wait_ready("default", "a", "60s");
    // The same edit twice (a tag changed, then changed back): the second Synced Event repeats
    // the first word for word and continues its series (events patch).
    for (team, generation) in [("team: b", 2), ("team: a", 3)] {
        world.apply_yaml(
            &ROLE
                .replace("NAME", "a")
                .replace("ROLE", "e2e-rbac-a")
                .replace("team: a", team),
        );
        world
            .wait_for_object(
                "default",
                "a",
                "the edit applied",
                Duration::from_secs(60),
                |o| {
                    o["status"]["observedGeneration"] == generation
                        && condition(o, "Ready").is_some_and(|c| c["status"] == "True")
                },
            )
            .await;
    }
    world.apply_yaml(
        &ROLE
            .replace("NAME", "a")
            .replace("ROLE", "e2e-rbac-a")
            .replace("team: a", "team: b"),
    );
    world.apply_yaml(&ROLE.replace("NAME", "b").replace("ROLE", "e2e-rbac-a"));
    world
        .wait_for_object(
            "default",
            "b",
            "OwnershipConflict",
            Duration::from_secs(60),
            |o| condition(o, "Ready").is_some_and(|c| c["reason"] == "OwnershipConflict"),
        )
        .await;
    world.kubectl_ok(&[
        "delete",
        "iamroles",
        "--all",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    world.kubectl_ok(&[
        "delete",
        "iampolicies",
        "--all",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    world.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        "iamservicelinkedrole/beanstalk",
        "-n",
        "default",
        "--timeout=60s",
    ]);
    world.kubectl_ok(&[
        "delete",
        "iamservicelinkedroles",
        "--all",
        "-n",
        "default",
        "--timeout=60s",
    ]);

    let account = world.kubectl_ok(&[
        "get",
        "serviceaccount",
        "app",
        "-n",
        "default",
        "-o",
        "json",
    ]);
    assert!(
        !account.contains("eks.amazonaws.com/role-arn"),
        "the annotation went with the role: {account}"
    );
    world.kubectl_ok(&["delete", "awsaccounts", "--all", "--timeout=60s"]);

    let used: BTreeSet<Permission> = world
        .sim
        .requests()
        .iter()
        .filter(|r| !r.user_agent.starts_with("kubectl"))
        .filter_map(|r| permission(&r.method, &r.path, &r.query))
        .collect();
    for (group, resource) in [
        ("iam.rolesmith.dev", "iamroles/status"),
        ("", "serviceaccounts"),
    ] {
        assert!(
            used.contains(&(group.into(), resource.into(), "patch".into())),
            "the scenario exercised the operator: {used:#?}"
        );
    }
    // Every Event was accepted, the series patch included.
    let log = world.operator_log();
    assert!(!log.contains("could not publish event"), "{log}");
    let granted = granted();
    let missing: Vec<_> = used.difference(&granted).collect();
    assert!(
        missing.is_empty(),
        "the operator needs permissions deploy/rbac.yaml lacks: {missing:#?}"
    );
    let unused: Vec<_> = granted.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "deploy/rbac.yaml grants permissions the operator never uses: {unused:#?}"
    );
}

#[test]
fn requests_map_to_rbac_permissions() {
    let cases = [
        (
            "GET",
            "/apis/iam.rolesmith.dev/v1alpha1/iamroles",
            "watch=true&resourceVersion=5",
            Some(("iam.rolesmith.dev", "iamroles", "watch")),
        ),
        (
            "GET",
            "/apis/iam.rolesmith.dev/v1alpha1/iamroles",
            "",
            Some(("iam.rolesmith.dev", "iamroles", "list")),
        ),
        (
            "PATCH",
            "/apis/iam.rolesmith.dev/v1alpha1/namespaces/d/iamroles/x/status",
            "fieldManager=r",
            Some(("iam.rolesmith.dev", "iamroles/status", "patch")),
        ),
        (
            "POST",
            "/apis/events.k8s.io/v1/namespaces/d/events",
            "",
            Some(("events.k8s.io", "events", "create")),
        ),
        (
            "PUT",
            "/apis/coordination.k8s.io/v1/namespaces/d/leases/l",
            "",
            Some(("coordination.k8s.io", "leases", "update")),
        ),
        (
            "GET",
            "/api/v1/namespaces/d/configmaps/c",
            "",
            Some(("", "configmaps", "get")),
        ),
        ("GET", "/version", "", None),
        ("GET", "/apis", "", None),
    ];
    for (method, path, query, expected) in cases {
        let expected = expected.map(|(g, r, v)| (g.to_string(), r.to_string(), v.to_string()));
        assert_eq!(
            permission(method, path, query),
            expected,
            "{method} {path}?{query}"
        );
    }
}
