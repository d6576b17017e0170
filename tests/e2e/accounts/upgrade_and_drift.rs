//! An operator upgraded on a cluster without the AwsAccount CRD, and drift in another account.

use std::time::Duration;

use super::*;

/// A cluster upgraded without the AwsAccount CRD: the operator says so once and manages every
/// role in its own account, as before AwsAccounts existed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_aws_account_crd_everything_is_the_own_account() {
    let mut world = World::start().await;
    world.kill_operator();
    world.kubectl_ok(&["delete", "crd", "awsaccounts.iam.rolesmith.dev"]);
    world.start_operator();
    world.apply_yaml(&role_yaml("default", "plain", None));
    world.wait_ready("default", "plain", "60s");
    let object = world.get_json("default", "plain");
    assert_eq!(
        object["status"]["accountId"], HOME_ACCOUNT,
        "{}",
        object["status"]
    );
    assert!(world.role("default.plain").await.is_some());
    assert!(
        world
            .operator_log()
            .contains("AwsAccounts cannot be listed"),
        "{}",
        tail(&world.operator_log(), 40)
    );
}

/// Each account has its own drift check, with its own credentials: a change made by hand in b
/// is found by b's check (no object changed) and undone there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_in_another_account_is_repaired_there() {
    let (world, proxy) = world_behind_proxy_resyncing(Duration::from_secs(3), &[]).await;
    create_namespaces(&world, &["team-b"]);
    world.apply_yaml(&account_yaml(
        "b",
        B,
        Some((&role_arn(B), Some(EXTERNAL_ID))),
        &["team-b"],
        false,
    ));
    // The account's first verification wakes its roles: done before the role exists, so no
    // reconcile is still in flight when the role is edited below (it would repair the edit
    // before any drift check could).
    wait_for_account(&world, "b", "Ready", |a| ready_reason(a) == "True/Verified").await;
    world.apply_yaml(&role_yaml("team-b", "app", Some("b")));
    world.wait_ready("team-b", "app", "90s");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let iam_b = iam_in(&world, &proxy, B).await;
    iam_b
        .execute(&rolesmith::model::IamOp::UpdateRole {
            role: "team-b.app".into(),
            description: "edited by hand".into(),
            max_session_duration: 3600,
        })
        .await
        .expect("out-of-band change in b");
    world
        .wait_for_object(
            "team-b",
            "app",
            "repair recorded",
            Duration::from_secs(60),
            |o| o["status"]["lastRepair"]["fields"] == serde_json::json!(["description"]),
        )
        .await;
    let repaired = iam_b
        .get_role("team-b.app")
        .await
        .expect("IAM answers")
        .expect("exists");
    assert_eq!(repaired.description, "");
    // One role: the drift check reads it on its own (cheaper than a bulk read), in b.
    let reads_in_b = proxy
        .log()
        .iter()
        .filter(|e| e.role.as_deref() == Some("team-b.app") && e.action == "GetRole")
        .filter(|e| e.account.as_deref() == Some(B))
        .count();
    assert!(
        reads_in_b >= 2,
        "b's drift check never read the role:\n{}",
        proxy.dump()
    );
    assert_keys_match_accounts(&proxy, &[("team-b.app", B)]);
    println!(
        "[accounts] drift in b found by b's own drift check and repaired there ({reads_in_b} reads of the role, all with b's key)"
    );
}
