//! A fake Shopify Admin GraphQL API on 127.0.0.1 serving the simulated shop: global ids,
//! connections with `pageInfo`, the search syntax the connector uses, money as decimal strings
//! in `shopMoney`, and the cost-based rate limit (a bucket reported in `extensions.cost`; a
//! query the bucket cannot pay for answers `THROTTLED`). It dispatches on the operation name and
//! answers every field the connector's queries select. Records every call, and can be told to
//! fail.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::wire::{Fault, Recorder};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tillpilot::domain::{FulfilmentKind, FulfilmentState, Money, Order, OrderState, Quantity, Tender};
use tillpilot::pos::sim::SimShop;

pub const TOKEN: &str = "shpat_fake_token";
pub const PATH: &str = "/admin/api/2025-07/graphql.json";

/// The cost bucket: what a query costs, how many points there are, how fast they return.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    pub cost: f64,
    pub maximum: f64,
    pub restore_rate: f64,
}

pub struct FakeShopify {
    pub shop: Arc<SimShop>,
    pub page_size: usize,
    pub bucket: Bucket,
    available: Mutex<(f64, Instant)>,
    pub throttled: Mutex<usize>,
    pub wire: Recorder,
    /// Stock set through `inventorySetQuantities`, by (variant, location).
    pub set_stock: Mutex<HashMap<(String, String), i64>>,
    /// The shop's payments by order id, worked out once.
    payments: HashMap<String, Vec<tillpilot::domain::Payment>>,
}

impl FakeShopify {
    pub fn fail_next(&self, faults: &[Fault]) {
        self.wire.fail_next(faults);
    }

    pub fn calls(&self) -> Vec<String> {
        self.wire.calls()
    }

    pub fn throttled(&self) -> usize {
        *self.throttled.lock().unwrap()
    }
}

type Shared = Arc<FakeShopify>;

pub async fn start(shop: Arc<SimShop>, page_size: usize, bucket: Bucket) -> (Shared, String) {
    let mut payments: HashMap<String, Vec<tillpilot::domain::Payment>> = HashMap::new();
    for payment in tillpilot::pos::sim::payments::payments(&shop.orders) {
        payments.entry(payment.order_id.clone().unwrap().0).or_default().push(payment);
    }
    let fake = Arc::new(FakeShopify {
        payments,
        shop,
        page_size,
        bucket,
        available: Mutex::new((bucket.maximum, Instant::now())),
        throttled: Mutex::default(),
        wire: Recorder::default(),
        set_stock: Mutex::default(),
    });
    let router = axum::Router::new().route(PATH, post(graphql)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, url)
}

/// What Shopify does to quantities: whole units only.
pub fn units(q: Quantity) -> i64 {
    (q.milli() + 500).div_euclid(1000)
}

fn gid(kind: &str, id: &str) -> String {
    format!("gid://shopify/{kind}/{id}")
}

fn tail(gid: &str) -> &str {
    gid.rsplit('/').next().unwrap()
}

