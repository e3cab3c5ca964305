//! Reading the mirror back as domain types: what answers questions when the POS cannot be
//! reached, and what the bot starts from when the POS is down at start.

use super::{Store, StoreError};
use crate::domain::{
    Catalog, Category, CategoryId, Customer, CustomerId, Fulfilment, Item, ItemId, Location, LocationId, Money, Order,
    OrderId, OrderLine, OrderState, Phone, Quantity, StockLevel, Variation, VariationId, Vendor, VendorId, VendorItem,
};
use std::collections::HashMap;

// Row shapes, in SELECT column order.
type OrderRow = (String, String, String, Option<String>, i64, String, i64, i64, i64, Option<String>);
type LineRow = (String, Option<String>, String, i64, i64, i64);
type VariationRow = (String, String, String, Option<String>, i64, Option<i64>);
type VendorRow = (String, String, Option<String>, Option<String>, i64, i64);
type CustomerRow = (String, String, String, Option<String>, Option<String>);

const ORDER_COLUMNS: &str = "id, number, location_id, customer_id, created_at_ms, state, total_cents, discount_cents, refunded_cents, fulfilment";

impl Store {
    pub async fn mirror_locations(&self) -> Result<Vec<Location>, StoreError> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, name, timezone FROM locations ORDER BY id").fetch_all(self.pool()).await?;
        Ok(rows.into_iter().map(|(id, name, timezone)| Location { id: LocationId::new(id), name, timezone }).collect())
    }

    pub async fn mirror_catalog(&self) -> Result<Catalog, StoreError> {
        let categories: Vec<(String, String)> =
            sqlx::query_as("SELECT id, name FROM categories ORDER BY id").fetch_all(self.pool()).await?;
        let items: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT id, name, category_id FROM catalog_items ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        let variations: Vec<VariationRow> = sqlx::query_as(
            "SELECT id, item_id, name, sku, price_cents, low_stock_at_milli FROM catalog_variations ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        let mut by_item: HashMap<String, Vec<Variation>> = HashMap::new();
        for (id, item_id, name, sku, price, low) in variations {
            by_item.entry(item_id.clone()).or_default().push(Variation {
                id: VariationId::new(id),
                item_id: ItemId::new(item_id),
                name,
                sku,
                price: Money::from_minor(price),
                low_stock_at: low.map(Quantity::from_milli),
            });
        }
        Ok(Catalog {
            categories: categories.into_iter().map(|(id, name)| Category { id: CategoryId::new(id), name }).collect(),
            items: items
                .into_iter()
                .map(|(id, name, category)| Item {
                    variations: by_item.remove(&id).unwrap_or_default(),
                    id: ItemId::new(id),
                    name,
                    category_id: category.map(CategoryId::new),
                })
                .collect(),
        })
    }

    pub async fn mirror_vendors(&self) -> Result<(Vec<Vendor>, Vec<VendorItem>), StoreError> {
        let vendors: Vec<VendorRow> = sqlx::query_as(
            "SELECT id, name, email, phone, lead_time_days, minimum_order_cents FROM vendors ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        let terms: Vec<(String, String, i64, i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT vendor_id, variation_id, unit_cost_cents, pack_size, minimum_quantity, vendor_sku FROM vendor_items \
             ORDER BY vendor_id, variation_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok((
            vendors
                .into_iter()
                .map(|(id, name, email, phone, lead, minimum)| Vendor {
                    id: VendorId::new(id),
                    name,
                    email,
                    phone,
                    lead_time_days: u32::try_from(lead).unwrap_or(0),
                    minimum_order: Money::from_minor(minimum),
                })
                .collect(),
            terms
                .into_iter()
                .map(|(vendor, variation, cost, pack, minimum, vendor_sku)| VendorItem {
                    vendor_id: VendorId::new(vendor),
                    variation_id: VariationId::new(variation),
                    unit_cost: Money::from_minor(cost),
                    pack_size: u32::try_from(pack).unwrap_or(1),
                    minimum_quantity: u32::try_from(minimum).unwrap_or(1),
                    price_tiers: Vec::new(),
                    vendor_sku,
                })
                .collect(),
        ))
    }

    /// Mirrored stock for the variations (all when empty) at one location or all.
    pub async fn mirror_stock(
        &self,
        variations: &[VariationId],
        location: Option<&LocationId>,
    ) -> Result<Vec<StockLevel>, StoreError> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT variation_id, location_id, on_hand_milli, counted_at_ms FROM stock_levels ORDER BY variation_id, location_id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter(|(v, l, _, _)| {
                (variations.is_empty() || variations.iter().any(|w| w.as_str() == v))
                    && location.is_none_or(|loc| loc.as_str() == l)
            })
            .map(|(v, l, milli, at)| StockLevel {
                variation_id: VariationId::new(v),
                location_id: LocationId::new(l),
                on_hand: Quantity::from_milli(milli),
                counted_at_ms: at,
            })
            .collect())
    }

    /// Mirrored orders matching a filter on `orders` (a fixed clause with one bound text value).
    async fn mirror_orders_where(&self, clause: OrderFilter, value: &str) -> Result<Vec<Order>, StoreError> {
        let sql =
            format!("SELECT {ORDER_COLUMNS} FROM orders WHERE {} ORDER BY created_at_ms DESC LIMIT 200", clause.sql());
        let rows: Vec<OrderRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(value).fetch_all(self.pool()).await?;
        let mut orders = Vec::with_capacity(rows.len());
        for row in rows {
            let lines: Vec<LineRow> = sqlx::query_as(
                "SELECT order_id, variation_id, name, quantity_milli, unit_price_cents, discount_cents FROM order_lines WHERE order_id = $1 ORDER BY line_no",
            )
            .bind(&row.0)
            .fetch_all(self.pool())
            .await?;
            orders.push(order_from_row(row, lines)?);
        }
        Ok(orders)
    }

    pub async fn mirror_order(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        Ok(self.mirror_orders_where(OrderFilter::Id, id.as_str()).await?.into_iter().next())
    }

    pub async fn mirror_orders_by_number(&self, number: &str) -> Result<Vec<Order>, StoreError> {
        self.mirror_orders_where(OrderFilter::Number, number).await
    }

    pub async fn mirror_orders_for_customer(&self, customer: &CustomerId) -> Result<Vec<Order>, StoreError> {
        self.mirror_orders_where(OrderFilter::Customer, customer.as_str()).await
    }

    pub async fn mirror_orders_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Order>, StoreError> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM orders WHERE created_at_ms >= $1 AND created_at_ms < $2 ORDER BY created_at_ms",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        let mut orders = Vec::with_capacity(ids.len());
        for (id,) in ids {
            orders.extend(self.mirror_order(&OrderId::new(id)).await?);
        }
        Ok(orders)
    }

    /// Mirrored customers whose phone or email (normalised) is `value`.
    pub async fn mirror_customers(&self, by: CustomerFilter, value: &str) -> Result<Vec<Customer>, StoreError> {
        let sql = format!(
            "SELECT id, given_name, family_name, phone, email FROM customers WHERE {} = $1 ORDER BY id",
            by.column()
        );
        let rows: Vec<CustomerRow> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(value).fetch_all(self.pool()).await?;
        Ok(rows
            .into_iter()
            .map(|(id, given_name, family_name, phone, email)| Customer {
                id: CustomerId::new(id),
                given_name,
                family_name,
                phone: phone.as_deref().and_then(Phone::parse),
                email,
            })
            .collect())
    }
}

