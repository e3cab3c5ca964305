//! The inbox worker: applies recorded webhook events to the mirror. Events that carry only ids
//! (Square orders, every Clover notification) are applied by fetching the object's current
//! state from the POS, so an old delivery arriving late cannot roll the mirror back; stock
//! counts are applied only when newer than what the mirror holds. A failing event is retried
//! with exponential backoff and jitter, and parked after `MAX_ATTEMPTS`, visible in `/metrics`
//! and the audit log. Chat messages take the same road: recorded on arrival, answered here, and
//! the answer queued in the outbox.

use crate::channels::{ChatAction, ChatEvent};
use crate::domain::{CustomerId, LocationId, OrderId, Quantity, StockLevel, VariationId};
use crate::pos::PosError;
use crate::retry::RetryPolicy;
use crate::store::inbox::InboxRow;
use crate::store::inbox_claims::FailureOutcome;
use crate::store::outbox::Outgoing;
use crate::store::{StoreError, now_ms};
use crate::workflows::Shop;
use serde_json::Value;
use std::time::Duration;

pub const MAX_ATTEMPTS: i64 = RetryPolicy::QUEUE.max_attempts as i64;
const LEASE_MS: i64 = 60_000;
const BATCH: i64 = 32;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Pos(#[from] PosError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("event payload unusable: {0}")]
    Payload(String),
    #[error("answering a chat message failed: {0}")]
    Chat(String),
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub processed: usize,
    pub retried: usize,
    pub parked: usize,
    /// Lost to another worker after the lease ran out; that worker applies it.
    pub lost: usize,
}

