//! The Lightspeed X-Series client: OAuth tokens kept fresh and durable, the per-retailer rate
//! budget read from every answer, version-cursor and search paging, and the one write that has
//! no idempotency key (creating a consignment) sent exactly once.
//!
//! Tokens: the access token is refreshed a little before it expires (and once after a 401).
//! Every refresh revokes the refresh token it used and answers a new one, so the new pair is
//! written to the database before the new access token is used; a process that starts later,
//! or another process on the same PostgreSQL, reads the newest pair from there.

use super::mapping::{ErrorBody, Page, TokenAnswer};
use crate::config::{LightspeedConfig, Secret};
use crate::domain::Clock;
use crate::pos::PosError;
use crate::pos::http::Exchange;
use crate::retry::RetryPolicy;
use crate::store::Store;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Where a shop owner approves the app (`tillpilot connect lightspeed` prints the address).
pub const AUTHORIZE_URL: &str = "https://secure.retail.lightspeed.app/connect";

/// What Tillpilot asks to do: read the shop, write supplier orders and stock counts, and
/// subscribe to webhooks; nothing more.
pub const SCOPES: [&str; 10] = [
    "outlets:read",
    "products:read",
    "inventory:read",
    "sales:read",
    "customers:read",
    "suppliers:read",
    "consignments:read",
    "consignments:write:stock_order",
    "consignments:write:inventory_count",
    "webhooks",
];

/// The address the shop owner opens to approve the app; Lightspeed then redirects to
/// `redirect_uri` with `code`, `domain_prefix` and this `state`.
pub fn authorize_url(client_id: &str, redirect_uri: &str, state: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("scope", &SCOPES.join(" "))
        .finish();
    format!("{AUTHORIZE_URL}?{query}")
}

/// Where the rotated tokens are kept (the `meta` table).
pub const REFRESH_TOKEN_KEY: &str = "lightspeed.refresh_token";
pub const ACCESS_TOKEN_KEY: &str = "lightspeed.access_token";
pub const ACCESS_EXPIRES_KEY: &str = "lightspeed.access_expires_ms";
/// Refresh this long before the access token's stated expiry.
const REFRESH_MARGIN_MS: i64 = 10 * 60 * 1000;
/// Lightspeed's rate-limit window: `300 × registers + 50` requests per five minutes.
pub const RATE_WINDOW: Duration = Duration::from_secs(300);
/// Below this share of the window's budget left, requests are spread over the rest of it.
const RESERVE_SHARE: f64 = 0.1;
/// A runaway cursor must not loop forever.
const MAX_PAGES: usize = 10_000;
/// Sent with every request (Lightspeed asks apps to name themselves).
const USER_AGENT: &str = concat!("Tillpilot/", env!("CARGO_PKG_VERSION"));

#[derive(Default)]
struct Tokens {
    loaded: bool,
    access: Option<Secret>,
    expires_at_ms: Option<i64>,
    refresh: Option<Secret>,
}

/// The budget as the last answer reported it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
}

pub struct LightspeedClient {
    http: reqwest::Client,
    api: String,
    token_url: String,
    client_id: String,
    client_secret: Secret,
    retry: RetryPolicy,
    store: Store,
    clock: Arc<dyn Clock>,
    tokens: tokio::sync::Mutex<Tokens>,
    configured: (Option<Secret>, Option<Secret>),
    budget: std::sync::Mutex<Budget>,
    /// Records per page (`page_size`).
    pub page_size: usize,
    /// The rate-limit window the budget is spread over (tests shorten it).
    pub rate_window: Duration,
}

