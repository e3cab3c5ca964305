//! Configuration: `tillpilot.toml` overridden by `TILLPILOT__SECTION__KEY` environment
//! variables. Unknown keys and bad values are errors that name the key; secrets never print.

use crate::domain::{Phone, Role};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod review;
pub mod vendors;
pub use review::{FraudConfig, LoyaltyRule, ReviewConfig};
pub use vendors::{PriceTierConfig, VendorConfig, VendorItemConfig};

/// A credential. Prints as `[redacted]` in every `Debug` and log line; read it with `expose`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Tokens that happen to be all digits arrive as integers from environment overrides.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Text(text) => Secret(text),
            Raw::Number(n) => Secret(n.to_string()),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_owned(), message: message.into() }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub shop: ShopConfig,
    #[serde(default)]
    pub pos: PosConfig,
    pub slack: Option<SlackConfig>,
    pub telegram: Option<TelegramConfig>,
    pub discord: Option<DiscordConfig>,
    pub twilio: Option<TwilioConfig>,
    pub llm: Option<LlmConfig>,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    #[serde(default)]
    pub policy: PolicyConfig,
    pub smtp: Option<SmtpConfig>,
    pub quickbooks: Option<QuickBooksConfig>,
    pub review: Option<ReviewConfig>,
    #[serde(default)]
    pub people: Vec<PersonConfig>,
    #[serde(default)]
    pub vendors: Vec<VendorConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    pub public_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { listen: default_listen(), public_url: None }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    #[serde(default = "default_database_url")]
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { url: default_database_url() }
    }
}

fn default_database_url() -> String {
    "sqlite://tillpilot.db".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopConfig {
    #[serde(default = "default_shop_name")]
    pub name: String,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default = "default_currency")]
    pub currency: String,
}

impl Default for ShopConfig {
    fn default() -> Self {
        ShopConfig { name: default_shop_name(), timezone: default_timezone(), currency: default_currency() }
    }
}

