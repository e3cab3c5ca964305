//! Anomaly alerts: the day's unusual sellers (found by `forecast::anomaly`, which says how)
//! named for the owner, posted with Expected / Investigate buttons, and the owner's verdicts
//! kept so an item marked "expected" twice in 90 days needs a 60% change to alert again.

use crate::channels::Reply;
use crate::domain::{LocationId, Money, Person, VariationId};
use crate::forecast::anomaly::{Cause, SalesDays, SoldLine, first_day};
use crate::store::{AuditEntry, StoreError, now_ms};
use crate::workflows::Shop;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anomaly {
    pub variation_id: VariationId,
    pub location_id: LocationId,
    pub date: NaiveDate,
    pub name: String,
    pub location: String,
    pub actual: f64,
    pub usual: f64,
    pub change: f64,
    pub cause: Option<String>,
}

impl Anomaly {
    /// "Oat Milk 1L at Main St: 4 sold, usually 19 on a Wednesday, −79% (went out of stock)".
    pub fn sentence(&self) -> String {
        let pct = format!("{:+.0}%", self.change * 100.0).replace('-', "−");
        let cause = self.cause.as_ref().map_or_else(String::new, |c| format!(" ({c})"));
        format!(
            "{} at {}: {:.0} sold, usually {:.0} on a {}, {pct}{cause}",
            self.name,
            self.location,
            self.actual,
            self.usual,
            self.date.format("%A"),
        )
    }

    fn key(&self) -> String {
        format!("{}@{}@{}", self.variation_id, self.location_id, self.date)
    }
}

/// The cause in the owner's words.
pub fn cause_text(cause: &Cause) -> String {
    match cause {
        Cause::OutOfStock => "went out of stock".to_owned(),
        Cause::PriceChanged { from_minor, to_minor } => {
            format!("price changed from {} to {}", Money::from_minor(*from_minor), Money::from_minor(*to_minor))
        }
        Cause::Refunds(n) => format!("{n} refunded sales"),
    }
}

/// The day's anomalies across every item and location, those with a cause first, then the most surprising.
pub async fn find(app: &Shop, date: NaiveDate) -> Result<Vec<Anomaly>, StoreError> {
    let midnight = |d: NaiveDate| crate::domain::clock::midnight_ms(app.timezone, d);
    let facts = app.store.line_facts(midnight(first_day(date)), midnight(date + chrono::Duration::days(1))).await?;
    let lines: Vec<SoldLine> = facts
        .into_iter()
        .filter_map(|line| {
            Some(SoldLine {
                variation_id: line.variation_id?,
                location_id: line.location_id,
                at_ms: line.at_ms,
                units: line.quantity.as_f64(),
                net_minor: line.net.minor(),
                refunded: line.refunded,
            })
        })
        .collect();
    // What is out of stock now says something about the latest day only.
    let latest = date >= app.today() - chrono::Duration::days(1);
    let out_of_stock: HashSet<(VariationId, LocationId)> = if latest {
        app.store
            .mirror_stock(&[], None)
            .await?
            .into_iter()
            .filter(|s| s.on_hand.milli() <= 0)
            .map(|s| (s.variation_id, s.location_id))
            .collect()
    } else {
        HashSet::new()
    };
    let tuned: HashSet<(VariationId, LocationId)> = app
        .store
        .expected_counts(app.clock.now_ms() - 90 * 86_400_000)
        .await?
        .into_iter()
        .filter(|(_, n)| *n >= 2)
        .map(|(key, _)| key)
        .collect();
    let days = SalesDays::new(&lines, app.timezone, first_day(date), date);
    let view = app.catalog();
    Ok(days
        .unusual(date, &out_of_stock, &tuned)
        .into_iter()
        .map(|u| Anomaly {
            name: view
                .catalog
                .variation(&u.variation_id)
                .map_or_else(|| u.variation_id.to_string(), |(i, v)| i.display_name(v)),
            location: view.location_name(&u.location_id),
            variation_id: u.variation_id,
            location_id: u.location_id,
            date,
            actual: u.actual,
            usual: u.usual,
            change: u.change,
            cause: u.cause.as_ref().map(cause_text),
        })
        .collect())
}

