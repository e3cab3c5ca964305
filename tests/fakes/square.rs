//! A fake Square API on 127.0.0.1 that serves the simulated shop in Square's wire format
//! (objects, money, decimal-string quantities, RFC 3339 times, cursors), checks auth and the
//! version header, insists that search cursors come with the original query, and can be told
//! to fail: 429 with `Retry-After`, 5xx, stalls, malformed JSON.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tillpilot::domain::{FulfilmentKind, FulfilmentState, Order, OrderState, Tender};
use tillpilot::pos::sim::SimShop;

pub use crate::wire::Fault;
use crate::wire::Recorder;

pub const TOKEN: &str = "EAAA-fake-token";

pub struct FakeSquare {
    pub shop: Arc<SimShop>,
    pub page_size: usize,
    pub wire: Recorder,
    /// Idempotency keys of applied inventory changes, and the changes.
    pub changes: Mutex<Vec<(String, Value)>>,
    /// Counts applied by those changes, by (variation, location).
    pub set_stock: Mutex<HashMap<(String, String), String>>,
}

impl FakeSquare {
    pub fn fail_next(&self, faults: &[Fault]) {
        self.wire.fail_next(faults);
    }

    pub fn calls(&self) -> Vec<String> {
        self.wire.calls()
    }
}

type Shared = Arc<FakeSquare>;

pub async fn start(shop: Arc<SimShop>, page_size: usize) -> (Shared, String) {
    let fake = Arc::new(FakeSquare {
        shop,
        page_size,
        wire: Recorder::default(),
        changes: Mutex::default(),
        set_stock: Mutex::default(),
    });
    let router = axum::Router::new()
        .route("/v2/locations", get(locations))
        .route("/v2/catalog/list", get(catalog))
        .route("/v2/inventory/counts/batch-retrieve", post(counts))
        .route("/v2/orders/search", post(search_orders))
        .route("/v2/orders/{id}", get(order))
        .route("/v2/customers/search", post(search_customers))
        .route("/v2/customers/{id}", get(customer))
        .route("/v2/vendors/search", post(vendors))
        .route("/v2/inventory/changes/batch-create", post(change_inventory))
        .route("/v2/payments", get(payments))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, url)
}

fn error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "errors": [{ "category": "INVALID_REQUEST_ERROR", "code": code, "detail": code }] })))
        .into_response()
}

/// Records the call, checks the headers, and applies the next fault if one is queued.
async fn gate(fake: &FakeSquare, headers: &HeaderMap, what: String) -> Option<Response> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let refusal = if auth != Some(&format!("Bearer {TOKEN}")) {
        Some(error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED"))
    } else if headers.get("square-version").is_none() {
        Some(error(StatusCode::BAD_REQUEST, "MISSING_VERSION"))
    } else {
        None
    };
    fake.wire.gate(what, refusal, |status| error(status, "FAULT")).await
}

fn page<T: Clone>(items: &[T], cursor: Option<&str>, size: usize) -> (Vec<T>, Option<String>) {
    let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    (items[start.min(end)..end].to_vec(), next)
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn money(cents: i64) -> Value {
    json!({ "amount": cents, "currency": "USD" })
}

async fn locations(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = gate(&fake, &headers, "GET /v2/locations".into()).await {
        return r;
    }
    let locations: Vec<Value> = fake
        .shop
        .locations
        .iter()
        .map(|l| json!({ "id": l.id, "name": l.name, "timezone": l.timezone, "status": "ACTIVE" }))
        .collect();
    Json(json!({ "locations": locations })).into_response()
}

async fn catalog(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&fake, &headers, "GET /v2/catalog/list".into()).await {
        return r;
    }
    let shop = &fake.shop;
    let mut objects: Vec<Value> = shop
        .catalog
        .categories
        .iter()
        .map(|c| json!({ "type": "CATEGORY", "id": c.id, "is_deleted": false, "category_data": { "name": c.name } }))
        .collect();
    objects.extend(shop.catalog.items.iter().map(|item| {
        let variations: Vec<Value> = item
            .variations
            .iter()
            .map(|v| {
                json!({ "type": "ITEM_VARIATION", "id": v.id, "item_variation_data": {
                    "item_id": item.id, "name": v.name, "sku": v.sku, "price_money": money(v.price.minor()),
                    "inventory_alert_threshold": v.low_stock_at.map(|q| q.milli() / 1000),
                }})
            })
            .collect();
        json!({ "type": "ITEM", "id": item.id, "item_data": { "name": item.name, "category_id": item.category_id, "variations": variations } })
    }));
    let (objects, cursor) = page(&objects, query.get("cursor").map(String::as_str), fake.page_size);
    Json(json!({ "objects": objects, "cursor": cursor })).into_response()
}

