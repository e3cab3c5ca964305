//! The fraud rules and their memory. Each rule looks at the cart and at what the recent past
//! holds (gift cards sold per register and per customer, gift cards the POS reports sold at the
//! store, voids and price overrides per cashier, a customer's visits) and, when it fires, gives
//! its configured weight and a reason the manager reads. The risk score combines the weights
//! as independent evidence: `1 - (1 - a)(1 - b)...`.

use super::cart::Cart;
use crate::config::FraudConfig;
use crate::domain::Money;
use std::collections::{HashMap, VecDeque};

const MINUTE_MS: i64 = 60_000;
/// How long a customer's visits are remembered ("new customer", loyalty frequency).
pub const VISIT_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;
/// A total this far above its items is not tax.
const MAX_ABOVE_ITEMS_PERCENT: i64 = 25;

/// Events of one register, customer, store or cashier, oldest first, with their times.
type Window<T> = VecDeque<(i64, T)>;

/// What one review leaves behind for the rules that come after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    pub at_ms: i64,
    pub register: String,
    pub cashier: Option<String>,
    pub loyalty_id: Option<String>,
    pub gift_cards: u32,
    pub voids: u32,
    pub overrides: u32,
}

/// The recent past the rules read, kept in memory and trimmed as it ages.
#[derive(Debug, Default)]
pub struct Memory {
    gift_cards_by_register: HashMap<String, Window<u32>>,
    gift_cards_by_customer: HashMap<String, Window<u32>>,
    pos_gift_cards: HashMap<String, Window<Money>>,
    /// The POS activity ids counted, so a webhook applied twice (at start, say) counts once.
    pos_activity_ids: HashMap<String, i64>,
    visits: HashMap<String, VecDeque<i64>>,
    /// Voided lines and price overrides.
    cashiers: HashMap<String, Window<(u32, u32)>>,
}

fn trim<T>(queue: &mut Window<T>, since: i64) {
    while queue.front().is_some_and(|(at, _)| *at < since) {
        queue.pop_front();
    }
}

impl Memory {
    pub fn remember(&mut self, trace: &Trace) {
        if trace.gift_cards > 0 {
            self.gift_cards_by_register
                .entry(trace.register.clone())
                .or_default()
                .push_back((trace.at_ms, trace.gift_cards));
            if let Some(customer) = &trace.loyalty_id {
                self.gift_cards_by_customer
                    .entry(customer.clone())
                    .or_default()
                    .push_back((trace.at_ms, trace.gift_cards));
            }
        }
        if let Some(customer) = &trace.loyalty_id {
            self.visits.entry(customer.clone()).or_default().push_back(trace.at_ms);
        }
        if let Some(cashier) = &trace.cashier
            && trace.voids + trace.overrides > 0
        {
            self.cashiers.entry(cashier.clone()).or_default().push_back((trace.at_ms, (trace.voids, trace.overrides)));
        }
    }

    /// A gift card sold or topped up at `location`, as the POS reported it.
    pub fn remember_pos_gift_card(&mut self, id: &str, location: &str, at_ms: i64, amount: Money) {
        if self.pos_activity_ids.insert(id.to_owned(), at_ms).is_some() {
            return;
        }
        let queue = self.pos_gift_cards.entry(location.to_owned()).or_default();
        // Webhooks can arrive out of order; keep the queue sorted so trimming stays right.
        let at = queue.partition_point(|(t, _)| *t <= at_ms);
        queue.insert(at, (at_ms, amount));
    }

    /// The customer's checkouts in the last 30 days before `now`.
    pub fn visits(&mut self, customer: &str, now: i64) -> u32 {
        let Some(queue) = self.visits.get_mut(customer) else { return 0 };
        while queue.front().is_some_and(|at| *at < now - VISIT_DAYS * DAY_MS) {
            queue.pop_front();
        }
        queue.len() as u32
    }