fn money(m: Money) -> Value {
    let minor = m.minor();
    json!({ "shopMoney": { "amount": format!("{}.{:02}", minor / 100, minor % 100), "currencyCode": "USD" } })
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn error(status: StatusCode) -> Response {
    (status, Json(json!({ "errors": status.canonical_reason().unwrap_or("error") }))).into_response()
}

/// Takes the query's cost from the bucket; `false` (and nothing taken) when it cannot pay.
fn spend(fake: &FakeShopify) -> (bool, Value) {
    let mut guard = fake.available.lock().unwrap();
    let (available, at) = *guard;
    let now_available = (available + at.elapsed().as_secs_f64() * fake.bucket.restore_rate).min(fake.bucket.maximum);
    let paid = now_available >= fake.bucket.cost;
    let left = if paid { now_available - fake.bucket.cost } else { now_available };
    *guard = (left, Instant::now());
    let cost = json!({ "cost": { "requestedQueryCost": fake.bucket.cost, "actualQueryCost": if paid { json!(fake.bucket.cost) } else { Value::Null },
        "throttleStatus": { "maximumAvailable": fake.bucket.maximum, "currentlyAvailable": left, "restoreRate": fake.bucket.restore_rate } } });
    (paid, cost)
}

async fn graphql(State(fake): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let query = body["query"].as_str().unwrap_or_default().to_owned();
    let variables = body["variables"].clone();
    let operation = query.split(['(', '{']).next().unwrap_or_default().trim().to_owned();
    let token = headers.get("x-shopify-access-token").and_then(|v| v.to_str().ok());
    let refusal = (token != Some(TOKEN)).then(|| error(StatusCode::UNAUTHORIZED));
    if let Some(r) = fake.wire.gate(format!("{operation} {variables}"), refusal, error).await {
        return r;
    }
    let (paid, extensions) = spend(&fake);
    if !paid {
        *fake.throttled.lock().unwrap() += 1;
        return Json(json!({ "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED" } }], "extensions": extensions }))
            .into_response();
    }
    let data = match operation.as_str() {
        "query Locations" => locations(&fake, &variables),
        "query Products" => products(&fake, &variables),
        "query Orders" => orders(&fake, &variables),
        "query OrderPayments" => order_payments(&fake, &variables),
        "query Order" => {
            let id = tail(variables["id"].as_str().unwrap()).to_owned();
            json!({ "order": fake.shop.orders.iter().find(|o| o.id.as_str() == id).map(order_json) })
        }
        "query Customers" => customers(&fake, &variables),
        "query Customer" => {
            let id = tail(variables["id"].as_str().unwrap()).to_owned();
            json!({ "customer": fake.shop.customers.iter().find(|c| c.id.as_str() == id).map(customer_json) })
        }
        "query VariantStock" => variant_stock(&fake, &variables),
        "query LocationStock" => location_stock(&fake, &variables),
        "mutation SetAvailable" => set_available(&fake, &variables),
        other => panic!("the fake does not know the operation {other:?}"),
    };
    Json(json!({ "data": data, "extensions": extensions })).into_response()
}

/// One page of a connection, the cursor being the offset.
fn connection(all: Vec<Value>, variables: &Value, size: usize) -> Value {
    let start: usize = variables["after"].as_str().and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (start + size).min(all.len());
    let nodes: Vec<Value> = all[start.min(end)..end].to_vec();
    json!({ "nodes": nodes, "pageInfo": { "hasNextPage": end < all.len(), "endCursor": end.to_string() } })
}

fn locations(fake: &FakeShopify, variables: &Value) -> Value {
    let all = fake
        .shop
        .locations
        .iter()
        .map(|l| json!({ "id": gid("Location", l.id.as_str()), "name": l.name, "isActive": true }))
        .collect();
    json!({ "shop": { "ianaTimezone": fake.shop.timezone.name() }, "locations": connection(all, variables, fake.page_size) })
}

fn products(fake: &FakeShopify, variables: &Value) -> Value {
    let shop = &fake.shop;
    let all = shop
        .catalog
        .items
        .iter()
        .map(|item| {
            let category = item.category_id.as_ref().and_then(|c| shop.catalog.category_name(c));
            let variants: Vec<Value> = item
                .variations
                .iter()
                .map(|v| {
                    let title = if v.name == "Regular" { "Default Title" } else { v.name.as_str() };
                    let decimal = |minor: i64| format!("{}.{:02}", minor / 100, minor % 100);
                    let cost = shop.vendor_terms.iter().find(|t| t.variation_id == v.id).map(|t| decimal(t.unit_cost.minor()));
                    json!({ "id": gid("ProductVariant", v.id.as_str()), "title": title, "sku": v.sku.clone().unwrap_or_default(),
                        "price": decimal(v.price.minor()),
                        "inventoryItem": { "unitCost": cost.map(|amount| json!({ "amount": amount, "currencyCode": "USD" })) } })
                })
                .collect();
            // The product's `vendor` is free text: the name of whoever supplies its first variant.
            let vendor = item
                .variations
                .first()
                .and_then(|v| shop.vendor_terms.iter().find(|t| t.variation_id == v.id))
                .and_then(|t| shop.vendors.iter().find(|vendor| vendor.id == t.vendor_id))
                .map_or("", |vendor| vendor.name.as_str());
            json!({ "id": gid("Product", item.id.as_str()), "title": item.name, "productType": category.unwrap_or(""),
                "vendor": vendor, "status": "ACTIVE", "variants": { "nodes": variants } })
        })
        .collect();
    json!({ "products": connection(all, variables, fake.page_size) })
}

