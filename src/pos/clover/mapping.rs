//! Clover JSON to the shop's domain. Money is integer cents, times are epoch milliseconds,
//! quantities are decimals (`unitQty` on a line is in thousandths). Clover has one location
//! per merchant, item groups where Square has items with variations, and no vendors.

use super::client::Elements;
use crate::domain::{
    Category, CategoryId, Customer, CustomerId, Item, ItemId, Location, LocationId, Money, Order, OrderId, OrderLine,
    OrderState, Phone, Quantity, StockLevel, Variation, VariationId,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Id {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct CloverMerchant {
    pub id: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CloverProperties {
    pub timezone: Option<String>,
}

pub fn location(merchant: &CloverMerchant, properties: Option<&CloverProperties>) -> Location {
    Location {
        id: LocationId::new(&merchant.id),
        name: merchant.name.clone().unwrap_or_else(|| merchant.id.clone()),
        timezone: properties.and_then(|p| p.timezone.clone()).unwrap_or_else(|| "UTC".into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CloverCategory {
    pub id: String,
    pub name: Option<String>,
}

impl CloverCategory {
    pub fn to_domain(&self) -> Category {
        Category { id: CategoryId::new(&self.id), name: self.name.clone().unwrap_or_default() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverItem {
    pub id: String,
    pub name: Option<String>,
    pub sku: Option<String>,
    pub code: Option<String>,
    #[serde(default)]
    pub price: i64,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub deleted: bool,
    pub item_group: Option<CloverItemGroup>,
    #[serde(default)]
    pub categories: Elements<CloverCategory>,
}

#[derive(Debug, Deserialize)]
pub struct CloverItemGroup {
    pub id: String,
    pub name: Option<String>,
}

/// Clover items become variations; items in one item group become one item with several
/// variations, named by what their names add to the group's ("Crew T-Shirt - Large" in group
/// "Crew T-Shirt" is the variation "Large"). An item outside any group is an item with one
/// variation, "Regular". Order is kept as Clover lists it.
pub fn catalog(items: &[CloverItem]) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    let mut group_index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for clover in items.iter().filter(|i| !i.deleted) {
        let name = clover.name.clone().unwrap_or_default();
        let category_id = clover.categories.elements.first().map(|c| CategoryId::new(&c.id));
        let (item_id, item_name) = match &clover.item_group {
            Some(group) => (group.id.as_str(), group.name.clone().unwrap_or_else(|| name.clone())),
            None => (clover.id.as_str(), name.clone()),
        };
        let variation = Variation {
            id: VariationId::new(&clover.id),
            item_id: ItemId::new(item_id),
            name: variation_name(&item_name, &name),
            sku: clover.sku.clone().or_else(|| clover.code.clone()).filter(|s| !s.is_empty()),
            price: Money::from_minor(clover.price),
            low_stock_at: None,
        };
        match clover.item_group.as_ref().and_then(|g| group_index.get(g.id.as_str())) {
            Some(&i) => out[i].variations.push(variation),
            None => {
                if let Some(group) = &clover.item_group {
                    group_index.insert(group.id.as_str(), out.len());
                }
                out.push(Item { id: ItemId::new(item_id), name: item_name, category_id, variations: vec![variation] });
            }
        }
    }
    out
}

fn variation_name(group: &str, item: &str) -> String {
    let rest = item.strip_prefix(group).unwrap_or(item);
    let rest = rest.trim_start_matches([' ', '-', '/', ',', ':']).trim();
    let rest = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')).unwrap_or(rest);
    if rest.is_empty() || rest == item { "Regular".into() } else { rest.to_owned() }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverStock {
    pub item: Id,
    pub quantity: Option<f64>,
    pub stock_count: Option<f64>,
    pub modified_time: Option<i64>,
}

impl CloverStock {
    /// Clover's stock has no location of its own (one merchant, one location) and usually no
    /// time: `read_at_ms` stands in when it has none.
    pub fn to_domain(&self, location: &LocationId, read_at_ms: i64) -> StockLevel {
        let units = self.quantity.or(self.stock_count).unwrap_or(0.0);
        StockLevel {
            variation_id: VariationId::new(&self.item.id),
            location_id: location.clone(),
            on_hand: Quantity::from_milli((units * 1000.0).round() as i64),
            counted_at_ms: self.modified_time.unwrap_or(read_at_ms),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverOrder {
    pub id: String,
    pub title: Option<String>,
    #[serde(default)]
    pub total: i64,
    pub state: Option<String>,
    pub payment_state: Option<String>,
    pub created_time: Option<i64>,
    pub client_created_time: Option<i64>,
    #[serde(default)]
    pub customers: Elements<Id>,
    #[serde(default)]
    pub line_items: Elements<CloverLine>,
    #[serde(default)]
    pub discounts: Elements<CloverDiscount>,
    #[serde(default)]
    pub refunds: Elements<CloverRefund>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverLine {
    pub item: Option<Id>,
    pub name: Option<String>,
    #[serde(default)]
    pub price: i64,
    /// Thousandths of a unit, for items sold by quantity or weight; absent means one.
    pub unit_qty: Option<i64>,
    #[serde(default)]
    pub discounts: Elements<CloverDiscount>,
}

#[derive(Debug, Deserialize)]
pub struct CloverDiscount {
    /// Negative cents (a discount reduces the price).
    pub amount: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct CloverRefund {
    #[serde(default)]
    pub amount: i64,
}

impl CloverOrder {
    /// The number a customer sees: the order's title when the shop sets one, else its id.
    pub fn number(&self) -> String {
        self.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| self.id.clone())
    }

    pub fn to_domain(&self, location: &LocationId) -> Order {
        let lines: Vec<OrderLine> = self
            .line_items
            .elements
            .iter()
            .map(|l| OrderLine {
                variation_id: l.item.as_ref().map(|i| VariationId::new(&i.id)),
                name: l.name.clone().unwrap_or_default(),
                quantity: Quantity::from_milli(l.unit_qty.unwrap_or(1_000)),
                unit_price: Money::from_minor(l.price),
                discount: Money::from_minor(discount_total(&l.discounts)),
            })
            .collect();
        let line_discounts: Money = lines.iter().map(|l| l.discount).sum();
        let state = match (self.state.as_deref(), self.payment_state.as_deref()) {
            (Some(s), _) if s.to_ascii_lowercase().contains("cancel") => OrderState::Cancelled,
            (_, Some(p)) if p.eq_ignore_ascii_case("VOIDED") => OrderState::Cancelled,
            (Some("locked" | "paid"), _) => OrderState::Completed,
            _ => OrderState::Open,
        };
        Order {
            id: OrderId::new(&self.id),
            number: crate::domain::order::normalize_order_number(&self.number()),
            location_id: location.clone(),
            customer_id: self.customers.elements.first().map(|c| CustomerId::new(&c.id)),
            created_at_ms: self.created_time.or(self.client_created_time).unwrap_or(0),
            state,
            lines,
            total: Money::from_minor(self.total),
            discount: line_discounts + Money::from_minor(discount_total(&self.discounts)),
            refunded: Money::from_minor(self.refunds.elements.iter().map(|r| r.amount.abs()).sum()),
            fulfilment: None,
        }
    }
}

fn discount_total(discounts: &Elements<CloverDiscount>) -> i64 {
    discounts.elements.iter().filter_map(|d| d.amount).map(i64::abs).sum()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverCustomer {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default)]
    pub email_addresses: Elements<CloverEmail>,
    #[serde(default)]
    pub phone_numbers: Elements<CloverPhone>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverEmail {
    pub email_address: Option<String>,
    #[serde(default)]
    pub primary_email: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverPhone {
    pub phone_number: Option<String>,
}

impl CloverCustomer {
    pub fn to_domain(&self) -> Customer {
        let emails = &self.email_addresses.elements;
        let email = emails.iter().find(|e| e.primary_email).or_else(|| emails.first());
        Customer {
            id: CustomerId::new(&self.id),
            given_name: self.first_name.clone().unwrap_or_default(),
            family_name: self.last_name.clone().unwrap_or_default(),
            phone: self.phone_numbers.elements.iter().find_map(|p| p.phone_number.as_deref().and_then(Phone::parse)),
            email: email.and_then(|e| e.email_address.as_ref()).map(|e| e.trim().to_lowercase()),
        }
    }

    /// Every number on file, parsed (a customer may have several).
    pub fn phones(&self) -> Vec<Phone> {
        self.phone_numbers.elements.iter().filter_map(|p| p.phone_number.as_deref().and_then(Phone::parse)).collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverPayment {
    pub id: String,
    pub order: Option<Id>,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub tip_amount: i64,
    pub result: Option<String>,
    pub created_time: Option<i64>,
    pub tender: Option<CloverTender>,
    pub card_transaction: Option<CardTransaction>,
    #[serde(default)]
    pub refunds: Elements<CloverRefund>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloverTender {
    pub label_key: Option<String>,
    pub label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardTransaction {
    pub last4: Option<String>,
    pub entry_type: Option<String>,
}

impl CloverPayment {
    pub fn to_domain(&self, location: &LocationId) -> crate::domain::Payment {
        use crate::domain::{PaymentStatus, Tender};
        let key =
            self.tender.as_ref().and_then(|t| t.label_key.clone().or_else(|| t.label.clone())).unwrap_or_default();
        let key = key.to_ascii_lowercase();
        let tender = if key.contains("gift") {
            Tender::GiftCard
        } else if key.contains("cash") {
            Tender::Cash
        } else if key.contains("card") || self.card_transaction.is_some() {
            Tender::Card
        } else {
            Tender::Other
        };
        let status = match self.result.as_deref() {
            Some("SUCCESS") => PaymentStatus::Completed,
            Some("FAIL") => PaymentStatus::Failed,
            Some("VOIDED") => PaymentStatus::Cancelled,
            _ => PaymentStatus::Pending,
        };
        // Clover names card reads `SWIPED`, `KEYED`, `EMV_CONTACT`, `EMV_CONTACTLESS`, `VAULTED`.
        let entry = self.card_transaction.as_ref().and_then(|c| c.entry_type.as_deref()).map(|e| match e {
            "EMV_CONTACT" => "EMV".to_owned(),
            "EMV_CONTACTLESS" | "CONTACTLESS" => "CONTACTLESS".to_owned(),
            "VAULTED" => "ON_FILE".to_owned(),
            other => other.to_owned(),
        });
        crate::domain::Payment {
            id: self.id.clone(),
            order_id: self.order.as_ref().map(|o| OrderId::new(&o.id)),
            location_id: location.clone(),
            created_at_ms: self.created_time.unwrap_or(0),
            amount: Money::from_minor(self.amount),
            tip: Money::from_minor(self.tip_amount),
            refunded: Money::from_minor(self.refunds.elements.iter().map(|r| r.amount.abs()).sum()),
            status,
            tender,
            card_last4: self.card_transaction.as_ref().and_then(|c| c.last4.clone()),
            card_entry: entry,
        }
    }
}
