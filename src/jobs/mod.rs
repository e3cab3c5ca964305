//! Background and batch work: pulling the POS into the local mirror.

pub mod sync;
