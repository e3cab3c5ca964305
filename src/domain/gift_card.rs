//! Gift-card activity as a POS publishes it: a card sold (activated) or topped up (loaded) at a
//! location. The checkout assistant counts these for its gift-card fraud rules.

use super::{LocationId, Money};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GiftCardActivity {
    /// The POS's id of the activity, so one reported twice counts once.
    pub id: String,
    pub location_id: LocationId,
    pub at_ms: i64,
    /// What was put on the card.
    pub amount: Money,
}