fn default_shop_name() -> String {
    "Corner Store".to_owned()
}
fn default_timezone() -> String {
    "America/Chicago".to_owned()
}
fn default_currency() -> String {
    "USD".to_owned()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PosProvider {
    Square,
    Clover,
    Shopify,
    Lightspeed,
    #[default]
    Sim,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PosConfig {
    #[serde(default)]
    pub provider: PosProvider,
    pub square: Option<SquareConfig>,
    pub clover: Option<CloverConfig>,
    pub shopify: Option<ShopifyConfig>,
    pub lightspeed: Option<LightspeedConfig>,
    #[serde(default)]
    pub sim: SimConfig,
    /// Minutes between reconciliations that catch webhooks that never came (0 turns them off).
    #[serde(default = "default_reconcile_minutes")]
    pub reconcile_minutes: u64,
}

fn default_reconcile_minutes() -> u64 {
    15
}

impl Default for PosConfig {
    fn default() -> Self {
        PosConfig {
            provider: PosProvider::default(),
            square: None,
            clover: None,
            shopify: None,
            lightspeed: None,
            sim: SimConfig::default(),
            reconcile_minutes: default_reconcile_minutes(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SquareConfig {
    pub access_token: Secret,
    #[serde(default = "default_square_base")]
    pub base_url: String,
    pub webhook_signature_key: Option<Secret>,
    pub webhook_url: Option<String>,
    #[serde(default)]
    pub location_ids: Vec<String>,
}

fn default_square_base() -> String {
    "https://connect.squareup.com".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloverConfig {
    pub merchant_id: String,
    pub access_token: Secret,
    #[serde(default = "default_clover_base")]
    pub base_url: String,
    pub webhook_auth_code: Option<Secret>,
}

fn default_clover_base() -> String {
    "https://api.clover.com".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifyConfig {
    pub shop: String,
    pub access_token: Secret,
    pub api_secret: Option<Secret>,
    pub base_url: Option<String>,
}

/// Lightspeed Retail (X-Series): an OAuth app (`client_id`, `client_secret`) connected to one
/// retailer (`domain_prefix`). The tokens here are the first ones; every refresh rotates the
/// refresh token, and the rotated ones are kept in the database, which wins from then on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LightspeedConfig {
    pub domain_prefix: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub access_token: Option<Secret>,
    pub refresh_token: Option<Secret>,
    /// `https://{domain_prefix}.retail.lightspeed.app` unless set (tests point it at a fake).
    pub base_url: Option<String>,
    /// Where Lightspeed delivers webhooks: `{public_url}/webhooks/lightspeed`.
    pub webhook_url: Option<String>,
    /// The redirect URI registered with the app, for `tillpilot connect lightspeed`.
    pub redirect_uri: Option<String>,
}

impl LightspeedConfig {
    /// The retailer's own origin, where both the API and the token endpoint live.
    pub fn origin(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}.retail.lightspeed.app", self.domain_prefix.trim()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// The simulated shop is the same for the same seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { seed: default_seed() }
    }
}

pub fn default_seed() -> u64 {
    42
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    pub bot_token: Secret,
    pub signing_secret: Secret,
    #[serde(default = "default_slack_base")]
    pub api_base_url: String,
    pub owner_channel: Option<String>,
    /// An app-level `xapp-` token turns on Socket Mode for shops without a public URL.
    pub app_token: Option<Secret>,
}

fn default_slack_base() -> String {
    "https://slack.com/api".to_owned()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    #[default]
    Polling,
    Webhook,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    pub bot_token: Secret,
    #[serde(default = "default_telegram_base")]
    pub api_url: String,
    #[serde(default)]
    pub mode: TelegramMode,
    pub webhook_secret: Option<Secret>,
    pub owner_chat_id: Option<i64>,
}

fn default_telegram_base() -> String {
    "https://api.telegram.org".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    pub application_id: String,
    pub public_key: String,
    pub bot_token: Secret,
    #[serde(default = "default_discord_base")]
    pub api_base_url: String,
    pub owner_channel_id: Option<String>,
}

fn default_discord_base() -> String {
    "https://discord.com".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: Secret,
    pub from: Phone,
    #[serde(default = "default_twilio_base")]
    pub api_base_url: String,
    pub webhook_url: Option<String>,
}

fn default_twilio_base() -> String {
    "https://api.twilio.com".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub model: String,
    #[serde(default = "default_llm_timeout")]
    pub timeout_secs: u64,
    /// Tokens (prompt and completion) the shop spends on the LLM per day, counted from the
    /// shop's local midnight; once spent, everything answers on the deterministic path.
    #[serde(default = "default_llm_daily_tokens")]
    pub daily_token_budget: u64,
}

fn default_llm_timeout() -> u64 {
    20
}

fn default_llm_daily_tokens() -> u64 {
    500_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    #[serde(default = "default_summary_at")]
    pub summary_at: String,
    #[serde(default = "default_reorder_at")]
    pub reorder_at: String,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig { summary_at: default_summary_at(), reorder_at: default_reorder_at() }
    }
}

fn default_summary_at() -> String {
    "21:00".to_owned()
}
fn default_reorder_at() -> String {
    "06:00".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default = "default_discount_pct")]
    pub manager_approval_discount_pct: u32,
    #[serde(default)]
    pub never_discount_categories: Vec<String>,
    /// Purchase orders above this total (major units) need the owner; others a manager.
    #[serde(default = "default_po_owner_over")]
    pub po_owner_approval_over: f64,
    /// The chance of not running out before the next delivery that reorder aims for.
    #[serde(default = "default_service_level")]
    pub service_level: f64,
    /// Days between reorder runs (the review period in the reorder point).
    #[serde(default = "default_review_days")]
    pub review_days: u32,
    /// An optional cap on any one purchase order (major units).
    pub po_budget: Option<f64>,
    /// The shop's rules in plain words ("don't promise delivery dates"), shown to the LLM as
    /// rules; the ones code can check (`never_discount_categories`) are also checked in code.
    #[serde(default)]
    pub rules: Vec<String>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            manager_approval_discount_pct: default_discount_pct(),
            never_discount_categories: Vec::new(),
            po_owner_approval_over: default_po_owner_over(),
            service_level: default_service_level(),
            review_days: default_review_days(),
            po_budget: None,
            rules: Vec::new(),
        }
    }
}

fn default_po_owner_over() -> f64 {
    500.0
}

fn default_service_level() -> f64 {
    0.95
}

fn default_review_days() -> u32 {
    7
}

fn default_discount_pct() -> u32 {
    15
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    #[default]
    Starttls,
    Tls,
    None,
}

/// QuickBooks Online, where approved purchase orders are recorded.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuickBooksConfig {
    /// The company id (`realmId` on the authorization redirect).
    pub realm_id: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The first refresh token; each newer one is kept in the database.
    pub refresh_token: Option<Secret>,
    /// `https://quickbooks.api.intuit.com` unless set (the sandbox, or a fake in tests).
    pub base_url: Option<String>,
    /// `https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer` unless set.
    pub token_url: Option<String>,
    /// The account items bought on purchase orders are booked to.
    #[serde(default = "default_expense_account")]
    pub expense_account: String,
    /// The accounts-payable account by name; the company's first one when unset.
    pub ap_account: Option<String>,
}