impl LightspeedClient {
    pub fn new(
        config: &LightspeedConfig,
        store: Store,
        clock: Arc<dyn Clock>,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<LightspeedClient, PosError> {
        let origin = config.origin();
        Ok(LightspeedClient {
            http: crate::pos::http::client(timeout)?,
            api: format!("{origin}/api/2.0"),
            token_url: format!("{origin}/api/1.0/token"),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            retry,
            store,
            clock,
            tokens: tokio::sync::Mutex::new(Tokens::default()),
            configured: (config.access_token.clone(), config.refresh_token.clone()),
            budget: std::sync::Mutex::new(Budget::default()),
            page_size: 200,
            rate_window: RATE_WINDOW,
        })
    }

    /// What the last answer said was left of the rate-limit window.
    pub fn budget(&self) -> Budget {
        *self.budget.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn observe(&self, headers: &HeaderMap) {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let (limit, remaining) = (number("x-ratelimit-limit"), number("x-ratelimit-remaining"));
        if limit.is_some() || remaining.is_some() {
            let mut budget = self.budget.lock().unwrap_or_else(|p| p.into_inner());
            *budget = Budget { limit: limit.or(budget.limit), remaining };
        }
    }

    /// With little of the window's budget left, one request per `window / limit`, so the
    /// shop's other apps (and our next call) are not starved into 429s.
    async fn pace(&self) {
        let Budget { limit: Some(limit), remaining: Some(remaining) } = self.budget() else { return };
        if limit == 0 || remaining as f64 > limit as f64 * RESERVE_SHARE {
            return;
        }
        let wait = self.rate_window.div_f64(limit as f64);
        tracing::debug!(?wait, remaining, limit, "spreading Lightspeed calls over the rate-limit window");
        tokio::time::sleep(wait).await;
    }

    async fn load(&self, tokens: &mut Tokens) -> Result<(), PosError> {
        let stored = |key: &'static str| async move {
            self.store.meta(key).await.map_err(|e| PosError::Unavailable(format!("reading the Lightspeed tokens: {e}")))
        };
        let refresh = stored(REFRESH_TOKEN_KEY).await?;
        let access = stored(ACCESS_TOKEN_KEY).await?;
        let expires = stored(ACCESS_EXPIRES_KEY).await?.and_then(|e| e.parse::<i64>().ok());
        match refresh {
            // Rotated tokens in the database are newer than the configured ones.
            Some(refresh) => {
                tokens.refresh = Some(Secret::new(refresh));
                tokens.access = access.map(Secret::new);
                tokens.expires_at_ms = expires;
            }
            None => {
                tokens.access = self.configured.0.clone();
                tokens.refresh = self.configured.1.clone();
                tokens.expires_at_ms = None;
            }
        }
        tokens.loaded = true;
        Ok(())
    }

    /// A current access token, refreshed first when it is about to expire (or when `stale`
    /// names the one a 401 just refused).
    async fn access_token(&self, stale: Option<&Secret>) -> Result<Secret, PosError> {
        let mut tokens = self.tokens.lock().await;
        if !tokens.loaded {
            self.load(&mut tokens).await?;
        }
        let now = self.clock.now_ms();
        let expiring = tokens.expires_at_ms.is_some_and(|at| now >= at - REFRESH_MARGIN_MS);
        let refused = stale.is_some() && tokens.access.as_ref() == stale;
        match &tokens.access {
            Some(access) if !expiring && !refused => Ok(access.clone()),
            _ => self.refresh(&mut tokens).await,
        }
    }

    async fn refresh(&self, tokens: &mut Tokens) -> Result<Secret, PosError> {
        let Some(used) = tokens.refresh.clone() else { return Err(PosError::Unauthorized) };
        let form = [
            ("refresh_token", used.expose()),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("grant_type", "refresh_token"),
        ];
        match self.token_request(&form).await {
            Ok(answer) => self.keep(tokens, answer).await,
            Err(err) => {
                // Another process may have rotated the pair first: the database has it.
                self.load(tokens).await?;
                match (&tokens.refresh, &tokens.access) {
                    (Some(newer), Some(access)) if newer != &used => Ok(access.clone()),
                    _ => Err(err),
                }
            }
        }
    }

    /// Exchanges the code from the authorize redirect for the first tokens, and keeps them.
    pub async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<(), PosError> {
        let form = [
            ("code", code),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
        ];
        let answer = self.token_request(&form).await?;
        let mut tokens = self.tokens.lock().await;
        self.keep(&mut tokens, answer).await.map(|_| ())
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenAnswer, PosError> {
        let exchange =
            Exchange { vendor: "Lightspeed", policy: self.retry, pacer: None, detail: error_detail, observe: None };
        let answer: Option<TokenAnswer> = exchange
            .run("token", || self.http.post(&self.token_url).header("User-Agent", USER_AGENT).form(form))
            .await
            .map_err(|err| match err {
                // The token endpoint answers a spent or revoked refresh token with a 4xx.
                PosError::Rejected { .. } => PosError::Unauthorized,
                other => other,
            })?;
        answer.ok_or_else(|| PosError::Rejected { status: 404, message: "no token endpoint at this store".into() })
    }

    /// Stores the new pair, and only then hands out the new access token.
    async fn keep(&self, tokens: &mut Tokens, answer: TokenAnswer) -> Result<Secret, PosError> {
        let now = self.clock.now_ms();
        // The lifetime, counted on our clock (the absolute `expires` is on theirs).
        let expires_at = match (answer.expires_in, answer.expires) {
            (Some(seconds), _) => Some(now.saturating_add(seconds.saturating_mul(1000))),
            (None, Some(at)) => Some(at.saturating_mul(1000)),
            _ => None,
        };
        let refresh = answer.refresh_token.map(Secret::new).or_else(|| tokens.refresh.clone());
        let access = Secret::new(answer.access_token);
        let saved = async {
            let mut tx = self.store.begin().await?;
            if let Some(refresh) = &refresh {
                self.store.set_meta(&mut tx, REFRESH_TOKEN_KEY, refresh.expose()).await?;
            }
            self.store.set_meta(&mut tx, ACCESS_TOKEN_KEY, access.expose()).await?;
            let expires = expires_at.map(|e| e.to_string()).unwrap_or_default();
            self.store.set_meta(&mut tx, ACCESS_EXPIRES_KEY, &expires).await?;
            tx.commit().await.map_err(crate::store::StoreError::from)
        };
        if let Err(err) = saved.await {
            // The old refresh token is spent: keep the new one in memory, for the next attempt
            // to store, but use nothing until it is safe.
            tokens.refresh = refresh;
            tokens.access = None;
            return Err(PosError::Unavailable(format!("could not keep the rotated Lightspeed tokens: {err}")));
        }
        tokens.refresh = refresh;
        tokens.access = Some(access.clone());
        tokens.expires_at_ms = expires_at;
        tracing::info!("Lightspeed access token refreshed; the rotated refresh token is stored");
        Ok(access)
    }

    /// GET under `/api/2.0`; `Ok(None)` on 404.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<Option<T>, PosError> {
        self.call(Method::GET, path, query, None, self.retry).await
    }

    /// PUT a JSON body. Only absolute updates (a status, a line's figures) come through here, so
    /// repeating one is harmless.
    pub async fn put<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<Option<T>, PosError> {
        self.call(Method::PUT, path, &[], Some(body), self.retry).await
    }

    /// POST a JSON body exactly once: Lightspeed's creates take no idempotency key, so an
    /// attempt that fails may still have happened. The caller looks for what it made before
    /// trying again.
    pub async fn post_once<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<Option<T>, PosError> {
        let once = RetryPolicy { max_attempts: 1, ..self.retry };
        self.call(Method::POST, path, &[], Some(body), once).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        policy: RetryPolicy,
    ) -> Result<Option<T>, PosError> {
        let url = format!("{}{path}", self.api);
        let mut refused: Option<Secret> = None;
        loop {
            let token = self.access_token(refused.as_ref()).await?;
            self.pace().await;
            let observe = |headers: &HeaderMap| self.observe(headers);
            let exchange =
                Exchange { vendor: "Lightspeed", policy, pacer: None, detail: error_detail, observe: Some(&observe) };
            let outcome = exchange
                .run(path, || {
                    let request = self
                        .http
                        .request(method.clone(), &url)
                        .bearer_auth(token.expose())
                        .header("Accept", "application/json")
                        .header("User-Agent", USER_AGENT)
                        .query(query);
                    match body {
                        Some(body) => request.json(body),
                        None => request,
                    }
                })
                .await;
            match outcome {
                // A refused token is refreshed once (a refused request did nothing, so even a
                // create may go again); a second refusal is the answer.
                Err(PosError::Unauthorized) if refused.is_none() => refused = Some(token),
                other => return other,
            }
        }
    }

    /// Every record of a version-paged collection.
    pub async fn collection<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, PosError> {
        Ok(self.collection_after(path, query, None).await?.0)
    }

    /// The records of a version-paged collection changed after version `after` (all of them
    /// when `None`), and the highest version seen, to start from next time.
    pub async fn collection_after<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        after: Option<i64>,
    ) -> Result<(Vec<T>, Option<i64>), PosError> {
        let mut out = Vec::new();
        let mut after = after;
        for _ in 0..MAX_PAGES {
            let mut query = query.to_vec();
            query.push(("page_size", self.page_size.to_string()));
            if let Some(after) = after {
                query.push(("after", after.to_string()));
            }
            let Some(page) = self.get::<Page<T>>(path, &query).await? else { return Ok((out, after)) };
            if page.data.is_empty() {
                return Ok((out, after));
            }
            out.extend(page.data);
            match page.version.and_then(|v| v.max) {
                Some(max) if after.is_none_or(|a| max > a) => after = Some(max),
                // No cursor to follow, or one that does not move: this was the last page.
                _ => return Ok((out, after)),
            }
        }
        Err(PosError::Malformed(format!("{path}: more than {MAX_PAGES} pages")))
    }

