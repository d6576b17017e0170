//! Shared harness for rolesmith's integration and e2e test binaries. Include it with
//! `#[path = "../support/mod.rs"] mod support;`.
//!
//! Nothing here touches the process environment: test binaries run their tests in parallel.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the shared harness"
)]

pub mod fault;
pub mod moto;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rolesmith::error::{Category, Error};
use rolesmith::iam::{AwsIam, AwsIamConfig, CallObserver, CallOutcome, CountingObserver};

pub use fault::{Fault, FaultProxy};
pub use moto::Moto;

/// The account moto puts every role in.
pub const MOTO_ACCOUNT_ID: &str = "123456789012";

/// IAM settings for tests: fixed region (no lookup), and a backoff short enough that the SDK's
/// retries do not slow the suite down.
pub fn test_config(endpoint: &str) -> AwsIamConfig {
    AwsIamConfig {
        endpoint_url: Some(endpoint.to_string()),
        region: Some("us-east-1".to_string()),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
    }
}

/// An `AwsIam` talking to `endpoint` with static test credentials (moto accepts any).
pub async fn aws_iam(endpoint: &str, observer: Arc<dyn CallObserver>) -> AwsIam {
    AwsIam::with_static_credentials(test_config(endpoint), "testing", "testing", observer).await
}

/// An `AwsIam` and the observer that counts its calls.
pub async fn counted_iam(endpoint: &str) -> (AwsIam, Arc<CountingObserver>) {
    let observer = Arc::new(CountingObserver::new());
    let iam = aws_iam(endpoint, observer.clone()).await;
    (iam, observer)
}

/// A trust policy that lets one AWS service assume the role.
pub fn service_trust(service: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

/// An identity policy allowing `action` on `resource`.
pub fn allow(action: &str, resource: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    )
}

/// A client for setting the scene with calls rolesmith never makes (instance profiles, listing
/// managed policies).
pub async fn sdk_client(endpoint: &str) -> aws_sdk_iam::Client {
    let credentials =
        aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "rolesmith-tests");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials)
        .load()
        .await;
    aws_sdk_iam::Client::new(&config)
}

/// Remembers every call and its outcome, in order.
#[derive(Default)]
pub struct RecordingObserver {
    calls: Mutex<Vec<(&'static str, CallOutcome)>>,
}

impl RecordingObserver {
    pub fn calls(&self) -> Vec<(&'static str, CallOutcome)> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl CallObserver for RecordingObserver {
    fn observe(&self, action: &'static str, outcome: CallOutcome, _elapsed: Duration) {
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((action, outcome));
    }
}

/// The parts of an `Error::Iam`, or a panic naming what came instead.
#[derive(Debug)]
pub struct IamFailure {
    pub action: &'static str,
    pub code: String,
    pub message: String,
    pub category: Category,
    pub retry_after: Option<Duration>,
}

pub fn iam_failure<T: std::fmt::Debug>(result: Result<T, Error>) -> IamFailure {
    match result {
        Err(Error::Iam {
            action,
            code,
            message,
            category,
            retry_after,
        }) => IamFailure {
            action,
            code,
            message,
            category,
            retry_after,
        },
        other => panic!("expected an IAM error, got {other:?}"),
    }
}
