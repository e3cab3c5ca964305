//! The inbox worker: applies recorded webhook events to the mirror. Events that carry only ids
//! (Square orders, every Clover notification) are applied by fetching the object's current
//! state from the POS, so an old delivery arriving late cannot roll the mirror back; stock
//! counts are applied only when newer than what the mirror holds. A failing event is retried
//! with exponential backoff and jitter, and parked after `MAX_ATTEMPTS`, visible in `/metrics`
//! and the audit log. Chat messages take the same road: recorded on arrival, answered here, and
//! the answer queued in the outbox.

use crate::channels::{ChatAction, ChatEvent};
use crate::inbound::Effect;
use crate::pos::PosError;
use crate::retry::RetryPolicy;
use crate::store::inbox::InboxRow;
use crate::store::inbox_claims::FailureOutcome;
use crate::store::outbox::Outgoing;
use crate::store::{StoreError, now_ms};
use crate::workflows::Shop;
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

/// The effect an event asks for, decided before any write by the adapter that knows its vendor.
fn decide(row: &InboxRow) -> Result<Effect, ProcessError> {
    let object = row.object_id.as_deref();
    let decided = crate::pos::effect_of(&row.source, &row.event_type, object, &row.payload)
        .or_else(|| crate::channels::effect_of(&row.source, &row.event_type, &row.payload))
        .unwrap_or(Ok(Effect::NOT_ACTED_ON));
    decided.map_err(ProcessError::Payload)
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
        Effect::GiftCard(activity) => {
            app.review.gift_card_sold(&activity);
            (
                format!("gift card of {} at {} noted for checkout review", activity.amount, activity.location_id),
                None,
                None,
                Vec::new(),
            )
        }
        Effect::PurchaseOrderReceived(pos_id) => {
            let note = match app.pos.purchase_order_receipt(&pos_id).await? {
                Some(receipt) => match crate::workflows::reorder::record_receipt(app, &receipt).await? {
                    Some(po) => format!("purchase order {po} received"),
                    None => "no purchase order of ours waiting for that receipt".to_owned(),
                },
                None => "the POS has not booked that order in yet".to_owned(),
            };
            (note, None, None, Vec::new())
        }
        Effect::Ignore(why) => (why.to_owned(), None, None, Vec::new()),
    };
    let store = &app.store;
    let mut tx = store.begin().await?;
    if !stock.is_empty() {
        store.save_stock_if_newer(&mut tx, &stock).await?;
        app.review.stock_changed(&stock);
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
