//! The reorder policy for one item at one location. Periodic review: every review the
//! inventory position (on hand plus on order) is compared with the reorder point, the
//! service-level quantile of demand over the lead time plus the review period. At or below it,
//! we order up to the target (the reorder point plus one review period's expected demand),
//! rounded up to whole packs and at least the vendor's minimum. The line says why.
//!
//! An item with too little history to backtest (a new item, or a shop whose mirror has only a
//! few weeks) is forecast by its recent average rate, and its safety stock is capped at the
//! expected demand over the protection period, so the reorder point is never more than twice
//! that demand; the line says how many days of history it had.

use super::classify::DemandClass;
use super::methods::Method;
use super::quantile::{lead_time_quantile, normal_quantile};
use super::select::Choice;
use crate::domain::Money;
use serde::Serialize;

/// Service level when the shop sets none: out of stock in about one cycle in twenty.
pub const DEFAULT_SERVICE_LEVEL: f64 = 0.95;

/// What the policy needs to know about one item at one location.
#[derive(Clone, Debug)]
pub struct ItemPosition<'a> {
    /// Corrected daily demand history.
    pub history: &'a [f64],
    pub choice: Choice,
    /// The chosen method's forecast, units per day.
    pub daily_forecast: f64,
    pub on_hand: f64,
    pub on_order: f64,
    pub lead_time_days: u32,
    pub review_days: u32,
    pub service_level: f64,
    /// Units per case (1 when sold singly).
    pub pack_size: u32,
    /// The vendor's minimum for this item, in units.
    pub minimum_units: u32,
    /// Unit cost by quantity: `(from units, cost)`, lowest tier first.
    pub price_tiers: &'a [(u32, Money)],
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suggestion {
    /// Units to order: a whole number of packs, at least the minimum; 0 when none is needed.
    pub quantity: u32,
    pub unit_cost: Money,
    pub reorder_point: f64,
    pub target: f64,
    pub position: f64,
    pub class: DemandClass,
    pub method: Method,
    pub backtest_rmsse: Option<f64>,
    pub daily_forecast: f64,
    pub explanation: String,
}

impl Suggestion {
    pub fn cost(&self) -> Money {
        self.unit_cost.times_milli(i64::from(self.quantity) * 1000)
    }
}

/// The unit cost at `quantity` from the tiers (the highest tier whose threshold it reaches).
pub fn unit_cost(tiers: &[(u32, Money)], quantity: u32) -> Money {
    tiers.iter().rev().find(|(from, _)| quantity >= *from).or(tiers.first()).map_or(Money::ZERO, |(_, cost)| *cost)
}

/// What `quantity` units cost in all at the tier they reach.
fn order_cost(tiers: &[(u32, Money)], quantity: u32) -> i64 {
    unit_cost(tiers, quantity).minor() * i64::from(quantity)
}

/// The quantity to order for a need of `quantity` units: the need itself, or more when a
/// cheaper price tier makes the larger order cost less in all (44 at $2.54 is $111.76; 48 at
/// the 48-unit price of $2.30 is $110.40). Tier quantities are rounded up to whole packs.
pub fn cheapest_quantity(tiers: &[(u32, Money)], quantity: u32, pack_size: u32) -> u32 {
    if quantity == 0 {
        return 0;
    }
    let pack = pack_size.max(1);
    let mut best = quantity;
    for &(from, _) in tiers.iter().filter(|(from, _)| *from > quantity) {
        let candidate = from.div_ceil(pack) * pack;
        if order_cost(tiers, candidate) < order_cost(tiers, best) {
            best = candidate;
        }
    }
    best
}

/// The line's word on price tiers: which tier it is at, and why it orders more than needed.
fn tier_note(tiers: &[(u32, Money)], needed: u32, quantity: u32) -> String {
    let tiered = tiers.len() > 1 && tiers.iter().skip(1).any(|(from, _)| quantity >= *from);
    if quantity == 0 || !tiered {
        return String::new();
    }
    let from = tiers.iter().rev().find(|(from, _)| quantity >= *from).map_or(0, |(f, _)| *f);
    let price = unit_cost(tiers, quantity);
    if quantity == needed {
        return format!("; at the {from}-unit price of {price}");
    }
    let total = |q: u32| Money::from_minor(order_cost(tiers, q));
    format!(
        "; {quantity} rather than {needed}: at the {from}-unit price of {price} they cost {}, less than {} for {needed} at {}",
        total(quantity),
        total(needed),
        unit_cost(tiers, needed)
    )
}

/// Rounds a raw need up to whole packs and to at least the minimum (itself rounded to packs).
pub fn round_order(raw_units: f64, pack_size: u32, minimum_units: u32) -> u32 {
    if raw_units <= 0.0 {
        return 0;
    }
    let pack = pack_size.max(1);
    let packs = (raw_units / f64::from(pack)).ceil() as u32;
    let minimum_packs = minimum_units.div_ceil(pack);
    packs.max(minimum_packs).max(1) * pack
}