    /// Drops everything older than the longest window, and keys left empty.
    pub fn sweep(&mut self, now: i64, config: &FraudConfig) {
        let gift = now - i64::from(config.gift_card_window_minutes) * MINUTE_MS;
        let cashier = now - i64::from(config.cashier_window_minutes) * MINUTE_MS;
        for map in [&mut self.gift_cards_by_register, &mut self.gift_cards_by_customer] {
            map.values_mut().for_each(|q| trim(q, gift));
            map.retain(|_, q| !q.is_empty());
        }
        self.pos_gift_cards.values_mut().for_each(|q| trim(q, gift));
        self.pos_gift_cards.retain(|_, q| !q.is_empty());
        self.pos_activity_ids.retain(|_, at| *at >= gift);
        self.cashiers.values_mut().for_each(|q| trim(q, cashier));
        self.cashiers.retain(|_, q| !q.is_empty());
        for queue in self.visits.values_mut() {
            while queue.front().is_some_and(|at| *at < now - VISIT_DAYS * DAY_MS) {
                queue.pop_front();
            }
        }
        self.visits.retain(|_, q| !q.is_empty());
    }
}

/// A rule that fired.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub rule: &'static str,
    pub weight: f64,
    pub reason: String,
}

/// The combined score of `findings`, 0 to 1.
pub fn score(findings: &[Finding]) -> f64 {
    1.0 - findings.iter().fold(1.0, |left, f| left * (1.0 - f.weight.clamp(0.0, 1.0)))
}

/// Whether a line is a gift card: its category is one of `gift_card_categories`, or its name
/// or category says so.
pub fn is_gift_card(config: &FraudConfig, name: &str, category: &str) -> bool {
    let says = |text: &str| {
        let lower = text.to_ascii_lowercase();
        lower.contains("gift card") || lower.contains("giftcard") || lower.contains("gift-card")
    };
    config.gift_card_categories.iter().any(|c| c.eq_ignore_ascii_case(category)) || says(name) || says(category)
}

/// What the cart itself shows, before the memory is consulted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CartFacts {
    pub gift_cards: u32,
    pub gift_card_value: Money,
    pub overrides: u32,
    /// What the total falls short of the items less declared discounts, beyond the tolerance.
    pub unexplained: Money,
}

pub fn facts(cart: &Cart, config: &FraudConfig, tolerance: Money) -> CartFacts {
    let mut facts = CartFacts::default();
    for line in &cart.lines {
        if is_gift_card(config, &line.name, &line.category) {
            facts.gift_cards += u32::try_from((line.quantity.milli() + 999) / 1000).unwrap_or(u32::MAX);
            facts.gift_card_value += line.amount();
        }
        if line.original_unit_price.is_some_and(|original| original != line.unit_price) {
            facts.overrides += 1;
        }
    }
    let expected = cart.items_total() - cart.declared_off();
    let short = expected - cart.total;
    if short > tolerance {
        facts.unexplained = short;
    }
    facts
}

/// Runs every rule on `cart` against `memory` at `now`.
pub fn assess(
    cart: &Cart,
    facts: &CartFacts,
    memory: &mut Memory,
    config: &FraudConfig,
    location: Option<&str>,
    now: i64,
) -> Vec<Finding> {
    let mut found = Vec::new();
    let items = cart.items_total();
    if facts.unexplained > Money::ZERO {
        let percent = facts.unexplained.minor() * 100 / items.minor().max(1);
        found.push(Finding {
            rule: "total_mismatch",
            weight: config.total_mismatch_weight,
            reason: format!(
                "The total {} is {} ({percent}%) below its items ({}) with no discount to explain it.",
                cart.total,
                facts.unexplained,
                items - cart.declared_off()
            ),
        });
    } else if cart.total.minor() * 100 > items.minor() * (100 + MAX_ABOVE_ITEMS_PERCENT) {
        found.push(Finding {
            rule: "total_mismatch",
            weight: config.total_mismatch_weight,
            reason: format!("The total {} is far above its items ({}).", cart.total, items),
        });
    }
    if facts.gift_cards > 0 {
        gift_card_rules(cart, facts, memory, config, location, now, &mut found);
    }
    if let Some(cashier) = &cart.cashier_id {
        let since = now - i64::from(config.cashier_window_minutes) * MINUTE_MS;
        let (mut voids, mut overrides) = (cart.voided_lines, facts.overrides);
        if let Some(queue) = memory.cashiers.get_mut(cashier) {
            trim(queue, since);
            for (_, (v, o)) in queue.iter() {
                voids += v;
                overrides += o;
            }
        }
        let minutes = config.cashier_window_minutes;
        if cart.voided_lines > 0 && voids >= config.cashier_voids {
            found.push(Finding {
                rule: "cashier_voids",
                weight: config.cashier_weight,
                reason: format!("Cashier {cashier} has voided {voids} lines in the last {minutes} minutes."),
            });
        }
        if facts.overrides > 0 && overrides >= config.cashier_overrides {
            found.push(Finding {
                rule: "cashier_overrides",
                weight: config.cashier_weight,
                reason: format!("Cashier {cashier} has overridden {overrides} prices in the last {minutes} minutes."),
            });
        }
    }
    found
}

