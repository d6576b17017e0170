//! Hostile AwsAccounts: refused by the CRD where one object can be judged alone (ids, ARNs in
//! another account, ExternalId characters, huge session tags, an accountId change), and by the
//! operator where it cannot (two defaults, credentials that act in another account) or when an
//! older CRD let the object in — in every case with nothing done in IAM or STS for it.

use std::time::Duration;

use super::*;

const SCHEMA_REFUSALS: &[(&str, &str, &str)] = &[
    // (what, spec fragment, message the API server answers)
    (
        "short id",
        "accountId: \"12345\"\n  allowedNamespaces: [\"*\"]",
        "spec.accountId",
    ),
    (
        "letters in the id",
        "accountId: \"12345678901a\"\n  allowedNamespaces: [\"*\"]",
        "spec.accountId",
    ),
    (
        "roleArn in another account",
        "accountId: \"111111111111\"\n  allowedNamespaces: [\"*\"]\n  assumeRole: {roleArn: \"arn:aws:iam::222222222222:role/x\"}",
        "assumeRole.roleArn must be a role in accountId",
    ),
    (
        "roleArn of a user",
        "accountId: \"111111111111\"\n  allowedNamespaces: [\"*\"]\n  assumeRole: {roleArn: \"arn:aws:iam::111111111111:user/x\"}",
        "spec.assumeRole.roleArn",
    ),
    (
        "ExternalId with bad characters",
        "accountId: \"111111111111\"\n  allowedNamespaces: [\"*\"]\n  assumeRole: {roleArn: \"arn:aws:iam::111111111111:role/x\", externalId: \"bad id;drop\"}",
        "spec.assumeRole.externalId",
    ),
    (
        "one-character session name",
        "accountId: \"111111111111\"\n  allowedNamespaces: [\"*\"]\n  assumeRole: {roleArn: \"arn:aws:iam::111111111111:role/x\", sessionName: \"x\"}",
        "spec.assumeRole.sessionName",
    ),
    (
        "no allowedNamespaces",
        "accountId: \"111111111111\"",
        "allowedNamespaces",
    ),
    (
        "a bad namespace",
        "accountId: \"111111111111\"\n  allowedNamespaces: [\"Team_A\"]",
        "spec.allowedNamespaces",
    ),
];

fn with_spec(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: AwsAccount\nmetadata:\n  name: {name}\nspec:\n  {spec}\n"
    )
}

fn huge_session_tags() -> String {
    let tags: Vec<String> = (0..51).map(|i| format!("k{i}: v")).collect();
    with_spec(
        "huge-tags",
        &format!(
            "accountId: \"111111111111\"\n  allowedNamespaces: [\"*\"]\n  assumeRole:\n    roleArn: \"arn:aws:iam::111111111111:role/x\"\n    sessionTags: {{{}}}",
            tags.join(", ")
        ),
    )
}

fn huge_session_tag_value() -> String {
    with_spec(
        "huge-tag-value",
        &format!(
            "accountId: \"111111111111\"\n  allowedNamespaces: [\"*\"]\n  assumeRole:\n    roleArn: \"arn:aws:iam::111111111111:role/x\"\n    sessionTags: {{k: \"{}\"}}",
            "v".repeat(300)
        ),
    )
}

