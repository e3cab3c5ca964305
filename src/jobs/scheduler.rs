//! The scheduler: each job runs once a day at its local time in the shop's time zone
//! (`[schedule] summary_at`, `reorder_at`), daylight-saving changes included: a time that does not exist on
//! the day the clocks go forward runs at the first minute after the gap, and a time that
//! happens twice when they go back runs at the first. Every run is claimed in the store first
//! (`scheduled_runs`, one row per job and day), so no run ever happens twice, even with several
//! processes on one PostgreSQL; a run missed while the process was down happens once at the
//! next start (the latest missed day only, not every day of an outage). Runs count from the
//! first completed sync, so a first start on an empty database posts nothing.

use crate::store::{StoreError, now_ms};
use crate::workflows::Shop;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use std::time::Duration;

pub use crate::domain::{Clock, SystemClock};

/// The scheduled jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Job {
    /// The daily summary of the day it runs on, and that day's anomaly alerts.
    Summary,
    /// Purchase-order drafts for approval; received and unsent POs checked.
    Reorder,
}

impl Job {
    pub const ALL: [Job; 2] = [Job::Summary, Job::Reorder];

    pub fn name(self) -> &'static str {
        match self {
            Job::Summary => "summary",
            Job::Reorder => "reorder",
        }
    }

    fn at(self, app: &Shop) -> Option<NaiveTime> {
        let text = match self {
            Job::Summary => &app.config.schedule.summary_at,
            Job::Reorder => &app.config.schedule.reorder_at,
        };
        NaiveTime::parse_from_str(text, "%H:%M").ok()
    }
}

/// When `at` happens on `date` in `timezone`: the first instant if it happens twice, the first
/// minute after the gap if it does not happen at all.
pub fn instant(timezone: chrono_tz::Tz, date: NaiveDate, at: NaiveTime) -> Option<DateTime<Utc>> {
    let local = date.and_time(at);
    (0..=180)
        .step_by(15)
        .find_map(|minutes| timezone.from_local_datetime(&(local + chrono::Duration::minutes(minutes))).earliest())
        .map(|t| t.with_timezone(&Utc))
}

/// The day whose run is due at `now`: the latest day whose scheduled instant has passed.
pub fn due_day(timezone: chrono_tz::Tz, at: NaiveTime, now: DateTime<Utc>) -> Option<NaiveDate> {
    let today = now.with_timezone(&timezone).date_naive();
    [today, today - chrono::Duration::days(1)].into_iter().find(|d| instant(timezone, *d, at).is_some_and(|i| i <= now))
}

/// Runs whatever is due now and not yet claimed; returns the `(job, day)` pairs it ran.
pub async fn run_due(app: &Shop, clock: &dyn Clock, worker: &str) -> Result<Vec<(Job, NaiveDate)>, StoreError> {
    let now = clock.now();
    let mut ran = Vec::new();
    // Nothing is due before the first sync has finished: a summary of an empty mirror would
    // tell the owner the shop sold nothing. Runs count from that moment (a mirror synced
    // before this was recorded counts from the start).
    let first_sync = match app.store.meta(crate::jobs::sync::FIRST_SYNC).await? {
        Some(at) => at.parse::<i64>().unwrap_or(0),
        None if app.store.meta("sync.completed_at").await?.is_some() => 0,
        None => return Ok(ran),
    };
    for job in Job::ALL {
        let Some(at) = job.at(app) else { continue };
        let Some(day) = due_day(app.timezone, at, now) else { continue };
        if instant(app.timezone, day, at).is_none_or(|i| i.timestamp_millis() < first_sync) {
            continue;
        }
        if !app.store.claim_run(job.name(), day, worker, now.timestamp_millis()).await? {
            continue;
        }
        let outcome = match job {
            Job::Summary => {
                let summary = crate::workflows::summary::build(app, day).await?;
                let reply = crate::workflows::summary::reply(&summary);
                let reply = crate::workflows::summary::with_narrative(app, &summary, reply).await;
                let posted = crate::workflows::summary::post(app, &summary, &reply, "scheduler").await?;
                let anomalies = crate::workflows::anomalies::post_alerts(app, day, "scheduler").await?;
                format!("summary {posted:?}, {} anomalies", anomalies.len())
            }
            Job::Reorder => {
                let received = crate::workflows::reorder::check_received(app).await?;
                let late = crate::workflows::reorder::alert_late(app).await?;
                let mut plan = crate::workflows::reorder::plan(app, day).await?;
                let report = crate::workflows::reorder::run(app, &mut plan, "scheduler").await?;
                format!(
                    "{} drafted, {} shadow, {} received, {} late",
                    report.drafted.len(),
                    report.shadow.len(),
                    received.len(),
                    late.len()
                )
            }
        };
        app.store.finish_run(job.name(), day, &outcome, now_ms()).await?;
        ran.push((job, day));
    }
    Ok(ran)
}

/// Checks every half minute until `stop` changes.
pub async fn run(app: std::sync::Arc<Shop>, worker: String, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(err) = run_due(&app, app.clock.as_ref(), &worker).await {
            tracing::error!(error = %err, "a scheduled run failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chicago() -> chrono_tz::Tz {
        "America/Chicago".parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn local_times_follow_daylight_saving() {
        let at = NaiveTime::from_hms_opt(21, 0, 0).unwrap();
        // 21:00 in Chicago is 03:00 UTC the next day in winter (CST, −6), 02:00 UTC in summer (CDT, −5).
        assert_eq!(
            instant(chicago(), NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(), at).unwrap(),
            utc("2026-01-16T03:00:00Z")
        );
        assert_eq!(
            instant(chicago(), NaiveDate::from_ymd_opt(2026, 7, 15).unwrap(), at).unwrap(),
            utc("2026-07-16T02:00:00Z")
        );
        // 02:30 does not exist on 2026-03-08 (clocks jump 02:00 → 03:00): the first minute after.
        let gap = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        assert_eq!(
            instant(chicago(), NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(), gap).unwrap(),
            utc("2026-03-08T08:00:00Z")
        );
        // 01:30 happens twice on 2026-11-01: the first one (CDT).
        let twice = NaiveTime::from_hms_opt(1, 30, 0).unwrap();
        assert_eq!(
            instant(chicago(), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), twice).unwrap(),
            utc("2026-11-01T06:30:00Z")
        );
    }

    #[test]
    fn the_due_day_is_the_latest_whose_time_has_passed() {
        let at = NaiveTime::from_hms_opt(21, 0, 0).unwrap();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(due_day(chicago(), at, utc("2026-11-26T02:59:00Z")), Some(day("2026-11-24")), "20:59 on the 25th");
        assert_eq!(due_day(chicago(), at, utc("2026-11-26T03:00:00Z")), Some(day("2026-11-25")), "21:00 on the 25th");
    }
}
