//! Durable webhook intake with group commit. Handlers hand verified events to one writer task
//! and wait; the writer takes everything queued at that moment, records it in one transaction,
//! and only then releases the handlers to answer 2xx. Under a burst, one disk flush covers many
//! events; at a trickle, the writer lingers a few milliseconds for company. Nothing is
//! acknowledged before it is durable.

use crate::inbound::WebhookEvent;
use crate::store::{Store, now_ms};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Events per transaction at most, so one commit stays short.
const MAX_BATCH: usize = 512;

/// Once an event arrives, the writer keeps collecting while more keep coming (each within
/// `GAP` of the last) for at most `LINGER`: a few milliseconds of ack latency buy several
/// events per disk flush at a steady trickle, and a burst is written as soon as it stops.
const LINGER: std::time::Duration = std::time::Duration::from_millis(6);
const GAP: std::time::Duration = std::time::Duration::from_micros(1_500);
const LINGER_BELOW: usize = 16;

type Ack = oneshot::Sender<Result<usize, String>>;

#[derive(Clone)]
pub struct Intake {
    queue: mpsc::Sender<(Vec<WebhookEvent>, Ack)>,
    commits: Arc<AtomicU64>,
}

impl Intake {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> Intake {
        let (queue, mut receiver) = mpsc::channel::<(Vec<WebhookEvent>, Ack)>(4 * MAX_BATCH);
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let linger_until = tokio::time::Instant::now() + LINGER;
                let mut batch = vec![first];
                let mut size = batch[0].0.len();
                while size < MAX_BATCH {
                    let next = match receiver.try_recv() {
                        Ok(next) => Some(next),
                        // A batch that is already large is written at once: lingering pays only
                        // when events trickle in.
                        Err(mpsc::error::TryRecvError::Empty) if size >= LINGER_BELOW => None,
                        Err(mpsc::error::TryRecvError::Empty) => {
                            let until = linger_until.min(tokio::time::Instant::now() + GAP);
                            tokio::time::timeout_at(until, receiver.recv()).await.ok().flatten()
                        }
                        Err(mpsc::error::TryRecvError::Disconnected) => None,
                    };
                    let Some(next) = next else { break };
                    size += next.0.len();
                    batch.push(next);
                }
                let result = write(&store, &batch).await;
                counter.fetch_add(1, Ordering::Relaxed);
                for ((_, ack), outcome) in batch.into_iter().zip(result) {
                    let _ = ack.send(outcome);
                }
            }
        });
        Intake { queue, commits }
    }

    /// Transactions committed so far (each is one disk flush), for the intake benchmark.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Records `events` durably; `Ok(n)` once committed, with `n` the ones not seen before.
    pub async fn submit(&self, events: Vec<WebhookEvent>) -> Result<usize, String> {
        let (ack, done) = oneshot::channel();
        self.queue.send((events, ack)).await.map_err(|_| "the intake writer has stopped".to_owned())?;
        done.await.map_err(|_| "the intake writer has stopped".to_owned())?
    }
}

/// Writes a batch in one transaction; every submitter gets the same outcome on failure.
async fn write(store: &Store, batch: &[(Vec<WebhookEvent>, Ack)]) -> Vec<Result<usize, String>> {
    let all: Vec<WebhookEvent> = batch.iter().flat_map(|(events, _)| events.iter().cloned()).collect();
    let attempt = async {
        let mut tx = store.begin().await?;
        let new = store.receive_events(&mut tx, &all, now_ms()).await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok::<_, crate::store::StoreError>(new)
    };
    match attempt.await {
        Ok(new) => {
            let mut new: std::collections::HashSet<String> = new.into_iter().collect();
            // Each new event counts for the first submitter that carried it.
            batch.iter().map(|(events, _)| Ok(events.iter().filter(|e| new.remove(&e.event_id)).count())).collect()
        }
        Err(err) => {
            tracing::error!(error = %err, "could not record webhook events");
            batch.iter().map(|_| Err(err.to_string())).collect()
        }
    }
}
