//! The Clover v3 REST client: bearer auth, merchant-scoped paths, offset pagination, and a
//! client-side pace under Clover's limits (16 requests per second and 5 concurrent per token).

use crate::config::{CloverConfig, Secret};
use crate::pos::PosError;
use crate::pos::http::{Exchange, Pacer};
use crate::retry::RetryPolicy;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Requests per second we allow ourselves: under Clover's 16 per token, leaving room for the
/// shop's other apps' retries.
pub const REQUESTS_PER_SECOND: f64 = 15.0;
/// Clover allows 5 concurrent requests per token.
pub const CONCURRENT: usize = 5;
/// Clover's hard maximum page size.
pub const MAX_PAGE: usize = 1_000;
/// A runaway listing must not loop forever.
const MAX_PAGES: usize = 10_000;

/// `{"elements": [...]}`, Clover's collection envelope.
#[derive(Debug, Deserialize)]
pub struct Elements<T> {
    #[serde(default = "Vec::new")]
    pub elements: Vec<T>,
}

impl<T> Default for Elements<T> {
    fn default() -> Self {
        Elements { elements: Vec::new() }
    }
}

pub struct CloverClient {
    http: reqwest::Client,
    merchant_url: String,
    token: Secret,
    retry: RetryPolicy,
    pacer: Pacer,
    /// Elements asked for per page (Clover's maximum unless a test wants more pages).
    pub page_size: usize,
}

impl CloverClient {
    pub fn new(config: &CloverConfig, timeout: Duration, retry: RetryPolicy) -> Result<CloverClient, PosError> {
        Ok(CloverClient {
            http: crate::pos::http::client(timeout)?,
            merchant_url: format!(
                "{}/v3/merchants/{}",
                config.base_url.trim_end_matches('/'),
                crate::pos::http::path_segment(&config.merchant_id)
            ),
            token: config.access_token.clone(),
            retry,
            pacer: Pacer::new(REQUESTS_PER_SECOND, CONCURRENT),
            page_size: MAX_PAGE,
        })
    }

    /// GET `path` under the merchant (`""` is the merchant itself); `Ok(None)` on 404.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<Option<T>, PosError> {
        let url = format!("{}{path}", self.merchant_url);
        let exchange = Exchange {
            vendor: "Clover",
            policy: self.retry,
            pacer: Some(&self.pacer),
            detail: error_detail,
            observe: None,
        };
        exchange
            .run(path, || {
                self.http.get(&url).bearer_auth(self.token.expose()).header("Accept", "application/json").query(query)
            })
            .await
    }

    /// POST a JSON body. Clover's writes used here (stock quantities) set an absolute value, so
    /// repeating one is harmless.
    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &serde_json::Value) -> Result<Option<T>, PosError> {
        let url = format!("{}{path}", self.merchant_url);
        let exchange = Exchange {
            vendor: "Clover",
            policy: self.retry,
            pacer: Some(&self.pacer),
            detail: error_detail,
            observe: None,
        };
        exchange.run(path, || self.http.post(&url).bearer_auth(self.token.expose()).json(body)).await
    }

    /// Every element of a collection, page by page (`limit` + `offset`) until a short page.
    pub async fn list<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<T>, PosError> {
        let mut out = Vec::new();
        for page in 0..MAX_PAGES {
            let mut query = query.to_vec();
            query.push(("limit", self.page_size.to_string()));
            query.push(("offset", (page * self.page_size).to_string()));
            let Some(found) = self.get::<Elements<T>>(path, &query).await? else { return Ok(out) };
            let short = found.elements.len() < self.page_size;
            out.extend(found.elements);
            if short {
                return Ok(out);
            }
        }
        Err(PosError::Malformed(format!("{path}: more than {MAX_PAGES} pages")))
    }
}

/// Clover's error bodies carry a `message`.
fn error_detail(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("message").and_then(|m| m.as_str()).map(str::to_owned)
}
