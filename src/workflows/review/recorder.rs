//! The review recorder: reviews are answered from memory and recorded here, off the request
//! path, in batches. Each batch is one transaction holding the review rows, their audit
//! record, the manager-approval requests they asked for (with their posts to the manager
//! channels) and the fraud flags posted to the managers. A batch that fails is tried again
//! until it is written, so nothing answered is lost while the process runs; when the queue is
//! full (the database far behind), a review waits for room rather than go unrecorded.

use crate::domain::Role;
use crate::message::{ChannelKind, Reply};
use crate::store::outbox::Outgoing;
use crate::store::reviews::ReviewRecord;
use crate::store::{AuditText, StoreError, now_ms};
use crate::workflows::Shop;
use crate::workflows::approvals::NewApproval;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// Reviews held in memory at most while the database catches up.
const QUEUE: usize = 65_536;
/// Reviews written in one transaction at most.
const BATCH: usize = 512;
/// The pause after a full batch.
const YIELD: Duration = Duration::from_millis(2);

/// One answered review, to be written.
#[derive(Debug)]
pub struct Recorded {
    pub record: ReviewRecord,
    /// Its audit record when written alone; its detail is the review's entry in a batch's.
    pub audit: AuditText,
    /// The manager approval it asked for, with the id already given to the POS.
    pub approval: Option<(String, NewApproval)>,
    /// The fraud flag for the managers, when there is no approval request to carry it.
    pub flag: Option<Reply>,
}

/// Starts the recorder for `app` (once; later calls do nothing).
pub(super) fn start(app: &Arc<Shop>) {
    let (sender, receiver) = mpsc::channel(QUEUE);
    if app.review.recorder.set(sender).is_ok() {
        tokio::spawn(run(Arc::clone(app), receiver));
    }
}

/// Queues `recorded`; waits only when the queue is full.
pub(super) async fn submit(app: &Shop, recorded: Recorded) -> Result<(), String> {
    let Some(sender) = app.review.recorder.get() else { return Err("the review recorder is not running".into()) };
    app.review.submitted.fetch_add(1, Ordering::AcqRel);
    let sent = match sender.try_send(recorded) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(recorded)) => {
            tracing::warn!("the review recorder is behind; this review waits for room");
            sender.send(recorded).await.map_err(|_| "the review recorder has stopped".to_owned())
        }
        Err(mpsc::error::TrySendError::Closed(_)) => Err("the review recorder has stopped".into()),
    };
    if sent.is_err() {
        app.review.submitted.fetch_sub(1, Ordering::AcqRel);
    }
    sent
}

/// Waits until every review answered so far is written, for at most `within`; false when
/// some are still waiting. The server calls it on the way out, after it stopped answering.
pub async fn flush(app: &Shop, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (submitted, written) =
            (app.review.submitted.load(Ordering::Acquire), app.review.written.load(Ordering::Acquire));
        if written >= submitted {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::error!(waiting = submitted - written, "stopping with reviews not yet recorded");
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(app: Arc<Shop>, mut receiver: mpsc::Receiver<Recorded>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let mut wait = Duration::from_millis(200);
        loop {
            match write(&app, &batch).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::error!(error = %err, reviews = batch.len(), "could not record reviews; trying again");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
        for recorded in &batch {
            if let Some((id, _)) = &recorded.approval {
                app.review.recorded(id);
            }
        }
        app.metrics.add("tillpilot_reviews_recorded_total", "", batch.len() as u64);
        app.review.written.fetch_add(batch.len() as u64, Ordering::Release);
        if batch.len() == BATCH {
            // Draining a backlog: leave the database's write lock free for a moment, so webhook
            // intake and chat (SQLite has one writer) are not starved while reviews catch up.
            tokio::time::sleep(YIELD).await;
        }
        batch.clear();
    }
}

async fn write(app: &Shop, batch: &[Recorded]) -> Result<(), StoreError> {
    let now = now_ms();
    let mut tx = app.store.begin().await?;
    let records: Vec<&ReviewRecord> = batch.iter().map(|r| &r.record).collect();
    app.store.insert_reviews(&mut tx, &records).await?;
    app.store.audit(&mut tx, &audit_of(batch)).await?;
    for recorded in batch {
        if let Some((id, new)) = &recorded.approval {
            crate::workflows::approvals::request_in(app, &mut tx, id.clone(), new.clone(), now).await?;
        }
        if let Some(flag) = &recorded.flag {
            for (channel, target) in app.owner_targets(Role::Manager) {
                let post = Outgoing::Post { reply: flag.clone(), approval: None };
                app.store.enqueue(&mut tx, channel, &target, &post, now).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The audit record of a batch: a lone review is its own record (actor the cashier, subject
/// the transaction); under load, one record lists every review of the batch, each with its
/// actor and transaction, so the chain grows by one hash per transaction, not per review.
fn audit_of(batch: &[Recorded]) -> AuditText {
    if let [one] = batch {
        return one.audit.clone();
    }
    let mut detail = String::with_capacity(16 + batch.iter().map(|r| r.audit.detail.len() + 1).sum::<usize>());
    detail.push_str("{\"reviews\":[");
    for (i, recorded) in batch.iter().enumerate() {
        if i > 0 {
            detail.push(',');
        }
        detail.push_str(&recorded.audit.detail);
    }
    detail.push_str("]}");
    AuditText {
        actor: "tillpilot".into(),
        channel: "http".into(),
        kind: "review".into(),
        subject: format!("{} checkout reviews", batch.len()),
        detail,
    }
}

/// Where a decision callback goes: the outbox row's channel.
pub const CALLBACK_CHANNEL: ChannelKind = ChannelKind::Http;
