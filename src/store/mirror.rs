//! The local mirror of the POS: locations, catalog, stock, customers, vendors and orders.
//! Writes are idempotent upserts in batches; reads answer "last sold", "on order", and serve as
//! the fallback when the POS cannot be reached.

use super::{Store, StoreError, Tx};
use crate::domain::{Catalog, Customer, Location, Order, Quantity, StockLevel, VariationId, Vendor, VendorItem};
use std::collections::HashMap;

/// A bound value in a batched insert.
enum Param {
    Int(i64),
    Text(String),
    MaybeInt(Option<i64>),
    MaybeText(Option<String>),
}

/// Rows per statement: well under SQLite's 32,766 bound-parameter limit for our widest table.
const BATCH_ROWS: usize = 400;

async fn upsert(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    conflict: &str,
    rows: Vec<Vec<Param>>,
) -> Result<(), StoreError> {
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !conflict.split(", ").any(|k| k == **c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let on_conflict = if updates.is_empty() {
        format!("ON CONFLICT ({conflict}) DO NOTHING")
    } else {
        format!("ON CONFLICT ({conflict}) DO UPDATE SET {}", updates.join(", "))
    };
    for chunk in rows.chunks(BATCH_ROWS) {
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {} {on_conflict}",
            columns.join(", "),
            super::values_placeholders(chunk.len(), columns.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        for row in chunk {
            for param in row {
                query = match param {
                    Param::Int(v) => query.bind(*v),
                    Param::Text(v) => query.bind(v.clone()),
                    Param::MaybeInt(v) => query.bind(*v),
                    Param::MaybeText(v) => query.bind(v.clone()),
                };
            }
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

fn text(s: &str) -> Param {
    Param::Text(s.to_owned())
}

impl Store {
    pub async fn save_locations(&self, tx: &mut Tx, locations: &[Location]) -> Result<(), StoreError> {
        let rows = locations.iter().map(|l| vec![text(l.id.as_str()), text(&l.name), text(&l.timezone)]).collect();
        upsert(tx, "locations", &["id", "name", "timezone"], "id", rows).await
    }

    pub async fn save_catalog(&self, tx: &mut Tx, catalog: &Catalog, at_ms: i64) -> Result<(), StoreError> {
        let categories = catalog.categories.iter().map(|c| vec![text(c.id.as_str()), text(&c.name)]).collect();
        upsert(tx, "categories", &["id", "name"], "id", categories).await?;
        let items = catalog
            .items
            .iter()
            .map(|i| {
                vec![
                    text(i.id.as_str()),
                    text(&i.name),
                    Param::MaybeText(i.category_id.as_ref().map(|c| c.0.clone())),
                    Param::Int(at_ms),
                ]
            })
            .collect();
        upsert(tx, "catalog_items", &["id", "name", "category_id", "updated_at_ms"], "id", items).await?;
        let variations = catalog
            .items
            .iter()
            .flat_map(|i| i.variations.iter())
            .map(|v| {
                vec![
                    text(v.id.as_str()),
                    text(v.item_id.as_str()),
                    text(&v.name),
                    Param::MaybeText(v.sku.clone()),
                    Param::Int(v.price.minor()),
                    Param::MaybeInt(v.low_stock_at.map(Quantity::milli)),
                ]
            })
            .collect();
        upsert(
            tx,
            "catalog_variations",
            &["id", "item_id", "name", "sku", "price_cents", "low_stock_at_milli"],
            "id",
            variations,
        )
        .await
    }

    pub async fn save_stock(&self, tx: &mut Tx, levels: &[StockLevel]) -> Result<(), StoreError> {
        let rows = levels
            .iter()
            .map(|s| {
                vec![
                    text(s.variation_id.as_str()),
                    text(s.location_id.as_str()),
                    Param::Int(s.on_hand.milli()),
                    Param::Int(s.counted_at_ms),
                ]
            })
            .collect();
        upsert(
            tx,
            "stock_levels",
            &["variation_id", "location_id", "on_hand_milli", "counted_at_ms"],
            "variation_id, location_id",
            rows,
        )
        .await
    }

    pub async fn save_customers(&self, tx: &mut Tx, customers: &[Customer]) -> Result<(), StoreError> {
        let rows = customers
            .iter()
            .map(|c| {
                vec![
                    text(c.id.as_str()),
                    text(&c.given_name),
                    text(&c.family_name),
                    Param::MaybeText(c.phone.as_ref().map(|p| p.to_string())),
                    Param::MaybeText(c.email.clone()),
                ]
            })
            .collect();
        upsert(tx, "customers", &["id", "given_name", "family_name", "phone", "email"], "id", rows).await
    }

    pub async fn save_vendors(&self, tx: &mut Tx, vendors: &[Vendor], terms: &[VendorItem]) -> Result<(), StoreError> {
        let rows = vendors
            .iter()
            .map(|v| {
                vec![
                    text(v.id.as_str()),
                    text(&v.name),
                    Param::MaybeText(v.email.clone()),
                    Param::MaybeText(v.phone.clone()),
                    Param::Int(i64::from(v.lead_time_days)),
                    Param::Int(v.minimum_order.minor()),
                ]
            })
            .collect();
        upsert(tx, "vendors", &["id", "name", "email", "phone", "lead_time_days", "minimum_order_cents"], "id", rows)
            .await?;
        let rows = terms
            .iter()
            .map(|t| {
                vec![
                    text(t.vendor_id.as_str()),
                    text(t.variation_id.as_str()),
                    Param::Int(t.unit_cost.minor()),
                    Param::Int(i64::from(t.pack_size)),
                    Param::Int(i64::from(t.minimum_quantity)),
                    Param::MaybeText(t.vendor_sku.clone()),
                ]
            })
            .collect();
        upsert(
            tx,
            "vendor_items",
            &["vendor_id", "variation_id", "unit_cost_cents", "pack_size", "minimum_quantity", "vendor_sku"],
            "vendor_id, variation_id",
            rows,
        )
        .await
    }

    /// Upserts orders with their lines (an order's lines are replaced as a whole).
    pub async fn save_orders(&self, tx: &mut Tx, orders: &[Order], at_ms: i64) -> Result<(), StoreError> {
        let mut order_rows = Vec::with_capacity(orders.len());
        let mut line_rows = Vec::new();
        for order in orders {
            let fulfilment = order.fulfilment.as_ref().map(|f| serde_json::to_string(f).unwrap_or_default());
            order_rows.push(vec![
                text(order.id.as_str()),
                text(&order.number),
                text(order.location_id.as_str()),
                Param::MaybeText(order.customer_id.as_ref().map(|c| c.0.clone())),
                Param::Int(order.created_at_ms),
                text(order.state.as_str()),
                Param::Int(order.total.minor()),
                Param::Int(order.discount.minor()),
                Param::Int(order.refunded.minor()),
                Param::MaybeText(fulfilment),
                Param::Int(at_ms),
            ]);
            for (n, line) in order.lines.iter().enumerate() {
                line_rows.push(vec![
                    text(order.id.as_str()),
                    Param::Int(n as i64),
                    Param::MaybeText(line.variation_id.as_ref().map(|v| v.0.clone())),
                    text(&line.name),
                    Param::Int(line.quantity.milli()),
                    Param::Int(line.unit_price.minor()),
                    Param::Int(line.discount.minor()),
                    Param::Int(order.created_at_ms),
                    text(order.location_id.as_str()),
                ]);
            }
        }
        upsert(
            tx,
            "orders",
            &[
                "id",
                "number",
                "location_id",
                "customer_id",
                "created_at_ms",
                "state",
                "total_cents",
                "discount_cents",
                "refunded_cents",
                "fulfilment",
                "updated_at_ms",
            ],
            "id",
            order_rows,
        )
        .await?;
        upsert(
            tx,
            "order_lines",
            &[
                "order_id",
                "line_no",
                "variation_id",
                "name",
                "quantity_milli",
                "unit_price_cents",
                "discount_cents",
                "created_at_ms",
                "location_id",
            ],
            "order_id, line_no",
            line_rows,
        )
        .await
    }

    /// When each variation last sold anywhere (unix ms), for those that ever did.
    pub async fn last_sold(&self, variations: &[VariationId]) -> Result<HashMap<VariationId, i64>, StoreError> {
        let mut out = HashMap::new();
        for variation in variations {
            let row: Option<(Option<i64>,)> = sqlx::query_as(
                "SELECT MAX(created_at_ms) FROM order_lines WHERE variation_id = $1 AND quantity_milli > 0",
            )
            .bind(variation.as_str())
            .fetch_optional(self.pool())
            .await?;
            if let Some((Some(at),)) = row {
                out.insert(variation.clone(), at);
            }
        }
        Ok(out)
    }

    /// Units on approved or sent purchase orders not yet received, per variation.
    pub async fn on_order(&self, variations: &[VariationId]) -> Result<HashMap<VariationId, Quantity>, StoreError> {
        let mut out = HashMap::new();
        for variation in variations {
            // PostgreSQL sums BIGINT into NUMERIC, which the Any driver cannot decode.
            let row: Option<(Option<i64>,)> = sqlx::query_as(
                "SELECT CAST(SUM(l.quantity_milli) AS BIGINT) FROM purchase_order_lines l JOIN purchase_orders p ON p.id = l.po_id \
                 WHERE l.variation_id = $1 AND p.state IN ('approved', 'sent')",
            )
            .bind(variation.as_str())
            .fetch_optional(self.pool())
            .await?;
            if let Some((Some(milli),)) = row
                && milli > 0
            {
                out.insert(variation.clone(), Quantity::from_milli(milli));
            }
        }
        Ok(out)
    }

    /// Counts rows in a mirror table, for `sync` reports and tests.
    pub async fn count_rows(&self, table: MirrorTable) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table.name());
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(self.pool()).await?;
        Ok(n)
    }
}

/// The mirror's tables, named so callers cannot pass arbitrary SQL.
#[derive(Clone, Copy, Debug)]
pub enum MirrorTable {
    Locations,
    Items,
    Variations,
    StockLevels,
    Customers,
    Vendors,
    VendorItems,
    Orders,
    OrderLines,
    PurchaseOrders,
}

impl MirrorTable {
    fn name(self) -> &'static str {
        match self {
            MirrorTable::Locations => "locations",
            MirrorTable::Items => "catalog_items",
            MirrorTable::Variations => "catalog_variations",
            MirrorTable::StockLevels => "stock_levels",
            MirrorTable::Customers => "customers",
            MirrorTable::Vendors => "vendors",
            MirrorTable::VendorItems => "vendor_items",
            MirrorTable::Orders => "orders",
            MirrorTable::OrderLines => "order_lines",
            MirrorTable::PurchaseOrders => "purchase_orders",
        }
    }
}

impl Store {
    /// Applies stock counts unless the mirror already holds a newer count for that variation
    /// and location, so a late redelivery cannot roll stock back.
    pub async fn save_stock_if_newer(&self, tx: &mut Tx, levels: &[StockLevel]) -> Result<(), StoreError> {
        for level in levels {
            sqlx::query(
                "INSERT INTO stock_levels (variation_id, location_id, on_hand_milli, counted_at_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (variation_id, location_id) DO UPDATE SET on_hand_milli = excluded.on_hand_milli, \
                 counted_at_ms = excluded.counted_at_ms WHERE excluded.counted_at_ms >= stock_levels.counted_at_ms",
            )
            .bind(level.variation_id.as_str())
            .bind(level.location_id.as_str())
            .bind(level.on_hand.milli())
            .bind(level.counted_at_ms)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// The mirrored count for one variation at one location.
    pub async fn mirrored_stock(
        &self,
        variation: &VariationId,
        location: &str,
    ) -> Result<Option<(Quantity, i64)>, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT on_hand_milli, counted_at_ms FROM stock_levels WHERE variation_id = $1 AND location_id = $2",
        )
        .bind(variation.as_str())
        .bind(location)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(milli, at)| (Quantity::from_milli(milli), at)))
    }
}

impl Store {
    /// Mirrored order ids whose customer-facing number is `number` (normalised).
    pub async fn order_ids_by_number(&self, number: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM orders WHERE number = $1 ORDER BY created_at_ms DESC")
                .bind(number)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}
