//! Square JSON to the shop's domain. Only the fields Tillpilot reads are modelled; everything
//! else Square sends is ignored. Money is `{amount, currency}` in minor units, quantities are
//! decimal strings, times are RFC 3339.

use crate::domain::{
    Category, CategoryId, Customer, CustomerId, Fulfilment, FulfilmentKind, FulfilmentState, Item, ItemId, Location,
    LocationId, Money, Order, OrderId, OrderLine, OrderState, Phone, Quantity, StockLevel, Variation, VariationId,
    Vendor, VendorId, VendorItem,
};
use crate::pos::PosError;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub errors: Vec<SquareError>,
}

#[derive(Debug, Deserialize)]
pub struct SquareError {
    pub code: String,
    pub detail: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SquareMoney {
    #[serde(default)]
    pub amount: i64,
}

fn money(m: &Option<SquareMoney>) -> Money {
    Money::from_minor(m.as_ref().map_or(0, |m| m.amount))
}

fn millis(text: Option<&str>) -> Result<i64, PosError> {
    let text = text.ok_or_else(|| PosError::Malformed("a timestamp is missing".into()))?;
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| PosError::Malformed(format!("timestamp {text:?}: {e}")))
}

fn quantity(text: &str) -> Result<Quantity, PosError> {
    Quantity::parse(text).ok_or_else(|| PosError::Malformed(format!("quantity {text:?}")))
}

#[derive(Debug, Deserialize)]
pub struct LocationsResponse {
    #[serde(default)]
    pub locations: Vec<SquareLocation>,
}

#[derive(Debug, Deserialize)]
pub struct SquareLocation {
    pub id: String,
    pub name: Option<String>,
    pub timezone: Option<String>,
    pub status: Option<String>,
}

