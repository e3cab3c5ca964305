//! Clover.
//!
//! Contract (see the shared PLATFORMS notes, section 2, and docs.clover.com):
//! - Auth: `Authorization: Bearer <token>`; 16 requests per second and 5 concurrent per token,
//!   which the client paces itself under (client.rs).
//! - REST v3, merchant scoped: `/v3/merchants/{mId}/...`; collections are `{"elements": [...]}`,
//!   paged by `limit` (at most 1,000) and `offset`; `filter=field>=value` repeatable;
//!   `expand=a,b` (at most three); money in cents; times in epoch milliseconds.
//! - One merchant is one location; there is no vendor API.
//! - Webhooks: a one-time handshake POSTs `{"verificationCode": ...}`, which must be answered
//!   200 (the code is pasted into the dashboard); afterwards every notification carries the
//!   app's static `X-Clover-Auth` code. There is no body signature.
//! - Notifications carry only ids (`objectId` = `<KEY>:<id>`, `type`, `ts` in ms), possibly
//!   several merchants and objects per POST: fetch the objects before acting.
//! - Dedupe key: `objectId` + `ts`. Delivery is not guaranteed: reconcile on a schedule.
//! - Order numbers: the order's title when the shop sets one, else its 13-character id.

pub mod client;
pub mod mapping;
pub mod webhook;

use crate::domain::{
    Catalog, Customer, CustomerId, Location, LocationId, Order, OrderId, Payment, Phone, Quantity, StockLevel,
    VariationId, Vendor, VendorItem, order::normalize_order_number,
};
use crate::pos::http::path_segment;
use crate::pos::{Pos, PosError};
use crate::store::{Store, now_ms};
use async_trait::async_trait;
use client::CloverClient;
use mapping::{
    CloverCategory, CloverCustomer, CloverItem, CloverMerchant, CloverOrder, CloverPayment, CloverProperties,
    CloverStock,
};
use serde_json::json;

/// What every order read expands: lines with their discounts, the customer, refunds.
const ORDER_EXPAND: &str = "lineItems.discounts,customers,refunds";
const CUSTOMER_EXPAND: &str = "emailAddresses,phoneNumbers";
/// How far back a number lookup scans when the mirror does not know the number.
const NUMBER_SEARCH_DAYS: i64 = 3;
/// Up to this many variations are read one by one; more, and the whole stock list is cheaper.
const STOCK_ONE_BY_ONE: usize = 10;

pub struct CloverPos {
    client: CloverClient,
    store: Store,
    location: LocationId,
}

impl CloverPos {
    pub fn new(client: CloverClient, store: Store, merchant_id: &str) -> CloverPos {
        CloverPos { client, store, location: LocationId::new(merchant_id) }
    }

    async fn list_orders(&self, filters: &[String], order_by: &str) -> Result<Vec<Order>, PosError> {
        let mut query = vec![("expand", ORDER_EXPAND.to_owned()), ("orderBy", order_by.to_owned())];
        query.extend(filters.iter().map(|f| ("filter", f.clone())));
        let orders: Vec<CloverOrder> = self.client.list("/orders", &query).await?;
        Ok(orders.iter().map(|o| o.to_domain(&self.location)).collect())
    }

    async fn list_customers(&self, filter: String) -> Result<Vec<CloverCustomer>, PosError> {
        self.client.list("/customers", &[("filter", filter), ("expand", CUSTOMER_EXPAND.to_owned())]).await
    }

    fn stock(&self, stocks: &[CloverStock]) -> Vec<StockLevel> {
        let now = now_ms();
        stocks.iter().map(|s| s.to_domain(&self.location, now)).collect()
    }
}

