//! The daily summary: revenue, orders, average basket, units, refunds and discounts for one
//! day in the shop's time zone, each against the same weekday last week and the average of that
//! weekday over the four weeks before; per location; the top categories and items; and a chart. Posted to
//! the owner channels by the scheduler or `tillpilot summary --post`.
//!
//! Revenue is what orders brought in after discounts, less refunds; cancelled orders count for
//! nothing. Every figure comes from the mirror, so it is as fresh as the last sync or webhook.

use crate::channels::{ChannelKind, Reply, ReplyImage};
use crate::domain::clock::midnight_ms;
use crate::domain::{LocationId, Money};
use crate::store::mirror_read::{LineFact, OrderFact};
use crate::store::outbox::Outgoing;
use crate::store::{AuditEntry, StoreError, now_ms};
use crate::workflows::Shop;
use base64::Engine;
use chrono::{NaiveDate, TimeZone};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// The days the chart and the four-week average look back over.
pub const TRAILING_DAYS: i64 = 28;

/// One day's figures (money in cents, so sums stay exact).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Figures {
    pub revenue: f64,
    pub orders: f64,
    pub units: f64,
    pub refunds: f64,
    pub discounts: f64,
}

impl Figures {
    pub fn basket(&self) -> f64 {
        if self.orders > 0.0 { self.revenue / self.orders } else { 0.0 }
    }

    fn add_order(&mut self, order: &OrderFact) {
        self.revenue += (order.total.minor() - order.refunded.minor()) as f64;
        self.orders += 1.0;
        self.refunds += order.refunded.minor() as f64;
        self.discounts += order.discount.minor() as f64;
    }

    fn scaled(&self, by: f64) -> Figures {
        Figures {
            revenue: self.revenue * by,
            orders: self.orders * by,
            units: self.units * by,
            refunds: self.refunds * by,
            discounts: self.discounts * by,
        }
    }

