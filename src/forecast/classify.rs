//! Syntetos–Boylan–Croston classification: ADI, the average interval between days with
//! demand, and CV², the squared coefficient of variation of the demand sizes on those days.
//! Cut-offs 1.32 and 0.49 (Syntetos, Boylan & Croston 2005).

use serde::Serialize;

pub const ADI_CUTOFF: f64 = 1.32;
pub const CV2_CUTOFF: f64 = 0.49;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandClass {
    /// Sells most days, in steady amounts.
    Smooth,
    /// Sells most days, in very different amounts.
    Erratic,
    /// Sells on few days, in steady amounts.
    Intermittent,
    /// Sells on few days, in very different amounts.
    Lumpy,
}

impl DemandClass {
    pub fn as_str(self) -> &'static str {
        match self {
            DemandClass::Smooth => "smooth",
            DemandClass::Erratic => "erratic",
            DemandClass::Intermittent => "intermittent",
            DemandClass::Lumpy => "lumpy",
        }
    }

    /// Few selling days: the intermittent-demand models apply.
    pub fn is_intermittent(self) -> bool {
        matches!(self, DemandClass::Intermittent | DemandClass::Lumpy)
    }
}

/// `(adi, cv2)` of a daily series; `None` when it never sold.
pub fn adi_cv2(demand: &[f64]) -> Option<(f64, f64)> {
    let sizes: Vec<f64> = demand.iter().copied().filter(|d| *d > 0.0).collect();
    if sizes.is_empty() {
        return None;
    }
    let adi = demand.len() as f64 / sizes.len() as f64;
    let mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
    let variance = sizes.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / sizes.len() as f64;
    Some((adi, variance / (mean * mean)))
}

/// The class of a daily series (a series that never sold counts as lumpy: nothing about it is
/// predictable).
pub fn classify(demand: &[f64]) -> DemandClass {
    match adi_cv2(demand) {
        None => DemandClass::Lumpy,
        Some((adi, cv2)) => match (adi < ADI_CUTOFF, cv2 < CV2_CUTOFF) {
            (true, true) => DemandClass::Smooth,
            (true, false) => DemandClass::Erratic,
            (false, true) => DemandClass::Intermittent,
            (false, false) => DemandClass::Lumpy,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_classes_by_hand() {
        // Every day, 4 or 5: ADI 1, sizes 4,5,4,5 → mean 4.5, variance 0.25, CV² 0.0123.
        assert_eq!(classify(&[4.0, 5.0, 4.0, 5.0]), DemandClass::Smooth);
        let (adi, cv2) = adi_cv2(&[4.0, 5.0, 4.0, 5.0]).unwrap();
        assert!((adi - 1.0).abs() < 1e-12 && (cv2 - 0.25 / 20.25).abs() < 1e-12);
        // Every day, 1 or 9: CV² = 16/25 = 0.64.
        assert_eq!(classify(&[1.0, 9.0, 1.0, 9.0]), DemandClass::Erratic);
        // One day in three, always 2: ADI 3, CV² 0.
        assert_eq!(classify(&[0.0, 0.0, 2.0, 0.0, 0.0, 2.0]), DemandClass::Intermittent);
        // One day in three, 1 or 9.
        assert_eq!(classify(&[0.0, 0.0, 1.0, 0.0, 0.0, 9.0]), DemandClass::Lumpy);
        assert_eq!(classify(&[0.0; 10]), DemandClass::Lumpy);
    }
}
