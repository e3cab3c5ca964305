//! Square.
//!
//! Contract (see the shared PLATFORMS notes, section 1, and developer.squareup.com/docs):
//! - Auth: `Authorization: Bearer <access token>`, `Square-Version` pinned (client.rs).
//! - Pagination: `cursor`; search endpoints resend the original query with it.
//! - Errors: `{"errors": [{category, code, detail}]}`; 429 `RATE_LIMITED` → back off.
//! - Webhooks: header `x-square-hmacsha256-signature` = base64(HMAC-SHA256(signature key,
//!   notification URL + raw body)); the URL must match the subscription byte for byte.
//! - Ack: any 2xx, quickly; undelivered notifications are retried for up to 24 hours.
//! - Dedupe key: the envelope's `event_id`.
//! - `order.created`/`order.updated` carry only ids: fetch the order before acting.
//! - Order numbers: `reference_id`, else `ticket_name`, else the order id. Square cannot
//!   search by them, so lookups go through the mirror first.

pub mod client;
pub mod mapping;
pub mod webhook;

use crate::domain::{
    Catalog, Customer, CustomerId, Location, LocationId, Order, OrderId, Payment, Phone, Quantity, StockLevel,
    VariationId, Vendor, VendorItem, order::normalize_order_number,
};
use crate::pos::http::path_segment;
use crate::pos::{Pos, PosError};
use crate::store::Store;
use async_trait::async_trait;
use client::SquareClient;
use mapping::{
    CatalogPage, CountsPage, CustomerResponse, CustomersPage, LocationsResponse, OrderResponse, OrdersPage,
    PaymentsPage, VendorsPage,
};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// A runaway cursor must not loop forever.
const MAX_PAGES: usize = 1_000;
/// How far back a number lookup searches when the mirror does not know the number: orders
/// newer than the last reconciliation. Older ones are in the mirror.
const NUMBER_SEARCH_DAYS: i64 = 3;

pub struct SquarePos {
    client: SquareClient,
    store: Store,
    configured_locations: Vec<String>,
    locations: OnceCell<Vec<String>>,
}

impl SquarePos {
    pub fn new(client: SquareClient, store: Store, location_ids: Vec<String>) -> SquarePos {
        SquarePos { client, store, configured_locations: location_ids, locations: OnceCell::new() }
    }

    /// The location ids searches cover: the configured ones, else every active location.
    async fn location_ids(&self) -> Result<&Vec<String>, PosError> {
        self.locations
            .get_or_try_init(|| async {
                if !self.configured_locations.is_empty() {
                    return Ok(self.configured_locations.clone());
                }
                Ok(self.locations().await?.into_iter().map(|l| l.id.0).collect())
            })
            .await
    }

