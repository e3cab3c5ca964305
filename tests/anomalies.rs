//! Anomalies on the simulated shop: the planted one (oat milk ran out at Main St yesterday) is
//! found with its cause, and ordinary noise raises no alerts on other days; the owner's
//! "expected" verdicts raise the bar for later alerts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use tillpilot::domain::{LocationId, OrderState, VariationId};
use tillpilot::forecast::anomaly::{Cause, SalesDays, SoldLine, first_day};
use tillpilot::pos::sim::{SimOptions, generate};
use tillpilot::workflows::anomalies::find;

#[tokio::test]
async fn the_planted_anomaly_is_found_and_noise_is_not() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let shop = common::shop();
        let planted = &shop.anomaly;
        let found = find(&app, planted.date).await.unwrap();
        let sentences: Vec<String> = found.iter().map(|a| a.sentence()).collect();
        assert_eq!(found.len(), 1, "{}: only the planted one: {sentences:?}", db.label);
        let a = &found[0];
        assert_eq!((&a.variation_id, &a.location_id), (&planted.variation_id, &planted.location_id));
        assert_eq!(a.cause.as_deref(), Some("went out of stock"));
        assert!(a.sentence().starts_with("Oat Milk 1L at Main St: "), "{}", a.sentence());
        assert!(a.change < -0.35);

        // The days before carry ordinary noise only.
        let mut noisy = Vec::new();
        for k in 2..=6 {
            noisy.extend(
                find(&app, planted.date - chrono::Duration::days(k)).await.unwrap().into_iter().map(|a| a.sentence()),
            );
        }
        assert!(noisy.len() <= 1, "{}: noise raised alerts: {noisy:?}", db.label);
    }
}

#[tokio::test]
async fn expected_verdicts_raise_the_bar() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let shop = common::shop();
    let planted = &shop.anomaly;
    let alert = tillpilot::workflows::anomalies::alert(&find(&app, planted.date).await.unwrap()[0]);
    assert_eq!(alert.actions.iter().map(|b| b.label.as_str()).collect::<Vec<_>>(), ["Expected", "Investigate"]);
    // Pressing Expected sends the button's command back as Maria.
    let answer = common::ask(&app, "Maria", &alert.actions[0].action).await;
    assert!(answer.reply.text.starts_with("Noted as expected"), "{}", answer.reply.text);
    let refused = common::ask(&app, "Sam", &alert.actions[0].action).await;
    assert!(refused.reply.text.contains("only for"), "{}", refused.reply.text);
    // A second "expected" on another day for the same item and location.
    let other_day = alert.actions[0]
        .action
        .replace(&planted.date.to_string(), &(planted.date - chrono::Duration::days(14)).to_string());
    common::ask(&app, "Maria", &other_day).await;
    let after = find(&app, planted.date).await.unwrap();
    // The planted drop is some 80%, above the new bar: it still alerts (the bar itself is
    // checked on hand-made series in forecast::anomaly's tests).
    assert!(after.iter().any(|a| a.variation_id == planted.variation_id && a.change <= -0.6));
    assert!(
        after.iter().all(|a| a.change.abs() >= 0.6),
        "the bar is now 60%: {:?}",
        after.iter().map(|a| a.sentence()).collect::<Vec<_>>()
    );
    assert!(app.store.audit_since(0).await.unwrap().iter().any(|r| r.kind == "anomaly.feedback"));
}

/// The shop's sold lines as the mirror holds them after a first sync (`mirror_days` before
/// `today`), and what is out of stock now.
fn day_check_inputs(
    shop: &tillpilot::pos::sim::SimShop,
    mirror_days: i64,
) -> (Vec<SoldLine>, HashSet<(VariationId, LocationId)>) {
    let since = tillpilot::domain::clock::midnight_ms(shop.timezone, shop.today - chrono::Duration::days(mirror_days));
    let lines = shop
        .orders
        .iter()
        .filter(|o| o.state != OrderState::Cancelled && o.created_at_ms >= since)
        .flat_map(|o| {
            o.lines.iter().filter_map(move |l| {
                Some(SoldLine {
                    variation_id: l.variation_id.clone()?,
                    location_id: o.location_id.clone(),
                    at_ms: o.created_at_ms,
                    units: l.quantity.as_f64(),
                    net_minor: (l.gross() - l.discount).minor(),
                    refunded: o.refunded.minor() > 0,
                })
            })
        })
        .collect();
    let out = shop
        .stock
        .iter()
        .filter(|s| s.on_hand.milli() <= 0)
        .map(|s| (s.variation_id.clone(), s.location_id.clone()))
        .collect();
    (lines, out)
}