pub fn suggest(item: &ItemPosition<'_>) -> Suggestion {
    let protection = (item.lead_time_days + item.review_days) as usize;
    let short = item.choice.short_history();
    let reorder_point = if short {
        let expected = item.daily_forecast * protection as f64;
        let safety = normal_quantile(item.service_level) * item.choice.daily_error_sd * (protection as f64).sqrt();
        expected + safety.clamp(0.0, expected)
    } else {
        lead_time_quantile(
            item.choice.class,
            item.history,
            item.daily_forecast,
            item.choice.daily_error_sd,
            protection,
            item.service_level,
        )
    };
    let target = reorder_point + item.daily_forecast * f64::from(item.review_days);
    let position = item.on_hand + item.on_order;
    let quantity = if position <= reorder_point && item.daily_forecast > 0.0 {
        round_order(target - position, item.pack_size, item.minimum_units)
    } else {
        0
    };
    let needed = quantity;
    let quantity = cheapest_quantity(item.price_tiers, quantity, item.pack_size);
    let unit_cost = unit_cost(item.price_tiers, quantity);
    let tier_note = tier_note(item.price_tiers, needed, quantity);
    let forecast = match item.choice.backtest_rmsse {
        Some(e) if !short => format!(
            "forecast {:.2}/day ({}, {} demand, backtest RMSSE {e:.2})",
            item.daily_forecast,
            item.choice.method.label(),
            item.choice.class.as_str()
        ),
        _ => format!(
            "only {} days of history: forecast {:.2}/day, the recent average, with safety stock capped at the \
             expected demand",
            item.choice.history_days, item.daily_forecast
        ),
    };
    let why = if quantity == 0 {
        format!("{position:.0} on hand and on order covers the reorder point of {reorder_point:.1}")
    } else {
        format!(
            "{position:.0} on hand and on order is at or below the reorder point of {reorder_point:.1}; ordering up to {target:.1}, \
             rounded to packs of {} (minimum {})",
            item.pack_size.max(1),
            item.minimum_units
        )
    };
    let explanation = format!(
        "{forecast}; lead time {} days + review {} days; {:.0}% service level; on hand {:.0}, on order {:.0}; {why}{tier_note}",
        item.lead_time_days,
        item.review_days,
        item.service_level * 100.0,
        item.on_hand,
        item.on_order,
    );
    Suggestion {
        quantity,
        unit_cost,
        reorder_point,
        target,
        position,
        class: item.choice.class,
        method: item.choice.method,
        backtest_rmsse: item.choice.backtest_rmsse,
        daily_forecast: item.daily_forecast,
        explanation,
    }
}

