//! The Square REST client: bearer auth, a pinned `Square-Version`, typed errors, timeouts and
//! retries (pos/http.rs). Cursor pagination lives with the callers in mod.rs.

use super::mapping::ErrorBody;
use crate::config::{Secret, SquareConfig};
use crate::pos::PosError;
use crate::pos::http::Exchange;
use crate::retry::RetryPolicy;
use reqwest::Method;
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
        Ok(SquareClient {
            http: crate::pos::http::client(timeout)?,
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
        let exchange =
            Exchange { vendor: "Square", policy: self.retry, pacer: None, detail: error_detail, observe: None };
        exchange
            .run(path, || {
                let request = self
                    .http
                    .request(method.clone(), &url)
                    .bearer_auth(self.token.expose())
                    .header("Square-Version", SQUARE_VERSION)
                    .header("Accept", "application/json")
                    .query(query);
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await
    }
}

/// Square's `errors[0]` code and detail.
fn error_detail(body: &[u8]) -> Option<String> {
    let error = serde_json::from_slice::<ErrorBody>(body).ok()?.errors.into_iter().next()?;
    Some(format!("{} {}", error.code, error.detail.unwrap_or_default()).trim().to_owned())
}
