//! Many AWS accounts from one operator (AwsAccount), end to end through kubectl: three accounts
//! on one moto — the operator's own, one through AssumeRole with an ExternalId, one whose
//! AssumeRole STS refuses (the fault proxy answers AccessDenied) — with a proxy that records the
//! access key of every request, so the test can check that no call for one account was ever
//! made with another's credentials.
//!
//! moto's STS hands out keys that act in the assumed role's account (it checks no trust policy
//! and no ExternalId): a role created with them exists only in that account.
//!
//! Figures are printed: `cargo test --test e2e accounts -- --nocapture`.

mod hostile;
mod isolation;
mod upgrade_and_drift;
mod workloads;

use std::sync::Arc;
use std::time::Duration;

use rolesmith::iam::{AwsIam, IamApi, NoopObserver};
use serde_json::Value;

use crate::harness::{OperatorOptions, World, condition, tail};
use crate::support::fault::HOME_ACCOUNT;
use crate::support::{self, Fault, FaultProxy};

/// The account reached through AssumeRole with an ExternalId.
pub const B: &str = "111111111111";
/// The account whose AssumeRole is refused.
pub const C: &str = "222222222222";
/// Unique, so the test can prove it is never printed anywhere.
pub const EXTERNAL_ID: &str = "tenant-b:7f3c9e-NEVER-PRINTED";

/// A world whose operator reaches IAM and STS only through a fault proxy.
pub async fn world_behind_proxy(extra_args: &[&str]) -> (World, FaultProxy) {
    world_behind_proxy_resyncing(Duration::from_secs(120), extra_args).await
}

/// The same, with drift checks every `resync`.
pub async fn world_behind_proxy_resyncing(
    resync: Duration,
    extra_args: &[&str],
) -> (World, FaultProxy) {
    let mut world = World::start_with_resync(resync).await;
    world.kill_operator();
    // moto builds its IAM backend on the first call: not something a measurement should see.
    assert_eq!(world.role("warm-up").await, None);
    let proxy = FaultProxy::start(&world.moto.endpoint);
    world.start_operator_with(&OperatorOptions {
        iam_endpoint: Some(proxy.endpoint.clone()),
        extra_args: extra_args.iter().map(|arg| arg.to_string()).collect(),
        ..OperatorOptions::default()
    });
    (world, proxy)
}

pub fn account_yaml(
    name: &str,
    id: &str,
    assume: Option<(&str, Option<&str>)>,
    namespaces: &[&str],
    default: bool,
) -> String {
    let assume = match assume {
        None => String::new(),
        Some((arn, external_id)) => {
            let external = external_id
                .map(|id| format!("\n    externalId: \"{id}\""))
                .unwrap_or_default();
            format!(
                "  assumeRole:\n    roleArn: {arn}{external}\n    sessionTags:\n      team: platform\n"
            )
        }
    };
    let namespaces: Vec<String> = namespaces.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: AwsAccount\nmetadata:\n  name: {name}\nspec:\n  accountId: \"{id}\"\n{assume}  allowedNamespaces: [{}]\n  default: {default}\n",
        namespaces.join(", ")
    )
}

pub fn role_yaml(namespace: &str, name: &str, account_ref: Option<&str>) -> String {
    let account = account_ref
        .map(|name| format!("  accountRef: {name}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{account}  assumeRolePolicy:\n    Version: \"2012-10-17\"\n    Statement:\n      - Effect: Allow\n        Principal: {{Service: lambda.amazonaws.com}}\n        Action: sts:AssumeRole\n  inlinePolicies:\n    read: {{Version: \"2012-10-17\", Statement: [{{Effect: Allow, Action: \"s3:GetObject\", Resource: \"*\"}}]}}\n"
    )
}

pub fn role_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/rolesmith-access")
}

pub fn create_namespaces(world: &World, namespaces: &[&str]) {
    for namespace in namespaces {
        world.kubectl_ok(&["create", "namespace", namespace]);
    }
}

pub fn account_json(world: &World, name: &str) -> Value {
    let text = world.kubectl_ok(&["get", "awsaccount", name, "-o", "json"]);
    serde_json::from_str(&text).expect("kubectl -o json prints JSON")
}

