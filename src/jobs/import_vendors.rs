//! `tillpilot import vendors FILE.csv`: the shop's vendors and what each supplies, for a POS
//! that keeps no vendor records (Clover, Shopify) or to correct one that does. The same terms
//! as `[[vendors]]` in the configuration, from a spreadsheet; the configuration wins for a
//! vendor named in both. Importing again replaces what the last import brought.
//!
//! The file: a header row, then one row per item a vendor supplies; columns in any order
//! (names are case-insensitive):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `vendor` | yes | the vendor's name; rows with the same name are one vendor |
//! | `lead_time_days` | yes, on a vendor's first row | days from sending an order to goods on the shelf |
//! | `email` | no | where purchase orders go |
//! | `minimum_order` | no | the smallest order the vendor takes, in major units |
//! | `order_days` | no | the weekdays the vendor takes orders: `mon thu` (any day) |
//! | `budget` | no | the most one purchase order to the vendor may cost, in major units |
//! | `sku` | yes | the item's SKU in the POS |
//! | `vendor_sku` | no | the vendor's own code for the item |
//! | `unit_cost` | yes | cost per unit in major units |
//! | `pack_size` | no | units per case (1) |
//! | `minimum_quantity` | no | the fewest units shipped (0) |
//! | `tiers` | no | cheaper costs from a quantity up: `48:2.30 96:2.10` |
//!
//! A bad row is reported with its line number and nothing is written.

use super::import::{BadRow, ImportError};
use crate::config::{PriceTierConfig, VendorConfig, VendorItemConfig};
use crate::store::{AuditEntry, now_ms};
use crate::workflows::Shop;
use crate::workflows::vendors::IMPORTED_KEY;
use serde_json::json;
use std::collections::HashMap;

const REQUIRED: [&str; 4] = ["vendor", "lead_time_days", "sku", "unit_cost"];

/// What an import brought in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VendorImport {
    pub vendors: usize,
    pub items: usize,
    /// SKUs the catalog does not have, as `(vendor, sku)`.
    pub unknown_skus: Vec<(String, String)>,
}

/// Reads the file into vendors; every bad row is reported, and then nothing is returned.
pub fn parse(input: impl std::io::Read) -> Result<Vec<VendorConfig>, ImportError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(input);
    let header: Vec<String> =
        reader.headers().map_err(|e| ImportError::Read(e.to_string()))?.iter().map(str::to_lowercase).collect();
    let missing: Vec<String> =
        REQUIRED.iter().filter(|c| !header.iter().any(|h| h == *c)).map(|c| (*c).to_owned()).collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing));
    }
    let column = |name: &str| header.iter().position(|h| h == name);
    let mut vendors: Vec<VendorConfig> = Vec::new();
    let mut bad = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Read(e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |name: &str| column(name).and_then(|i| record.get(i)).unwrap_or("").trim().to_owned();
        match row(&field, &mut vendors) {
            Ok(()) => {}
            Err(reason) => bad.push(BadRow { line, reason }),
        }
    }
    if !bad.is_empty() {
        return Err(ImportError::BadRows(bad));
    }
    crate::config::vendors::validate(&vendors).map_err(|e| ImportError::Invalid(e.to_string()))?;
    Ok(vendors)
}

fn number<T: std::str::FromStr>(text: &str, column: &str) -> Result<Option<T>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| format!("{column}: {text:?} is not a number"))
}

