//! Background and batch work: durable webhook intake, the inbox worker that applies it, and
//! pulling the POS into the mirror.

pub mod import;
pub mod import_vendors;
pub mod inbox_worker;
pub mod intake;
pub mod outbox_worker;
pub mod scheduler;
pub mod slack_socket;
pub mod sync;
pub mod telegram_polling;

/// Between two passes of a queue worker: none when the last pass found work, else a pause of
/// `idle` that `stop` cuts short. False once the worker should stop.
pub async fn next_pass(busy: bool, idle: std::time::Duration, stop: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    if !busy {
        tokio::select! {
            _ = tokio::time::sleep(idle) => {}
            _ = stop.changed() => {}
        }
    }
    !*stop.borrow()
}
