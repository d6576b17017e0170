//! The fault proxy itself, through the real SDK (rolesmith's IAM adapter) and moto: what the
//! operator will see from each fault is what IAM would have sent.

use std::time::Duration;

use rolesmith::error::Category;
use rolesmith::iam::IamApi;
use rolesmith::model::IamOp;

use crate::support::fault::Answered;
use crate::support::{Fault, FaultProxy, Moto, counted_iam, iam_failure, service_trust};

fn create(role: &str) -> IamOp {
    IamOp::CreateRole {
        role: role.to_string(),
        path: "/".to_string(),
        description: String::new(),
        max_session_duration: 3600,
        assume_role_policy: service_trust("lambda.amazonaws.com"),
        permissions_boundary: None,
        tags: [("team".to_string(), "a".to_string())].into(),
    }
}

fn attach(role: &str) -> IamOp {
    IamOp::AttachRolePolicy {
        role: role.to_string(),
        policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_reaches_the_operator_as_iam_would_send_it() {
    let moto = Moto::start();
    let cases: Vec<(Fault, &str, &str, Category)> = vec![
        (
            Fault::access_denied("AttachRolePolicy"),
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/rolesmith is not authorized to perform: \
             iam:AttachRolePolicy on resource: role app because no identity-based policy allows \
             the iam:AttachRolePolicy action",
            Category::IamAccessDenied,
        ),
        (
            Fault::limit_exceeded("AttachRolePolicy", "PoliciesPerRole", 10),
            "LimitExceeded",
            "Cannot exceed quota for PoliciesPerRole: 10",
            Category::IamLimitExceeded,
        ),
        (
            Fault::validation_error(
                "AttachRolePolicy",
                "Value at 'policyArn' failed to satisfy constraint: Member must have length \
                 greater than or equal to 20",
            ),
            "ValidationError",
            "1 validation error detected: Value at 'policyArn' failed to satisfy constraint: \
             Member must have length greater than or equal to 20",
            Category::IamRejected,
        ),
        (
            Fault::concurrent_modification("AttachRolePolicy"),
            "ConcurrentModification",
            "The request was rejected because multiple requests to change this object were \
             submitted simultaneously. Wait a few minutes and submit your request again.",
            Category::IamTransient,
        ),
        (
            Fault::service_failure("AttachRolePolicy").times(3),
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            Category::IamTransient,
        ),
    ];
    for (fault, code, message, category) in cases {
        let proxy = FaultProxy::start(&moto.endpoint);
        proxy.inject(fault.clone());
        let (iam, _) = counted_iam(&proxy.endpoint).await;
        let failure = iam_failure(iam.execute(&attach("app")).await);
        assert_eq!(
            (
                failure.code.as_str(),
                failure.message.as_str(),
                failure.category
            ),
            (code, message, category),
            "{fault:?}"
        );
    }

    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject(Fault::invalid_principal(
        "CreateRole",
        "arn:aws:iam::123456789012:role/x",
    ));
    let (iam, _) = counted_iam(&proxy.endpoint).await;
    let failure = iam_failure(iam.execute(&create("app")).await);
    assert_eq!(
        (
            failure.code.as_str(),
            failure.message.as_str(),
            failure.category
        ),
        (
            "MalformedPolicyDocument",
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/x\"",
            Category::IamTransient
        )
    );
    proxy.inject(Fault::delete_conflict());
    let failure = iam_failure(
        iam.execute(&IamOp::DeleteRole {
            role: "app".to_string(),
        })
        .await,
    );
    assert_eq!(
        (failure.code.as_str(), failure.category),
        ("DeleteConflict", Category::IamTransient)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_role_stays_invisible_for_the_delay() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.delay_visibility(Duration::from_secs(2));
    let (iam, _) = counted_iam(&proxy.endpoint).await;
    iam.execute(&create("late")).await.expect("created");

    assert_eq!(iam.get_role("late").await.expect("GetRole answers"), None);
    let failure = iam_failure(iam.execute(&attach("late")).await);
    assert_eq!(
        (failure.code.as_str(), failure.message.as_str()),
        ("NoSuchEntity", "The role with name late cannot be found.")
    );
    // The name is taken all the same.
    let failure = iam_failure(iam.execute(&create("late")).await);
    assert_eq!(failure.code, "EntityAlreadyExists");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let role = iam.get_role("late").await.expect("GetRole answers");
    assert!(role.is_some_and(|r| r.tags["team"] == "a"));
    let log = proxy.log();
    let hidden = log.iter().filter(|entry| entry.answer.injected()).count();
    assert_eq!(
        hidden,
        2,
        "GetRole and AttachRolePolicy were hidden:\n{}",
        proxy.dump()
    );
    assert_eq!(proxy.injected_per_role().get("late"), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_means_the_write_happened() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject(Fault::lose_answer("CreateRole"));
    let (iam, _) = counted_iam(&proxy.endpoint).await;

    // The SDK retries the lost answer and meets the role its first attempt created.
    let failure = iam_failure(iam.execute(&create("once")).await);
    assert_eq!(
        (failure.code.as_str(), failure.category),
        ("EntityAlreadyExists", Category::IamTransient)
    );
    let answers: Vec<Answered> = proxy.log().into_iter().map(|entry| entry.answer).collect();
    assert_eq!(
        answers,
        vec![
            Answered::LostAnswer { status: 200 },
            Answered::Forwarded { status: 409 }
        ]
    );
    assert_eq!(proxy.writes_per_role().get("once"), Some(&2));
    assert!(
        iam.get_role("once")
            .await
            .expect("GetRole answers")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_is_felt_by_every_attempt_until_cleared() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let (iam, _) = counted_iam(&proxy.endpoint).await;
    // moto builds its IAM backend (a thousand managed policies) on the first call: not latency.
    assert_eq!(iam.get_role("app").await.expect("answers"), None);
    proxy.set_latency(Duration::from_millis(400));
    proxy.inject(Fault::throttling("GetRole").times(3).retry_after_ms(20));
    let started = std::time::Instant::now();
    let failure = iam_failure(iam.get_role("app").await);
    assert_eq!(failure.retry_after, Some(Duration::from_millis(20)));
    assert_eq!(proxy.requests("GetRole"), 4);
    assert!(
        started.elapsed() >= Duration::from_millis(1200),
        "three slow answers"
    );

    // Requests wait side by side, not in line.
    let started = std::time::Instant::now();
    let reads = (0..4).map(|_| iam.get_role("app"));
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.expect("answers"), None);
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(1200),
        "4 concurrent requests took {elapsed:?}"
    );

    proxy.clear();
    let started = std::time::Instant::now();
    assert_eq!(iam.get_role("app").await.expect("answers"), None);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(400),
        "latency cleared, yet {elapsed:?}"
    );
}