fn gift_card_rules(
    cart: &Cart,
    facts: &CartFacts,
    memory: &mut Memory,
    config: &FraudConfig,
    location: Option<&str>,
    now: i64,
    found: &mut Vec<Finding>,
) {
    let minutes = config.gift_card_window_minutes;
    let since = now - i64::from(minutes) * MINUTE_MS;
    let count = |map: &mut HashMap<String, Window<u32>>, key: &str| {
        map.get_mut(key).map_or(0, |q| {
            trim(q, since);
            q.iter().map(|(_, n)| n).sum::<u32>()
        }) + facts.gift_cards
    };
    let on_register = count(&mut memory.gift_cards_by_register, &cart.register_id);
    let by_customer = cart.loyalty_id.as_deref().map_or(0, |c| count(&mut memory.gift_cards_by_customer, c));
    if on_register >= config.gift_card_burst {
        found.push(Finding {
            rule: "gift_card_burst",
            weight: config.gift_card_burst_weight,
            reason: format!("{on_register} gift cards on register {} in {minutes} minutes.", cart.register_id),
        });
    } else if by_customer >= config.gift_card_burst {
        found.push(Finding {
            rule: "gift_card_burst",
            weight: config.gift_card_burst_weight,
            reason: format!("{by_customer} gift cards to one customer in {minutes} minutes."),
        });
    } else if let Some(queue) = location.and_then(|l| memory.pos_gift_cards.get_mut(l)) {
        trim(queue, since);
        // The POS's own count includes the cards sold through reviewed carts, so it needs twice
        // the burst before it counts on its own.
        let at_store = queue.len() as u32 + facts.gift_cards;
        if at_store >= 2 * config.gift_card_burst.max(1) {
            let value: Money = queue.iter().map(|(_, m)| *m).sum();
            found.push(Finding {
                rule: "gift_card_burst",
                weight: config.gift_card_burst_weight,
                reason: format!("{at_store} gift cards sold at this store in {minutes} minutes ({value} loaded)."),
            });
        }
    }
    let high = Money::from_minor((config.gift_card_high_value * 100.0).round() as i64);
    if facts.gift_card_value >= high {
        let known = cart.loyalty_id.as_deref().map(|c| memory.visits(c, now)).unwrap_or(0);
        if known == 0 {
            let who = if cart.loyalty_id.is_some() { "a customer on their first visit" } else { "an unknown customer" };
            found.push(Finding {
                rule: "gift_card_new_customer",
                weight: config.gift_card_new_customer_weight,
                reason: format!("{} of gift cards for {who}.", facts.gift_card_value),
            });
        }
    }
    if cart.tender_type.contains("gift") {
        found.push(Finding {
            rule: "gift_card_with_gift_card",
            weight: config.gift_card_with_gift_card_weight,
            reason: "Gift cards paid for with a gift card.".into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_combine_as_independent_evidence() {
        let f = |w| Finding { rule: "r", weight: w, reason: String::new() };
        assert_eq!(score(&[]), 0.0);
        assert!((score(&[f(0.5), f(0.5)]) - 0.75).abs() < 1e-9);
        assert!(score(&[f(0.9), f(0.9), f(0.9)]) < 1.0);
    }

    #[test]
    fn a_register_remembers_its_gift_cards_for_the_window() {
        let mut memory = Memory::default();
        let trace = |at_ms| Trace { at_ms, register: "R1".into(), gift_cards: 1, ..Trace::default() };
        memory.remember(&trace(0));
        memory.remember(&trace(10 * MINUTE_MS));
        memory.sweep(35 * MINUTE_MS, &FraudConfig::default());
        assert_eq!(memory.gift_cards_by_register["R1"].len(), 1, "the first sale is past the 30 minutes");
    }
}
