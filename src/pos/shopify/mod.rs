//! Shopify.
//!
//! Contract (see the shared PLATFORMS notes, section 3, and shopify.dev/docs/api/admin-graphql):
//! - Admin GraphQL API (REST is legacy): `POST /admin/api/{version}/graphql.json` with
//!   `X-Shopify-Access-Token`; the version is pinned (client.rs).
//! - Rate limit: a cost bucket (100 points/s restore on standard plans), reported in every
//!   answer's `extensions.cost`; over budget the answer is `THROTTLED` (HTTP 200).
//! - Pagination: connections with `pageInfo { hasNextPage endCursor }` and `after`.
//! - Search syntax in `query:` (`name:#1001`, `created_at:>=...`, `customer_id:...`).
//! - Webhooks: header `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(app client secret, raw
//!   body)); headers are case-insensitive. Ack: 2xx within 5 seconds; up to 8 retries over 4
//!   hours with the original payload. Dedupe key: `X-Shopify-Webhook-Id`; the topic is in
//!   `X-Shopify-Topic`.
//! - Order numbers: the order's `name` (`#1001`); customers type it with or without `#`.
//! - Shopify keeps no vendor records, only a free-text `vendor` per product; each name is a
//!   vendor here (lead time and contact come from `[[vendors]]` of that name), supplying its
//!   products at their inventory items' `unitCost`.

pub mod client;
pub mod mapping;
pub mod webhook;

use crate::domain::{
    Catalog, Customer, CustomerId, Location, LocationId, Order, OrderId, Payment, Phone, Quantity, StockLevel,
    VariationId, Vendor, VendorItem, order::normalize_order_number,
};
use crate::pos::{Pos, PosError};
use async_trait::async_trait;
use client::ShopifyClient;
use mapping::{Connection, ShopifyCustomer, ShopifyLevel, ShopifyLocation, ShopifyOrder, ShopifyProduct, gid, tail};
use serde::Deserialize;
use serde_json::{Value, json};

const MAX_PAGES: usize = 1_000;
/// Variant ids per stock query.
const STOCK_BATCH: usize = 100;

const LOCATIONS: &str = "query Locations($after: String) { shop { ianaTimezone } \
    locations(first: 250, after: $after) { nodes { id name isActive } pageInfo { hasNextPage endCursor } } }";
const PRODUCTS: &str = "query Products($after: String) { products(first: 100, after: $after) { \
    nodes { id title productType vendor status \
    variants(first: 100) { nodes { id title sku price inventoryItem { unitCost { amount } } } } } \
    pageInfo { hasNextPage endCursor } } }";
const ORDER_FIELDS: &str = "fragment OrderFields on Order { id name createdAt cancelledAt closed customer { id } \
    retailLocation { id } totalPriceSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } } \
    totalRefundedSet { shopMoney { amount } } \
    lineItems(first: 100) { nodes { name quantity variant { id } originalUnitPriceSet { shopMoney { amount } } \
    totalDiscountSet { shopMoney { amount } } } } \
    fulfillmentOrders(first: 5) { nodes { status updatedAt deliveryMethod { methodType } \
    assignedLocation { location { id } } } } \
    fulfillments(first: 5) { displayStatus updatedAt trackingInfo(first: 1) { company number url } } }";
const ORDERS: &str = "query Orders($query: String, $after: String, $reverse: Boolean) { \
    orders(first: 50, after: $after, query: $query, sortKey: CREATED_AT, reverse: $reverse) { \
    nodes { ...OrderFields } pageInfo { hasNextPage endCursor } } }";
const ORDER_PAYMENTS: &str = "query OrderPayments($query: String, $after: String) { \
    orders(first: 50, after: $after, query: $query, sortKey: CREATED_AT) { nodes { id retailLocation { id } \
    fulfillmentOrders(first: 1) { nodes { assignedLocation { location { id } } } } \
    transactions(first: 20) { id kind status gateway createdAt amountSet { shopMoney { amount } } \
    parentTransaction { id } paymentDetails { ... on CardPaymentDetails { number wallet } } } } \
    pageInfo { hasNextPage endCursor } } }";
