//! The Shopify Admin GraphQL client: `X-Shopify-Access-Token`, a pinned API version, and the
//! cost-based rate limit. Every response reports the bucket (`extensions.cost.throttleStatus`);
//! the client remembers it and waits before a query the bucket cannot pay for, and a
//! `THROTTLED` answer waits for the points to restore and tries again.

use crate::config::{Secret, ShopifyConfig};
use crate::pos::PosError;
use crate::pos::http::Exchange;
use crate::retry::RetryPolicy;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// The Admin API version every request pins.
pub const API_VERSION: &str = "2025-07";
/// What a query is assumed to cost before Shopify has told us.
const DEFAULT_COST: f64 = 100.0;
/// How many `THROTTLED` answers one query sits through before giving up.
const MAX_THROTTLED: u32 = 5;

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphQlError>,
    extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
struct GraphQlError {
    message: String,
    extensions: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extensions {
    cost: Option<Cost>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cost {
    requested_query_cost: Option<f64>,
    throttle_status: Option<ThrottleStatus>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThrottleStatus {
    maximum_available: f64,
    currently_available: f64,
    restore_rate: f64,
}

/// The cost bucket as Shopify last described it.
#[derive(Debug)]
struct Bucket {
    available: f64,
    maximum: f64,
    restore_rate: f64,
    at: Instant,
}

impl Bucket {
    fn available_now(&self) -> f64 {
        (self.available + self.at.elapsed().as_secs_f64() * self.restore_rate).min(self.maximum)
    }

    /// How long until `cost` points are available.
    fn wait_for(&self, cost: f64) -> Duration {
        let missing = cost.min(self.maximum) - self.available_now();
        if missing <= 0.0 || self.restore_rate <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(missing / self.restore_rate)
        }
    }
}

pub struct ShopifyClient {
    http: reqwest::Client,
    url: String,
    token: Secret,
    retry: RetryPolicy,
    bucket: Mutex<Option<Bucket>>,
}

impl ShopifyClient {
    pub fn new(config: &ShopifyConfig, timeout: Duration, retry: RetryPolicy) -> Result<ShopifyClient, PosError> {
        let base = match &config.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}", config.shop.trim_end_matches('/')),
        };
        Ok(ShopifyClient {
            http: crate::pos::http::client(timeout)?,
            url: format!("{base}/admin/api/{API_VERSION}/graphql.json"),
            token: config.access_token.clone(),
            retry,
            bucket: Mutex::new(None),
        })
    }

    /// Runs one query and decodes its `data`.
    pub async fn query<T: DeserializeOwned>(&self, query: &str, variables: Value) -> Result<T, PosError> {
        let body = json!({ "query": query, "variables": variables });
        let exchange =
            Exchange { vendor: "Shopify", policy: self.retry, pacer: None, detail: error_detail, observe: None };
        let mut cost = DEFAULT_COST;
        for _ in 0..=MAX_THROTTLED {
            let wait = self.bucket.lock().await.as_ref().map_or(Duration::ZERO, |b| b.wait_for(cost));
            if !wait.is_zero() {
                tracing::debug!(?wait, "waiting for Shopify's query-cost bucket");
                tokio::time::sleep(wait).await;
            }
            let envelope: Envelope<T> = exchange
                .run("graphql", || {
                    self.http.post(&self.url).header("X-Shopify-Access-Token", self.token.expose()).json(&body)
                })
                .await?
                .ok_or_else(|| PosError::Rejected {
                    status: 404,
                    message: "no GraphQL endpoint at this shop".into(),
                })?;
            if let Some(c) = envelope.extensions.as_ref().and_then(|e| e.cost.as_ref()) {
                cost = c.requested_query_cost.unwrap_or(cost);
                if let Some(status) = &c.throttle_status {
                    *self.bucket.lock().await = Some(Bucket {
                        available: status.currently_available,
                        maximum: status.maximum_available,
                        restore_rate: status.restore_rate,
                        at: Instant::now(),
                    });
                }
            }
            let throttled = envelope.errors.iter().any(|e| code(e) == Some("THROTTLED"));
            if throttled {
                continue;
            }
            if let Some(error) = envelope.errors.first() {
                if code(error) == Some("ACCESS_DENIED") {
                    return Err(PosError::Unauthorized);
                }
                return Err(PosError::Rejected { status: 200, message: error.message.clone() });
            }
            return envelope.data.ok_or_else(|| PosError::Malformed("a GraphQL answer without data".into()));
        }
        let wait = self.bucket.lock().await.as_ref().map_or(Duration::from_secs(1), |b| b.wait_for(cost));
        Err(PosError::RateLimited(wait))
    }
}

fn code(error: &GraphQlError) -> Option<&str> {
    error.extensions.as_ref()?.get("code")?.as_str()
}

/// REST-style `{"errors": "..."}` bodies on 4xx.
fn error_detail(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    match value.get("errors")? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