/// Keeps a purchase order within `budget`: lines are kept most urgent first (fewest days of
/// cover), the first that does not fit is cut to the packs that do, and the rest wait for the
/// next review. Returns the kept quantities in the original order.
pub fn within_budget(lines: &[(Suggestion, u32, u32)], budget: Money) -> Vec<u32> {
    // (suggestion, pack size, minimum units)
    let mut order: Vec<usize> = (0..lines.len()).collect();
    let cover = |s: &Suggestion| if s.daily_forecast > 0.0 { s.position / s.daily_forecast } else { f64::INFINITY };
    order.sort_by(|a, b| cover(&lines[*a].0).total_cmp(&cover(&lines[*b].0)));
    let mut left = budget.minor();
    let mut kept = vec![0; lines.len()];
    for i in order {
        let (s, pack, minimum) = &lines[i];
        let pack = (*pack).max(1);
        let pack_cost = s.unit_cost.minor() * i64::from(pack);
        if s.quantity == 0 || pack_cost <= 0 {
            continue;
        }
        let affordable_packs = u32::try_from(left / pack_cost).unwrap_or(u32::MAX).min(s.quantity / pack);
        let units = affordable_packs * pack;
        if units == 0 || units < *minimum {
            continue;
        }
        kept[i] = units;
        left -= pack_cost * i64::from(affordable_packs);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn choice(class: DemandClass) -> Choice {
        Choice { class, method: Method::Ses, backtest_rmsse: Some(0.7), daily_error_sd: 1.0, history_days: 100 }
    }

    fn position(history: &[f64], on_hand: f64, on_order: f64, pack: u32, minimum: u32) -> ItemPosition<'_> {
        const TIERS: &[(u32, Money)] = &[(0, Money::from_minor(250)), (24, Money::from_minor(200))];
        ItemPosition {
            history,
            choice: choice(DemandClass::Smooth),
            daily_forecast: 4.0,
            on_hand,
            on_order,
            lead_time_days: 3,
            review_days: 7,
            service_level: 0.95,
            pack_size: pack,
            minimum_units: minimum,
            price_tiers: TIERS,
        }
    }

    #[test]
    fn the_arithmetic_of_one_line() {
        let history = [4.0; 100];
        // Protection 10 days: 40 + 1.6449·1·√10 = 45.20; target 45.20 + 28 = 73.20.
        let s = suggest(&position(&history, 10.0, 5.0, 6, 12));
        assert!((s.reorder_point - (40.0 + 1.644_853_6 * 10f64.sqrt())).abs() < 1e-4);
        // Need 73.2 − 15 = 58.2 → 10 packs of 6 = 60 units, priced at the 24+ tier.
        assert_eq!(s.quantity, 60);
        assert_eq!(s.unit_cost, Money::from_minor(200));
        assert!(s.explanation.contains("on hand 10, on order 5"), "{}", s.explanation);
        assert_eq!(suggest(&position(&history, 80.0, 0.0, 6, 12)).quantity, 0, "above the reorder point");
    }

    #[test]
    fn short_history_orders_at_most_twice_the_protection_demand_and_says_so() {
        // Five weeks of a daily seller with wild swings: the spread alone would ask for a
        // safety stock larger than the demand it protects.
        let history: Vec<f64> = (0..35).map(|t| if t % 2 == 0 { 0.0 } else { 20.0 }).collect();
        let mut item = position(&history, 0.0, 0.0, 1, 0);
        item.choice = Choice {
            class: DemandClass::Erratic,
            method: Method::Combined,
            backtest_rmsse: None,
            daily_error_sd: 10.0,
            history_days: 35,
        };
        item.daily_forecast = 10.0;
        let s = suggest(&item);
        // Protection 10 days at 10/day: 100 expected, safety 1.645·10·√10 = 52 (under the cap).
        assert!((s.reorder_point - (100.0 + 1.644_853_6 * 10.0 * 10f64.sqrt())).abs() < 1e-4, "{}", s.reorder_point);
        assert!(s.explanation.starts_with("only 35 days of history"), "{}", s.explanation);
        item.choice.daily_error_sd = 40.0;
        let capped = suggest(&item);
        assert!((capped.reorder_point - 200.0).abs() < 1e-9, "capped at twice the expected: {}", capped.reorder_point);
    }

    #[test]
    fn a_cheaper_tier_raises_the_order_only_when_it_costs_less_in_all() {
        let tiers = [(0, Money::from_minor(254)), (48, Money::from_minor(230))];
        // 44 at $2.54 = $111.76; 48 at $2.30 = $110.40: the larger order is cheaper.
        assert_eq!(cheapest_quantity(&tiers, 44, 4), 48);
        // 40 at $2.54 = $101.60 is cheaper than 48 at $2.30.
        assert_eq!(cheapest_quantity(&tiers, 40, 4), 40);
        // A tier quantity is rounded to whole packs: 50 at $2.30 = $115.00 > 44 at $2.54.
        assert_eq!(cheapest_quantity(&tiers, 44, 25), 44);
        assert_eq!(cheapest_quantity(&tiers, 0, 4), 0);
        assert_eq!(
            tier_note(&tiers, 44, 48),
            "; 48 rather than 44: at the 48-unit price of $2.30 they cost $110.40, less than $111.76 for 44 at $2.54"
        );
        assert_eq!(tier_note(&tiers, 60, 60), "; at the 48-unit price of $2.30");
        assert_eq!(tier_note(&tiers, 40, 40), "");
        let mut item = position(&[4.0; 100], 20.0, 0.0, 4, 0);
        item.price_tiers = &tiers;
        item.daily_forecast = 3.0;
        let s = suggest(&item);
        assert!(
            s.quantity.is_multiple_of(4) && s.explanation.contains("-unit price") == (s.quantity >= 48),
            "{}",
            s.explanation
        );
    }

    #[test]
    fn budget_keeps_the_most_urgent_lines() {
        let history = [4.0; 100];
        let urgent = suggest(&position(&history, 0.0, 0.0, 1, 0));
        let later = suggest(&position(&history, 30.0, 0.0, 1, 0));
        let cost_urgent = urgent.cost().minor();
        let kept =
            within_budget(&[(later.clone(), 1, 0), (urgent.clone(), 1, 0)], Money::from_minor(cost_urgent + 250 * 3));
        assert_eq!(kept[1], urgent.quantity, "the urgent line in full");
        assert!(kept[0] <= 3 + 1, "the rest cut to what is left: {kept:?}");
    }

    proptest! {
        #[test]
        fn orders_are_whole_packs_at_least_the_minimum_and_cover_the_need(
            raw in 0.0f64..500.0, pack in 1u32..48, minimum in 0u32..100
        ) {
            let q = round_order(raw, pack, minimum);
            if raw <= 0.0 {
                prop_assert_eq!(q, 0);
            } else {
                prop_assert_eq!(q % pack, 0);
                prop_assert!(q >= minimum);
                prop_assert!(f64::from(q) >= raw);
                // Never a whole pack more than the need or the minimum requires.
                prop_assert!(f64::from(q) < raw.max(f64::from(minimum)) + f64::from(pack) + 1e-9);
            }
        }

        #[test]
        fn on_order_stock_is_netted(on_hand in 0.0f64..60.0, on_order in 0.0f64..60.0) {
            let history = [4.0; 100];
            let both = suggest(&position(&history, on_hand, on_order, 1, 0));
            let as_one = suggest(&position(&history, on_hand + on_order, 0.0, 1, 0));
            prop_assert_eq!(both.quantity, as_one.quantity);
            if both.quantity > 0 {
                prop_assert!((f64::from(both.quantity) - (both.target - on_hand - on_order)).abs() < 1.0);
            }
        }
    }
}
