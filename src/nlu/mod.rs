//! Understanding free text without an LLM: a text normaliser, a product index that tolerates
//! typos, plurals, word order and partial names, extractors for order numbers and locations,
//! and an intent classifier trained at start from the commands' examples.

pub mod classifier;
pub mod entities;
pub mod products;
pub mod text;

pub use classifier::{IntentClassifier, IntentScore};
pub use entities::{CustomerRef, Entities, LocationMatch, extract_locations, extract_order_numbers};
pub use products::{ProductIndex, ProductMatch, ProductResolution};
