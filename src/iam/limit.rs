//! The account's rate limit on every request that leaves for IAM: each page of a paginator and
//! each SDK retry waits for [`AccountLimiter`] once, and no operation can forget to.
//!
//! Done in the HTTP client because it is the one asynchronous step of an SDK attempt: interceptor
//! hooks are synchronous and cannot await the limiter, and the retry strategy cannot be replaced
//! through the IAM client's configuration. Two consequences, set in `aws.rs`: the SDK's attempt
//! timeout would count the wait, so an attempt's deadline is the HTTP read timeout instead; and
//! upload stall protection would take a request whose body waits to be sent for a stalled upload,
//! so it is off (IAM's requests are a few hundred bytes; downloads stay protected).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_iam::config::http::{HttpRequest, HttpResponse};
use aws_sdk_iam::config::{BehaviorVersion, ConfigBag, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;

use crate::ratelimit::AccountLimiter;

/// How long the request waited for the limiter, in microseconds, added to the answer so the call
/// observer can leave the wait out of the call's duration. Never sent to IAM.
const WAITED_HEADER: &str = "x-rolesmith-limiter-wait-us";

/// An [`HttpClient`] whose requests each wait for the account's limiter first.
#[derive(Debug)]
pub(super) struct LimitedHttpClient {
    inner: SharedHttpClient,
    limiter: Arc<AccountLimiter>,
}

impl LimitedHttpClient {
    /// Wraps the HTTP client the SDK would use on its own (hyper, rustls, proxy settings from the
    /// environment), so the limiter changes nothing else about how requests are sent.
    pub(super) fn around_default(limiter: Arc<AccountLimiter>) -> Option<LimitedHttpClient> {
        let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(
            BehaviorVersion::latest(),
        )?;
        let inner = plugin
            .runtime_components(&RuntimeComponentsBuilder::new("rolesmith"))
            .http_client()?;
        Some(LimitedHttpClient { inner, limiter })
    }
}

impl HttpClient for LimitedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            limiter: self.limiter.clone(),
        })
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    limiter: Arc<AccountLimiter>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, limiter) = (self.inner.clone(), self.limiter.clone());
        HttpConnectorFuture::new(async move {
            let started = Instant::now();
            limiter.acquire().await;
            let waited = started.elapsed();
            let mut response = inner.call(request).await?;
            response
                .headers_mut()
                .insert(WAITED_HEADER, waited.as_micros().to_string());
            Ok(response)
        })
    }
}

/// The limiter's wait recorded on an answer by [`LimitedConnector`]; zero when there was none.
pub(super) fn waited(response: &HttpResponse) -> Duration {
    response
        .headers()
        .get(WAITED_HEADER)
        .and_then(|value| value.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_micros)
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::body::SdkBody;

    use super::*;

    #[test]
    fn the_sdk_default_client_is_wrapped() {
        let limiter = Arc::new(AccountLimiter::new(1.0, 1));
        assert!(LimitedHttpClient::around_default(limiter).is_some());
    }

    #[test]
    fn waits_read_back() {
        let mut response = HttpResponse::new(200.try_into().unwrap(), SdkBody::empty());
        assert_eq!(waited(&response), Duration::ZERO);
        response.headers_mut().insert(WAITED_HEADER, "1500");
        assert_eq!(waited(&response), Duration::from_micros(1500));
        response.headers_mut().insert(WAITED_HEADER, "soon");
        assert_eq!(waited(&response), Duration::ZERO);
    }
}
