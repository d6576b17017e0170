//! [`Connect`] on aws-sdk: an AwsAccount's client assumes its role with the operator's own
//! credentials, and gets its own rate limit and call metrics.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::Connect;
use crate::iam::{AssumeSettings, AwsIam, CallObserver, IamApi};
use crate::ratelimit::AccountLimiter;
use crate::telemetry::{AccountObserver, Metrics};

pub struct AwsConnector {
    /// The operator's own credentials, endpoint and retries.
    pub base: Arc<AwsIam>,
    pub metrics: Arc<Metrics>,
    /// Each account's IAM calls per second (0: unlimited), like the operator's own.
    pub rate: f64,
}

impl Connect for AwsConnector {
    fn connect<'a>(
        &'a self,
        name: &'a str,
        settings: &'a AssumeSettings,
    ) -> BoxFuture<'a, Arc<dyn IamApi>> {
        Box::pin(async move {
            let observer: Arc<dyn CallObserver> =
                Arc::new(AccountObserver::new(self.metrics.clone(), name));
            let limiter = Arc::new(AccountLimiter::new(self.rate, burst(self.rate)));
            let iam: Arc<dyn IamApi> =
                Arc::new(self.base.assuming(settings, observer, limiter).await);
            iam
        })
    }
}

/// One second's worth, so no second carries more than twice the configured rate.
pub fn burst(rate: f64) -> u32 {
    rate.clamp(1.0, 1000.0) as u32
}
