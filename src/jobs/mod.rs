//! Background and batch work: durable webhook intake, the inbox worker that applies it, and
//! pulling the POS into the mirror.

pub mod import;
pub mod inbox_worker;
pub mod intake;
pub mod outbox_worker;
pub mod scheduler;
pub mod slack_socket;
pub mod sync;
pub mod telegram_polling;
