//! How the simulated shop's orders were paid, derived from each order alone (so the same order
//! always has the same payment): online orders by card on file; at the counter mostly tapped or
//! inserted cards, some cash, a few gift cards, and now and then a keyed-in card.

use super::generator::Rng;
use crate::domain::{Money, Order, OrderState, Payment, PaymentStatus, Tender};

/// The payment for one order; cancelled orders were never paid.
pub fn payment_for(order: &Order) -> Option<Payment> {
    if order.state == OrderState::Cancelled || order.total.minor() <= 0 {
        return None;
    }
    let seed = order
        .id
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut rng = Rng(seed);
    let online = order.fulfilment.is_some();
    let roll = rng.unit();
    let (tender, entry) = if online {
        (Tender::Card, Some("ON_FILE"))
    } else if roll < 0.22 {
        (Tender::Cash, None)
    } else if roll < 0.26 {
        (Tender::GiftCard, Some("SWIPED"))
    } else if roll < 0.27 {
        (Tender::Card, Some("KEYED"))
    } else if roll < 0.80 {
        (Tender::Card, Some("CONTACTLESS"))
    } else {
        (Tender::Card, Some("EMV"))
    };
    let last4 = entry.map(|_| format!("{:04}", rng.below(10_000)));
    let tip = if !online && tender == Tender::Card && rng.chance(0.3) {
        Money::from_minor(order.total.minor() / 10 / 25 * 25)
    } else {
        Money::ZERO
    };
    Some(Payment {
        id: format!("PAY-{}", order.id.as_str()),
        order_id: Some(order.id.clone()),
        location_id: order.location_id.clone(),
        created_at_ms: order.created_at_ms,
        amount: order.total,
        tip,
        refunded: order.refunded,
        status: PaymentStatus::Completed,
        tender,
        card_last4: last4,
        card_entry: entry.map(str::to_owned),
    })
}

/// Every payment of the given orders, in their order.
pub fn payments<'a>(orders: impl IntoIterator<Item = &'a Order>) -> Vec<Payment> {
    orders.into_iter().filter_map(payment_for).collect()
}
