//! Retry policy shared by the POS clients: honour 429 with `Retry-After`, back off
//! exponentially with jitter on 5xx and connection errors, give up after a bounded number of
//! attempts, and never retry a write that has no idempotency key.

use std::time::Duration;

/// The longest `Retry-After` a request waits out in place.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(250), max_delay: Duration::from_secs(8) }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempts count from 1): the server's
    /// `Retry-After` when it gave one, else base × 2^(attempt-1), capped, with ±25% jitter.
    /// `None` when the server asks for a longer pause than a caller should sit through
    /// (`MAX_INLINE_WAIT`): the error goes back and the job reschedules itself.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(after) = retry_after {
            return (after <= MAX_INLINE_WAIT).then_some(after);
        }
        let exponential = self.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(self.max_delay);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let jitter = f64::from(nanos % 1_000) / 1_000.0 * 0.5 - 0.25;
        Some(exponential.mul_f64(1.0 + jitter))
    }
}

/// Parses `Retry-After` given in seconds (the form the POS APIs use).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<f64>().ok().filter(|s| *s >= 0.0).map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_jitter_and_honour_retry_after() {
        let policy = RetryPolicy::default();
        let first = policy.delay(1, None).unwrap();
        let third = policy.delay(3, None).unwrap();
        assert!(first >= Duration::from_millis(187) && first <= Duration::from_millis(313), "{first:?}");
        assert!(third >= Duration::from_millis(750) && third <= Duration::from_millis(1250), "{third:?}");
        assert!(policy.delay(30, None).unwrap() <= Duration::from_secs(10));
        assert_eq!(policy.delay(2, Some(Duration::from_secs(3))), Some(Duration::from_secs(3)));
        assert_eq!(policy.delay(2, Some(Duration::from_secs(600))), None);
    }
}