    /// Follows `cursor` through a POST search, resending the original body each time.
    async fn search<P: serde::de::DeserializeOwned, T>(
        &self,
        path: &str,
        body: Value,
        mut take: impl FnMut(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, PosError> {
        let mut out = Vec::new();
        let mut body = body;
        for _ in 0..MAX_PAGES {
            let Some(page) = self.client.post::<P>(path, &body).await? else { return Ok(out) };
            let (items, cursor) = take(page);
            out.extend(items);
            match cursor.filter(|c| !c.is_empty()) {
                Some(cursor) => body["cursor"] = Value::String(cursor),
                None => return Ok(out),
            }
        }
        Err(PosError::Malformed(format!("{path}: more than {MAX_PAGES} pages")))
    }

    async fn catalog_objects(&self) -> Result<Vec<mapping::CatalogObject>, PosError> {
        let mut objects = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("types", "ITEM,CATEGORY".to_owned())];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor.clone()));
            }
            let Some(page) = self.client.get::<CatalogPage>("/v2/catalog/list", &query).await? else {
                return Ok(objects);
            };
            objects.extend(page.objects);
            cursor = page.cursor.filter(|c| !c.is_empty());
            if cursor.is_none() {
                return Ok(objects);
            }
        }
        Err(PosError::Malformed(format!("/v2/catalog/list: more than {MAX_PAGES} pages")))
    }

    async fn search_orders(&self, filter: Value, sort_order: &str) -> Result<Vec<Order>, PosError> {
        let body = json!({
            "location_ids": self.location_ids().await?,
            "limit": 500,
            "query": { "filter": filter, "sort": { "sort_field": "CREATED_AT", "sort_order": sort_order } },
        });
        let orders = self.search("/v2/orders/search", body, |page: OrdersPage| (page.orders, page.cursor)).await?;
        orders.iter().map(mapping::SquareOrder::to_domain).collect()
    }

    async fn search_customers(&self, filter: Value) -> Result<Vec<Customer>, PosError> {
        let body = json!({ "limit": 100, "query": { "filter": filter } });
        let customers =
            self.search("/v2/customers/search", body, |page: CustomersPage| (page.customers, page.cursor)).await?;
        Ok(customers.iter().map(mapping::SquareCustomer::to_domain).collect())
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[async_trait]
impl Pos for SquarePos {
    fn provider(&self) -> &'static str {
        "square"
    }

    async fn locations(&self) -> Result<Vec<Location>, PosError> {
        let response = self.client.get::<LocationsResponse>("/v2/locations", &[]).await?;
        let wanted = &self.configured_locations;
        Ok(response
            .map(|r| r.locations)
            .unwrap_or_default()
            .iter()
            .filter(|l| l.status.as_deref().is_none_or(|s| s == "ACTIVE"))
            .filter(|l| wanted.is_empty() || wanted.contains(&l.id))
            .map(mapping::SquareLocation::to_domain)
            .collect())
    }

    async fn catalog(&self) -> Result<Catalog, PosError> {
        let (categories, items, _) = mapping::catalog(&self.catalog_objects().await?);
        Ok(Catalog { categories, items })
    }

    async fn vendors(&self) -> Result<Vec<Vendor>, PosError> {
        let vendors =
            self.search("/v2/vendors/search", json!({}), |page: VendorsPage| (page.vendors, page.cursor)).await?;
        Ok(vendors.iter().map(mapping::SquareVendor::to_domain).collect())
    }

    async fn vendor_terms(&self) -> Result<Vec<VendorItem>, PosError> {
        Ok(mapping::catalog(&self.catalog_objects().await?).2)
    }

    async fn stock_levels(
        &self,
        variations: &[VariationId],
        location: Option<&LocationId>,
    ) -> Result<Vec<StockLevel>, PosError> {
        let locations: Vec<String> = match location {
            Some(l) => vec![l.0.clone()],
            None => self.location_ids().await?.clone(),
        };
        let mut levels = Vec::new();
        // Square takes at most 1,000 object ids per request.
        let chunks: Vec<Vec<String>> = if variations.is_empty() {
            vec![Vec::new()]
        } else {
            variations.chunks(1_000).map(|c| c.iter().map(|v| v.0.clone()).collect()).collect()
        };
        for ids in chunks {
            let mut body = json!({ "location_ids": locations, "states": ["IN_STOCK"] });
            if !ids.is_empty() {
                body["catalog_object_ids"] = json!(ids);
            }
            let counts = self
                .search("/v2/inventory/counts/batch-retrieve", body, |page: CountsPage| (page.counts, page.cursor))
                .await?;
            for count in &counts {
                levels.extend(count.to_domain()?);
            }
        }
        Ok(levels)
    }

    async fn orders_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Order>, PosError> {
        let filter =
            json!({ "date_time_filter": { "created_at": { "start_at": rfc3339(from_ms), "end_at": rfc3339(to_ms) } } });
        let mut orders = self.search_orders(filter, "ASC").await?;
        orders.retain(|o| location.is_none_or(|l| &o.location_id == l) && o.created_at_ms < to_ms);
        Ok(orders)
    }

    /// ListPayments per location (it takes one location at a time), oldest first.
    async fn payments_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Payment>, PosError> {
        let locations: Vec<String> = match location {
            Some(l) => vec![l.0.clone()],
            None => self.location_ids().await?.clone(),
        };
        let mut payments = Vec::new();
        for location in locations {
            let mut cursor: Option<String> = None;
            for page in 0..=MAX_PAGES {
                if page == MAX_PAGES {
                    return Err(PosError::Malformed(format!("/v2/payments: more than {MAX_PAGES} pages")));
                }
                let mut query = vec![
                    ("begin_time", rfc3339(from_ms)),
                    ("end_time", rfc3339(to_ms)),
                    ("sort_order", "ASC".to_owned()),
                    ("location_id", location.clone()),
                    ("limit", "100".to_owned()),
                ];
                if let Some(cursor) = &cursor {
                    query.push(("cursor", cursor.clone()));
                }
                let Some(found) = self.client.get::<PaymentsPage>("/v2/payments", &query).await? else { break };
                for payment in &found.payments {
                    payments.push(payment.to_domain()?);
                }
                cursor = found.cursor.filter(|c| !c.is_empty());
                if cursor.is_none() {
                    break;
                }
            }
        }
        payments.retain(|p| p.created_at_ms >= from_ms && p.created_at_ms < to_ms);
        payments.sort_by_key(|p| p.created_at_ms);
        Ok(payments)
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, PosError> {
        let path = format!("/v2/orders/{}", path_segment(id.as_str()));
        self.client.get::<OrderResponse>(&path, &[]).await?.map(|r| r.order.to_domain()).transpose()
    }

    async fn orders_by_number(&self, number: &str) -> Result<Vec<Order>, PosError> {
        let number = normalize_order_number(number);
        let known = self.store.order_ids_by_number(&number).await.map_err(|e| PosError::Unavailable(e.to_string()))?;
        let mut orders = Vec::new();
        for id in known {
            orders.extend(self.order(&OrderId::new(id)).await?);
        }
        if orders.is_empty() {
            let now = crate::store::now_ms();
            let recent = self.orders_between(now - NUMBER_SEARCH_DAYS * 86_400_000, now + 60_000, None).await?;
            orders.extend(recent.into_iter().filter(|o| o.number == number));
        }
        Ok(orders)
    }

    async fn orders_for_customer(&self, customer: &CustomerId) -> Result<Vec<Order>, PosError> {
        self.search_orders(json!({ "customer_filter": { "customer_ids": [customer.as_str()] } }), "DESC").await
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, PosError> {
        let path = format!("/v2/customers/{}", path_segment(id.as_str()));
        Ok(self.client.get::<CustomerResponse>(&path, &[]).await?.map(|r| r.customer.to_domain()))
    }

    async fn customers_by_phone(&self, phone: &Phone) -> Result<Vec<Customer>, PosError> {
        let found = self.search_customers(json!({ "phone_number": { "exact": phone.as_str() } })).await?;
        // Square matches on what was typed; only numbers that are really this one count.
        Ok(found.into_iter().filter(|c| c.phone.as_ref() == Some(phone)).collect())
    }

    async fn customers_by_email(&self, email: &str) -> Result<Vec<Customer>, PosError> {
        let email = email.trim().to_lowercase();
        let found = self.search_customers(json!({ "email_address": { "exact": email } })).await?;
        Ok(found.into_iter().filter(|c| c.email.as_deref() == Some(email.as_str())).collect())
    }

    /// A `PHYSICAL_COUNT` through BatchChangeInventory. Square applies a request once per
    /// idempotency key, so the retries in the client are safe.
    async fn record_count(
        &self,
        variation: &VariationId,
        location: &LocationId,
        on_hand: Quantity,
        idempotency_key: &str,
    ) -> Result<(), PosError> {
        if idempotency_key.is_empty() {
            return Err(PosError::Rejected { status: 400, message: "a stock write needs an idempotency key".into() });
        }
        let body = json!({
            "idempotency_key": idempotency_key,
            "ignore_unchanged_counts": true,
            "changes": [{
                "type": "PHYSICAL_COUNT",
                "physical_count": {
                    "catalog_object_id": variation.as_str(),
                    "state": "IN_STOCK",
                    "location_id": location.as_str(),
                    "quantity": on_hand.to_string(),
                    "occurred_at": rfc3339(crate::store::now_ms()),
                },
            }],
        });
        match self.client.post::<Value>("/v2/inventory/changes/batch-create", &body).await? {
            Some(_) => Ok(()),
            None => Err(PosError::Rejected { status: 404, message: "BatchChangeInventory is not available".into() }),
        }
    }
}
