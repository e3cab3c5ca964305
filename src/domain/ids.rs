//! Typed identifiers. Each wraps the POS's own opaque id string.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

typed_id!(
    /// A shop location (a till, a store front, a warehouse).
    LocationId
);
typed_id!(
    /// A catalog item ("T-Shirt"), the parent of one or more variations.
    ItemId
);
typed_id!(
    /// A sellable variation ("T-Shirt, Large, Blue"); stock is counted per variation.
    VariationId
);
typed_id!(
    /// A catalog category ("Dairy & Alternatives").
    CategoryId
);
typed_id!(
    /// A supplier the shop orders stock from.
    VendorId
);
typed_id!(
    /// The POS's internal order id (not the number a customer sees).
    OrderId
);
typed_id!(
    /// A customer record in the POS.
    CustomerId
);
