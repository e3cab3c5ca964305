//! `cargo bench --bench replenish`: the reorder policy replayed over the simulated shop's year.
//! Every item and location starts with two weeks of stock; each day its real demand (the
//! simulated shop's sales) is served from the shelf, and what the shelf cannot serve is lost.
//! Every review period (a week) the policy sees only what sold, stock-outs and all, exactly as
//! the reorder run does (the history from the item's first sale, stock-out days corrected, a
//! method per demand class chosen by the pooled backtest, the service-level reorder point), and
//! orders whole packs that arrive after the vendor's lead time. The baseline orders, on the same
//! days, up to four weeks of the last four weeks' average sales. Reported per demand class (of
//! the whole year's demand): fill rate (units served / units wanted), average stock on hand at
//! cost, and stock-out days per item.

use std::collections::BTreeMap;
use tillpilot::domain::Money;
use tillpilot::forecast::policy::{DEFAULT_SERVICE_LEVEL, ItemPosition, round_order, suggest};
use tillpilot::forecast::series::{build_series, censored_days, impute_censored};
use tillpilot::forecast::{DemandClass, Selection, classify};
use tillpilot::pos::sim::{SimOptions, generate};

/// Days the policy watches before it orders: enough history to backtest.
const WARMUP: usize = 56;
const REVIEW_DAYS: usize = 7;
const BASELINE_COVER_DAYS: f64 = 28.0;

/// One item at one location, as the replay needs it.
struct Line {
    demand: Vec<f64>,
    class: DemandClass,
    lead_time: usize,
    pack: u32,
    minimum: u32,
    unit_cost: Money,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    items: usize,
    wanted: f64,
    served: f64,
    stock_value_days: f64,
    days: usize,
    stockout_days: usize,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.items += other.items;
        self.wanted += other.wanted;
        self.served += other.served;
        self.stock_value_days += other.stock_value_days;
        self.days += other.days;
        self.stockout_days += other.stockout_days;
    }
}

/// How a replay decides: `(lines, day, sold so far per line, on hand, on order)` → units to order.
type Orderer<'a> = dyn FnMut(&[Line], usize, &[Vec<f64>], &[f64], &[f64]) -> Vec<u32> + 'a;

/// Replays the year with `order` deciding on review days; one tally per line.
fn replay(lines: &[Line], order: &mut Orderer<'_>) -> Vec<Tally> {
    let days = lines.iter().map(|l| l.demand.len()).max().unwrap_or(0);
    let mut on_hand: Vec<f64> =
        lines.iter().map(|l| (l.demand[..WARMUP].iter().sum::<f64>() / WARMUP as f64 * 14.0).ceil()).collect();
    let mut sold: Vec<Vec<f64>> = lines.iter().map(|l| l.demand[..WARMUP].to_vec()).collect();
    let mut arriving: Vec<BTreeMap<usize, f64>> = vec![BTreeMap::new(); lines.len()];
    let mut tallies = vec![Tally { items: 1, ..Tally::default() }; lines.len()];
    for day in WARMUP..days {
        for (i, line) in lines.iter().enumerate() {
            if let Some(units) = arriving[i].remove(&day) {
                on_hand[i] += units;
            }
            let wanted = line.demand[day];
            let served = wanted.min(on_hand[i]);
            on_hand[i] -= served;
            sold[i].push(served);
            let t = &mut tallies[i];
            t.wanted += wanted;
            t.served += served;
            t.stock_value_days += on_hand[i] * line.unit_cost.minor() as f64 / 100.0;
            t.days += 1;
            if served < wanted {
                t.stockout_days += 1;
            }
        }
        if (day - WARMUP).is_multiple_of(REVIEW_DAYS) {
            let on_order: Vec<f64> = arriving.iter().map(|a| a.values().sum()).collect();
            let quantities = order(lines, day, &sold, &on_hand, &on_order);
            for (i, quantity) in quantities.into_iter().enumerate() {
                if quantity > 0 {
                    *arriving[i].entry(day + 1 + lines[i].lead_time).or_default() += f64::from(quantity);
                }
            }
        }
    }
    tallies
}