fn default_expense_account() -> String {
    "Cost of Goods Sold".to_owned()
}

impl QuickBooksConfig {
    pub fn api_base(&self) -> String {
        self.base_url.clone().unwrap_or_else(|| "https://quickbooks.api.intuit.com".to_owned())
    }

    pub fn token_url(&self) -> String {
        self.token_url.clone().unwrap_or_else(|| "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer".to_owned())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default)]
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
}

fn default_smtp_port() -> u16 {
    587
}

/// One person who works at the shop, with the chat identities that reach them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonConfig {
    pub name: String,
    pub role: Role,
    pub slack: Option<String>,
    pub telegram: Option<i64>,
    pub discord: Option<String>,
    pub phone: Option<Phone>,
}

impl Config {
    /// Reads `path` (when given, or `tillpilot.toml` when it exists), applies environment
    /// overrides from `env`, and validates the result.
    pub fn load(path: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let default_path = Path::new("tillpilot.toml");
        let path = match path {
            Some(path) => Some(path),
            None if default_path.exists() => Some(default_path),
            None => None,
        };
        let mut table = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
                parse_table(&path.display().to_string(), &text)?
            }
            None => toml::Table::new(),
        };
        apply_env_overrides(&mut table, env)?;
        Config::from_table(table)
    }

    /// Parses configuration text (used by tests and by `load`).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Config::from_table(parse_table("configuration", text)?)
    }

    fn from_table(table: toml::Table) -> Result<Config, ConfigError> {
        let value = toml::Value::Table(table);
        let config: Config = serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            let key = if path == "." { "(top level)".to_owned() } else { path };
            invalid(&key, err.inner().to_string())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The checks serde's types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid("database.url", format!("expected sqlite://FILE or postgres://..., got {url:?}")));
        }
        if self.shop.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "shop.timezone",
                format!("expected an IANA zone like America/Chicago, got {:?}", self.shop.timezone),
            ));
        }
        let currency = &self.shop.currency;
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(invalid(
                "shop.currency",
                format!("expected a three-letter ISO code like USD, got {currency:?}"),
            ));
        }
        check_url("server.public_url", self.server.public_url.as_deref())?;
        check_time("schedule.summary_at", &self.schedule.summary_at)?;
        check_time("schedule.reorder_at", &self.schedule.reorder_at)?;
        if self.policy.manager_approval_discount_pct > 100 {
            return Err(invalid("policy.manager_approval_discount_pct", "expected a percentage from 0 to 100"));
        }
        if let Some(review) = &self.review {
            review.validate(&self.policy)?;
        }
        vendors::validate(&self.vendors)?;
        if let Some(quickbooks) = &self.quickbooks {
            if quickbooks.realm_id.trim().is_empty() || !quickbooks.realm_id.trim().chars().all(|c| c.is_ascii_digit())
            {
                return Err(invalid("quickbooks.realm_id", "expected the company id, the digits of realmId"));
            }
            check_url("quickbooks.base_url", quickbooks.base_url.as_deref())?;
            check_url("quickbooks.token_url", quickbooks.token_url.as_deref())?;
        }
        self.validate_pos()?;
        self.validate_channels()?;
        self.validate_people()
    }

    fn validate_pos(&self) -> Result<(), ConfigError> {
        let missing = |section: &str| {
            invalid(&format!("pos.{section}"), format!("pos.provider is {section:?} but [pos.{section}] is missing"))
        };
        match self.pos.provider {
            PosProvider::Square => {
                let square = self.pos.square.as_ref().ok_or_else(|| missing("square"))?;
                check_url("pos.square.base_url", Some(&square.base_url))?;
                check_url("pos.square.webhook_url", square.webhook_url.as_deref())?;
            }
            PosProvider::Clover => {
                let clover = self.pos.clover.as_ref().ok_or_else(|| missing("clover"))?;
                check_url("pos.clover.base_url", Some(&clover.base_url))?;
            }
            PosProvider::Shopify => {
                let shopify = self.pos.shopify.as_ref().ok_or_else(|| missing("shopify"))?;
                check_url("pos.shopify.base_url", shopify.base_url.as_deref())?;
            }
            PosProvider::Lightspeed => {
                let lightspeed = self.pos.lightspeed.as_ref().ok_or_else(|| missing("lightspeed"))?;
                let prefix = &lightspeed.domain_prefix;
                if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return Err(invalid(
                        "pos.lightspeed.domain_prefix",
                        format!(
                            "expected the store's prefix, as in https://PREFIX.retail.lightspeed.app, got {prefix:?}"
                        ),
                    ));
                }
                check_url("pos.lightspeed.base_url", lightspeed.base_url.as_deref())?;
                check_url("pos.lightspeed.webhook_url", lightspeed.webhook_url.as_deref())?;
                check_url("pos.lightspeed.redirect_uri", lightspeed.redirect_uri.as_deref())?;
            }
            PosProvider::Sim => {}
        }
        Ok(())
    }

    fn validate_channels(&self) -> Result<(), ConfigError> {
        if let Some(slack) = &self.slack {
            check_url("slack.api_base_url", Some(&slack.api_base_url))?;
        }
        if let Some(telegram) = &self.telegram {
            check_url("telegram.api_url", Some(&telegram.api_url))?;
            if telegram.mode == TelegramMode::Webhook && telegram.webhook_secret.is_none() {
                return Err(invalid("telegram.webhook_secret", "required when telegram.mode is \"webhook\""));
            }
        }
        if let Some(discord) = &self.discord {
            check_url("discord.api_base_url", Some(&discord.api_base_url))?;
            let key = &discord.public_key;
            if key.len() != 64 || hex::decode(key).is_err() {
                return Err(invalid("discord.public_key", "expected the application's 64-character hex public key"));
            }
        }
        if let Some(twilio) = &self.twilio {
            check_url("twilio.api_base_url", Some(&twilio.api_base_url))?;
            check_url("twilio.webhook_url", twilio.webhook_url.as_deref())?;
        }
        if let Some(llm) = &self.llm {
            check_url("llm.base_url", Some(&llm.base_url))?;
        }
        Ok(())
    }

    fn validate_people(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::BTreeSet::new();
        for (i, person) in self.people.iter().enumerate() {
            let key = format!("people[{i}]");
            if person.name.trim().is_empty() {
                return Err(invalid(&format!("{key}.name"), "must not be empty"));
            }
            if person.role == Role::Customer {
                return Err(invalid(
                    &format!("{key}.role"),
                    "expected owner, manager or staff (customers are recognised by phone)",
                ));
            }
            if !names.insert(person.name.to_lowercase()) {
                return Err(invalid(&format!("{key}.name"), format!("{:?} is listed twice", person.name)));
            }
        }
        Ok(())
    }

    /// The shop's time zone (validated at load).
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.shop.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

