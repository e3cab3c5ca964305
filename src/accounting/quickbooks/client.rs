//! The QuickBooks Online client: the access token refreshed before it expires (and once after a
//! 401) with the newest refresh token kept in the database before the new access token is used,
//! `minorversion=75` and a `requestid` on every write, faults read from any answer, and
//! transient failures (5xx, 429, timeouts) retried in place. One call at a time: QuickBooks
//! allows ten concurrent per company, and a purchase order's calls depend on each other.

use super::super::AccountingError;
use super::mapping;
use crate::config::{QuickBooksConfig, Secret};
use crate::domain::Clock;
use crate::retry::RetryPolicy;
use crate::store::Store;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Where the newest refresh token is kept (the `meta` table).
pub const REFRESH_TOKEN_KEY: &str = "quickbooks.refresh_token";
/// Refresh this long before the access token's stated expiry (it lives an hour).
const REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;
pub const MINOR_VERSION: &str = "75";

#[derive(Default)]
struct Tokens {
    access: Option<Secret>,
    expires_at_ms: i64,
}

pub struct QuickBooksClient {
    http: reqwest::Client,
    api: String,
    token_url: String,
    client_id: String,
    client_secret: Secret,
    configured_refresh: Option<Secret>,
    retry: RetryPolicy,
    store: Store,
    clock: Arc<dyn Clock>,
    tokens: tokio::sync::Mutex<Tokens>,
    one_at_a_time: tokio::sync::Mutex<()>,
}

#[derive(serde::Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<i64>,
    refresh_token: Option<String>,
}

impl QuickBooksClient {
    pub fn new(
        config: &QuickBooksConfig,
        store: Store,
        clock: Arc<dyn Clock>,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<QuickBooksClient, AccountingError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AccountingError::Unavailable(e.to_string()))?;
        Ok(QuickBooksClient {
            http,
            api: format!("{}/v3/company/{}", config.api_base().trim_end_matches('/'), config.realm_id.trim()),
            token_url: config.token_url(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            configured_refresh: config.refresh_token.clone(),
            retry,
            store,
            clock,
            tokens: tokio::sync::Mutex::default(),
            one_at_a_time: tokio::sync::Mutex::default(),
        })
    }