/// The effect an event asks for, decided before any write.
enum Effect {
    Stock(Vec<StockLevel>),
    /// Fetch the variation's current stock everywhere.
    StockOf(VariationId),
    Order(OrderId),
    Customer(CustomerId),
    /// Something a person said or pressed on a chat platform.
    Chat(Box<ChatEvent>),
    Ignore(&'static str),
}

fn decide(row: &InboxRow) -> Result<Effect, ProcessError> {
    let object = row.object_id.clone().unwrap_or_default();
    let clover_id = || object.split_once(':').map(|(_, id)| id.to_owned()).unwrap_or_default();
    Ok(match (row.source.as_str(), row.event_type.as_str()) {
        ("square", "inventory.count.updated") => Effect::Stock(square_counts(&row.payload)?),
        ("square", t) if t.starts_with("order.") => Effect::Order(OrderId::new(object)),
        ("square", "customer.created" | "customer.updated") => Effect::Customer(CustomerId::new(object)),
        ("clover", t) if t.starts_with("O:") => Effect::Order(OrderId::new(clover_id())),
        ("clover", t) if t.starts_with("C:") => Effect::Customer(CustomerId::new(clover_id())),
        ("clover", t) if t.starts_with("I:") && !t.ends_with(":DELETE") => {
            Effect::StockOf(VariationId::new(clover_id()))
        }
        ("shopify", t) if t.starts_with("orders/") => Effect::Order(OrderId::new(object)),
        ("shopify", t) if t.starts_with("customers/") => Effect::Customer(CustomerId::new(object)),
        ("slack" | "telegram" | "discord" | "sms", "chat.said" | "chat.clicked") => Effect::Chat(Box::new(
            serde_json::from_str(&row.payload).map_err(|e| ProcessError::Payload(e.to_string()))?,
        )),
        _ => Effect::Ignore("stored; not an event type Tillpilot acts on"),
    })
}

/// `data.object.inventory_counts[]` of a Square `inventory.count.updated` event: the on-hand
/// (`IN_STOCK`) counts.
fn square_counts(payload: &str) -> Result<Vec<StockLevel>, ProcessError> {
    let value: Value = serde_json::from_str(payload).map_err(|e| ProcessError::Payload(e.to_string()))?;
    let counts = value
        .pointer("/data/object/inventory_counts")
        .and_then(Value::as_array)
        .ok_or_else(|| ProcessError::Payload("no data.object.inventory_counts".into()))?;
    let mut levels = Vec::new();
    for count in counts {
        if count.get("state").and_then(Value::as_str) != Some("IN_STOCK") {
            continue;
        }
        let text = |key: &str| count.get(key).and_then(Value::as_str);
        let (Some(variation), Some(location), Some(quantity), Some(at)) = (
            text("catalog_object_id"),
            text("location_id"),
            text("quantity").and_then(Quantity::parse),
            text("calculated_at"),
        ) else {
            return Err(ProcessError::Payload("an inventory count lacks a field".into()));
        };
        let at = chrono::DateTime::parse_from_rfc3339(at).map_err(|e| ProcessError::Payload(e.to_string()))?;
        levels.push(StockLevel {
            variation_id: VariationId::new(variation),
            location_id: LocationId::new(location),
            on_hand: quantity,
            counted_at_ms: at.timestamp_millis(),
        });
    }
    Ok(levels)
}

/// Answers a chat event: the reply is queued in the outbox in the same transaction that marks
/// the event done, so a reply is queued once per event.
async fn answer_chat(app: &Shop, row: &InboxRow, worker: &str, event: &ChatEvent) -> Result<bool, ProcessError> {
    let reply = crate::dispatch::chat::process(app, event).await.map_err(|e| ProcessError::Chat(e.to_string()))?;
    // A Telegram button press is answered where it was pressed; the decision shows on the
    // message itself.
    if let ChatAction::Clicked { callback_id: Some(callback), .. } = &event.what
        && let Some(channel) = app.channels.get(event.channel)
    {
        if let Err(err) = channel.acknowledge(callback, &reply.text).await {
            tracing::warn!(error = %err, "could not answer a button press");
        }
        return finish_chat(app, row, worker, None).await;
    }
    let outgoing = match &event.respond_url {
        Some(url) => Outgoing::Respond { url: url.clone(), reply, replace: false },
        None => Outgoing::Post { reply, approval: None },
    };
    finish_chat(app, row, worker, Some((event, outgoing))).await
}

async fn finish_chat(
    app: &Shop,
    row: &InboxRow,
    worker: &str,
    queued: Option<(&ChatEvent, Outgoing)>,
) -> Result<bool, ProcessError> {
    let store = &app.store;
    let mut tx = store.begin().await?;
    if let Some((event, outgoing)) = &queued {
        store.enqueue(&mut tx, event.channel, &event.conversation, outgoing, now_ms()).await?;
    }
    if store.finish_inbox(&mut tx, row, worker, now_ms(), "answered").await? {
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    } else {
        tx.rollback().await.map_err(StoreError::from)?;
        Ok(false)
    }
}

/// Applies one claimed event; false when the lease was lost and nothing was written.
async fn apply(app: &Shop, row: &InboxRow, worker: &str) -> Result<bool, ProcessError> {
    // Reads from the POS happen before the transaction, so no lock waits on the network.
    let (note, order, customer, stock) = match decide(row)? {
        Effect::Chat(event) => return answer_chat(app, row, worker, &event).await,
        Effect::Stock(levels) => (format!("{} stock counts", levels.len()), None, None, levels),
        Effect::StockOf(id) => {
            let levels = app.pos.stock_levels(std::slice::from_ref(&id), None).await?;
            (format!("{} stock counts refreshed from the POS", levels.len()), None, None, levels)
        }
        Effect::Order(id) => match app.pos.order(&id).await? {
            Some(order) => ("order refreshed from the POS".to_owned(), Some(order), None, Vec::new()),
            None => ("order not found at the POS".to_owned(), None, None, Vec::new()),
        },
        Effect::Customer(id) => match app.pos.customer(&id).await? {
            Some(customer) => ("customer refreshed from the POS".to_owned(), None, Some(customer), Vec::new()),
            None => ("customer not found at the POS".to_owned(), None, None, Vec::new()),
        },
        Effect::Ignore(why) => (why.to_owned(), None, None, Vec::new()),
    };
    let store = &app.store;
    let mut tx = store.begin().await?;
    if !stock.is_empty() {
        store.save_stock_if_newer(&mut tx, &stock).await?;
    }
    if let Some(order) = &order {
        store.save_orders(&mut tx, std::slice::from_ref(order), now_ms()).await?;
    }
    if let Some(customer) = &customer {
        store.save_customers(&mut tx, std::slice::from_ref(customer)).await?;
    }
    if store.finish_inbox(&mut tx, row, worker, now_ms(), &note).await? {
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    } else {
        tx.rollback().await.map_err(StoreError::from)?;
        Ok(false)
    }
}

/// When a failed event is tried again: after the POS's own wait when it is rate limiting us,
/// else on the queue's backoff.
fn retry_at(err: &ProcessError, attempts: i64, now: i64, seed: i64) -> i64 {
    let wait = match err {
        ProcessError::Pos(PosError::RateLimited(after)) => Some(*after),
        _ => None,
    };
    RetryPolicy::QUEUE.next_try_ms(attempts, now, wait, seed)
}

/// Claims and applies what is due; returns what happened.
pub async fn process_due(app: &Shop, worker: &str) -> Result<PassReport, StoreError> {
    let mut report = PassReport::default();
    let rows = app.store.claim_inbox(worker, BATCH, now_ms(), LEASE_MS).await?;
    for row in rows {
        match apply(app, &row, worker).await {
            Ok(true) => {
                report.processed += 1;
                app.metrics.increment("tillpilot_inbox_processed_total", &format!("source=\"{}\"", row.source));
            }
            Ok(false) => report.lost += 1,
            Err(err) => {
                let message = err.to_string();
                tracing::warn!(inbox_id = row.id, attempts = row.attempts, error = %message, "inbox event failed");
                let when = retry_at(&err, row.attempts, now_ms(), row.id);
                match app.store.fail_inbox(&row, worker, &message, when, MAX_ATTEMPTS).await? {
                    FailureOutcome::Retry => report.retried += 1,
                    FailureOutcome::Parked => {
                        report.parked += 1;
                        app.metrics.increment("tillpilot_inbox_parked_total", &format!("source=\"{}\"", row.source));
                    }
                }
            }
        }
    }
    Ok(report)
}

/// Runs passes until `stop` resolves, idling briefly when there is nothing to do.
pub async fn run(app: std::sync::Arc<Shop>, worker: String, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let idle = match process_due(&app, &worker).await {
            Ok(report) => report == PassReport::default(),
            Err(err) => {
                tracing::error!(error = %err, "inbox worker pass failed");
                true
            }
        };
        if !super::next_pass(!idle, Duration::from_millis(250), &mut stop).await {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limited_event_waits_what_the_pos_asked() {
        let err = ProcessError::Payload("x".into());
        assert_eq!(retry_at(&err, 1, 0, 7), RetryPolicy::QUEUE.next_try_ms(1, 0, None, 7));
        let limited = ProcessError::Pos(PosError::RateLimited(Duration::from_secs(30)));
        assert_eq!(retry_at(&limited, 3, 1_000, 7), 31_000);
    }
}
