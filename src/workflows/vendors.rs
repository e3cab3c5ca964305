//! The vendors reorder orders from: what the POS knows (the mirror) with the configured
//! `[[vendors]]` merged over it. A configured vendor with the name of one the POS knows updates
//! it (contact, lead time, minimum); a configured item replaces the POS's terms for that item,
//! so the owner's word wins where the two disagree.

use crate::config::VendorConfig;
use crate::domain::{Catalog, Money, Vendor, VendorId, VendorItem};

/// How the id of a vendor known only from the configuration begins (no POS knows it).
pub const CONFIG_PREFIX: &str = "config:";

/// Where `tillpilot import vendors` keeps the vendors it read (the `meta` table, as JSON).
pub const IMPORTED_KEY: &str = "vendors.imported";

/// The vendors and terms to order from: the mirror's (what the POS knows) with the shop's own
/// word merged over them (see `configured`), and the configured SKUs the catalog lacks.
pub async fn to_order_from(
    app: &crate::workflows::Shop,
) -> Result<(Vec<Vendor>, Vec<VendorItem>, UnknownSkus), crate::store::StoreError> {
    let (vendors, terms) = app.store.mirror_vendors().await?;
    let configured = configured(app).await?;
    Ok(merge(&configured, &app.catalog().catalog, vendors, terms))
}

/// The shop's own word on its vendors: `[[vendors]]` from the configuration, then the imported
/// ones it does not name (the configuration wins for a vendor in both).
pub async fn configured(app: &crate::workflows::Shop) -> Result<Vec<VendorConfig>, crate::store::StoreError> {
    let mut vendors = app.config.vendors.clone();
    if let Some(json) = app.store.meta(IMPORTED_KEY).await? {
        let imported: Vec<VendorConfig> = serde_json::from_str(&json)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("{IMPORTED_KEY}: {e}")))?;
        for vendor in imported {
            if !vendors.iter().any(|v| v.name.eq_ignore_ascii_case(&vendor.name)) {
                vendors.push(vendor);
            }
        }
    }
    Ok(vendors)
}

/// Configured SKUs the catalog does not have, as `(vendor, sku)`.
pub type UnknownSkus = Vec<(String, String)>;

pub fn merge(
    configured: &[VendorConfig],
    catalog: &Catalog,
    mut vendors: Vec<Vendor>,
    mut terms: Vec<VendorItem>,
) -> (Vec<Vendor>, Vec<VendorItem>, UnknownSkus) {
    let mut unknown = Vec::new();
    for config in configured {
        let existing = vendors.iter_mut().find(|v| v.name.eq_ignore_ascii_case(config.name.trim()));
        let id = match existing {
            Some(vendor) => {
                vendor.email = config.email.clone().or(vendor.email.take());
                vendor.phone = config.phone.clone().or(vendor.phone.take());
                vendor.lead_time_days = config.lead_time_days;
                vendor.minimum_order = money(config.minimum_order);
                vendor.id.clone()
            }
            None => {
                let id = VendorId::new(format!("{CONFIG_PREFIX}{}", slug(&config.name)));
                vendors.push(Vendor {
                    id: id.clone(),
                    name: config.name.trim().to_owned(),
                    email: config.email.clone(),
                    phone: config.phone.clone(),
                    lead_time_days: config.lead_time_days,
                    minimum_order: money(config.minimum_order),
                });
                id
            }
        };
        for item in &config.items {
            let variations: Vec<_> = catalog
                .items
                .iter()
                .flat_map(|i| i.variations.iter())
                .filter(|v| v.sku.as_deref().is_some_and(|s| s.trim().eq_ignore_ascii_case(item.sku.trim())))
                .map(|v| v.id.clone())
                .collect();
            if variations.is_empty() {
                unknown.push((config.name.clone(), item.sku.clone()));
            }
            for variation_id in variations {
                terms.retain(|t| t.variation_id != variation_id);
                terms.push(VendorItem {
                    vendor_id: id.clone(),
                    variation_id,
                    unit_cost: money(item.unit_cost),
                    pack_size: item.pack_size.max(1),
                    minimum_quantity: item.minimum_quantity,
                    price_tiers: item.tiers.iter().map(|t| (t.from, money(t.unit_cost))).collect(),
                });
            }
        }
    }
    (vendors, terms, unknown)
}

fn money(major: f64) -> Money {
    Money::from_minor((major * 100.0).round() as i64)
}

fn slug(name: &str) -> String {
    let words: Vec<String> =
        name.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    words.join("-")
}
