//! Customer managed policies (IamPolicy) against moto: the adapter's reads and writes, and the
//! engine through create → updates (version cap, no churn on an equivalent rewrite) → attached
//! → delete held → freed or force-detached. IAM's requests are counted at a proxy.

use std::collections::BTreeMap;
use std::sync::Arc;

use rolesmith::engine::Mode;
use rolesmith::engine::managed_policy::{apply_policy, delete_policy};
use rolesmith::iam::{IamApi, NoopObserver};
use rolesmith::model::{DeletionPolicy, DesiredPolicy, IamOp, OWNER_TAG_KEY, Owner, PolicyOp};

use crate::support::{FaultProxy, Moto, allow, aws_iam, service_trust};

fn owner() -> Owner {
    Owner {
        cluster: "it".into(),
        namespace: "team-a".into(),
        name: "shared".into(),
    }
}

fn desired(action: &str) -> DesiredPolicy {
    DesiredPolicy {
        name: "team-a.shared".into(),
        path: "/".into(),
        description: "shared reads".into(),
        document: allow(action, "arn:aws:s3:::bucket/*"),
        tags: BTreeMap::from([("team".to_string(), "a".to_string())]),
        ignored_tag_keys: Vec::new(),
    }
}

fn writes(proxy: &FaultProxy, from: usize) -> Vec<String> {
    proxy.actions()[from..]
        .iter()
        .filter(|a| !a.starts_with("Get") && !a.starts_with("List"))
        .cloned()
        .collect()
}

async fn attach(iam: &dyn IamApi, role: &str, arn: &str) {
    let create = IamOp::CreateRole {
        role: role.into(),
        path: "/".into(),
        description: String::new(),
        max_session_duration: 3600,
        assume_role_policy: service_trust("ec2.amazonaws.com"),
        permissions_boundary: None,
        tags: BTreeMap::new(),
    };
    iam.execute(&create).await.expect("role created");
    let attach = IamOp::AttachRolePolicy {
        role: role.into(),
        policy_arn: arn.into(),
    };
    iam.execute(&attach).await.expect("attached");
}

#[tokio::test]
async fn policy_lifecycle_versions_attachments_and_deletion() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let iam = aws_iam(&proxy.endpoint, Arc::new(NoopObserver)).await;

    let created = apply_policy(
        &iam,
        &desired("s3:GetObject"),
        &owner(),
        false,
        None,
        Mode::Execute,
    )
    .await
    .expect("created");
    let arn = created.arn.clone().expect("ARN from CreatePolicy");
    assert_eq!(arn, "arn:aws:iam::123456789012:policy/team-a.shared");
    assert_eq!(created.default_version_id.as_deref(), Some("v1"));
    let observed = iam.get_policy(&arn).await.unwrap().expect("readable");
    assert_eq!(
        observed.tags.get(OWNER_TAG_KEY).map(String::as_str),
        Some("it/team-a/shared")
    );
    assert_eq!(observed.tags.get("team").map(String::as_str), Some("a"));
    assert_eq!(observed.description, "shared reads");
    assert!(rolesmith::policy::equivalent(
        &observed.document,
        &desired("s3:GetObject").document
    ));

    // Six updates; the fourth rewrites the third's document in another key order.
    for i in 0..6 {
        let before = proxy.actions().len();
        let mut want = desired(&format!("s3:GetObject{i}"));
        if i == 3 {
            want = desired("s3:GetObject2");
            let value: serde_json::Value = serde_json::from_str(&want.document).unwrap();
            want.document = serde_json::to_string_pretty(&value).unwrap();
        }
        let report = apply_policy(&iam, &want, &owner(), false, Some(&arn), Mode::Execute)
            .await
            .unwrap_or_else(|e| panic!("update {i}: {e}"));
        let written = writes(&proxy, before);
        let observed = iam.get_policy(&arn).await.unwrap().unwrap();
        assert!(
            observed.versions.len() <= 5,
            "update {i}: {:?}",
            observed.versions
        );
        assert!(
            rolesmith::policy::equivalent(&observed.document, &want.document),
            "update {i}"
        );
        assert_eq!(
            report.default_version_id.as_deref(),
            Some(observed.default_version_id.as_str())
        );
        match i {
            3 => assert!(written.is_empty(), "equivalent rewrite wrote {written:?}"),
            0..=2 | 4 => assert_eq!(written, vec!["CreatePolicyVersion"], "update {i}"),
            _ => assert_eq!(
                written,
                vec!["DeletePolicyVersion", "CreatePolicyVersion"],
                "update {i}"
            ),
        }
    }
    let observed = iam.get_policy(&arn).await.unwrap().unwrap();
    let ids: Vec<&str> = observed.versions.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(observed.default_version_id, "v6");
    assert!(!ids.contains(&"v1"), "the oldest went first: {ids:?}");

    // Attached to two roles: deletion is held and writes nothing.
    attach(&iam, "user-a", &arn).await;
    attach(&iam, "user-b", &arn).await;
    let attachments = iam.list_policy_attachments(&arn).await.unwrap();
    assert_eq!(attachments.roles.len(), 2, "{attachments:?}");
    let before = proxy.actions().len();
    let held = delete_policy(
        &iam,
        &arn,
        &owner(),
        DeletionPolicy::Delete,
        false,
        Mode::Execute,
    )
    .await
    .unwrap();
    assert!(
        held.held
            .as_deref()
            .is_some_and(|r| r.contains("role user-a")),
        "{held:?}"
    );
    assert!(writes(&proxy, before).is_empty());
    assert!(iam.get_policy(&arn).await.unwrap().is_some());

    // Freed by one role, force-detached from the other.
    iam.execute(&IamOp::DetachRolePolicy {
        role: "user-a".into(),
        policy_arn: arn.clone(),
    })
    .await
    .unwrap();
    let before = proxy.actions().len();
    let deleted = delete_policy(
        &iam,
        &arn,
        &owner(),
        DeletionPolicy::Delete,
        true,
        Mode::Execute,
    )
    .await
    .unwrap();
    assert_eq!(deleted.held, None);
    let written = writes(&proxy, before);
    assert_eq!(
        written.first().map(String::as_str),
        Some("DetachRolePolicy")
    );
    assert_eq!(written.last().map(String::as_str), Some("DeletePolicy"));
    assert_eq!(
        written
            .iter()
            .filter(|w| *w == "DeletePolicyVersion")
            .count(),
        4
    );
    assert!(iam.get_policy(&arn).await.unwrap().is_none(), "deleted");
    let gone = delete_policy(
        &iam,
        &arn,
        &owner(),
        DeletionPolicy::Delete,
        false,
        Mode::Execute,
    )
    .await
    .unwrap();
    assert!(!gone.found);
}

