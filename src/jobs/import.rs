//! `tillpilot import sales FILE.csv`: past sales into the mirror, so forecasting starts with
//! the shop's history instead of waiting a year for it.
//!
//! The file: a header row, then one row per sold line; columns in any order (names are
//! case-insensitive):
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `timestamp` | yes | RFC 3339 (`2026-03-01T10:15:00-06:00`), or `YYYY-MM-DD HH:MM:SS` in the shop's time zone |
//! | `order_id` | yes | the sale's id; rows with the same id are one order |
//! | `location` | yes | a location's id or name; unknown ones are created |
//! | `sku` | yes | the variation's SKU; unknown ones are created as new items |
//! | `item_name` | yes | the name for a new item |
//! | `category` | yes (may be empty) | the category for a new item; unknown ones are created |
//! | `quantity` | yes | units sold, a positive decimal (`2`, `0.75` for weighed goods) |
//! | `unit_price` | yes | price per unit in major units (`4.99`) |
//! | `discount` | no | discount on the line in major units |
//! | `customer_id` | no | the customer's id at the POS |
//!
//! Bad rows are reported with their line numbers and nothing is written, unless `--skip-bad`
//! (then the good rows go in and the bad ones are listed). Orders are keyed `import:<order_id>`
//! and an order already imported is left as it is, so importing the same file twice adds
//! nothing.

use crate::domain::{
    Catalog, Category, CategoryId, CustomerId, Item, ItemId, Location, LocationId, Money, Order, OrderId, OrderLine,
    OrderState, Quantity, Variation, VariationId,
};
use crate::store::{AuditEntry, StoreError, now_ms};
use crate::workflows::Shop;
use chrono::TimeZone;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

const REQUIRED: [&str; 8] =
    ["timestamp", "order_id", "location", "sku", "item_name", "category", "quantity", "unit_price"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub rows: usize,
    pub orders_added: usize,
    pub orders_already_imported: usize,
    pub items_created: usize,
    pub locations_created: usize,
    pub skipped: Vec<BadRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file could not be read: {0}")]
    Read(String),
    #[error("the header is missing {}", .0.join(", "))]
    MissingColumns(Vec<String>),
    #[error("{} bad rows; nothing was imported (use --skip-bad to import the rest):\n{}", .0.len(), render(.0))]
    BadRows(Vec<BadRow>),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn render(rows: &[BadRow]) -> String {
    rows.iter().take(50).map(|r| format!("  line {}: {}", r.line, r.reason)).collect::<Vec<_>>().join("\n")
}

struct Row {
    line: u64,
    at_ms: i64,
    order_id: String,
    location: String,
    sku: String,
    item_name: String,
    category: String,
    quantity: Quantity,
    unit_price: Money,
    discount: Money,
    customer_id: Option<String>,
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

fn parse_time(text: &str, timezone: chrono_tz::Tz) -> Result<i64, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(at.timestamp_millis());
    }
    let local = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .map_err(|_| format!("timestamp {text:?} is neither RFC 3339 nor YYYY-MM-DD HH:MM:SS"))?;
    // A time skipped by a daylight-saving change does not exist; an ambiguous one takes the first.
    timezone
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp_millis())
        .ok_or_else(|| format!("{text} does not exist in {timezone} (a daylight-saving gap)"))
}

