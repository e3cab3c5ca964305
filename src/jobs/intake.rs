//! Durable webhook intake with group commit. Handlers hand verified events to one writer task
//! and wait; the writer records everything queued in one transaction and only after the commit
//! releases the handlers to answer 2xx. Nothing is acknowledged before it is durable.
//!
//! The writer is a pipeline with no timers: while one transaction is being written and synced,
//! it keeps taking what arrives into the next batch, and the moment the commit returns it
//! answers that batch and starts writing the next. At a trickle an event is written at once
//! (the disk is idle, waiting would only add latency); under load each batch is whatever
//! arrived during the previous commit, so one disk flush covers as many events as the load
//! brings and the disk is never idle while events wait.
//!
//! The writer runs on a thread of its own with a database connection of its own, so that its
//! wake-ups do not queue behind the HTTP tasks of the server's runtime, where a busy worker
//! looks at woken outside tasks and at the I/O driver only every few dozen polls. On a SQLite
//! file it writes on that thread directly (`store::inbox_writer`), with no hop to a driver
//! thread; otherwise (PostgreSQL, an in-memory database) it runs a runtime of its own there,
//! whose only task is the writer, so PostgreSQL's socket turning readable is seen at once.
//!
//! There is one writer on both backends. SQLite has a single write lock, and a second writer
//! would only sleep in its busy handler. On PostgreSQL a second one could overlap its inserts
//! with the first one's commit, but inbox ids would then no longer follow arrival order, which
//! the inbox worker relies on to apply one object's events in the order they came.

use crate::inbound::WebhookEvent;
use crate::store::inbox_writer::SqliteInbox;
use crate::store::{Store, now_ms};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Events per transaction at most, so one commit stays short.
const MAX_BATCH: usize = 512;

/// A batch at least this large means the shop's POS is sending as fast as it is answered.
const BUSY: usize = 8;

/// Under load, how long the writer waits after a commit for the senders it just answered to
/// come back, so that their next deliveries share the next transaction instead of the one
/// after. A transaction costs about the same for 30 events as for 60 (its statements, not its
/// rows, take the time), so regrouping doubles what a flush carries; at a trickle nothing waits.
const REGROUP: std::time::Duration = std::time::Duration::from_micros(1_500);

type Ack = oneshot::Sender<Result<usize, String>>;
type Submission = (Vec<WebhookEvent>, Ack);

#[derive(Clone)]
pub struct Intake {
    queue: mpsc::Sender<Submission>,
    commits: Arc<AtomicU64>,
}

