//! [`IamApi`] on aws-sdk-iam: how the clients are configured. Every request waits for the
//! account's limiter in the HTTP client ([`super::limit`]) and every operation is observed by an
//! interceptor ([`super::observe`]), so paginators and new calls get both without asking; here a
//! call only turns the SDK's error into ours. The reads are in `read.rs`, the writes in `write.rs`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::config::{Credentials, StalledStreamProtectionConfig};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use futures::future::BoxFuture;

use super::limit::LimitedHttpClient;
use super::observe::CallInterceptor;
use super::sdk_error::{from_sdk, is_no_such_entity};
use super::{CallObserver, IamApi, OpOutcome};
use crate::error::Result;
use crate::model::{IamOp, ObservedPolicy, ObservedRole, PolicyAttachments, PolicyOp};
use crate::ratelimit::AccountLimiter;

/// IAM is a global service whose aws-partition endpoint signs in us-east-1.
const DEFAULT_REGION: &str = "us-east-1";
/// A connection that cannot be opened in this time will not be opened by waiting longer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// IAM answers in well under a second; a hung attempt must not stall a reconcile worker forever.
/// From sending the request to IAM's first byte: the HTTP read timeout, not the SDK's attempt
/// timeout, which would also count the wait for the account's limiter.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// An answer whose body stops arriving for this long is cut (the SDK's default).
const STALLED_DOWNLOAD: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsIamConfig {
    /// Overrides the endpoint (moto in tests); None leaves it to the SDK, which also honours
    /// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_IAM`.
    pub endpoint_url: Option<String>,
    /// None: `AWS_REGION`, else us-east-1. Only the partition matters to IAM.
    pub region: Option<String>,
    /// Attempts per call in the SDK's standard retry mode (1 = no retry).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
}

impl Default for AwsIamConfig {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            region: None,
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

pub struct AwsIam {
    pub(super) client: aws_sdk_iam::Client,
    pub(super) sts: aws_sdk_sts::Client,
    /// What the IAM client is rebuilt from when a limiter is added.
    pub(super) sdk_config: SdkConfig,
    pub(super) observer: Arc<dyn CallObserver>,
    /// Who the credentials are, asked of STS once.
    pub(super) identity: tokio::sync::OnceCell<super::CallerIdentity>,
    /// The account's roles and quota, per account id.
    quota: super::quota::QuotaCache,
    /// The account's limiter, when calls are limited.
    limiter: Option<Arc<AccountLimiter>>,
    /// The role these credentials come from, when they are assumed ([`super::assume`]).
    pub(super) assumed: Option<aws_sdk_iam::config::SharedCredentialsProvider>,
}

impl AwsIam {
    /// Credentials come from the SDK's default chain: environment, IRSA web identity, EKS Pod
    /// Identity, profile.
    pub async fn new(config: AwsIamConfig, observer: Arc<dyn CallObserver>) -> AwsIam {
        Self::from_loader(loader(&config), observer).await
    }

    /// Fixed credentials instead of the default chain: for tests against moto (which accepts any)
    /// and tools. Nothing is read from or written to the process environment for credentials.
    pub async fn with_static_credentials(
        config: AwsIamConfig,
        access_key_id: &str,
        secret_access_key: &str,
        observer: Arc<dyn CallObserver>,
    ) -> AwsIam {
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "rolesmith-static",
        );
        Self::from_loader(loader(&config).credentials_provider(credentials), observer).await
    }

    async fn from_loader(loader: ConfigLoader, observer: Arc<dyn CallObserver>) -> AwsIam {
        Self::from_sdk_config(loader.load().await, observer)
    }

    pub(super) fn from_sdk_config(
        sdk_config: SdkConfig,
        observer: Arc<dyn CallObserver>,
    ) -> AwsIam {
        // STS, not IAM: observed (so /readyz sees AWS unreachable even before the first IAM
        // call), but not rate limited with IAM's calls.
        let sts = aws_sdk_sts::config::Builder::from(&sdk_config)
            .interceptor(CallInterceptor::new(observer.clone(), None))
            .build();
        AwsIam {
            client: iam_client(&sdk_config, observer.clone(), None),
            sts: aws_sdk_sts::Client::from_conf(sts),
            sdk_config,
            observer,
            identity: tokio::sync::OnceCell::new(),
            quota: super::quota::QuotaCache::default(),
            limiter: None,
            assumed: None,
        }
    }

