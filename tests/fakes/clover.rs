//! A fake Clover v3 REST API on 127.0.0.1 serving one location of the simulated shop as a
//! Clover merchant: `{"elements": [...]}` collections paged by `limit`/`offset`, repeatable
//! `filter=` parameters, expansions only when asked for, item groups for variations, money in
//! cents, times in epoch milliseconds. Records every call with its time, so tests can check
//! the client's pace, and can be told to fail.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::wire::{Fault, Recorder};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tillpilot::domain::{Order, OrderState, Tender};
use tillpilot::pos::sim::SimShop;

pub const TOKEN: &str = "clover-fake-token";

pub struct FakeClover {
    pub shop: Arc<SimShop>,
    pub merchant: String,
    pub wire: Recorder,
    /// Stock set through `POST /item_stocks/{id}`, by item id.
    pub set_stock: Mutex<HashMap<String, f64>>,
}

impl FakeClover {
    pub fn fail_next(&self, faults: &[Fault]) {
        self.wire.fail_next(faults);
    }

    pub fn calls(&self) -> Vec<String> {
        self.wire.calls()
    }
}

type Shared = Arc<FakeClover>;
type Params = Query<Vec<(String, String)>>;

/// Serves the shop's location `merchant` (its id is the merchant id).
pub async fn start(shop: Arc<SimShop>, merchant: &str) -> (Shared, String) {
    let fake = Arc::new(FakeClover {
        shop,
        merchant: merchant.to_owned(),
        wire: Recorder::default(),
        set_stock: Mutex::default(),
    });
    let router = axum::Router::new()
        .route("/v3/merchants/{m}", get(merchant_info))
        .route("/v3/merchants/{m}/properties", get(properties))
        .route("/v3/merchants/{m}/categories", get(categories))
        .route("/v3/merchants/{m}/items", get(items))
        .route("/v3/merchants/{m}/item_stocks", get(stocks))
        .route("/v3/merchants/{m}/item_stocks/{id}", get(stock).post(set_stock))
        .route("/v3/merchants/{m}/orders", get(orders))
        .route("/v3/merchants/{m}/orders/{id}", get(order))
        .route("/v3/merchants/{m}/payments", get(payments))
        .route("/v3/merchants/{m}/customers", get(customers))
        .route("/v3/merchants/{m}/customers/{id}", get(customer))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, url)
}

fn error(status: StatusCode) -> Response {
    (status, Json(json!({ "message": status.canonical_reason().unwrap_or("error") }))).into_response()
}

async fn gate(fake: &FakeClover, headers: &HeaderMap, merchant: &str, what: String) -> Option<Response> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let refusal = if auth != Some(&format!("Bearer {TOKEN}")) {
        Some(error(StatusCode::UNAUTHORIZED))
    } else if merchant != fake.merchant {
        Some(error(StatusCode::NOT_FOUND))
    } else {
        None
    };
    fake.wire.gate(what, refusal, error).await
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn expands(params: &[(String, String)], what: &str) -> bool {
    param(params, "expand").is_some_and(|e| e.split(',').any(|x| x == what || x.starts_with(&format!("{what}."))))
}

/// `{"elements": [...]}` for `limit`/`offset` (Clover: default 100, at most 1,000).
fn elements(all: Vec<Value>, params: &[(String, String)]) -> Response {
    let limit = param(params, "limit").and_then(|l| l.parse().ok()).unwrap_or(100usize).min(1000);
    let offset = param(params, "offset").and_then(|o| o.parse().ok()).unwrap_or(0usize);
    let page: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    Json(json!({ "elements": page })).into_response()
}

/// `filter=field<op>value` conditions, all of which must hold.
fn filters(params: &[(String, String)]) -> Vec<(String, String, String)> {
    params
        .iter()
        .filter(|(k, _)| k == "filter")
        .map(|(_, f)| {
            let at = f.find(['>', '<', '=', '!']).unwrap();
            let op_len = if f[at + 1..].starts_with('=') { 2 } else { 1 };
            (f[..at].to_owned(), f[at..at + op_len].to_owned(), f[at + op_len..].to_owned())
        })
        .collect()
}