async fn counts(State(fake): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("POST /v2/inventory/counts/batch-retrieve {body}")).await {
        return r;
    }
    let strings = |key: &str| {
        body.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>())
    };
    let ids = strings("catalog_object_ids");
    let locations = strings("location_ids");
    let counts: Vec<Value> = fake
        .shop
        .stock
        .iter()
        .filter(|s| ids.as_ref().is_none_or(|ids| ids.contains(&s.variation_id.0)))
        .filter(|s| locations.as_ref().is_none_or(|l| l.contains(&s.location_id.0)))
        .map(|s| {
            let set = fake.set_stock.lock().unwrap().get(&(s.variation_id.0.clone(), s.location_id.0.clone())).cloned();
            json!({ "catalog_object_id": s.variation_id, "catalog_object_type": "ITEM_VARIATION", "state": "IN_STOCK",
                "location_id": s.location_id, "quantity": set.unwrap_or_else(|| s.on_hand.to_string()), "calculated_at": time(s.counted_at_ms) })
        })
        .collect();
    let (counts, cursor) = page(&counts, body.get("cursor").and_then(Value::as_str), fake.page_size);
    Json(json!({ "counts": counts, "cursor": cursor })).into_response()
}

pub fn order_json(order: &Order) -> Value {
    let state = match order.state {
        OrderState::Open => "OPEN",
        OrderState::Completed => "COMPLETED",
        OrderState::Cancelled => "CANCELED",
    };
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| {
            json!({ "name": l.name, "quantity": l.quantity.to_string(), "catalog_object_id": l.variation_id,
                "base_price_money": money(l.unit_price.minor()), "total_discount_money": money(l.discount.minor()) })
        })
        .collect();
    let fulfillments: Vec<Value> = order
        .fulfilment
        .iter()
        .map(|f| {
            let kind = if f.kind == FulfilmentKind::Pickup { "PICKUP" } else { "SHIPMENT" };
            let state = match f.state {
                FulfilmentState::Unfulfilled => "PROPOSED",
                FulfilmentState::ReadyForPickup => "PREPARED",
                FulfilmentState::Shipped | FulfilmentState::Delivered => "COMPLETED",
                FulfilmentState::Cancelled => "CANCELED",
            };
            let at = time(f.updated_at_ms);
            let mut value = json!({ "type": kind, "state": state });
            if f.kind == FulfilmentKind::Pickup {
                let key = match f.state {
                    FulfilmentState::Delivered => "picked_up_at",
                    FulfilmentState::Cancelled => "canceled_at",
                    _ => "ready_at",
                };
                value["pickup_details"] = json!({ key: at });
            } else {
                let key = if f.state == FulfilmentState::Cancelled { "canceled_at" } else { "shipped_at" };
                value["shipment_details"] = json!({ "carrier": f.carrier, "tracking_number": f.tracking_number, "tracking_url": f.tracking_url, key: at });
            }
            value
        })
        .collect();
    let refunds: Vec<Value> = if order.refunded.minor() > 0 {
        vec![json!({ "amount_money": money(order.refunded.minor()), "status": "COMPLETED" })]
    } else {
        Vec::new()
    };
    json!({ "id": order.id, "location_id": order.location_id, "reference_id": order.number, "customer_id": order.customer_id,
        "created_at": time(order.created_at_ms), "state": state, "line_items": lines, "total_money": money(order.total.minor()),
        "total_discount_money": money(order.discount.minor()), "refunds": refunds, "fulfillments": fulfillments })
}

async fn search_orders(State(fake): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("POST /v2/orders/search {body}")).await {
        return r;
    }
    let Some(filter) = body.pointer("/query/filter") else {
        // Square requires the original query with every cursor.
        return error(StatusCode::BAD_REQUEST, "QUERY_MISSING");
    };
    let locations: Vec<&str> =
        body["location_ids"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let bound = |key: &str| {
        filter
            .pointer(&format!("/date_time_filter/created_at/{key}"))
            .and_then(Value::as_str)
            .map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis())
    };
    let (start, end) = (bound("start_at"), bound("end_at"));
    let customers: Option<Vec<&str>> = filter
        .pointer("/customer_filter/customer_ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let mut orders: Vec<&Order> = fake
        .shop
        .orders
        .iter()
        .filter(|o| locations.contains(&o.location_id.as_str()))
        .filter(|o| start.is_none_or(|s| o.created_at_ms >= s) && end.is_none_or(|e| o.created_at_ms < e))
        .filter(|o| {
            customers.as_ref().is_none_or(|c| o.customer_id.as_ref().is_some_and(|id| c.contains(&id.as_str())))
        })
        .collect();
    if body.pointer("/query/sort/sort_order").and_then(Value::as_str) == Some("DESC") {
        orders.reverse();
    }
    let (orders, cursor) = page(&orders, body.get("cursor").and_then(Value::as_str), fake.page_size);
    let orders: Vec<Value> = orders.into_iter().map(order_json).collect();
    Json(json!({ "orders": orders, "cursor": cursor })).into_response()
}

async fn order(State(fake): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("GET /v2/orders/{id}")).await {
        return r;
    }
    match fake.shop.orders.iter().find(|o| o.id.as_str() == id) {
        Some(order) => Json(json!({ "order": order_json(order) })).into_response(),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND"),
    }
}