/// `key:value` terms of Shopify's search syntax (values may be single-quoted), and whether
/// they are joined by OR.
fn terms(search: &str) -> (Vec<(String, String)>, bool) {
    let mut out = Vec::new();
    let mut any = false;
    let mut rest = search.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("OR ") {
            any = true;
            rest = after.trim_start();
            continue;
        }
        let colon = rest.find(':').unwrap();
        let key = rest[..colon].to_owned();
        let mut value = String::new();
        let mut chars = rest[colon + 1..].char_indices().peekable();
        let mut quoted = false;
        let mut consumed = rest.len() - colon - 1;
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => quoted = !quoted,
                '\\' if quoted => value.extend(chars.next().map(|(_, c)| c)),
                ' ' if !quoted => {
                    consumed = i;
                    break;
                }
                c => value.push(c),
            }
        }
        out.push((key, value));
        rest = rest[colon + 1 + consumed..].trim_start();
    }
    (out, any)
}

fn order_matches(o: &Order, key: &str, value: &str) -> bool {
    let at = |v: &str| chrono::DateTime::parse_from_rfc3339(v).unwrap().timestamp_millis();
    match key {
        "created_at" if value.starts_with(">=") => o.created_at_ms >= at(&value[2..]),
        "created_at" if value.starts_with("<=") => o.created_at_ms <= at(&value[2..]),
        "name" => format!("#{}", o.number) == value,
        "customer_id" => o.customer_id.as_ref().is_some_and(|c| c.as_str() == value),
        other => panic!("the fake cannot search orders on {other}:{value}"),
    }
}

fn orders(fake: &FakeShopify, variables: &Value) -> Value {
    let (terms, any) = terms(variables["query"].as_str().unwrap_or_default());
    let mut found: Vec<Value> = fake
        .shop
        .orders
        .iter()
        .filter(|o| {
            if any {
                terms.iter().any(|(k, v)| order_matches(o, k, v))
            } else {
                terms.iter().all(|(k, v)| order_matches(o, k, v))
            }
        })
        .map(order_json)
        .collect();
    if variables["reverse"].as_bool() == Some(true) {
        found.reverse();
    }
    json!({ "orders": connection(found, variables, fake.page_size) })
}

