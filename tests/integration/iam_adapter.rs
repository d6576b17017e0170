//! AwsIam against moto: what it writes is what it reads back, at the promised cost.

use std::collections::BTreeMap;

use rolesmith::iam::{IamApi, OpOutcome};
use rolesmith::model::{IamOp, OWNER_TAG_KEY, ObservedRole};

use crate::support::{MOTO_ACCOUNT_ID, Moto, allow, counted_iam, sdk_client, service_trust};

const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const S3_READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
const POWER_USER: &str = "arn:aws:iam::aws:policy/PowerUserAccess";

async fn run(iam: &dyn IamApi, op: IamOp) -> OpOutcome {
    match iam.execute(&op).await {
        Ok(outcome) => outcome,
        Err(error) => panic!("{op:?} failed: {error}"),
    }
}

async fn read(iam: &dyn IamApi, name: &str) -> ObservedRole {
    match iam.get_role(name).await {
        Ok(Some(role)) => role,
        other => panic!("get_role({name}) gave {other:?}"),
    }
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn create(role: &str, tag_pairs: &[(&str, &str)]) -> IamOp {
    IamOp::CreateRole {
        role: role.to_string(),
        path: "/".to_string(),
        description: String::new(),
        max_session_duration: 3600,
        assume_role_policy: service_trust("ec2.amazonaws.com"),
        permissions_boundary: None,
        tags: tags(tag_pairs),
    }
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

#[tokio::test]
async fn a_missing_role_reads_as_none_for_one_call() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    assert_eq!(iam.get_role("nobody").await.unwrap(), None);
    assert_eq!(calls.snapshot(), BTreeMap::from([("GetRole", 1)]));
    // The account comes from STS before any role is seen, and only once.
    assert_eq!(iam.caller_account().await.unwrap(), MOTO_ACCOUNT_ID);
    // The partition comes from the caller's ARN, in the same answer.
    let identity = iam.caller_identity().await.unwrap();
    assert_eq!(
        (identity.account.as_str(), identity.partition.as_str()),
        (MOTO_ACCOUNT_ID, "aws")
    );
    assert_eq!(
        calls.snapshot(),
        BTreeMap::from([("GetCallerIdentity", 1), ("GetRole", 1)])
    );
}

#[tokio::test]
async fn a_created_role_reads_back_exactly_for_three_plus_n_calls() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    // Characters IAM percent-encodes, a literal plus, a slash and non-ASCII text.
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:RequestTag/x":"a+b c/d&<é>"}}}]}"#;
    let read_bucket = allow("s3:GetObject", "arn:aws:s3:::bucket/k+x y/*");
    let send_queue = allow(
        "sqs:SendMessage",
        "arn:aws:sqs:us-east-1:123456789012:q%20name",
    );
    let wanted_tags = tags(&[
        (OWNER_TAG_KEY, "c1/payments/app"),
        ("team", "payments"),
        ("empty", ""),
    ]);

    let created = run(
        &iam,
        IamOp::CreateRole {
            role: "app".to_string(),
            path: "/team/".to_string(),
            description: "Runs the app".to_string(),
            max_session_duration: 7200,
            assume_role_policy: trust.to_string(),
            permissions_boundary: Some(POWER_USER.to_string()),
            tags: wanted_tags.clone(),
        },
    )
    .await;
    let arn = created.arn.clone().expect("CreateRole returns the ARN");
    let role_id = created
        .role_id
        .clone()
        .expect("CreateRole returns the role id");
    assert_eq!(arn, format!("arn:aws:iam::{MOTO_ACCOUNT_ID}:role/team/app"));
    assert!(role_id.starts_with("AROA"), "{role_id}");

    for (policy_name, document) in [("read-bucket", &read_bucket), ("send-queue", &send_queue)] {
        let op = IamOp::PutRolePolicy {
            role: "app".to_string(),
            policy_name: policy_name.to_string(),
            document: document.clone(),
        };
        assert_eq!(run(&iam, op).await, OpOutcome::default());
    }
    for policy_arn in [READ_ONLY, S3_READ_ONLY] {
        let op = IamOp::AttachRolePolicy {
            role: "app".to_string(),
            policy_arn: policy_arn.to_string(),
        };
        run(&iam, op).await;
    }
    assert_eq!((calls.reads(), calls.writes()), (0, 5));

    calls.reset();
    let mut observed = read(&iam, "app").await;
    observed.managed_policy_arns = sorted(std::mem::take(&mut observed.managed_policy_arns));
    let expected = ObservedRole {
        name: "app".to_string(),
        settings: rolesmith::model::RoleSettings {
            path: "/team/".to_string(),
            description: "Runs the app".to_string(),
            max_session_duration: 7200,
            assume_role_policy: trust.to_string(),
            inline_policies: BTreeMap::from([
                ("read-bucket".to_string(), read_bucket),
                ("send-queue".to_string(), send_queue),
            ]),
            managed_policy_arns: sorted(vec![READ_ONLY.to_string(), S3_READ_ONLY.to_string()]),
            permissions_boundary: Some(POWER_USER.to_string()),
            tags: wanted_tags,
            // moto never fills RoleLastUsed; src/iam/read.rs tests the mapping on the SDK's types.
        },
        arn,
        role_id,
        last_used: None,
        instance_profiles: Vec::new(),
    };
    assert_eq!(observed, expected);
    // 4 + N with N = 2, and not a single write.
    assert_eq!(
        calls.snapshot(),
        BTreeMap::from([
            ("GetRole", 1),
            ("ListRolePolicies", 1),
            ("GetRolePolicy", 2),
            ("ListAttachedRolePolicies", 1),
            ("ListInstanceProfilesForRole", 1),
        ])
    );
    assert_eq!((calls.total(), calls.reads(), calls.writes()), (6, 6, 0));
}

