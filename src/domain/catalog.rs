//! Locations, catalog items with their variations, categories, and vendors with their terms.

use super::ids::{CategoryId, ItemId, LocationId, VariationId, VendorId};
use super::money::Money;
use super::quantity::Quantity;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub id: LocationId,
    pub name: String,
    pub timezone: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
}

/// A product as the shop thinks of it ("Organic Oat Milk 1L", "Crew T-Shirt").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    pub name: String,
    pub category_id: Option<CategoryId>,
    pub variations: Vec<Variation>,
}

/// What is actually sold and counted: one size, colour or pack of an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variation {
    pub id: VariationId,
    pub item_id: ItemId,
    /// The variation's own name ("Large, Blue"); "Regular" when the item has only one.
    pub name: String,
    pub sku: Option<String>,
    pub price: Money,
    /// Below or at this many on hand, the POS (and we) call the stock low.
    pub low_stock_at: Option<Quantity>,
}

impl Item {
    /// The name to show for one of this item's variations: "Crew T-Shirt (Large, Blue)".
    pub fn display_name(&self, variation: &Variation) -> String {
        if self.variations.len() <= 1 || variation.name.is_empty() || variation.name == "Regular" {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, variation.name)
        }
    }
}

/// The shop's catalog as read from the POS.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub categories: Vec<Category>,
    pub items: Vec<Item>,
}

impl Catalog {
    pub fn item(&self, id: &ItemId) -> Option<&Item> {
        self.items.iter().find(|i| &i.id == id)
    }

    pub fn variation(&self, id: &VariationId) -> Option<(&Item, &Variation)> {
        self.items.iter().find_map(|item| item.variations.iter().find(|v| &v.id == id).map(|v| (item, v)))
    }

    pub fn category_name(&self, id: &CategoryId) -> Option<&str> {
        self.categories.iter().find(|c| &c.id == id).map(|c| c.name.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vendor {
    pub id: VendorId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Days from sending a purchase order to the goods being on the shelf.
    pub lead_time_days: u32,
    /// The smallest order the vendor accepts, in money.
    pub minimum_order: Money,
}

/// What a vendor charges for one variation and how it ships.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorItem {
    pub vendor_id: VendorId,
    pub variation_id: VariationId,
    pub unit_cost: Money,
    /// Units per case; orders are rounded up to whole cases.
    pub pack_size: u32,
    /// The smallest number of units the vendor ships of this variation.
    pub minimum_quantity: u32,
    /// Cheaper unit costs from a quantity up, `(from units, unit cost)` ascending; empty when
    /// the vendor has one price.
    #[serde(default)]
    pub price_tiers: Vec<(u32, Money)>,
    /// The vendor's own code for the item (their SKU), printed on the order they get.
    #[serde(default)]
    pub vendor_sku: Option<String>,
}