fn parse_table(origin: &str, text: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|err| ConfigError::Syntax { path: origin.to_owned(), message: err.to_string() })
}

fn check_url(key: &str, value: Option<&str>) -> Result<(), ConfigError> {
    let Some(value) = value else { return Ok(()) };
    match reqwest::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        _ => Err(invalid(key, format!("expected an http(s) URL, got {value:?}"))),
    }
}

fn check_time(key: &str, value: &str) -> Result<(), ConfigError> {
    chrono::NaiveTime::parse_from_str(value, "%H:%M")
        .map(|_| ())
        .map_err(|_| invalid(key, format!("expected a time of day like 21:00, got {value:?}")))
}

/// Applies `TILLPILOT__SECTION__KEY=value` overrides. Values are read as TOML literals when
/// they parse as numbers, booleans or arrays, and as plain strings otherwise.
fn apply_env_overrides(table: &mut toml::Table, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (name, raw) in env {
        let Some(path) = name.strip_prefix("TILLPILOT__") else { continue };
        let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
        if keys.iter().any(String::is_empty) {
            return Err(invalid(name, "expected TILLPILOT__SECTION__KEY"));
        }
        let mut node = &mut *table;
        for key in &keys[..keys.len() - 1] {
            let entry = node.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry.as_table_mut().ok_or_else(|| {
                invalid(&keys.join("."), format!("{name} addresses inside a value that is not a section"))
            })?;
        }
        if let Some(last) = keys.last() {
            node.insert(last.clone(), env_value(raw));
        }
    }
    Ok(())
}

