//! Stock on hand per variation and location.

use super::ids::{LocationId, VariationId};
use super::quantity::Quantity;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub variation_id: VariationId,
    pub location_id: LocationId,
    pub on_hand: Quantity,
    /// When the POS last counted or changed this figure (unix milliseconds).
    pub counted_at_ms: i64,
}

/// How a stock figure should be called out to a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockState {
    InStock,
    Low,
    Out,
}

impl StockState {
    pub fn of(on_hand: Quantity, low_at: Option<Quantity>) -> StockState {
        if on_hand <= Quantity::ZERO {
            StockState::Out
        } else if low_at.is_some_and(|low| on_hand <= low) {
            StockState::Low
        } else {
            StockState::InStock
        }
    }
}