fn parse_row(
    record: &csv::StringRecord,
    columns: &HashMap<String, usize>,
    timezone: chrono_tz::Tz,
) -> Result<Row, String> {
    let get = |name: &str| columns.get(name).and_then(|i| record.get(*i)).map(str::trim).unwrap_or_default();
    let required = |name: &str| {
        let value = get(name);
        if value.is_empty() { Err(format!("{name} is empty")) } else { Ok(value.to_owned()) }
    };
    let quantity =
        Quantity::parse(get("quantity")).ok_or_else(|| format!("quantity {:?} is not a number", get("quantity")))?;
    if quantity.milli() <= 0 {
        return Err(format!("quantity {:?} must be more than zero", get("quantity")));
    }
    let money = |name: &str, optional: bool| -> Result<Money, String> {
        let text = get(name);
        if text.is_empty() && optional {
            return Ok(Money::ZERO);
        }
        let value = Money::parse_major(text).ok_or_else(|| format!("{name} {text:?} is not an amount"))?;
        if value.minor() < 0 { Err(format!("{name} {text:?} is negative")) } else { Ok(value) }
    };
    Ok(Row {
        line: record.position().map_or(0, csv::Position::line),
        at_ms: parse_time(&required("timestamp")?, timezone)?,
        order_id: required("order_id")?,
        location: required("location")?,
        sku: required("sku")?,
        item_name: required("item_name")?,
        category: get("category").to_owned(),
        quantity,
        unit_price: money("unit_price", false)?,
        discount: money("discount", true)?,
        customer_id: Some(get("customer_id").to_owned()).filter(|c| !c.is_empty()),
    })
}

/// Reads and checks every row; writes only when all are good (or `skip_bad`).
pub async fn import_sales(app: &Shop, input: impl std::io::Read, skip_bad: bool) -> Result<ImportReport, ImportError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(input);
    let headers = reader.headers().map_err(|e| ImportError::Read(e.to_string()))?.clone();
    let columns: HashMap<String, usize> =
        headers.iter().enumerate().map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_lowercase(), i)).collect();
    let missing: Vec<String> =
        REQUIRED.iter().filter(|c| !columns.contains_key(**c)).map(|c| (*c).to_owned()).collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing));
    }
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => match parse_row(&record, &columns, app.timezone) {
                Ok(row) => rows.push(row),
                Err(reason) => bad.push(BadRow { line: record.position().map_or(0, csv::Position::line), reason }),
            },
            Err(err) => {
                bad.push(BadRow { line: err.position().map_or(0, csv::Position::line), reason: err.to_string() })
            }
        }
    }
    // One order, one location.
    let mut order_location: HashMap<&str, &str> = HashMap::new();
    let mut split = Vec::new();
    for row in &rows {
        let first = *order_location.entry(&row.order_id).or_insert(&row.location);
        if first != row.location {
            split.push(BadRow {
                line: row.line,
                reason: format!("order {} is at {first} on an earlier line", row.order_id),
            });
        }
    }
    if !split.is_empty() {
        let lines: Vec<u64> = split.iter().map(|b| b.line).collect();
        rows.retain(|r| !lines.contains(&r.line));
        bad.extend(split);
    }
    bad.sort_by_key(|b| b.line);
    if !bad.is_empty() && !skip_bad {
        return Err(ImportError::BadRows(bad));
    }
    let mut report = ImportReport { rows: rows.len(), skipped: bad, ..ImportReport::default() };
    write(app, rows, &mut report).await?;
    Ok(report)
}

