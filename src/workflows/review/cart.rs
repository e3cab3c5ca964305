//! The cart as the POS middleware posts it to `POST /api/ai/transaction-review`, read into a
//! checked `Cart` (money in cents, quantities in thousandths), and the answer it gets back.
//!
//! Request: `{"store_id", "register_id", "transaction_id", "timestamp", "total_amount",
//! "tender_type", "items": [{"sku", "name", "quantity", "unit_price", "category"}],
//! "customer": {"loyalty_id", "segment"}}`, optionally `"discounts": [{"code", "percent" |
//! "amount", "scope"}]`, `"cashier_id"` and `"callback_url"`. Two optional fields feed the
//! cashier rules: an item's `"original_unit_price"` (set when the cashier overrode the price)
//! and the cart's `"voided_lines"` (lines voided before the total). Unknown fields are
//! ignored, so the middleware can send more than this reads.

use crate::domain::{Money, Quantity};
use serde::{Deserialize, Serialize};
use serde_json::Number;

/// The most lines one cart may carry.
pub const MAX_LINES: usize = 500;
/// The largest amount any one field may carry (major units), far above any real checkout.
const MAX_AMOUNT_CENTS: i64 = 100_000_000;

#[derive(Deserialize)]
struct RawCart {
    store_id: String,
    register_id: String,
    transaction_id: String,
    timestamp: String,
    total_amount: Number,
    tender_type: String,
    items: Vec<RawItem>,
    #[serde(default)]
    customer: Option<RawCustomer>,
    #[serde(default)]
    discounts: Vec<RawDiscount>,
    #[serde(default)]
    cashier_id: Option<String>,
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default)]
    voided_lines: Option<u32>,
}

#[derive(Deserialize)]
struct RawItem {
    sku: String,
    #[serde(default)]
    name: String,
    quantity: Number,
    unit_price: Number,
    #[serde(default)]
    category: String,
    #[serde(default)]
    original_unit_price: Option<Number>,
}

#[derive(Deserialize)]
struct RawCustomer {
    #[serde(default)]
    loyalty_id: Option<String>,
    #[serde(default)]
    segment: Option<String>,
}

#[derive(Deserialize)]
struct RawDiscount {
    code: String,
    #[serde(default)]
    percent: Option<Number>,
    #[serde(default)]
    amount: Option<Number>,
    #[serde(default)]
    scope: Option<String>,
}

/// A line of the cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub sku: String,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub category: String,
    /// The price before the cashier overrode it.
    pub original_unit_price: Option<Money>,
}

impl Line {
    pub fn amount(&self) -> Money {
        self.unit_price.times_milli(self.quantity.milli())
    }
}

/// What a declared discount takes off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Off {
    /// Hundredths of a percent.
    Percent(i64),
    Amount(Money),
}

/// A discount the cashier has put on the cart. `scope` is `cart` (or absent), a SKU, or
/// `category:NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discount {
    pub code: String,
    pub off: Off,
    pub scope: Option<String>,
}

impl Discount {
    /// Whether `line` is one this discount applies to.
    pub fn covers(&self, line: &Line) -> bool {
        match self.scope.as_deref().map(str::trim) {
            None | Some("") | Some("cart") => true,
            Some(scope) => match scope.strip_prefix("category:") {
                Some(category) => line.category.eq_ignore_ascii_case(category.trim()),
                None => line.sku == scope,
            },
        }
    }
}

/// A checked cart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cart {
    pub store_id: String,
    pub register_id: String,
    pub transaction_id: String,
    pub timestamp: String,
    pub total: Money,
    pub tender_type: String,
    pub lines: Vec<Line>,
    pub loyalty_id: Option<String>,
    pub segment: Option<String>,
    pub discounts: Vec<Discount>,
    pub cashier_id: Option<String>,
    pub callback_url: Option<String>,
    pub voided_lines: u32,
}

impl Cart {
    /// What the items come to before any discount.
    pub fn items_total(&self) -> Money {
        self.lines.iter().map(Line::amount).sum()
    }

    /// What the declared discounts take off, each on the lines it covers.
    pub fn declared_off(&self) -> Money {
        self.discounts.iter().map(|d| self.discount_amount(d)).sum()
    }

    /// What one declared discount takes off.
    pub fn discount_amount(&self, discount: &Discount) -> Money {
        match discount.off {
            Off::Amount(amount) => amount,
            Off::Percent(hundredths) => {
                let base: Money = self.lines.iter().filter(|l| discount.covers(l)).map(Line::amount).sum();
                Money::from_minor((base.minor() * hundredths + 5_000) / 10_000)
            }
        }
    }

