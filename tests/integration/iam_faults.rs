//! What moto cannot do (throttle, fail, hang up, refuse), played by the fault proxy with IAM's
//! real error bodies: classification, retry_after, and which errors the SDK retries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rolesmith::error::Category;
use rolesmith::iam::{CallObserver, CallOutcome, CountingObserver, IamApi};
use rolesmith::model::IamOp;
use rolesmith::ratelimit::AccountLimiter;

use crate::support::moto::free_port;
use crate::support::{
    Fault, FaultProxy, Moto, allow, aws_iam, counted_iam, iam_failure, service_trust,
};

/// Faults that answer before forwarding need no IAM behind the proxy.
fn proxy_to_nowhere() -> FaultProxy {
    FaultProxy::start(&format!("http://127.0.0.1:{}", free_port()))
}

fn attach(role: &str) -> IamOp {
    IamOp::AttachRolePolicy {
        role: role.to_string(),
        policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".to_string(),
    }
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_reported_with_retry_after() {
    let proxy = proxy_to_nowhere();
    proxy.inject(Fault::throttling("GetRole").always().retry_after_ms(20));
    let (iam, calls) = counted_iam(&proxy.endpoint).await;

    let failure = iam_failure(iam.get_role("app").await);
    assert_eq!(
        (
            failure.action,
            failure.code.as_str(),
            failure.message.as_str()
        ),
        ("GetRole", "Throttling", "Rate exceeded")
    );
    assert_eq!(failure.category, Category::IamTransient);
    assert_eq!(failure.retry_after, Some(Duration::from_millis(20)));
    assert_eq!(proxy.requests("GetRole"), 3, "standard mode: 3 attempts");
    assert_eq!(
        calls.count("GetRole"),
        1,
        "the observer sees one call, retries included"
    );
}

#[tokio::test]
async fn a_passing_throttle_costs_a_retry_not_a_failure() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    let (iam, calls) = counted_iam(&proxy.endpoint).await;
    let create = IamOp::CreateRole {
        role: "app".to_string(),
        path: "/".to_string(),
        description: String::new(),
        max_session_duration: 3600,
        assume_role_policy: service_trust("ec2.amazonaws.com"),
        permissions_boundary: None,
        tags: BTreeMap::new(),
    };
    iam.execute(&create).await.unwrap();
    let put = IamOp::PutRolePolicy {
        role: "app".to_string(),
        policy_name: "p".to_string(),
        document: allow("s3:GetObject", "*"),
    };
    iam.execute(&put).await.unwrap();

    proxy.inject(Fault::throttling("GetRolePolicy"));
    proxy.inject(Fault::error(
        "ListAttachedRolePolicies",
        503,
        "ServiceUnavailable",
        "Service Unavailable",
    ));
    calls.reset();
    let observed = iam.get_role("app").await.unwrap().expect("the role exists");
    assert_eq!(observed.inline_policies.len(), 1);
    assert_eq!(proxy.requests("GetRolePolicy"), 2);
    assert_eq!(proxy.requests("ListAttachedRolePolicies"), 2);
    assert_eq!(calls.total(), 5, "{:?}", calls.snapshot());
}

#[tokio::test]
async fn errors_the_sdk_does_not_retry_are_classified_on_the_first_answer() {
    let denied = "User: arn:aws:sts::123456789012:assumed-role/rolesmith/i-1 is not authorized to \
                  perform: iam:AttachRolePolicy on resource: role app because no identity-based \
                  policy allows the iam:AttachRolePolicy action";
    let new_principal =
        "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/new\"";
    let cases = [
        (
            409,
            "LimitExceeded",
            "Cannot exceed quota for PoliciesPerRole: 10",
            Category::IamLimitExceeded,
        ),
        (403, "AccessDenied", denied, Category::IamAccessDenied),
        (
            400,
            "MalformedPolicyDocument",
            new_principal,
            Category::IamTransient,
        ),
        (
            400,
            "MalformedPolicyDocument",
            "Syntax errors in policy.",
            Category::IamRejected,
        ),
        (
            400,
            "ValidationError",
            "1 validation error detected",
            Category::IamRejected,
        ),
        (
            409,
            "ConcurrentModification",
            "Rate of concurrent modifications exceeded",
            Category::IamTransient,
        ),
        (
            400,
            "SomethingNew",
            "a code nobody has seen",
            Category::IamRejected,
        ),
    ];
    for (status, code, message, category) in cases {
        let proxy = proxy_to_nowhere();
        proxy.inject(Fault::error("AttachRolePolicy", status, code, message));
        let (iam, _) = counted_iam(&proxy.endpoint).await;
        let failure = iam_failure(iam.execute(&attach("app")).await);
        assert_eq!(
            (
                failure.action,
                failure.code.as_str(),
                failure.message.as_str(),
                failure.category
            ),
            ("AttachRolePolicy", code, message, category)
        );
        assert_eq!(
            proxy.requests("AttachRolePolicy"),
            1,
            "{code} is not retried by the SDK"
        );
    }
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_transient_after_the_sdk_retries() {
    let cases = [
        Fault::error(
            "AttachRolePolicy",
            503,
            "ServiceUnavailable",
            "Service Unavailable",
        ),
        Fault::error(
            "AttachRolePolicy",
            500,
            "ServiceFailure",
            "Request processing has failed",
        ),
        Fault::error("AttachRolePolicy", 500, "SomethingNew", "boom"),
        Fault::hang_up("AttachRolePolicy"),
    ];
    for fault in cases {
        let proxy = proxy_to_nowhere();
        proxy.inject(fault.clone().always());
        let (iam, _) = counted_iam(&proxy.endpoint).await;
        let failure = iam_failure(iam.execute(&attach("app")).await);
        assert_eq!(
            failure.category,
            Category::IamTransient,
            "{fault:?}: {failure:?}"
        );
        assert_eq!(
            proxy.requests("AttachRolePolicy"),
            3,
            "{fault:?} is retried"
        );
    }
}

#[tokio::test]
async fn nothing_listening_is_a_transient_dispatch_failure() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let iam = aws_iam(&endpoint, Arc::new(CountingObserver::new())).await;
    let failure = iam_failure(iam.get_role("app").await);
    assert_eq!(
        (failure.action, failure.code.as_str(), failure.category),
        ("GetRole", "DispatchFailure", Category::IamTransient)
    );
    assert!(!failure.message.is_empty());
}

