//! Orders as customers and staff talk about them: a number, lines, and where the goods are.

use super::ids::{CustomerId, LocationId, OrderId, VariationId};
use super::money::Money;
use super::quantity::Quantity;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    /// The number the customer sees on a receipt or confirmation email, without `#`.
    pub number: String,
    pub location_id: LocationId,
    pub customer_id: Option<CustomerId>,
    pub created_at_ms: i64,
    pub state: OrderState,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub discount: Money,
    pub refunded: Money,
    pub fulfilment: Option<Fulfilment>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Open,
    Completed,
    Cancelled,
}

impl OrderState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Open => "open",
            OrderState::Completed => "completed",
            OrderState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<OrderState> {
        match text {
            "open" => Some(OrderState::Open),
            "completed" => Some(OrderState::Completed),
            "cancelled" => Some(OrderState::Cancelled),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub variation_id: Option<VariationId>,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub discount: Money,
}

impl OrderLine {
    pub fn gross(&self) -> Money {
        self.unit_price.times_milli(self.quantity.milli())
    }
}

/// How an online order reaches its customer, and how far along it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fulfilment {
    pub kind: FulfilmentKind,
    pub state: FulfilmentState,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// When the state last changed (unix milliseconds).
    pub updated_at_ms: i64,
    /// What the customer still owes on a layby or an account sale.
    #[serde(default)]
    pub balance_due: Option<Money>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentKind {
    Shipment,
    Pickup,
    /// Held at the shop while the customer pays it off; collected once paid (Lightspeed's layby).
    Layby,
    /// Taken on the customer's account, to be paid later (Lightspeed's on-account sale).
    OnAccount,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentState {
    /// Paid, not yet packed.
    Unfulfilled,
    /// Handed to the carrier.
    Shipped,
    /// Packed and waiting at the counter.
    ReadyForPickup,
    /// In the customer's hands.
    Delivered,
    Cancelled,
}

impl FulfilmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilmentState::Unfulfilled => "unfulfilled",
            FulfilmentState::Shipped => "shipped",
            FulfilmentState::ReadyForPickup => "ready_for_pickup",
            FulfilmentState::Delivered => "delivered",
            FulfilmentState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<FulfilmentState> {
        match text {
            "unfulfilled" => Some(FulfilmentState::Unfulfilled),
            "shipped" => Some(FulfilmentState::Shipped),
            "ready_for_pickup" => Some(FulfilmentState::ReadyForPickup),
            "delivered" => Some(FulfilmentState::Delivered),
            "cancelled" => Some(FulfilmentState::Cancelled),
            _ => None,
        }
    }
}

impl FulfilmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilmentKind::Shipment => "shipment",
            FulfilmentKind::Pickup => "pickup",
            FulfilmentKind::Layby => "layby",
            FulfilmentKind::OnAccount => "on_account",
        }
    }

    pub fn parse(text: &str) -> Option<FulfilmentKind> {
        match text {
            "shipment" => Some(FulfilmentKind::Shipment),
            "pickup" => Some(FulfilmentKind::Pickup),
            "layby" => Some(FulfilmentKind::Layby),
            "on_account" => Some(FulfilmentKind::OnAccount),
            _ => None,
        }
    }
}

/// Normalises what a person types as an order number: `#1042`, `1042`, ` # 1042 ` → `1042`.
pub fn normalize_order_number(text: &str) -> String {
    text.trim().trim_start_matches('#').trim().to_ascii_uppercase()
}

/// One sold line as demand models see it: what, where, when, how many.
#[derive(Clone, Debug)]
pub struct Sale {
    pub variation_id: VariationId,
    pub location_id: LocationId,
    pub at_ms: i64,
    pub units: f64,
}
