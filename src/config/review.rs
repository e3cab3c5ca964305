//! `[review]`: the checkout assistant. The POS middleware's bearer token, where approval
//! decisions may be called back to, how the middleware's store ids map to locations, the
//! loyalty discounts (`[[review.loyalty]]`) and the fraud rules (`[review.fraud]`).

use super::{ConfigError, PolicyConfig, Secret, invalid};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewConfig {
    /// What the POS middleware sends as `Authorization: Bearer ...`; also the key the decision
    /// callbacks are signed with.
    pub bearer_token: Secret,
    /// URL prefixes a request's `callback_url` must start with; none means no callbacks.
    #[serde(default)]
    pub callback_allow: Vec<String>,
    /// The middleware's `store_id` to the POS location id, where they differ.
    #[serde(default)]
    pub stores: BTreeMap<String, String>,
    /// How far (in the shop's currency) a cart's total may fall below its items, after its
    /// declared discounts, before the gap counts as an unexplained discount.
    #[serde(default = "default_tolerance")]
    pub total_tolerance: f64,
    /// At most this many add-on suggestions a cart.
    #[serde(default = "default_max_addons")]
    pub max_addons: usize,
    /// Minutes a cashier's manager-approval request stays open.
    #[serde(default = "default_approval_minutes")]
    pub approval_minutes: u32,
    #[serde(default)]
    pub loyalty: Vec<LoyaltyRule>,
    #[serde(default)]
    pub fraud: FraudConfig,
}

fn default_tolerance() -> f64 {
    0.50
}
fn default_max_addons() -> usize {
    2
}
fn default_approval_minutes() -> u32 {
    15
}

/// A loyalty discount: when every condition given holds, the cashier is told to apply `code`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoyaltyRule {
    pub code: String,
    /// Percent off the eligible items (never above `policy.manager_approval_discount_pct`).
    pub percent: f64,
    /// Customer segments the rule is for (any, when empty).
    #[serde(default)]
    pub segments: Vec<String>,
    /// The cart's items come to at least this much.
    pub min_spend: Option<f64>,
    /// The customer was reviewed at checkout at least this many times in the last 30 days.
    pub min_visits: Option<u32>,
    /// The cart holds an item of one of these categories; the discount is then on those items.
    #[serde(default)]
    pub categories: Vec<String>,
    /// What the cashier reads; a sentence is made from the conditions when absent.
    pub reason: Option<String>,
}

/// The fraud rules. Each one that fires adds its weight to the risk score, combined as
/// independent evidence (`1 - (1 - a)(1 - b)...`), so the score stays between 0 and 1.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FraudConfig {
    /// A score at or above this flags the cart to the managers.
    pub flag_at: f64,
    /// Gift cards sold on one register, or to one customer, within `gift_card_window_minutes`.
    pub gift_card_burst: u32,
    pub gift_card_window_minutes: u32,
    pub gift_card_burst_weight: f64,
    /// Gift cards worth at least this much to a customer the shop does not know.
    pub gift_card_high_value: f64,
    pub gift_card_new_customer_weight: f64,
    /// Gift cards paid for with a gift card.
    pub gift_card_with_gift_card_weight: f64,
    /// A total that its items (less declared discounts) do not explain.
    pub total_mismatch_weight: f64,
    /// Voided lines or price overrides by one cashier within `cashier_window_minutes`.
    pub cashier_voids: u32,
    pub cashier_overrides: u32,
    pub cashier_window_minutes: u32,
    pub cashier_weight: f64,
    /// Category names (case-insensitive) whose items are gift cards, besides any item whose
    /// name or category says "gift card".
    pub gift_card_categories: Vec<String>,
}

impl Default for FraudConfig {
    fn default() -> Self {
        FraudConfig {
            flag_at: 0.5,
            gift_card_burst: 3,
            gift_card_window_minutes: 30,
            gift_card_burst_weight: 0.5,
            gift_card_high_value: 200.0,
            gift_card_new_customer_weight: 0.35,
            gift_card_with_gift_card_weight: 0.6,
            total_mismatch_weight: 0.6,
            cashier_voids: 5,
            cashier_overrides: 3,
            cashier_window_minutes: 60,
            cashier_weight: 0.35,
            gift_card_categories: vec!["Gift Cards".into()],
        }
    }
}

impl ReviewConfig {
    /// A config with only a token, as the demo and tests start from.
    pub fn with_token(token: &str) -> ReviewConfig {
        ReviewConfig {
            bearer_token: Secret::new(token),
            callback_allow: Vec::new(),
            stores: BTreeMap::new(),
            total_tolerance: default_tolerance(),
            max_addons: default_max_addons(),
            approval_minutes: default_approval_minutes(),
            loyalty: Vec::new(),
            fraud: FraudConfig::default(),
        }
    }

