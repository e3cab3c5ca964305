//! The point of sale, seen through one trait. Every connector (Square, Clover, Shopify,
//! Lightspeed, and the simulated shop) maps its vendor's API into the domain types, so workflows never know which
//! POS they talk to. The POS stays the system of record: Tillpilot reads through it and writes
//! only after a person approved.

pub use crate::inbound as webhook;
pub use crate::retry;

pub mod clover;
pub mod http;
pub mod lightspeed;
pub mod mirror;
pub mod shopify;
pub mod sim;
pub mod square;

use crate::domain::{
    Catalog, Customer, CustomerId, Location, LocationId, Order, OrderId, Payment, Phone, Quantity, Receipt, StockLevel,
    SupplierOrder, VariationId, Vendor, VendorItem,
};
use async_trait::async_trait;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum PosError {
    #[error("the POS could not be reached: {0}")]
    Unavailable(String),
    #[error("the POS asked us to slow down (retry after {0:?})")]
    RateLimited(Duration),
    #[error("the POS rejected our credentials")]
    Unauthorized,
    #[error("the POS answered with something we could not read: {0}")]
    Malformed(String),
    #[error("the POS refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
}

/// Everything Tillpilot reads from a point of sale.
#[async_trait]
pub trait Pos: Send + Sync {
    /// `square`, `clover`, `shopify`, `lightspeed` or `sim`.
    fn provider(&self) -> &'static str;

    async fn locations(&self) -> Result<Vec<Location>, PosError>;

    /// Items with their variations, and categories.
    async fn catalog(&self) -> Result<Catalog, PosError>;

    async fn vendors(&self) -> Result<Vec<Vendor>, PosError>;

    /// What each vendor charges and how it ships, per variation.
    async fn vendor_terms(&self) -> Result<Vec<VendorItem>, PosError>;

    /// Stock on hand for the given variations (all when empty), at one location or all.
    async fn stock_levels(
        &self,
        variations: &[VariationId],
        location: Option<&LocationId>,
    ) -> Result<Vec<StockLevel>, PosError>;

    /// Orders created in `[from_ms, to_ms)`, oldest first.
    async fn orders_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Order>, PosError>;

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, PosError>;

    /// Payments taken in `[from_ms, to_ms)`, oldest first.
    async fn payments_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Payment>, PosError>;

    /// Orders whose customer-facing number is `number` (normalised, without `#`).
    async fn orders_by_number(&self, number: &str) -> Result<Vec<Order>, PosError>;

    /// A customer's orders, newest first.
    async fn orders_for_customer(&self, customer: &CustomerId) -> Result<Vec<Order>, PosError>;

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, PosError>;

    async fn customers_by_phone(&self, phone: &Phone) -> Result<Vec<Customer>, PosError>;

    async fn customers_by_email(&self, email: &str) -> Result<Vec<Customer>, PosError>;

    /// Records a stock count: the variation's on-hand figure at `location` becomes `on_hand`.
    /// Tillpilot writes only what a person approved. `idempotency_key` names this count, so a
    /// retried call (or a second click) cannot apply it twice.
    async fn record_count(
        &self,
        variation: &VariationId,
        location: &LocationId,
        on_hand: Quantity,
        idempotency_key: &str,
    ) -> Result<(), PosError>;

    /// Whether approved purchase orders go into this POS's own purchase-order module
    /// (Lightspeed's supplier orders); the others keep no purchase orders.
    fn keeps_purchase_orders(&self) -> bool {
        false
    }

    /// Places an approved purchase order with the POS and marks it sent to the supplier;
    /// returns the POS's id of it. The order is found again by its number, so a retry after a
    /// lost answer finishes the order the first attempt made instead of making a second.
    async fn place_purchase_order(&self, order: &SupplierOrder) -> Result<String, PosError> {
        let _ = order;
        Err(PosError::Rejected { status: 501, message: format!("{} keeps no purchase orders", self.provider()) })
    }

    /// What has been received against the purchase order the POS holds as `pos_order_id`;
    /// `None` while it is not booked in.
    async fn purchase_order_receipt(&self, pos_order_id: &str) -> Result<Option<Receipt>, PosError> {
        let _ = pos_order_id;
        Ok(None)
    }
}

/// What a recorded POS event asks of the inbox worker; each connector knows its own event
/// types. `None` when `source` is not a POS.
pub fn effect_of(
    source: &str,
    event_type: &str,
    object_id: Option<&str>,
    payload: &str,
) -> Option<Result<crate::inbound::Effect, String>> {
    Some(match source {
        "square" => square::webhook::effect(event_type, object_id, payload),
        "clover" => Ok(clover::webhook::effect(event_type, object_id)),
        "shopify" => Ok(shopify::webhook::effect(event_type, object_id)),
        "lightspeed" => Ok(lightspeed::webhook::effect(event_type, object_id)),
        _ => return None,
    })
}