/// A CRD that accepts any AwsAccount, as an older or hand-edited one might.
const PERMISSIVE_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: awsaccounts.iam.rolesmith.dev}
spec:
  group: iam.rolesmith.dev
  names: {kind: AwsAccount, plural: awsaccounts, singular: awsaccount, categories: [rolesmith]}
  scope: Cluster
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
            status: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_aws_accounts_are_refused_and_nothing_is_done() {
    let (world, proxy) = world_behind_proxy(&[]).await;
    create_namespaces(&world, &["team-h"]);

    // The CRD, one object at a time.
    let mut refused = 0;
    let mut cases: Vec<(String, String, &str)> = SCHEMA_REFUSALS
        .iter()
        .enumerate()
        .map(|(i, (what, spec, message))| {
            (
                what.to_string(),
                with_spec(&format!("bad-{i}"), spec),
                *message,
            )
        })
        .collect();
    cases.push((
        "51 session tags".into(),
        huge_session_tags(),
        "spec.assumeRole.sessionTags",
    ));
    cases.push((
        "a 300-character session tag value".into(),
        huge_session_tag_value(),
        "spec.assumeRole.sessionTags",
    ));
    for (what, yaml, message) in &cases {
        let output = world.kubectl_stdin(&["apply", "-f", "-"], yaml);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{what}: accepted");
        assert!(stderr.contains(message), "{what}: {stderr}");
        refused += 1;
    }
    world.apply_yaml(&account_yaml("fixed", "333333333333", None, &["*"], false));
    let change = world.kubectl(&[
        "patch",
        "awsaccount",
        "fixed",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"accountId":"444444444444"}}"#,
    ]);
    assert!(!change.status.success(), "accountId change accepted");
    assert!(String::from_utf8_lossy(&change.stderr).contains("accountId is immutable"));
    refused += 1;

    // The operator: two defaults (neither is used), and credentials that act in another
    // account than the AwsAccount says (the operator's own are moto's 123456789012).
    world.apply_yaml(&account_yaml(
        "first",
        B,
        Some((&role_arn(B), None)),
        &["*"],
        true,
    ));
    world.apply_yaml(&account_yaml(
        "second",
        C,
        Some((&role_arn(C), None)),
        &["*"],
        true,
    ));
    for name in ["first", "second"] {
        wait_for_account(&world, name, "DuplicateDefault", |a| {
            ready_reason(a) == "False/DuplicateDefault"
        })
        .await;
    }
    world.apply_yaml(&role_yaml("team-h", "by-default", None));
    world
        .wait_for_object(
            "team-h",
            "by-default",
            "AccountUnavailable",
            Duration::from_secs(60),
            |o| ready_reason(o) == "False/AccountUnavailable",
        )
        .await;
    wait_for_account(&world, "fixed", "WrongAccount", |a| {
        ready_reason(a) == "False/WrongAccount"
    })
    .await;
    world.apply_yaml(&role_yaml("team-h", "in-wrong", Some("fixed")));
    world
        .wait_for_object(
            "team-h",
            "in-wrong",
            "AccountUnavailable",
            Duration::from_secs(60),
            |o| ready_reason(o) == "False/AccountUnavailable",
        )
        .await;

    // An AwsAccount an older CRD let in: the operator refuses it before any call.
    // Roles that were never made go at once, though their accounts cannot be used; the
    // AwsAccounts then have no user left.
    world.kubectl_ok(&[
        "delete",
        "iamroles",
        "--all",
        "-n",
        "team-h",
        "--timeout=60s",
    ]);
    world.kubectl_ok(&["delete", "awsaccounts", "--all", "--timeout=60s"]);
    world.apply_yaml(PERMISSIVE_CRD);
    world.apply_yaml(&with_spec(
        "let-in",
        "accountId: \"111111111111\"\n  allowedNamespaces: [\"*\"]\n  assumeRole: {roleArn: \"arn:aws:iam::555555555555:role/x\", externalId: \"bad id;drop\"}",
    ));
    let let_in = wait_for_account(&world, "let-in", "InvalidSpec", |a| {
        ready_reason(a) == "False/InvalidSpec"
    })
    .await;
    let message = condition(&let_in, "Ready")
        .map(|c| c["message"].to_string())
        .unwrap_or_default();
    assert!(
        message.contains("is not in account 111111111111"),
        "{message}"
    );
    assert!(
        !message.contains("bad id;drop"),
        "the ExternalId is quoted: {message}"
    );
    world.apply_yaml(&role_yaml("team-h", "in-let-in", Some("let-in")));
    world
        .wait_for_object(
            "team-h",
            "in-let-in",
            "AccountUnavailable",
            Duration::from_secs(60),
            |o| ready_reason(o) == "False/AccountUnavailable",
        )
        .await;

    // Nothing was done for any of them: no role, no AssumeRole of the refused ones.
    let log = proxy.log();
    let roles: Vec<_> = log
        .iter()
        .filter(|e| e.role.as_deref().is_some_and(|r| r.starts_with("team-h.")))
        .collect();
    assert!(roles.is_empty(), "IAM calls for refused roles: {roles:?}");
    // The two defaults may each have been verified before the other was seen; the one an old
    // CRD let in never was.
    let assumed: Vec<_> = log
        .iter()
        .filter(|e| e.action == "AssumeRole" && e.account.as_deref() == Some("555555555555"))
        .collect();
    assert!(
        assumed.is_empty(),
        "AssumeRole for a refused AwsAccount: {assumed:?}"
    );
    println!(
        "[accounts] hostile AwsAccounts: {refused} refused by the CRD, 2 defaults + 1 wrong account + 1 let in by an old CRD refused by the operator; 0 IAM calls for their roles, 0 AssumeRole for the invalid one"
    );
}
