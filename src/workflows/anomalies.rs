//! Anomalies: items that sold far from what they usually sell on that weekday at that
//! location. The baseline is the median of the same weekday over the eight weeks before
//! (stock-out days, and days before the mirror's history, left out), and its spread the median
//! absolute deviation, so one odd week does not move it. Only items whose demand is steady
//! enough for a change to mean something are checked: at least five units on a usual day, four
//! or more usable weeks, and a week-to-week spread no more than 1.5 times Poisson noise. A day
//! is an anomaly when it is 35% or more off the usual and either very unlikely at the usual
//! rate (Poisson tail under 0.1%) or unlikely (under 5%) with a cause the data shows: the item
//! went out of stock, its price changed, or refunds on it spiked. Expected / Investigate buttons record the owner's
//! view; an item and location marked "expected" twice in 90 days needs a 60% change to alert
//! again.

use crate::app::App;
use crate::channels::Reply;
use crate::domain::{LocationId, Money, Person, VariationId};
use crate::forecast::series::{Sale, build_series};
use crate::store::{AuditEntry, StoreError, now_ms};
use chrono::{NaiveDate, TimeZone};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

const WEEKS: i64 = 8;
const MIN_WEEKS: usize = 4;
const MIN_USUAL_UNITS: f64 = 5.0;
/// Steady enough: the week-to-week spread at most this many times Poisson noise.
const MAX_OVERDISPERSION: f64 = 1.5;
const MIN_CHANGE: f64 = 0.35;
const TUNED_MIN_CHANGE: f64 = 0.60;
/// How unlikely the day must be under the usual rate: on its own, or with a cause in the data.
const P_ALONE: f64 = 0.001;
const P_WITH_CAUSE: f64 = 0.05;
const MAD_TO_SD: f64 = 1.4826;

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
    /// "Oat Milk 1L at Main St: 9 sold, usually 21 on a Tuesday, −57% (went out of stock)".
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