#[tokio::test]
async fn a_slow_answer_still_arrives_in_call_order() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject(Fault::slow("GetRole", Duration::from_millis(300)));
    let (iam, _) = counted_iam(&proxy.endpoint).await;
    let started = std::time::Instant::now();
    assert_eq!(iam.get_role("app").await.unwrap(), None);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(proxy.actions(), vec!["GetRole"]);
}

/// Remembers each call's observed duration.
#[derive(Default)]
struct Durations(Mutex<Vec<(&'static str, Duration)>>);

impl CallObserver for Durations {
    fn observe(&self, action: &'static str, _outcome: CallOutcome, elapsed: Duration) {
        self.0.lock().unwrap().push((action, elapsed));
    }
}

#[tokio::test]
async fn every_attempt_waits_for_the_account_limit() {
    let proxy = proxy_to_nowhere();
    proxy.inject(Fault::service_failure("GetRole").always());
    let durations = Arc::new(Durations::default());
    // One request at once, then one every 200 ms: the SDK's 10 ms backoff is not what spaces
    // the retries out.
    let limiter = Arc::new(AccountLimiter::new(5.0, 1));
    let iam = aws_iam(&proxy.endpoint, durations.clone())
        .await
        .with_limiter(limiter);

    let started = Instant::now();
    let failure = iam_failure(iam.get_role("app").await);
    let took = started.elapsed();
    assert_eq!(failure.category, Category::IamTransient);
    let arrivals: Vec<Duration> = proxy.log().iter().map(|entry| entry.at).collect();
    assert_eq!(arrivals.len(), 3, "standard mode: 3 attempts");
    for pair in arrivals.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(180),
            "retries sent without waiting for the limiter: {arrivals:?}"
        );
    }
    // One call observed, its duration without the ~400 ms spent waiting for the limiter.
    let observed = durations.0.lock().unwrap().clone();
    assert_eq!(observed.len(), 1, "{observed:?}");
    assert_eq!(observed[0].0, "GetRole");
    assert!(
        observed[0].1 + Duration::from_millis(300) < took,
        "observed {:?} of {took:?}",
        observed[0].1
    );
}

#[tokio::test]
async fn a_throttled_call_pauses_every_later_request() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint);
    proxy.inject(Fault::throttling("GetRole").always().retry_after_ms(600));
    let limiter = Arc::new(AccountLimiter::new(1000.0, 1000));
    let (iam, calls) = counted_iam(&proxy.endpoint).await;
    let iam = iam.with_limiter(limiter);

    let failure = iam_failure(iam.get_role("app").await);
    assert_eq!(failure.code, "Throttling");
    let throttled_at = proxy.elapsed();
    // Another action, which IAM would answer: it waits out the account's pause first.
    let _ = iam.get_instance_profile("app").await;
    let log = proxy.log();
    let listed = log
        .iter()
        .find(|entry| entry.action == "GetInstanceProfile")
        .expect("the list went out after the pause");
    assert!(
        listed.at >= throttled_at + Duration::from_millis(550),
        "sent {:?} after the throttle",
        listed.at - throttled_at
    );
    assert_eq!(
        calls.snapshot(),
        BTreeMap::from([("GetRole", 1), ("GetInstanceProfile", 1)])
    );
}
