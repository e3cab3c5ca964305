//! Choosing a method per demand class by a rolling-origin backtest pooled over the shop's
//! items, and the error measures (RMSSE and MASE, scaled as in the M5 competition by the in-sample one-step naive
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

/// The methods worth trying for a class, the combination first.
pub fn candidates(class: DemandClass) -> &'static [Method] {
    if class.is_intermittent() {
        &[
            Method::Combined,
            Method::Ses,
            Method::Croston,
            Method::Sba,
            Method::Tsb,
            Method::Adida,
            Method::SeasonalNaive,
        ]
    } else {
        &[Method::Combined, Method::SeasonalEs, Method::Ses, Method::Adida, Method::SeasonalNaive]
    }
}

/// History an item needs before it is backtested and forecast by its class's method; with less
/// it is a short-history item, forecast by its recent average rate (see `policy`).
pub const BACKTEST_HISTORY: usize = MIN_HISTORY + HORIZON + STEP * (ORIGINS - 1);
/// Items of a class the pooled choice needs; a class with fewer uses the combination.
const MIN_POOLED: usize = 5;
/// Days the short-history rate averages.
const RECENT_DAYS: usize = 28;

/// What the backtest chose for one item.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Choice {
    pub class: DemandClass,
    pub method: Method,
    /// Mean RMSSE of the chosen method over the item's backtest windows (`None` with too little
    /// history to backtest).
    pub backtest_rmsse: Option<f64>,
    /// Standard deviation of its daily errors in those windows: the spread around the forecast.
    pub daily_error_sd: f64,
    /// Days of history the item has.
    pub history_days: usize,
}

impl Choice {
    /// Too little history to backtest: the policy orders conservatively and says so.
    pub fn short_history(&self) -> bool {
        self.history_days < BACKTEST_HISTORY
    }

    /// Daily forecasts for the `horizon` days after `history`: the chosen method's, or with
    /// short history the average of the last four weeks.
    pub fn forecast(&self, history: &[f64], horizon: usize) -> Vec<f64> {
        if self.short_history() {
            let recent = &history[history.len().saturating_sub(RECENT_DAYS)..];
            let rate = if recent.is_empty() { 0.0 } else { recent.iter().sum::<f64>() / recent.len() as f64 };
            return vec![rate; horizon];
        }
        self.method.forecast(history, horizon)
    }

    /// The forecast as units per day over the next `days`.
    pub fn daily_forecast(&self, history: &[f64], days: usize) -> f64 {
        let days = days.max(1);
        self.forecast(history, days).iter().sum::<f64>() / days as f64
    }
}

/// The method each demand class gets, chosen once for the whole shop: the one with the lowest
/// mean RMSSE over every item of the class and every backtest window. Choosing per item selects
/// on noise (three windows of one item say little); pooled over the shop's items the choice is
/// steady, and the combination among the candidates means it is rarely worse than the best
/// single method.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Selection {
    /// `(class, method, mean RMSSE, items)` for each class with enough items.
    pub classes: Vec<(DemandClass, Method, f64, usize)>,
}

/// The backtest windows' origins for a history of `n` days.
fn origins(n: usize) -> impl Iterator<Item = usize> {
    (0..ORIGINS).map(move |k| n - HORIZON - STEP * (ORIGINS - 1 - k))
}

/// `(mean RMSSE over the windows, RMS daily error)` of one method on one history; `None` when
/// no window can be scored.
fn score(method: Method, history: &[f64]) -> Option<(f64, f64)> {
    let mut scores = Vec::with_capacity(ORIGINS);
    let mut squared = 0.0;
    for origin in origins(history.len()) {
        let (fit, actual) = (&history[..origin], &history[origin..origin + HORIZON]);
        let forecast = method.forecast(fit, HORIZON);
        if let Some(score) = rmsse(fit, actual, &forecast) {
            scores.push(score);
        }
        squared += actual.iter().zip(&forecast).map(|(a, f)| (a - f).powi(2)).sum::<f64>();
    }
    if scores.is_empty() {
        return None;
    }
    Some((scores.iter().sum::<f64>() / scores.len() as f64, (squared / (ORIGINS * HORIZON) as f64).sqrt()))
}

