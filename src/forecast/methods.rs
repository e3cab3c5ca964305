//! The forecasting methods. Each takes a daily history (index 0 is the first day, so
//! `index % 7` is a fixed day of the week) and returns daily forecasts for the next `horizon`
//! days. Smoothing constants are the textbook defaults for daily retail demand; the rolling-origin
//! backtest in `select` decides which method each kind of item gets, not the constants. Besides
//! the single methods there is their combination, the mean of four of them: averaging methods
//! that err in different directions is the steadiest winner of the forecasting competitions.

use serde::Serialize;

/// Days in the weekly cycle.
pub const WEEK: usize = 7;
/// Level smoothing for simple and seasonal exponential smoothing, and ADIDA's weekly buckets.
pub const ALPHA: f64 = 0.1;
/// Seasonal smoothing for weekly-seasonal exponential smoothing.
pub const GAMMA: f64 = 0.05;
/// Croston and SBA smoothing of sizes and intervals.
pub const CROSTON_ALPHA: f64 = 0.1;
/// TSB smoothing of sizes (alpha) and of the probability of a sale (beta).
pub const TSB_ALPHA: f64 = 0.1;
pub const TSB_BETA: f64 = 0.05;
/// ADIDA's smoothing of weekly totals.
pub const ADIDA_ALPHA: f64 = 0.2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Same as the same weekday last week.
    SeasonalNaive,
    /// Simple exponential smoothing: a flat level.
    Ses,
    /// Additive weekly-seasonal exponential smoothing (Holt–Winters without trend).
    SeasonalEs,
    /// Croston: sizes and intervals between sales smoothed separately.
    Croston,
    /// Syntetos–Boylan approximation: Croston with its bias removed.
    Sba,
    /// Teunter–Syntetos–Babai: sizes and the probability of a sale, updated every day.
    Tsb,
    /// Aggregate–disaggregate: smooth weekly totals, spread evenly over the days.
    Adida,
    /// The mean of `COMBINED` methods' forecasts, day by day.
    Combined,
}

/// The methods the combination averages: a flat level, a weekday pattern, weekly totals and
/// a fading intermittent rate.
pub const COMBINED: [Method; 4] = [Method::Ses, Method::SeasonalEs, Method::Adida, Method::Tsb];

impl Method {
    /// Every single method (the combination is not one of them).
    pub const ALL: [Method; 7] = [
        Method::SeasonalNaive,
        Method::Ses,
        Method::SeasonalEs,
        Method::Croston,
        Method::Sba,
        Method::Tsb,
        Method::Adida,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::SeasonalNaive => "seasonal_naive",
            Method::Ses => "ses",
            Method::SeasonalEs => "seasonal_es",
            Method::Croston => "croston",
            Method::Sba => "sba",
            Method::Tsb => "tsb",
            Method::Adida => "adida",
            Method::Combined => "combined",
        }
    }

    /// How a person reads it in a PO explanation.
    pub fn label(self) -> &'static str {
        match self {
            Method::SeasonalNaive => "same as last week",
            Method::Ses => "smoothed average",
            Method::SeasonalEs => "smoothed average by weekday",
            Method::Croston => "Croston (intermittent)",
            Method::Sba => "Syntetos-Boylan (intermittent)",
            Method::Tsb => "TSB (intermittent, fading)",
            Method::Adida => "weekly totals spread over days",
            Method::Combined => "mean of four methods",
        }
    }

    /// Daily forecasts for the `horizon` days after `history`.
    pub fn forecast(self, history: &[f64], horizon: usize) -> Vec<f64> {
        if history.is_empty() {
            return vec![0.0; horizon];
        }
        match self {
            Method::SeasonalNaive => seasonal_naive(history, horizon),
            Method::Ses => vec![ses_level(history, ALPHA); horizon],
            Method::SeasonalEs => seasonal_es(history, horizon),
            Method::Croston => vec![croston(history, CROSTON_ALPHA); horizon],
            Method::Sba => vec![croston(history, CROSTON_ALPHA) * (1.0 - CROSTON_ALPHA / 2.0); horizon],
            Method::Tsb => vec![tsb(history, TSB_ALPHA, TSB_BETA); horizon],
            Method::Adida => vec![adida(history); horizon],
            Method::Combined => {
                let mut mean = vec![0.0; horizon];
                for method in COMBINED {
                    for (m, f) in mean.iter_mut().zip(method.forecast(history, horizon)) {
                        *m += f / COMBINED.len() as f64;
                    }
                }
                mean
            }
        }
    }
}

fn seasonal_naive(history: &[f64], horizon: usize) -> Vec<f64> {
    let n = history.len();
    (0..horizon)
        .map(|h| {
            // The latest day with the same weekday as day n + h.
            let back = WEEK - (h % WEEK);
            if n >= back { history[n - back] } else { history[n - 1] }
        })
        .collect()
}

/// The smoothed level, started at the first value.
pub fn ses_level(history: &[f64], alpha: f64) -> f64 {
    let mut level = history[0];
    for y in &history[1..] {
        level += alpha * (y - level);
    }
    level
}

