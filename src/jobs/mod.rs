//! Background and batch work: durable webhook intake, and pulling the POS into the mirror.

pub mod intake;
pub mod sync;