/// One alert message per anomaly, with Expected / Investigate buttons.
pub fn alert(anomaly: &Anomaly) -> Reply {
    Reply::text(format!("Unusual sales: {}.", anomaly.sentence()))
        .choice("Expected", format!("anomaly expected {}", anomaly.key()))
        .choice("Investigate", format!("anomaly investigate {}", anomaly.key()))
}

/// Finds the day's anomalies and, as each location's `anomalies` flag allows, queues an alert
/// for each to the owner channels (a phone gets the sentence without buttons). Every anomaly
/// found is audited, in shadow mode too.
pub async fn post_alerts(app: &Shop, date: NaiveDate, actor: &str) -> Result<Vec<Anomaly>, StoreError> {
    use crate::store::flags::FlagState;
    let found = find(app, date).await?;
    let targets = app.owner_targets(crate::domain::Role::Owner);
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    for anomaly in &found {
        let state = super::flags::state(app, "anomalies", Some(&anomaly.location_id)).await?;
        if state == FlagState::On {
            for (channel, target) in &targets {
                let mut message = alert(anomaly);
                if *channel == crate::channels::ChannelKind::Sms {
                    message.actions.clear();
                }
                let post = crate::store::outbox::Outgoing::Post { reply: message, approval: None };
                app.store.enqueue(&mut tx, *channel, target, &post, now).await?;
            }
        }
        app.store
            .audit(&mut tx, &AuditEntry {
                actor: actor.to_owned(),
                channel: "tillpilot".into(),
                kind: "anomaly.found".into(),
                subject: anomaly.key(),
                detail: json!({ "sentence": anomaly.sentence(), "flag": state, "usual": anomaly.usual, "actual": anomaly.actual }),
            })
            .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// `anomalies [date]` in chat: a day's alerts again, with their buttons (yesterday's, the last
/// whole day, unless a day is named).
pub async fn on_demand(app: &Shop, args: &str) -> Result<Reply, StoreError> {
    let today = app.today();
    let date = super::summary::day_asked(args, today).unwrap_or(today - chrono::Duration::days(1));
    let found = find(app, date).await?;
    let day = date.format("%a %b %-d");
    if found.is_empty() {
        return Ok(Reply::text(format!("Nothing unusual on {day}: every item sold within its usual range.")));
    }
    let mut reply = Reply::text(format!("Unusual sales on {day}:"));
    for (n, anomaly) in found.iter().enumerate() {
        let n = n + 1;
        reply = reply
            .field(format!("{n}"), anomaly.sentence())
            .choice(format!("Expected #{n}"), format!("anomaly expected {}", anomaly.key()))
            .choice(format!("Investigate #{n}"), format!("anomaly investigate {}", anomaly.key()));
    }
    Ok(reply)
}

/// A press of Expected or Investigate (`anomaly expected VAR@LOC@DATE`).
pub async fn record_verdict(app: &Shop, person: &Person, args: &str) -> Result<Reply, StoreError> {
    let mut words = args.split_whitespace();
    let (verdict, key) = (words.next().unwrap_or_default().to_lowercase(), words.next().unwrap_or_default());
    let parts: Vec<&str> = key.split('@').collect();
    let (true, [variation, location, day]) = (matches!(verdict.as_str(), "expected" | "investigate"), parts.as_slice())
    else {
        return Ok(Reply::text("Use the Expected or Investigate buttons on an anomaly alert."));
    };
    let Ok(day) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
        return Ok(Reply::text("That alert's date is not one I recognise."));
    };
    app.store
        .save_verdict(
            &VariationId::new(*variation),
            &LocationId::new(*location),
            day,
            &verdict,
            &person.name,
            app.clock.now_ms(),
        )
        .await?;
    app.store
        .audit_now(&AuditEntry {
            actor: person.name.clone(),
            channel: "chat".into(),
            kind: "anomaly.feedback".into(),
            subject: key.to_owned(),
            detail: json!({ "verdict": verdict }),
        })
        .await?;
    Ok(Reply::text(if verdict == "expected" {
        "Noted as expected. Alerts on this item here will need a bigger change from now on if it happens again."
            .to_owned()
    } else {
        "Noted: worth a look. It stays on the list for the next summary.".to_owned()
    }))
}