pub fn order_json(order: &Order) -> Value {
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| {
            json!({ "name": l.name, "quantity": units(l.quantity).max(1), "variant": l.variation_id.as_ref().map(|v| json!({ "id": gid("ProductVariant", v.as_str()) })),
                "originalUnitPriceSet": money(l.unit_price), "totalDiscountSet": money(l.discount) })
        })
        .collect();
    let location = json!({ "id": gid("Location", order.location_id.as_str()) });
    let mut value = json!({ "id": gid("Order", order.id.as_str()), "name": format!("#{}", order.number),
        "createdAt": time(order.created_at_ms), "cancelledAt": Value::Null, "closed": order.state == OrderState::Completed,
        "customer": order.customer_id.as_ref().map(|c| json!({ "id": gid("Customer", c.as_str()) })),
        "retailLocation": Value::Null, "totalPriceSet": money(order.total), "totalDiscountsSet": money(order.discount),
        "totalRefundedSet": money(order.refunded), "lineItems": { "nodes": lines }, "fulfillmentOrders": { "nodes": [] }, "fulfillments": [] });
    if order.state == OrderState::Cancelled {
        value["cancelledAt"] = json!(time(order.created_at_ms + 60_000));
    }
    match &order.fulfilment {
        None => value["retailLocation"] = location,
        Some(f) => {
            let method = if f.kind == FulfilmentKind::Pickup { "PICK_UP" } else { "SHIPPING" };
            let status = match f.state {
                FulfilmentState::Cancelled => "CANCELLED",
                FulfilmentState::Unfulfilled => "OPEN",
                _ => "CLOSED",
            };
            value["fulfillmentOrders"] = json!({ "nodes": [{ "status": status, "updatedAt": time(f.updated_at_ms),
                "deliveryMethod": { "methodType": method }, "assignedLocation": { "location": location } }] });
            let display = match (f.kind, f.state) {
                (_, FulfilmentState::Unfulfilled | FulfilmentState::Cancelled) => None,
                (_, FulfilmentState::ReadyForPickup) => Some("READY_FOR_PICKUP"),
                // Shopify has no laybys or account sales; the simulated shop makes none for it.
                (FulfilmentKind::Pickup | FulfilmentKind::Layby, FulfilmentState::Delivered) => Some("PICKED_UP"),
                (FulfilmentKind::Shipment | FulfilmentKind::OnAccount, FulfilmentState::Delivered) => Some("DELIVERED"),
                (_, FulfilmentState::Shipped) => Some("IN_TRANSIT"),
            };
            if let Some(display) = display {
                let tracking: Vec<Value> = f
                    .tracking_number
                    .iter()
                    .map(|n| json!({ "company": f.carrier, "number": n, "url": f.tracking_url }))
                    .collect();
                value["fulfillments"] =
                    json!([{ "displayStatus": display, "updatedAt": time(f.updated_at_ms), "trackingInfo": tracking }]);
            }
        }
    }
    value
}

fn customer_json(c: &tillpilot::domain::Customer) -> Value {
    json!({ "id": gid("Customer", c.id.as_str()), "firstName": c.given_name, "lastName": c.family_name,
        "defaultEmailAddress": c.email.as_ref().map(|e| json!({ "emailAddress": e })),
        "defaultPhoneNumber": c.phone.as_ref().map(|p| json!({ "phoneNumber": p.as_str() })) })
}

fn customers(fake: &FakeShopify, variables: &Value) -> Value {
    let (terms, _) = terms(variables["query"].as_str().unwrap_or_default());
    let found: Vec<Value> = fake
        .shop
        .customers
        .iter()
        .filter(|c| {
            terms.iter().all(|(k, v)| match k.as_str() {
                "phone" => c.phone.as_ref().is_some_and(|p| p.as_str() == v),
                "email" => c.email.as_deref() == Some(v.as_str()),
                other => panic!("the fake cannot search customers on {other}"),
            })
        })
        .map(customer_json)
        .collect();
    json!({ "customers": { "nodes": found } })
}

fn level_json(fake: &FakeShopify, level: &tillpilot::domain::StockLevel) -> Value {
    let key = (level.variation_id.0.clone(), level.location_id.0.clone());
    let available = fake.set_stock.lock().unwrap().get(&key).copied().unwrap_or(units(level.on_hand));
    json!({ "location": { "id": gid("Location", level.location_id.as_str()) },
        "item": { "variant": { "id": gid("ProductVariant", level.variation_id.as_str()) } },
        "quantities": [{ "name": "available", "quantity": available }], "updatedAt": time(level.counted_at_ms) })
}

