//! The outbox worker: sends queued messages through their channel, at most as fast as each
//! platform allows (about one message a second per Slack channel, Telegram chat or SMS number;
//! 30 a second across Telegram), honouring a platform's 429 wait, retrying other transient
//! failures with exponential backoff, and parking a message after its last attempt (or at once
//! when the platform refused it for good), visible in `/metrics` and the audit log. Nothing is
//! ever sent to a phone number that opted out. Purchase-order emails go the same way, on a
//! longer schedule; one that parks is reported to the owner channels. It also closes
//! approvals past their deadline.

use crate::channels::{ChannelKind, MessageRef};
use crate::pos::PosError;
use crate::retry::RetryPolicy;
use crate::store::outbox::{OutboxRow, Outgoing};
use crate::store::{StoreError, now_ms};
use crate::workflows::Shop;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

const LEASE_MS: i64 = 60_000;
const BATCH: i64 = 32;
/// How often pending approvals are checked for their deadline.
const EXPIRY_SWEEP: Duration = Duration::from_secs(15);

/// Per-conversation and per-platform spacing between sends.
#[derive(Default)]
pub struct Pacing {
    conversation: HashMap<(ChannelKind, String), Instant>,
    platform: HashMap<ChannelKind, Instant>,
}

impl Pacing {
    fn gaps(kind: ChannelKind) -> (Duration, Duration) {
        match kind {
            ChannelKind::Slack => (Duration::from_millis(1_000), Duration::ZERO),
            ChannelKind::Telegram => (Duration::from_millis(1_000), Duration::from_millis(34)),
            ChannelKind::Discord => (Duration::from_millis(200), Duration::from_millis(20)),
            ChannelKind::Sms => (Duration::from_millis(1_000), Duration::ZERO),
            ChannelKind::Email => (Duration::ZERO, Duration::from_millis(200)),
            ChannelKind::Terminal | ChannelKind::Http => (Duration::ZERO, Duration::ZERO),
        }
    }

