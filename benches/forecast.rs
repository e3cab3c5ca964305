//! `cargo bench --bench forecast`: forecasting and reorder for 5,000 items on two threads (the
//! machine's two cores), each item with a year of daily history: the pooled rolling-origin
//! choice of a method per demand class, then per item the classification, its backtest, the
//! forecast, the lead-time quantile and the reorder line. Then the cost of fitting one
//! intermittent model to one year-long series.

use std::hint::black_box;
use std::time::Instant;
use tillpilot::domain::Money;
use tillpilot::forecast::methods::Method;
use tillpilot::forecast::policy::{DEFAULT_SERVICE_LEVEL, ItemPosition, suggest};
use tillpilot::forecast::series::{censored_days, impute_censored};
use tillpilot::forecast::{Choice, Selection};
use tillpilot::pos::sim::Rng;

const ITEMS: usize = 5_000;
const DAYS: usize = 365;

/// A year of demand: a mix of steady daily sellers with a weekly pattern, slow movers and
/// lumpy ones, Poisson-like noise throughout.
fn series(rng: &mut Rng, i: usize) -> Vec<f64> {
    let kind = i % 4;
    let rate = match kind {
        0 => rng.range(4.0, 40.0),
        1 => rng.range(1.0, 4.0),
        2 => rng.range(0.1, 0.6),
        _ => rng.range(0.02, 0.2),
    };
    (0..DAYS)
        .map(|t| {
            let weekly = [0.85, 0.9, 0.95, 1.0, 1.12, 1.35, 1.2][t % 7];
            let lambda = rate * weekly;
            // Poisson by inversion; lumpy items sell in batches.
            let (mut k, mut p, u) = (0.0, (-lambda).exp(), rng.unit());
            let mut cumulative = p;
            while u > cumulative && k < 200.0 {
                k += 1.0;
                p *= lambda / k;
                cumulative += p;
            }
            if kind == 3 && k > 0.0 { k * rng.range(2.0, 12.0).round() } else { k }
        })
        .collect()
}

fn corrected(history: &[f64]) -> Vec<f64> {
    impute_censored(history, &censored_days(history))
}

fn plan(selection: &Selection, fit: &[f64]) -> (Choice, u32) {
    let choice = selection.choose(fit);
    let daily = choice.daily_forecast(fit, 14);
    let tiers = [(0, Money::from_minor(300)), (48, Money::from_minor(270))];
    let line = suggest(&ItemPosition {
        history: fit,
        choice,
        daily_forecast: daily,
        on_hand: daily * 3.0,
        on_order: 0.0,
        lead_time_days: 5,
        review_days: 7,
        service_level: DEFAULT_SERVICE_LEVEL,
        pack_size: 6,
        minimum_units: 12,
        price_tiers: &tiers,
    });
    (choice, line.quantity)
}

fn main() {
    let mut rng = Rng(20_261_126);
    let all: Vec<Vec<f64>> = (0..ITEMS).map(|i| series(&mut rng, i)).collect();

    let mut runs = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let fits: Vec<Vec<f64>> = all.iter().map(|h| corrected(h)).collect();
        let selection = Selection::learn(fits.iter().map(Vec::as_slice));
        let selection = &selection;
        let ordered: usize = std::thread::scope(|scope| {
            let halves: Vec<_> = fits
                .chunks(ITEMS.div_ceil(2))
                .map(|chunk| {
                    scope.spawn(move || chunk.iter().map(|h| plan(selection, h)).filter(|(_, q)| *q > 0).count())
                })
                .collect();
            halves.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        runs.push(started.elapsed());
        black_box(ordered);
    }
    runs.sort();
    println!("forecast + reorder, {ITEMS} items x {DAYS} days, 2 threads: best {:?}, median {:?}", runs[0], runs[1]);

    let intermittent: Vec<&Vec<f64>> = all.iter().skip(2).step_by(4).take(1_000).collect();
    for method in [Method::Croston, Method::Sba, Method::Tsb, Method::Adida] {
        let started = Instant::now();
        let mut total = 0.0;
        for _ in 0..10 {
            for history in &intermittent {
                total += method.forecast(history, 28)[0];
            }
        }
        black_box(total);
        let per = started.elapsed() / (10 * intermittent.len() as u32);
        println!("{:<8} fit + 28-day forecast on one {DAYS}-day series: {per:?}", method.as_str());
    }
    let started = Instant::now();
    black_box(Selection::learn(intermittent.iter().map(|h| h.as_slice())));
    println!(
        "pooled rolling-origin choice, per intermittent series: {:?}",
        started.elapsed() / intermittent.len() as u32
    );
}