fn variant_stock(fake: &FakeShopify, variables: &Value) -> Value {
    let nodes: Vec<Value> = variables["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let id = id.as_str().unwrap();
            let variant = tail(id);
            let levels: Vec<Value> =
                fake.shop.stock.iter().filter(|s| s.variation_id.as_str() == variant).map(|s| level_json(fake, s)).collect();
            if levels.is_empty() {
                return Value::Null;
            }
            json!({ "id": id, "inventoryItem": { "id": gid("InventoryItem", variant), "inventoryLevels": { "nodes": levels } } })
        })
        .collect();
    json!({ "nodes": nodes })
}

fn location_stock(fake: &FakeShopify, variables: &Value) -> Value {
    let location = tail(variables["id"].as_str().unwrap()).to_owned();
    if !fake.shop.locations.iter().any(|l| l.id.as_str() == location) {
        return json!({ "location": null });
    }
    let all: Vec<Value> =
        fake.shop.stock.iter().filter(|s| s.location_id.as_str() == location).map(|s| level_json(fake, s)).collect();
    json!({ "location": { "inventoryLevels": connection(all, variables, fake.page_size) } })
}

fn set_available(fake: &FakeShopify, variables: &Value) -> Value {
    let input = &variables["input"];
    let mut errors = Vec::new();
    if input["name"] != "available" {
        errors.push(json!({ "field": ["input", "name"], "message": "only available is settable here" }));
    }
    for q in input["quantities"].as_array().unwrap() {
        let variant = tail(q["inventoryItemId"].as_str().unwrap()).to_owned();
        let location = tail(q["locationId"].as_str().unwrap()).to_owned();
        fake.set_stock.lock().unwrap().insert((variant, location), q["quantity"].as_i64().unwrap());
    }
    json!({ "inventorySetQuantities": { "userErrors": errors } })
}

fn order_payments(fake: &FakeShopify, variables: &Value) -> Value {
    let (terms, _) = terms(variables["query"].as_str().unwrap_or_default());
    let found: Vec<Value> = fake
        .shop
        .orders
        .iter()
        .filter(|o| terms.iter().all(|(k, v)| order_matches(o, k, v)))
        .map(|o| {
            let location = json!({ "id": gid("Location", o.location_id.as_str()) });
            let transactions: Vec<Value> = fake
                .payments
                .get(o.id.as_str())
                .into_iter()
                .flatten()
                .flat_map(|p| {
                    let gateway = match p.tender {
                        Tender::Cash => "cash",
                        Tender::GiftCard => "gift_card",
                        _ => "shopify_payments",
                    };
                    let details = (p.tender == Tender::Card)
                        .then(|| json!({ "number": format!("•••• •••• •••• {}", p.card_last4.clone().unwrap_or_default()), "wallet": null }));
                    let id = gid("OrderTransaction", &p.id);
                    let mut list = vec![json!({ "id": id, "kind": "SALE", "status": "SUCCESS", "gateway": gateway,
                        "createdAt": time(p.created_at_ms), "amountSet": money(p.amount), "parentTransaction": null, "paymentDetails": details })];
                    if p.refunded.minor() > 0 {
                        list.push(json!({ "id": gid("OrderTransaction", &format!("{}-R", p.id)), "kind": "REFUND", "status": "SUCCESS",
                            "gateway": gateway, "createdAt": time(p.created_at_ms + 3_600_000), "amountSet": money(p.refunded),
                            "parentTransaction": { "id": id }, "paymentDetails": null }));
                    }
                    list
                })
                .collect();
            let (retail, fulfilment_orders) = if o.fulfilment.is_some() {
                (Value::Null, json!({ "nodes": [{ "assignedLocation": { "location": location } }] }))
            } else {
                (location, json!({ "nodes": [] }))
            };
            json!({ "id": gid("Order", o.id.as_str()), "retailLocation": retail, "fulfillmentOrders": fulfilment_orders,
                "transactions": transactions })
        })
        .collect();
    json!({ "orders": connection(found, variables, fake.page_size) })
}
