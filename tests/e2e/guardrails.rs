//! RoleGuardrails through kubectl: a refused IamRole is Stalled (GuardrailViolation) with an
//! Event, and IAM receives no write for it (counted where IAM receives them, by the recording
//! proxy); it converges once the role, or the guardrail, is changed; a namespace the guardrails
//! do not cover is unaffected; a guardrail with bad values never reaches the cluster.

use std::time::Duration;

use crate::harness::{OperatorOptions, World, condition};
use crate::support::fault::FaultProxy;

const BOUNDARY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const WAIT: Duration = Duration::from_secs(60);

/// An IamRole in `namespace` named `name` (role e2e-g-`name`), with `extra` spec lines.
fn role(namespace: &str, name: &str, trust_principal: &str, extra: &str) -> String {
    format!(
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  roleName: e2e-g-{name}
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal: {trust_principal}
        Action: sts:AssumeRole
        Condition: {{StringEquals: {{"sts:ExternalId": partner-1}}}}
{extra}
"#
    )
}

const SERVICE: &str = "{Service: ec2.amazonaws.com}";
const PARTNER: &str = r#"{AWS: "arn:aws:iam::222222222222:root"}"#;

fn guardrail(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: RoleGuardrail\nmetadata: {{name: {name}}}\nspec:\n{spec}\n"
    )
}

/// The Ready condition's (status, reason, message).
fn ready(object: &serde_json::Value) -> (String, String, String) {
    let c = condition(object, "Ready").cloned().unwrap_or_default();
    let text = |key: &str| c[key].as_str().unwrap_or_default().to_string();
    (text("status"), text("reason"), text("message"))
}

async fn wait_refused(world: &World, namespace: &str, name: &str) -> String {
    let object = world
        .wait_for_object(namespace, name, "refused by a guardrail", WAIT, |o| {
            condition(o, "Stalled")
                .is_some_and(|c| c["status"] == "True" && c["reason"] == "GuardrailViolation")
        })
        .await;
    ready(&object).2
}