    /// Waits until a send to `target` on `kind` keeps within the platform's pace.
    pub async fn wait_turn(&mut self, kind: ChannelKind, target: &str) {
        let (per_conversation, per_platform) = Self::gaps(kind);
        let now = Instant::now();
        let key = (kind, target.to_owned());
        let at =
            [self.conversation.get(&key), self.platform.get(&kind)].into_iter().flatten().fold(now, |a, b| a.max(*b));
        self.conversation.insert(key, at + per_conversation);
        self.platform.insert(kind, at + per_platform);
        tokio::time::sleep_until(at).await;
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retried: usize,
    pub parked: usize,
    pub lost: usize,
}

enum Failure {
    Retry { error: String, wait: Option<Duration> },
    Permanent(String),
}

/// The retry schedule of a queued message: chat messages try for a few minutes; a purchase
/// order's email, its placing in the POS and a decision callback to the POS middleware keep trying, at most five
/// minutes apart, for about four hours, so they go out within minutes of the other side
/// coming back.
pub fn schedule(kind: Option<ChannelKind>) -> RetryPolicy {
    match kind {
        Some(ChannelKind::Email | ChannelKind::Http) => RetryPolicy::EMAIL,
        _ => RetryPolicy::QUEUE,
    }
}

/// Emails an approved purchase order to `to`.
async fn email_purchase_order(app: &Shop, id: &str, to: &str) -> Result<Option<String>, Failure> {
    let smtp = app.config.smtp.as_ref().ok_or_else(|| Failure::Permanent("no [smtp] section is configured".into()))?;
    let po = match app.store.purchase_order(id).await {
        Ok(Some(po)) => po,
        Ok(None) => return Err(Failure::Permanent(format!("purchase order {id} does not exist"))),
        Err(err) => return Err(Failure::Retry { error: err.to_string(), wait: None }),
    };
    crate::workflows::purchase_email::send(smtp, &app.config.shop.name, to, &po).await.map(|()| None).map_err(|e| {
        if e.permanent { Failure::Permanent(e.message) } else { Failure::Retry { error: e.message, wait: None } }
    })
}

/// Places an approved purchase order in the POS's own purchase orders; the POS's id of it is
/// the message's external reference.
async fn place_in_pos(app: &Shop, id: &str, provider: &str) -> Result<Option<String>, Failure> {
    if app.pos.provider() != provider || !app.pos.keeps_purchase_orders() {
        return Err(Failure::Permanent(format!("the shop's POS is not {provider}, or keeps no purchase orders")));
    }
    let po = match app.store.purchase_order(id).await {
        Ok(Some(po)) => po,
        Ok(None) => return Err(Failure::Permanent(format!("purchase order {id} does not exist"))),
        Err(err) => return Err(Failure::Retry { error: err.to_string(), wait: None }),
    };
    let order = crate::workflows::reorder::supplier_order(&po);
    match app.pos.place_purchase_order(&order).await {
        Ok(pos_id) => Ok(Some(pos_id)),
        Err(PosError::RateLimited(wait)) => {
            Err(Failure::Retry { error: "the POS asked us to slow down".into(), wait: Some(wait) })
        }
        Err(err @ PosError::Unavailable(_)) => Err(Failure::Retry { error: err.to_string(), wait: None }),
        Err(err @ PosError::Rejected { status, .. }) if status >= 500 || status == 408 || status == 429 => {
            Err(Failure::Retry { error: err.to_string(), wait: None })
        }
        Err(err) => Err(Failure::Permanent(err.to_string())),
    }
}

/// Records an approved purchase order in QuickBooks; its QuickBooks id is the message's
/// external reference.
async fn record_in_accounting(app: &Shop, id: &str) -> Result<Option<String>, Failure> {
    use crate::accounting::AccountingError;
    let Some(quickbooks) = &app.accounting else {
        return Err(Failure::Permanent("no [quickbooks] section is configured".into()));
    };
    let po = match app.store.purchase_order(id).await {
        Ok(Some(po)) => po,
        Ok(None) => return Err(Failure::Permanent(format!("purchase order {id} does not exist"))),
        Err(err) => return Err(Failure::Retry { error: err.to_string(), wait: None }),
    };
    match quickbooks.record_purchase_order(&po).await {
        Ok(accounting_id) => Ok(Some(accounting_id)),
        Err(AccountingError::RateLimited(wait)) => {
            Err(Failure::Retry { error: "QuickBooks asked us to slow down".into(), wait })
        }
        Err(err) if err.is_transient() => Err(Failure::Retry { error: err.to_string(), wait: None }),
        Err(err) => Err(Failure::Permanent(err.to_string())),
    }
}

/// The header a decision callback carries: `sha256=` and the hex HMAC-SHA256 of the body,
/// keyed with `[review] bearer_token`.
pub const CALLBACK_SIGNATURE_HEADER: &str = "x-tillpilot-signature";

/// POSTs a decision to the POS middleware's callback URL, signed.
async fn call_back(app: &Shop, url: &str, body: &str) -> Result<Option<String>, Failure> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let review =
        app.config.review.as_ref().ok_or_else(|| Failure::Permanent("no [review] section is configured".into()))?;
    if !review.callback_allowed(url) {
        return Err(Failure::Permanent("the callback URL is not under [review] callback_allow".into()));
    }
    let client = CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    });
    let signature = format!(
        "sha256={}",
        crate::signature::hmac_sha256_hex(review.bearer_token.expose().as_bytes(), &[body.as_bytes()])
    );
    let answer = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(CALLBACK_SIGNATURE_HEADER, signature)
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| Failure::Retry { error: format!("callback: {}", e.without_url()), wait: None })?;
    let status = answer.status();
    if status.is_success() {
        return Ok(None);
    }
    let wait = answer
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let error = format!("callback answered {status}");
    if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        Err(Failure::Retry { error, wait })
    } else {
        Err(Failure::Permanent(error))
    }
}