fn seasonal_es(history: &[f64], horizon: usize) -> Vec<f64> {
    let n = history.len();
    if n < 2 * WEEK {
        return vec![ses_level(history, ALPHA).max(0.0); horizon];
    }
    // Start from the first (up to) four weeks: the mean level and each weekday's offset.
    let warm = (n.min(4 * WEEK) / WEEK) * WEEK;
    let mut level = history[..warm].iter().sum::<f64>() / warm as f64;
    let mut season = [0.0; WEEK];
    for (d, s) in season.iter_mut().enumerate() {
        let days: Vec<f64> = history[..warm].iter().skip(d).step_by(WEEK).copied().collect();
        *s = days.iter().sum::<f64>() / days.len() as f64 - level;
    }
    for (t, y) in history.iter().enumerate() {
        let d = t % WEEK;
        let previous = level;
        level = previous + ALPHA * (y - season[d] - previous);
        season[d] += GAMMA * (y - level - season[d]);
    }
    (0..horizon).map(|h| (level + season[(n + h) % WEEK]).max(0.0)).collect()
}

/// Croston's per-day demand rate: smoothed size over smoothed interval, both started at the
/// first sale (its interval counted from the start of the history).
pub fn croston(history: &[f64], alpha: f64) -> f64 {
    let mut state: Option<(f64, f64)> = None;
    let mut since = 0.0;
    for y in history {
        since += 1.0;
        if *y > 0.0 {
            state = Some(match state {
                None => (*y, since),
                Some((size, interval)) => (size + alpha * (y - size), interval + alpha * (since - interval)),
            });
            since = 0.0;
        }
    }
    state.map_or(0.0, |(size, interval)| size / interval)
}

/// TSB's per-day demand: smoothed probability of a sale times smoothed size. The probability
/// starts at the share of days up to and including the first sale, and decays on every day
/// without one, so an item that stopped selling fades out.
pub fn tsb(history: &[f64], alpha: f64, beta: f64) -> f64 {
    let Some(first) = history.iter().position(|y| *y > 0.0) else { return 0.0 };
    let mut probability = 1.0 / (first + 1) as f64;
    let mut size = history[first];
    for y in &history[first + 1..] {
        if *y > 0.0 {
            probability += beta * (1.0 - probability);
            size += alpha * (y - size);
        } else {
            probability *= 1.0 - beta;
        }
    }
    probability * size
}

/// ADIDA: weekly totals (whole weeks counted back from the last day), smoothed, spread evenly.
fn adida(history: &[f64]) -> f64 {
    let weeks: Vec<f64> = history.rchunks_exact(WEEK).rev().map(|w| w.iter().sum()).collect();
    if weeks.is_empty() {
        return history.iter().sum::<f64>() / history.len() as f64;
    }
    ses_level(&weeks, ADIDA_ALPHA) / WEEK as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn seasonal_naive_repeats_last_week() {
        let history: Vec<f64> = (1..=10).map(f64::from).collect();
        // Days 3..=9 (values 4..=10) are the last week; day 10 is a repeat of day 3.
        assert_eq!(Method::SeasonalNaive.forecast(&history, 8), [4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 4.0]);
    }

    #[test]
    fn ses_by_hand() {
        // 10 → 10 + 0.1·(20 − 10) = 11 → 11 + 0.1·(5 − 11) = 10.4
        assert!(close(ses_level(&[10.0, 20.0, 5.0], 0.1), 10.4));
    }

    #[test]
    fn croston_and_sba_by_hand() {
        // Sales of 4 on day 2 (interval 2) and 2 on day 5 (interval 3):
        // size 4 → 4 + 0.1·(2 − 4) = 3.8; interval 2 → 2 + 0.1·(3 − 2) = 2.1; rate 3.8 / 2.1.
        let history = [0.0, 4.0, 0.0, 0.0, 2.0];
        assert!(close(croston(&history, 0.1), 3.8 / 2.1));
        assert!(close(Method::Sba.forecast(&history, 1)[0], 3.8 / 2.1 * 0.95));
    }

    #[test]
    fn tsb_by_hand() {
        // First sale (3) on day 2: p = 1/2, size 3. Day 3 none: p = 0.5·0.95 = 0.475.
        // Day 4 sells 5: p = 0.475 + 0.05·0.525 = 0.50125, size = 3 + 0.1·2 = 3.2.
        let history = [0.0, 3.0, 0.0, 5.0];
        assert!(close(tsb(&history, 0.1, 0.05), 0.50125 * 3.2));
        assert_eq!(tsb(&[0.0, 0.0], 0.1, 0.05), 0.0);
    }

    #[test]
    fn adida_by_hand() {
        // Two whole weeks counted from the end (the first day is left out): totals 7 and 14;
        // 7 + 0.2·(14 − 7) = 8.4 per week, 1.2 per day.
        let mut history = vec![100.0];
        history.extend([1.0; 7]);
        history.extend([2.0; 7]);
        assert!(close(Method::Adida.forecast(&history, 1)[0], 1.2));
    }

    #[test]
    fn the_combination_is_the_daily_mean_of_its_methods() {
        let history: Vec<f64> = (0..60).map(|t| f64::from(t % 7 + (t % 3) * 2)).collect();
        let combined = Method::Combined.forecast(&history, 9);
        for (h, value) in combined.iter().enumerate() {
            let mean = COMBINED.iter().map(|m| m.forecast(&history, 9)[h]).sum::<f64>() / 4.0;
            assert!(close(*value, mean), "day {h}: {value} vs {mean}");
        }
    }

    #[test]
    fn seasonal_es_learns_a_weekly_pattern() {
        let pattern = [2.0, 2.0, 2.0, 2.0, 5.0, 9.0, 4.0];
        let history: Vec<f64> = (0..56).map(|t| pattern[t % 7]).collect();
        let forecast = Method::SeasonalEs.forecast(&history, 7);
        for (f, p) in forecast.iter().zip(pattern) {
            assert!((f - p).abs() < 1e-6, "{forecast:?}");
        }
    }
}
