//! Lightspeed Retail (X-Series).
//!
//! Contract (see the shared PLATFORMS notes, section 8, and x-series-api.lightspeedhq.com):
//! - Everything is on the retailer's origin `https://{domain_prefix}.retail.lightspeed.app`:
//!   the API under `/api/2.0`, the token endpoint at `/api/1.0/token`.
//! - Auth: OAuth 2.0 authorization code; `Authorization: Bearer`. Access tokens expire
//!   (`expires`, `expires_in`) and are refreshed before they do; **every refresh revokes the
//!   refresh token used**, so the new one is stored before the new access token is used
//!   (client.rs).
//! - Pagination: collections answer `{"data", "version": {"min", "max"}}`; the next page is
//!   `after=<version.max>` with `page_size`, until an empty page. `GET /search` pages by
//!   `offset`. Versions only grow, so they are also the incremental-sync cursor.
//! - Limits: `300 × registers + 50` requests per 5 minutes per retailer and app, reported in
//!   `X-RateLimit-Limit`/`-Remaining` on every answer; over it, 429 with `Retry-After` as an
//!   HTTP date.
//! - Writes: a stock count is an inventory-count consignment (`STOCKTAKE`). Creating a
//!   consignment takes no idempotency key, so the count is named after its key and looked for
//!   before one is created; only the counted product is ever on it, because completing a
//!   count sets every uncounted product on it to 0.
//! - Webhooks: form-encoded, the event JSON (API 0.9 shapes) in the `payload` field;
//!   `X-Signature: signature=...,algorithm=HMAC-SHA256` keyed with the app's client secret
//!   over the raw body. The body names no event type: each type is registered at its own URL
//!   (`?type=inventory.update`), else inferred from the payload. Ack 2xx within 5 s; retried up
//!   to 20 times over 48 h, and not guaranteed: the scheduled pull reconciles. No delivery id:
//!   dedupe on type, entity id and `version`.
//! - Order numbers: the sale's `invoice_number`. Each variant is a product; returns are sales
//!   of their own (`return_for`).

pub mod client;
pub mod mapping;
pub mod webhook;

