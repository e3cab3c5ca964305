//! Tillpilot: an operations assistant that sits beside a shop's POS and talks to its people
//! where they already are. See `ARCHITECTURE.md` in the design notes and the README.

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