/// One row into its vendor (the vendor's first row names its terms; later rows may leave them
/// empty, but may not contradict them).
fn row(field: &dyn Fn(&str) -> String, vendors: &mut Vec<VendorConfig>) -> Result<(), String> {
    let name = field("vendor");
    if name.is_empty() {
        return Err("vendor: a row needs the vendor's name".into());
    }
    let sku = field("sku");
    if sku.is_empty() {
        return Err("sku: a row needs the item's SKU in the POS".into());
    }
    let unit_cost: f64 = number(&field("unit_cost"), "unit_cost")?.ok_or("unit_cost: a row needs the cost per unit")?;
    let lead: Option<u32> = number(&field("lead_time_days"), "lead_time_days")?;
    let minimum: Option<f64> = number(&field("minimum_order"), "minimum_order")?;
    let email = Some(field("email")).filter(|e| !e.is_empty());
    let budget: Option<f64> = number(&field("budget"), "budget")?;
    let order_days: Vec<String> =
        field("order_days").split([' ', ';', ',', '/']).filter(|d| !d.is_empty()).map(str::to_lowercase).collect();
    if let Some(day) = order_days.iter().find(|d| d.parse::<chrono::Weekday>().is_err()) {
        return Err(format!("order_days: {day:?} is not a weekday (mon, tue, ... sun)"));
    }
    let mut tiers = Vec::new();
    for pair in field("tiers").split([' ', ';', ',']).filter(|p| !p.is_empty()) {
        let (from, cost) = pair.split_once(':').ok_or_else(|| format!("tiers: {pair:?} is not QUANTITY:COST"))?;
        let from: u32 = number(from, "tiers")?.ok_or("tiers: a tier needs its quantity")?;
        let unit_cost: f64 = number(cost, "tiers")?.ok_or("tiers: a tier needs its cost")?;
        tiers.push(PriceTierConfig { from, unit_cost });
    }
    let item = VendorItemConfig {
        sku,
        vendor_sku: Some(field("vendor_sku")).filter(|s| !s.is_empty()),
        unit_cost,
        pack_size: number(&field("pack_size"), "pack_size")?.unwrap_or(1),
        minimum_quantity: number(&field("minimum_quantity"), "minimum_quantity")?.unwrap_or(0),
        tiers,
    };
    match vendors.iter_mut().find(|v| v.name.eq_ignore_ascii_case(&name)) {
        Some(vendor) => {
            if lead.is_some_and(|l| l != vendor.lead_time_days) {
                return Err(format!("lead_time_days: {name} already has {} days", vendor.lead_time_days));
            }
            if email.is_some() && vendor.email.is_some() && email != vendor.email {
                return Err(format!("email: {name} already has {}", vendor.email.clone().unwrap_or_default()));
            }
            if !order_days.is_empty() && !vendor.order_days.is_empty() && order_days != vendor.order_days {
                return Err(format!("order_days: {name} already has {}", vendor.order_days.join(" ")));
            }
            if budget.is_some() && vendor.budget.is_some() && budget != vendor.budget {
                return Err(format!("budget: {name} already has {:.2}", vendor.budget.unwrap_or_default()));
            }
            if vendor.items.iter().any(|i| i.sku.eq_ignore_ascii_case(&item.sku)) {
                return Err(format!("sku: {} is listed twice for {name}", item.sku));
            }
            vendor.email = vendor.email.take().or(email);
            vendor.budget = vendor.budget.or(budget);
            if vendor.order_days.is_empty() {
                vendor.order_days = order_days;
            }
            vendor.items.push(item);
        }
        None => vendors.push(VendorConfig {
            name,
            email,
            phone: None,
            lead_time_days: lead.ok_or("lead_time_days: a vendor's first row needs its lead time")?,
            minimum_order: minimum.unwrap_or(0.0),
            order_days,
            budget,
            items: vec![item],
        }),
    }
    Ok(())
}

/// Reads the file and keeps its vendors in the database (replacing an earlier import), audited.
pub async fn import_vendors(app: &Shop, input: impl std::io::Read) -> Result<VendorImport, ImportError> {
    let vendors = parse(input)?;
    let catalog = &app.catalog().catalog;
    let known: HashMap<String, ()> = catalog
        .items
        .iter()
        .flat_map(|i| i.variations.iter())
        .filter_map(|v| v.sku.as_ref().map(|s| (s.trim().to_lowercase(), ())))
        .collect();
    let unknown_skus: Vec<(String, String)> = vendors
        .iter()
        .flat_map(|v| v.items.iter().map(move |i| (v.name.clone(), i.sku.clone())))
        .filter(|(_, sku)| !known.contains_key(&sku.trim().to_lowercase()))
        .collect();
    let items = vendors.iter().map(|v| v.items.len()).sum();
    let json = serde_json::to_string(&vendors).map_err(|e| ImportError::Read(e.to_string()))?;
    let mut tx = app.store.begin().await?;
    app.store.set_meta(&mut tx, IMPORTED_KEY, &json).await?;
    let names: Vec<&str> = vendors.iter().map(|v| v.name.as_str()).collect();
    app.store
        .audit(
            &mut tx,
            &AuditEntry {
                actor: "cli".into(),
                channel: "import".into(),
                kind: "vendors.imported".into(),
                subject: format!("{} vendors", vendors.len()),
                detail: json!({ "vendors": names, "items": items, "unknown_skus": unknown_skus.len(), "at_ms": now_ms() }),
            },
        )
        .await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(VendorImport { vendors: vendors.len(), items, unknown_skus })
}
