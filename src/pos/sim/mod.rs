//! The simulated shop: a full `Pos` over a deterministic generator (ARCHITECTURE.md section 9).
//!
//! Contract: the same seed and anchor day always give the same shop: about two hundred items
//! (some 250 variations with sizes, colours and flavours) in realistic categories, two
//! locations, a year of in-store sales with weekly and yearly seasonality, slow and intermittent movers, a price change, a stock-out, a
//! planted anomaly, vendors with lead times and minimums, customers with phone numbers, and
//! online orders in every fulfilment state. It is what `tillpilot demo` talks to, and the
//! reference implementation the POS conformance tests compare connectors against.

mod catalog_data;
mod generator;
pub mod payments;
mod people;
mod shop;

pub use generator::{Rng, SimOptions, generate};
pub use people::{DemoPerson, demo_people, demo_team};
pub use shop::{PlantedAnomaly, SimPos, SimShop};
