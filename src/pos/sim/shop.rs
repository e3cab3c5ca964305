//! The generated shop held in memory, and the `Pos` implementation that serves it.

use crate::domain::{
    Catalog, Customer, CustomerId, Location, LocationId, Order, OrderId, Payment, Phone, Quantity, StockLevel,
    VariationId, Vendor, VendorItem, order::normalize_order_number,
};
use crate::pos::{Pos, PosError};
use async_trait::async_trait;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The anomaly planted in the history, so tests can check that it is found.
#[derive(Clone, Debug, PartialEq)]
pub struct PlantedAnomaly {
    pub variation_id: VariationId,
    pub location_id: LocationId,
    pub date: NaiveDate,
    /// Units the demand model expected that day.
    pub expected_units: f64,
    pub actual_units: Quantity,
}

/// Everything the generator made.
#[derive(Clone, Debug)]
pub struct SimShop {
    pub seed: u64,
    /// The first day after the history: the shop's "today".
    pub today: NaiveDate,
    pub timezone: chrono_tz::Tz,
    pub locations: Vec<Location>,
    pub catalog: Catalog,
    pub vendors: Vec<Vendor>,
    pub vendor_terms: Vec<VendorItem>,
    pub customers: Vec<Customer>,
    /// All orders, oldest first.
    pub orders: Vec<Order>,
    pub stock: Vec<StockLevel>,
    pub anomaly: PlantedAnomaly,
    /// `(variation, location, first day, last day)` of the planted stock-out.
    pub stockout: (VariationId, LocationId, NaiveDate, NaiveDate),
}

impl SimShop {
    /// Every sold line of the year (cancelled orders left out), as the forecasts read sales.
    pub fn sales(&self) -> Vec<crate::domain::Sale> {
        self.orders
            .iter()
            .filter(|o| o.state != crate::domain::OrderState::Cancelled)
            .flat_map(|o| {
                o.lines.iter().filter_map(move |l| {
                    Some(crate::domain::Sale {
                        variation_id: l.variation_id.clone()?,
                        location_id: o.location_id.clone(),
                        at_ms: o.created_at_ms,
                        units: l.quantity.as_f64(),
                    })
                })
            })
            .collect()
    }
}

/// The simulated shop behind the `Pos` trait. Stock is behind a lock so later writes (stock
/// adjustments, received purchase orders) change what the next read sees, as on a real POS.
pub struct SimPos {
    shop: Arc<SimShop>,
    stock: RwLock<HashMap<(VariationId, LocationId), StockLevel>>,
    /// Idempotency keys of the stock writes already applied, as a real POS keeps them.
    applied: RwLock<std::collections::HashSet<String>>,
    by_number: HashMap<String, Vec<usize>>,
    by_customer: HashMap<CustomerId, Vec<usize>>,
    by_id: HashMap<OrderId, usize>,
}

impl SimPos {
    pub fn new(shop: Arc<SimShop>) -> SimPos {
        let mut by_number: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_customer: HashMap<CustomerId, Vec<usize>> = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, order) in shop.orders.iter().enumerate() {
            by_number.entry(normalize_order_number(&order.number)).or_default().push(i);
            if let Some(customer) = &order.customer_id {
                by_customer.entry(customer.clone()).or_default().push(i);
            }
            by_id.insert(order.id.clone(), i);
        }
        let stock = shop.stock.iter().map(|s| ((s.variation_id.clone(), s.location_id.clone()), s.clone())).collect();
        SimPos { shop, stock: RwLock::new(stock), applied: RwLock::default(), by_number, by_customer, by_id }
    }

    pub fn shop(&self) -> &Arc<SimShop> {
        &self.shop
    }

    fn orders_at(&self, indexes: Option<&Vec<usize>>) -> Vec<Order> {
        indexes.map(|ix| ix.iter().map(|&i| self.shop.orders[i].clone()).collect()).unwrap_or_default()
    }
}