fn customer_json(c: &tillpilot::domain::Customer) -> Value {
    json!({ "id": c.id, "given_name": c.given_name, "family_name": c.family_name, "email_address": c.email, "phone_number": c.phone })
}

async fn customer(State(fake): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("GET /v2/customers/{id}")).await {
        return r;
    }
    match fake.shop.customers.iter().find(|c| c.id.as_str() == id) {
        Some(c) => Json(json!({ "customer": customer_json(c) })).into_response(),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND"),
    }
}

async fn search_customers(State(fake): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("POST /v2/customers/search {body}")).await {
        return r;
    }
    let phone = body.pointer("/query/filter/phone_number/exact").and_then(Value::as_str);
    let email = body.pointer("/query/filter/email_address/exact").and_then(Value::as_str);
    let found: Vec<Value> = fake
        .shop
        .customers
        .iter()
        .filter(|c| phone.is_none_or(|p| c.phone.as_ref().is_some_and(|cp| cp.as_str() == p)))
        .filter(|c| email.is_none_or(|e| c.email.as_deref() == Some(e)))
        .map(customer_json)
        .collect();
    Json(json!({ "customers": found })).into_response()
}

async fn vendors(State(fake): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("POST /v2/vendors/search {body}")).await {
        return r;
    }
    let vendors: Vec<Value> = fake
        .shop
        .vendors
        .iter()
        .map(|v| json!({ "id": v.id, "name": v.name, "status": "ACTIVE", "contacts": [{ "email_address": v.email, "phone_number": v.phone }] }))
        .collect();
    let (vendors, cursor) = page(&vendors, body.get("cursor").and_then(Value::as_str), fake.page_size);
    Json(json!({ "vendors": vendors, "cursor": cursor })).into_response()
}

/// BatchChangeInventory: applies each idempotency key once; a repeated key answers the same
/// counts without applying anything.
async fn change_inventory(State(fake): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("POST /v2/inventory/changes/batch-create {body}")).await {
        return r;
    }
    let Some(key) = body.get("idempotency_key").and_then(Value::as_str).filter(|k| !k.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "MISSING_REQUIRED_PARAMETER");
    };
    let mut changes = fake.changes.lock().unwrap();
    if !changes.iter().any(|(k, _)| k == key) {
        changes.push((key.to_owned(), body["changes"].clone()));
        for count in body["changes"].as_array().into_iter().flatten().filter_map(|c| c.get("physical_count")) {
            let at = (
                count["catalog_object_id"].as_str().unwrap().to_owned(),
                count["location_id"].as_str().unwrap().to_owned(),
            );
            fake.set_stock.lock().unwrap().insert(at, count["quantity"].as_str().unwrap().to_owned());
        }
    }
    let counts: Vec<Value> = body["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("physical_count"))
        .map(|c| json!({ "catalog_object_id": c["catalog_object_id"], "catalog_object_type": "ITEM_VARIATION",
            "state": "IN_STOCK", "location_id": c["location_id"], "quantity": c["quantity"], "calculated_at": c["occurred_at"] }))
        .collect();
    Json(json!({ "counts": counts })).into_response()
}

/// ListPayments: one location per call, `begin_time`/`end_time`, cursor paging.
async fn payments(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = gate(&fake, &headers, format!("GET /v2/payments {query:?}")).await {
        return r;
    }
    let bound = |key: &str| query.get(key).map(|t| chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp_millis());
    let (begin, end) = (bound("begin_time"), bound("end_time"));
    let location = query.get("location_id");
    let found: Vec<Value> = tillpilot::pos::sim::payments::payments(&fake.shop.orders)
        .iter()
        .filter(|p| location.is_none_or(|l| p.location_id.as_str() == l))
        .filter(|p| begin.is_none_or(|b| p.created_at_ms >= b) && end.is_none_or(|e| p.created_at_ms < e))
        .map(|p| {
            let (source, brand) = match p.tender {
                Tender::Card => ("CARD", "VISA"),
                Tender::GiftCard => ("CARD", "SQUARE_GIFT_CARD"),
                Tender::Cash => ("CASH", ""),
                Tender::Wallet => ("WALLET", ""),
                Tender::Other => ("EXTERNAL", ""),
            };
            let mut value = json!({ "id": p.id, "order_id": p.order_id, "location_id": p.location_id, "created_at": time(p.created_at_ms),
                "status": "COMPLETED", "source_type": source, "amount_money": money(p.amount.minor()), "tip_money": money(p.tip.minor()),
                "total_money": money(p.amount.minor() + p.tip.minor()) });
            if p.refunded.minor() > 0 {
                value["refunded_money"] = money(p.refunded.minor());
            }
            if source == "CARD" {
                value["card_details"] = json!({ "status": "CAPTURED", "entry_method": p.card_entry,
                    "card": { "card_brand": brand, "last_4": p.card_last4 } });
            }
            value
        })
        .collect();
    let (found, cursor) = page(&found, query.get("cursor").map(String::as_str), fake.page_size);
    Json(json!({ "payments": found, "cursor": cursor })).into_response()
}
