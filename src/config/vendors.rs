//! `[[vendors]]`: the shop's suppliers as the owner knows them, for a POS that keeps no vendor
//! records (Clover, Shopify) or to correct one that does (Square). Each vendor lists what it
//! supplies by the POS's SKU; configured terms replace the POS's own for those items.
//!
//! ```toml
//! [[vendors]]
//! name = "Valley Dairy"
//! email = "orders@valleydairy.example"
//! lead_time_days = 2
//! minimum_order = 150.0
//! order_days = ["mon", "thu"]
//! budget = 800.0
//! items = [
//!     { sku = "OAT-1L", vendor_sku = "VD-0112", unit_cost = 2.10, pack_size = 12, minimum_quantity = 12 },
//! ]
//! ```

use super::{ConfigError, invalid};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VendorConfig {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Days from sending a purchase order to the goods being on the shelf.
    pub lead_time_days: u32,
    /// The smallest order the vendor accepts (major units).
    #[serde(default)]
    pub minimum_order: f64,
    /// The weekdays the vendor takes orders (`["mon", "thu"]`); any day when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_days: Vec<String>,
    /// The most one purchase order to this vendor may cost (major units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    #[serde(default)]
    pub items: Vec<VendorItemConfig>,
}

impl VendorConfig {
    /// `order_days` as weekdays (validated when the configuration is read).
    pub fn weekdays(&self) -> Vec<chrono::Weekday> {
        let mut days: Vec<chrono::Weekday> = self.order_days.iter().filter_map(|d| d.trim().parse().ok()).collect();
        days.sort_by_key(|d| d.num_days_from_monday());
        days.dedup();
        days
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VendorItemConfig {
    /// The item's SKU in the POS.
    pub sku: String,
    /// The vendor's own code for the item, printed on the order it gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_sku: Option<String>,
    /// Cost per unit (major units).
    pub unit_cost: f64,
    /// Units per case; orders are whole cases.
    #[serde(default = "one")]
    pub pack_size: u32,
    /// The fewest units the vendor ships of the item.
    #[serde(default)]
    pub minimum_quantity: u32,
    /// Cheaper unit costs from a quantity up: `[{ from = 48, unit_cost = 2.30 }]`.
    #[serde(default)]
    pub tiers: Vec<PriceTierConfig>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTierConfig {
    /// From this many units up...
    pub from: u32,
    /// ...each costs this (major units).
    pub unit_cost: f64,
}

fn one() -> u32 {
    1
}

pub fn validate(vendors: &[VendorConfig]) -> Result<(), ConfigError> {
    for (n, vendor) in vendors.iter().enumerate() {
        let key = |field: &str| format!("vendors[{n}].{field}");
        if vendor.name.trim().is_empty() {
            return Err(invalid(&key("name"), "a vendor needs a name"));
        }
        if vendors[..n].iter().any(|v| v.name.eq_ignore_ascii_case(&vendor.name)) {
            return Err(invalid(&key("name"), format!("{:?} is listed twice", vendor.name)));
        }
        if vendor.lead_time_days == 0 || vendor.lead_time_days > 365 {
            return Err(invalid(&key("lead_time_days"), "expected 1 to 365 days"));
        }
        if !(vendor.minimum_order.is_finite() && vendor.minimum_order >= 0.0) {
            return Err(invalid(&key("minimum_order"), "expected an amount of 0 or more"));
        }
        if let Some(email) = &vendor.email
            && !email.contains('@')
        {
            return Err(invalid(&key("email"), format!("{email:?} is not an email address")));
        }
        if let Some(day) = vendor.order_days.iter().find(|d| d.trim().parse::<chrono::Weekday>().is_err()) {
            return Err(invalid(&key("order_days"), format!("{day:?} is not a weekday (mon, tue, ... sun)")));
        }
        if let Some(budget) = vendor.budget
            && !(budget.is_finite() && budget > 0.0)
        {
            return Err(invalid(&key("budget"), "expected an amount above 0"));
        }
        for (i, item) in vendor.items.iter().enumerate() {
            let key = |field: &str| format!("vendors[{n}].items[{i}].{field}");
            if item.sku.trim().is_empty() {
                return Err(invalid(&key("sku"), "an item needs the SKU it has in the POS"));
            }
            if !(item.unit_cost.is_finite() && item.unit_cost > 0.0) {
                return Err(invalid(&key("unit_cost"), "expected a cost above 0"));
            }
            if item.pack_size == 0 {
                return Err(invalid(&key("pack_size"), "expected at least 1"));
            }
            let mut last = (1, item.unit_cost);
            for (t, tier) in item.tiers.iter().enumerate() {
                let key = format!("vendors[{n}].items[{i}].tiers[{t}]");
                if tier.from <= last.0 {
                    return Err(invalid(&key, format!("expected tiers from ascending quantities above {}", last.0)));
                }
                if !(tier.unit_cost.is_finite() && tier.unit_cost > 0.0 && tier.unit_cost < last.1) {
                    return Err(invalid(&key, format!("expected a unit cost above 0 and below {:.2}", last.1)));
                }
                last = (tier.from, tier.unit_cost);
            }
        }
    }
    Ok(())
}