/// The fixed ways of looking up mirrored orders.
#[derive(Clone, Copy)]
enum OrderFilter {
    Id,
    Number,
    Customer,
}

impl OrderFilter {
    fn sql(self) -> &'static str {
        match self {
            OrderFilter::Id => "id = $1",
            OrderFilter::Number => "number = $1",
            OrderFilter::Customer => "customer_id = $1",
        }
    }
}

/// The fixed ways of looking up mirrored customers.
#[derive(Clone, Copy, Debug)]
pub enum CustomerFilter {
    Id,
    Phone,
    Email,
}

impl CustomerFilter {
    fn column(self) -> &'static str {
        match self {
            CustomerFilter::Id => "id",
            CustomerFilter::Phone => "phone",
            CustomerFilter::Email => "email",
        }
    }
}

fn order_from_row(row: OrderRow, lines: Vec<LineRow>) -> Result<Order, StoreError> {
    let (id, number, location, customer, created, state, total, discount, refunded, fulfilment) = row;
    let fulfilment: Option<Fulfilment> = match fulfilment {
        Some(json) => {
            Some(serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("order {id} fulfilment: {e}")))?)
        }
        None => None,
    };
    Ok(Order {
        state: OrderState::parse(&state).ok_or_else(|| StoreError::Corrupt(format!("order {id} state {state:?}")))?,
        id: OrderId::new(id),
        number,
        location_id: LocationId::new(location),
        customer_id: customer.map(CustomerId::new),
        created_at_ms: created,
        lines: lines
            .into_iter()
            .map(|(_, variation, name, qty, price, discount)| OrderLine {
                variation_id: variation.map(VariationId::new),
                name,
                quantity: Quantity::from_milli(qty),
                unit_price: Money::from_minor(price),
                discount: Money::from_minor(discount),
            })
            .collect(),
        total: Money::from_minor(total),
        discount: Money::from_minor(discount),
        refunded: Money::from_minor(refunded),
        fulfilment,
    })
}

