//! Finding the day's unusual sellers: items that sold far from what they usually sell on that
//! weekday at that location. The baseline is the median of the same weekday over the eight
//! weeks before (stock-out days, and days before the history begins, left out), so one odd
//! week does not move it. Only items whose demand is steady enough for a change to mean
//! something are checked: at least five units on a usual day, four or more usable weeks, and
//! days that vary around their weekday's usual no more than 2.5 times as much as Poisson
//! noise. A day is an anomaly when it is 35% or more off the usual and unlikely at the usual
//! rate (the tail of what the weeks before predict): under 1% with a cause the data shows (the
//! item went out of stock, its price changed, or refunds on it spiked), and without one so
//! unlikely that noise would raise such an alert somewhere in the shop on one day in fifty. An
//! item and location the owner marked "expected" twice lately needs a 60% change.
//!
//! Pure arithmetic on sold lines: the workflow reads them from the mirror, the tests from the
//! simulated shop.

use super::series::{DailySeries, Sale, build_series};
use crate::domain::{LocationId, VariationId};
use chrono::{NaiveDate, TimeZone};
use std::collections::{HashMap, HashSet};

pub const WEEKS: i64 = 8;
const MIN_WEEKS: usize = 4;
const MIN_USUAL_UNITS: f64 = 5.0;
/// Steady enough: day-to-day variance around each weekday's usual at most this many times a
/// Poisson's.
const MAX_DISPERSION: f64 = 2.5;
const MIN_CHANGE: f64 = 0.35;
const TUNED_MIN_CHANGE: f64 = 0.60;
/// How likely ordinary noise may be to raise an alert somewhere in the shop on a given day
/// with no cause in the data: each checked item gets its share (a shop checking 200 items
/// alerts for an item alone at 0.01%), so a shop with more items does not hear of more noise.
const SHOP_P_ALONE: f64 = 0.02;
/// Never a looser bar than this for one item, however few are checked.
const P_ALONE: f64 = 0.001;
/// With a cause in the data (out of stock, a new price, refunds), 1% is enough.
const P_WITH_CAUSE: f64 = 0.01;

/// One sold line with what the causes need.
#[derive(Clone, Debug)]
pub struct SoldLine {
    pub variation_id: VariationId,
    pub location_id: LocationId,
    pub at_ms: i64,
    pub units: f64,
    /// What the line brought in, in minor units (after its discount).
    pub net_minor: i64,
    /// Whether its order was (partly) refunded.
    pub refunded: bool,
}

/// The first day whose sales the check for `date` reads.
pub fn first_day(date: NaiveDate) -> NaiveDate {
    date - chrono::Duration::days(7 * WEEKS)
}

