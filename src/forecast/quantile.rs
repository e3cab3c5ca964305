//! Demand over a lead time as a distribution. Reorder points come from its upper quantile, so
//! a 95% service level means running out in about one replenishment cycle in twenty.
//!
//! Smooth items: normal, with mean the sum of the daily forecasts and standard deviation the
//! backtest's daily error spread times √days. Intermittent items: their history's own spread,
//! the empirical quantile of every `days`-long window of (corrected) history, rescaled to the
//! forecast's mean, so a lumpy item's quantile reflects its lumps; the normal approximation
//! stands in when there are too few windows.

use super::classify::DemandClass;

/// The standard normal quantile (Acklam's rational approximation; |error| < 1.2e-9). The
/// coefficients are quoted as published.
#[allow(clippy::excessive_precision)]
pub fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Windows of history needed before the empirical quantile is trusted.
const MIN_WINDOWS: usize = 30;
/// History the empirical quantile looks at.
const LOOKBACK_DAYS: usize = 182;

/// The `level` quantile of demand over `days` days (≥ the mean, never negative).
pub fn lead_time_quantile(
    class: DemandClass,
    history: &[f64],
    daily_forecast: f64,
    daily_error_sd: f64,
    days: usize,
    level: f64,
) -> f64 {
    let mean = daily_forecast * days as f64;
    let normal = mean + normal_quantile(level) * daily_error_sd * (days as f64).sqrt();
    let recent = &history[history.len().saturating_sub(LOOKBACK_DAYS)..];
    if !class.is_intermittent() || days == 0 || recent.len() < days + MIN_WINDOWS {
        return normal.max(mean).max(0.0);
    }
    let mut sums: Vec<f64> = recent.windows(days).map(|w| w.iter().sum()).collect();
    let history_mean = sums.iter().sum::<f64>() / sums.len() as f64;
    if history_mean <= 0.0 {
        return normal.max(mean).max(0.0);
    }
    sums.sort_by(f64::total_cmp);
    let rank = ((level * sums.len() as f64).ceil() as usize).clamp(1, sums.len()) - 1;
    (sums[rank] * mean / history_mean).max(mean).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles() {
        assert!((normal_quantile(0.95) - 1.644_853_6).abs() < 1e-6);
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_quantile(0.01) + 2.326_347_9).abs() < 1e-6);
    }

    #[test]
    fn smooth_items_use_the_normal_spread() {
        // 10 a day over 4 days, sd 2 a day: 40 + 1.6449·2·2.
        let q = lead_time_quantile(DemandClass::Smooth, &[10.0; 100], 10.0, 2.0, 4, 0.95);
        assert!((q - (40.0 + 1.644_853_6 * 4.0)).abs() < 1e-4, "{q}");
    }

    #[test]
    fn lumpy_items_keep_their_lumps() {
        // Ten units every tenth day: any 3-day window holds 0 or 10; the 95% quantile is 10.
        let history: Vec<f64> = (0..200).map(|t| if t % 10 == 0 { 10.0 } else { 0.0 }).collect();
        let q = lead_time_quantile(DemandClass::Lumpy, &history, 1.0, 0.1, 3, 0.95);
        assert!((q - 10.0).abs() < 1e-9, "{q}");
    }
}