async fn write(app: &Shop, rows: Vec<Row>, report: &mut ImportReport) -> Result<(), StoreError> {
    let store = &app.store;
    let known_locations = store.mirror_locations().await?;
    let catalog = store.mirror_catalog().await?;
    let mut new_locations: BTreeMap<String, Location> = BTreeMap::new();
    let mut location_of = |text: &str| -> LocationId {
        if let Some(l) = known_locations.iter().find(|l| l.id.as_str() == text || l.name.eq_ignore_ascii_case(text)) {
            return l.id.clone();
        }
        let id = LocationId::new(format!("loc-{}", slug(text)));
        new_locations.entry(text.to_lowercase()).or_insert_with(|| Location {
            id: id.clone(),
            name: text.to_owned(),
            timezone: app.timezone.name().to_owned(),
        });
        id
    };
    let mut new_categories: BTreeMap<String, Category> = BTreeMap::new();
    let mut new_items: BTreeMap<String, Item> = BTreeMap::new();
    let mut orders: BTreeMap<String, Order> = BTreeMap::new();
    for row in &rows {
        let location_id = location_of(&row.location);
        let known =
            catalog.items.iter().flat_map(|i| i.variations.iter()).find(|v| v.sku.as_deref() == Some(row.sku.as_str()));
        let variation_id = match known {
            Some(v) => v.id.clone(),
            None => {
                let item = new_items.entry(row.sku.clone()).or_insert_with(|| {
                    let category_id = (!row.category.is_empty()).then(|| {
                        let existing = catalog.categories.iter().find(|c| c.name.eq_ignore_ascii_case(&row.category));
                        match existing {
                            Some(c) => c.id.clone(),
                            None => new_categories
                                .entry(row.category.to_lowercase())
                                .or_insert_with(|| Category {
                                    id: CategoryId::new(format!("cat-{}", slug(&row.category))),
                                    name: row.category.clone(),
                                })
                                .id
                                .clone(),
                        }
                    });
                    let id = format!("sku-{}", slug(&row.sku));
                    Item {
                        id: ItemId::new(&id),
                        name: row.item_name.clone(),
                        category_id,
                        variations: vec![Variation {
                            id: VariationId::new(&id),
                            item_id: ItemId::new(&id),
                            name: "Regular".into(),
                            sku: Some(row.sku.clone()),
                            price: row.unit_price,
                            low_stock_at: None,
                        }],
                    }
                });
                item.variations[0].id.clone()
            }
        };
        let order = orders.entry(row.order_id.clone()).or_insert_with(|| Order {
            id: OrderId::new(format!("import:{}", row.order_id)),
            number: row.order_id.clone(),
            location_id: location_id.clone(),
            customer_id: row.customer_id.as_ref().map(CustomerId::new),
            created_at_ms: row.at_ms,
            state: OrderState::Completed,
            lines: Vec::new(),
            total: Money::ZERO,
            discount: Money::ZERO,
            refunded: Money::ZERO,
            fulfilment: None,
        });
        let line = OrderLine {
            variation_id: Some(variation_id),
            name: row.item_name.clone(),
            quantity: row.quantity,
            unit_price: row.unit_price,
            discount: row.discount,
        };
        order.created_at_ms = order.created_at_ms.min(row.at_ms);
        order.total += line.gross() - line.discount;
        order.discount += line.discount;
        order.lines.push(line);
    }
    let ids: Vec<String> = orders.values().map(|o| o.id.0.clone()).collect();
    let existing = store.existing_order_ids(&ids).await?;
    let fresh: Vec<Order> = orders.into_values().filter(|o| !existing.contains(&o.id.0)).collect();
    report.orders_added = fresh.len();
    report.orders_already_imported = existing.len();
    report.items_created = new_items.len();
    report.locations_created = new_locations.len();
    let mut tx = store.begin().await?;
    let now = now_ms();
    store.save_locations(&mut tx, &new_locations.into_values().collect::<Vec<_>>()).await?;
    let catalog =
        Catalog { categories: new_categories.into_values().collect(), items: new_items.into_values().collect() };
    store.save_catalog(&mut tx, &catalog, now).await?;
    for chunk in fresh.chunks(500) {
        store.save_orders(&mut tx, chunk, now).await?;
    }
    store
        .audit(&mut tx, &AuditEntry {
            actor: "tillpilot".into(),
            channel: "cli".into(),
            kind: "import.sales".into(),
            subject: String::new(),
            detail: json!({ "rows": report.rows, "orders_added": report.orders_added,
                "orders_already_imported": report.orders_already_imported, "items_created": report.items_created,
                "locations_created": report.locations_created, "skipped_lines": report.skipped.iter().map(|b| b.line).collect::<Vec<_>>() }),
        })
        .await?;
    tx.commit().await?;
    Ok(())
}