fn compare(value: i64, op: &str, bound: &str) -> bool {
    let bound: i64 = bound.parse().unwrap();
    match op {
        ">=" => value >= bound,
        ">" => value > bound,
        "<=" => value <= bound,
        "<" => value < bound,
        "=" => value == bound,
        _ => value != bound,
    }
}

async fn merchant_info(State(fake): State<Shared>, headers: HeaderMap, Path(m): Path<String>) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, "GET merchant".into()).await {
        return r;
    }
    let location = fake.shop.locations.iter().find(|l| l.id.as_str() == fake.merchant).unwrap();
    Json(json!({ "id": fake.merchant, "name": location.name, "href": "..." })).into_response()
}

async fn properties(State(fake): State<Shared>, headers: HeaderMap, Path(m): Path<String>) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, "GET properties".into()).await {
        return r;
    }
    let location = fake.shop.locations.iter().find(|l| l.id.as_str() == fake.merchant).unwrap();
    Json(json!({ "timezone": location.timezone })).into_response()
}

async fn categories(State(fake): State<Shared>, headers: HeaderMap, Path(m): Path<String>, params: Params) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, "GET categories".into()).await {
        return r;
    }
    let all = fake.shop.catalog.categories.iter().map(|c| json!({ "id": c.id, "name": c.name })).collect();
    elements(all, &params.0)
}

async fn items(State(fake): State<Shared>, headers: HeaderMap, Path(m): Path<String>, params: Params) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, "GET items".into()).await {
        return r;
    }
    let shop = &fake.shop;
    let mut all = Vec::new();
    for item in &shop.catalog.items {
        for v in &item.variations {
            let name = if item.variations.len() == 1 && v.name == "Regular" {
                item.name.clone()
            } else {
                format!("{} - {}", item.name, v.name)
            };
            let mut value = json!({ "id": v.id, "name": name, "sku": v.sku, "price": v.price.minor(),
                "priceType": "FIXED", "hidden": false, "itemGroup": { "id": item.id } });
            if expands(&params.0, "itemGroup") {
                value["itemGroup"]["name"] = json!(item.name);
            }
            if expands(&params.0, "categories") {
                let category =
                    item.category_id.as_ref().and_then(|c| shop.catalog.categories.iter().find(|x| &x.id == c));
                value["categories"] = json!({ "elements": category.map(|c| vec![json!({ "id": c.id, "name": c.name })]).unwrap_or_default() });
            }
            all.push(value);
        }
    }
    elements(all, &params.0)
}

fn stock_json(fake: &FakeClover, variation: &str) -> Option<Value> {
    let level = fake
        .shop
        .stock
        .iter()
        .find(|s| s.variation_id.as_str() == variation && s.location_id.as_str() == fake.merchant)?;
    let quantity =
        fake.set_stock.lock().unwrap().get(variation).copied().unwrap_or(level.on_hand.milli() as f64 / 1000.0);
    Some(json!({ "item": { "id": variation }, "stockCount": quantity.round() as i64, "quantity": quantity }))
}

async fn stocks(State(fake): State<Shared>, headers: HeaderMap, Path(m): Path<String>, params: Params) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, "GET item_stocks".into()).await {
        return r;
    }
    let ids: Vec<String> = fake
        .shop
        .stock
        .iter()
        .filter(|s| s.location_id.as_str() == fake.merchant)
        .map(|s| s.variation_id.0.clone())
        .collect();
    elements(ids.iter().filter_map(|id| stock_json(&fake, id)).collect(), &params.0)
}

async fn stock(State(fake): State<Shared>, headers: HeaderMap, Path((m, id)): Path<(String, String)>) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, format!("GET item_stocks/{id}")).await {
        return r;
    }
    stock_json(&fake, &id).map_or_else(|| error(StatusCode::NOT_FOUND), |v| Json(v).into_response())
}

