//! Lightspeed X-Series API 2.0 to the shop's domain. Collections are `{"data": [...],
//! "version": {"min", "max"}}`, single objects `{"data": {...}}`. Money and quantities are
//! decimals in currency units, sent as numbers or strings ("10.00000"); times are ISO 8601
//! with an offset. Every variant is a product: the children of a family carry
//! `variant_parent_id` (the first variant, which names the item); a product without one is an
//! item of its own. The product type is the category.
//! Sales are orders; a return is a sale of its own (`return_for`, negative lines) that counts as
//! a refund on the sale it returns.

use crate::domain::{
    Category, CategoryId, Customer, CustomerId, Fulfilment, FulfilmentKind, FulfilmentState, Item, ItemId, Location,
    LocationId, Money, Order, OrderId, OrderLine, OrderState, Payment, PaymentStatus, Phone, Quantity, StockLevel,
    Tender, Variation, VariationId, Vendor, VendorId, VendorItem,
};
use crate::pos::PosError;
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;

/// A decimal as Lightspeed sends it: a JSON number or a string, kept as text so no cent is lost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decimal(pub String);

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        Ok(Decimal(match Raw::deserialize(deserializer)? {
            Raw::Text(text) => text,
            Raw::Number(n) => n.to_string(),
        }))
    }
}

impl Decimal {
    /// Rounded half away from zero to `places` decimals, as a fixed-point integer.
    fn fixed(&self, places: u32) -> Result<i64, PosError> {
        let mut text = self.0.trim().to_owned();
        let bad = || PosError::Malformed(format!("the decimal {:?}", self.0));
        if text.contains(['e', 'E']) {
            // A number printed in exponent form (1e-7): read as a float, then as text.
            text = format!("{:.6}", text.parse::<f64>().map_err(|_| bad())?);
        }
        let (negative, digits) = text.strip_prefix('-').map_or((false, text.as_str()), |rest| (true, rest));
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let places = places as usize;
        let keep = frac.len().min(places);
        let kept: i64 = format!("{:0<places$}", &frac[..keep]).parse().unwrap_or(0);
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let scale = 10i64.pow(places as u32);
        let mut value = whole.checked_mul(scale).and_then(|w| w.checked_add(kept)).ok_or_else(bad)?;
        if frac[keep..].starts_with(['5', '6', '7', '8', '9']) {
            value += 1;
        }
        Ok(if negative { -value } else { value })
    }

    pub fn money(&self) -> Result<Money, PosError> {
        self.fixed(2).map(Money::from_minor)
    }

    pub fn quantity(&self) -> Result<Quantity, PosError> {
        self.fixed(3).map(Quantity::from_milli)
    }
}

/// Money as the decimal text Lightspeed takes in request bodies (`"4.50"`).
pub fn decimal_text(m: Money) -> String {
    let minor = m.minor();
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.unsigned_abs() / 100, minor.unsigned_abs() % 100)
}

fn money(value: &Option<Decimal>) -> Result<Money, PosError> {
    value.as_ref().map_or(Ok(Money::ZERO), Decimal::money)
}

fn millis(text: Option<&str>) -> Result<i64, PosError> {
    let text = text.ok_or_else(|| PosError::Malformed("a timestamp is missing".into()))?;
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%#z"))
        .map(|t| t.timestamp_millis())
        .or_else(|_| {
            // Webhook payloads (API 0.9 shapes) send `2017-12-06 04:30:39` in UTC.
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc().timestamp_millis())
        })
        .map_err(|e| PosError::Malformed(format!("timestamp {text:?}: {e}")))
}

/// `{"min": 1, "max": 9}`: the version range of one page.
#[derive(Debug, Default, Deserialize)]
pub struct Versions {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// One page of a 2.0 collection.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    pub version: Option<Versions>,
}

/// A single object.
#[derive(Debug, Deserialize)]
pub struct One<T> {
    pub data: T,
}