impl Store {
    /// Units sold per line in `[from_ms, to_ms)` (cancelled orders left out), for forecasting.
    pub async fn sale_lines(&self, from_ms: i64, to_ms: i64) -> Result<Vec<crate::domain::Sale>, StoreError> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT l.variation_id, l.location_id, l.created_at_ms, l.quantity_milli FROM order_lines l \
             JOIN orders o ON o.id = l.order_id \
             WHERE o.state <> 'cancelled' AND l.variation_id IS NOT NULL AND l.created_at_ms >= $1 AND l.created_at_ms < $2",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(variation, location, at_ms, milli)| crate::domain::Sale {
                variation_id: VariationId::new(variation),
                location_id: LocationId::new(location),
                at_ms,
                units: milli as f64 / 1000.0,
            })
            .collect())
    }
}

impl Store {
    /// Which of `ids` the mirror already holds.
    pub async fn existing_order_ids(&self, ids: &[String]) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut out = std::collections::HashSet::new();
        for chunk in ids.chunks(200) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT id FROM orders WHERE id IN ({})", placeholders.join(", "));
            let mut query = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.clone());
            }
            out.extend(query.fetch_all(self.pool()).await?.into_iter().map(|(id,)| id));
        }
        Ok(out)
    }
}

/// One order, as the daily summary counts it.
#[derive(Clone, Debug)]
pub struct OrderFact {
    pub at_ms: i64,
    pub location_id: LocationId,
    pub total: crate::domain::Money,
    pub discount: crate::domain::Money,
    pub refunded: crate::domain::Money,
}

/// `(at, location, variation, name, quantity milli, unit price cents, discount cents, refunded
/// cents of the order)`.
type LineFactRow = (i64, String, Option<String>, String, i64, i64, i64, i64);

/// One sold line, as the daily summary counts it.
#[derive(Clone, Debug)]
pub struct LineFact {
    pub at_ms: i64,
    pub location_id: LocationId,
    pub variation_id: Option<VariationId>,
    pub name: String,
    pub quantity: crate::domain::Quantity,
    /// What the line brought in: units × price − its discount.
    pub net: crate::domain::Money,
    /// Whether its order was (partly) refunded.
    pub refunded: bool,
}

impl Store {
    /// Orders (cancelled ones left out) in `[from_ms, to_ms)`.
    pub async fn order_facts(&self, from_ms: i64, to_ms: i64) -> Result<Vec<OrderFact>, StoreError> {
        let rows: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT created_at_ms, location_id, total_cents, discount_cents, refunded_cents FROM orders \
             WHERE state <> 'cancelled' AND created_at_ms >= $1 AND created_at_ms < $2",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at_ms, location, total, discount, refunded)| OrderFact {
                at_ms,
                location_id: LocationId::new(location),
                total: crate::domain::Money::from_minor(total),
                discount: crate::domain::Money::from_minor(discount),
                refunded: crate::domain::Money::from_minor(refunded),
            })
            .collect())
    }

    /// Lines of those orders.
    pub async fn line_facts(&self, from_ms: i64, to_ms: i64) -> Result<Vec<LineFact>, StoreError> {
        let rows: Vec<LineFactRow> = sqlx::query_as(
            "SELECT l.created_at_ms, l.location_id, l.variation_id, l.name, l.quantity_milli, l.unit_price_cents, l.discount_cents, \
             o.refunded_cents \
             FROM order_lines l JOIN orders o ON o.id = l.order_id \
             WHERE o.state <> 'cancelled' AND l.created_at_ms >= $1 AND l.created_at_ms < $2",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at_ms, location, variation, name, milli, price, discount, refunded)| {
                let gross = crate::domain::Money::from_minor(price).times_milli(milli);
                LineFact {
                    at_ms,
                    location_id: LocationId::new(location),
                    variation_id: variation.map(VariationId::new),
                    name,
                    quantity: crate::domain::Quantity::from_milli(milli),
                    net: gross - crate::domain::Money::from_minor(discount),
                    refunded: refunded > 0,
                }
            })
            .collect())
    }
}