fn env_value(raw: &str) -> toml::Value {
    // Phone numbers and zero-padded codes stay strings.
    let looks_literal = !(raw.starts_with('+') || raw.len() > 1 && raw.starts_with('0') && !raw.starts_with("0."));
    if looks_literal
        && let Ok(table) = format!("v = {raw}").parse::<toml::Table>()
        && let Some(value) = table.get("v")
        && !value.is_str()
    {
        return value.clone();
    }
    toml::Value::String(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_toml("[pos.square]\naccess_tokn = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("pos.square") && err.contains("access_tokn"), "{err}");
    }

    #[test]
    fn env_overrides_nested_keys_with_types() {
        let mut table = toml::Table::new();
        apply_env_overrides(
            &mut table,
            &env(&[
                ("TILLPILOT__SERVER__LISTEN", "0.0.0.0:9000"),
                ("TILLPILOT__POLICY__MANAGER_APPROVAL_DISCOUNT_PCT", "20"),
            ]),
        )
        .unwrap();
        let config = Config::from_table(table).unwrap();
        assert_eq!(config.server.listen.port(), 9000);
        assert_eq!(config.policy.manager_approval_discount_pct, 20);
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let config =
            Config::from_toml("[slack]\nbot_token = \"xoxb-very-secret\"\nsigning_secret = \"shh-123\"\n").unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("xoxb-very-secret") && !debug.contains("shh-123"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("[shop]\ntimezone = \"Mars/Olympus\"", "shop.timezone"),
            ("[schedule]\nsummary_at = \"9pm\"", "schedule.summary_at"),
            ("[database]\nurl = \"mysql://x\"", "database.url"),
            ("[pos]\nprovider = \"square\"", "pos.square"),
            ("[pos]\nprovider = \"lightspeed\"", "pos.lightspeed"),
            ("[pos]\nprovider = \"toast\"", "pos.provider"),
            (
                "[pos]\nprovider = \"lightspeed\"\n[pos.lightspeed]\ndomain_prefix = \"corner.store\"\nclient_id = \"c\"\nclient_secret = \"s\"\nrefresh_token = \"r\"",
                "pos.lightspeed.domain_prefix",
            ),
            ("[[people]]\nname = \"A\"\nrole = \"boss\"", "people[0].role"),
            ("[[people]]\nname = \"A\"\nrole = \"staff\"\nphone = \"12\"", "people[0].phone"),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err}");
        }
    }
}