    /// `GET /search?type=...`, which pages by `offset` rather than by version.
    pub async fn search<T: DeserializeOwned>(
        &self,
        kind: &str,
        filters: &[(&str, String)],
    ) -> Result<Vec<T>, PosError> {
        let mut out = Vec::new();
        for page in 0..MAX_PAGES {
            let mut query = vec![("type", kind.to_owned())];
            query.extend(filters.iter().cloned());
            query.push(("page_size", self.page_size.to_string()));
            query.push(("offset", (page * self.page_size).to_string()));
            let Some(found) = self.get::<Page<T>>("/search", &query).await? else { return Ok(out) };
            let short = found.data.len() < self.page_size;
            out.extend(found.data);
            if short {
                return Ok(out);
            }
        }
        Err(PosError::Malformed(format!("/search?type={kind}: more than {MAX_PAGES} pages")))
    }
}

/// `{"error": ..., "message": ...}`.
fn error_detail(body: &[u8]) -> Option<String> {
    let error: ErrorBody = serde_json::from_slice(body).ok()?;
    let text = match (error.error, error.message) {
        (Some(Value::String(e)), Some(m)) => format!("{e}: {m}"),
        (Some(Value::String(e)), None) => e,
        (Some(other), message) => format!("{other} {}", message.unwrap_or_default()),
        (None, Some(m)) => m,
        (None, None) => return None,
    };
    Some(text.trim().to_owned())
}