/// `{"id", "name"}`, as product types and suppliers are embedded (`{}` when there is none).
#[derive(Debug, Default, Deserialize)]
pub struct Named {
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LsOutlet {
    pub id: String,
    pub name: String,
    pub time_zone: Option<String>,
    pub deleted_at: Option<String>,
}

impl LsOutlet {
    pub fn to_domain(&self) -> Location {
        Location {
            id: LocationId::new(&self.id),
            name: self.name.clone(),
            timezone: self.time_zone.clone().unwrap_or_else(|| "UTC".into()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct VariantOption {
    pub name: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ProductSupplier {
    pub supplier_id: Option<String>,
    pub price: Option<Decimal>,
    /// The supplier's code for the product.
    pub code: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LsProduct {
    pub id: String,
    pub name: String,
    pub variant_name: Option<String>,
    pub sku: Option<String>,
    pub active: Option<bool>,
    pub is_active: Option<bool>,
    pub deleted_at: Option<String>,
    #[serde(default)]
    pub has_variants: bool,
    pub variant_parent_id: Option<String>,
    #[serde(default)]
    pub variant_options: Vec<VariantOption>,
    pub price_excluding_tax: Option<Decimal>,
    pub supply_price: Option<Decimal>,
    #[serde(rename = "type")]
    pub product_type: Option<Named>,
    pub supplier_id: Option<String>,
    pub supplier: Option<Named>,
    #[serde(default)]
    pub product_suppliers: Vec<ProductSupplier>,
}

impl LsProduct {
    fn sellable(&self) -> bool {
        self.deleted_at.is_none() && self.active.or(self.is_active).unwrap_or(true)
    }

    fn item_id(&self) -> &str {
        self.variant_parent_id.as_deref().unwrap_or(&self.id)
    }

    /// "Large, Blue" from the option values; "Regular" for a product without variants.
    fn variation_name(&self) -> String {
        let values: Vec<&str> = self.variant_options.iter().filter_map(|o| o.value.as_deref()).collect();
        if values.is_empty() { "Regular".to_owned() } else { values.join(", ") }
    }
}

/// Items from products (inactive and deleted ones left out), categories from product types.
pub fn catalog(products: &[LsProduct]) -> Result<(Vec<Category>, Vec<Item>), PosError> {
    let mut categories: Vec<Category> = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    let by_id: HashMap<&str, &LsProduct> = products.iter().map(|p| (p.id.as_str(), p)).collect();
    for product in products.iter().filter(|p| p.sellable()) {
        let parent = product.variant_parent_id.as_deref().and_then(|id| by_id.get(id)).copied();
        let typed = parent.unwrap_or(product).product_type.as_ref();
        let category = typed.and_then(|t| Some((t.id.clone()?, t.name.clone().unwrap_or_default())));
        if let Some((id, name)) = &category
            && !categories.iter().any(|c| c.id.as_str() == id)
        {
            categories.push(Category { id: CategoryId::new(id), name: name.clone() });
        }
        let variation = Variation {
            id: VariationId::new(&product.id),
            item_id: ItemId::new(product.item_id()),
            name: product.variation_name(),
            sku: product.sku.clone().filter(|s| !s.is_empty()),
            price: money(&product.price_excluding_tax)?,
            low_stock_at: None,
        };
        match items.iter_mut().find(|i| i.id.as_str() == product.item_id()) {
            Some(item) => item.variations.push(variation),
            None => items.push(Item {
                id: ItemId::new(product.item_id()),
                name: parent.unwrap_or(product).name.clone(),
                category_id: category.map(|(id, _)| CategoryId::new(id)),
                variations: vec![variation],
            }),
        }
    }
    Ok((categories, items))
}

/// What each supplier charges: the product's own supplier prices, else its supplier and
/// supply price.
pub fn vendor_terms(products: &[LsProduct]) -> Result<Vec<VendorItem>, PosError> {
    let mut terms = Vec::new();
    for product in products.iter().filter(|p| p.sellable()) {
        let mut add = |supplier: &str, cost: Money, code: Option<&String>| {
            terms.push(VendorItem {
                vendor_id: VendorId::new(supplier),
                variation_id: VariationId::new(&product.id),
                unit_cost: cost,
                pack_size: 1,
                minimum_quantity: 1,
                price_tiers: Vec::new(),
                vendor_sku: code.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()),
            })
        };
        if product.product_suppliers.is_empty() {
            let supplier = product.supplier_id.clone().or_else(|| product.supplier.as_ref().and_then(|s| s.id.clone()));
            if let Some(supplier) = supplier {
                add(&supplier, money(&product.supply_price)?, None);
            }
        }
        for entry in &product.product_suppliers {
            if let Some(supplier) = &entry.supplier_id {
                add(supplier, money(&entry.price)?, entry.code.as_ref());
            }
        }
    }
    Ok(terms)
}

/// One product at one outlet.
#[derive(Debug, Deserialize)]
pub struct LsInventory {
    pub product_id: String,
    pub outlet_id: String,
    pub inventory_level: Option<Decimal>,
    pub current_amount: Option<Decimal>,
}

impl LsInventory {
    /// Inventory records carry no time: the figure is as of `now_ms`, when it was read.
    pub fn to_domain(&self, now_ms: i64) -> Result<StockLevel, PosError> {
        let level = self.inventory_level.as_ref().or(self.current_amount.as_ref());
        Ok(StockLevel {
            variation_id: VariationId::new(&self.product_id),
            location_id: LocationId::new(&self.outlet_id),
            on_hand: level.map_or(Ok(Quantity::ZERO), Decimal::quantity)?,
            counted_at_ms: now_ms,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct LsLine {
    pub product_id: Option<String>,
    pub quantity: Option<Decimal>,
    /// Unit price, tax excluded.
    pub price: Option<Decimal>,
    pub total_discount: Option<Decimal>,
    pub discount_total: Option<Decimal>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LsPayment {
    pub id: String,
    pub payment_type_id: Option<Decimal>,
    pub name: Option<String>,
    pub amount: Option<Decimal>,
    pub payment_date: Option<String>,
    pub deleted_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LsSale {
    pub id: String,
    pub outlet_id: Option<String>,
    pub customer_id: Option<String>,
    pub invoice_number: Option<String>,
    pub status: Option<String>,
    /// `onaccount`, `layby`, `delivery`, `pickup`, `service` (the newer states-and-attributes).
    #[serde(default)]
    pub attributes: Vec<String>,
    pub return_for: Option<String>,
    pub total_price: Option<Decimal>,
    pub total_tax: Option<Decimal>,
    pub sale_date: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    #[serde(default)]
    pub line_items: Vec<LsLine>,
    #[serde(default)]
    pub payments: Vec<LsPayment>,
}

impl LsSale {
    pub fn is_return(&self) -> bool {
        self.return_for.is_some()
    }

    /// When the sale was made: `sale_date`, else when it was created.
    pub fn at_ms(&self) -> Result<i64, PosError> {
        millis(self.sale_date.as_deref().or(self.created_at.as_deref()))
    }

    /// What the customer paid, tax included.
    pub fn total(&self) -> Result<Money, PosError> {
        Ok(money(&self.total_price)? + money(&self.total_tax)?)
    }

    fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("CLOSED")
    }

    fn state(&self) -> OrderState {
        match self.status() {
            "VOIDED" => OrderState::Cancelled,
            s if s == "CLOSED" || s.ends_with("_CLOSED") => OrderState::Completed,
            _ => OrderState::Open,
        }
    }

    /// Delivery and pickup sales (dispatched is as far as Lightspeed follows a delivery, and it
    /// records no carrier or tracking), laybys and account sales, with what is still owed.
    fn fulfilment(&self) -> Result<Option<Fulfilment>, PosError> {
        let status = self.status();
        let has = |attribute: &str| self.attributes.iter().any(|a| a.eq_ignore_ascii_case(attribute));
        let kind = if status.starts_with("LAYBY") || has("layby") {
            FulfilmentKind::Layby
        } else if status.starts_with("ONACCOUNT") || has("onaccount") {
            FulfilmentKind::OnAccount
        } else if status.contains("PICKUP") || status.starts_with("PICKED_UP") || has("pickup") {
            FulfilmentKind::Pickup
        } else if status.contains("DISPATCH") || has("delivery") {
            FulfilmentKind::Shipment
        } else {
            return Ok(None);
        };
        let state = match status {
            "VOIDED" => FulfilmentState::Cancelled,
            "AWAITING_DISPATCH" => FulfilmentState::Unfulfilled,
            "DISPATCHED_CLOSED" => FulfilmentState::Shipped,
            "AWAITING_PICKUP" => FulfilmentState::ReadyForPickup,
            "PICKED_UP_CLOSED" | "LAYBY_CLOSED" | "ONACCOUNT_CLOSED" => FulfilmentState::Delivered,
            _ if kind == FulfilmentKind::Pickup => FulfilmentState::ReadyForPickup,
            _ => FulfilmentState::Unfulfilled,
        };
        let balance_due = if matches!(kind, FulfilmentKind::Layby | FulfilmentKind::OnAccount) {
            let mut paid = Money::ZERO;
            for payment in self.payments.iter().filter(|p| p.deleted_at.is_none()) {
                paid += money(&payment.amount)?;
            }
            let owed = self.total()? - paid;
            Some(if state == FulfilmentState::Unfulfilled && owed > Money::ZERO { owed } else { Money::ZERO })
        } else {
            None
        };
        Ok(Some(Fulfilment {
            kind,
            state,
            carrier: None,
            tracking_number: None,
            tracking_url: None,
            updated_at_ms: millis(self.updated_at.as_deref().or(self.sale_date.as_deref()))?,
            balance_due,
        }))
    }

    /// The order, with `refunded` from the returns made against it; `names` gives each
    /// product's display name (sale lines carry only the product id).
    pub fn to_domain(&self, refunded: Money, names: &HashMap<String, String>) -> Result<Order, PosError> {
        let mut lines = Vec::new();
        let mut discount = Money::ZERO;
        for line in self.line_items.iter().filter(|l| l.status.as_deref() != Some("VOIDED")) {
            let line_discount = money(&line.total_discount.clone().or_else(|| line.discount_total.clone()))?;
            discount += line_discount;
            lines.push(OrderLine {
                variation_id: line.product_id.as_ref().map(VariationId::new),
                name: line.product_id.as_ref().and_then(|p| names.get(p)).cloned().unwrap_or_else(|| "Item".into()),
                quantity: line.quantity.as_ref().map_or(Ok(Quantity::ZERO), Decimal::quantity)?,
                unit_price: money(&line.price)?,
                discount: line_discount,
            });
        }
        Ok(Order {
            id: OrderId::new(&self.id),
            number: crate::domain::order::normalize_order_number(self.invoice_number.as_deref().unwrap_or(&self.id)),
            location_id: LocationId::new(self.outlet_id.as_deref().unwrap_or_default()),
            customer_id: self.customer_id.as_ref().map(CustomerId::new),
            created_at_ms: self.at_ms()?,
            state: self.state(),
            lines,
            total: self.total()?,
            discount,
            refunded,
            fulfilment: self.fulfilment()?,
        })
    }

    /// What a return gave back: the money paid out, else its (negative) total.
    pub fn refund(&self) -> Result<Money, PosError> {
        let paid: Money = self.payments.iter().map(|p| money(&p.amount)).sum::<Result<Money, PosError>>()?;
        let given = if paid == Money::ZERO { self.total()? } else { paid };
        Ok(Money::from_minor(-given.minor()))
    }

    /// The sale's payments; `refunded` (from its returns) counts against the first.
    pub fn payments(&self, refunded: Money) -> Result<Vec<Payment>, PosError> {
        let mut out = Vec::new();
        for (i, p) in self.payments.iter().filter(|p| p.deleted_at.is_none()).enumerate() {
            out.push(Payment {
                id: p.id.clone(),
                order_id: Some(OrderId::new(&self.id)),
                location_id: LocationId::new(self.outlet_id.as_deref().unwrap_or_default()),
                created_at_ms: millis(p.payment_date.as_deref().or(self.sale_date.as_deref()))?,
                amount: money(&p.amount)?,
                tip: Money::ZERO,
                refunded: if i == 0 { refunded } else { Money::ZERO },
                status: if self.status() == "VOIDED" { PaymentStatus::Cancelled } else { PaymentStatus::Completed },
                tender: tender(p.payment_type_id.as_ref().map(|t| t.0.as_str()), p.name.as_deref()),
                card_last4: None,
                card_entry: None,
            });
        }
        Ok(out)
    }
}

/// Lightspeed's payment type ids: 1 cash, 118 gift card; card types by name otherwise (the
/// shop names its own payment types).
fn tender(type_id: Option<&str>, name: Option<&str>) -> Tender {
    let name = name.unwrap_or_default().to_lowercase();
    match type_id {
        Some("1") => Tender::Cash,
        Some("118") => Tender::GiftCard,
        _ if name.contains("gift") => Tender::GiftCard,
        _ if name.contains("cash") => Tender::Cash,
        _ if ["card", "credit", "debit", "eftpos", "visa", "mastercard", "amex"].iter().any(|c| name.contains(c)) => {
            Tender::Card
        }
        _ if name.contains("pay") => Tender::Wallet,
        _ => Tender::Other,
    }
}

/// Orders from sales, each return folded into the sale it returns (when that sale is among
/// them) rather than standing as an order of its own.
pub fn orders(sales: &[LsSale], names: &HashMap<String, String>) -> Result<Vec<Order>, PosError> {
    let refunds = refunds(sales)?;
    sales
        .iter()
        .filter(|s| !s.is_return())
        .map(|s| s.to_domain(refunds.get(s.id.as_str()).copied().unwrap_or_default(), names))
        .collect()
}

/// Money given back per returned sale id.
pub fn refunds(sales: &[LsSale]) -> Result<HashMap<&str, Money>, PosError> {
    let mut refunds: HashMap<&str, Money> = HashMap::new();
    for sale in sales.iter().filter(|s| s.status() != "VOIDED") {
        if let Some(original) = &sale.return_for {
            *refunds.entry(original.as_str()).or_default() += sale.refund()?;
        }
    }
    Ok(refunds)
}

#[derive(Debug, Deserialize)]
pub struct LsCustomer {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub deleted_at: Option<String>,
}

impl LsCustomer {
    /// Both numbers are free text typed at the till; the mobile is the one a customer texts
    /// from.
    pub fn phones(&self) -> Vec<Phone> {
        [&self.mobile, &self.phone].into_iter().flatten().filter_map(|p| Phone::parse(p)).collect()
    }

    pub fn to_domain(&self) -> Customer {
        Customer {
            id: CustomerId::new(&self.id),
            given_name: self.first_name.clone().unwrap_or_default(),
            family_name: self.last_name.clone().unwrap_or_default(),
            phone: self.phones().into_iter().next(),
            email: self.email.as_deref().map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LsContact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LsSupplier {
    pub id: String,
    pub name: String,
    pub contact: Option<LsContact>,
    pub deleted_at: Option<String>,
}

impl LsSupplier {
    /// Lead times and minimums are not kept by Lightspeed; `tillpilot import vendors` adds them.
    pub fn to_domain(&self) -> Vendor {
        let contact = self.contact.as_ref();
        Vendor {
            id: VendorId::new(&self.id),
            name: self.name.clone(),
            email: contact.and_then(|c| c.email.clone()).filter(|e| !e.is_empty()),
            phone: contact.and_then(|c| c.phone.clone().or_else(|| c.mobile.clone())).filter(|p| !p.is_empty()),
            lead_time_days: 0,
            minimum_order: Money::ZERO,
        }
    }
}

/// A consignment (stock order, transfer, return or inventory count).
#[derive(Debug, Deserialize)]
pub struct LsConsignment {
    pub id: String,
    pub name: Option<String>,
    pub reference: Option<String>,
    pub outlet_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub status: Option<String>,
    pub deleted_at: Option<String>,
}

/// One product line of a consignment.
#[derive(Debug, Deserialize)]
pub struct LsConsignmentLine {
    pub product_id: String,
    pub count: Option<Decimal>,
    pub received: Option<Decimal>,
}

/// The token endpoint's answer.
#[derive(Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    /// When the access token expires, in unix seconds.
    pub expires: Option<i64>,
    pub expires_in: Option<i64>,
    pub refresh_token: Option<String>,
}

/// `{"error": "...", "message": "..."}` error bodies.
#[derive(Deserialize)]
pub struct ErrorBody {
    pub error: Option<serde_json::Value>,
    pub message: Option<String>,
}