/// Why a day was unusual, as far as the data shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Cause {
    OutOfStock,
    /// Average unit price on the day against the usual one, in minor units.
    PriceChanged {
        from_minor: i64,
        to_minor: i64,
    },
    Refunds(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Unusual {
    pub variation_id: VariationId,
    pub location_id: LocationId,
    pub actual: f64,
    pub usual: f64,
    /// (actual − usual) / usual.
    pub change: f64,
    pub cause: Option<Cause>,
}

/// P(X ≤ k) for X ~ Poisson(λ).
pub fn poisson_cdf(k: u64, lambda: f64) -> f64 {
    let mut term = (-lambda).exp();
    let mut sum = term;
    for i in 1..=k {
        term *= lambda / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// P(X ≤ k) for the next day's count after `n` days that sold `total` in all, when each day
/// is Poisson with an unknown rate: the rate's posterior is Gamma(total + ½, n), so the next
/// count is negative binomial with r = total + ½ and success probability n / (n + 1). Wider
/// than a Poisson at the estimated rate, because four to eight weeks only estimate it.
pub fn predictive_cdf(k: u64, total: f64, n: usize) -> f64 {
    let (r, n) = (total + 0.5, n.max(1) as f64);
    let (p, q) = (n / (n + 1.0), 1.0 / (n + 1.0));
    let mut term = p.powf(r);
    let mut sum = term;
    for i in 0..k {
        let i = i as f64;
        term *= (i + r) / (i + 1.0) * q;
        sum += term;
    }
    sum.min(1.0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

type Key = (VariationId, LocationId);

/// How much more the days before `t` vary around their weekday's median than Poisson noise
/// would (1 for a Poisson seller): the mean of (x − usual)² / usual over the known, uncensored
/// days of the weeks before. Every day counts, not only `t`'s weekday, so four weeks give
/// some twenty-eight samples rather than four.
fn dispersion(demand: &[f64], censored: &[bool], t: usize, known: &dyn Fn(&usize) -> bool) -> f64 {
    let days: Vec<usize> = (t.saturating_sub(7 * WEEKS as usize)..t).filter(|d| known(d) && !censored[*d]).collect();
    let (mut sum, mut count) = (0.0, 0usize);
    for weekday in 0..7 {
        let mut same: Vec<f64> = days.iter().filter(|d| (t - **d) % 7 == weekday).map(|d| demand[*d]).collect();
        let usual = median(&mut same);
        if usual <= 0.0 {
            continue;
        }
        sum += same.iter().map(|x| (x - usual).powi(2) / usual).sum::<f64>();
        count += same.len();
    }
    if count == 0 { f64::INFINITY } else { sum / count as f64 }
}

/// Daily sales per item and location over a stretch of days, with what the causes need: the
/// money taken (for price changes) and refunded lines per day.
pub struct SalesDays {
    first: NaiveDate,
    history_starts: NaiveDate,
    series: Vec<DailySeries>,
    takings: HashMap<(Key, NaiveDate), (f64, f64)>,
    refunded: HashMap<(Key, NaiveDate), u32>,
}

impl SalesDays {
    /// The lines' days from `first` to `last` in `timezone`. Days before the earliest line are
    /// unknown (before the history begins), not days without sales.
    pub fn new(lines: &[SoldLine], timezone: chrono_tz::Tz, first: NaiveDate, last: NaiveDate) -> SalesDays {
        let day_of = |ms: i64| timezone.timestamp_millis_opt(ms).single().map(|t| t.date_naive());
        let mut takings: HashMap<(Key, NaiveDate), (f64, f64)> = HashMap::new();
        let mut refunded: HashMap<(Key, NaiveDate), u32> = HashMap::new();
        let mut sales = Vec::with_capacity(lines.len());
        let mut history_starts = last;
        for line in lines {
            let Some(day) = day_of(line.at_ms) else { continue };
            history_starts = history_starts.min(day);
            let key = ((line.variation_id.clone(), line.location_id.clone()), day);
            let entry = takings.entry(key.clone()).or_default();
            entry.0 += line.units;
            entry.1 += line.net_minor as f64;
            if line.refunded {
                *refunded.entry(key).or_default() += 1;
            }
            sales.push(Sale {
                variation_id: line.variation_id.clone(),
                location_id: line.location_id.clone(),
                at_ms: line.at_ms,
                units: line.units,
            });
        }
        let series = build_series(sales, timezone, first, last);
        SalesDays { first, history_starts, series, takings, refunded }
    }

    /// `date`'s unusual sellers: those with a cause first, then the most surprising. `out_of_stock` holds the items at
    /// locations with nothing on hand at the end of `date` (what the stock says now, for the
    /// latest day; empty for days further back); `tuned` those the owner marked "expected"
    /// twice or more lately.
    pub fn unusual(&self, date: NaiveDate, out_of_stock: &HashSet<Key>, tuned: &HashSet<Key>) -> Vec<Unusual> {
        let Ok(t) = usize::try_from((date - self.first).num_days()) else { return Vec::new() };
        let mut checked = 0usize;
        let mut candidates = Vec::new();
        for s in self.series.iter().filter(|s| t < s.demand.len()) {
            let known = |d: &usize| self.first + chrono::Duration::days(*d as i64) >= self.history_starts;
            let mut usual: Vec<f64> = (1..=WEEKS as usize)
                .filter_map(|k| t.checked_sub(7 * k))
                .filter(|d| known(d) && !s.censored[*d])
                .map(|d| s.demand[d])
                .collect();
            if usual.len() < MIN_WEEKS {
                continue;
            }
            let m = median(&mut usual);
            if m < MIN_USUAL_UNITS || dispersion(&s.demand, &s.censored, t, &known) > MAX_DISPERSION {
                continue;
            }
            checked += 1;
            let actual = s.demand[t];
            let change = (actual - m) / m;
            let key = (s.variation_id.clone(), s.location_id.clone());
            let needed = if tuned.contains(&key) { TUNED_MIN_CHANGE } else { MIN_CHANGE };
            if change.abs() < needed {
                continue;
            }
            let total: f64 = usual.iter().sum();
            let p = if change < 0.0 {
                predictive_cdf(actual.floor() as u64, total, usual.len())
            } else {
                1.0 - predictive_cdf((actual.ceil() as u64).saturating_sub(1), total, usual.len())
            };
            if p < P_WITH_CAUSE {
                let stocked_out = out_of_stock.contains(&key) || s.censored[t];
                candidates.push((p, self.cause(&key, date, change, stocked_out), key, actual, m, change));
            }
        }
        let share = checked.max(1) as f64;
        let p_alone = (SHOP_P_ALONE / share).min(P_ALONE);
        // Explained alerts first (the owner can act on them), then the most surprising.
        candidates.sort_by(|a, b| b.1.is_some().cmp(&a.1.is_some()).then(a.0.total_cmp(&b.0)));
        candidates
            .into_iter()
            .filter(|(p, cause, ..)| cause.is_some() || *p < p_alone)
            .map(|(_, cause, key, actual, usual, change)| Unusual {
                variation_id: key.0,
                location_id: key.1,
                actual,
                usual,
                change,
                cause,
            })
            .collect()
    }

    /// What the data shows behind a change: a drop while the item is out of stock, a price
    /// more than 5% off the usual, or two or more refunded sales.
    fn cause(&self, key: &Key, date: NaiveDate, change: f64, out_of_stock: bool) -> Option<Cause> {
        let price_on = |d: NaiveDate| {
            self.takings.get(&(key.clone(), d)).filter(|(units, _)| *units > 0.0).map(|(units, money)| money / units)
        };
        let usual_price = {
            let mut p: Vec<f64> = (1..=WEEKS).filter_map(|k| price_on(date - chrono::Duration::days(7 * k))).collect();
            (!p.is_empty()).then(|| median(&mut p))
        };
        let refunds = self.refunded.get(&(key.clone(), date)).copied().unwrap_or(0);
        if change < 0.0 && out_of_stock {
            Some(Cause::OutOfStock)
        } else if let (Some(now), Some(before)) = (price_on(date), usual_price)
            && (now / before - 1.0).abs() > 0.05
        {
            Some(Cause::PriceChanged { from_minor: before.round() as i64, to_minor: now.round() as i64 })
        } else if refunds >= 2 {
            Some(Cause::Refunds(refunds))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_tails_by_hand() {
        // λ = 2: P(0) = e^−2, P(≤1) = 3e^−2.
        assert!((poisson_cdf(0, 2.0) - (-2.0f64).exp()).abs() < 1e-12);
        assert!((poisson_cdf(1, 2.0) - 3.0 * (-2.0f64).exp()).abs() < 1e-12);
        assert!((median(&mut [3.0, 1.0, 2.0, 10.0]) - 2.5).abs() < 1e-12);
    }

    /// Eight weeks of a steady seller (about 30 a day at one location, 28 on the final day's
    /// weekday), then `last` on the final day.
    fn steady(last: f64) -> (SalesDays, NaiveDate) {
        let tz = chrono_tz::America::Chicago;
        let first = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default();
        let days = 7 * WEEKS + 1;
        let mut lines = Vec::new();
        for d in 0..days {
            let date = first + chrono::Duration::days(d);
            let units = if d == days - 1 { last } else { [28.0, 32.0, 30.0, 29.0, 31.0, 30.0, 30.0][d as usize % 7] };
            lines.push(SoldLine {
                variation_id: VariationId::new("V"),
                location_id: LocationId::new("L"),
                at_ms: crate::domain::clock::midnight_ms(tz, date) + 10 * 3_600_000,
                units,
                net_minor: (units * 300.0) as i64,
                refunded: false,
            });
        }
        let date = first + chrono::Duration::days(days - 1);
        (SalesDays::new(&lines, tz, first, date), date)
    }

    #[test]
    fn a_drop_with_a_cause_alerts_until_the_owner_calls_it_expected() {
        let key = (VariationId::new("V"), LocationId::new("L"));
        let out: HashSet<Key> = [key.clone()].into();
        let none = HashSet::new();
        let (days, date) = steady(13.0);
        let found = days.unusual(date, &out, &none);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].cause, Some(Cause::OutOfStock));
        assert!((found[0].change + 0.536).abs() < 0.001, "{}", found[0].change);
        // Marked "expected" twice: a 54% drop is under the 60% bar; an 82% one is not.
        let tuned: HashSet<Key> = [key].into();
        assert!(days.unusual(date, &out, &tuned).is_empty());
        let (days, date) = steady(5.0);
        assert_eq!(days.unusual(date, &out, &tuned).len(), 1);
        // An ordinary day alerts nobody; nor does the same drop without a cause at this size.
        let (days, date) = steady(27.0);
        assert!(days.unusual(date, &out, &none).is_empty());
        let (days, date) = steady(13.0);
        assert!(days.unusual(date, &none, &none).is_empty(), "13 against 28 is not beyond noise alone");
    }

    #[test]
    fn the_predictive_tail_is_wider_than_poisson_and_tends_to_it() {
        // Four weeks that sold 10 each: P(X = 0) = (4/5)^40.5, by hand.
        assert!((predictive_cdf(0, 40.0, 4) - 0.8f64.powf(40.5)).abs() < 1e-15);
        assert!(predictive_cdf(3, 40.0, 4) > poisson_cdf(3, 10.0));
        // With many weeks of history it is the Poisson at the observed rate.
        assert!((predictive_cdf(3, 10.0 * 10_000.0, 10_000) - poisson_cdf(3, 10.0)).abs() < 1e-3);
        let total: f64 = (0..=60)
            .map(|k| predictive_cdf(k, 40.0, 4) - if k == 0 { 0.0 } else { predictive_cdf(k - 1, 40.0, 4) })
            .sum();
        assert!((total - 1.0).abs() < 1e-9, "a distribution: {total}");
    }
}