/// P(X ≤ k) for X ~ Poisson(λ).
fn poisson_cdf(k: u64, lambda: f64) -> f64 {
    let mut term = (-lambda).exp();
    let mut sum = term;
    for i in 1..=k {
        term *= lambda / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// The day's anomalies across every item and location, largest changes first.
pub async fn find(app: &App, date: NaiveDate) -> Result<Vec<Anomaly>, StoreError> {
    let first = date - chrono::Duration::days(7 * WEEKS);
    let midnight = |d: NaiveDate| {
        app.timezone
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map_or(0, |t| t.timestamp_millis())
    };
    let (from, to) = (midnight(first), midnight(date + chrono::Duration::days(1)));
    let lines = app.store.line_facts(from, to).await?;
    let day_of = |ms: i64| app.timezone.timestamp_millis_opt(ms).single().map(|t| t.date_naive());
    // Per item, location and day: units, money taken and refunded lines, for the causes.
    let mut prices: HashMap<(VariationId, LocationId, NaiveDate), (f64, f64)> = HashMap::new();
    let mut refunded: HashMap<(VariationId, LocationId, NaiveDate), u32> = HashMap::new();
    let mut sales = Vec::new();
    for line in &lines {
        let (Some(variation), Some(day)) = (line.variation_id.clone(), day_of(line.at_ms)) else { continue };
        let key = (variation.clone(), line.location_id.clone(), day);
        let entry = prices.entry(key.clone()).or_default();
        entry.0 += line.quantity.as_f64();
        entry.1 += line.net.minor() as f64;
        if line.refunded {
            *refunded.entry(key).or_default() += 1;
        }
        sales.push(Sale {
            variation_id: variation,
            location_id: line.location_id.clone(),
            at_ms: line.at_ms,
            units: line.quantity.as_f64(),
        });
    }
    // Days before the mirror's history begins are unknown, not days without sales.
    let history_starts = sales.iter().filter_map(|s| day_of(s.at_ms)).min().unwrap_or(date);
    let series = build_series(sales, app.timezone, first, date);
    let stock = app.store.mirror_stock(&[], None).await?;
    let out_of_stock: std::collections::HashSet<(VariationId, LocationId)> = stock
        .iter()
        .filter(|s| s.on_hand.milli() <= 0)
        .map(|s| (s.variation_id.clone(), s.location_id.clone()))
        .collect();
    let tuned = app.store.expected_counts(now_ms() - 90 * 86_400_000).await?;
    let view = app.catalog();
    let mut found = Vec::new();
    for s in &series {
        let t = s.demand.len() - 1;
        let known = |d: &usize| first + chrono::Duration::days(*d as i64) >= history_starts;
        let mut usual: Vec<f64> = (1..=WEEKS as usize)
            .filter_map(|k| t.checked_sub(7 * k))
            .filter(|d| known(d) && !s.censored[*d])
            .map(|d| s.demand[d])
            .collect();
        if usual.len() < MIN_WEEKS {
            continue;
        }
        let m = median(&mut usual);
        let mut deviations: Vec<f64> = usual.iter().map(|u| (u - m).abs()).collect();
        let spread = MAD_TO_SD * median(&mut deviations);
        if m < MIN_USUAL_UNITS || spread > MAX_OVERDISPERSION * m.sqrt() {
            continue;
        }
        let actual = s.demand[t];
        let change = (actual - m) / m;
        let key = (s.variation_id.clone(), s.location_id.clone());
        let needed = if tuned.get(&key).copied().unwrap_or(0) >= 2 { TUNED_MIN_CHANGE } else { MIN_CHANGE };
        if change.abs() < needed {
            continue;
        }
        let p = if change < 0.0 {
            poisson_cdf(actual.floor() as u64, m)
        } else {
            1.0 - poisson_cdf((actual.ceil() as u64).saturating_sub(1), m)
        };
        if p >= P_WITH_CAUSE {
            continue;
        }
        let price_on = |d: NaiveDate| {
            prices
                .get(&(s.variation_id.clone(), s.location_id.clone(), d))
                .filter(|(u, _)| *u > 0.0)
                .map(|(u, r)| r / u)
        };
        let today_price = price_on(date);
        let usual_price = {
            let mut p: Vec<f64> = (1..=WEEKS).filter_map(|k| price_on(date - chrono::Duration::days(7 * k))).collect();
            (!p.is_empty()).then(|| median(&mut p))
        };
        let refunds_today = refunded.get(&(s.variation_id.clone(), s.location_id.clone(), date)).copied().unwrap_or(0);
        let cause = if change < 0.0 && (out_of_stock.contains(&key) || s.censored[t]) {
            Some("went out of stock".to_owned())
        } else if let (Some(now), Some(before)) = (today_price, usual_price)
            && (now / before - 1.0).abs() > 0.05
        {
            Some(format!(
                "price changed from {} to {}",
                Money::from_minor(before.round() as i64),
                Money::from_minor(now.round() as i64)
            ))
        } else if refunds_today >= 2 {
            Some(format!("{refunds_today} refunded sales"))
        } else {
            None
        };
        if cause.is_none() && p >= P_ALONE {
            continue;
        }
        let (name, location) = (
            view.catalog
                .variation(&s.variation_id)
                .map_or_else(|| s.variation_id.to_string(), |(i, v)| i.display_name(v)),
            view.locations
                .iter()
                .find(|l| l.id == s.location_id)
                .map_or_else(|| s.location_id.to_string(), |l| l.name.clone()),
        );
        found.push(Anomaly {
            variation_id: s.variation_id.clone(),
            location_id: s.location_id.clone(),
            date,
            name,
            location,
            actual,
            usual: m,
            change,
            cause,
        });
    }
    found.sort_by(|a, b| b.change.abs().total_cmp(&a.change.abs()));
    Ok(found)
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
pub async fn post_alerts(app: &App, date: NaiveDate, actor: &str) -> Result<Vec<Anomaly>, StoreError> {
    use crate::store::flags::FlagState;
    let found = find(app, date).await?;
    let targets = super::summary::owner_targets(app);
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

/// A press of Expected or Investigate (`anomaly expected VAR@LOC@DATE`).
pub async fn record_verdict(app: &App, person: &Person, args: &str) -> Result<Reply, StoreError> {
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
        .save_verdict(&VariationId::new(*variation), &LocationId::new(*location), day, &verdict, &person.name)
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

impl crate::store::Store {
    pub async fn save_verdict(
        &self,
        variation: &VariationId,
        location: &LocationId,
        day: NaiveDate,
        verdict: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO anomaly_feedback (variation_id, location_id, day, verdict, decided_by, decided_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (variation_id, location_id, day) DO UPDATE SET \
             verdict = excluded.verdict, decided_by = excluded.decided_by, decided_at_ms = excluded.decided_at_ms",
        )
        .bind(variation.as_str())
        .bind(location.as_str())
        .bind(day.to_string())
        .bind(verdict)
        .bind(by)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// How often each item and location was marked expected since `since_ms`.
    pub async fn expected_counts(&self, since_ms: i64) -> Result<HashMap<(VariationId, LocationId), i64>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT variation_id, location_id, COUNT(*) FROM anomaly_feedback WHERE verdict = 'expected' \
             AND decided_at_ms >= $1 GROUP BY variation_id, location_id",
        )
        .bind(since_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(v, l, n)| ((VariationId::new(v), LocationId::new(l)), n)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_tails_by_hand() {
        // λ = 2: P(0) = e^−2, P(≤1) = 3e^−2.
        assert!((poisson_cdf(0, 2.0) - (-2.0f64).exp()).abs() < 1e-12);
        assert!((poisson_cdf(1, 2.0) - 3.0 * (-2.0f64).exp()).abs() < 1e-12);
        assert!((median(&mut [3.0, 1.0, 2.0, 10.0]) - 2.5).abs() < 1e-12);
    }
}