async fn set_stock(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path((m, id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, format!("POST item_stocks/{id} {body}")).await {
        return r;
    }
    if stock_json(&fake, &id).is_none() {
        return error(StatusCode::NOT_FOUND);
    }
    let Some(quantity) = body.get("quantity").and_then(Value::as_f64) else { return error(StatusCode::BAD_REQUEST) };
    fake.set_stock.lock().unwrap().insert(id.clone(), quantity);
    Json(stock_json(&fake, &id).unwrap()).into_response()
}

fn order_json(order: &Order, params: &[(String, String)]) -> Value {
    let state = match order.state {
        OrderState::Open => "open",
        OrderState::Completed => "locked",
        OrderState::Cancelled => "canceled",
    };
    let mut value = json!({ "id": order.id, "title": order.number, "currency": "USD", "total": order.total.minor(),
        "state": state, "paymentState": if order.state == OrderState::Completed { "PAID" } else { "OPEN" },
        "createdTime": order.created_at_ms, "clientCreatedTime": order.created_at_ms, "modifiedTime": order.created_at_ms });
    if expands(params, "lineItems") {
        let with_discounts = param(params, "expand").is_some_and(|e| e.contains("lineItems.discounts"));
        let lines: Vec<Value> = order
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut line = json!({ "id": format!("{}-{i}", order.id.as_str()), "item": l.variation_id.as_ref().map(|v| json!({ "id": v })),
                    "name": l.name, "price": l.unit_price.minor(), "unitQty": l.quantity.milli() });
                if with_discounts && l.discount.minor() > 0 {
                    line["discounts"] = json!({ "elements": [{ "name": "Discount", "amount": -l.discount.minor() }] });
                }
                line
            })
            .collect();
        value["lineItems"] = json!({ "elements": lines });
    }
    if expands(params, "customers")
        && let Some(c) = &order.customer_id
    {
        value["customers"] = json!({ "elements": [{ "id": c }] });
    }
    if expands(params, "refunds") && order.refunded.minor() > 0 {
        value["refunds"] = json!({ "elements": [{ "id": "R1", "amount": order.refunded.minor() }] });
    }
    value
}

async fn orders(State(fake): State<Shared>, headers: HeaderMap, Path(m): Path<String>, params: Params) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, format!("GET orders {:?}", params.0)).await {
        return r;
    }
    let conditions = filters(&params.0);
    let mut found: Vec<&Order> = fake
        .shop
        .orders
        .iter()
        .filter(|o| o.location_id.as_str() == fake.merchant)
        .filter(|o| {
            conditions.iter().all(|(field, op, value)| match field.as_str() {
                "createdTime" => compare(o.created_at_ms, op, value),
                "customer.id" => o.customer_id.as_ref().is_some_and(|c| c.as_str() == value),
                other => panic!("the fake cannot filter orders on {other}"),
            })
        })
        .collect();
    // Clover's default is newest first.
    if param(&params.0, "orderBy") != Some("createdTime ASC") {
        found.reverse();
    }
    elements(found.into_iter().map(|o| order_json(o, &params.0)).collect(), &params.0)
}

async fn order(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path((m, id)): Path<(String, String)>,
    params: Params,
) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, format!("GET orders/{id}")).await {
        return r;
    }
    match fake.shop.orders.iter().find(|o| o.id.as_str() == id && o.location_id.as_str() == fake.merchant) {
        Some(o) => Json(order_json(o, &params.0)).into_response(),
        None => error(StatusCode::NOT_FOUND),
    }
}

/// Phone numbers as they were typed at the till: every other customer's without the `+1`.
fn typed_phone(index: usize, phone: &str) -> String {
    if index % 2 == 1 { phone.trim_start_matches("+1").to_owned() } else { phone.to_owned() }
}

