//! The shop's vocabulary: locations, catalog, stock, orders, customers and the people who run
//! the shop. These types are what every POS connector maps into and every workflow reads.
//!
//! Money is always integer minor units; quantities are fixed-point decimals because some POS
//! systems sell by weight; ids are typed so an item id can never be passed where a variation id
//! is expected.

pub mod catalog;
pub mod clock;
pub mod customer;
mod decimal;
pub mod gift_card;
pub mod ids;
pub mod inventory;
pub mod money;
pub mod order;
pub mod payment;
pub mod person;
pub mod phone;
pub mod purchase;
pub mod quantity;

pub use catalog::{Catalog, Category, Item, Location, Variation, Vendor, VendorItem};
pub use clock::{Clock, FixedClock, SystemClock};
pub use customer::Customer;
pub use gift_card::GiftCardActivity;
pub use ids::{CategoryId, CustomerId, ItemId, LocationId, OrderId, VariationId, VendorId};
pub use inventory::{StockLevel, StockState};
pub use money::Money;
pub use order::{Fulfilment, FulfilmentKind, FulfilmentState, Order, OrderLine, OrderState, Sale};
pub use payment::{Payment, PaymentStatus, Tender};
pub use person::{Person, Role};
pub use phone::Phone;
pub use purchase::{Receipt, SupplierOrder, SupplierOrderLine};
pub use quantity::Quantity;
