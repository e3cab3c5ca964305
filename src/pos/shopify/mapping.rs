//! Shopify Admin GraphQL to the shop's domain. Ids are global ids (`gid://shopify/Order/123`);
//! the domain keeps the number at the end, which is also the id webhooks carry. Money is a
//! decimal string in `shopMoney`, quantities are whole units, times are ISO 8601. The
//! product type is the category; a product's variants are its variations ("Default Title" is
//! what Shopify calls the only one).

use crate::domain::{
    Category, CategoryId, Customer, CustomerId, Fulfilment, FulfilmentKind, FulfilmentState, Item, ItemId, Location,
    LocationId, Money, Order, OrderId, OrderLine, OrderState, Phone, Quantity, StockLevel, Variation, VariationId,
    Vendor, VendorId, VendorItem,
};
use crate::pos::PosError;
use serde::Deserialize;

/// The number at the end of a global id.
pub fn tail(gid: &str) -> &str {
    gid.rsplit('/').next().unwrap_or(gid)
}

/// The global id of a domain id.
pub fn gid(kind: &str, id: &str) -> String {
    if id.starts_with("gid://") { id.to_owned() } else { format!("gid://shopify/{kind}/{id}") }
}

fn millis(text: Option<&str>) -> Result<i64, PosError> {
    let text = text.ok_or_else(|| PosError::Malformed("a timestamp is missing".into()))?;
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| PosError::Malformed(format!("timestamp {text:?}: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Connection<T> {
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
    #[serde(rename = "pageInfo")]
    pub page_info: Option<PageInfo>,
}

impl<T> Connection<T> {
    pub fn next_cursor(&self) -> Option<String> {
        self.page_info.as_ref().filter(|p| p.has_next_page).and_then(|p| p.end_cursor.clone())
    }
}

#[derive(Debug, Deserialize)]
pub struct Node {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoneyBag {
    pub shop_money: Amount,
}

#[derive(Debug, Deserialize)]
pub struct Amount {
    pub amount: String,
}

fn money(bag: &Option<MoneyBag>) -> Result<Money, PosError> {
    match bag {
        None => Ok(Money::ZERO),
        Some(bag) => decimal_money(&bag.shop_money.amount),
    }
}

fn decimal_money(text: &str) -> Result<Money, PosError> {
    Money::parse_major(text).ok_or_else(|| PosError::Malformed(format!("amount {text:?}")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyLocation {
    pub id: String,
    pub name: String,
    #[serde(default = "yes")]
    pub is_active: bool,
}

fn yes() -> bool {
    true
}

impl ShopifyLocation {
    /// Shopify locations have no timezone of their own; the shop's applies.
    pub fn to_domain(&self, timezone: &str) -> Location {
        Location { id: LocationId::new(tail(&self.id)), name: self.name.clone(), timezone: timezone.to_owned() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyProduct {
    pub id: String,
    pub title: String,
    pub product_type: Option<String>,
    /// Free text naming who supplies the product.
    #[serde(default)]
    pub vendor: Option<String>,
    pub status: Option<String>,
    pub variants: Connection<ShopifyVariant>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyVariant {
    pub id: String,
    pub title: String,
    pub sku: Option<String>,
    pub price: String,
    #[serde(default)]
    pub inventory_item: Option<VariantCost>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantCost {
    pub unit_cost: Option<Amount>,
}

/// The vendors the products name (one per distinct `vendor`, sorted by name; Shopify keeps no
/// lead time or contact, so those come from the configuration), and what each supplies: the
/// variants with a unit cost on their inventory item.
pub fn vendors(products: &[ShopifyProduct]) -> Result<(Vec<Vendor>, Vec<VendorItem>), PosError> {
    let mut vendors: Vec<Vendor> = Vec::new();
    let mut terms = Vec::new();
    for product in products.iter().filter(|p| p.status.as_deref() != Some("ARCHIVED")) {
        let Some(name) = product.vendor.as_deref().map(str::trim).filter(|n| !n.is_empty()) else { continue };
        let id = VendorId::new(name);
        if !vendors.iter().any(|v| v.id == id) {
            vendors.push(Vendor {
                id: id.clone(),
                name: name.to_owned(),
                email: None,
                phone: None,
                lead_time_days: 0,
                minimum_order: Money::ZERO,
            });
        }
        for variant in &product.variants.nodes {
            let Some(cost) = variant.inventory_item.as_ref().and_then(|i| i.unit_cost.as_ref()) else { continue };
            let unit_cost = decimal_money(&cost.amount)?;
            if unit_cost.minor() <= 0 {
                continue;
            }
            terms.push(VendorItem {
                vendor_id: id.clone(),
                variation_id: VariationId::new(tail(&variant.id)),
                unit_cost,
                pack_size: 1,
                minimum_quantity: 1,
                price_tiers: Vec::new(),
                vendor_sku: None,
            });
        }
    }
    vendors.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((vendors, terms))
}

/// Items from products (archived ones left out), and categories from their product types.
pub fn catalog(products: &[ShopifyProduct]) -> Result<(Vec<Category>, Vec<Item>), PosError> {
    let mut categories: Vec<Category> = Vec::new();
    let mut items = Vec::new();
    for product in products.iter().filter(|p| p.status.as_deref() != Some("ARCHIVED")) {
        let category = product.product_type.as_deref().map(str::trim).filter(|t| !t.is_empty());
        if let Some(name) = category
            && !categories.iter().any(|c| c.name == name)
        {
            categories.push(Category { id: CategoryId::new(name), name: name.to_owned() });
        }
        let item_id = ItemId::new(tail(&product.id));
        let variations = product
            .variants
            .nodes
            .iter()
            .map(|v| {
                Ok(Variation {
                    id: VariationId::new(tail(&v.id)),
                    item_id: item_id.clone(),
                    name: if v.title == "Default Title" { "Regular".into() } else { v.title.clone() },
                    sku: v.sku.clone().filter(|s| !s.is_empty()),
                    price: decimal_money(&v.price)?,
                    low_stock_at: None,
                })
            })
            .collect::<Result<Vec<_>, PosError>>()?;
        items.push(Item {
            id: item_id,
            name: product.title.clone(),
            category_id: category.map(CategoryId::new),
            variations,
        });
    }
    Ok((categories, items))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyLevel {
    pub location: Option<Node>,
    pub item: Option<InventoryItem>,
    #[serde(default)]
    pub quantities: Vec<NamedQuantity>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct InventoryItem {
    pub variant: Option<Node>,
}

#[derive(Debug, Deserialize)]
pub struct NamedQuantity {
    pub name: String,
    pub quantity: i64,
}

impl ShopifyLevel {
    /// The `available` figure: what can be sold. `variant` and `location` fill in what the
    /// query path already knows.
    pub fn to_domain(&self, variant: Option<&str>, location: Option<&str>) -> Result<Option<StockLevel>, PosError> {
        let variant = variant
            .map(str::to_owned)
            .or_else(|| self.item.as_ref().and_then(|i| i.variant.as_ref()).map(|v| tail(&v.id).to_owned()));
        let location = location.map(str::to_owned).or_else(|| self.location.as_ref().map(|l| tail(&l.id).to_owned()));
        let (Some(variant), Some(location)) = (variant, location) else { return Ok(None) };
        let Some(available) = self.quantities.iter().find(|q| q.name == "available") else { return Ok(None) };
        Ok(Some(StockLevel {
            variation_id: VariationId::new(variant),
            location_id: LocationId::new(location),
            on_hand: Quantity::from_units(available.quantity),
            counted_at_ms: millis(self.updated_at.as_deref())?,
        }))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyOrder {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub cancelled_at: Option<String>,
    #[serde(default)]
    pub closed: bool,
    pub customer: Option<Node>,
    pub retail_location: Option<Node>,
    pub total_price_set: Option<MoneyBag>,
    pub total_discounts_set: Option<MoneyBag>,
    pub total_refunded_set: Option<MoneyBag>,
    pub line_items: Connection<ShopifyLine>,
    pub fulfillment_orders: Option<Connection<FulfillmentOrder>>,
    #[serde(default)]
    pub fulfillments: Vec<ShopifyFulfillment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyLine {
    pub name: String,
    pub quantity: i64,
    pub variant: Option<Node>,
    pub original_unit_price_set: Option<MoneyBag>,
    pub total_discount_set: Option<MoneyBag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrder {
    pub status: Option<String>,
    pub delivery_method: Option<DeliveryMethod>,
    pub assigned_location: Option<AssignedLocation>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMethod {
    pub method_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AssignedLocation {
    pub location: Option<Node>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyFulfillment {
    pub display_status: Option<String>,
    pub updated_at: Option<String>,
    #[serde(default)]
    pub tracking_info: Vec<TrackingInfo>,
}

#[derive(Debug, Deserialize)]
pub struct TrackingInfo {
    pub company: Option<String>,
    pub number: Option<String>,
    pub url: Option<String>,
}

impl ShopifyOrder {
    pub fn to_domain(&self) -> Result<Order, PosError> {
        let lines = self
            .line_items
            .nodes
            .iter()
            .map(|l| {
                Ok(OrderLine {
                    variation_id: l.variant.as_ref().map(|v| VariationId::new(tail(&v.id))),
                    name: l.name.clone(),
                    quantity: Quantity::from_units(l.quantity),
                    unit_price: money(&l.original_unit_price_set)?,
                    discount: money(&l.total_discount_set)?,
                })
            })
            .collect::<Result<Vec<_>, PosError>>()?;
        let fulfilment_order = self.fulfillment_orders.as_ref().and_then(|f| f.nodes.first());
        let location = self
            .retail_location
            .as_ref()
            .or_else(|| fulfilment_order.and_then(|f| f.assigned_location.as_ref()).and_then(|a| a.location.as_ref()))
            .map(|l| LocationId::new(tail(&l.id)))
            .unwrap_or_else(|| LocationId::new(""));
        let state = if self.cancelled_at.is_some() {
            OrderState::Cancelled
        } else if self.closed {
            OrderState::Completed
        } else {
            OrderState::Open
        };
        Ok(Order {
            id: OrderId::new(tail(&self.id)),
            number: crate::domain::order::normalize_order_number(&self.name),
            location_id: location,
            customer_id: self.customer.as_ref().map(|c| CustomerId::new(tail(&c.id))),
            created_at_ms: millis(Some(&self.created_at))?,
            state,
            lines,
            total: money(&self.total_price_set)?,
            discount: money(&self.total_discounts_set)?,
            refunded: money(&self.total_refunded_set)?,
            fulfilment: self.fulfilment(fulfilment_order)?,
        })
    }

    /// Shipment or pickup from the fulfilment order's delivery method; how far along from the
    /// latest fulfilment's display status. An order with neither was sold at the counter.
    fn fulfilment(&self, order: Option<&FulfillmentOrder>) -> Result<Option<Fulfilment>, PosError> {
        let Some(order) = order else { return Ok(None) };
        let kind = match order.delivery_method.as_ref().and_then(|d| d.method_type.as_deref()) {
            Some("PICK_UP") => FulfilmentKind::Pickup,
            _ => FulfilmentKind::Shipment,
        };
        let latest = self.fulfillments.last();
        let state = if self.cancelled_at.is_some() || order.status.as_deref() == Some("CANCELLED") {
            FulfilmentState::Cancelled
        } else {
            match latest.and_then(|f| f.display_status.as_deref()) {
                None => FulfilmentState::Unfulfilled,
                Some("DELIVERED" | "PICKED_UP") => FulfilmentState::Delivered,
                Some("READY_FOR_PICKUP") => FulfilmentState::ReadyForPickup,
                Some("CANCELED") => FulfilmentState::Cancelled,
                Some(_) => FulfilmentState::Shipped,
            }
        };
        let tracking = latest.and_then(|f| f.tracking_info.first());
        let updated = latest.and_then(|f| f.updated_at.as_deref()).or(order.updated_at.as_deref());
        Ok(Some(Fulfilment {
            kind,
            state,
            carrier: tracking.and_then(|t| t.company.clone()),
            tracking_number: tracking.and_then(|t| t.number.clone()),
            tracking_url: tracking.and_then(|t| t.url.clone()),
            updated_at_ms: match updated {
                Some(at) => millis(Some(at))?,
                None => millis(Some(&self.created_at))?,
            },
            balance_due: None,
        }))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyCustomer {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub default_email_address: Option<EmailAddress>,
    pub default_phone_number: Option<PhoneNumber>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    pub email_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    pub phone_number: Option<String>,
}

impl ShopifyCustomer {
    pub fn to_domain(&self) -> Customer {
        Customer {
            id: CustomerId::new(tail(&self.id)),
            given_name: self.first_name.clone().unwrap_or_default(),
            family_name: self.last_name.clone().unwrap_or_default(),
            phone: self.default_phone_number.as_ref().and_then(|p| p.phone_number.as_deref()).and_then(Phone::parse),
            email: self
                .default_email_address
                .as_ref()
                .and_then(|e| e.email_address.as_deref())
                .map(|e| e.trim().to_lowercase()),
        }
    }
}

/// An order's payment transactions, from the `OrderPayments` query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderTransactions {
    pub id: String,
    pub retail_location: Option<Node>,
    pub fulfillment_orders: Option<Connection<FulfillmentOrder>>,
    #[serde(default)]
    pub transactions: Vec<ShopifyTransaction>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyTransaction {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub gateway: Option<String>,
    pub created_at: String,
    pub amount_set: Option<MoneyBag>,
    pub parent_transaction: Option<Node>,
    pub payment_details: Option<CardPaymentDetails>,
}

#[derive(Debug, Deserialize)]
pub struct CardPaymentDetails {
    /// Masked: `•••• •••• •••• 4242`.
    pub number: Option<String>,
    pub wallet: Option<String>,
}

impl OrderTransactions {
    /// Sales and captures become payments; refunds count against the payment they refund.
    pub fn payments(&self) -> Result<Vec<crate::domain::Payment>, PosError> {
        use crate::domain::{PaymentStatus, Tender};
        let location = self
            .retail_location
            .as_ref()
            .or_else(|| {
                let order = self.fulfillment_orders.as_ref().and_then(|f| f.nodes.first());
                order.and_then(|f| f.assigned_location.as_ref()).and_then(|a| a.location.as_ref())
            })
            .map(|l| LocationId::new(tail(&l.id)))
            .unwrap_or_else(|| LocationId::new(""));
        let mut payments = Vec::new();
        for t in self.transactions.iter().filter(|t| matches!(t.kind.as_str(), "SALE" | "CAPTURE")) {
            let refunded: Money = self
                .transactions
                .iter()
                .filter(|r| r.kind == "REFUND" && r.status == "SUCCESS")
                .filter(|r| r.parent_transaction.as_ref().is_some_and(|p| p.id == t.id))
                .map(|r| money(&r.amount_set))
                .sum::<Result<Money, PosError>>()?;
            let gateway = t.gateway.as_deref().unwrap_or_default();
            let card = t.payment_details.as_ref();
            let tender = match gateway {
                "gift_card" => Tender::GiftCard,
                "cash" | "manual" => Tender::Cash,
                _ if card.and_then(|c| c.wallet.as_ref()).is_some() => Tender::Wallet,
                _ if card.is_some() => Tender::Card,
                _ => Tender::Other,
            };
            let status = match t.status.as_str() {
                "SUCCESS" => PaymentStatus::Completed,
                "FAILURE" | "ERROR" => PaymentStatus::Failed,
                _ => PaymentStatus::Pending,
            };
            let last4 = card.and_then(|c| c.number.as_deref()).map(|n| {
                let digits: String = n.chars().filter(char::is_ascii_digit).collect();
                digits[digits.len().saturating_sub(4)..].to_owned()
            });
            payments.push(crate::domain::Payment {
                id: tail(&t.id).to_owned(),
                order_id: Some(OrderId::new(tail(&self.id))),
                location_id: location.clone(),
                created_at_ms: millis(Some(&t.created_at))?,
                amount: money(&t.amount_set)?,
                tip: Money::ZERO,
                refunded,
                status,
                tender,
                card_last4: last4.filter(|l| !l.is_empty()),
                card_entry: None,
            });
        }
        Ok(payments)
    }
}
