//! The account's role quota against moto, whose GetAccountSummary is real (RolesQuota 1000, Roles
//! counted): a warning above 90 %, the new role that would exceed the quota refused with nothing
//! sent to IAM, GetAccountSummary asked once and the adapter's own creates counted on.

use futures::StreamExt;
use rolesmith::admission::Rule;
use rolesmith::engine::{self, Mode};
use rolesmith::error::Category;
use rolesmith::iam::IamApi;
use rolesmith::model::{DesiredRole, Owner};

use crate::support::{Moto, counted_iam, sdk_client, service_trust};

const QUOTA: usize = 1000;

fn owner(name: &str) -> Owner {
    Owner {
        cluster: "it".into(),
        namespace: "default".into(),
        name: name.into(),
    }
}

fn desired(name: &str) -> DesiredRole {
    DesiredRole {
        name: name.into(),
        settings: rolesmith::model::RoleSettings {
            path: "/".into(),
            max_session_duration: 3600,
            assume_role_policy: service_trust("lambda.amazonaws.com"),
            ..Default::default()
        },
        ignored_tag_keys: Vec::new(),
        instance_profile: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_role_at_the_quota_is_refused_before_iam_is_asked() {
    let moto = Moto::start();
    let client = sdk_client(&moto.endpoint).await;
    // Someone else's roles, up to two below the quota.
    futures::stream::iter(0..QUOTA - 2)
        .map(|i| {
            let client = client.clone();
            async move {
                client
                    .create_role()
                    .role_name(format!("filler-{i}"))
                    .assume_role_policy_document(service_trust("ec2.amazonaws.com"))
                    .send()
                    .await
                    .expect("moto creates the role")
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;

    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let first = engine::apply(&iam, &desired("quota-a"), &owner("a"), false, Mode::Execute)
        .await
        .expect("998 of 1000: created");
    let warning = first
        .findings
        .iter()
        .find(|f| f.id == Rule::AccountQuota)
        .expect("above 90 %: account-quota");
    assert!(warning.message.contains("998 of its 1000"), "{warning}");
    let quota = first.quota.clone().expect("moto tells the quota");
    assert_eq!((quota.roles, quota.quota), (998, 1000));

    engine::apply(&iam, &desired("quota-b"), &owner("b"), false, Mode::Execute)
        .await
        .expect("999 of 1000: created");
    let refused = engine::apply(&iam, &desired("quota-c"), &owner("c"), false, Mode::Execute)
        .await
        .expect_err("at the quota");
    assert_eq!(refused.error.category(), Category::IamLimitExceeded);
    let message = refused.error.message();
    assert!(
        message.contains("has 1000 roles") && message.contains("RolesQuota 1000"),
        "{message}"
    );
    assert!(refused.report.ops.is_empty(), "{:?}", refused.report.ops);
    assert!(
        iam.get_role("quota-c")
            .await
            .expect("IAM answers")
            .is_none()
    );
    let creates = calls.count("CreateRole");
    assert_eq!(creates, 2);
    // One read of the summary: the adapter counted its own two creates.
    assert_eq!(calls.count("GetAccountSummary"), 1);

    // A role that exists is still kept in line at the quota.
    let mut changed = desired("quota-a");
    changed.max_session_duration = 7200;
    let repaired = engine::apply(&iam, &changed, &owner("a"), false, Mode::Execute)
        .await
        .expect("an update needs no new role");
    assert_eq!(repaired.ops.len(), 1, "{:?}", repaired.ops);

    // A fresh adapter reads the same from IAM itself.
    let (fresh, _) = counted_iam(&moto.endpoint).await;
    let quota = fresh.role_quota().await.expect("moto answers");
    assert_eq!((quota.roles, quota.quota), (1000, 1000));
}
