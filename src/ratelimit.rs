//! One IAM rate limit per AWS account, shared by every reconcile.
//!
//! IAM's limits are per account and per API, and cannot be raised; per-call retries alone let a
//! fleet of 500 roles hammer the account the moment it throttles. So every request, each SDK retry
//! included, waits for a token from one bucket (the IAM client's HTTP layer asks), and a throttling
//! answer pauses the whole bucket — every reconcile — not only the call that saw it.
//!
//! Not `governor`: its GCRA limiter has no way to pause every caller after a throttle, double that
//! pause, or restart empty, which is most of what this does; the token bucket alone is 20 lines.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How long the account pauses after a throttling answer that named no delay.
const DEFAULT_THROTTLE_PAUSE: Duration = Duration::from_secs(1);
/// Repeated throttling doubles the pause, up to this.
const MAX_THROTTLE_PAUSE: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct AccountLimiter {
    per_second: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
    paused_until: Option<Instant>,
    /// The pause the next throttle starts from; reset by a successful call.
    next_pause: Duration,
}

impl AccountLimiter {
    /// `per_second` calls on average, bursts up to `burst`. A non-positive rate disables limiting.
    pub fn new(per_second: f64, burst: u32) -> Self {
        AccountLimiter {
            per_second,
            burst: f64::from(burst.max(1)),
            state: Mutex::new(Bucket {
                tokens: f64::from(burst.max(1)),
                refilled: Instant::now(),
                paused_until: None,
                next_pause: DEFAULT_THROTTLE_PAUSE,
            }),
        }
    }

    /// Waits until this call may go to IAM.
    pub async fn acquire(&self) {
        if self.per_second <= 0.0 {
            return;
        }
        loop {
            let wait = match self.state.lock() {
                Ok(mut bucket) => self.try_take(&mut bucket, Instant::now()),
                // A poisoned lock means a panic elsewhere; limiting is best effort then.
                Err(_) => return,
            };
            match wait {
                None => return,
                Some(delay) => tokio::time::sleep(delay).await,
            }
        }
    }

    /// Takes a token, or says how long to wait before trying again.
    fn try_take(&self, bucket: &mut Bucket, now: Instant) -> Option<Duration> {
        if let Some(until) = bucket.paused_until {
            if now < until {
                return Some(until - now);
            }
            bucket.paused_until = None;
            bucket.refilled = now;
        }
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// IAM throttled a call: every caller waits `retry_after` (or a doubling pause), and the
    /// bucket restarts empty so the account resumes at the steady rate, not with a burst.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        if let Ok(mut bucket) = self.state.lock() {
            let pause = retry_after
                .unwrap_or(bucket.next_pause)
                .max(Duration::from_millis(1));
            let until = Instant::now() + pause;
            if bucket.paused_until.is_none_or(|current| current < until) {
                bucket.paused_until = Some(until);
            }
            bucket.tokens = 0.0;
            bucket.next_pause = (bucket.next_pause * 2).min(MAX_THROTTLE_PAUSE);
        }
    }

    /// How much longer the account is paused by throttling, if it is: a reconcile that would
    /// only wait for it is better requeued than left holding a worker other accounts need.
    pub fn paused_for(&self) -> Option<Duration> {
        let bucket = self.state.lock().ok()?;
        let now = Instant::now();
        bucket
            .paused_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// A call went through: throttling is over, the next pause starts small again.
    pub fn succeeded(&self) {
        if let Ok(mut bucket) = self.state.lock() {
            bucket.next_pause = DEFAULT_THROTTLE_PAUSE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn steady_rate_after_the_burst() {
        let limiter = AccountLimiter::new(10.0, 5);
        let start = Instant::now();
        for _ in 0..25 {
            limiter.acquire().await;
        }
        // 5 from the burst, then 20 at 10/s.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(1990), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_pauses_every_caller() {
        let limiter = std::sync::Arc::new(AccountLimiter::new(100.0, 100));
        limiter.throttled(Some(Duration::from_secs(3)));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let limiter = limiter.clone();
            tasks.push(tokio::spawn(async move {
                limiter.acquire().await;
                Instant::now()
            }));
        }
        for task in tasks {
            let at = task.await.unwrap_or(start);
            assert!(at.duration_since(start) >= Duration::from_secs(3));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_throttles_double_the_pause_until_a_success() {
        let limiter = AccountLimiter::new(1000.0, 1);
        let cases = [(false, 1000), (false, 2000), (false, 4000), (true, 1000)];
        for (succeed_first, expected_ms) in cases {
            if succeed_first {
                limiter.succeeded();
            }
            let start = Instant::now();
            limiter.throttled(None);
            limiter.acquire().await;
            let waited = start.elapsed().as_millis();
            assert!(
                (expected_ms..expected_ms + 5).contains(&waited),
                "waited {waited} ms, expected {expected_ms}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_pause_left_is_known() {
        let limiter = AccountLimiter::new(10.0, 1);
        assert_eq!(limiter.paused_for(), None);
        limiter.throttled(Some(Duration::from_secs(3)));
        assert_eq!(limiter.paused_for(), Some(Duration::from_secs(3)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(limiter.paused_for(), Some(Duration::from_secs(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(limiter.paused_for(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn zero_rate_disables_limiting() {
        let limiter = AccountLimiter::new(0.0, 1);
        let start = Instant::now();
        for _ in 0..1000 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