impl SquareLocation {
    pub fn to_domain(&self) -> Location {
        Location {
            id: LocationId::new(&self.id),
            name: self.name.clone().unwrap_or_else(|| self.id.clone()),
            timezone: self.timezone.clone().unwrap_or_else(|| "UTC".into()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CatalogPage {
    #[serde(default)]
    pub objects: Vec<CatalogObject>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CatalogObject {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default)]
    pub is_deleted: bool,
    pub item_data: Option<ItemData>,
    pub item_variation_data: Option<VariationData>,
    pub category_data: Option<CategoryData>,
}

#[derive(Debug, Deserialize)]
pub struct ItemData {
    pub name: Option<String>,
    pub category_id: Option<String>,
    #[serde(default)]
    pub categories: Vec<IdRef>,
    #[serde(default)]
    pub variations: Vec<CatalogObject>,
}

#[derive(Debug, Deserialize)]
pub struct IdRef {
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct VariationData {
    pub item_id: Option<String>,
    pub name: Option<String>,
    pub sku: Option<String>,
    pub price_money: Option<SquareMoney>,
    pub inventory_alert_threshold: Option<i64>,
    #[serde(default)]
    pub item_variation_vendor_infos: Vec<VendorInfoObject>,
}

#[derive(Debug, Deserialize)]
pub struct VendorInfoObject {
    pub item_variation_vendor_info_data: Option<VendorInfoData>,
}

#[derive(Debug, Deserialize)]
pub struct VendorInfoData {
    pub vendor_id: Option<String>,
    pub price_money: Option<SquareMoney>,
}

#[derive(Debug, Deserialize)]
pub struct CategoryData {
    pub name: Option<String>,
}

/// Catalog objects (items with nested variations, and categories) to the domain catalog,
/// with the vendor prices Square keeps on variations.
pub fn catalog(objects: &[CatalogObject]) -> (Vec<Category>, Vec<Item>, Vec<VendorItem>) {
    let mut categories = Vec::new();
    let mut items = Vec::new();
    let mut terms = Vec::new();
    for object in objects.iter().filter(|o| !o.is_deleted) {
        match (object.kind.as_str(), &object.category_data, &object.item_data) {
            ("CATEGORY", Some(data), _) => categories
                .push(Category { id: CategoryId::new(&object.id), name: data.name.clone().unwrap_or_default() }),
            ("ITEM", _, Some(data)) => {
                let item_id = ItemId::new(&object.id);
                let variations: Vec<Variation> = data
                    .variations
                    .iter()
                    .filter(|v| !v.is_deleted)
                    .filter_map(|v| v.item_variation_data.as_ref().map(|d| (v, d)))
                    .map(|(v, d)| {
                        for info in d
                            .item_variation_vendor_infos
                            .iter()
                            .filter_map(|i| i.item_variation_vendor_info_data.as_ref())
                        {
                            if let Some(vendor) = &info.vendor_id {
                                terms.push(VendorItem {
                                    vendor_id: VendorId::new(vendor),
                                    variation_id: VariationId::new(&v.id),
                                    unit_cost: money(&info.price_money),
                                    // Square records no case size or minimum; one unit until the
                                    // shop sets its own terms.
                                    pack_size: 1,
                                    minimum_quantity: 1,
                                    price_tiers: Vec::new(),
                                    vendor_sku: None,
                                });
                            }
                        }
                        Variation {
                            id: VariationId::new(&v.id),
                            item_id: item_id.clone(),
                            name: d.name.clone().unwrap_or_else(|| "Regular".into()),
                            sku: d.sku.clone(),
                            price: money(&d.price_money),
                            low_stock_at: d.inventory_alert_threshold.map(Quantity::from_units),
                        }
                    })
                    .collect();
                let category = data.category_id.clone().or_else(|| data.categories.first().map(|c| c.id.clone()));
                items.push(Item {
                    id: item_id,
                    name: data.name.clone().unwrap_or_default(),
                    category_id: category.map(CategoryId::new),
                    variations,
                });
            }
            _ => {}
        }
    }
    (categories, items, terms)
}

#[derive(Debug, Deserialize)]
pub struct CountsPage {
    #[serde(default)]
    pub counts: Vec<SquareCount>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SquareCount {
    pub catalog_object_id: String,
    pub location_id: String,
    pub quantity: String,
    pub state: String,
    pub calculated_at: Option<String>,
}

impl SquareCount {
    /// `None` for states other than `IN_STOCK` (sold, wasted, in transit...).
    pub fn to_domain(&self) -> Result<Option<StockLevel>, PosError> {
        if self.state != "IN_STOCK" {
            return Ok(None);
        }
        Ok(Some(StockLevel {
            variation_id: VariationId::new(&self.catalog_object_id),
            location_id: LocationId::new(&self.location_id),
            on_hand: quantity(&self.quantity)?,
            counted_at_ms: millis(self.calculated_at.as_deref())?,
        }))
    }
}

#[derive(Debug, Deserialize)]
pub struct OrdersPage {
    #[serde(default)]
    pub orders: Vec<SquareOrder>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct OrderResponse {
    pub order: SquareOrder,
}

#[derive(Debug, Deserialize)]
pub struct SquareOrder {
    pub id: String,
    pub location_id: String,
    pub reference_id: Option<String>,
    pub ticket_name: Option<String>,
    pub customer_id: Option<String>,
    pub created_at: Option<String>,
    pub state: Option<String>,
    #[serde(default)]
    pub line_items: Vec<SquareLineItem>,
    pub total_money: Option<SquareMoney>,
    pub total_discount_money: Option<SquareMoney>,
    #[serde(default)]
    pub refunds: Vec<SquareRefund>,
    #[serde(default)]
    pub fulfillments: Vec<SquareFulfillment>,
    pub updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SquareLineItem {
    pub name: Option<String>,
    pub variation_name: Option<String>,
    pub quantity: String,
    pub catalog_object_id: Option<String>,
    pub base_price_money: Option<SquareMoney>,
    pub total_discount_money: Option<SquareMoney>,
}

#[derive(Debug, Deserialize)]
pub struct SquareRefund {
    pub amount_money: Option<SquareMoney>,
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SquareFulfillment {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub state: Option<String>,
    pub shipment_details: Option<ShipmentDetails>,
    pub pickup_details: Option<PickupDetails>,
}

#[derive(Debug, Deserialize)]
pub struct ShipmentDetails {
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub shipped_at: Option<String>,
    pub canceled_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PickupDetails {
    pub ready_at: Option<String>,
    pub picked_up_at: Option<String>,
    pub canceled_at: Option<String>,
}

impl SquareOrder {
    /// The number a customer sees: the order's reference id, else its ticket name, else its id.
    pub fn number(&self) -> String {
        let raw = self.reference_id.as_deref().or(self.ticket_name.as_deref()).unwrap_or(&self.id);
        crate::domain::order::normalize_order_number(raw)
    }

    pub fn to_domain(&self) -> Result<Order, PosError> {
        let created_at_ms = millis(self.created_at.as_deref())?;
        let lines = self
            .line_items
            .iter()
            .map(|l| {
                let name = match (&l.name, &l.variation_name) {
                    (Some(n), Some(v)) if !v.is_empty() && v != "Regular" => format!("{n} ({v})"),
                    (Some(n), _) => n.clone(),
                    (None, Some(v)) => v.clone(),
                    (None, None) => "Custom amount".into(),
                };
                Ok(OrderLine {
                    variation_id: l.catalog_object_id.as_deref().map(VariationId::new),
                    name,
                    quantity: quantity(&l.quantity)?,
                    unit_price: money(&l.base_price_money),
                    discount: money(&l.total_discount_money),
                })
            })
            .collect::<Result<Vec<_>, PosError>>()?;
        let state = match self.state.as_deref() {
            Some("COMPLETED") => OrderState::Completed,
            Some("CANCELED") => OrderState::Cancelled,
            _ => OrderState::Open,
        };
        let refunded = self
            .refunds
            .iter()
            .filter(|r| !matches!(r.status.as_deref(), Some("REJECTED" | "FAILED")))
            .map(|r| money(&r.amount_money))
            .sum();
        let updated_at_ms = self.updated_at.as_deref().and_then(|t| millis(Some(t)).ok()).unwrap_or(created_at_ms);
        Ok(Order {
            id: OrderId::new(&self.id),
            number: self.number(),
            location_id: LocationId::new(&self.location_id),
            customer_id: self.customer_id.as_deref().map(CustomerId::new),
            created_at_ms,
            state,
            lines,
            total: money(&self.total_money),
            discount: money(&self.total_discount_money),
            refunded,
            fulfilment: self.fulfillments.first().map(|f| f.to_domain(updated_at_ms)),
        })
    }
}

impl SquareFulfillment {
    /// Square's fulfilment states to ours. A completed shipment has been handed to the carrier
    /// (Square does not track delivery); a completed pickup is in the customer's hands.
    fn to_domain(&self, updated_at_ms: i64) -> Fulfilment {
        let kind = match self.kind.as_deref() {
            Some("PICKUP") => FulfilmentKind::Pickup,
            _ => FulfilmentKind::Shipment,
        };
        let state = match (self.state.as_deref(), kind) {
            (Some("CANCELED" | "FAILED"), _) => FulfilmentState::Cancelled,
            (Some("PREPARED"), FulfilmentKind::Pickup) => FulfilmentState::ReadyForPickup,
            (Some("COMPLETED"), FulfilmentKind::Pickup) => FulfilmentState::Delivered,
            (Some("COMPLETED"), FulfilmentKind::Shipment) => FulfilmentState::Shipped,
            _ => FulfilmentState::Unfulfilled,
        };
        let shipment = self.shipment_details.as_ref();
        let pickup = self.pickup_details.as_ref();
        let changed = shipment
            .and_then(|s| s.shipped_at.as_deref().or(s.canceled_at.as_deref()))
            .or_else(|| {
                pickup.and_then(|p| p.picked_up_at.as_deref().or(p.ready_at.as_deref()).or(p.canceled_at.as_deref()))
            })
            .and_then(|t| millis(Some(t)).ok())
            .unwrap_or(updated_at_ms);
        Fulfilment {
            kind,
            state,
            carrier: shipment.and_then(|s| s.carrier.clone()),
            tracking_number: shipment.and_then(|s| s.tracking_number.clone()),
            tracking_url: shipment.and_then(|s| s.tracking_url.clone()),
            updated_at_ms: changed,
            balance_due: None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CustomersPage {
    #[serde(default)]
    pub customers: Vec<SquareCustomer>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CustomerResponse {
    pub customer: SquareCustomer,
}

#[derive(Debug, Deserialize)]
pub struct SquareCustomer {
    pub id: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email_address: Option<String>,
    pub phone_number: Option<String>,
}

impl SquareCustomer {
    pub fn to_domain(&self) -> Customer {
        Customer {
            id: CustomerId::new(&self.id),
            given_name: self.given_name.clone().unwrap_or_default(),
            family_name: self.family_name.clone().unwrap_or_default(),
            phone: self.phone_number.as_deref().and_then(Phone::parse),
            email: self.email_address.as_ref().map(|e| e.to_lowercase()),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct VendorsPage {
    #[serde(default)]
    pub vendors: Vec<SquareVendor>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SquareVendor {
    pub id: String,
    pub name: Option<String>,
    #[serde(default)]
    pub contacts: Vec<SquareVendorContact>,
}

#[derive(Debug, Deserialize)]
pub struct SquareVendorContact {
    pub email_address: Option<String>,
    pub phone_number: Option<String>,
}

impl SquareVendor {
    /// Square keeps no lead time or order minimum for vendors: a week and nothing, until the
    /// shop records its own terms.
    pub fn to_domain(&self) -> Vendor {
        let contact = self.contacts.first();
        Vendor {
            id: VendorId::new(&self.id),
            name: self.name.clone().unwrap_or_else(|| self.id.clone()),
            email: contact.and_then(|c| c.email_address.clone()),
            phone: contact.and_then(|c| c.phone_number.clone()),
            lead_time_days: 7,
            minimum_order: Money::ZERO,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct PaymentsPage {
    #[serde(default)]
    pub payments: Vec<SquarePayment>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SquarePayment {
    pub id: String,
    pub order_id: Option<String>,
    pub location_id: Option<String>,
    pub created_at: Option<String>,
    pub status: Option<String>,
    pub source_type: Option<String>,
    pub amount_money: Option<SquareMoney>,
    pub tip_money: Option<SquareMoney>,
    pub refunded_money: Option<SquareMoney>,
    pub card_details: Option<CardDetails>,
}

#[derive(Debug, Deserialize)]
pub struct CardDetails {
    pub card: Option<Card>,
    pub entry_method: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Card {
    pub card_brand: Option<String>,
    pub last_4: Option<String>,
}

impl SquarePayment {
    pub fn to_domain(&self) -> Result<crate::domain::Payment, PosError> {
        use crate::domain::{PaymentStatus, Tender};
        let card = self.card_details.as_ref().and_then(|d| d.card.as_ref());
        let tender = match (self.source_type.as_deref(), card.and_then(|c| c.card_brand.as_deref())) {
            (_, Some("SQUARE_GIFT_CARD")) => Tender::GiftCard,
            (Some("CARD"), _) => Tender::Card,
            (Some("CASH"), _) => Tender::Cash,
            (Some("WALLET"), _) => Tender::Wallet,
            _ => Tender::Other,
        };
        let status = match self.status.as_deref() {
            Some("COMPLETED") => PaymentStatus::Completed,
            Some("FAILED") => PaymentStatus::Failed,
            Some("CANCELED") => PaymentStatus::Cancelled,
            _ => PaymentStatus::Pending,
        };
        // Square says `ON_FILE` for a stored card; the other methods keep their names.
        let entry = self.card_details.as_ref().and_then(|d| d.entry_method.clone());
        Ok(crate::domain::Payment {
            id: self.id.clone(),
            order_id: self.order_id.as_ref().map(OrderId::new),
            location_id: LocationId::new(self.location_id.clone().unwrap_or_default()),
            created_at_ms: millis(self.created_at.as_deref())?,
            amount: money(&self.amount_money),
            tip: money(&self.tip_money),
            refunded: money(&self.refunded_money),
            status,
            tender,
            card_last4: card.and_then(|c| c.last_4.clone()),
            card_entry: entry,
        })
    }
}