    /// Makes every request to IAM, SDK retries included, wait for `limiter`, and pause it when
    /// IAM throttles.
    pub fn with_limiter(mut self, limiter: Arc<AccountLimiter>) -> AwsIam {
        self.client = iam_client(
            &self.sdk_config,
            self.observer.clone(),
            Some(limiter.clone()),
        );
        self.limiter = Some(limiter);
        self
    }

    /// sts:GetCallerIdentity, asked now (it needs no permission).
    pub(super) async fn ask_caller_identity(
        &self,
    ) -> Result<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput> {
        self.sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|error| from_sdk("GetCallerIdentity", error))
    }

    pub(super) fn quota_cache(&self) -> &super::quota::QuotaCache {
        &self.quota
    }

    /// The account, if STS was asked already (never asks it).
    pub(super) fn known_account(&self) -> Option<&str> {
        self.identity
            .get()
            .map(|identity| identity.account.as_str())
    }

    /// Sends one request and turns its error into ours (the interceptor has observed it).
    pub(super) async fn call<T, E>(
        &self,
        action: &'static str,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        request.await.map_err(|error| from_sdk(action, error))
    }

    /// Like [`Self::call`], for a read where "no such entity" is an answer, not a failure.
    pub(super) async fn call_optional<T, E>(
        &self,
        action: &'static str,
        request: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<Option<T>>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match request.await {
            Ok(output) => Ok(Some(output)),
            Err(error) if is_no_such_entity(&error) => Ok(None),
            Err(error) => Err(from_sdk(action, error)),
        }
    }
}

/// The IAM client: observed, and limited when there is a limiter.
fn iam_client(
    sdk_config: &SdkConfig,
    observer: Arc<dyn CallObserver>,
    limiter: Option<Arc<AccountLimiter>>,
) -> aws_sdk_iam::Client {
    let mut config = aws_sdk_iam::config::Builder::from(sdk_config)
        .interceptor(CallInterceptor::new(observer, limiter.clone()))
        // A request waiting for the limiter has not started its upload: upload protection would
        // take it for stalled (see `limit.rs`).
        .stalled_stream_protection(
            StalledStreamProtectionConfig::enabled()
                .upload_enabled(false)
                .grace_period(STALLED_DOWNLOAD)
                .build(),
        );
    if let Some(limiter) = limiter {
        match LimitedHttpClient::around_default(limiter) {
            Some(http) => config = config.http_client(http),
            None => tracing::error!("no default HTTP client to rate limit: IAM calls unlimited"),
        }
    }
    aws_sdk_iam::Client::from_conf(config.build())
}

use crate::plan::service_linked_role::{
    DeletionAnswer, DesiredServiceLinkedRole, ObservedServiceLinkedRole,
};

impl IamApi for AwsIam {
    fn get_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ObservedRole>>> {
        Box::pin(self.read_role(name))
    }

    fn get_instance_profile<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<crate::model::ObservedInstanceProfile>>> {
        Box::pin(self.read_instance_profile(name))
    }

    fn execute<'a>(&'a self, op: &'a IamOp) -> BoxFuture<'a, Result<OpOutcome>> {
        Box::pin(async move {
            let outcome = self.write(op).await?;
            self.count_write(op);
            Ok(outcome)
        })
    }