    pub(super) fn validate(&self, policy: &PolicyConfig) -> Result<(), ConfigError> {
        if self.bearer_token.expose().len() < 16 {
            return Err(invalid("review.bearer_token", "expected at least 16 characters"));
        }
        for (i, prefix) in self.callback_allow.iter().enumerate() {
            let ok = reqwest::Url::parse(prefix)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.username().is_empty());
            if !ok {
                return Err(invalid(
                    &format!("review.callback_allow[{i}]"),
                    format!("expected an http(s) URL prefix like https://pos.example.com/callbacks/, got {prefix:?}"),
                ));
            }
        }
        if !(self.total_tolerance >= 0.0 && self.total_tolerance.is_finite()) {
            return Err(invalid("review.total_tolerance", "expected an amount of zero or more"));
        }
        let cap = f64::from(policy.manager_approval_discount_pct);
        for (i, rule) in self.loyalty.iter().enumerate() {
            let key = |field: &str| format!("review.loyalty[{i}].{field}");
            if rule.code.trim().is_empty() {
                return Err(invalid(&key("code"), "expected the discount code the POS knows"));
            }
            if !(rule.percent > 0.0 && rule.percent <= cap) {
                return Err(invalid(
                    &key("percent"),
                    format!(
                        "expected more than 0 and at most policy.manager_approval_discount_pct ({cap}), got {}",
                        rule.percent
                    ),
                ));
            }
            if let Some(banned) = rule
                .categories
                .iter()
                .find(|c| policy.never_discount_categories.iter().any(|n| n.eq_ignore_ascii_case(c.as_str())))
            {
                return Err(invalid(
                    &key("categories"),
                    format!("{banned:?} is in policy.never_discount_categories; it cannot carry a discount"),
                ));
            }
        }
        let f = &self.fraud;
        let weights = [
            ("flag_at", f.flag_at),
            ("gift_card_burst_weight", f.gift_card_burst_weight),
            ("gift_card_new_customer_weight", f.gift_card_new_customer_weight),
            ("gift_card_with_gift_card_weight", f.gift_card_with_gift_card_weight),
            ("total_mismatch_weight", f.total_mismatch_weight),
            ("cashier_weight", f.cashier_weight),
        ];
        for (name, value) in weights {
            if !(0.0..=1.0).contains(&value) {
                return Err(invalid(&format!("review.fraud.{name}"), format!("expected 0 to 1, got {value}")));
            }
        }
        Ok(())
    }

    /// Whether `url` may be called back: an http(s) URL without credentials that starts with
    /// one of `callback_allow`, where the prefix ends at a path boundary (so
    /// `https://pos.example.com` does not admit `https://pos.example.com.evil.test`).
    pub fn callback_allowed(&self, url: &str) -> bool {
        let Ok(parsed) = reqwest::Url::parse(url) else { return false };
        if !matches!(parsed.scheme(), "http" | "https") || !parsed.username().is_empty() || parsed.password().is_some()
        {
            return false;
        }
        let url = parsed.as_str();
        self.callback_allow.iter().any(|prefix| {
            let prefix = reqwest::Url::parse(prefix).map_or_else(|_| prefix.clone(), |p| p.as_str().to_owned());
            url.starts_with(&prefix)
                && (prefix.ends_with('/') || matches!(url[prefix.len()..].chars().next(), None | Some('/' | '?' | '#')))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_only_go_under_an_allowed_prefix() {
        let mut review = ReviewConfig::with_token("0123456789abcdef");
        review.callback_allow = vec!["https://pos.example.com".into(), "http://127.0.0.1:9000/hooks/".into()];
        assert!(review.callback_allowed("https://pos.example.com/decisions"));
        assert!(review.callback_allowed("http://127.0.0.1:9000/hooks/approval"));
        assert!(!review.callback_allowed("https://pos.example.com.evil.test/decisions"));
        assert!(!review.callback_allowed("https://user:pw@pos.example.com/decisions"));
        assert!(!review.callback_allowed("http://127.0.0.1:9000/admin"));
        assert!(!review.callback_allowed("http://169.254.169.254/latest/meta-data"));
        assert!(!review.callback_allowed("file:///etc/passwd"));
    }

    #[test]
    fn a_loyalty_discount_cannot_exceed_the_approval_threshold() {
        let policy = PolicyConfig::default();
        let mut review = ReviewConfig::with_token("0123456789abcdef");
        review.loyalty.push(LoyaltyRule {
            code: "VIP20".into(),
            percent: 20.0,
            segments: vec![],
            min_spend: None,
            min_visits: None,
            categories: vec![],
            reason: None,
        });
        let err = review.validate(&policy).unwrap_err().to_string();
        assert!(err.contains("review.loyalty[0].percent"), "{err}");
        review.loyalty[0].percent = 10.0;
        assert!(review.validate(&policy).is_ok());
    }
}
