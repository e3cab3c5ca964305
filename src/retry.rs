//! The one retry schedule, kept as data: how many attempts, the first delay, the cap, and the
//! jitter that keeps many retries from arriving together. The POS, chat and LLM clients use
//! `RetryPolicy::HTTP` for a call retried in place (honouring 429 with `Retry-After`, backing
//! off on 5xx and connection errors, never retrying a write that has no idempotency key); the
//! inbox and outbox workers use `RetryPolicy::QUEUE` for work rescheduled in the store, parked
//! after its last attempt.

use std::time::Duration;

/// The longest `Retry-After` a request waits out in place.
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The share either way the delay may move (0.25: ±25%).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::HTTP
    }
}

impl RetryPolicy {
    /// A call retried in place: four attempts, 250 ms doubling to at most 8 s, ±25%.
    pub const HTTP: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(8),
        jitter: 0.25,
    };

    /// Work rescheduled in the store (inbox events, outgoing messages): eight attempts, 2 s
    /// doubling to at most an hour, ±20%.
    pub const QUEUE: RetryPolicy = RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(3_600),
        jitter: 0.2,
    };

    /// A purchase order's email: 48 attempts, 5 s doubling to at most 5 minutes, ±20% (about
    /// four hours of trying, never more than five minutes after the mail server is back).
    pub const EMAIL: RetryPolicy = RetryPolicy {
        max_attempts: 48,
        base_delay: Duration::from_secs(5),
        max_delay: Duration::from_secs(300),
        jitter: 0.2,
    };

    /// The wait after failed attempt `attempt` (counting from 1): base × 2^(attempt−1), capped,
    /// moved by up to the jitter share as `seed` says (a row id, a counter), so
    /// the same seed always waits the same.
    pub fn backoff(&self, attempt: u32, seed: u64) -> Duration {
        let exponential = self.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(self.max_delay);
        let spread = (seed.wrapping_mul(2_654_435_761) % 1_001) as f64 / 1_000.0; // 0.0 ..= 1.0
        exponential.mul_f64(1.0 + self.jitter * (2.0 * spread - 1.0))
    }

    /// The wait before attempt `attempt + 1` of a call retried in place: the server's
    /// `Retry-After` when it gave one, else the backoff. `None` when the server asks for a
    /// longer pause than a caller should sit through (`MAX_INLINE_WAIT`): the error goes back
    /// and the job reschedules itself.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if let Some(after) = retry_after {
            return (after <= MAX_INLINE_WAIT).then_some(after);
        }
        // Each wait in this process takes the next seed, so concurrent callers spread out.
        static SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Some(self.backoff(attempt, SEED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
    }

    /// When work that failed on attempt `attempts` (counting from 1) is tried again, in unix
    /// ms: after the platform's own wait when it named one, else after the backoff.
    pub fn next_try_ms(&self, attempts: i64, now_ms: i64, wait: Option<Duration>, seed: i64) -> i64 {
        let delay = wait
            .unwrap_or_else(|| self.backoff(u32::try_from(attempts.max(1)).unwrap_or(u32::MAX), seed.unsigned_abs()));
        now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Parses `Retry-After` in either form HTTP allows: seconds (what most POS APIs send), or an
/// HTTP date (Lightspeed), read against the wall clock. A date already past waits nothing.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    retry_after_value(value, chrono::Utc::now().timestamp_millis())
}

/// `Retry-After` text as a wait, `now_ms` being when the answer came.
pub fn retry_after_value(value: &str, now_ms: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Some(seconds).filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64);
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?.timestamp_millis();
    Some(Duration::from_millis(u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0)))
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

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        // 2026-11-26T18:00:00Z
        let now = 1_795_716_000_000;
        assert_eq!(retry_after_value("3", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after_value("Thu, 26 Nov 2026 18:00:07 GMT", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_value("Thu, 26 Nov 2026 17:59:00 GMT", now), Some(Duration::ZERO), "already past");
        assert_eq!(retry_after_value("-1", now), None);
        assert_eq!(retry_after_value("soon", now), None);
    }

    #[test]
    fn queued_work_backs_off_from_two_seconds_to_an_hour() {
        let queue = RetryPolicy::QUEUE;
        let first = queue.next_try_ms(1, 0, None, 7);
        let sixth = queue.next_try_ms(6, 0, None, 7);
        assert!((1_600..=2_400).contains(&first), "{first}");
        assert!((51_200..=76_800).contains(&sixth), "{sixth}");
        assert!(queue.next_try_ms(40, 0, None, 7) <= 3_600_000 * 6 / 5);
        assert_eq!(queue.next_try_ms(3, 1_000, Some(Duration::from_secs(30)), 7), 31_000);
        // The same seed waits the same; seeds spread across the whole jitter band.
        assert_eq!(queue.backoff(4, 99), queue.backoff(4, 99));
        let spread: Vec<Duration> = (0..200).map(|seed| queue.backoff(4, seed)).collect();
        let (low, high) =
            (spread.iter().min().copied().unwrap_or_default(), spread.iter().max().copied().unwrap_or_default());
        assert!(low < Duration::from_millis(13_500) && high > Duration::from_millis(18_500), "{low:?}..{high:?}");
    }
}
