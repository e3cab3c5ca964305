//! Durable webhook intake with group commit. Handlers hand verified events to one writer task
//! and wait; the writer takes everything queued at that moment, records it in one transaction,
//! and only then releases the handlers to answer 2xx. Under a burst, one disk flush covers many
//! events; when quiet, each event commits at once. Nothing is acknowledged before it is durable.

use crate::pos::webhook::WebhookEvent;
use crate::store::{Store, now_ms};
use tokio::sync::{mpsc, oneshot};

/// Events per transaction at most, so one commit stays short.
const MAX_BATCH: usize = 512;

type Ack = oneshot::Sender<Result<usize, String>>;

#[derive(Clone)]
pub struct Intake {
    queue: mpsc::Sender<(Vec<WebhookEvent>, Ack)>,
}

impl Intake {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> Intake {
        let (queue, mut receiver) = mpsc::channel::<(Vec<WebhookEvent>, Ack)>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut batch = vec![first];
                let mut size = batch[0].0.len();
                while size < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(next) => {
                            size += next.0.len();
                            batch.push(next);
                        }
                        Err(_) => break,
                    }
                }
                let result = write(&store, &batch).await;
                for ((_, ack), outcome) in batch.into_iter().zip(result) {
                    let _ = ack.send(outcome);
                }
            }
        });
        Intake { queue }
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
    let attempt = async {
        let mut tx = store.begin().await?;
        let mut counts = Vec::with_capacity(batch.len());
        for (events, _) in batch {
            counts.push(store.receive_events(&mut tx, events, now_ms()).await?);
        }
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok::<_, crate::store::StoreError>(counts)
    };
    match attempt.await {
        Ok(counts) => counts.into_iter().map(Ok).collect(),
        Err(err) => {
            tracing::error!(error = %err, "could not record webhook events");
            batch.iter().map(|_| Err(err.to_string())).collect()
        }
    }
}
