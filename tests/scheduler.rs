//! The scheduler with an injected clock, on both backends: a run missed while down happens
//! once at the next start, no run happens twice (not even with two processes racing), and the
//! summary it runs is recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Mutex;
use tillpilot::jobs::scheduler::{Clock, Job, run_due};

struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn at(&self, rfc3339: &str) {
        *self.0.lock().unwrap() = DateTime::parse_from_rfc3339(rfc3339).unwrap().with_timezone(&Utc);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// The summary runs among what ran (the reorder run has its own time, 06:00).
fn summaries(ran: Vec<(Job, NaiveDate)>) -> Vec<(Job, NaiveDate)> {
    ran.into_iter().filter(|(job, _)| *job == Job::Summary).collect()
}

fn at_ms(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn missed_runs_happen_once_and_no_run_happens_twice() {
    for db in common::databases().await {
        // The demo shop is in Chicago; the summary is at 21:00 there (03:00 UTC in November).
        let app = common::app(&db).await;
        // The shop's first sync finished on the morning of the 24th.
        let mut tx = app.store.begin().await.unwrap();
        app.store
            .set_meta(&mut tx, "sync.first_completed_at", &at_ms("2026-11-24T15:00:00Z").to_string())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let clock = TestClock(Mutex::new(Utc::now()));

        // First start at 20:59 on the 25th: yesterday's run was missed, so it happens now.
        clock.at("2026-11-26T02:59:00Z");
        let first = run_due(&app, &clock, "a").await.unwrap();
        assert_eq!(summaries(first.clone()), [(Job::Summary, day("2026-11-24"))], "{}", db.label);
        assert!(
            first.contains(&(Job::Reorder, day("2026-11-25"))),
            "this morning's reorder run was missed too: {first:?}"
        );
        assert!(run_due(&app, &clock, "a").await.unwrap().is_empty(), "not twice");

        // 21:00: today's.
        clock.at("2026-11-26T03:00:00Z");
        assert_eq!(run_due(&app, &clock, "a").await.unwrap(), [(Job::Summary, day("2026-11-25"))]);
        clock.at("2026-11-26T05:00:00Z");
        assert!(run_due(&app, &clock, "a").await.unwrap().is_empty());

        // Down for three days: only the latest missed day is made up.
        clock.at("2026-11-29T15:00:00Z");
        assert_eq!(
            run_due(&app, &clock, "a").await.unwrap(),
            [(Job::Summary, day("2026-11-28")), (Job::Reorder, day("2026-11-29"))]
        );

        // Two processes sharing the database at the same moment: one runs it.
        let other = tillpilot::app::App::start_with_clock(common::config(&db), Some(app.pos.clone()), common::clock())
            .await
            .unwrap();
        clock.at("2026-11-30T03:00:00Z");
        let (a, b) = tokio::join!(run_due(&app, &clock, "a"), run_due(&other, &clock, "b"));
        assert_eq!(a.unwrap().len() + b.unwrap().len(), 1, "{}: exactly one process ran it", db.label);

        let posted: Vec<String> = app
            .store
            .audit_since(0)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "summary.posted")
            .map(|r| r.subject)
            .collect();
        assert_eq!(posted, ["2026-11-24", "2026-11-25", "2026-11-28", "2026-11-29"]);
    }
}

#[tokio::test]
async fn a_first_start_posts_nothing_until_the_first_sync() {
    for db in common::databases().await {
        let pos = std::sync::Arc::new(tillpilot::pos::sim::SimPos::new(common::shop()));
        let app = tillpilot::app::App::start_with_clock(common::config(&db), Some(pos.clone()), common::clock())
            .await
            .unwrap();
        let clock = TestClock(Mutex::new(Utc::now()));
        // Started at 22:00 on the 25th, long after the day's runs: the mirror is empty, so nothing.
        clock.at("2026-11-26T04:00:00Z");
        assert!(run_due(&app, &clock, "a").await.unwrap().is_empty(), "{}", db.label);
        // The first sync finishes a minute later; the runs already past stay skipped.
        tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, at_ms("2026-11-26T04:01:00Z"), 35, |_, _| {})
            .await
            .unwrap();
        clock.at("2026-11-26T04:02:00Z");
        assert!(run_due(&app, &clock, "a").await.unwrap().is_empty());
        // The next ones happen: the reorder run at 06:00 on the 26th, the summary at 21:00.
        clock.at("2026-11-26T12:00:00Z");
        assert_eq!(run_due(&app, &clock, "a").await.unwrap(), [(Job::Reorder, day("2026-11-26"))]);
        clock.at("2026-11-27T03:00:00Z");
        assert_eq!(run_due(&app, &clock, "a").await.unwrap(), [(Job::Summary, day("2026-11-26"))]);
        let posted = app.store.audit_since(0).await.unwrap().into_iter().filter(|r| r.kind == "summary.posted").count();
        assert_eq!(posted, 1, "only the summary after the first sync");
    }
}