impl Intake {
    /// Starts the writer on a thread of its own, with its own connection.
    pub fn start(store: Store) -> Intake {
        let (queue, receiver) = mpsc::channel::<Submission>(4 * MAX_BATCH);
        let commits = Arc::new(AtomicU64::new(0));
        let counter = commits.clone();
        let thread = std::thread::Builder::new().name("intake-writer".into()).spawn(move || {
            match store.sqlite_inbox() {
                Some(Ok(inbox)) => return write_here(inbox, receiver, &counter),
                Some(Err(err)) => tracing::warn!(error = %err, "the intake writer goes through the connection pool"),
                None => {}
            }
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(err) => {
                    tracing::error!(error = %err, "cannot start the intake writer's runtime");
                    return;
                }
            };
            runtime.block_on(async move {
                let (store, own) = match store.dedicated(1) {
                    Ok(own) => (own, true),
                    Err(err) => {
                        tracing::warn!(error = %err, "the intake writer shares the main connection pool");
                        (store, false)
                    }
                };
                writer(&store, receiver, counter).await;
                if own {
                    store.close().await;
                }
            });
        });
        if let Err(err) = thread {
            tracing::error!(error = %err, "cannot start the intake writer; webhooks will be refused");
        }
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

/// The writer: one transaction in flight, the next batch filling meanwhile.
async fn writer(store: &Store, mut receiver: mpsc::Receiver<Submission>, commits: Arc<AtomicU64>) {
    let mut connection = None;
    let mut next: Vec<Submission> = Vec::new();
    let mut size = 0;
    let mut open = true;
    loop {
        if next.is_empty() {
            // Idle: wait for the first event; once every sender is gone, stop.
            let Some(first) = receiver.recv().await else { return };
            size += first.0.len();
            next.push(first);
        }
        while size < MAX_BATCH {
            let Ok(more) = receiver.try_recv() else { break };
            size += more.0.len();
            next.push(more);
        }
        let batch = std::mem::take(&mut next);
        let written = size;
        size = 0;
        let write = write(store, &mut connection, batch, &commits);
        tokio::pin!(write);
        loop {
            tokio::select! {
                biased;
                () = &mut write => break,
                received = receiver.recv(), if open && size < MAX_BATCH => match received {
                    Some(more) => {
                        size += more.0.len();
                        next.push(more);
                    }
                    None => open = false,
                },
            }
        }
        if written >= BUSY && open {
            // The senders just answered will send again at once: take them into this batch.
            let target = (size + written).min(MAX_BATCH);
            let deadline = tokio::time::Instant::now() + REGROUP;
            while size < target {
                match tokio::time::timeout_at(deadline, receiver.recv()).await {
                    Ok(Some(more)) => {
                        size += more.0.len();
                        next.push(more);
                    }
                    Ok(None) => {
                        open = false;
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
    }
}

/// The writer on a SQLite file: the same pipeline on this thread with a connection of its own
/// (`store::inbox_writer`), blocking while it writes; what arrives meanwhile waits in the
/// queue and is the next batch. Once a batch is answered, the log is checkpointed if due.
fn write_here(mut inbox: SqliteInbox, mut receiver: mpsc::Receiver<Submission>, commits: &AtomicU64) {
    while let Some(first) = receiver.blocking_recv() {
        let mut size = first.0.len();
        let mut batch = vec![first];
        while size < MAX_BATCH {
            let Ok(more) = receiver.try_recv() else { break };
            size += more.0.len();
            batch.push(more);
        }
        let (all, submitters) = gather(batch);
        let outcome = inbox.receive_batch(&all, now_ms());
        commits.fetch_add(1, Ordering::Relaxed);
        answer(&all, submitters, outcome);
        if let Err(err) = inbox.checkpoint_if_due() {
            tracing::warn!(error = %err, "could not checkpoint the write-ahead log; the next batch tries again");
        }
    }
}

/// Writes a batch in one transaction and answers its submitters. The writer keeps its
/// connection from batch to batch (a pool hands one out only after checking it is alive, which
/// is a round trip each time), and after a failure opens a new one for the next batch.
async fn write(
    store: &Store,
    connection: &mut Option<crate::store::Connection>,
    batch: Vec<Submission>,
    commits: &AtomicU64,
) {
    let (all, submitters) = gather(batch);
    let attempt = async {
        let conn = match connection {
            Some(conn) => conn,
            None => connection.insert(store.connection().await?),
        };
        store.receive_batch(conn, &all, now_ms()).await
    };
    let outcome = attempt.await;
    if outcome.is_err() {
        *connection = None;
    }
    commits.fetch_add(1, Ordering::Relaxed);
    answer(&all, submitters, outcome);
}

/// A batch's events in one list, and each submitter with the range of it that is theirs.
fn gather(batch: Vec<Submission>) -> (Vec<WebhookEvent>, Vec<(std::ops::Range<usize>, Ack)>) {
    let mut all = Vec::with_capacity(batch.iter().map(|(events, _)| events.len()).sum());
    let mut submitters = Vec::with_capacity(batch.len());
    for (events, ack) in batch {
        submitters.push((all.len()..all.len() + events.len(), ack));
        all.extend(events);
    }
    (all, submitters)
}

/// Answers a recorded batch's submitters: each new event counts for the first submitter that
/// carried it; on failure every submitter gets the error.
fn answer(
    all: &[WebhookEvent],
    submitters: Vec<(std::ops::Range<usize>, Ack)>,
    outcome: Result<Vec<String>, crate::store::StoreError>,
) {
    match outcome {
        Ok(new) => {
            let mut new: std::collections::HashSet<String> = new.into_iter().collect();
            for (range, ack) in submitters {
                let _ = ack.send(Ok(all[range].iter().filter(|e| new.remove(&e.event_id)).count()));
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "could not record webhook events");
            for (_, ack) in submitters {
                let _ = ack.send(Err(err.to_string()));
            }
        }
    }
}