use crate::domain::{
    Catalog, Customer, CustomerId, Location, LocationId, Order, OrderId, Payment, Phone, Quantity, Receipt, StockLevel,
    SupplierOrder, VariationId, Vendor, VendorItem, order::normalize_order_number,
};
use crate::pos::http::path_segment;
use crate::pos::{Pos, PosError};
use async_trait::async_trait;
use client::LightspeedClient;
use mapping::{
    LsConsignment, LsConsignmentLine, LsCustomer, LsInventory, LsOutlet, LsProduct, LsSale, LsSupplier, One, Page,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use tokio::sync::RwLock;

/// Up to this many products are read one by one; more, and the whole inventory is cheaper.
const STOCK_ONE_BY_ONE: usize = 10;
/// Consignment types.
pub const STOCKTAKE: &str = "STOCKTAKE";
pub const SUPPLIER: &str = "SUPPLIER";

pub struct LightspeedPos {
    client: LightspeedClient,
    /// Product id to display name: sale lines carry only the product.
    names: RwLock<HashMap<String, String>>,
    /// Every sale read so far, and the version to read changes after.
    sales: tokio::sync::Mutex<Sales>,
}

/// The 2.0 sales list has no date filter, so the first read walks every sale; from then on
/// only the sales changed since the highest version seen are read (a new sale, a layby paid
/// off, a void), which keeps a reconciliation every few minutes inside the rate limit.
#[derive(Default)]
struct Sales {
    all: Vec<LsSale>,
    at: HashMap<String, usize>,
    version: Option<i64>,
}

/// The name a stock count is created under, and found again by.
pub fn count_name(idempotency_key: &str) -> String {
    format!("Tillpilot count {idempotency_key}")
}

/// The name a supplier order is created under, and found again by.
pub fn order_name(number: &str) -> String {
    format!("Tillpilot {number}")
}

impl LightspeedPos {
    pub fn new(client: LightspeedClient) -> LightspeedPos {
        LightspeedPos { client, names: RwLock::default(), sales: tokio::sync::Mutex::default() }
    }

    pub fn client(&self) -> &LightspeedClient {
        &self.client
    }

    async fn products(&self) -> Result<Vec<LsProduct>, PosError> {
        let products: Vec<LsProduct> = self.client.collection("/products", &[]).await?;
        let (_, items) = mapping::catalog(&products)?;
        let mut names = self.names.write().await;
        for item in &items {
            for variation in &item.variations {
                names.insert(variation.id.0.clone(), item.display_name(variation));
            }
        }
        Ok(products)
    }

    /// Orders from sales, with every line named.
    async fn orders_of(&self, sales: &[LsSale]) -> Result<Vec<Order>, PosError> {
        let known = {
            let names = self.names.read().await;
            sales
                .iter()
                .flat_map(|s| &s.line_items)
                .filter_map(|l| l.product_id.as_ref())
                .all(|p| names.contains_key(p))
        };
        if !known {
            self.products().await?;
        }
        mapping::orders(sales, &*self.names.read().await)
    }

    /// Every sale, brought up to date by reading what changed since the last read.
    async fn sales(&self) -> Result<tokio::sync::MutexGuard<'_, Sales>, PosError> {
        let mut sales = self.sales.lock().await;
        let (changed, version) = self.client.collection_after::<LsSale>("/sales", &[], sales.version).await?;
        for sale in changed {
            match sales.at.get(&sale.id).copied() {
                Some(i) => sales.all[i] = sale,
                None => {
                    let i = sales.all.len();
                    sales.at.insert(sale.id.clone(), i);
                    sales.all.push(sale);
                }
            }
        }
        sales.version = version;
        Ok(sales)
    }

    async fn search_customers(&self, field: &str, value: &str) -> Result<Vec<LsCustomer>, PosError> {
        self.client.search("customers", &[(field, value.to_owned())]).await
    }

    /// The consignment of `kind` at `outlet` named `name`, if one was made.
    pub async fn find_consignment(
        &self,
        kind: &str,
        outlet: &LocationId,
        name: &str,
    ) -> Result<Option<LsConsignment>, PosError> {
        let query = [("type", kind.to_owned()), ("outlet_id", outlet.0.clone())];
        let found: Vec<LsConsignment> = self.client.collection("/consignments", &query).await?;
        Ok(found.into_iter().rev().find(|c| {
            c.deleted_at.is_none()
                && c.kind.as_deref().is_none_or(|k| k == kind)
                && c.outlet_id.as_deref().is_none_or(|o| o == outlet.as_str())
                && c.name.as_deref() == Some(name)
        }))
    }

    /// The consignment named `name`, created from `body` only when no earlier attempt made it.
    /// A create whose answer was lost may still have happened, so a failure looks again before
    /// it counts. (Supplier orders go through here too: `type: SUPPLIER` with `supplier_id`.)
    pub async fn ensure_consignment(
        &self,
        kind: &str,
        outlet: &LocationId,
        name: &str,
        body: Value,
    ) -> Result<LsConsignment, PosError> {
        if let Some(existing) = self.find_consignment(kind, outlet, name).await? {
            return Ok(existing);
        }
        let mut body = body;
        body["name"] = json!(name);
        body["type"] = json!(kind);
        body["outlet_id"] = json!(outlet.as_str());
        match self.client.post_once::<One<LsConsignment>>("/consignments", &body).await {
            Ok(Some(created)) => Ok(created.data),
            Ok(None) => Err(PosError::Rejected { status: 404, message: "consignments are not available".into() }),
            Err(err) => match self.find_consignment(kind, outlet, name).await? {
                Some(made) => Ok(made),
                None => Err(err),
            },
        }
    }

    pub async fn consignment_lines(&self, id: &str) -> Result<Vec<LsConsignmentLine>, PosError> {
        let path = format!("/consignments/{}/products", path_segment(id));
        Ok(self.client.get::<Page<LsConsignmentLine>>(&path, &[]).await?.map(|p| p.data).unwrap_or_default())
    }

    /// Puts `product` on the consignment with `figures` (`count`, `received`, `cost`): adds
    /// the line once (looking again if the add fails), or sets an existing line's figures.
    pub async fn set_consignment_line(&self, id: &str, product: &str, figures: Value) -> Result<(), PosError> {
        self.set_consignment_lines(id, &[(product.to_owned(), figures)]).await
    }

    /// `set_consignment_line` for several products, reading the consignment's lines once.
    /// Lines are only ever set, never added twice: while a consignment is open, adding a
    /// product that is already on it adds to its count.
    pub async fn set_consignment_lines(&self, id: &str, lines: &[(String, Value)]) -> Result<(), PosError> {
        let mut on: std::collections::HashSet<String> =
            self.consignment_lines(id).await?.into_iter().map(|l| l.product_id).collect();
        for (product, figures) in lines {
            let line_path = format!("/consignments/{}/products/{}", path_segment(id), path_segment(product));
            if on.contains(product) {
                self.client.put::<Value>(&line_path, figures).await?;
                continue;
            }
            let mut body = figures.clone();
            body["product_id"] = json!(product);
            let path = format!("/consignments/{}/products", path_segment(id));
            if let Err(err) = self.client.post_once::<Value>(&path, &body).await {
                on = self.consignment_lines(id).await?.into_iter().map(|l| l.product_id).collect();
                if !on.contains(product) {
                    return Err(err);
                }
                self.client.put::<Value>(&line_path, figures).await?;
            }
            on.insert(product.clone());
        }
        Ok(())
    }

    pub async fn consignment(&self, id: &str) -> Result<Option<LsConsignment>, PosError> {
        let path = format!("/consignments/{}", path_segment(id));
        Ok(self.client.get::<One<LsConsignment>>(&path, &[]).await?.map(|c| c.data))
    }

    pub async fn set_consignment_status(&self, id: &str, status: &str) -> Result<(), PosError> {
        let path = format!("/consignments/{}", path_segment(id));
        match self.client.put::<Value>(&path, &json!({ "status": status })).await? {
            Some(_) => Ok(()),
            None => Err(PosError::Rejected { status: 404, message: format!("no consignment {id}") }),
        }
    }
}

