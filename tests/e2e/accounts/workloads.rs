//! `serviceAccounts` in a role of another account: IRSA trusts that account's OIDC provider for
//! the cluster's issuer (IAM accepts only a provider of the role's own account as a Federated
//! principal), the ServiceAccount gets the ARN of the role in that account, and Pod Identity,
//! whose associations name roles of the cluster's account, is refused before any call.

use std::time::Duration;

use rolesmith::iam::IamApi;
use serde_json::Value;

use super::*;
use crate::harness::OIDC_PROVIDER_ARN;

fn role_with_service_accounts(name: &str, entries: &str) -> String {
    format!(
        "apiVersion: iam.rolesmith.dev/v1alpha1\nkind: IamRole\nmetadata:\n  name: {name}\n  namespace: team-b\nspec:\n  accountRef: b\n  serviceAccounts: {entries}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_accounts_of_a_role_in_another_account() {
    let (world, proxy) = world_behind_proxy(&[
        "--oidc-provider-arn",
        OIDC_PROVIDER_ARN,
        "--eks-cluster-name",
        "e2e",
    ])
    .await;
    create_namespaces(&world, &["team-b"]);
    world.apply_yaml(&account_yaml(
        "b",
        B,
        Some((&role_arn(B), Some(EXTERNAL_ID))),
        &["team-b"],
        false,
    ));
    world.apply_yaml(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: team-b}\n",
    );
    world.apply_yaml(&role_with_service_accounts("app", "[{name: app}]"));
    world.wait_ready("team-b", "app", "90s");

    // The trust names b's provider for the cluster's issuer, with the ServiceAccount's subject.
    let iam_b = iam_in(&world, &proxy, B).await;
    let role = iam_b
        .get_role("team-b.app")
        .await
        .expect("IAM answers")
        .expect("the role exists in b");
    let trust: Value = serde_json::from_str(&role.assume_role_policy).expect("trust is JSON");
    let provider_in_b = OIDC_PROVIDER_ARN.replace(":123456789012:", &format!(":{B}:"));
    assert_eq!(
        trust["Statement"][0]["Principal"]["Federated"], provider_in_b,
        "{trust}"
    );
    let status = world.get_json("team-b", "app");
    assert_eq!(status["status"]["accountId"], B);
    let arn = status["status"]["roleArn"].as_str().expect("roleArn");
    assert!(arn.starts_with(&format!("arn:aws:iam::{B}:role/")), "{arn}");
    let account = world.kubectl_ok(&[
        "get",
        "serviceaccount",
        "app",
        "-n",
        "team-b",
        "-o",
        "jsonpath={.metadata.annotations.eks\\.amazonaws\\.com/role-arn}",
    ]);
    assert_eq!(account, arn);

    // Pod Identity cannot reach a role of b: refused, with no call for that role anywhere.
    world.apply_yaml(&role_with_service_accounts(
        "pods",
        "[{name: app, via: PodIdentity}]",
    ));
    let refused = world
        .wait_for_object("team-b", "pods", "refused", Duration::from_secs(60), |o| {
            condition(o, "Stalled").is_some_and(|c| {
                c["status"] == "True"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("EKS Pod Identity associates"))
            })
        })
        .await;
    assert_eq!(ready_reason(&refused), "False/InvalidSpec", "{refused}");
    assert!(
        !proxy
            .log()
            .iter()
            .any(|e| e.role.as_deref() == Some("team-b.pods")),
        "a refused role caused IAM calls:\n{}",
        proxy.dump()
    );
    assert_keys_match_accounts(&proxy, &[("team-b.app", B)]);
    println!(
        "[accounts] IRSA in b trusts b's OIDC provider; Pod Identity in b refused with 0 calls"
    );
}