    /// A live access token: the one in hand, or a fresh one from the newest refresh token.
    async fn access(&self, force: bool) -> Result<Secret, AccountingError> {
        let mut tokens = self.tokens.lock().await;
        if !force
            && let Some(access) = &tokens.access
            && self.clock.now_ms() < tokens.expires_at_ms - REFRESH_MARGIN_MS
        {
            return Ok(access.clone());
        }
        let stored = self
            .store
            .meta(REFRESH_TOKEN_KEY)
            .await
            .map_err(|e| AccountingError::Unavailable(format!("reading the QuickBooks refresh token: {e}")))?;
        let refresh = stored.map(Secret::new).or_else(|| self.configured_refresh.clone()).ok_or_else(|| {
            tracing::error!("no QuickBooks refresh token: set [quickbooks] refresh_token");
            AccountingError::Unauthorized
        })?;
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh.expose())];
        let answer = self
            .http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| AccountingError::Unavailable(format!("token: {}", e.without_url())))?;
        let status = answer.status();
        if status.is_server_error() {
            return Err(AccountingError::Unavailable(format!("the token endpoint answered {status}")));
        }
        if !status.is_success() {
            // `invalid_grant`: the refresh token is spent, expired or revoked.
            return Err(AccountingError::Unauthorized);
        }
        let answer: TokenAnswer =
            answer.json().await.map_err(|e| AccountingError::Malformed(format!("the token answer: {e}")))?;
        if let Some(newer) = &answer.refresh_token {
            let mut tx = self.store.begin().await.map_err(|e| AccountingError::Unavailable(e.to_string()))?;
            self.store
                .set_meta(&mut tx, REFRESH_TOKEN_KEY, newer)
                .await
                .map_err(|e| AccountingError::Unavailable(format!("keeping the QuickBooks refresh token: {e}")))?;
            tx.commit().await.map_err(|e| AccountingError::Unavailable(e.to_string()))?;
        }
        let access = Secret::new(answer.access_token);
        tokens.access = Some(access.clone());
        tokens.expires_at_ms = self.clock.now_ms() + answer.expires_in.unwrap_or(3_600) * 1000;
        Ok(access)
    }

    /// One call under `/v3/company/{realm}`, retried in place while it fails for a passing
    /// reason. Writes carry a `requestid`, so a retry of one whose answer was lost gets the
    /// first answer back instead of acting twice.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, AccountingError> {
        let _turn = self.one_at_a_time.lock().await;
        let url = format!("{}/{}", self.api, path.trim_start_matches('/'));
        let mut query = query.to_vec();
        query.push(("minorversion", MINOR_VERSION.to_owned()));
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.access(false).await?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .query(&query)
                .bearer_auth(token.expose())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let outcome = match request.send().await {
                Err(err) => Err(AccountingError::Unavailable(format!("{path}: {}", err.without_url()))),
                Ok(answer) => {
                    let status = answer.status();
                    let wait = crate::retry::retry_after(answer.headers());
                    if let Some(tid) = answer.headers().get("intuit_tid").and_then(|v| v.to_str().ok()) {
                        tracing::debug!(intuit_tid = tid, %status, path, "QuickBooks answered");
                    }
                    match answer.text().await {
                        Err(err) => Err(AccountingError::Unavailable(format!("{path}: {}", err.without_url()))),
                        Ok(_) if status == reqwest::StatusCode::UNAUTHORIZED && !refreshed => {
                            refreshed = true;
                            self.access(true).await?;
                            continue;
                        }
                        Ok(text) => read(status, wait, &text),
                    }
                }
            };
            match outcome {
                Err(err) if err.is_transient() && attempt < self.retry.max_attempts => {
                    let wait = if let AccountingError::RateLimited(wait) = &err { *wait } else { None };
                    match self.retry.delay(attempt, wait) {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => return Err(err),
                    }
                }
                other => return other,
            }
        }
    }

    /// `select * from {entity} where {condition}`.
    pub async fn query<T: serde::de::DeserializeOwned>(
        &self,
        entity: &str,
        condition: &str,
    ) -> Result<Vec<T>, AccountingError> {
        let statement = format!("select * from {entity} where {condition}");
        let answer = self.call(Method::GET, "query", &[("query", statement)], None).await?;
        mapping::query_list(&answer, entity)
    }

    /// Creates (or, with `sparse`, updates) an object; `request_id` names this write.
    pub async fn write<T: serde::de::DeserializeOwned>(
        &self,
        entity: &str,
        body: &Value,
        request_id: &str,
    ) -> Result<T, AccountingError> {
        let path = entity.to_lowercase();
        let answer = self.call(Method::POST, &path, &[("requestid", request_id.to_owned())], Some(body)).await?;
        mapping::one(&answer, entity)
    }
}

/// An answer as a result: a fault (even in a 200) is an error, 429 and 5xx are passing ones.
fn read(status: reqwest::StatusCode, wait: Option<Duration>, text: &str) -> Result<Value, AccountingError> {
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(AccountingError::RateLimited(wait));
    }
    if status.is_server_error() {
        return Err(AccountingError::Unavailable(format!("QuickBooks answered {status}")));
    }
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(AccountingError::Unauthorized);
    }
    let body: Value = serde_json::from_str(text).map_err(|e| {
        AccountingError::Malformed(format!("{status}: {e}: {}", text.chars().take(200).collect::<String>()))
    })?;
    if let Some((code, message)) = mapping::fault(&body) {
        return Err(AccountingError::Rejected { status: status.as_u16(), code, message });
    }
    if !status.is_success() {
        return Err(AccountingError::Rejected { status: status.as_u16(), code: String::new(), message: text.into() });
    }
    Ok(body)
}