    fn role_quota(&self) -> BoxFuture<'_, Result<super::RoleQuota>> {
        Box::pin(self.read_role_quota())
    }

    fn sweep<'a>(
        &'a self,
        visitor: &'a mut dyn super::SweepVisitor,
    ) -> BoxFuture<'a, Result<super::Sweep>> {
        Box::pin(self.read_account(visitor))
    }

    fn get_policy<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<Option<ObservedPolicy>>> {
        Box::pin(self.read_policy(arn))
    }

    fn list_policy_attachments<'a>(
        &'a self,
        arn: &'a str,
    ) -> BoxFuture<'a, Result<PolicyAttachments>> {
        Box::pin(self.read_attachments(arn))
    }

    fn execute_policy<'a>(
        &'a self,
        op: &'a PolicyOp,
    ) -> BoxFuture<'a, Result<super::PolicyOutcome>> {
        Box::pin(self.write_policy(op))
    }

    fn paused_for(&self) -> Option<Duration> {
        self.limiter.as_ref()?.paused_for()
    }

    fn verify(&self) -> BoxFuture<'_, Result<super::Verified>> {
        Box::pin(self.verify_now())
    }

    fn list_service_linked_roles<'a>(
        &'a self,
        aws_service_name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ObservedServiceLinkedRole>>> {
        Box::pin(self.read_service_linked_roles(aws_service_name))
    }

    fn create_service_linked_role<'a>(
        &'a self,
        desired: &'a DesiredServiceLinkedRole,
    ) -> BoxFuture<'a, Result<ObservedServiceLinkedRole>> {
        Box::pin(self.create_slr(desired))
    }

    fn delete_service_linked_role<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(self.delete_slr(name))
    }

    fn service_linked_role_deletion_status<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<DeletionAnswer>> {
        Box::pin(self.slr_deletion_status(task_id))
    }

    fn caller_identity(&self) -> BoxFuture<'_, Result<super::CallerIdentity>> {
        Box::pin(async move {
            let identity = self
                .identity
                .get_or_try_init(|| async {
                    let answer = self.ask_caller_identity().await?;
                    super::CallerIdentity::from_sts(answer.account(), answer.arn())
                })
                .await?;
            Ok(identity.clone())
        })
    }
}

pub(crate) fn loader(config: &AwsIamConfig) -> ConfigLoader {
    let env_region = std::env::var("AWS_REGION").ok();
    let region = pick_region(config.region.as_deref(), env_region.as_deref());
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .build();
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .retry_config(retry_config(config))
        .timeout_config(timeouts);
    match &config.endpoint_url {
        Some(url) => loader.endpoint_url(url),
        None => loader,
    }
}

/// An explicit region also keeps the SDK from asking IMDS, which can hang in a pod.
fn pick_region(configured: Option<&str>, env: Option<&str>) -> String {
    [configured, env]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|region| !region.is_empty())
        .unwrap_or(DEFAULT_REGION)
        .to_string()
}

/// Standard mode, never adaptive: adaptive's client-side limiter can sleep 8–20 s after the
/// first throttle, and account-wide rate limiting belongs to the caller anyway.
fn retry_config(config: &AwsIamConfig) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(config.max_attempts.max(1))
        .with_initial_backoff(config.initial_backoff)
}

#[cfg(test)]
mod tests {
    use aws_config::retry::RetryMode;

    use super::*;

    #[test]
    fn regions() {
        let cases = [
            (Some("eu-west-1"), Some("us-west-2"), "eu-west-1"),
            (None, Some("us-west-2"), "us-west-2"),
            (None, None, "us-east-1"),
            (Some(""), Some("cn-north-1"), "cn-north-1"),
            (Some("  "), None, "us-east-1"),
            (None, Some(""), "us-east-1"),
        ];
        for (configured, env, want) in cases {
            assert_eq!(pick_region(configured, env), want, "{configured:?} {env:?}");
        }
    }

    #[test]
    fn retries_are_standard_with_the_configured_budget() {
        let cases = [(3, 3), (1, 1), (0, 1), (10, 10)];
        for (asked, want) in cases {
            let config = AwsIamConfig {
                max_attempts: asked,
                initial_backoff: Duration::from_millis(20),
                ..AwsIamConfig::default()
            };
            let retry = retry_config(&config);
            assert_eq!(retry.mode(), RetryMode::Standard);
            assert_eq!(retry.max_attempts(), want);
            assert_eq!(retry.initial_backoff(), Duration::from_millis(20));
        }
    }

    #[test]
    fn default_config() {
        let config = AwsIamConfig::default();
        assert_eq!(
            (
                config.endpoint_url,
                config.region,
                config.max_attempts,
                config.initial_backoff
            ),
            (None, None, 3, Duration::from_secs(1))
        );
    }
}
