//! `tillpilot backtest`: how well each method, and the shop's choice (a method per demand
//! class, learnt from the in-sample days only), would have forecast the last `horizon` days of
//! the history. Series are every item and location with at least
//! `MIN_SELLING_DAYS` selling days before the holdout, daily and zero-filled. RMSSE and MASE
//! are scaled by each series' in-sample one-step naive error (from its first sale, as in M5)
//! and averaged over series without weights; bias is Σ(forecast − actual) / Σ actual. Models
//! see only the in-sample days from the first sale (with stock-outs corrected); the holdout is
//! scored as sold.

use super::classify::DemandClass;
use super::methods::Method;
use super::select::{Selection, mase, rmsse};
use super::series::{DailySeries, censored_days, impute_censored};
use serde::Serialize;
use std::collections::BTreeMap;

pub const MIN_SELLING_DAYS: usize = 10;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Scores {
    pub rmsse: f64,
    pub mase: f64,
    pub bias: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BacktestReport {
    pub horizon: usize,
    pub series: usize,
    pub methods: BTreeMap<&'static str, Scores>,
    pub chosen: Scores,
    /// The method chosen for each demand class (classes with too few items to choose by get
    /// the combination).
    pub chosen_by_class: BTreeMap<&'static str, &'static str>,
    /// How often each method was chosen.
    #[serde(skip)]
    pub chosen_methods: BTreeMap<&'static str, usize>,
}

#[derive(Default)]
struct Tally {
    rmsse: Vec<f64>,
    mase: Vec<f64>,
    forecast_minus_actual: f64,
    actual: f64,
}

impl Tally {
    fn add(&mut self, insample: &[f64], actual: &[f64], forecast: &[f64]) {
        if let (Some(r), Some(m)) = (rmsse(insample, actual, forecast), mase(insample, actual, forecast)) {
            self.rmsse.push(r);
            self.mase.push(m);
        }
        self.forecast_minus_actual += forecast.iter().zip(actual).map(|(f, a)| f - a).sum::<f64>();
        self.actual += actual.iter().sum::<f64>();
    }

    fn scores(&self) -> Scores {
        let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        Scores {
            rmsse: mean(&self.rmsse),
            mase: mean(&self.mase),
            bias: if self.actual > 0.0 { self.forecast_minus_actual / self.actual } else { 0.0 },
        }
    }
}

pub fn backtest(all: &[DailySeries], horizon: usize) -> BacktestReport {
    let mut per_method: BTreeMap<Method, Tally> = BTreeMap::new();
    let mut chosen = Tally::default();
    let mut chosen_methods: BTreeMap<&'static str, usize> = BTreeMap::new();
    // (in-sample from the first sale, the model's view of it, the holdout)
    let mut scored: Vec<(&[f64], Vec<f64>, &[f64])> = Vec::new();
    for series in all {
        let n = series.demand.len();
        if n <= horizon {
            continue;
        }
        let (insample, actual) = series.demand.split_at(n - horizon);
        if insample.iter().filter(|d| **d > 0.0).count() < MIN_SELLING_DAYS {
            continue;
        }
        let from_first_sale = &insample[insample.iter().position(|d| *d > 0.0).unwrap_or(0)..];
        let fit = impute_censored(from_first_sale, &censored_days(from_first_sale));
        scored.push((from_first_sale, fit, actual));
    }
    let selection = Selection::learn(scored.iter().map(|(_, fit, _)| fit.as_slice()));
    for (from_first_sale, fit, actual) in &scored {
        for method in Method::ALL.into_iter().chain([Method::Combined]) {
            per_method.entry(method).or_default().add(from_first_sale, actual, &method.forecast(fit, horizon));
        }
        let choice = selection.choose(fit);
        let name = if choice.short_history() { "recent average" } else { choice.method.as_str() };
        *chosen_methods.entry(name).or_default() += 1;
        chosen.add(from_first_sale, actual, &choice.forecast(fit, horizon));
    }
    BacktestReport {
        horizon,
        series: scored.len(),
        methods: per_method.into_iter().map(|(m, t)| (m.as_str(), t.scores())).collect(),
        chosen: chosen.scores(),
        chosen_by_class: [DemandClass::Smooth, DemandClass::Erratic, DemandClass::Intermittent, DemandClass::Lumpy]
            .into_iter()
            .map(|class| (class.as_str(), selection.method(class).as_str()))
            .collect(),
        chosen_methods,
    }
}

/// The report as a table for a terminal.
pub fn render(report: &BacktestReport) -> String {
    if report.series == 0 {
        return format!(
            "No item has {MIN_SELLING_DAYS} selling days before the last {} days of the history. Mirror more history \
             with `tillpilot sync --full`, or load it with `tillpilot import sales FILE.csv`.\n",
            report.horizon
        );
    }
    let naive = report.methods.get("seasonal_naive").map_or(0.0, |s| s.rmsse);
    let mut out = format!("Backtest: the last {} days, {} series.\n\n", report.horizon, report.series);
    out.push_str(&format!("{:<16} {:>7} {:>7} {:>8} {:>12}\n", "method", "RMSSE", "MASE", "bias", "vs naive"));
    let rows = report.methods.iter().map(|(m, s)| (*m, s)).chain(std::iter::once(("chosen", &report.chosen)));
    for (name, s) in rows {
        let versus = if naive > 0.0 { format!("{:+.1}%", (s.rmsse / naive - 1.0) * 100.0) } else { "-".into() };
        out.push_str(&format!("{name:<16} {:>7.3} {:>7.3} {:>+7.1}% {versus:>12}\n", s.rmsse, s.mase, s.bias * 100.0));
    }
    let by_class: Vec<String> =
        report.chosen_by_class.iter().map(|(class, method)| format!("{class} {method}")).collect();
    out.push_str(&format!("\nChosen per demand class: {}.\n", by_class.join(", ")));
    out
}