    /// The percentage a declared discount is of what it covers, in hundredths of a percent.
    pub fn discount_share(&self, discount: &Discount) -> i64 {
        match discount.off {
            Off::Percent(hundredths) => hundredths,
            Off::Amount(amount) => {
                let base: Money = self.lines.iter().filter(|l| discount.covers(l)).map(Line::amount).sum();
                if base.minor() <= 0 { 10_000 } else { amount.minor() * 10_000 / base.minor() }
            }
        }
    }
}

/// Why a cart was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct CartError(pub String);

fn bad(message: impl Into<String>) -> CartError {
    CartError(message.into())
}

/// A field of line or discount `.0`, named only when a refusal needs the name.
struct Nth(&'static str, usize, &'static str);

impl std::fmt::Display for Nth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}].{}", self.0, self.1, self.2)
    }
}

/// `value` trimmed and cut to `max` characters, reusing its buffer when nothing changes.
fn clipped(value: String, max: usize) -> String {
    let trimmed = value.trim();
    if trimmed.len() == value.len() && value.len() <= max {
        return value;
    }
    trimmed.chars().take(max).collect()
}

/// `value` trimmed, reusing its buffer when it has nothing to trim.
fn trimmed(value: String) -> String {
    if value.trim().len() == value.len() { value } else { value.trim().to_owned() }
}

fn money(field: impl std::fmt::Display, number: &Number) -> Result<Money, CartError> {
    let money = Money::parse_major(&number.to_string())
        .ok_or_else(|| bad(format!("{field}: expected an amount with at most two decimals, got {number}")))?;
    if !(0..=MAX_AMOUNT_CENTS).contains(&money.minor()) {
        return Err(bad(format!("{field}: expected an amount from 0 to 1000000, got {number}")));
    }
    Ok(money)
}

fn text(field: impl std::fmt::Display, value: String, max: usize) -> Result<String, CartError> {
    let value = trimmed(value);
    if value.is_empty() {
        return Err(bad(format!("{field}: must not be empty")));
    }
    if value.chars().count() > max {
        return Err(bad(format!("{field}: at most {max} characters")));
    }
    Ok(value)
}

fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, CartError> {
    match value.map(trimmed).filter(|v| !v.is_empty()) {
        Some(v) => text(field, v, max).map(Some),
        None => Ok(None),
    }
}

/// Reads and checks a request body. Every refusal names the field and what it expected.
pub fn parse(body: &[u8]) -> Result<Cart, CartError> {
    // The fast path reads the cart directly; only a refused one is read again to say where.
    let raw: RawCart = match serde_json::from_slice(body) {
        Ok(raw) => raw,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            let err = match serde_path_to_error::deserialize::<_, RawCart>(&mut de) {
                Ok(_) => return Err(bad("not a cart")),
                Err(err) => err,
            };
            let path = err.path().to_string();
            let inner = err.into_inner();
            return Err(if path == "." {
                bad(format!("not a cart: {inner}"))
            } else {
                bad(format!("{path}: {inner}"))
            });
        }
    };
    if raw.items.is_empty() {
        return Err(bad("items: a cart needs at least one item"));
    }
    if raw.items.len() > MAX_LINES {
        return Err(bad(format!("items: at most {MAX_LINES} lines")));
    }
    if chrono::DateTime::parse_from_rfc3339(raw.timestamp.trim()).is_err() {
        return Err(bad(format!("timestamp: expected RFC 3339 like 2025-04-15T10:28:37Z, got {:?}", raw.timestamp)));
    }
    let mut lines = Vec::with_capacity(raw.items.len());
    for (i, item) in raw.items.into_iter().enumerate() {
        let field = |f: &'static str| Nth("items", i, f);
        let quantity = Quantity::parse(&item.quantity.to_string())
            .filter(|q| q.milli() > 0 && q.milli() <= 100_000_000)
            .ok_or_else(|| {
                bad(format!("{}: expected a positive quantity, got {}", field("quantity"), item.quantity))
            })?;
        lines.push(Line {
            sku: text(field("sku"), item.sku, 64)?,
            name: clipped(item.name, 200),
            quantity,
            unit_price: money(field("unit_price"), &item.unit_price)?,
            category: clipped(item.category, 100),
            original_unit_price: item
                .original_unit_price
                .as_ref()
                .map(|n| money(field("original_unit_price"), n))
                .transpose()?,
        });
    }
    let mut discounts = Vec::with_capacity(raw.discounts.len());
    for (i, d) in raw.discounts.into_iter().enumerate() {
        let field = |f: &'static str| Nth("discounts", i, f);
        let off = match (d.percent, d.amount) {
            (Some(p), None) => {
                let hundredths = crate::domain::Quantity::parse(&p.to_string())
                    .map(|q| q.milli() / 10)
                    .filter(|h| (0..=10_000).contains(h))
                    .ok_or_else(|| bad(format!("{}: expected 0 to 100, got {p}", field("percent"))))?;
                Off::Percent(hundredths)
            }
            (None, Some(a)) => Off::Amount(money(field("amount"), &a)?),
            _ => return Err(bad(format!("discounts[{i}]: give either percent or amount"))),
        };
        discounts.push(Discount {
            code: text(field("code"), d.code, 64)?,
            off,
            scope: optional("scope", d.scope, 100)?,
        });
    }
    let (loyalty_id, segment) = match raw.customer {
        Some(c) => (optional("customer.loyalty_id", c.loyalty_id, 64)?, optional("customer.segment", c.segment, 64)?),
        None => (None, None),
    };
    Ok(Cart {
        store_id: text("store_id", raw.store_id, 64)?,
        register_id: text("register_id", raw.register_id, 64)?,
        transaction_id: text("transaction_id", raw.transaction_id, 128)?,
        timestamp: trimmed(raw.timestamp),
        total: money("total_amount", &raw.total_amount)?,
        tender_type: text("tender_type", raw.tender_type, 32)?.to_ascii_lowercase(),
        lines,
        loyalty_id,
        segment,
        discounts,
        cashier_id: optional("cashier_id", raw.cashier_id, 64)?,
        callback_url: optional("callback_url", raw.callback_url, 2048)?,
        voided_lines: raw.voided_lines.unwrap_or(0),
    })
}