/// Whatever day the shop is generated for, the planted stock-out is the one alert on its day,
/// and the first, with its cause, and ordinary days stay quiet: checked for every day of a year as
/// "today", with the mirror holding 35 days (a first sync) and eight weeks.
#[test]
fn the_planted_anomaly_is_found_whatever_the_date() {
    let first = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let tuned = HashSet::new();
    let (mut missed, mut noise, mut checked_days) = (Vec::new(), Vec::new(), 0);
    for offset in 0..365 {
        let today = first + chrono::Duration::days(offset);
        let shop = generate(&SimOptions { days: 63, ..SimOptions::new(42, today) });
        let planted = &shop.anomaly;
        for mirror_days in [35, 63] {
            let (lines, out_of_stock) = day_check_inputs(&shop, mirror_days);
            let days = SalesDays::new(
                &lines,
                shop.timezone,
                first_day(planted.date - chrono::Duration::days(6)),
                planted.date,
            );
            let found = days.unusual(planted.date, &out_of_stock, &tuned);
            let top = found.first().is_some_and(|u| {
                (&u.variation_id, &u.location_id) == (&planted.variation_id, &planted.location_id)
                    && u.cause == Some(Cause::OutOfStock)
            });
            if !top {
                missed.push(format!("{today} (mirror {mirror_days} d): {found:?}"));
            }
            checked_days += 6;
            noise.extend(found.iter().skip(1).map(|u| format!("{today} on the day: {u:?}")));
            for k in 2..=6 {
                let quiet = days.unusual(planted.date - chrono::Duration::days(k), &HashSet::new(), &tuned);
                noise.extend(quiet.into_iter().map(|u| format!("{today} −{k} d: {u:?}")));
            }
        }
    }
    assert!(missed.is_empty(), "{} of 730 planted days missed or not first:\n{}", missed.len(), missed.join("\n"));
    // Ordinary days: the detector allows noise one day in fifty across the whole shop.
    assert!(
        noise.len() * 50 <= checked_days,
        "{} alerts on {checked_days} ordinary days:\n{}",
        noise.len(),
        noise.join("\n")
    );
}

/// The owner asks again from chat: yesterday's alert with its buttons, any day by date, and a
/// quiet day says so; a press of Expected is recorded for the person who pressed it.
#[tokio::test]
async fn the_owner_asks_for_the_alerts_again_in_chat() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let shop = common::shop();
        let planted = &shop.anomaly;
        assert_eq!(planted.date, common::today().pred_opt().unwrap(), "the planted day is yesterday");
        let asked = common::ask(&app, "Maria", "any anomalies yesterday").await;
        assert_eq!(asked.intent.as_deref(), Some("anomalies"), "{}", db.label);
        let text = common::seen(&asked);
        assert!(text.starts_with(&format!("Unusual sales on {}:", planted.date.format("%a %b %-d"))), "{text}");
        assert!(text.contains("Oat Milk") && text.contains("Main St"), "{}: {text}", db.label);
        let labels: Vec<&str> = asked.reply.actions.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["Expected #1", "Investigate #1"], "{}", db.label);

        let quiet = planted.date - chrono::Duration::days(3);
        let none = common::ask(&app, "Dev", &format!("anomalies {}", quiet.format("%Y-%m-%d"))).await;
        assert_eq!(
            none.reply.text,
            format!("Nothing unusual on {}: every item sold within its usual range.", quiet.format("%a %b %-d"))
        );
        // Staff cannot see them.
        let staff = common::ask(&app, "Sam", "anomalies").await;
        assert!(staff.reply.text.contains("only for managers and the owner"), "{}", staff.reply.text);

        let pressed = common::ask(&app, "Dev", &asked.reply.actions[0].action).await;
        assert_eq!(pressed.intent.as_deref(), Some("anomaly"), "{}: {}", db.label, pressed.reply.text);
        let verdicts: Vec<String> = app
            .store
            .audit_since(0)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind.starts_with("anomaly."))
            .map(|r| format!("{} {}", r.kind, r.actor))
            .collect();
        assert!(verdicts.iter().any(|v| v.ends_with(" Dev")), "{}: the verdict is Dev's: {verdicts:?}", db.label);
    }
}