/// The digits a number is searched by: the national number for North America (the till
/// keeps what was typed, `(312) 555-0143` as often as `+13125550143`), else all of them.
fn search_digits(phone: &Phone) -> String {
    let digits = phone.as_str().trim_start_matches('+');
    digits.strip_prefix('1').filter(|n| n.len() == 10).unwrap_or(digits).to_owned()
}

#[async_trait]
impl Pos for LightspeedPos {
    fn provider(&self) -> &'static str {
        "lightspeed"
    }

    async fn locations(&self) -> Result<Vec<Location>, PosError> {
        let outlets: Vec<LsOutlet> = self.client.collection("/outlets", &[]).await?;
        Ok(outlets.iter().filter(|o| o.deleted_at.is_none()).map(LsOutlet::to_domain).collect())
    }

    async fn catalog(&self) -> Result<Catalog, PosError> {
        let (categories, items) = mapping::catalog(&self.products().await?)?;
        Ok(Catalog { categories, items })
    }

    async fn vendors(&self) -> Result<Vec<Vendor>, PosError> {
        let suppliers: Vec<LsSupplier> = self.client.collection("/suppliers", &[]).await?;
        Ok(suppliers.iter().filter(|s| s.deleted_at.is_none()).map(LsSupplier::to_domain).collect())
    }

    async fn vendor_terms(&self) -> Result<Vec<VendorItem>, PosError> {
        mapping::vendor_terms(&self.products().await?)
    }

    async fn stock_levels(
        &self,
        variations: &[VariationId],
        location: Option<&LocationId>,
    ) -> Result<Vec<StockLevel>, PosError> {
        let now = crate::store::now_ms();
        let records: Vec<LsInventory> = if !variations.is_empty() && variations.len() <= STOCK_ONE_BY_ONE {
            let mut records = Vec::new();
            for id in variations {
                let path = format!("/products/{}/inventory", path_segment(id.as_str()));
                records.extend(
                    self.client.get::<Page<LsInventory>>(&path, &[]).await?.map(|p| p.data).unwrap_or_default(),
                );
            }
            records
        } else {
            self.client.collection("/inventory", &[]).await?
        };
        let mut levels = records.iter().map(|r| r.to_domain(now)).collect::<Result<Vec<_>, _>>()?;
        levels.retain(|l| {
            location.is_none_or(|wanted| &l.location_id == wanted)
                && (variations.is_empty() || variations.contains(&l.variation_id))
        });
        Ok(levels)
    }

    /// The 2.0 sales list has no date filter: the version cursor walks them all, and the window
    /// is applied here (returns count against the sales they return).
    async fn orders_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Order>, PosError> {
        let sales = self.sales().await?;
        let mut orders = self.orders_of(&sales.all).await?;
        drop(sales);
        orders.retain(|o| {
            o.created_at_ms >= from_ms && o.created_at_ms < to_ms && location.is_none_or(|l| &o.location_id == l)
        });
        orders.sort_by(|a, b| (a.created_at_ms, &a.id.0).cmp(&(b.created_at_ms, &b.id.0)));
        Ok(orders)
    }

    async fn payments_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Payment>, PosError> {
        let sales = self.sales().await?;
        let refunds = mapping::refunds(&sales.all)?;
        let mut payments = Vec::new();
        for sale in sales.all.iter().filter(|s| !s.is_return()) {
            payments.extend(sale.payments(refunds.get(sale.id.as_str()).copied().unwrap_or_default())?);
        }
        payments.retain(|p| {
            p.created_at_ms >= from_ms && p.created_at_ms < to_ms && location.is_none_or(|l| &p.location_id == l)
        });
        payments.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(payments)
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, PosError> {
        let path = format!("/sales/{}", path_segment(id.as_str()));
        let Some(sale) = self.client.get::<One<LsSale>>(&path, &[]).await? else { return Ok(None) };
        Ok(self.orders_of(std::slice::from_ref(&sale.data)).await?.into_iter().next())
    }

    async fn orders_by_number(&self, number: &str) -> Result<Vec<Order>, PosError> {
        let number = normalize_order_number(number);
        if number.is_empty() {
            return Ok(Vec::new());
        }
        let sales: Vec<LsSale> = self.client.search("sales", &[("invoice_number", number.clone())]).await?;
        let mut orders = self.orders_of(&sales).await?;
        orders.retain(|o| o.number == number);
        Ok(orders)
    }

    async fn orders_for_customer(&self, customer: &CustomerId) -> Result<Vec<Order>, PosError> {
        let sales: Vec<LsSale> = self.client.search("sales", &[("customer_id", customer.0.clone())]).await?;
        let mut orders = self.orders_of(&sales).await?;
        orders.retain(|o| o.customer_id.as_ref() == Some(customer));
        orders.sort_by(|a, b| (b.created_at_ms, &b.id.0).cmp(&(a.created_at_ms, &a.id.0)));
        Ok(orders)
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, PosError> {
        let path = format!("/customers/{}", path_segment(id.as_str()));
        let found = self.client.get::<One<LsCustomer>>(&path, &[]).await?;
        Ok(found.filter(|c| c.data.deleted_at.is_none()).map(|c| c.data.to_domain()))
    }

    /// Searched by mobile, then by phone, keeping only numbers that really are this one.
    async fn customers_by_phone(&self, phone: &Phone) -> Result<Vec<Customer>, PosError> {
        let digits = search_digits(phone);
        let mut found: Vec<Customer> = Vec::new();
        for field in ["mobile", "phone"] {
            for customer in self.search_customers(field, &digits).await? {
                if customer.deleted_at.is_none()
                    && customer.phones().contains(phone)
                    && !found.iter().any(|c| c.id.as_str() == customer.id)
                {
                    found.push(customer.to_domain());
                }
            }
        }
        Ok(found)
    }

    async fn customers_by_email(&self, email: &str) -> Result<Vec<Customer>, PosError> {
        let email = email.trim().to_lowercase();
        let found = self.search_customers("email", &email).await?;
        Ok(found
            .iter()
            .filter(|c| c.deleted_at.is_none())
            .map(LsCustomer::to_domain)
            .filter(|c| c.email.as_deref() == Some(email.as_str()))
            .collect())
    }

    /// An inventory count with exactly one product on it: created under the count's key (or
    /// found again, when an earlier attempt made it), the product counted, then completed. A
    /// count already complete is not applied again; one with any other product on it is never
    /// completed, since that would set the other product to 0.
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
        let name = count_name(idempotency_key);
        let body = json!({ "status": "STOCKTAKE_SCHEDULED", "show_inactive": false, "filters": [] });
        let count = self.ensure_consignment(STOCKTAKE, location, &name, body).await?;
        match count.status.as_deref() {
            Some("STOCKTAKE_COMPLETE") => return Ok(()),
            Some(status @ ("CANCELLED" | "CLOSED")) => {
                return Err(PosError::Rejected {
                    status: 409,
                    message: format!("the count {name:?} was {} in Lightspeed", status.to_lowercase()),
                });
            }
            _ => {}
        }
        let counted = on_hand.to_string();
        self.set_consignment_line(&count.id, variation.as_str(), json!({ "received": counted })).await?;
        let lines = self.consignment_lines(&count.id).await?;
        if let Some(other) = lines.iter().find(|l| l.product_id != variation.as_str()) {
            return Err(PosError::Rejected {
                status: 409,
                message: format!(
                    "the count {name:?} also holds product {}; completing it would set that to 0, so it was left open",
                    other.product_id
                ),
            });
        }
        self.set_consignment_status(&count.id, "STOCKTAKE_COMPLETE").await
    }

    fn keeps_purchase_orders(&self) -> bool {
        true
    }

    /// A `SUPPLIER` consignment for the outlet, named after the PO's number (or found again by
    /// it), with the PO's products, counts and costs set, then `SENT`. One that is already
    /// past `OPEN` was finished by an earlier attempt and is left as it is.
    async fn place_purchase_order(&self, order: &SupplierOrder) -> Result<String, PosError> {
        let name = order_name(&order.number);
        let mut body = json!({ "status": "OPEN" });
        if let Some(vendor) = &order.vendor_id {
            body["supplier_id"] = json!(vendor.as_str());
        }
        let consignment = self.ensure_consignment(SUPPLIER, &order.location_id, &name, body).await?;
        match consignment.status.as_deref().unwrap_or("OPEN") {
            "OPEN" => {
                let lines: Vec<(String, Value)> = order
                    .lines
                    .iter()
                    .map(|l| {
                        let figures =
                            json!({ "count": l.quantity.to_string(), "cost": mapping::decimal_text(l.unit_cost) });
                        (l.variation_id.0.clone(), figures)
                    })
                    .collect();
                self.set_consignment_lines(&consignment.id, &lines).await?;
                self.set_consignment_status(&consignment.id, "SENT").await?;
            }
            "CANCELLED" => {
                return Err(PosError::Rejected {
                    status: 409,
                    message: format!("the supplier order {name:?} was cancelled in Lightspeed"),
                });
            }
            _ => {}
        }
        Ok(consignment.id)
    }

    /// Booked in once the consignment is `RECEIVED`; the received count of each line, which
    /// may be less than was ordered.
    async fn purchase_order_receipt(&self, pos_order_id: &str) -> Result<Option<Receipt>, PosError> {
        let Some(consignment) = self.consignment(pos_order_id).await? else { return Ok(None) };
        if consignment.status.as_deref() != Some("RECEIVED") {
            return Ok(None);
        }
        let mut lines = Vec::new();
        for line in self.consignment_lines(pos_order_id).await? {
            let received = line.received.as_ref().map_or(Ok(Quantity::ZERO), mapping::Decimal::quantity)?;
            lines.push((VariationId::new(&line.product_id), received));
        }
        Ok(Some(Receipt { pos_order_id: pos_order_id.to_owned(), lines }))
    }
}
