//! One SDK interceptor on the IAM and STS clients: it tells the [`CallObserver`] about every
//! operation the SDK runs (each page of a paginator is one, its SDK retries inside it) and tells
//! the account limiter how each one ended. The action is the SDK's own operation name
//! (`GetRole`), so a new call or paginator needs nothing here.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_sdk_iam::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_iam::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use super::classify::{
    classify_response, error_code_and_message, is_throttling, parse_retry_after,
};
use super::limit::waited;
use super::{CallObserver, CallOutcome, is_read_action};
use crate::error::Category;
use crate::ratelimit::AccountLimiter;

const RETRY_AFTER_HEADER: &str = "x-amz-retry-after";

pub(super) struct CallInterceptor {
    observer: Arc<dyn CallObserver>,
    /// Told how each IAM operation ended (None: the STS client, or no limit).
    limiter: Option<Arc<AccountLimiter>>,
}

impl CallInterceptor {
    pub(super) fn new(
        observer: Arc<dyn CallObserver>,
        limiter: Option<Arc<AccountLimiter>>,
    ) -> Self {
        CallInterceptor { observer, limiter }
    }
}

impl fmt::Debug for CallInterceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallInterceptor")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

/// When the operation started.
#[derive(Clone, Copy, Debug)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

/// Time the operation's attempts spent waiting for the account's limiter.
#[derive(Clone, Copy, Debug)]
struct Waited(Duration);

impl Storable for Waited {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallInterceptor {
    fn name(&self) -> &'static str {
        "rolesmith::CallInterceptor"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = context.response() {
            let before = cfg.load::<Waited>().map_or(Duration::ZERO, |w| w.0);
            cfg.interceptor_state()
                .store_put(Waited(before + waited(response)));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let action = cfg
            .load::<Metadata>()
            .map_or("Unknown", |metadata| static_name(metadata.name()));
        let started = cfg.load::<Started>().map(|started| started.0);
        let waits = cfg.load::<Waited>().map_or(Duration::ZERO, |w| w.0);
        let elapsed = started.map_or(Duration::ZERO, |s| s.elapsed().saturating_sub(waits));
        let end = ending(action, context);
        if let Some(limiter) = &self.limiter {
            match end {
                End::Throttled(retry_after) => limiter.throttled(retry_after),
                End::Other(CallOutcome::Ok) => limiter.succeeded(),
                End::Other(CallOutcome::Error(_)) => {}
            }
        }
        let outcome = end.outcome();
        if let CallOutcome::Error(category) = outcome {
            tracing::debug!(
                action,
                category = category.as_str(),
                ?elapsed,
                "IAM call failed"
            );
        }
        self.observer.observe(action, outcome, elapsed);
        Ok(())
    }
}

/// How an operation ended, after the SDK's retries.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    /// IAM said the account calls too fast, maybe naming how long to wait.
    Throttled(Option<Duration>),
    Other(CallOutcome),
}

impl End {
    fn outcome(self) -> CallOutcome {
        match self {
            End::Throttled(_) => CallOutcome::Error(Category::IamTransient),
            End::Other(outcome) => outcome,
        }
    }
}

/// The same classification `sdk_error::from_sdk` gives the caller's error, from the raw answer.
fn ending(action: &'static str, context: &FinalizerInterceptorContextRef<'_>) -> End {
    let error = match context.output_or_error() {
        Some(Ok(_)) => return End::Other(CallOutcome::Ok),
        Some(Err(error)) => error,
        None => return End::Other(CallOutcome::Error(Category::Internal)),
    };
    if error.is_operation_error() {
        let Some(response) = context.response() else {
            return End::Other(CallOutcome::Error(Category::Internal));
        };
        let body = response
            .body()
            .bytes()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default();
        let (code, message) = error_code_and_message(body).unwrap_or(("Unknown", ""));
        if is_throttling(code) {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER_HEADER)
                .and_then(parse_retry_after);
            return End::Throttled(retry_after);
        }
        // IAM answered that the entity does not exist: the answer a read asked for (a missing
        // role is `Ok(None)`), and proof that IAM is reachable.
        if code == "NoSuchEntity" && is_read_action(action) {
            return End::Other(CallOutcome::Ok);
        }
        let category = classify_response(action, response.status().as_u16(), code, message);
        return End::Other(CallOutcome::Error(category));
    }
    // Timeouts, refused or dropped connections and truncated answers: nothing IAM decided.
    if error.is_timeout_error() || error.is_connector_error() || error.is_response_error() {
        return End::Other(CallOutcome::Error(Category::IamTransient));
    }
    // The request could not even be built or sent: our bug, not IAM's answer.
    End::Other(CallOutcome::Error(Category::Internal))
}

/// The SDK's operation name as the `&'static str` metric labels want. The set is bounded by the
/// operations the SDK defines, so each name is leaked once.
fn static_name(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_interned() {
        let first = static_name(&String::from("GetRole"));
        let second = static_name(&String::from("GetRole"));
        assert_eq!(first, "GetRole");
        assert!(std::ptr::eq(first, second));
        assert_eq!(static_name("ListRolePolicies"), "ListRolePolicies");
    }

    #[test]
    fn throttling_is_a_transient_outcome() {
        assert_eq!(
            End::Throttled(None).outcome(),
            CallOutcome::Error(Category::IamTransient)
        );
        assert_eq!(End::Other(CallOutcome::Ok).outcome(), CallOutcome::Ok);
    }
}