/// Polls the AwsAccount until `check` holds.
pub async fn wait_for_account(
    world: &World,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let account = account_json(world, name);
        if check(&account) {
            return account;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "AwsAccount {name}: {what} not reached; status: {}\noperator log:\n{}",
            account["status"],
            tail(&world.operator_log(), 80)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn events_in(world: &World, namespace: &str, name: &str) -> String {
    let selector = format!("involvedObject.name={name}");
    world.kubectl_ok(&[
        "get",
        "events",
        "-n",
        namespace,
        "--field-selector",
        &selector,
    ])
}

pub fn ready_reason(object: &Value) -> String {
    condition(object, "Ready")
        .map(|c| {
            format!(
                "{}/{}",
                c["status"].as_str().unwrap_or(""),
                c["reason"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_default()
}

/// IAM in `account`, as moto sees it, reached directly (not through the proxy) with a key its
/// STS handed the operator for that account.
pub async fn iam_in(world: &World, proxy: &FaultProxy, account: &str) -> AwsIam {
    let key = proxy
        .key_accounts()
        .into_iter()
        .find(|(_, of)| of == account)
        .map(|(key, _)| key)
        .unwrap_or_else(|| panic!("no key of account {account} was handed out"));
    AwsIam::with_static_credentials(
        support::test_config(&world.moto.endpoint),
        &key,
        "unused-by-moto",
        Arc::new(NoopObserver),
    )
    .await
}

/// Every request the proxy saw about a role (by its name) acted in the account that role lives
/// in, with a key of that account; AssumeRole was only ever signed with the operator's own key.
pub fn assert_keys_match_accounts(proxy: &FaultProxy, homes: &[(&str, &str)]) -> usize {
    let keys = proxy.key_accounts();
    let mut checked = 0;
    for entry in proxy.log() {
        let key_account = entry.access_key.as_ref().map(|key| {
            keys.get(key)
                .cloned()
                .unwrap_or_else(|| HOME_ACCOUNT.to_string())
        });
        if entry.action == "AssumeRole" {
            assert_eq!(
                key_account.as_deref(),
                Some(HOME_ACCOUNT),
                "AssumeRole signed with {:?}",
                entry.access_key
            );
            checked += 1;
            continue;
        }
        let Some(role) = &entry.role else { continue };
        let Some((_, home)) = homes.iter().find(|(name, _)| name == role) else {
            continue;
        };
        assert_eq!(
            key_account.as_deref(),
            Some(*home),
            "{} of {role} (account {home}) was signed with a key of account {key_account:?}",
            entry.action
        );
        checked += 1;
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_accounts_from_one_operator() {
    let (world, proxy) = world_behind_proxy(&["--iam-rate-limit", "50"]).await;
    // Account C's trust policy refuses the operator: STS answers AccessDenied.
    proxy.inject(Fault::access_denied("AssumeRole").for_account(C).always());
    create_namespaces(&world, &["team-own", "team-b", "team-c", "team-x"]);
    world.apply_yaml(&account_yaml(
        "b",
        B,
        Some((&role_arn(B), Some(EXTERNAL_ID))),
        &["team-b"],
        false,
    ));
    world.apply_yaml(&account_yaml(
        "c",
        C,
        Some((&role_arn(C), None)),
        &["*"],
        false,
    ));
    world.apply_yaml(&role_yaml("team-own", "app", None));
    world.apply_yaml(&role_yaml("team-b", "app", Some("b")));
    world.apply_yaml(&role_yaml("team-c", "app", Some("c")));
    // IamPolicies live in the own account: a role in b cannot attach them.
    world.apply_yaml(&format!(
        "{}  managedPolicyRefs: [{{name: shared}}]\n",
        role_yaml("team-b", "refs", Some("b"))
    ));
    // team-x is not in b's allowedNamespaces.
    world.apply_yaml(&role_yaml("team-x", "app", Some("b")));

    let b = wait_for_account(&world, "b", "Ready", |a| ready_reason(a) == "True/Verified").await;
    assert!(
        b["status"]["callerArn"]
            .as_str()
            .is_some_and(|arn| arn.contains(B)),
        "{}",
        b["status"]
    );
    assert!(
        b["status"]["lastVerifiedTime"].is_string(),
        "{}",
        b["status"]
    );
    wait_for_account(&world, "c", "AssumeRoleDenied", |a| {
        ready_reason(a) == "False/AssumeRoleDenied"
    })
    .await;

    world.wait_ready("team-own", "app", "90s");
    world.wait_ready("team-b", "app", "90s");
    let own = world.get_json("team-own", "app");
    let in_b = world.get_json("team-b", "app");
    assert_eq!(
        own["status"]["accountId"], HOME_ACCOUNT,
        "{}",
        own["status"]
    );
    assert_eq!(in_b["status"]["accountId"], B, "{}", in_b["status"]);
    assert!(
        in_b["status"]["roleArn"]
            .as_str()
            .is_some_and(|arn| arn.starts_with(&format!("arn:aws:iam::{B}:role/"))),
        "{}",
        in_b["status"]
    );
    let denied = world
        .wait_for_object(
            "team-c",
            "app",
            "AssumeRoleDenied",
            Duration::from_secs(60),
            |o| ready_reason(o) == "False/AssumeRoleDenied",
        )
        .await;
    assert!(
        denied["status"].get("roleArn").is_none(),
        "{}",
        denied["status"]
    );
    let stalled = world
        .wait_for_object(
            "team-x",
            "app",
            "AccountNotAllowed",
            Duration::from_secs(60),
            |o| ready_reason(o) == "False/AccountNotAllowed",
        )
        .await;
    assert!(
        condition(&stalled, "Stalled").is_some_and(|c| c["status"] == "True"),
        "{}",
        stalled["status"]
    );

    let refs = world
        .wait_for_object(
            "team-b",
            "refs",
            "AccountNotAllowed",
            Duration::from_secs(60),
            |o| ready_reason(o) == "False/AccountNotAllowed",
        )
        .await;
    let message = condition(&refs, "Ready")
        .map(|c| c["message"].to_string())
        .unwrap_or_default();
    assert!(message.contains("managedPolicyRefs"), "{message}");

    // The role made through b exists in b only, and the own account's in the own account only.
    let iam_b = iam_in(&world, &proxy, B).await;
    assert!(
        iam_b
            .get_role("team-b.app")
            .await
            .expect("IAM answers")
            .is_some()
    );
    assert!(
        iam_b
            .get_role("team-own.app")
            .await
            .expect("IAM answers")
            .is_none()
    );
    assert!(
        world.role("team-b.app").await.is_none(),
        "the role of account b leaked into the own account"
    );
    assert!(world.role("team-own.app").await.is_some());
    // Nothing in C, nothing anywhere for team-x.
    let log = proxy.log();
    let in_c: Vec<_> = log
        .iter()
        .filter(|e| e.account.as_deref() == Some(C) && e.action != "AssumeRole")
        .collect();
    assert!(in_c.is_empty(), "calls in the denied account: {in_c:?}");
    let for_x: Vec<_> = log
        .iter()
        .filter(|e| matches!(e.role.as_deref(), Some("team-x.app" | "team-b.refs")))
        .collect();
    assert!(
        for_x.is_empty(),
        "calls for a namespace the account does not allow: {for_x:?}"
    );
    // AssumeRole carried b's ExternalId and session tags, and no ExternalId for c.
    let assume_b: Vec<_> = log
        .iter()
        .filter(|e| e.action == "AssumeRole" && e.account.as_deref() == Some(B))
        .collect();
    assert!(!assume_b.is_empty());
    for entry in &assume_b {
        assert_eq!(entry.external_id.as_deref(), Some(EXTERNAL_ID));
        assert_eq!(entry.session_tag.as_deref(), Some("team=platform"));
    }
    assert!(
        log.iter()
            .filter(|e| e.action == "AssumeRole" && e.account.as_deref() == Some(C))
            .all(|e| e.external_id.is_none())
    );
    let checked =
        assert_keys_match_accounts(&proxy, &[("team-own.app", HOME_ACCOUNT), ("team-b.app", B)]);
    assert!(checked > 5, "only {checked} requests checked");
    println!(
        "[accounts] 3 accounts: own and b Ready, c AssumeRoleDenied, team-x AccountNotAllowed; {} requests, {checked} checked for the key of their account, 0 in c, 0 for team-x",
        log.len()
    );

    // accountRef is immutable: kubectl is refused by the CRD.
    let edit = world.kubectl(&[
        "patch",
        "iamrole",
        "app",
        "-n",
        "team-b",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"accountRef":"c"}}"#,
    ]);
    assert!(!edit.status.success(), "accountRef edit accepted");
    let stderr = String::from_utf8_lossy(&edit.stderr);
    assert!(stderr.contains("accountRef is immutable"), "{stderr}");

    // kubectl explain documents both sides.
    let explained = world.kubectl_ok(&["explain", "awsaccount.spec"]);
    for field in ["accountId", "assumeRole", "allowedNamespaces", "default"] {
        assert!(explained.contains(field), "{field} missing:\n{explained}");
    }
    let explained = world.kubectl_ok(&["explain", "awsaccount.spec.assumeRole"]);
    for field in ["roleArn", "externalId", "sessionName", "sessionTags"] {
        assert!(explained.contains(field), "{field} missing:\n{explained}");
    }
    let explained = world.kubectl_ok(&["explain", "iamrole.spec.accountRef"]);
    assert!(explained.contains("Immutable"), "{explained}");

    // -o wide shows the account.
    let wide = world.kubectl_ok(&["get", "iamroles", "-A", "-o", "wide"]);
    assert!(wide.contains("ACCOUNT") && wide.contains(B), "{wide}");

    // The ExternalId is nowhere but in the AwsAccount's spec.
    let metrics = world
        .http_get("/metrics")
        .await
        .map(|(_, body)| body)
        .unwrap_or_default();
    assert!(
        metrics.contains(r#"account="b""#),
        "no per-account metrics:\n{metrics}"
    );
    let statuses = format!(
        "{}{}",
        world.kubectl_ok(&["get", "awsaccounts", "-o", "jsonpath={.items[*].status}"]),
        world.kubectl_ok(&["get", "iamroles", "-A", "-o", "jsonpath={.items[*].status}"])
    );
    let events = world.kubectl_ok(&["get", "events", "-A", "-o", "yaml"]);
    for (what, text) in [
        ("operator log", world.operator_log()),
        ("Events", events),
        ("status", statuses),
        ("metrics", metrics),
    ] {
        assert!(
            !text.contains(EXTERNAL_ID),
            "the ExternalId appears in the {what}"
        );
        assert!(
            !text.contains(crate::harness::SECRET_ACCESS_KEY),
            "a secret key appears in the {what}"
        );
    }

    // Deleting b waits for its role, and says which.
    world.kubectl_ok(&["delete", "awsaccount", "b", "--wait=false"]);
    let held = wait_for_account(&world, "b", "AccountInUse", |a| {
        ready_reason(a) == "False/AccountInUse"
    })
    .await;
    assert_eq!(
        held["status"]["usedBy"],
        serde_json::json!(["team-b/app", "team-b/refs", "team-x/app"]),
        "{}",
        held["status"]
    );

    // team-b loses the account: writes stop at once, and deleting the object leaves the role.
    world.kubectl_ok(&[
        "patch",
        "awsaccount",
        "b",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"allowedNamespaces":[]}}"#,
    ]);
    world
        .wait_for_object(
            "team-b",
            "app",
            "AccountNotAllowed",
            Duration::from_secs(60),
            |o| ready_reason(o) == "False/AccountNotAllowed",
        )
        .await;
    let before = proxy.log().len();
    world.kubectl_ok(&["delete", "iamrole", "app", "-n", "team-b", "--timeout=60s"]);
    world.kubectl_ok(&["delete", "iamrole", "app", "-n", "team-x", "--timeout=60s"]);
    world.kubectl_ok(&["delete", "iamrole", "refs", "-n", "team-b", "--timeout=60s"]);
    let after: Vec<_> = proxy.log()[before..]
        .iter()
        .filter(|e| e.account.as_deref() == Some(B))
        .cloned()
        .collect();
    assert!(
        after.is_empty(),
        "calls in b after team-b lost it: {after:?}"
    );
    assert!(
        iam_b
            .get_role("team-b.app")
            .await
            .expect("IAM answers")
            .is_some(),
        "the role was deleted"
    );
    let left = events_in(&world, "team-b", "app");
    assert!(left.contains("AccountNotAllowed"), "{left}");
    // The AwsAccount goes once nothing uses it.
    world.kubectl_ok(&["wait", "--for=delete", "awsaccount/b", "--timeout=60s"]);
}