#[tokio::test]
async fn every_write_takes_effect() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let role = || "every".to_string();

    let created = run(&iam, create("every", &[(OWNER_TAG_KEY, "c/ns/every")])).await;
    assert!(created.arn.is_some() && created.role_id.is_some());
    let base = read(&iam, "every").await;
    assert_eq!(base.description, "");
    assert_eq!(base.max_session_duration, 3600);
    assert_eq!(base.permissions_boundary, None);
    assert!(base.inline_policies.is_empty() && base.managed_policy_arns.is_empty());

    let lambda = service_trust("lambda.amazonaws.com");
    let op = IamOp::UpdateAssumeRolePolicy {
        role: role(),
        document: lambda.clone(),
    };
    assert_eq!(run(&iam, op).await, OpOutcome::default());
    assert_eq!(read(&iam, "every").await.assume_role_policy, lambda);

    let first = allow("s3:GetObject", "*");
    let second = allow("s3:PutObject", "arn:aws:s3:::b/*");
    for document in [&first, &second] {
        let op = IamOp::PutRolePolicy {
            role: role(),
            policy_name: "p".to_string(),
            document: document.clone(),
        };
        run(&iam, op).await;
        let observed = read(&iam, "every").await;
        assert_eq!(
            observed.inline_policies,
            BTreeMap::from([("p".to_string(), document.clone())]),
            "PutRolePolicy replaces the document"
        );
    }
    let op = IamOp::DeleteRolePolicy {
        role: role(),
        policy_name: "p".to_string(),
    };
    run(&iam, op).await;
    assert!(read(&iam, "every").await.inline_policies.is_empty());

    let op = IamOp::AttachRolePolicy {
        role: role(),
        policy_arn: READ_ONLY.to_string(),
    };
    run(&iam, op).await;
    assert_eq!(
        read(&iam, "every").await.managed_policy_arns,
        vec![READ_ONLY]
    );
    let op = IamOp::DetachRolePolicy {
        role: role(),
        policy_arn: READ_ONLY.to_string(),
    };
    run(&iam, op).await;
    assert!(read(&iam, "every").await.managed_policy_arns.is_empty());

    let op = IamOp::TagRole {
        role: role(),
        tags: tags(&[("team", "a"), ("env", "prod")]),
    };
    run(&iam, op).await;
    let op = IamOp::TagRole {
        role: role(),
        tags: tags(&[("team", "b")]),
    };
    run(&iam, op).await;
    assert_eq!(
        read(&iam, "every").await.tags,
        tags(&[
            (OWNER_TAG_KEY, "c/ns/every"),
            ("team", "b"),
            ("env", "prod")
        ]),
        "TagRole with an existing key replaces its value"
    );
    let op = IamOp::UntagRole {
        role: role(),
        keys: vec!["env".to_string()],
    };
    run(&iam, op).await;
    assert_eq!(
        read(&iam, "every").await.tags,
        tags(&[(OWNER_TAG_KEY, "c/ns/every"), ("team", "b")])
    );

    let op = IamOp::PutRolePermissionsBoundary {
        role: role(),
        policy_arn: POWER_USER.to_string(),
    };
    run(&iam, op).await;
    assert_eq!(
        read(&iam, "every").await.permissions_boundary.as_deref(),
        Some(POWER_USER)
    );
    run(&iam, IamOp::DeleteRolePermissionsBoundary { role: role() }).await;
    assert_eq!(read(&iam, "every").await.permissions_boundary, None);

    run(&iam, IamOp::DeleteRole { role: role() }).await;
    assert_eq!(iam.get_role("every").await.unwrap(), None);

    // One call per op, nothing hidden: 13 ops of 11 kinds (RemoveRoleFromInstanceProfile and
    // UpdateRole have their own tests).
    assert_eq!(calls.writes(), 13, "{:?}", calls.snapshot());
}