/// Waits until the guardrail's status counts `want` refused IamRoles (the drift check counts).
async fn wait_refusing(world: &World, guardrail: &str, want: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let counted = world.kubectl_ok(&[
            "get",
            "roleguardrail",
            guardrail,
            "-o",
            "jsonpath={.status.refusing}",
        ]);
        if counted == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{guardrail} refuses {counted:?}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn writes_to(proxy: &FaultProxy, role: &str) -> usize {
    proxy
        .writes_per_role()
        .get(role)
        .copied()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrails_refuse_until_the_role_or_the_guardrail_changes() {
    let mut world = World::start().await;
    let proxy = FaultProxy::start(&world.moto.endpoint);
    world.kill_operator();
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        extra_args: vec!["--unconfined-namespaces".into(), "default,platform".into()],
        ..OperatorOptions::default()
    });
    world.kubectl_ok(&["create", "namespace", "platform"]);

    // A role made before any guardrail: a guardrail that arrives later stops further writes,
    // and leaves the role in IAM as it is.
    let long_session = format!("  permissionsBoundary: {BOUNDARY}\n  maxSessionDuration: 7200");
    world.apply_yaml(&role("default", "existing", SERVICE, &long_session));
    world.wait_ready("default", "existing", "60s");

    world.apply_yaml(&guardrail(
        "strict",
        &format!(
            "  namespaces: [default]\n  deny: [admin-access]\n  requirePermissionsBoundary: [{BOUNDARY}]"
        ),
    ));
    world.apply_yaml(&guardrail(
        "accounts",
        "  namespaces: [\"*\"]\n  allowedTrustAccounts: []",
    ));
    world.apply_yaml(&guardrail(
        "session",
        "  namespaces: [default]\n  maxSessionDuration: 3600",
    ));
    // The guardrail change alone re-evaluates the role it now covers.
    let message = wait_refused(&world, "default", "existing").await;
    assert!(
        message.contains("RoleGuardrail session") && message.contains("spec.maxSessionDuration"),
        "{message}"
    );
    let existing = world.role("e2e-g-existing").await.expect("left in IAM");
    assert_eq!(existing.max_session_duration, 7200);

    let boundary = format!("  permissionsBoundary: {BOUNDARY}");
    let admin =
        format!("{boundary}\n  managedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]");
    world.apply_yaml(&role("default", "admin", SERVICE, &admin));
    world.apply_yaml(&role("default", "unbounded", SERVICE, ""));
    world.apply_yaml(&role("default", "partner", PARTNER, &boundary));
    // Outside the namespaces "strict" covers: the same administrator role is made.
    world.apply_yaml(&role(
        "platform",
        "outside",
        SERVICE,
        "  managedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]",
    ));
    world.wait_ready("platform", "outside", "60s");

    let message = wait_refused(&world, "default", "admin").await;
    assert!(
        message.contains("RoleGuardrail strict denies finding admin-access"),
        "{message}"
    );
    let message = wait_refused(&world, "default", "unbounded").await;
    assert!(
        message.contains("RoleGuardrail strict requires a permissions boundary"),
        "{message}"
    );
    let message = wait_refused(&world, "default", "partner").await;
    assert!(
        message
            .contains("trusts account 222222222222, which RoleGuardrail accounts does not allow"),
        "{message}"
    );
    let events = world.events_about("admin");
    assert!(events.contains("GuardrailViolation"), "{events}");
    // Each guardrail counts whom it refuses: strict two, accounts and session one each.
    wait_refusing(&world, "strict", "2").await;
    wait_refusing(&world, "accounts", "1").await;
    wait_refusing(&world, "session", "1").await;

    // Refused roles cost IAM no write, however often they are reconciled meanwhile.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let existing_writes = writes_to(&proxy, "e2e-g-existing");
    for name in ["e2e-g-admin", "e2e-g-unbounded", "e2e-g-partner"] {
        assert_eq!(writes_to(&proxy, name), 0, "{name}: {}", proxy.dump());
        assert!(world.role(name).await.is_none(), "{name} was created");
    }

    // Fixing the role: it converges.
    world.apply_yaml(&role("default", "unbounded", SERVICE, &boundary));
    world.wait_ready("default", "unbounded", "60s");
    let made = world.role("e2e-g-unbounded").await.expect("created");
    assert_eq!(made.permissions_boundary.as_deref(), Some(BOUNDARY));

    // Loosening the guardrail: the role it refused converges without being touched.
    world.apply_yaml(&guardrail(
        "accounts",
        "  namespaces: [\"*\"]\n  allowedTrustAccounts: [\"222222222222\"]",
    ));
    world.wait_ready("default", "partner", "60s");
    assert!(world.role("e2e-g-partner").await.is_some());

    // Removing a guardrail releases what only it refused.
    world.kubectl_ok(&["delete", "roleguardrail", "session"]);
    world.wait_ready("default", "existing", "60s");
    // IAM already had what the spec asks: nothing to write, before or after.
    assert_eq!(
        writes_to(&proxy, "e2e-g-existing"),
        existing_writes,
        "{}",
        proxy.dump()
    );
    let existing = world.role("e2e-g-existing").await.expect("still in IAM");
    assert_eq!(existing.max_session_duration, 7200);

    // Still refused: the other guardrails add up on it.
    assert_eq!(writes_to(&proxy, "e2e-g-admin"), 0);
    wait_refusing(&world, "strict", "1").await;
    wait_refusing(&world, "accounts", "0").await;
    let (status, reason, _) = ready(&world.get_json("default", "admin"));
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "GuardrailViolation")
    );

    // Each guardrail says it is enforced, and kubectl lists them with their namespaces.
    let listed = world.kubectl_ok(&["get", "roleguardrails"]);
    assert!(
        listed.contains("strict") && listed.contains("default"),
        "{listed}"
    );
    let strict = world.kubectl_ok(&[
        "get",
        "roleguardrail",
        "strict",
        "-o",
        "jsonpath={.status.conditions[0].reason}",
    ]);
    assert_eq!(strict, "Enforced");
}

/// Bad values stop at the API server, which names the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crd_rejects_bad_guardrails() {
    let world = World::start().await;
    let cases = [
        ("  deny: [admin-access]", "spec.namespaces"),
        ("  namespaces: [Team_A]", "spec.namespaces[0]"),
        (
            "  namespaces: [a]\n  deny: [no-such-finding]",
            "spec.deny[0]",
        ),
        ("  namespaces: [a]\n  deny: [unused-role]", "spec.deny[0]"),
        (
            "  namespaces: [a]\n  requirePermissionsBoundary: [boundary]",
            "spec.requirePermissionsBoundary[0]",
        ),
        (
            "  namespaces: [a]\n  requirePermissionsBoundary: arn:aws:iam::aws:policy/ReadOnlyAccess",
            "spec.requirePermissionsBoundary",
        ),
        (
            "  namespaces: [a]\n  denyActions: [\"iam PassRole\"]",
            "spec.denyActions[0]",
        ),
        (
            "  namespaces: [a]\n  allowedTrustAccounts: [\"12345\"]",
            "spec.allowedTrustAccounts[0]",
        ),
        (
            "  namespaces: [a]\n  maxSessionDuration: 60",
            "spec.maxSessionDuration",
        ),
        (
            "  namespaces: [a]\n  maxSessionDuration: 50000",
            "spec.maxSessionDuration",
        ),
    ];
    for (spec, field) in cases {
        let manifest = guardrail("bad", spec);
        let output = world.kubectl_stdin(&["apply", "-f", "-"], &manifest);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "accepted: {manifest}");
        assert!(stderr.contains(field), "expected {field:?} in: {stderr}");
    }
    let listed = world.kubectl_ok(&["get", "roleguardrails", "-o", "name"]);
    assert_eq!(listed.trim(), "");
}