/// Clover ids are 13 characters of upper-case letters and digits.
fn looks_like_clover_id(text: &str) -> bool {
    text.len() == 13 && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[async_trait]
impl Pos for CloverPos {
    fn provider(&self) -> &'static str {
        "clover"
    }

    async fn locations(&self) -> Result<Vec<Location>, PosError> {
        let merchant = self.client.get::<CloverMerchant>("", &[]).await?.ok_or(PosError::Unauthorized)?;
        let properties = self.client.get::<CloverProperties>("/properties", &[]).await?;
        Ok(vec![mapping::location(&merchant, properties.as_ref())])
    }

    async fn catalog(&self) -> Result<Catalog, PosError> {
        let categories: Vec<CloverCategory> = self.client.list("/categories", &[]).await?;
        let items: Vec<CloverItem> = self.client.list("/items", &[("expand", "categories,itemGroup".into())]).await?;
        Ok(Catalog {
            categories: categories.iter().map(CloverCategory::to_domain).collect(),
            items: mapping::catalog(&items),
        })
    }

    async fn vendors(&self) -> Result<Vec<Vendor>, PosError> {
        // Clover keeps no vendor records.
        Ok(Vec::new())
    }

    async fn vendor_terms(&self) -> Result<Vec<VendorItem>, PosError> {
        Ok(Vec::new())
    }

    async fn stock_levels(
        &self,
        variations: &[VariationId],
        location: Option<&LocationId>,
    ) -> Result<Vec<StockLevel>, PosError> {
        if location.is_some_and(|l| l != &self.location) {
            return Ok(Vec::new());
        }
        if !variations.is_empty() && variations.len() <= STOCK_ONE_BY_ONE {
            let mut stocks = Vec::new();
            for id in variations {
                stocks.extend(
                    self.client.get::<CloverStock>(&format!("/item_stocks/{}", path_segment(id.as_str())), &[]).await?,
                );
            }
            return Ok(self.stock(&stocks));
        }
        let stocks: Vec<CloverStock> = self.client.list("/item_stocks", &[]).await?;
        let mut levels = self.stock(&stocks);
        if !variations.is_empty() {
            levels.retain(|l| variations.contains(&l.variation_id));
        }
        Ok(levels)
    }

    async fn orders_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Order>, PosError> {
        if location.is_some_and(|l| l != &self.location) {
            return Ok(Vec::new());
        }
        let filters = [format!("createdTime>={from_ms}"), format!("createdTime<{to_ms}")];
        let mut orders = self.list_orders(&filters, "createdTime ASC").await?;
        orders.retain(|o| o.created_at_ms >= from_ms && o.created_at_ms < to_ms);
        Ok(orders)
    }

    async fn payments_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Payment>, PosError> {
        if location.is_some_and(|l| l != &self.location) {
            return Ok(Vec::new());
        }
        let query = [
            ("filter", format!("createdTime>={from_ms}")),
            ("filter", format!("createdTime<{to_ms}")),
            ("expand", "tender,cardTransaction,refunds".to_owned()),
            ("orderBy", "createdTime ASC".to_owned()),
        ];
        let payments: Vec<CloverPayment> = self.client.list("/payments", &query).await?;
        let mut payments: Vec<Payment> = payments.iter().map(|p| p.to_domain(&self.location)).collect();
        payments.retain(|p| p.created_at_ms >= from_ms && p.created_at_ms < to_ms);
        Ok(payments)
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, PosError> {
        let path = format!("/orders/{}", path_segment(id.as_str()));
        let order = self.client.get::<CloverOrder>(&path, &[("expand", ORDER_EXPAND.to_owned())]).await?;
        Ok(order.map(|o| o.to_domain(&self.location)))
    }

    async fn orders_by_number(&self, number: &str) -> Result<Vec<Order>, PosError> {
        let number = normalize_order_number(number);
        let known = self.store.order_ids_by_number(&number).await.map_err(|e| PosError::Unavailable(e.to_string()))?;
        let mut orders = Vec::new();
        for id in known {
            orders.extend(self.order(&OrderId::new(id)).await?);
        }
        if orders.is_empty() && looks_like_clover_id(&number) {
            orders.extend(self.order(&OrderId::new(&number)).await?);
        }
        if orders.is_empty() {
            let now = now_ms();
            let recent = self.orders_between(now - NUMBER_SEARCH_DAYS * 86_400_000, now + 60_000, None).await?;
            orders.extend(recent.into_iter().filter(|o| o.number == number));
        }
        Ok(orders)
    }

    async fn orders_for_customer(&self, customer: &CustomerId) -> Result<Vec<Order>, PosError> {
        let mut orders = self.list_orders(&[format!("customer.id={}", customer.as_str())], "createdTime DESC").await?;
        orders.retain(|o| o.customer_id.as_ref() == Some(customer));
        Ok(orders)
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, PosError> {
        let path = format!("/customers/{}", path_segment(id.as_str()));
        let found = self.client.get::<CloverCustomer>(&path, &[("expand", CUSTOMER_EXPAND.to_owned())]).await?;
        Ok(found.map(|c| c.to_domain()))
    }

    async fn customers_by_phone(&self, phone: &Phone) -> Result<Vec<Customer>, PosError> {
        // Clover filters on the number as it was typed at the till: try the international
        // form, then the national digits, and keep only numbers that really are this one.
        let mut forms = vec![phone.as_str().to_owned()];
        if let Some(national) = phone.as_str().strip_prefix("+1") {
            forms.push(national.to_owned());
        }
        for form in forms {
            let found = self.list_customers(format!("phoneNumber={form}")).await?;
            let matching: Vec<Customer> =
                found.iter().filter(|c| c.phones().contains(phone)).map(CloverCustomer::to_domain).collect();
            if !matching.is_empty() {
                return Ok(matching);
            }
        }
        Ok(Vec::new())
    }

    async fn customers_by_email(&self, email: &str) -> Result<Vec<Customer>, PosError> {
        let email = email.trim().to_lowercase();
        let found = self.list_customers(format!("emailAddress={email}")).await?;
        Ok(found.iter().map(CloverCustomer::to_domain).filter(|c| c.email.as_deref() == Some(email.as_str())).collect())
    }

    /// Clover's only stock write sets an absolute figure (`POST /item_stocks/{id}`), so
    /// repeating it is harmless and no key is needed.
    async fn record_count(
        &self,
        variation: &VariationId,
        location: &LocationId,
        on_hand: Quantity,
        _idempotency_key: &str,
    ) -> Result<(), PosError> {
        if location != &self.location {
            return Err(PosError::Rejected { status: 404, message: format!("no location {}", location.as_str()) });
        }
        let path = format!("/item_stocks/{}", path_segment(variation.as_str()));
        let units = on_hand.milli() as f64 / 1000.0;
        match self.client.post::<CloverStock>(&path, &json!({ "quantity": units })).await? {
            Some(_) => Ok(()),
            None => Err(PosError::Rejected { status: 404, message: format!("no item {}", variation.as_str()) }),
        }
    }
}
