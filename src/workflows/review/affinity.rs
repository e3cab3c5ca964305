//! What sells together: association rules `A -> B` mined from the shop's own baskets. For
//! each pair of items bought in one sale: support (the share of all baskets holding both),
//! confidence (of the baskets holding A, the share that also hold B) and lift (how many times
//! more often B comes with A than in baskets at large). Only pairs seen in enough baskets, with
//! a real lift, become rules, so chance pairs of popular items (milk and cola) stay out.

use std::collections::HashMap;

/// A pair must be seen in at least this many baskets to count.
const MIN_PAIR_BASKETS: u32 = 20;
/// B must come with A at least this often ...
const MIN_CONFIDENCE: f64 = 0.10;
/// ... and at least this many times more often than in baskets at large.
const MIN_LIFT: f64 = 2.0;
/// Rules kept for each A, the strongest first.
const RULES_PER_ITEM: usize = 5;

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The variation that goes with the antecedent.
    pub then: String,
    pub baskets: u32,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// The mined rules, by antecedent variation.
#[derive(Clone, Debug, Default)]
pub struct BasketRules {
    pub baskets: u32,
    pub rules: HashMap<String, Vec<Rule>>,
}

impl BasketRules {
    /// Mines `lines`, `(basket id, variation id)` grouped by basket.
    pub fn mine(lines: &[(String, String)]) -> BasketRules {
        /// Counts one basket's items and pairs; 1 when it held anything.
        fn flush<'a>(
            basket: &mut Vec<&'a str>,
            singles: &mut HashMap<&'a str, u32>,
            pairs: &mut HashMap<(&'a str, &'a str), u32>,
        ) -> u32 {
            basket.sort_unstable();
            basket.dedup();
            if basket.is_empty() {
                return 0;
            }
            for (i, a) in basket.iter().enumerate() {
                *singles.entry(*a).or_default() += 1;
                for b in &basket[i + 1..] {
                    *pairs.entry((*a, *b)).or_default() += 1;
                }
            }
            basket.clear();
            1
        }
        let mut baskets = 0u32;
        let mut singles: HashMap<&str, u32> = HashMap::new();
        let mut pairs: HashMap<(&str, &str), u32> = HashMap::new();
        let mut basket: Vec<&str> = Vec::new();
        let mut current: Option<&str> = None;
        for (order, variation) in lines {
            if current != Some(order.as_str()) {
                baskets += flush(&mut basket, &mut singles, &mut pairs);
                current = Some(order.as_str());
            }
            basket.push(variation.as_str());
        }
        baskets += flush(&mut basket, &mut singles, &mut pairs);
        let n = f64::from(baskets.max(1));
        let mut rules: HashMap<String, Vec<Rule>> = HashMap::new();
        for ((a, b), together) in pairs {
            if together < MIN_PAIR_BASKETS {
                continue;
            }
            for (from, to) in [(a, b), (b, a)] {
                let confidence = f64::from(together) / f64::from(singles[from]);
                let lift = confidence / (f64::from(singles[to]) / n);
                if confidence >= MIN_CONFIDENCE && lift >= MIN_LIFT {
                    rules.entry(from.to_owned()).or_default().push(Rule {
                        then: to.to_owned(),
                        baskets: together,
                        support: f64::from(together) / n,
                        confidence,
                        lift,
                    });
                }
            }
        }
        for list in rules.values_mut() {
            list.sort_by(|x, y| y.confidence.total_cmp(&x.confidence).then_with(|| x.then.cmp(&y.then)));
            list.truncate(RULES_PER_ITEM);
        }
        BasketRules { baskets, rules }
    }

    /// The best rules from anything in `cart` to something not in it that `available` allows,
    /// at most `n`, strongest first; each with the cart variation it comes from.
    pub fn suggest<'a>(
        &'a self,
        cart: &[&str],
        n: usize,
        available: impl Fn(&str) -> bool,
    ) -> Vec<(&'a str, &'a Rule)> {
        let mut found: Vec<(&str, &Rule)> = Vec::new();
        for from in cart {
            let Some((key, list)) = self.rules.get_key_value(*from) else { continue };
            for rule in list {
                if cart.contains(&rule.then.as_str()) || !available(&rule.then) {
                    continue;
                }
                match found.iter_mut().find(|(_, r)| r.then == rule.then) {
                    Some(slot) if slot.1.confidence < rule.confidence => *slot = (key.as_str(), rule),
                    Some(_) => {}
                    None => found.push((key.as_str(), rule)),
                }
            }
        }
        found.sort_by(|x, y| y.1.confidence.total_cmp(&x.1.confidence).then_with(|| x.1.then.cmp(&y.1.then)));
        found.truncate(n);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000 baskets: pasta comes with sauce in 60 of its 100; milk is in half of all baskets
    /// and cola in a fifth, independently.
    fn baskets() -> Vec<(String, String)> {
        let mut lines = Vec::new();
        for i in 0..1000u32 {
            let id = format!("o{i:04}");
            let mut add = |v: &str| lines.push((id.clone(), v.to_owned()));
            if i % 10 == 0 {
                add("pasta");
                if i % 50 < 30 {
                    add("sauce");
                }
            }
            if i % 2 == 1 {
                add("milk");
            }
            if i % 5 == 1 {
                add("cola");
            }
            if i % 97 == 3 {
                add("sauce");
            }
        }
        lines
    }

    #[test]
    fn finds_what_sells_together_and_not_what_is_merely_popular() {
        let lines = baskets();
        let rules = BasketRules::mine(&lines);
        let distinct: std::collections::HashSet<&str> = lines.iter().map(|(o, _)| o.as_str()).collect();
        assert_eq!(rules.baskets as usize, distinct.len(), "every basket with an item counts once");
        let pasta = &rules.rules["pasta"];
        assert_eq!(pasta.len(), 1, "{pasta:?}");
        assert_eq!(pasta[0].then, "sauce");
        assert!((pasta[0].confidence - 0.6).abs() < 1e-9);
        assert!(pasta[0].lift > 5.0);
        assert!(!rules.rules.contains_key("milk"), "milk goes with everything by chance only");
        assert!(!rules.rules.contains_key("cola"));
    }

    #[test]
    fn suggests_only_what_is_missing_and_available() {
        let rules = BasketRules::mine(&baskets());
        let got = rules.suggest(&["pasta", "milk"], 2, |_| true);
        assert_eq!(got.iter().map(|(_, r)| r.then.as_str()).collect::<Vec<_>>(), ["sauce"]);
        assert!(rules.suggest(&["pasta", "sauce"], 2, |_| true).iter().all(|(_, r)| r.then != "sauce"));
        assert!(rules.suggest(&["pasta"], 2, |v| v != "sauce").is_empty(), "out of stock is never suggested");
    }
}
