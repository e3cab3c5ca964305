//! Payments: how an order was paid. Read for transaction review (tender mix, keyed cards, gift
//! cards) and never written by Tillpilot.

use super::ids::{LocationId, OrderId};
use super::money::Money;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub order_id: Option<OrderId>,
    pub location_id: LocationId,
    pub created_at_ms: i64,
    /// What was charged, tip excluded.
    pub amount: Money,
    pub tip: Money,
    pub refunded: Money,
    pub status: PaymentStatus,
    pub tender: Tender,
    /// The card's last four digits, when a card paid. Never more of the number.
    pub card_last4: Option<String>,
    /// How the card was read: `KEYED`, `SWIPED`, `EMV`, `CONTACTLESS`, `ON_FILE`.
    pub card_entry: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Authorised but not yet captured.
    Pending,
    Completed,
    Failed,
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tender {
    Card,
    Cash,
    GiftCard,
    Wallet,
    Other,
}