    fn plus(&self, other: &Figures) -> Figures {
        Figures {
            revenue: self.revenue + other.revenue,
            orders: self.orders + other.orders,
            units: self.units + other.units,
            refunds: self.refunds + other.refunds,
            discounts: self.discounts + other.discounts,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DaySummary {
    pub date: NaiveDate,
    pub day: Figures,
    pub same_weekday_last_week: Figures,
    /// The average of the same weekday over the four weeks before: a Monday against Mondays,
    /// so a quiet weekday is not read as a bad day next to busy weekends.
    pub same_weekday_average: Figures,
    pub locations: Vec<(String, Figures)>,
    /// `(name, revenue in cents)`, largest first.
    pub categories: Vec<(String, f64)>,
    /// `(name, units, revenue in cents)`, largest revenue first.
    pub items: Vec<(String, f64, f64)>,
    /// Revenue (cents) of each of the last 28 days, ending with `date`.
    pub daily_revenue: Vec<(NaiveDate, f64)>,
    /// The day's checkout reviews, when the checkout assistant is configured.
    pub reviews: Option<crate::store::reviews::ReviewCounts>,
}

/// Builds the summary of `date` from the mirror.
pub async fn build(app: &Shop, date: NaiveDate) -> Result<DaySummary, StoreError> {
    let first = date - chrono::Duration::days(TRAILING_DAYS);
    let (from, to) = (midnight_ms(app.timezone, first), midnight_ms(app.timezone, date + chrono::Duration::days(1)));
    let orders = app.store.order_facts(from, to).await?;
    let lines = app.store.line_facts(from, to).await?;
    let day_of = |ms: i64| app.timezone.timestamp_millis_opt(ms).single().map(|t| t.date_naive());

    let mut by_day: HashMap<NaiveDate, Figures> = HashMap::new();
    let mut by_location: HashMap<LocationId, Figures> = HashMap::new();
    for order in &orders {
        let Some(day) = day_of(order.at_ms) else { continue };
        by_day.entry(day).or_default().add_order(order);
        if day == date {
            by_location.entry(order.location_id.clone()).or_default().add_order(order);
        }
    }
    let view = app.catalog();
    let mut categories: HashMap<String, f64> = HashMap::new();
    let mut items: HashMap<String, (f64, f64)> = HashMap::new();
    for line in &lines {
        let Some(day) = day_of(line.at_ms) else { continue };
        let units = line.quantity.as_f64();
        by_day.entry(day).or_default().units += units;
        if day != date {
            continue;
        }
        by_location.entry(line.location_id.clone()).or_default().units += units;
        let (item_name, category) = describe(&view.catalog, line);
        *categories.entry(category).or_default() += line.net.minor() as f64;
        let entry = items.entry(item_name).or_default();
        entry.0 += units;
        entry.1 += line.net.minor() as f64;
    }
    let on = |d: NaiveDate| by_day.get(&d).copied().unwrap_or_default();
    let weeks = TRAILING_DAYS / 7;
    let same_weekdays =
        (1..=weeks).map(|w| on(date - chrono::Duration::days(7 * w))).fold(Figures::default(), |a, b| a.plus(&b));
    let mut locations: Vec<(String, Figures)> = view
        .locations
        .iter()
        .map(|l| (l.name.clone(), by_location.get(&l.id).copied().unwrap_or_default()))
        .filter(|(_, f)| f.orders > 0.0)
        .collect();
    for (id, figures) in &by_location {
        if !view.locations.iter().any(|l| &l.id == id) {
            locations.push((id.to_string(), *figures));
        }
    }
    let mut categories: Vec<(String, f64)> = categories.into_iter().collect();
    categories.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut items: Vec<(String, f64, f64)> = items.into_iter().map(|(n, (u, r))| (n, u, r)).collect();
    items.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let reviews = match app.config.review {
        Some(_) => {
            let (start, end) =
                (midnight_ms(app.timezone, date), midnight_ms(app.timezone, date + chrono::Duration::days(1)));
            Some(app.store.review_counts(start, end).await?)
        }
        None => None,
    };
    Ok(DaySummary {
        reviews,
        date,
        day: on(date),
        same_weekday_last_week: on(date - chrono::Duration::days(7)),
        same_weekday_average: same_weekdays.scaled(1.0 / weeks as f64),
        locations,
        categories,
        items,
        daily_revenue: (0..TRAILING_DAYS)
            .rev()
            .map(|k| date - chrono::Duration::days(k))
            .map(|d| (d, on(d).revenue))
            .collect(),
    })
}

/// The item's display name and its category's name ("Other" when it has none).
fn describe(catalog: &crate::domain::Catalog, line: &LineFact) -> (String, String) {
    match line.variation_id.as_ref().and_then(|v| catalog.variation(v)) {
        Some((item, variation)) => {
            let category = item.category_id.as_ref().and_then(|c| catalog.category_name(c)).unwrap_or("Other");
            (item.display_name(variation), category.to_owned())
        }
        None => (line.name.clone(), "Other".to_owned()),
    }
}

fn money(cents: f64) -> String {
    Money::from_minor(cents.round() as i64).to_string()
}

/// "+12%" / "−3%" against a base, or "new" when the base is zero.
fn change(now: f64, base: f64) -> String {
    if base.abs() < 1e-9 {
        return if now.abs() < 1e-9 { "no change".into() } else { "new".into() };
    }
    let pct = (now / base - 1.0) * 100.0;
    if pct.abs() < 0.5 { "no change".into() } else { format!("{pct:+.0}%").replace('-', "−") }
}

/// The summary as a message, with the chart attached.
pub fn reply(summary: &DaySummary) -> Reply {
    let weekday = summary.date.format("%a").to_string();
    let (day, week, avg) = (&summary.day, &summary.same_weekday_last_week, &summary.same_weekday_average);
    let compare = |now: f64, last: f64, average: f64, show: &dyn Fn(f64) -> String| {
        format!(
            "{} ({} vs last {weekday}, {} vs the average {weekday} of 4 weeks)",
            show(now),
            change(now, last),
            change(now, average)
        )
    };
    let count = |v: f64| format!("{v:.0}");
    let mut reply = Reply::text(format!(
        "Sales for {}: {} from {:.0} orders, average basket {}.",
        summary.date.format("%a %b %-d"),
        money(day.revenue),
        day.orders,
        money(day.basket()),
    ));
    reply = reply
        .field("Revenue", compare(day.revenue, week.revenue, avg.revenue, &money))
        .field("Orders", compare(day.orders, week.orders, avg.orders, &count))
        .field("Average basket", compare(day.basket(), week.basket(), avg.basket(), &money))
        .field("Units", compare(day.units, week.units, avg.units, &count))
        .field("Refunds", compare(day.refunds, week.refunds, avg.refunds, &money))
        .field("Discounts", compare(day.discounts, week.discounts, avg.discounts, &money));
    for (name, figures) in &summary.locations {
        reply = reply.field(name.clone(), format!("{} from {:.0} orders", money(figures.revenue), figures.orders));
    }
    let top = |list: Vec<String>| if list.is_empty() { "none".to_owned() } else { list.join(", ") };
    reply = reply.field(
        "Top categories",
        top(summary.categories.iter().take(3).map(|(n, r)| format!("{n} {}", money(*r))).collect()),
    );
    reply = reply.field(
        "Top items",
        top(summary.items.iter().take(3).map(|(n, u, r)| format!("{n} ×{} {}", count(*u), money(*r))).collect()),
    );
    if let Some(r) = summary.reviews.filter(|r| r.reviews > 0) {
        reply = reply.field(
            "Checkout reviews",
            format!(
                "{} carts reviewed, {} flagged; {} manager approvals asked, {} given",
                r.reviews, r.flagged, r.approvals_asked, r.approvals_given
            ),
        );
    }
    let daily: Vec<(String, f64)> =
        summary.daily_revenue.iter().map(|(d, r)| (d.format("%b %-d").to_string(), r / 100.0)).collect();
    let categories: Vec<(String, f64)> = summary.categories.iter().map(|(n, r)| (n.clone(), r / 100.0)).collect();
    let title = format!("Sales, {}", summary.date.format("%a %b %-d %Y"));
    match super::summary_chart::render(&title, &daily, &categories) {
        Ok(png) => {
            reply.image = Some(ReplyImage {
                alt: format!(
                    "Revenue for the last 28 days, {} highlighted, and by category",
                    summary.date.format("%b %-d")
                ),
                png_base64: base64::engine::general_purpose::STANDARD.encode(png),
            });
        }
        Err(err) => tracing::warn!(error = %err, "the summary chart could not be drawn"),
    }
    reply
}

/// The summary with the LLM's short narrative on top, when one is configured and every number
/// the narrative states is in the summary; otherwise the summary as it is. A day without
/// orders gets no narrative.
pub async fn with_narrative(app: &Shop, summary: &DaySummary, mut reply: Reply) -> Reply {
    let Some(llm) = &app.llm else { return reply };
    if summary.day.orders == 0.0 {
        return reply;
    }
    let mut facts = reply.text.clone();
    for field in &reply.fields {
        facts.push_str(&format!("\n{}: {}", field.label, field.value));
    }
    let cx = crate::llm::CallContext {
        store: &app.store,
        metrics: &app.metrics,
        now_ms: app.clock.now_ms(),
        day_start_ms: crate::domain::clock::midnight_ms(app.timezone, app.today()),
    };
    let narrative = match llm.narrate(&cx, &app.config.shop.name, &super::rules::in_force(app).await, &facts).await {
        Ok(narrative) => narrative,
        Err(err) => {
            tracing::warn!(error = %err, "no narrative for the summary");
            return reply;
        }
    };
    let invented = crate::llm::grounded::invented_numbers(&narrative, &[&facts]);
    if !invented.is_empty() || narrative.chars().count() > 400 {
        tracing::info!(?invented, "the summary's narrative states figures the summary does not; sent without it");
        app.metrics.increment("tillpilot_llm_text_dropped_total", "why=\"invented_number\"");
        return reply;
    }
    reply.text = format!("{narrative}\n\n{}", reply.text);
    reply
}

/// The day a person asked about: "today" (the default, so far), "yesterday", a weekday (the
/// most recent one, today included), an ISO date (2026-11-20) or a month and day ("nov 20",
/// "20 nov"), in the year that makes it most recent. `None` when the words name no day.
pub fn day_asked(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    use chrono::Datelike;
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric() && c != '-').filter(|w| !w.is_empty()).collect();
    for (i, word) in words.iter().enumerate() {
        match *word {
            "today" | "tonight" | "todays" => return Some(today),
            "yesterday" | "yesterdays" => return today.pred_opt(),
            _ => {}
        }
        if let Ok(date) = NaiveDate::parse_from_str(word, "%Y-%m-%d") {
            return Some(date);
        }
        if let Some(weekday) = weekday(word) {
            let back = (today.weekday().num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
            return Some(today - chrono::Duration::days(i64::from(back)));
        }
        if let Some(month) = month(word) {
            let day =
                |w: Option<&&str>| w.and_then(|w| w.trim_end_matches(|c: char| c.is_alphabetic()).parse::<u32>().ok());
            let Some(day) = day(words.get(i + 1)).or_else(|| i.checked_sub(1).and_then(|j| day(words.get(j)))) else {
                continue;
            };
            let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
            return Some(if this_year > today {
                NaiveDate::from_ymd_opt(today.year() - 1, month, day)?
            } else {
                this_year
            });
        }
    }
    None
}

fn weekday(word: &str) -> Option<chrono::Weekday> {
    use chrono::Weekday::*;
    let word = word.strip_suffix("'s").unwrap_or(word);
    let names: [(&[&str], chrono::Weekday); 7] = [
        (&["mon", "monday", "mondays"], Mon),
        (&["tue", "tues", "tuesday", "tuesdays"], Tue),
        (&["wed", "weds", "wednesday", "wednesdays"], Wed),
        (&["thu", "thur", "thurs", "thursday", "thursdays"], Thu),
        (&["fri", "friday", "fridays"], Fri),
        (&["sat", "saturday", "saturdays"], Sat),
        (&["sun", "sunday", "sundays"], Sun),
    ];
    names.into_iter().find(|(forms, _)| forms.contains(&word)).map(|(_, d)| d)
}

fn month(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    // "nov", "sept", "november"; not "market" or "mayor".
    MONTHS.iter().position(|m| word.len() >= 3 && m.starts_with(word)).map(|i| i as u32 + 1)
}

/// `summary [day] [at location]` in chat: the summary of the day asked about (today so far by
/// default), with its chart; a named location's figures lead.
pub async fn on_demand(app: &Shop, args: &str, entities: &crate::nlu::Entities) -> Result<Reply, StoreError> {
    let today = app.today();
    let date = day_asked(args, today).unwrap_or(today);
    if date > today {
        return Ok(Reply::text(format!(
            "{} hasn't happened yet. Ask for today, yesterday or an earlier day.",
            date.format("%a %b %-d")
        )));
    }
    let summary = build(app, date).await?;
    let mut reply = reply(&summary);
    if date == today {
        reply.text = format!("{} (today so far)", reply.text.trim_end_matches('.'));
        reply.text.push('.');
    }
    if summary.day.orders == 0.0 && summary.daily_revenue.iter().all(|(_, r)| *r == 0.0) {
        reply
            .text
            .push_str(" Tillpilot has no sales recorded for the four weeks before it either: has the first sync run?");
    }
    let mut reply = with_narrative(app, &summary, reply).await;
    if let Some(asked) = entities.locations.first() {
        let lead = match summary.locations.iter().find(|(name, _)| *name == asked.name) {
            Some((name, figures)) => format!("{name}: {} from {:.0} orders.", money(figures.revenue), figures.orders),
            None => format!("{}: no sales that day.", asked.name),
        };
        reply.text = format!("{lead} {}", reply.text);
    }
    Ok(reply)
}

/// What posting did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Posted {
    /// Queued to this many channels.
    Queued(usize),
    /// The flag is in shadow mode: computed and recorded, nothing posted.
    Shadow,
    /// The flag is off.
    Off,
}

/// Queues the summary to the owner channels (SMS gets the short text only), as the `summary`
/// flag allows, and audits it.
pub async fn post(app: &Shop, summary: &DaySummary, reply: &Reply, actor: &str) -> Result<Posted, StoreError> {
    let state = super::flags::state(app, "summary", None).await?;
    let targets = app.owner_targets(crate::domain::Role::Owner);
    let outcome = match state {
        crate::store::flags::FlagState::Off => Posted::Off,
        crate::store::flags::FlagState::Shadow => Posted::Shadow,
        crate::store::flags::FlagState::On => Posted::Queued(targets.len()),
    };
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    if let Posted::Queued(_) = outcome {
        for (channel, target) in &targets {
            let mut message = reply.clone();
            if *channel == ChannelKind::Sms {
                message = Reply::text(reply.text.clone());
            }
            app.store
                .enqueue(&mut tx, *channel, target, &Outgoing::Post { reply: message, approval: None }, now)
                .await?;
        }
    }
    app.store
        .audit(
            &mut tx,
            &AuditEntry {
                actor: actor.to_owned(),
                channel: "tillpilot".into(),
                kind: "summary.posted".into(),
                subject: summary.date.to_string(),
                detail: json!({ "outcome": outcome, "revenue_cents": summary.day.revenue, "orders": summary.day.orders,
                "channels": targets.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>() }),
            },
        )
        .await?;
    tx.commit().await?;
    Ok(outcome)
}

#[cfg(test)]
mod day_tests {
    use super::day_asked;
    use chrono::NaiveDate;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_day_people_ask_about() {
        // Thursday 2026-11-26.
        let today = d(2026, 11, 26);
        assert_eq!(day_asked("how did we do today", today), Some(today));
        assert_eq!(day_asked("revenue yesterday", today), Some(d(2026, 11, 25)));
        assert_eq!(day_asked("yesterday's numbers", today), Some(d(2026, 11, 25)));
        assert_eq!(day_asked("how did we do on saturday", today), Some(d(2026, 11, 21)));
        assert_eq!(day_asked("summary thursday", today), Some(today), "today is Thursday");
        assert_eq!(day_asked("summary mon", today), Some(d(2026, 11, 23)));
        assert_eq!(day_asked("summary 2026-11-20", today), Some(d(2026, 11, 20)));
        assert_eq!(day_asked("sales on nov 20", today), Some(d(2026, 11, 20)));
        assert_eq!(day_asked("sales 3rd dec", today), Some(d(2025, 12, 3)), "the most recent Dec 3");
        assert_eq!(day_asked("sales at Riverside", today), None);
        assert_eq!(day_asked("how is monica doing", today), None, "mon- inside a word is no weekday");
        assert_eq!(day_asked("a sunny day", today), None);
    }
}