const ORDER: &str = "query Order($id: ID!) { order(id: $id) { ...OrderFields } }";
const CUSTOMER_FIELDS: &str = "fragment CustomerFields on Customer { id firstName lastName \
    defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber } }";
const CUSTOMERS: &str = "query Customers($query: String) { customers(first: 50, query: $query) { \
    nodes { ...CustomerFields } } }";
const CUSTOMER: &str = "query Customer($id: ID!) { customer(id: $id) { ...CustomerFields } }";
const VARIANT_STOCK: &str = "query VariantStock($ids: [ID!]!) { nodes(ids: $ids) { ... on ProductVariant { id \
    inventoryItem { id inventoryLevels(first: 50) { nodes { location { id } \
    quantities(names: [\"available\"]) { name quantity } updatedAt } } } } } }";
const LOCATION_STOCK: &str = "query LocationStock($id: ID!, $after: String) { location(id: $id) { \
    inventoryLevels(first: 250, after: $after) { nodes { item { variant { id } } \
    quantities(names: [\"available\"]) { name quantity } updatedAt } pageInfo { hasNextPage endCursor } } } }";
const SET_AVAILABLE: &str = "mutation SetAvailable($input: InventorySetQuantitiesInput!) { \
    inventorySetQuantities(input: $input) { userErrors { field message } } }";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationsData {
    shop: ShopData,
    locations: Connection<ShopifyLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShopData {
    iana_timezone: Option<String>,
}

#[derive(Deserialize)]
struct ProductsData {
    products: Connection<ShopifyProduct>,
}

#[derive(Deserialize)]
struct OrdersData {
    orders: Connection<ShopifyOrder>,
}

#[derive(Deserialize)]
struct OrderPaymentsData {
    orders: Connection<mapping::OrderTransactions>,
}

#[derive(Deserialize)]
struct OrderData {
    order: Option<ShopifyOrder>,
}

#[derive(Deserialize)]
struct CustomersData {
    customers: Connection<ShopifyCustomer>,
}

#[derive(Deserialize)]
struct CustomerData {
    customer: Option<ShopifyCustomer>,
}

#[derive(Deserialize)]
struct NodesData {
    nodes: Vec<Option<VariantStock>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantStock {
    id: Option<String>,
    inventory_item: Option<InventoryItemLevels>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InventoryItemLevels {
    id: String,
    inventory_levels: Connection<ShopifyLevel>,
}

#[derive(Deserialize)]
struct LocationStockData {
    location: Option<LocationLevels>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LocationLevels {
    inventory_levels: Connection<ShopifyLevel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetData {
    inventory_set_quantities: Option<UserErrors>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserErrors {
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
struct UserError {
    message: String,
}

pub struct ShopifyPos {
    client: ShopifyClient,
}

impl ShopifyPos {
    pub fn new(client: ShopifyClient) -> ShopifyPos {
        ShopifyPos { client }
    }

    async fn products(&self) -> Result<Vec<ShopifyProduct>, PosError> {
        self.pages(PRODUCTS, json!({}), |d: ProductsData| {
            let next = d.products.next_cursor();
            (d.products.nodes, next)
        })
        .await
    }

    /// Follows `after` through a connection query.
    async fn pages<D: serde::de::DeserializeOwned, T>(
        &self,
        query: &str,
        variables: Value,
        mut take: impl FnMut(D) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, PosError> {
        let mut out = Vec::new();
        let mut variables = variables;
        for _ in 0..MAX_PAGES {
            let (items, next) = take(self.client.query::<D>(query, variables.clone()).await?);
            out.extend(items);
            match next {
                Some(cursor) => variables["after"] = Value::String(cursor),
                None => return Ok(out),
            }
        }
        Err(PosError::Malformed(format!("more than {MAX_PAGES} pages")))
    }

    async fn search_orders(&self, search: String, newest_first: bool) -> Result<Vec<Order>, PosError> {
        let query = format!("{ORDERS} {ORDER_FIELDS}");
        let orders = self
            .pages(&query, json!({ "query": search, "reverse": newest_first }), |d: OrdersData| {
                let next = d.orders.next_cursor();
                (d.orders.nodes, next)
            })
            .await?;
        orders.iter().map(ShopifyOrder::to_domain).collect()
    }

    async fn search_customers(&self, search: String) -> Result<Vec<Customer>, PosError> {
        let query = format!("{CUSTOMERS} {CUSTOMER_FIELDS}");
        let found: CustomersData = self.client.query(&query, json!({ "query": search })).await?;
        Ok(found.customers.nodes.iter().map(ShopifyCustomer::to_domain).collect())
    }

    async fn variant_stock(&self, variations: &[VariationId]) -> Result<Vec<(String, InventoryItemLevels)>, PosError> {
        let mut out = Vec::new();
        for chunk in variations.chunks(STOCK_BATCH) {
            let ids: Vec<String> = chunk.iter().map(|v| gid("ProductVariant", v.as_str())).collect();
            let found: NodesData = self.client.query(VARIANT_STOCK, json!({ "ids": ids })).await?;
            for node in found.nodes.into_iter().flatten() {
                if let (Some(id), Some(item)) = (node.id, node.inventory_item) {
                    out.push((tail(&id).to_owned(), item));
                }
            }
        }
        Ok(out)
    }

    async fn set_available(
        &self,
        variation: &VariationId,
        location: &LocationId,
        units: Quantity,
    ) -> Result<(), PosError> {
        let items = self.variant_stock(std::slice::from_ref(variation)).await?;
        let Some((_, item)) = items.first() else {
            return Err(PosError::Rejected { status: 404, message: format!("no variant {}", variation.as_str()) });
        };
        let input = json!({
            "name": "available",
            "reason": "cycle_count_available",
            "ignoreCompareQuantity": true,
            "quantities": [{
                "inventoryItemId": item.id,
                "locationId": gid("Location", location.as_str()),
                "quantity": units.milli().div_euclid(1000),
            }],
        });
        let answer: SetData = self.client.query(SET_AVAILABLE, json!({ "input": input })).await?;
        match answer.inventory_set_quantities.and_then(|r| r.user_errors.into_iter().next()) {
            Some(error) => Err(PosError::Rejected { status: 200, message: error.message }),
            None => Ok(()),
        }
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Quotes a value for Shopify's search syntax.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[async_trait]
impl Pos for ShopifyPos {
    fn provider(&self) -> &'static str {
        "shopify"
    }

    async fn locations(&self) -> Result<Vec<Location>, PosError> {
        let mut timezone = String::from("UTC");
        let locations = self
            .pages(LOCATIONS, json!({}), |d: LocationsData| {
                if let Some(tz) = d.shop.iana_timezone {
                    timezone = tz;
                }
                let next = d.locations.next_cursor();
                (d.locations.nodes, next)
            })
            .await?;
        Ok(locations.iter().filter(|l| l.is_active).map(|l| l.to_domain(&timezone)).collect())
    }

    async fn catalog(&self) -> Result<Catalog, PosError> {
        let (categories, items) = mapping::catalog(&self.products().await?)?;
        Ok(Catalog { categories, items })
    }

    async fn vendors(&self) -> Result<Vec<Vendor>, PosError> {
        Ok(mapping::vendors(&self.products().await?)?.0)
    }

    async fn vendor_terms(&self) -> Result<Vec<VendorItem>, PosError> {
        Ok(mapping::vendors(&self.products().await?)?.1)
    }

    async fn stock_levels(
        &self,
        variations: &[VariationId],
        location: Option<&LocationId>,
    ) -> Result<Vec<StockLevel>, PosError> {
        let mut levels = Vec::new();
        if variations.is_empty() {
            let locations = match location {
                Some(l) => vec![l.clone()],
                None => self.locations().await?.into_iter().map(|l| l.id).collect(),
            };
            for location in locations {
                let id = gid("Location", location.as_str());
                let found = self
                    .pages(LOCATION_STOCK, json!({ "id": id }), |d: LocationStockData| match d.location {
                        Some(l) => {
                            let next = l.inventory_levels.next_cursor();
                            (l.inventory_levels.nodes, next)
                        }
                        None => (Vec::new(), None),
                    })
                    .await?;
                for level in &found {
                    levels.extend(level.to_domain(None, Some(location.as_str()))?);
                }
            }
            return Ok(levels);
        }
        for (variant, item) in self.variant_stock(variations).await? {
            for level in &item.inventory_levels.nodes {
                levels.extend(level.to_domain(Some(&variant), None)?);
            }
        }
        levels.retain(|l| location.is_none_or(|wanted| &l.location_id == wanted));
        Ok(levels)
    }

    async fn orders_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Order>, PosError> {
        // The search syntax works in whole seconds; the exact window is applied afterwards.
        let search = format!("created_at:>={} created_at:<={}", quoted(&iso(from_ms)), quoted(&iso(to_ms + 999)));
        let mut orders = self.search_orders(search, false).await?;
        orders.retain(|o| {
            o.created_at_ms >= from_ms && o.created_at_ms < to_ms && location.is_none_or(|l| &o.location_id == l)
        });
        Ok(orders)
    }

    /// Shopify keeps payments as transactions on orders: those of the orders created in the
    /// window.
    async fn payments_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        location: Option<&LocationId>,
    ) -> Result<Vec<Payment>, PosError> {
        let search = format!("created_at:>={} created_at:<={}", quoted(&iso(from_ms)), quoted(&iso(to_ms + 999)));
        let orders = self
            .pages(ORDER_PAYMENTS, json!({ "query": search }), |d: OrderPaymentsData| {
                let next = d.orders.next_cursor();
                (d.orders.nodes, next)
            })
            .await?;
        let mut payments = Vec::new();
        for order in &orders {
            payments.extend(order.payments()?);
        }
        payments.retain(|p| {
            p.created_at_ms >= from_ms && p.created_at_ms < to_ms && location.is_none_or(|l| &p.location_id == l)
        });
        payments.sort_by_key(|p| p.created_at_ms);
        Ok(payments)
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, PosError> {
        let query = format!("{ORDER} {ORDER_FIELDS}");
        let found: OrderData = self.client.query(&query, json!({ "id": gid("Order", id.as_str()) })).await?;
        found.order.as_ref().map(ShopifyOrder::to_domain).transpose()
    }

    async fn orders_by_number(&self, number: &str) -> Result<Vec<Order>, PosError> {
        let number = normalize_order_number(number);
        if number.is_empty() {
            return Ok(Vec::new());
        }
        let search = format!("name:{} OR name:{}", quoted(&format!("#{number}")), quoted(&number));
        let mut orders = self.search_orders(search, true).await?;
        orders.retain(|o| o.number == number);
        Ok(orders)
    }

    async fn orders_for_customer(&self, customer: &CustomerId) -> Result<Vec<Order>, PosError> {
        let mut orders = self.search_orders(format!("customer_id:{}", quoted(tail(customer.as_str()))), true).await?;
        orders.retain(|o| o.customer_id.as_ref() == Some(customer));
        Ok(orders)
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<Customer>, PosError> {
        let query = format!("{CUSTOMER} {CUSTOMER_FIELDS}");
        let found: CustomerData = self.client.query(&query, json!({ "id": gid("Customer", id.as_str()) })).await?;
        Ok(found.customer.as_ref().map(ShopifyCustomer::to_domain))
    }

    async fn customers_by_phone(&self, phone: &Phone) -> Result<Vec<Customer>, PosError> {
        let found = self.search_customers(format!("phone:{}", quoted(phone.as_str()))).await?;
        Ok(found.into_iter().filter(|c| c.phone.as_ref() == Some(phone)).collect())
    }

    async fn customers_by_email(&self, email: &str) -> Result<Vec<Customer>, PosError> {
        let email = email.trim().to_lowercase();
        let found = self.search_customers(format!("email:{}", quoted(&email))).await?;
        Ok(found.into_iter().filter(|c| c.email.as_deref() == Some(email.as_str())).collect())
    }

    /// `inventorySetQuantities` sets an absolute figure, so repeating it is harmless.
    async fn record_count(
        &self,
        variation: &VariationId,
        location: &LocationId,
        on_hand: Quantity,
        _idempotency_key: &str,
    ) -> Result<(), PosError> {
        self.set_available(variation, location, on_hand).await
    }
}
