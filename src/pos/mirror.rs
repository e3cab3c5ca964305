//! The local mirror behind the `Pos` trait: what the bot answers from when the POS cannot be
//! reached. Figures are as of the last sync or webhook, and answers say so.

use crate::domain::{
    Catalog, Customer, CustomerId, Location, LocationId, Order, OrderId, Payment, Phone, Quantity, StockLevel,
    VariationId, Vendor, VendorItem, order::normalize_order_number,
};
use crate::pos::{Pos, PosError};
use crate::store::mirror_read::CustomerFilter;
use crate::store::{Store, StoreError};
use async_trait::async_trait;

pub struct MirrorPos {
    store: Store,
}

impl MirrorPos {
    pub fn new(store: Store) -> MirrorPos {
        MirrorPos { store }
    }
}

fn unavailable(err: StoreError) -> PosError {
    PosError::Unavailable(format!("the local mirror: {err}"))
}

#[async_trait]
impl Pos for MirrorPos {
    fn provider(&self) -> &'static str {
        "mirror"
    }

    async fn locations(&self) -> Result<Vec<Location>, PosError> {
        self.store.mirror_locations().await.map_err(unavailable)
    }

    async fn catalog(&self) -> Result<Catalog, PosError> {
        self.store.mirror_catalog().await.map_err(unavailable)
    }

    async fn vendors(&self) -> Result<Vec<Vendor>, PosError> {
        Ok(self.store.mirror_vendors().await.map_err(unavailable)?.0)
    }

    async fn vendor_terms(&self) -> Result<Vec<VendorItem>, PosError> {
        Ok(self.store.mirror_vendors().await.map_err(unavailable)?.1)
    }

    async fn stock_levels(
        &self,
        variations: &[VariationId],
        location: Option<&LocationId>,
    ) -> Result<Vec<StockLevel>, PosError> {
        self.store.mirror_stock(variations, location).await.map_err(unavailable)
    }

    async fn orders_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Order>, PosError> {
        let mut orders = self.store.mirror_orders_between(from_ms, to_ms).await.map_err(unavailable)?;
        orders.retain(|o| location.is_none_or(|l| &o.location_id == l));
        Ok(orders)
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, PosError> {
        self.store.mirror_order(id).await.map_err(unavailable)
    }

    async fn orders_by_number(&self, number: &str) -> Result<Vec<Order>, PosError> {
        self.store.mirror_orders_by_number(&normalize_order_number(number)).await.map_err(unavailable)
    }

    async fn orders_for_customer(&self, customer: &CustomerId) -> Result<Vec<Order>, PosError> {
        self.store.mirror_orders_for_customer(customer).await.map_err(unavailable)
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, PosError> {
        Ok(self.store.mirror_customers(CustomerFilter::Id, id.as_str()).await.map_err(unavailable)?.into_iter().next())
    }

    async fn customers_by_phone(&self, phone: &Phone) -> Result<Vec<Customer>, PosError> {
        self.store.mirror_customers(CustomerFilter::Phone, phone.as_str()).await.map_err(unavailable)
    }

    async fn customers_by_email(&self, email: &str) -> Result<Vec<Customer>, PosError> {
        self.store.mirror_customers(CustomerFilter::Email, &email.trim().to_lowercase()).await.map_err(unavailable)
    }

    async fn payments_between(&self, _: i64, _: i64, _: Option<&LocationId>) -> Result<Vec<Payment>, PosError> {
        Err(PosError::Unavailable("payments are read from the till system, which is not connected".into()))
    }

    async fn record_count(&self, _: &VariationId, _: &LocationId, _: Quantity, _: &str) -> Result<(), PosError> {
        Err(PosError::Unavailable("the till system is not connected, so nothing can be written to it".into()))
    }
}
