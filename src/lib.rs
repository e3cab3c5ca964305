//! Tillpilot: an operations assistant that sits beside a shop's POS and talks to its people
//! where they already are. See `ARCHITECTURE.md` in the design notes and the README.

/// mimalloc for every binary built on the library (the server, the tests, the benchmarks): a
/// review or a webhook allocates and frees many small values on every HTTP worker, and glibc's
/// allocator spent about a fifth of the review benchmark's CPU doing so.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// The vocabulary every layer speaks (see tests/architecture.rs for the layer order).
pub mod approval_token;
pub mod commands;
pub mod directory;
pub mod inbound;
pub mod message;
pub mod retry;
pub mod signature;

pub mod accounting;
pub mod app;
pub mod channels;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod domain;
pub mod error;
pub mod forecast;
pub mod http;
pub mod jobs;
pub mod llm;
pub mod nlu;
pub mod pos;
pub mod progress;
pub mod store;
pub mod telemetry;
pub mod workflows;