/// What the cashier is told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ApplyDiscount,
    SuggestAddon,
    FlagRisk,
    RequireManagerApproval,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Recommendation {
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    pub reason: String,
    pub confidence: f64,
}

impl Recommendation {
    pub fn new(action: Action, reason: impl Into<String>, confidence: f64) -> Recommendation {
        Recommendation {
            action,
            discount_code: None,
            sku: None,
            approval_id: None,
            reason: reason.into(),
            confidence: (confidence.clamp(0.0, 1.0) * 100.0).round() / 100.0,
        }
    }
}

/// The answer to the POS middleware.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub review_id: String,
    pub risk_score: f64,
    pub recommendations: Vec<Recommendation>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"store_id":"STORE_789","register_id":"REG_03","transaction_id":"TXN_20250415_102837",
 "timestamp":"2025-04-15T10:28:37Z","total_amount":149.99,"tender_type":"credit_card",
 "items":[{"sku":"APPLE_AIRPODS_PRO","name":"AirPods Pro (2nd Gen)","quantity":1,"unit_price":249.99,"category":"Electronics/Audio"},
          {"sku":"USB_C_CABLE_1M","name":"USB-C to USB-C Cable (1m)","quantity":1,"unit_price":19.99,"category":"Accessories/Cables"}],
 "customer":{"loyalty_id":"LOY_55621","segment":"tech_enthusiast"}}"#;

    #[test]
    fn reads_the_cart_the_middleware_sends() {
        let cart = parse(EXAMPLE.as_bytes()).unwrap();
        assert_eq!(cart.total, Money::from_minor(14_999));
        assert_eq!(cart.items_total(), Money::from_minor(26_998));
        assert_eq!(cart.loyalty_id.as_deref(), Some("LOY_55621"));
        assert_eq!(cart.lines[0].quantity, Quantity::from_units(1));
    }

    #[test]
    fn refusals_name_the_field() {
        let no_items = EXAMPLE.replace(r#""quantity":1,"unit_price":249.99"#, r#""quantity":0,"unit_price":249.99"#);
        assert!(parse(no_items.as_bytes()).unwrap_err().0.contains("items[0].quantity"));
        let negative = EXAMPLE.replace("149.99", "-1");
        assert!(parse(negative.as_bytes()).unwrap_err().0.contains("total_amount"));
        let fractional = EXAMPLE.replace("149.99", "149.999");
        assert!(parse(fractional.as_bytes()).unwrap_err().0.contains("total_amount"));
        let missing = EXAMPLE.replace(r#""register_id":"REG_03","#, "");
        assert!(parse(missing.as_bytes()).unwrap_err().0.contains("register_id"));
        assert!(parse(b"[1,2]").is_err());
        let both = EXAMPLE.replace(r#""customer""#, r#""discounts":[{"code":"X","percent":10,"amount":5}],"customer""#);
        assert!(parse(both.as_bytes()).unwrap_err().0.contains("discounts[0]"));
    }

    #[test]
    fn a_percent_discount_covers_its_scope() {
        let with = EXAMPLE.replace(
            r#""customer""#,
            r#""discounts":[{"code":"CABLES20","percent":20,"scope":"category:Accessories/Cables"}],"customer""#,
        );
        let cart = parse(with.as_bytes()).unwrap();
        assert_eq!(cart.declared_off(), Money::from_minor(400));
        assert_eq!(cart.discount_share(&cart.discounts[0]), 2_000);
    }
}
