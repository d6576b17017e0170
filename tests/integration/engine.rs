//! The engine (observe → validate → plan → execute) against a real local IAM: the reconcile
//! loop's contract without Kubernetes in the way.

use std::collections::BTreeMap;

use rolesmith::engine::{self, Mode};
use rolesmith::error::Category;
use rolesmith::iam::IamApi;
use rolesmith::model::DeletionPolicy;
use rolesmith::model::{DesiredRole, IamOp, OWNER_TAG_KEY, Owner};

use crate::support::{Moto, allow, counted_iam, service_trust};

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
            path: "/it/".into(),
            description: "integration".into(),
            max_session_duration: 3600,
            assume_role_policy: service_trust("lambda.amazonaws.com"),
            inline_policies: BTreeMap::from([
                (
                    "read".to_string(),
                    allow("s3:GetObject", "arn:aws:s3:::b/*"),
                ),
                ("list".to_string(), allow("s3:ListBucket", "arn:aws:s3:::b")),
            ]),
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            permissions_boundary: Some("arn:aws:iam::aws:policy/PowerUserAccess".into()),
            tags: BTreeMap::from([("team".to_string(), "a".to_string())]),
        },
        ignored_tag_keys: Vec::new(),
        instance_profile: false,
    }
}

#[tokio::test]
async fn create_in_sync_drift_repaired_and_deleted() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let want = desired("it-app");
    let report = engine::apply(&iam, &want, &owner("app"), false, Mode::Execute)
        .await
        .expect("created");
    assert_eq!(report.ops[0].action(), "CreateRole");
    assert!(
        report
            .role_arn
            .as_deref()
            .is_some_and(|arn| arn.ends_with(":role/it/it-app"))
    );

    // In sync: exactly 4 + N reads (N = 2 inline policies) and no write.
    calls.reset();
    let report = engine::apply(&iam, &want, &owner("app"), false, Mode::Execute)
        .await
        .expect("in sync");
    assert!(report.ops.is_empty(), "{:?}", report.ops);
    assert_eq!(calls.reads(), 6);
    assert_eq!(calls.writes(), 0);

    // Drift behind our back, then repaired with exactly the writes needed.
    for op in [
        IamOp::UpdateAssumeRolePolicy {
            role: "it-app".into(),
            document: service_trust("ec2.amazonaws.com"),
        },
        IamOp::DeleteRolePolicy {
            role: "it-app".into(),
            policy_name: "list".into(),
        },
        IamOp::TagRole {
            role: "it-app".into(),
            tags: BTreeMap::from([("team".into(), "x".into()), ("extra".into(), "y".into())]),
        },
        IamOp::DeleteRolePermissionsBoundary {
            role: "it-app".into(),
        },
    ] {
        iam.execute(&op).await.expect("drift");
    }
    calls.reset();
    let report = engine::apply(&iam, &want, &owner("app"), false, Mode::Execute)
        .await
        .expect("repaired");
    let actions: Vec<&str> = report.ops.iter().map(IamOp::action).collect();
    assert_eq!(
        actions,
        [
            "PutRolePermissionsBoundary",
            "PutRolePolicy",
            "UntagRole",
            "TagRole",
            "UpdateAssumeRolePolicy"
        ]
    );
    let role = iam.get_role("it-app").await.expect("read").expect("exists");
    assert_eq!(role.tags.get("team").map(String::as_str), Some("a"));
    assert!(!role.tags.contains_key("extra"));
    assert!(role.inline_policies.contains_key("list"));
    let again = engine::apply(&iam, &want, &owner("app"), false, Mode::DryRun)
        .await
        .expect("plan");
    assert!(again.ops.is_empty(), "converged: {:?}", again.ops);

    let deleted = engine::delete(
        &iam,
        "it-app",
        &owner("app"),
        DeletionPolicy::Delete,
        Mode::Execute,
    )
    .await
    .expect("deleted");
    assert_eq!(deleted.ops.last().map(IamOp::action), Some("DeleteRole"));
    assert!(iam.get_role("it-app").await.expect("read").is_none());
    // A role already gone is fine.
    let again = engine::delete(
        &iam,
        "it-app",
        &owner("app"),
        DeletionPolicy::Delete,
        Mode::Execute,
    )
    .await
    .expect("gone is fine");
    assert!(again.ops.is_empty());
}

#[tokio::test]
async fn foreign_roles_adoption_and_retain() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    iam.execute(&IamOp::CreateRole {
        role: "it-legacy".into(),
        path: "/it/".into(),
        description: String::new(),
        max_session_duration: 3600,
        assume_role_policy: service_trust("lambda.amazonaws.com"),
        permissions_boundary: None,
        tags: BTreeMap::new(),
    })
    .await
    .expect("legacy role");
    let want = desired("it-legacy");

    calls.reset();
    let refused = engine::apply(&iam, &want, &owner("legacy"), false, Mode::Execute).await;
    assert_eq!(
        refused.err().map(|e| e.error.category()),
        Some(Category::OwnershipConflict)
    );
    assert_eq!(calls.writes(), 0, "an unowned role is never written");
    let deleted = engine::delete(
        &iam,
        "it-legacy",
        &owner("legacy"),
        DeletionPolicy::Delete,
        Mode::Execute,
    )
    .await
    .expect("delete of a foreign role is a no-op");
    assert!(deleted.left_alone.is_some());
    assert!(iam.get_role("it-legacy").await.expect("read").is_some());

    let adopted = engine::apply(&iam, &want, &owner("legacy"), true, Mode::Execute)
        .await
        .expect("adopted");
    assert_eq!(
        adopted.ops[0],
        IamOp::TagRole {
            role: "it-legacy".into(),
            tags: BTreeMap::from([(OWNER_TAG_KEY.to_string(), "it/default/legacy".to_string())]),
        }
    );
    // Another object may never take it, adopt or not.
    let stolen = engine::apply(&iam, &want, &owner("thief"), true, Mode::Execute).await;
    assert_eq!(
        stolen.err().map(|e| e.error.category()),
        Some(Category::OwnershipConflict)
    );

    let retained = engine::delete(
        &iam,
        "it-legacy",
        &owner("legacy"),
        DeletionPolicy::Retain,
        Mode::Execute,
    )
    .await
    .expect("retained");
    assert_eq!(retained.ops.len(), 1);
    let role = iam
        .get_role("it-legacy")
        .await
        .expect("read")
        .expect("kept");
    assert!(!role.tags.contains_key(OWNER_TAG_KEY));
    assert_eq!(role.inline_policies.len(), 2, "everything else kept");
}

#[tokio::test]
async fn invalid_spec_never_reaches_iam() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let mut bad = desired("it-bad");
    bad.assume_role_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#.into();
    let error = engine::apply(&iam, &bad, &owner("bad"), false, Mode::Execute)
        .await
        .expect_err("refused")
        .error;
    assert_eq!(error.category(), Category::InvalidSpec);
    assert!(error.message().contains("Principal"), "{}", error.message());
    assert_eq!(calls.total(), 0, "validation happens before any IAM call");
}
