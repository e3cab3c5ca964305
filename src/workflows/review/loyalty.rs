//! Loyalty discounts from `[[review.loyalty]]`: the first rule whose conditions all hold is
//! offered to the cashier with its code. A rule never takes more than the policy allows
//! (checked when the configuration loads, and again here), never touches
//! `policy.never_discount_categories`, and is not offered twice when the code is already on
//! the cart.

use super::cart::{Action, Cart, Line, Recommendation};
use crate::config::{LoyaltyRule, PolicyConfig};
use crate::domain::Money;

fn banned(policy: &PolicyConfig, line: &Line) -> bool {
    policy.never_discount_categories.iter().any(|c| c.eq_ignore_ascii_case(&line.category))
}

/// The discount to offer, if any; `visits` is the customer's checkouts in the last 30 days.
pub fn offer(rules: &[LoyaltyRule], policy: &PolicyConfig, cart: &Cart, visits: u32) -> Option<Recommendation> {
    cart.loyalty_id.as_ref()?;
    let cap = f64::from(policy.manager_approval_discount_pct);
    rules.iter().find_map(|rule| {
        if cart.discounts.iter().any(|d| d.code.eq_ignore_ascii_case(&rule.code)) {
            return None;
        }
        if !rule.segments.is_empty()
            && !cart.segment.as_deref().is_some_and(|s| rule.segments.iter().any(|r| r.eq_ignore_ascii_case(s)))
        {
            return None;
        }
        if rule.min_visits.is_some_and(|min| visits < min) {
            return None;
        }
        let in_category = |line: &Line| rule.categories.iter().any(|c| c.eq_ignore_ascii_case(&line.category));
        let eligible: Vec<&Line> = cart
            .lines
            .iter()
            .filter(|l| !banned(policy, l) && (rule.categories.is_empty() || in_category(l)))
            .collect();
        let base: Money = eligible.iter().map(|l| l.amount()).sum();
        if base <= Money::ZERO {
            return None;
        }
        if let Some(min) = rule.min_spend
            && cart.items_total().minor() < (min * 100.0).round() as i64
        {
            return None;
        }
        let percent = rule.percent.min(cap);
        let saving = Money::from_minor((base.minor() as f64 * percent / 100.0).round() as i64);
        let excluded = cart.lines.iter().any(|l| banned(policy, l));
        let mut reason = rule.reason.clone().unwrap_or_else(|| describe(rule, visits));
        reason.push_str(&format!(" {percent}% off {base} saves the customer {saving}"));
        if excluded {
            reason.push_str(&format!(" ({} excluded)", policy.never_discount_categories.join(", ")));
        }
        reason.push('.');
        let mut rec = Recommendation::new(Action::ApplyDiscount, reason, 0.9);
        rec.discount_code = Some(rule.code.clone());
        Some(rec)
    })
}

fn describe(rule: &LoyaltyRule, visits: u32) -> String {
    let mut parts = Vec::new();
    if !rule.segments.is_empty() {
        parts.push(format!("a {} member", rule.segments.join("/")));
    }
    if rule.min_visits.is_some() {
        parts.push(format!("{visits} visits in 30 days"));
    }
    if let Some(min) = rule.min_spend {
        parts.push(format!("a cart over ${min:.2}"));
    }
    if !rule.categories.is_empty() {
        parts.push(rule.categories.join("/"));
    }
    if parts.is_empty() { "Loyalty member:".into() } else { format!("Loyalty ({}):", parts.join(", ")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Quantity;

    fn cart(lines: &[(&str, i64)]) -> Cart {
        Cart {
            store_id: "S".into(),
            register_id: "R".into(),
            transaction_id: "T".into(),
            timestamp: "2026-11-26T10:00:00Z".into(),
            total: Money::from_minor(lines.iter().map(|(_, c)| c).sum()),
            tender_type: "cash".into(),
            lines: lines
                .iter()
                .map(|(category, cents)| Line {
                    sku: format!("SKU-{category}"),
                    name: (*category).into(),
                    quantity: Quantity::from_units(1),
                    unit_price: Money::from_minor(*cents),
                    category: (*category).into(),
                    original_unit_price: None,
                })
                .collect(),
            loyalty_id: Some("LOY1".into()),
            segment: Some("regular".into()),
            discounts: vec![],
            cashier_id: None,
            callback_url: None,
            voided_lines: 0,
        }
    }

    fn rule() -> LoyaltyRule {
        LoyaltyRule {
            code: "LOYAL10".into(),
            percent: 10.0,
            segments: vec!["regular".into()],
            min_spend: Some(20.0),
            min_visits: Some(2),
            categories: vec![],
            reason: None,
        }
    }

    #[test]
    fn offers_the_discount_on_what_may_be_discounted() {
        let policy = PolicyConfig { never_discount_categories: vec!["Alcohol".into()], ..PolicyConfig::default() };
        let got = offer(&[rule()], &policy, &cart(&[("Bakery", 2000), ("Alcohol", 1500)]), 3).unwrap();
        assert_eq!(got.discount_code.as_deref(), Some("LOYAL10"));
        assert!(got.reason.contains("10% off $20.00 saves the customer $2.00"), "{}", got.reason);
        assert!(got.reason.contains("Alcohol excluded"), "{}", got.reason);
    }

    #[test]
    fn every_condition_must_hold() {
        let policy = PolicyConfig::default();
        assert!(offer(&[rule()], &policy, &cart(&[("Bakery", 2000)]), 1).is_none(), "too few visits");
        assert!(offer(&[rule()], &policy, &cart(&[("Bakery", 1000)]), 3).is_none(), "spend too low");
        let mut other = cart(&[("Bakery", 2000)]);
        other.segment = Some("new".into());
        assert!(offer(&[rule()], &policy, &other, 3).is_none(), "another segment");
        let policy = PolicyConfig { never_discount_categories: vec!["Alcohol".into()], ..PolicyConfig::default() };
        assert!(offer(&[rule()], &policy, &cart(&[("Alcohol", 3000)]), 3).is_none(), "nothing may be discounted");
    }
}