async fn deliver(app: &Shop, row: &OutboxRow, pacing: &mut Pacing) -> Result<Option<String>, Failure> {
    let kind = row.channel().ok_or_else(|| Failure::Permanent(format!("unknown channel {}", row.channel)))?;
    let outgoing = row.outgoing().map_err(|e| Failure::Permanent(format!("unreadable message: {e}")))?;
    if let Outgoing::Callback { body } = &outgoing {
        return call_back(app, &row.target, body).await;
    }
    if let Outgoing::PurchaseOrderEmail { purchase_order } = &outgoing {
        pacing.wait_turn(kind, &row.target).await;
        return email_purchase_order(app, purchase_order, &row.target).await;
    }
    if let Outgoing::PurchaseOrderToPos { purchase_order } = &outgoing {
        return place_in_pos(app, purchase_order, &row.target).await;
    }
    if let Outgoing::PurchaseOrderToAccounting { purchase_order } = &outgoing {
        return record_in_accounting(app, purchase_order).await;
    }
    let channel = app.channels.get(kind).ok_or_else(|| Failure::Permanent(format!("{kind} is not configured")))?;
    if kind == ChannelKind::Sms {
        let opted_out =
            app.store.opted_out(&row.target).await.map_err(|e| Failure::Retry { error: e.to_string(), wait: None })?;
        if opted_out {
            return Err(Failure::Permanent("the number opted out (STOP)".into()));
        }
    }
    pacing.wait_turn(kind, &row.target).await;
    let result = match &outgoing {
        Outgoing::Post { reply, .. } | Outgoing::Handoff { reply, .. } => {
            channel.post(&row.target, reply).await.map(Some)
        }
        Outgoing::Edit { message, reply } => channel.edit(message, reply).await.map(|()| None),
        Outgoing::Respond { url, reply, replace } => channel.respond(url, reply, *replace).await.map(|()| None),
        Outgoing::PurchaseOrderEmail { .. }
        | Outgoing::PurchaseOrderToPos { .. }
        | Outgoing::PurchaseOrderToAccounting { .. }
        | Outgoing::Callback { .. } => Ok(None),
    };
    result.map_err(|err| match err {
        crate::channels::ChannelError::RateLimited(wait) => Failure::Retry { error: err.to_string(), wait: Some(wait) },
        err if err.is_transient() => Failure::Retry { error: err.to_string(), wait: None },
        err => Failure::Permanent(err.to_string()),
    })
}

