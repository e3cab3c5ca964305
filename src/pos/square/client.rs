//! The Square REST client: bearer auth, a pinned `Square-Version`, cursor pagination (search
//! endpoints resend the original query with the cursor), typed errors, timeouts and retries.

use super::mapping::ErrorBody;
use crate::config::{Secret, SquareConfig};
use crate::pos::PosError;
use crate::pos::retry::{RetryPolicy, retry_after};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// The API version every request pins, so Square cannot change a response shape under us.
pub const SQUARE_VERSION: &str = "2025-08-20";

#[derive(Clone)]
pub struct SquareClient {
    http: reqwest::Client,
    base_url: String,
    token: Secret,
    retry: RetryPolicy,
}

impl SquareClient {
    pub fn new(config: &SquareConfig, timeout: Duration, retry: RetryPolicy) -> Result<SquareClient, PosError> {
        crate::telemetry::install_crypto();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| PosError::Unavailable(e.to_string()))?;
        Ok(SquareClient {
            http,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            token: config.access_token.clone(),
            retry,
        })
    }

    /// GET with query parameters; `Ok(None)` on 404.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<Option<T>, PosError> {
        self.call(Method::GET, path, query, None).await
    }

    /// POST a JSON body. Only reads and writes carrying an idempotency key come through here,
    /// so every call may be retried.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<Option<T>, PosError> {
        self.call(Method::POST, path, &[], Some(body)).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Option<T>, PosError> {
        let url = format!("{}{path}", self.base_url);
        let mut attempt = 1;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.token.expose())
                .header("Square-Version", SQUARE_VERSION)
                .header("Accept", "application/json")
                .query(query);
            if let Some(body) = body {
                request = request.json(body);
            }
            let (error, wait) = match request.send().await {
                Err(err) => (PosError::Unavailable(err.without_url().to_string()), None),
                Ok(response) => {
                    let status = response.status();
                    let after = retry_after(response.headers());
                    let bytes = response.bytes().await.map_err(|e| PosError::Unavailable(e.without_url().to_string()));
                    match (status, bytes) {
                        (_, Err(err)) => (err, None),
                        (s, Ok(bytes)) if s.is_success() => {
                            return serde_json::from_slice(&bytes)
                                .map(Some)
                                .map_err(|e| PosError::Malformed(format!("{path}: {e}")));
                        }
                        (StatusCode::NOT_FOUND, _) => return Ok(None),
                        (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, _) => return Err(PosError::Unauthorized),
                        (StatusCode::TOO_MANY_REQUESTS, _) => (
                            PosError::RateLimited(after.unwrap_or(Duration::from_secs(1))),
                            Some(after.unwrap_or(Duration::from_secs(1))),
                        ),
                        (s, Ok(_)) if s.is_server_error() => {
                            (PosError::Unavailable(format!("Square answered {s}")), after)
                        }
                        (s, Ok(bytes)) => return Err(rejected(s, &bytes)),
                    }
                }
            };
            let pause = self.retry.delay(attempt, wait);
            let Some(pause) = pause.filter(|_| attempt < self.retry.max_attempts) else { return Err(error) };
            tracing::debug!(path, attempt, error = %error, "retrying a Square call");
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

/// A 4xx other than 401/403/404/429: Square's `errors[0]` code and detail.
fn rejected(status: StatusCode, body: &[u8]) -> PosError {
    let message = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.errors.into_iter().next())
        .map(|e| format!("{} {}", e.code, e.detail.unwrap_or_default()).trim().to_owned())
        .unwrap_or_else(|| "no error detail".into());
    PosError::Rejected { status: status.as_u16(), message }
}
