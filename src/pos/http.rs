//! One request/response exchange with a POS API, shared by the Square, Clover, Shopify and
//! Lightspeed clients: pacing under the vendor's rate limit, retries on 429 (honouring `Retry-After`), 5xx,
//! timeouts and connection errors, and the mapping of HTTP outcomes to `PosError`.

use crate::pos::PosError;
use crate::retry::{RetryPolicy, retry_after};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Builds a reqwest client with the timeouts every POS call uses.
pub fn client(timeout: Duration) -> Result<reqwest::Client, PosError> {
    crate::telemetry::install_crypto();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
        .map_err(|e| PosError::Unavailable(e.to_string()))
}

/// Keeps a client under a vendor's request rate and concurrency limits: requests are spaced
/// at least `1 / per_second` apart and at most `concurrent` are in flight.
pub struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
    in_flight: Semaphore,
}

impl Pacer {
    pub fn new(per_second: f64, concurrent: usize) -> Pacer {
        Pacer {
            interval: Duration::from_secs_f64(1.0 / per_second.max(0.001)),
            next: Mutex::new(Instant::now()),
            in_flight: Semaphore::new(concurrent.max(1)),
        }
    }

    /// Waits for this request's turn; hold the permit until the response has been read.
    pub async fn turn(&self) -> Option<SemaphorePermit<'_>> {
        let permit = self.in_flight.acquire().await.ok();
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
        permit
    }
}

/// How one vendor's API is called.
pub struct Exchange<'a> {
    pub vendor: &'static str,
    pub policy: RetryPolicy,
    pub pacer: Option<&'a Pacer>,
    /// Pulls a readable message out of a vendor's 4xx error body.
    pub detail: fn(&[u8]) -> Option<String>,
    /// Sees the headers of every answer (Lightspeed's rate-limit budget rides on them).
    pub observe: Option<&'a (dyn Fn(&reqwest::header::HeaderMap) + Sync)>,
}

impl Exchange<'_> {
    /// Sends the request `build` makes (once per attempt) and decodes a 2xx body as `T`.
    /// `Ok(None)` on 404. Only reads and writes carrying an idempotency key may come through
    /// here, because any attempt may be repeated.
    pub async fn run<T: DeserializeOwned>(
        &self,
        path: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Option<T>, PosError> {
        let mut attempt = 1;
        loop {
            let permit = match self.pacer {
                Some(pacer) => pacer.turn().await,
                None => None,
            };
            let outcome = build().send().await;
            let (error, wait) = match outcome {
                Err(err) => (PosError::Unavailable(err.without_url().to_string()), None),
                Ok(response) => {
                    let status = response.status();
                    if let Some(observe) = self.observe {
                        observe(response.headers());
                    }
                    let after = retry_after(response.headers());
                    let bytes = response.bytes().await;
                    drop(permit);
                    match (status, bytes) {
                        (_, Err(err)) => (PosError::Unavailable(err.without_url().to_string()), None),
                        (s, Ok(bytes)) if s.is_success() => {
                            return serde_json::from_slice(&bytes)
                                .map(Some)
                                .map_err(|e| PosError::Malformed(format!("{path}: {e}")));
                        }
                        (StatusCode::NOT_FOUND, _) => return Ok(None),
                        (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _) => return Err(PosError::Unauthorized),
                        (StatusCode::TOO_MANY_REQUESTS, _) => {
                            let after = after.unwrap_or(Duration::from_secs(1));
                            (PosError::RateLimited(after), Some(after))
                        }
                        (s, Ok(_)) if s.is_server_error() => {
                            (PosError::Unavailable(format!("{} answered {s}", self.vendor)), after)
                        }
                        (s, Ok(bytes)) => {
                            let message = (self.detail)(&bytes).unwrap_or_else(|| "no error detail".into());
                            return Err(PosError::Rejected { status: s.as_u16(), message });
                        }
                    }
                }
            };
            let pause = self.policy.delay(attempt, wait);
            let Some(pause) = pause.filter(|_| attempt < self.policy.max_attempts) else { return Err(error) };
            tracing::debug!(vendor = self.vendor, path, attempt, error = %error, "retrying a POS call");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

/// Percent-encodes an id for a URL path segment.
pub fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