fn main() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
    let shop = generate(&SimOptions::new(tillpilot::demo::DEFAULT_SEED, today));
    let series = build_series(
        shop.sales(),
        shop.timezone,
        today - chrono::Duration::days(365),
        today - chrono::Duration::days(1),
    );
    let lines: Vec<Line> = series
        .into_iter()
        .filter_map(|s| {
            let term = shop
                .vendor_terms
                .iter()
                .filter(|t| t.variation_id == s.variation_id)
                .min_by_key(|t| t.unit_cost.minor())?;
            let vendor = shop.vendors.iter().find(|v| v.id == term.vendor_id)?;
            Some(Line {
                class: classify(&s.demand),
                demand: s.demand,
                lead_time: vendor.lead_time_days as usize,
                pack: term.pack_size,
                minimum: term.minimum_quantity,
                unit_cost: term.unit_cost,
            })
        })
        .collect();

    let started = std::time::Instant::now();
    let policy = replay(&lines, &mut |lines, _day, sold, on_hand, on_order| {
        let histories: Vec<Vec<f64>> = sold
            .iter()
            .map(|s| {
                let from = &s[s.iter().position(|d| *d > 0.0).unwrap_or(s.len())..];
                impute_censored(from, &censored_days(from))
            })
            .collect();
        let selection = Selection::learn(histories.iter().map(Vec::as_slice));
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let history = &histories[i];
                let choice = selection.choose(history);
                let tiers = [(0, line.unit_cost)];
                suggest(&ItemPosition {
                    history,
                    choice,
                    daily_forecast: choice.daily_forecast(history, 14),
                    on_hand: on_hand[i],
                    on_order: on_order[i],
                    lead_time_days: line.lead_time as u32,
                    review_days: REVIEW_DAYS as u32,
                    service_level: DEFAULT_SERVICE_LEVEL,
                    pack_size: line.pack,
                    minimum_units: line.minimum,
                    price_tiers: &tiers,
                })
                .quantity
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let baseline = replay(&lines, &mut |lines, _day, sold, on_hand, on_order| {
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let recent = &sold[i][sold[i].len().saturating_sub(28)..];
                let average = recent.iter().sum::<f64>() / recent.len().max(1) as f64;
                round_order(average * BASELINE_COVER_DAYS - on_hand[i] - on_order[i], line.pack, line.minimum)
            })
            .collect()
    });

    println!(
        "Replenishment over the simulated shop's year: {} items x locations, days {WARMUP}-{} replayed, review every \
         {REVIEW_DAYS} days, {:.0}% service level (policy replay {elapsed:.1?}).\n",
        lines.len(),
        lines.iter().map(|l| l.demand.len()).max().unwrap_or(0),
        DEFAULT_SERVICE_LEVEL * 100.0
    );
    println!(
        "{:<13} {:>5} | {:>9} {:>11} {:>13} | {:>9} {:>11} {:>13}",
        "class", "items", "fill", "avg stock", "stock-out d", "base fill", "base stock", "base out d"
    );
    let classes = [DemandClass::Smooth, DemandClass::Erratic, DemandClass::Intermittent, DemandClass::Lumpy];
    let mut totals = (Tally::default(), Tally::default());
    for class in classes.into_iter().map(Some).chain([None]) {
        let (mut p, mut b) = (Tally::default(), Tally::default());
        if let Some(class) = class {
            for i in (0..lines.len()).filter(|i| lines[*i].class == class) {
                p.add(&policy[i]);
                b.add(&baseline[i]);
            }
            totals.0.add(&p);
            totals.1.add(&b);
        } else {
            (p, b) = totals;
        }
        if p.items == 0 {
            continue;
        }
        let row = |t: &Tally| {
            (
                100.0 * t.served / t.wanted.max(1e-9),
                t.stock_value_days / (t.days as f64 / t.items as f64).max(1.0),
                t.stockout_days as f64 / t.items as f64,
            )
        };
        let ((pf, ps, po), (bf, bs, bo)) = (row(&p), row(&b));
        let name = class.map_or("all", DemandClass::as_str);
        println!(
            "{name:<13} {:>5} | {pf:>8.1}% {:>11} {po:>13.1} | {bf:>8.1}% {:>11} {bo:>13.1}",
            p.items,
            format!("${ps:.0}"),
            format!("${bs:.0}")
        );
    }
}