/// Sends what is due; returns what happened.
pub async fn send_due(app: &Shop, worker: &str, pacing: &mut Pacing) -> Result<SendReport, StoreError> {
    let mut report = SendReport::default();
    let rows = app.store.claim_outbox(worker, BATCH, now_ms(), LEASE_MS).await?;
    for row in rows {
        let label = format!("channel=\"{}\"", crate::telemetry::label(&row.channel));
        match deliver(app, &row, pacing).await {
            Ok(external_ref) => {
                let mut tx = app.store.begin().await?;
                if app.store.finish_outbox(&mut tx, &row, worker, external_ref.as_deref(), now_ms()).await? {
                    if let (Ok(Outgoing::Post { approval: Some(id), .. }), Some(kind), Some(message_id)) =
                        (row.outgoing(), row.channel(), &external_ref)
                    {
                        let message = MessageRef { channel: kind, target: row.target.clone(), id: message_id.clone() };
                        app.store.add_approval_message(&mut tx, &id, &message).await?;
                    }
                    match row.outgoing() {
                        Ok(Outgoing::Handoff { handoff, .. }) => {
                            if let (Some(kind), Some(message_id)) = (row.channel(), &external_ref) {
                                let message =
                                    MessageRef { channel: kind, target: row.target.clone(), id: message_id.clone() };
                                app.store.add_handoff_message(&mut tx, handoff, &message).await?;
                            }
                        }
                        Ok(Outgoing::PurchaseOrderEmail { purchase_order }) => {
                            app.store
                                .move_po_in(&mut tx, &purchase_order, &["approved"], "sent", "tillpilot", now_ms())
                                .await?;
                        }
                        Ok(Outgoing::PurchaseOrderToAccounting { purchase_order }) => {
                            if let Some(accounting_id) = &external_ref {
                                let held_by = crate::store::purchase_orders::HeldBy::Accounting;
                                app.store
                                    .set_po_external_id(&mut tx, &purchase_order, held_by, &row.target, accounting_id)
                                    .await?;
                            }
                        }
                        Ok(Outgoing::PurchaseOrderToPos { purchase_order }) => {
                            if let Some(pos_id) = &external_ref {
                                let held_by = crate::store::purchase_orders::HeldBy::Pos;
                                app.store
                                    .set_po_external_id(&mut tx, &purchase_order, held_by, &row.target, pos_id)
                                    .await?;
                            }
                            app.store
                                .move_po_in(&mut tx, &purchase_order, &["approved"], "sent", "tillpilot", now_ms())
                                .await?;
                        }
                        _ => {}
                    }
                    tx.commit().await?;
                    report.sent += 1;
                    app.metrics.increment("tillpilot_outbox_sent_total", &label);
                } else {
                    tx.rollback().await?;
                    report.lost += 1;
                }
            }
            Err(failure) => {
                let (error, wait, permanent) = match failure {
                    Failure::Retry { error, wait } => (error, wait, false),
                    Failure::Permanent(error) => (error, None, true),
                };
                tracing::warn!(outbox_id = row.id, attempts = row.attempts, error = %error, "sending a message failed");
                let policy = schedule(row.channel());
                let when = policy.next_try_ms(row.attempts, now_ms(), wait, row.id);
                if app.store.fail_outbox(&row, worker, &error, when, permanent, i64::from(policy.max_attempts)).await? {
                    report.parked += 1;
                    app.metrics.increment("tillpilot_outbox_parked_total", &label);
                    use crate::workflows::reorder::{Route, send_parked};
                    match row.outgoing() {
                        Ok(Outgoing::PurchaseOrderEmail { purchase_order }) => {
                            send_parked(app, &purchase_order, Route::Email { to: &row.target }, &error).await?;
                        }
                        Ok(Outgoing::PurchaseOrderToPos { purchase_order }) => {
                            send_parked(app, &purchase_order, Route::Pos { provider: &row.target }, &error).await?;
                        }
                        Ok(Outgoing::PurchaseOrderToAccounting { purchase_order }) => {
                            let route = Route::Accounting { platform: &row.target };
                            send_parked(app, &purchase_order, route, &error).await?;
                        }
                        _ => {}
                    }
                } else {
                    report.retried += 1;
                }
            }
        }
    }
    Ok(report)
}

/// Sends until `stop` changes, idling briefly when there is nothing to send, and closes expired
/// approvals every few seconds.
pub async fn run(app: std::sync::Arc<Shop>, worker: String, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut pacing = Pacing::default();
    let mut last_sweep = Instant::now() - EXPIRY_SWEEP;
    loop {
        if last_sweep.elapsed() >= EXPIRY_SWEEP {
            last_sweep = Instant::now();
            if let Err(err) = crate::workflows::approvals::expire_due(&app).await {
                tracing::error!(error = %err, "could not expire approvals");
            }
        }
        let idle = match send_due(&app, &worker, &mut pacing).await {
            Ok(report) => report == SendReport::default(),
            Err(err) => {
                tracing::error!(error = %err, "outbox pass failed");
                true
            }
        };
        if !super::next_pass(!idle, Duration::from_millis(200), &mut stop).await {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sends_to_one_slack_channel_are_a_second_apart() {
        let mut pacing = Pacing::default();
        let start = Instant::now();
        pacing.wait_turn(ChannelKind::Slack, "C1").await;
        pacing.wait_turn(ChannelKind::Slack, "C2").await;
        assert_eq!(start.elapsed(), Duration::ZERO, "different channels do not wait for each other");
        pacing.wait_turn(ChannelKind::Slack, "C1").await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        let t0 = Instant::now();
        for chat in 0..30 {
            pacing.wait_turn(ChannelKind::Telegram, &format!("chat{chat}")).await;
        }
        assert_eq!(t0.elapsed(), Duration::from_millis(29 * 34), "no more than 30 Telegram sends a second");
    }
}
