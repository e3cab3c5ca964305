//! Daily demand series per item and location, built from sale lines in the shop's time zone,
//! and the correction for days the item could not sell because it was out of stock: those days
//! are censored (their true demand is unknown, not zero) and filled with what the item usually
//! sells on that weekday before any model sees them.

use crate::domain::{LocationId, VariationId};
use chrono::{NaiveDate, TimeZone};
use std::collections::BTreeMap;

/// Units sold per day of one variation at one location, day 0 being `first_day`.
#[derive(Clone, Debug, PartialEq)]
pub struct DailySeries {
    pub variation_id: VariationId,
    pub location_id: LocationId,
    pub first_day: NaiveDate,
    pub demand: Vec<f64>,
    /// Days the item is believed to have been out of stock.
    pub censored: Vec<bool>,
}

impl DailySeries {
    /// Days with a sale.
    pub fn selling_days(&self) -> usize {
        self.demand.iter().filter(|d| **d > 0.0).count()
    }

    /// The demand with censored days filled in: what the models fit.
    pub fn corrected(&self) -> Vec<f64> {
        impute_censored(&self.demand, &self.censored)
    }
}

pub use crate::domain::Sale;

/// One series per (variation, location) that sold in `[first_day, last_day]`, zero-filled,
/// ordered by variation then location. Censored days are detected from the series itself.
pub fn build_series(
    sales: impl IntoIterator<Item = Sale>,
    timezone: chrono_tz::Tz,
    first_day: NaiveDate,
    last_day: NaiveDate,
) -> Vec<DailySeries> {
    let days = usize::try_from((last_day - first_day).num_days() + 1).unwrap_or(0);
    let mut by_key: BTreeMap<(VariationId, LocationId), Vec<f64>> = BTreeMap::new();
    for sale in sales {
        let Some(at) = timezone.timestamp_millis_opt(sale.at_ms).single() else { continue };
        let Ok(day) = usize::try_from((at.date_naive() - first_day).num_days()) else { continue };
        if day >= days {
            continue;
        }
        by_key.entry((sale.variation_id, sale.location_id)).or_insert_with(|| vec![0.0; days])[day] += sale.units;
    }
    by_key
        .into_iter()
        .map(|((variation_id, location_id), demand)| {
            let censored = censored_days(&demand);
            DailySeries { variation_id, location_id, first_day, demand, censored }
        })
        .collect()
}

/// Runs of zero days too long to be chance for an item that usually sells: with a share `p` of
/// selling days, a run of `k` empty days has probability `(1 - p)^k`; below one in a thousand it
/// is taken as a stock-out. Items selling on fewer than half the days are left alone: for them
/// a long quiet spell is ordinary. A run still open at the end of the history is included (it
/// is the stock-out the item is in now).
pub fn censored_days(demand: &[f64]) -> Vec<bool> {
    let mut censored = vec![false; demand.len()];
    let selling = demand.iter().filter(|d| **d > 0.0).count();
    if demand.is_empty() || selling * 2 < demand.len() {
        return censored;
    }
    let p = selling as f64 / demand.len() as f64;
    let shortest = ((0.001_f64).ln() / (1.0 - p).max(1e-9).ln()).ceil().max(3.0) as usize;
    let mut start = None;
    for t in 0..=demand.len() {
        let zero = t < demand.len() && demand[t] <= 0.0;
        match (zero, start) {
            (true, None) => start = Some(t),
            (false, Some(s)) => {
                if t - s >= shortest {
                    censored[s..t].iter_mut().for_each(|c| *c = true);
                }
                start = None;
            }
            _ => {}
        }
    }
    censored
}

/// Censored days replaced by the mean of the same weekday's uncensored days in the four weeks
/// before (or, lacking those, all uncensored days of that weekday; or the overall mean).
pub fn impute_censored(demand: &[f64], censored: &[bool]) -> Vec<f64> {
    if !censored.iter().any(|c| *c) {
        return demand.to_vec();
    }
    let uncensored: Vec<f64> = demand.iter().zip(censored).filter(|(_, c)| !**c).map(|(d, _)| *d).collect();
    let overall = if uncensored.is_empty() { 0.0 } else { uncensored.iter().sum::<f64>() / uncensored.len() as f64 };
    let mut out = demand.to_vec();
    for t in (0..demand.len()).filter(|t| censored[*t]) {
        let same_weekday = |range: &mut dyn Iterator<Item = usize>| {
            let values: Vec<f64> = range.filter(|s| !censored[*s]).map(|s| demand[s]).collect();
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        };
        let recent = same_weekday(&mut (1..=4).filter_map(|w| t.checked_sub(7 * w)));
        let any = || same_weekday(&mut (t % 7..demand.len()).step_by(7));
        out[t] = recent.or_else(any).unwrap_or(overall);
    }
    out
}

/// Every item's daily series from `sales` (mirrored or imported), from the first day with a
/// sale to the last full day: the day before `today`, or the last day with sales if earlier.
pub fn history(sales: Vec<Sale>, timezone: chrono_tz::Tz, today: NaiveDate) -> Vec<DailySeries> {
    let day = |ms: i64| timezone.timestamp_millis_opt(ms).single().map(|t| t.date_naive());
    let (Some(first), Some(last)) =
        (sales.iter().filter_map(|s| day(s.at_ms)).min(), sales.iter().filter_map(|s| day(s.at_ms)).max())
    else {
        return Vec::new();
    };
    let yesterday = today - chrono::Duration::days(1);
    build_series(sales, timezone, first, last.min(yesterday))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_empty_run_in_a_daily_seller_is_a_stock_out() {
        let mut demand = vec![5.0; 60];
        for d in &mut demand[30..38] {
            *d = 0.0;
        }
        demand[11] = 0.0; // one quiet day is just a quiet day
        let censored = censored_days(&demand);
        assert!(censored[30..38].iter().all(|c| *c));
        assert!(!censored[11] && !censored[29] && !censored[38]);
        let corrected = impute_censored(&demand, &censored);
        assert_eq!(corrected[31], 5.0);
        assert_eq!(corrected[11], 0.0);
    }

    #[test]
    fn slow_sellers_are_not_censored() {
        let demand: Vec<f64> = (0..60).map(|t| if t % 5 == 0 { 1.0 } else { 0.0 }).collect();
        assert!(censored_days(&demand).iter().all(|c| !*c));
    }

    #[test]
    fn series_follow_the_shops_days() {
        let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
        let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let at = |d: u32, h: u32| tz.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap().timestamp_millis();
        let sale = |at_ms, units| Sale { variation_id: "V".into(), location_id: "L".into(), at_ms, units };
        // 23:30 local on Nov 2 is already Nov 3 in UTC; it still counts for Nov 2.
        let series = build_series(
            vec![sale(at(2, 23), 2.0), sale(at(1, 9), 1.0), sale(at(2, 10), 0.5)],
            tz,
            first,
            first + chrono::Duration::days(2),
        );
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].demand, [1.0, 2.5, 0.0]);
    }
}
