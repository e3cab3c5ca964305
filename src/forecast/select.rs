//! Choosing a method per item by a rolling-origin backtest on its own history, and the error
//! measures (RMSSE and MASE, scaled as in the M5 competition by the in-sample one-step naive
//! error).

use super::classify::{DemandClass, classify};
use super::methods::Method;
use serde::Serialize;

/// Days each backtest window forecasts.
pub const HORIZON: usize = 14;
/// Backtest windows, a week apart, ending at the end of the history.
pub const ORIGINS: usize = 3;
const STEP: usize = 7;
/// History the first window needs before it.
const MIN_HISTORY: usize = 28;

/// Root mean squared scaled error: `None` when the in-sample series never changes.
pub fn rmsse(insample: &[f64], actual: &[f64], forecast: &[f64]) -> Option<f64> {
    let scale =
        insample.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (insample.len().checked_sub(1)? as f64);
    if scale <= 0.0 || actual.is_empty() {
        return None;
    }
    let mse = actual.iter().zip(forecast).map(|(a, f)| (a - f).powi(2)).sum::<f64>() / actual.len() as f64;
    Some((mse / scale).sqrt())
}

/// Mean absolute scaled error: `None` when the in-sample series never changes.
pub fn mase(insample: &[f64], actual: &[f64], forecast: &[f64]) -> Option<f64> {
    let scale = insample.windows(2).map(|w| (w[1] - w[0]).abs()).sum::<f64>() / (insample.len().checked_sub(1)? as f64);
    if scale <= 0.0 || actual.is_empty() {
        return None;
    }
    let mae = actual.iter().zip(forecast).map(|(a, f)| (a - f).abs()).sum::<f64>() / actual.len() as f64;
    Some(mae / scale)
}

/// The methods worth trying for a class.
pub fn candidates(class: DemandClass) -> &'static [Method] {
    if class.is_intermittent() {
        &[Method::Ses, Method::Croston, Method::Sba, Method::Tsb, Method::Adida, Method::SeasonalNaive]
    } else {
        &[Method::SeasonalEs, Method::Ses, Method::Adida, Method::SeasonalNaive]
    }
}

/// What the backtest chose for one item.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Choice {
    pub class: DemandClass,
    pub method: Method,
    /// Mean RMSSE of the chosen method over the backtest windows (`None` with too little
    /// history to backtest).
    pub backtest_rmsse: Option<f64>,
    /// Standard deviation of its daily errors in those windows: the spread around the forecast.
    pub daily_error_sd: f64,
}

/// Picks the method with the lowest mean RMSSE over the backtest windows; with too little
/// history, the class's usual method.
pub fn choose(history: &[f64]) -> Choice {
    let class = classify(history);
    let n = history.len();
    let fallback = || {
        let method = if class.is_intermittent() {
            Method::Sba
        } else if n >= 2 * 7 {
            Method::SeasonalEs
        } else {
            Method::Ses
        };
        let mean = if n == 0 { 0.0 } else { history.iter().sum::<f64>() / n as f64 };
        let sd = if n < 2 {
            mean.sqrt()
        } else {
            (history.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        Choice { class, method, backtest_rmsse: None, daily_error_sd: sd }
    };
    if n < MIN_HISTORY + HORIZON + STEP * (ORIGINS - 1) {
        return fallback();
    }
    let origins: Vec<usize> = (0..ORIGINS).map(|k| n - HORIZON - STEP * (ORIGINS - 1 - k)).collect();
    let mut best: Option<(f64, Method, f64)> = None;
    for &method in candidates(class) {
        let mut scores = Vec::with_capacity(ORIGINS);
        let mut squared = 0.0;
        let mut count = 0usize;
        for &origin in &origins {
            let (fit, actual) = (&history[..origin], &history[origin..origin + HORIZON]);
            let forecast = method.forecast(fit, HORIZON);
            if let Some(score) = rmsse(fit, actual, &forecast) {
                scores.push(score);
            }
            squared += actual.iter().zip(&forecast).map(|(a, f)| (a - f).powi(2)).sum::<f64>();
            count += HORIZON;
        }
        if scores.is_empty() {
            continue;
        }
        let score = scores.iter().sum::<f64>() / scores.len() as f64;
        if best.is_none_or(|(b, _, _)| score < b - 1e-12) {
            best = Some((score, method, (squared / count as f64).sqrt()));
        }
    }
    match best {
        Some((score, method, sd)) => Choice { class, method, backtest_rmsse: Some(score), daily_error_sd: sd },
        None => fallback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_measures_by_hand() {
        // In-sample steps 1, −2, 1: squared mean 2, absolute mean 4/3.
        let insample = [1.0, 2.0, 0.0, 1.0];
        let (actual, forecast) = ([2.0, 2.0], [1.0, 3.0]);
        assert!((rmsse(&insample, &actual, &forecast).unwrap() - (1.0f64 / 2.0).sqrt()).abs() < 1e-12);
        assert!((mase(&insample, &actual, &forecast).unwrap() - 0.75).abs() < 1e-12);
        assert_eq!(rmsse(&[3.0, 3.0, 3.0], &actual, &forecast), None);
    }

    #[test]
    fn a_weekly_pattern_chooses_the_seasonal_method() {
        let pattern = [3.0, 3.0, 4.0, 4.0, 8.0, 12.0, 6.0];
        let history: Vec<f64> = (0..120).map(|t| pattern[t % 7] + if t % 11 == 0 { 1.0 } else { 0.0 }).collect();
        let choice = choose(&history);
        assert_eq!(choice.method, Method::SeasonalEs, "{choice:?}");
        assert_eq!(choice.class, DemandClass::Smooth);
    }

    #[test]
    fn sparse_sales_choose_an_intermittent_method() {
        let history: Vec<f64> = (0..120).map(|t| if t % 6 == 0 { 2.0 } else { 0.0 }).collect();
        let choice = choose(&history);
        assert!(choice.class.is_intermittent());
        assert!(candidates(choice.class).contains(&choice.method));
    }
}