impl Selection {
    /// Learns the method per class from the shop's histories (each from the item's first sale,
    /// stock-outs corrected). Items too short to backtest do not vote.
    pub fn learn<'a>(histories: impl IntoIterator<Item = &'a [f64]>) -> Selection {
        let mut totals: Vec<(DemandClass, Vec<f64>, usize)> = Vec::new();
        for history in histories {
            if history.len() < BACKTEST_HISTORY {
                continue;
            }
            let class = classify(history);
            let Some(scores) =
                candidates(class).iter().map(|m| score(*m, history).map(|s| s.0)).collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let at = match totals.iter().position(|(c, _, _)| *c == class) {
                Some(at) => at,
                None => {
                    totals.push((class, vec![0.0; scores.len()], 0));
                    totals.len() - 1
                }
            };
            let (_, sums, count) = &mut totals[at];
            sums.iter_mut().zip(&scores).for_each(|(sum, s)| *sum += s);
            *count += 1;
        }
        let mut classes: Vec<(DemandClass, Method, f64, usize)> = totals
            .into_iter()
            .filter(|(_, _, count)| *count >= MIN_POOLED)
            .filter_map(|(class, sums, count)| {
                let (best, sum) = sums.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1))?;
                Some((class, candidates(class)[best], sum / count as f64, count))
            })
            .collect();
        classes.sort_by_key(|(class, ..)| class.as_str());
        Selection { classes }
    }

    /// The method for a class: the pooled choice, or the combination when the class had too
    /// few items to choose by.
    pub fn method(&self, class: DemandClass) -> Method {
        self.classes.iter().find(|(c, ..)| *c == class).map_or(Method::Combined, |(_, m, ..)| *m)
    }

    /// The choice for one item: its class's method, with the item's own backtest error and
    /// error spread; with short history, the recent rate and the spread of the days it has.
    pub fn choose(&self, history: &[f64]) -> Choice {
        let class = classify(history);
        let n = history.len();
        let method = self.method(class);
        if n >= BACKTEST_HISTORY
            && let Some((rmsse, sd)) = score(method, history)
        {
            return Choice { class, method, backtest_rmsse: Some(rmsse), daily_error_sd: sd, history_days: n };
        }
        let mean = if n == 0 { 0.0 } else { history.iter().sum::<f64>() / n as f64 };
        let sd = if n < 2 {
            mean.sqrt()
        } else {
            (history.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        Choice { class, method, backtest_rmsse: None, daily_error_sd: sd, history_days: n }
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
        let seven: Vec<&[f64]> = (0..MIN_POOLED).map(|_| history.as_slice()).collect();
        let choice = Selection::learn(seven).choose(&history);
        assert_eq!(choice.method, Method::SeasonalEs, "{choice:?}");
        assert_eq!(choice.class, DemandClass::Smooth);
        assert!(!choice.short_history());
    }

    #[test]
    fn sparse_sales_choose_an_intermittent_method() {
        let history: Vec<f64> = (0..120).map(|t| if t % 6 == 0 { 2.0 } else { 0.0 }).collect();
        let choice = Selection::default().choose(&history);
        assert!(choice.class.is_intermittent());
        assert_eq!(choice.method, Method::Combined, "a class nothing was learned for");
        assert!(choice.backtest_rmsse.is_some());
    }

    #[test]
    fn the_pooled_choice_is_the_best_on_average_not_per_item() {
        // Items that alternate weeks of 2 and 6: last week's value is always wrong, a smoothed
        // level is close. One item whose weekly pattern repeats exactly would pick seasonal
        // naive on its own; pooled with the others it gets the class's method.
        let alternating: Vec<f64> =
            (0..120).map(|t| if (t / 7) % 2 == 0 { 2.0 } else { 6.0 } + (t % 2) as f64).collect();
        let pattern = [3.0, 3.0, 4.0, 4.0, 8.0, 12.0, 6.0];
        let steady: Vec<f64> = (0..120).map(|t| pattern[t % 7]).collect();
        let mut all: Vec<&[f64]> = vec![alternating.as_slice(); 6];
        all.push(&steady);
        let selection = Selection::learn(all);
        let method = selection.method(DemandClass::Smooth);
        assert_ne!(method, Method::SeasonalNaive, "{selection:?}");
        assert_eq!(selection.choose(&steady).method, method);
    }

    #[test]
    fn five_weeks_of_history_is_short() {
        let history = [9.0; 35];
        let choice = Selection::default().choose(&history);
        assert!(choice.short_history());
        assert_eq!(choice.backtest_rmsse, None);
        assert!((choice.daily_forecast(&history, 14) - 9.0).abs() < 1e-12);
    }
}