#[async_trait]
impl Pos for SimPos {
    fn provider(&self) -> &'static str {
        "sim"
    }

    async fn locations(&self) -> Result<Vec<Location>, PosError> {
        Ok(self.shop.locations.clone())
    }

    async fn catalog(&self) -> Result<Catalog, PosError> {
        Ok(self.shop.catalog.clone())
    }

    async fn vendors(&self) -> Result<Vec<Vendor>, PosError> {
        Ok(self.shop.vendors.clone())
    }

    async fn vendor_terms(&self) -> Result<Vec<VendorItem>, PosError> {
        Ok(self.shop.vendor_terms.clone())
    }

    async fn stock_levels(
        &self,
        variations: &[VariationId],
        location: Option<&LocationId>,
    ) -> Result<Vec<StockLevel>, PosError> {
        let stock = self.stock.read().map_err(|_| PosError::Unavailable("stock lock poisoned".into()))?;
        let mut levels: Vec<StockLevel> = if variations.is_empty() {
            stock.values().filter(|s| location.is_none_or(|l| &s.location_id == l)).cloned().collect()
        } else {
            let locations: Vec<&LocationId> = match location {
                Some(l) => vec![l],
                None => self.shop.locations.iter().map(|l| &l.id).collect(),
            };
            variations
                .iter()
                .flat_map(|v| {
                    locations.iter().filter_map(|l| stock.get(&(v.clone(), (*l).clone())).cloned()).collect::<Vec<_>>()
                })
                .collect()
        };
        levels.sort_by(|a, b| (&a.variation_id, &a.location_id).cmp(&(&b.variation_id, &b.location_id)));
        Ok(levels)
    }

    async fn orders_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Order>, PosError> {
        let orders = &self.shop.orders;
        let start = orders.partition_point(|o| o.created_at_ms < from_ms);
        let end = orders.partition_point(|o| o.created_at_ms < to_ms);
        Ok(orders[start..end.max(start)]
            .iter()
            .filter(|o| location.is_none_or(|l| &o.location_id == l))
            .cloned()
            .collect())
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, PosError> {
        Ok(self.by_id.get(id).map(|&i| self.shop.orders[i].clone()))
    }

    async fn payments_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Payment>, PosError> {
        Ok(super::payments::payments(&self.orders_between(from_ms, to_ms, location).await?))
    }

    async fn orders_by_number(&self, number: &str) -> Result<Vec<Order>, PosError> {
        Ok(self.orders_at(self.by_number.get(&normalize_order_number(number))))
    }

    async fn orders_for_customer(&self, customer: &CustomerId) -> Result<Vec<Order>, PosError> {
        let mut orders = self.orders_at(self.by_customer.get(customer));
        orders.reverse();
        Ok(orders)
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, PosError> {
        Ok(self.shop.customers.iter().find(|c| &c.id == id).cloned())
    }

    async fn customers_by_phone(&self, phone: &Phone) -> Result<Vec<Customer>, PosError> {
        Ok(self.shop.customers.iter().filter(|c| c.phone.as_ref() == Some(phone)).cloned().collect())
    }

    async fn customers_by_email(&self, email: &str) -> Result<Vec<Customer>, PosError> {
        let email = email.trim().to_lowercase();
        Ok(self
            .shop
            .customers
            .iter()
            .filter(|c| c.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&email)))
            .cloned()
            .collect())
    }

    async fn record_count(
        &self,
        variation: &VariationId,
        location: &LocationId,
        on_hand: Quantity,
        idempotency_key: &str,
    ) -> Result<(), PosError> {
        let poisoned = || PosError::Unavailable("stock lock poisoned".into());
        if !self.applied.write().map_err(|_| poisoned())?.insert(idempotency_key.to_owned()) {
            return Ok(());
        }
        if self.shop.catalog.variation(variation).is_none() || !self.shop.locations.iter().any(|l| &l.id == location) {
            return Err(PosError::Rejected { status: 404, message: "no such variation or location".into() });
        }
        let level = StockLevel {
            variation_id: variation.clone(),
            location_id: location.clone(),
            on_hand,
            counted_at_ms: crate::store::now_ms(),
        };
        self.stock.write().map_err(|_| poisoned())?.insert((variation.clone(), location.clone()), level);
        Ok(())
    }
}
