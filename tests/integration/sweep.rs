//! The account sweep against moto: every role it returns equals what the per-role read sees,
//! and every page is followed when IAM paginates (the proxy cuts moto's single page).

use std::collections::BTreeMap;

use rolesmith::iam::{CollectRoles, IamApi};
use rolesmith::model::IamOp;

use crate::support::{FaultProxy, Moto, allow, aws_iam, counted_iam, service_trust};

const BOUNDARY: &str = "arn:aws:iam::aws:policy/PowerUserAccess";

async fn create(iam: &impl IamApi, name: &str, i: usize) {
    let ops = [
        IamOp::CreateRole {
            role: name.to_string(),
            path: if i.is_multiple_of(2) {
                "/".into()
            } else {
                "/team/".into()
            },
            description: format!("role {i} with + and /"),
            max_session_duration: 3600 + 600 * i as i32,
            assume_role_policy: service_trust("ec2.amazonaws.com"),
            permissions_boundary: i.is_multiple_of(3).then(|| BOUNDARY.to_string()),
            tags: BTreeMap::from([("n".to_string(), i.to_string())]),
        },
        IamOp::PutRolePolicy {
            role: name.to_string(),
            policy_name: "read".into(),
            document: allow("s3:GetObject", "arn:aws:s3:::b/k+x y/*"),
        },
        IamOp::AttachRolePolicy {
            role: name.to_string(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        },
    ];
    for op in ops.iter().take(1 + i % 3) {
        iam.execute(op).await.expect("seeded");
    }
}

#[tokio::test]
async fn sweep_equals_per_role_reads_across_pages() {
    let moto = Moto::start();
    let writer = aws_iam(
        &moto.endpoint,
        std::sync::Arc::new(rolesmith::iam::NoopObserver),
    )
    .await;
    let names: Vec<String> = (0..7).map(|i| format!("swept-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        create(&writer, name, i).await;
    }
    create(&writer, "unmanaged", 1).await;

    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.cut_pages(3);
    let (iam, calls) = counted_iam(&proxy.endpoint).await;
    let mut kept = CollectRoles::new(|name: &str| name.starts_with("swept-"));
    let sweep = iam.sweep(&mut kept).await.expect("sweep");
    assert_eq!(sweep.roles_in_account, 8);
    assert_eq!(
        kept.roles.len(),
        7,
        "only the roles asked for are handed over"
    );
    // 8 roles, 3 a page: 3 pages of ListRoles and 3 of GetAccountAuthorizationDetails.
    assert_eq!(sweep.calls, 6);
    assert_eq!(
        calls.snapshot(),
        BTreeMap::from([("GetAccountAuthorizationDetails", 3), ("ListRoles", 3)])
    );
    for name in &names {
        let read = iam.get_role(name).await.expect("read").expect("exists");
        assert_eq!(kept.roles.get(name), Some(&read), "{name}");
    }
}

#[tokio::test]
async fn an_empty_account_costs_two_calls() {
    let moto = Moto::start();
    let (iam, _) = counted_iam(&moto.endpoint).await;
    let mut kept = CollectRoles::new(|_: &str| true);
    let sweep = iam.sweep(&mut kept).await.expect("sweep");
    assert_eq!(
        (kept.roles.len(), sweep.roles_in_account, sweep.calls),
        (0, 0, 2)
    );
}
