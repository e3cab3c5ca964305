//! What "now" is. The product reads the system clock; tests and simulations fix it, so a
//! test's result never depends on the day it runs. Calendar questions ("today", "yesterday",
//! the last 35 days) go through a `Clock`; timestamps on records (audit rows, leases) are the
//! system's.

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Mutex;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// The calendar day it is in `timezone`.
    fn today(&self, timezone: chrono_tz::Tz) -> NaiveDate {
        self.now().with_timezone(&timezone).date_naive()
    }
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stays where it is set until it is set again.
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> FixedClock {
        FixedClock(Mutex::new(at))
    }

    /// Noon on `date` in `timezone` (or the first instant of that day's noon hour).
    pub fn noon(date: NaiveDate, timezone: chrono_tz::Tz) -> FixedClock {
        use chrono::TimeZone;
        let noon = date.and_hms_opt(12, 0, 0).unwrap_or_default();
        // Noon always exists locally; were it ever skipped, noon UTC is still that date, never now.
        let at =
            timezone.from_local_datetime(&noon).earliest().map_or_else(|| noon.and_utc(), |t| t.with_timezone(&Utc));
        FixedClock::new(at)
    }

    pub fn set(&self, at: DateTime<Utc>) {
        match self.0.lock() {
            Ok(mut slot) => *slot = at,
            Err(poisoned) => *poisoned.into_inner() = at,
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        match self.0.lock() {
            Ok(slot) => *slot,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

/// The first instant of `date` in `timezone`, in unix milliseconds. Midnight exists on every
/// day in every zone Tillpilot serves; should a zone skip it, the day starts at the first
/// instant after the gap.
pub fn midnight_ms(timezone: chrono_tz::Tz, date: NaiveDate) -> i64 {
    use chrono::TimeZone;
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    timezone
        .from_local_datetime(&midnight)
        .earliest()
        .or_else(|| timezone.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest())
        .map_or(0, |t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_tells_the_local_day() {
        let chicago: chrono_tz::Tz = "America/Chicago".parse().unwrap_or(chrono_tz::UTC);
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
        let clock = FixedClock::noon(day, chicago);
        assert_eq!(clock.today(chicago), day);
        assert_eq!(clock.now().to_rfc3339(), "2026-11-26T18:00:00+00:00");
        // 18:00 UTC is already the next day in Tokyo.
        assert_eq!(clock.today(chrono_tz::Asia::Tokyo), day.succ_opt().unwrap_or_default());
        // Midnight in Chicago in November is 06:00 UTC.
        assert_eq!(midnight_ms(chicago, day), clock.now_ms() - 12 * 3_600_000);
    }
}