#[tokio::test]
async fn foreign_policies_are_neither_changed_nor_deleted_and_retain_releases() {
    let moto = Moto::start();
    let iam = aws_iam(&moto.endpoint, Arc::new(NoopObserver)).await;
    let foreign = PolicyOp::CreatePolicy {
        policy_name: "team-a.shared".into(),
        path: "/".into(),
        description: "shared reads".into(),
        document: allow("s3:GetObject", "*"),
        tags: BTreeMap::new(),
    };
    let arn = iam.execute_policy(&foreign).await.unwrap().arn.unwrap();
    let refused = apply_policy(
        &iam,
        &desired("s3:PutObject"),
        &owner(),
        false,
        None,
        Mode::Execute,
    )
    .await;
    let error = refused.expect_err("an untagged policy is not taken without adopt");
    assert_eq!(
        error.category(),
        rolesmith::error::Category::OwnershipConflict
    );
    let left = delete_policy(
        &iam,
        &arn,
        &owner(),
        DeletionPolicy::Delete,
        true,
        Mode::Execute,
    )
    .await
    .unwrap();
    assert!(left.left_alone.is_some());

    let adopted = apply_policy(
        &iam,
        &desired("s3:PutObject"),
        &owner(),
        true,
        None,
        Mode::Execute,
    )
    .await
    .expect("adopted");
    let actions: Vec<&str> = adopted.ops.iter().map(PolicyOp::action).collect();
    assert_eq!(
        actions,
        vec!["TagPolicy", "CreatePolicyVersion", "TagPolicy"]
    );
    assert_eq!(adopted.arn.as_deref(), Some(arn.as_str()));

    let retained = delete_policy(
        &iam,
        &arn,
        &owner(),
        DeletionPolicy::Retain,
        false,
        Mode::Execute,
    )
    .await
    .unwrap();
    assert_eq!(retained.ops.len(), 1);
    let observed = iam.get_policy(&arn).await.unwrap().expect("kept");
    assert!(!observed.tags.contains_key(OWNER_TAG_KEY));
    assert_eq!(observed.tags.get("team").map(String::as_str), Some("a"));
}