#[tokio::test]
async fn update_role_keeps_both_fields() {
    let moto = Moto::start();
    let (iam, _) = counted_iam(&moto.endpoint).await;
    let mut op = create("upd", &[]);
    if let IamOp::CreateRole {
        description,
        max_session_duration,
        ..
    } = &mut op
    {
        *description = "first".to_string();
        *max_session_duration = 7200;
    }
    run(&iam, op).await;

    let cases = [
        ("second", 7200),
        ("second", 10800),
        ("third", 3600),
        ("", 3600),
    ];
    for (description, max_session_duration) in cases {
        let op = IamOp::UpdateRole {
            role: "upd".to_string(),
            description: description.to_string(),
            max_session_duration,
        };
        run(&iam, op).await;
        let observed = read(&iam, "upd").await;
        assert_eq!(
            (observed.description.as_str(), observed.max_session_duration),
            (description, max_session_duration)
        );
    }
}

#[tokio::test]
async fn instance_profiles_are_listed_and_left() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let sdk = sdk_client(&moto.endpoint).await;
    run(&iam, create("boxed", &[])).await;
    let profiles = |role: ObservedRole| -> Vec<String> {
        sorted(role.instance_profiles.into_iter().map(|p| p.name).collect())
    };
    assert!(profiles(read(&iam, "boxed").await).is_empty());

    for profile in ["ip-b", "ip-a"] {
        sdk.create_instance_profile()
            .instance_profile_name(profile)
            .send()
            .await
            .unwrap();
        sdk.add_role_to_instance_profile()
            .instance_profile_name(profile)
            .role_name("boxed")
            .send()
            .await
            .unwrap();
    }
    let listed = read(&iam, "boxed").await.instance_profiles;
    assert_eq!(
        listed
            .iter()
            .find(|p| p.name == "ip-a")
            .map(|p| p.arn.as_str()),
        Some(format!("arn:aws:iam::{MOTO_ACCOUNT_ID}:instance-profile/ip-a").as_str())
    );
    assert_eq!(profiles(read(&iam, "boxed").await), vec!["ip-a", "ip-b"]);

    for (profile, left) in [("ip-a", vec!["ip-b"]), ("ip-b", vec![])] {
        let op = IamOp::RemoveRoleFromInstanceProfile {
            role: "boxed".to_string(),
            instance_profile: profile.to_string(),
        };
        assert_eq!(run(&iam, op).await, OpOutcome::default());
        assert_eq!(profiles(read(&iam, "boxed").await), left);
    }
    assert_eq!(calls.count("ListInstanceProfilesForRole"), 5);
    // Out of every profile, the role can go.
    run(
        &iam,
        IamOp::DeleteRole {
            role: "boxed".to_string(),
        },
    )
    .await;
    assert_eq!(iam.get_role("boxed").await.unwrap(), None);
}

#[tokio::test]
async fn every_page_of_attached_policies_is_read() {
    let moto = Moto::start();
    let (iam, calls) = counted_iam(&moto.endpoint).await;
    let sdk = sdk_client(&moto.endpoint).await;
    // moto answers 100 attached policies a page, and does not enforce IAM's 20-per-role quota.
    let managed: Vec<String> = sdk
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Aws)
        .max_items(103)
        .send()
        .await
        .unwrap()
        .policies()
        .iter()
        .filter_map(|policy| policy.arn.clone())
        .collect();
    assert_eq!(managed.len(), 103, "moto loads AWS-managed policies");

    run(&iam, create("many", &[])).await;
    for policy_arn in &managed {
        let op = IamOp::AttachRolePolicy {
            role: "many".to_string(),
            policy_arn: policy_arn.clone(),
        };
        run(&iam, op).await;
    }
    calls.reset();
    let observed = read(&iam, "many").await;
    assert_eq!(
        sorted(observed.settings.managed_policy_arns),
        sorted(managed)
    );
    assert_eq!(calls.count("ListAttachedRolePolicies"), 2);
    assert_eq!(calls.total(), 5);
}