fn customer_json(index: usize, c: &tillpilot::domain::Customer, params: &[(String, String)]) -> Value {
    let mut value =
        json!({ "id": c.id, "firstName": c.given_name, "lastName": c.family_name, "marketingAllowed": false });
    if expands(params, "emailAddresses") {
        value["emailAddresses"] = json!({ "elements": c.email.iter().map(|e| json!({ "emailAddress": e, "primaryEmail": true })).collect::<Vec<_>>() });
    }
    if expands(params, "phoneNumbers") {
        value["phoneNumbers"] = json!({ "elements": c.phone.iter().map(|p| json!({ "phoneNumber": typed_phone(index, p.as_str()) })).collect::<Vec<_>>() });
    }
    value
}

async fn customers(State(fake): State<Shared>, headers: HeaderMap, Path(m): Path<String>, params: Params) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, format!("GET customers {:?}", params.0)).await {
        return r;
    }
    let conditions = filters(&params.0);
    let found: Vec<Value> = fake
        .shop
        .customers
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            conditions.iter().all(|(field, _, value)| match field.as_str() {
                "phoneNumber" => c.phone.as_ref().is_some_and(|p| &typed_phone(*i, p.as_str()) == value),
                "emailAddress" => c.email.as_deref() == Some(value.as_str()),
                other => panic!("the fake cannot filter customers on {other}"),
            })
        })
        .map(|(i, c)| customer_json(i, c, &params.0))
        .collect();
    elements(found, &params.0)
}

async fn customer(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path((m, id)): Path<(String, String)>,
    params: Params,
) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, format!("GET customers/{id}")).await {
        return r;
    }
    match fake.shop.customers.iter().enumerate().find(|(_, c)| c.id.as_str() == id) {
        Some((i, c)) => Json(customer_json(i, c, &params.0)).into_response(),
        None => error(StatusCode::NOT_FOUND),
    }
}

async fn payments(State(fake): State<Shared>, headers: HeaderMap, Path(m): Path<String>, params: Params) -> Response {
    if let Some(r) = gate(&fake, &headers, &m, format!("GET payments {:?}", params.0)).await {
        return r;
    }
    let conditions = filters(&params.0);
    let mut found: Vec<Value> = tillpilot::pos::sim::payments::payments(&fake.shop.orders)
        .iter()
        .filter(|p| p.location_id.as_str() == fake.merchant)
        .filter(|p| {
            conditions.iter().all(|(field, op, value)| match field.as_str() {
                "createdTime" => compare(p.created_at_ms, op, value),
                other => panic!("the fake cannot filter payments on {other}"),
            })
        })
        .map(|p| {
            let key = match p.tender {
                Tender::Cash => "com.clover.tender.cash",
                Tender::GiftCard => "com.clover.tender.external_gift_card",
                _ => "com.clover.tender.credit_card",
            };
            let entry = p.card_entry.as_deref().map(|e| match e {
                "EMV" => "EMV_CONTACT",
                "CONTACTLESS" => "EMV_CONTACTLESS",
                "ON_FILE" => "VAULTED",
                other => other,
            });
            let mut value = json!({ "id": p.id, "order": p.order_id.as_ref().map(|o| json!({ "id": o })), "amount": p.amount.minor(),
                "tipAmount": p.tip.minor(), "result": "SUCCESS", "createdTime": p.created_at_ms });
            if expands(&params.0, "tender") {
                value["tender"] = json!({ "id": "T1", "labelKey": key });
            }
            if expands(&params.0, "cardTransaction") && p.card_last4.is_some() {
                value["cardTransaction"] = json!({ "last4": p.card_last4, "entryType": entry, "cardType": "VISA" });
            }
            if expands(&params.0, "refunds") && p.refunded.minor() > 0 {
                value["refunds"] = json!({ "elements": [{ "id": "R1", "amount": p.refunded.minor() }] });
            }
            value
        })
        .collect();
    if param(&params.0, "orderBy") != Some("createdTime ASC") {
        found.reverse();
    }
    elements(found, &params.0)
}
