//! A fake Lightspeed Retail (X-Series) store on 127.0.0.1 serving the simulated shop in the
//! API 2.0 wire format: outlets, products (each variant a product; a family's first variant its parent),
//! inventory per outlet, sales with line items and payments (refunds as return sales with
//! `return_for`), customers, suppliers; version-cursor paging (`after`, `page_size`) and the
//! offset-paged `/search`; `X-RateLimit-Limit`/`-Remaining` on every answer and real 429s
//! with `Retry-After` as an HTTP date; OAuth refresh with rotation (the used refresh token is
//! revoked); and inventory-count consignments that, like the real thing, set every product on
//! a completed count that was never counted to 0. Records every call, and can be told to fail.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::wire::{Fault, Recorder};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tillpilot::domain::{FulfilmentKind, FulfilmentState, Money, Order, OrderState, Quantity, Tender};
use tillpilot::pos::sim::SimShop;

pub const TOKEN: &str = "ls-access-0";
pub const REFRESH: &str = "ls-refresh-0";
pub const CLIENT_ID: &str = "fake-lightspeed-client";
pub const CLIENT_SECRET: &str = "fake-lightspeed-client-secret";

/// The per-retailer budget: `limit` requests per `window`.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub limit: u64,
    pub window: Duration,
}

pub const ROOMY: Limit = Limit { limit: 1_000_000, window: Duration::from_secs(300) };

#[derive(Clone, Debug)]
pub struct Consignment {
    pub id: String,
    pub name: String,
    pub outlet_id: String,
    pub kind: String,
    pub status: String,
    pub version: i64,
    /// `(product, count, received)`; `received` is what a count counted, or what arrived
    /// against a supplier order.
    pub lines: Vec<(String, Option<String>, Option<String>)>,
    /// A supplier order's vendor, and each line's unit cost.
    pub supplier_id: Option<String>,
    pub costs: HashMap<String, String>,
}

pub struct FakeLightspeed {
    pub shop: Arc<SimShop>,
    pub page_size: usize,
    pub limit: Limit,
    pub wire: Recorder,
    /// When each call of the current window came.
    window: Mutex<Vec<Instant>>,
    /// The Retry-After last announced, as unix seconds; a call before it is early.
    blocked_until: Mutex<Option<u64>>,
    pub early: AtomicUsize,
    pub rate_limited: AtomicUsize,
    /// Valid access tokens, the one live refresh token, and how many refreshes there were.
    pub access: Mutex<HashSet<String>>,
    pub refresh: Mutex<String>,
    pub refreshes: AtomicUsize,
    pub unauthorized: AtomicUsize,
    pub expires_in: i64,
    /// Stock set by completed counts, by (product, outlet).
    pub stock: Mutex<HashMap<(String, String), Quantity>>,
    pub consignments: Mutex<Vec<Consignment>>,
    /// Create the next consignment, then drop the connection before answering.
    pub lose_next_create: AtomicBool,
    /// Webhook subscriptions (`{id, type, url, active}`).
    pub webhooks: Mutex<Vec<Value>>,
    version: Mutex<i64>,
    payments: HashMap<String, tillpilot::domain::Payment>,
    /// Every sale (and return) in the wire format, built once.
    sales: Mutex<Vec<Value>>,
}

impl FakeLightspeed {
    pub fn fail_next(&self, faults: &[Fault]) {
        self.wire.fail_next(faults);
    }

    pub fn calls(&self) -> Vec<String> {
        self.wire.calls()
    }

    /// Every access token handed out so far stops working (as if they had expired).
    pub fn expire_access_tokens(&self) {
        self.access.lock().unwrap().clear();
    }

    fn next_version(&self) -> i64 {
        let mut v = self.version.lock().unwrap();
        *v += 1;
        *v
    }
}

type Shared = Arc<FakeLightspeed>;

pub async fn start(shop: Arc<SimShop>, page_size: usize, limit: Limit) -> (Shared, String) {
    let payments = tillpilot::pos::sim::payments::payments(&shop.orders)
        .into_iter()
        .map(|p| (p.order_id.clone().unwrap().0, p))
        .collect();
    let fake = Arc::new(FakeLightspeed {
        shop,
        page_size,
        limit,
        wire: Recorder::default(),
        window: Mutex::default(),
        blocked_until: Mutex::default(),
        early: AtomicUsize::new(0),
        rate_limited: AtomicUsize::new(0),
        access: Mutex::new(HashSet::from([TOKEN.to_owned()])),
        refresh: Mutex::new(REFRESH.to_owned()),
        refreshes: AtomicUsize::new(0),
        unauthorized: AtomicUsize::new(0),
        expires_in: 86_400,
        stock: Mutex::default(),
        consignments: Mutex::default(),
        lose_next_create: AtomicBool::new(false),
        webhooks: Mutex::default(),
        version: Mutex::new(1_000_000),
        payments,
        sales: Mutex::default(),
    });
    *fake.sales.lock().unwrap() = sales(&fake);
    let router = axum::Router::new().fallback(handle).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, url)
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

fn http_date(unix: u64) -> String {
    chrono::DateTime::from_timestamp(unix as i64, 0).unwrap().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn error(status: StatusCode) -> Response {
    let body = match status {
        StatusCode::UNAUTHORIZED => json!({ "error": "Access token is not valid" }),
        StatusCode::TOO_MANY_REQUESTS => json!({ "error": "Too Many Requests", "message": "Rate limiting enforced" }),
        s => json!({ "error": s.canonical_reason().unwrap_or("error") }),
    };
    (status, Json(body)).into_response()
}

pub fn decimal(m: Money) -> Value {
    json!(m.minor() as f64 / 100.0)
}

fn quantity(q: Quantity) -> Value {
    json!(q.milli() as f64 / 1000.0)
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// Takes one request from the window's budget: the headers to answer with, or a 429.
fn spend(fake: &FakeLightspeed) -> Result<u64, Box<Response>> {
    let now = Instant::now();
    let mut window = fake.window.lock().unwrap();
    window.retain(|t| now.duration_since(*t) < fake.limit.window);
    let used = window.len() as u64;
    if used >= fake.limit.limit {
        let oldest = window[0];
        let free_at = SystemTime::now() + (fake.limit.window - now.duration_since(oldest));
        let secs = free_at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() + 1;
        *fake.blocked_until.lock().unwrap() = Some(secs);
        fake.rate_limited.fetch_add(1, Ordering::SeqCst);
        let mut response = error(StatusCode::TOO_MANY_REQUESTS);
        response.headers_mut().insert("retry-after", http_date(secs).parse().unwrap());
        return Err(Box::new(response));
    }
    window.push(now);
    Ok(fake.limit.limit - used - 1)
}

async fn handle(State(fake): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(until) = *fake.blocked_until.lock().unwrap()
        && unix_now() < until
    {
        fake.early.fetch_add(1, Ordering::SeqCst);
    }
    let path = uri.path().to_owned();
    let query = query_map(&uri);
    let what = format!("{method} {path} {:?}", {
        let mut q: Vec<_> = query.iter().collect();
        q.sort();
        q
    });
    if path == "/api/1.0/token" {
        if let Some(r) = fake.wire.gate(what, None, error).await {
            return r;
        }
        return token(&fake, &body);
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let authorised = bearer.is_some_and(|t| fake.access.lock().unwrap().contains(t));
    let refusal = (!authorised).then(|| {
        fake.unauthorized.fetch_add(1, Ordering::SeqCst);
        error(StatusCode::UNAUTHORIZED)
    });
    let mut response = match fake.wire.gate(what, refusal, error).await {
        Some(mut r) => {
            // The shared fault vocabulary says a wait in seconds; Lightspeed says a date.
            let seconds = r.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if let Some(seconds) = seconds {
                let secs = unix_now() + seconds + 1;
                *fake.blocked_until.lock().unwrap() = Some(secs);
                r.headers_mut().insert("retry-after", http_date(secs).parse().unwrap());
            }
            r
        }
        None => match spend(&fake) {
            Err(r) => *r,
            Ok(remaining) => {
                let mut r = route(&fake, &method, &path, &query, &body);
                r.headers_mut().insert("x-ratelimit-remaining", remaining.to_string().parse().unwrap());
                r
            }
        },
    };
    response.headers_mut().insert("x-ratelimit-limit", fake.limit.limit.to_string().parse().unwrap());
    response
}

fn token(fake: &FakeLightspeed, body: &[u8]) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let client_ok = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    let grant_ok = match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => form.get("refresh_token") == Some(&*fake.refresh.lock().unwrap()),
        Some("authorization_code") => form.get("code").map(String::as_str) == Some("fake-code"),
        _ => false,
    };
    if !client_ok || !grant_ok {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant" }))).into_response();
    }
    let n = fake.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
    let access = format!("ls-access-{n}");
    let refresh = format!("ls-refresh-{n}");
    fake.access.lock().unwrap().insert(access.clone());
    // The refresh token used is revoked.
    *fake.refresh.lock().unwrap() = refresh.clone();
    Json(json!({ "access_token": access, "token_type": "Bearer", "expires": unix_now() as i64 + fake.expires_in,
        "expires_in": fake.expires_in, "refresh_token": refresh, "domain_prefix": "cornerstore", "scope": "" }))
    .into_response()
}

/// One version-cursor page of `records`, which are in ascending version.
fn page(fake: &FakeLightspeed, records: &[Value], query: &HashMap<String, String>) -> Response {
    let after: i64 = query.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let size: usize = query.get("page_size").and_then(|s| s.parse().ok()).unwrap_or(fake.page_size).min(fake.page_size);
    let start = records.partition_point(|r| r["version"].as_i64().unwrap() <= after);
    let records = &records[start..(start + size).min(records.len())];
    let version = match (records.first(), records.last()) {
        (Some(first), Some(last)) => json!({ "min": first["version"], "max": last["version"] }),
        _ => json!({ "min": null, "max": null }),
    };
    Json(json!({ "data": records, "version": version })).into_response()
}

/// One offset page of `/search`.
fn search_page(fake: &FakeLightspeed, records: Vec<Value>, query: &HashMap<String, String>) -> Response {
    let offset: usize = query.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
    let size: usize = query.get("page_size").and_then(|s| s.parse().ok()).unwrap_or(fake.page_size).min(fake.page_size);
    let data: Vec<Value> = records.into_iter().skip(offset).take(size).collect();
    Json(json!({ "data": data })).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": "Not Found" }))).into_response()
}

fn route(fake: &FakeLightspeed, method: &Method, path: &str, query: &HashMap<String, String>, body: &[u8]) -> Response {
    let Some(rest) = path.strip_prefix("/api/2.0/") else { return not_found() };
    let parts: Vec<&str> = rest.split('/').collect();
    let shop = &fake.shop;
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["outlets"]) => {
            let outlets: Vec<Value> = shop
                .locations
                .iter()
                .enumerate()
                .map(|(i, l)| json!({ "id": l.id, "name": l.name, "time_zone": l.timezone, "currency": "USD", "version": 100 + i as i64, "attributes": [] }))
                .collect();
            page(fake, &outlets, query)
        }
        ("GET", ["products"]) => page(fake, &products(fake), query),
        ("GET", ["products", id, "inventory"]) => {
            let records: Vec<Value> = inventory(fake).into_iter().filter(|r| r["product_id"] == *id).collect();
            Json(json!({ "data": records })).into_response()
        }
        ("GET", ["inventory"]) => page(fake, &inventory(fake), query),
        ("GET", ["sales"]) => page(fake, &fake.sales.lock().unwrap(), query),
        ("GET", ["sales", id]) => match fake.sales.lock().unwrap().iter().find(|s| s["id"] == *id) {
            Some(sale) => Json(json!({ "data": sale })).into_response(),
            None => not_found(),
        },
        ("GET", ["customers", id]) => match shop.customers.iter().find(|c| c.id.as_str() == *id) {
            Some(c) => Json(json!({ "data": customer_json(c) })).into_response(),
            None => not_found(),
        },
        ("GET", ["suppliers"]) => {
            let suppliers: Vec<Value> = shop
                .vendors
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    json!({ "id": v.id, "name": v.name, "source": "USER", "description": "",
                    "contact": { "email": v.email, "phone": v.phone }, "version": 500 + i as i64 })
                })
                .collect();
            page(fake, &suppliers, query)
        }
        ("GET", ["search"]) => search(fake, query),
        ("GET", ["consignments"]) => {
            let found: Vec<Value> = fake
                .consignments
                .lock()
                .unwrap()
                .iter()
                .filter(|c| query.get("type").is_none_or(|t| *t == c.kind))
                .filter(|c| query.get("outlet_id").is_none_or(|o| *o == c.outlet_id))
                .map(consignment_json)
                .collect();
            let mut found = found;
            found.sort_by_key(|c| c["version"].as_i64().unwrap());
            page(fake, &found, query)
        }
        ("POST", ["consignments"]) => create_consignment(fake, body),
        ("GET", ["webhooks"]) => Json(json!({ "data": *fake.webhooks.lock().unwrap() })).into_response(),
        ("POST", ["webhooks"]) => {
            let asked: Value = serde_json::from_slice(body).unwrap();
            let mut hooks = fake.webhooks.lock().unwrap();
            if hooks.iter().any(|h| h["type"] == asked["type"] && h["url"] == asked["url"]) {
                return (StatusCode::CONFLICT, Json(json!({ "error": "webhook already exists" }))).into_response();
            }
            let hook = json!({ "id": format!("WH-{}", hooks.len() + 1), "retailer_id": "RET-1", "type": asked["type"],
                "url": asked["url"], "active": asked["active"] });
            hooks.push(hook.clone());
            (StatusCode::CREATED, Json(json!({ "data": hook }))).into_response()
        }
        ("GET", ["consignments", id]) => match fake.consignments.lock().unwrap().iter().find(|c| c.id == *id) {
            Some(c) => Json(json!({ "data": consignment_json(c) })).into_response(),
            None => not_found(),
        },
        ("PUT", ["consignments", id]) => update_consignment(fake, id, body),
        ("GET", ["consignments", id, "products"]) => {
            let consignments = fake.consignments.lock().unwrap();
            let Some(c) = consignments.iter().find(|c| c.id == *id) else { return not_found() };
            let lines: Vec<Value> = c
                .lines
                .iter()
                .map(|(p, count, received)| {
                    json!({ "product_id": p, "count": count, "received": received,
                    "cost": c.costs.get(p.as_str()).map_or("0.00000", String::as_str), "is_included": true })
                })
                .collect();
            Json(json!({ "data": lines })).into_response()
        }
        ("POST", ["consignments", id, "products"]) => {
            let line: Value = serde_json::from_slice(body).unwrap();
            set_line(fake, id, line["product_id"].as_str().unwrap(), &line, true)
        }
        ("PUT", ["consignments", id, "products", product]) => {
            let line: Value = serde_json::from_slice(body).unwrap();
            set_line(fake, id, product, &line, false)
        }
        _ => not_found(),
    }
}

pub fn products(fake: &FakeLightspeed) -> Vec<Value> {
    let shop = &fake.shop;
    let mut out = Vec::new();
    let mut version = 10_000;
    for item in &shop.catalog.items {
        let category = item
            .category_id
            .as_ref()
            .map_or(json!({}), |c| json!({ "id": c, "name": shop.catalog.category_name(c).unwrap_or_default() }));
        let family = item.variations.len() > 1;
        // A family's first variant is its parent; the others point to it.
        let parent = &item.variations[0].id;
        for v in &item.variations {
            version += 1;
            let supplier = shop.vendor_terms.iter().find(|t| t.variation_id == v.id);
            let options = if family { json!([{ "id": "opt", "name": "Option", "value": v.name }]) } else { json!([]) };
            let variant_name = if family { format!("{} / {}", item.name, v.name) } else { item.name.clone() };
            let parent_id = if family && &v.id != parent { json!(parent) } else { Value::Null };
            out.push(json!({ "id": v.id, "name": item.name, "variant_name": variant_name, "handle": item.id,
                "sku": v.sku, "active": true, "has_variants": family, "variant_parent_id": parent_id,
                "variant_options": options, "price_excluding_tax": decimal(v.price), "price_including_tax": decimal(v.price),
                "supply_price": supplier.map_or(json!(0), |t| decimal(t.unit_cost)),
                "supplier_id": supplier.map(|t| t.vendor_id.clone()), "type": category, "categories": [], "version": version }));
        }
    }
    out
}

pub fn inventory(fake: &FakeLightspeed) -> Vec<Value> {
    let set = fake.stock.lock().unwrap();
    fake.shop
        .stock
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let key = (s.variation_id.0.clone(), s.location_id.0.clone());
            let level = set.get(&key).copied().unwrap_or(s.on_hand);
            json!({ "id": format!("INV-{i}"), "product_id": s.variation_id, "outlet_id": s.location_id,
                "inventory_level": quantity(level), "current_amount": quantity(level), "reorder_point": 0, "version": 20_000 + i as i64 })
        })
        .collect()
}

fn status(order: &Order) -> (&'static str, Vec<&'static str>) {
    match &order.fulfilment {
        None => match order.state {
            OrderState::Completed => ("CLOSED", vec![]),
            OrderState::Open => ("SAVED", vec![]),
            OrderState::Cancelled => ("VOIDED", vec![]),
        },
        Some(f) => match (f.kind, f.state) {
            (_, FulfilmentState::Cancelled) if f.kind == FulfilmentKind::Pickup => ("VOIDED", vec!["pickup"]),
            (_, FulfilmentState::Cancelled) => ("VOIDED", vec!["delivery"]),
            (FulfilmentKind::Shipment, FulfilmentState::Unfulfilled | FulfilmentState::ReadyForPickup) => {
                ("AWAITING_DISPATCH", vec!["delivery"])
            }
            (FulfilmentKind::Shipment, _) => ("DISPATCHED_CLOSED", vec!["delivery"]),
            (FulfilmentKind::Pickup, FulfilmentState::Delivered) => ("PICKED_UP_CLOSED", vec!["pickup"]),
            (FulfilmentKind::Pickup, _) => ("AWAITING_PICKUP", vec!["pickup"]),
            (FulfilmentKind::Layby, FulfilmentState::Delivered) => ("LAYBY_CLOSED", vec!["layby"]),
            (FulfilmentKind::Layby, _) => ("LAYBY", vec!["layby"]),
            (FulfilmentKind::OnAccount, FulfilmentState::Delivered) => ("ONACCOUNT_CLOSED", vec!["onaccount"]),
            (FulfilmentKind::OnAccount, _) => ("ONACCOUNT", vec!["onaccount"]),
        },
    }
}

pub fn sale_json(fake: &FakeLightspeed, order: &Order, version: i64) -> Value {
    let (status, attributes) = status(order);
    let lines: Vec<Value> = order
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({ "id": format!("{}-L{i}", order.id.as_str()), "product_id": l.variation_id, "quantity": quantity(l.quantity),
            "price": decimal(l.unit_price), "unit_price": decimal(l.unit_price), "total_discount": decimal(l.discount),
            "discount_total": decimal(l.discount), "tax": 0, "status": "CONFIRMED", "sequence": i, "is_return": false }))
        .collect();
    let payments: Vec<Value> = fake
        .payments
        .get(order.id.as_str())
        .into_iter()
        .map(|p| {
            let (type_id, name) = match p.tender {
                Tender::Cash => ("1", "Cash"),
                Tender::GiftCard => ("118", "Gift Card"),
                _ => ("3", "Credit Card"),
            };
            // A layby or account sale still owing was paid only in part.
            let owed = order.fulfilment.as_ref().and_then(|f| f.balance_due).unwrap_or(Money::ZERO);
            json!({ "id": p.id, "payment_type_id": type_id, "retailer_payment_type_id": format!("RPT-{type_id}"), "name": name,
                "amount": decimal(p.amount - owed), "payment_date": time(p.created_at_ms) })
        })
        .collect();
    let updated = order.fulfilment.as_ref().map_or(order.created_at_ms, |f| f.updated_at_ms);
    json!({ "id": order.id, "outlet_id": order.location_id, "register_id": "REG-1", "customer_id": order.customer_id,
        "invoice_number": order.number, "status": status, "attributes": attributes, "note": "", "return_for": null,
        "total_price": decimal(order.total), "total_tax": 0, "created_at": time(order.created_at_ms),
        "sale_date": time(order.created_at_ms), "updated_at": time(updated), "line_items": lines, "payments": payments,
        "taxes": [], "version": version })
}

/// A refunded order's return: a sale of its own, an hour later, giving the money back.
fn return_json(order: &Order, version: i64) -> Value {
    let at = order.created_at_ms + 3_600_000;
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|l| json!({ "product_id": l.variation_id, "quantity": -(l.quantity.milli() as f64) / 1000.0, "price": decimal(l.unit_price),
            "total_discount": 0, "status": "CONFIRMED", "is_return": true }))
        .collect();
    json!({ "id": format!("RET-{}", order.id.as_str()), "outlet_id": order.location_id, "customer_id": order.customer_id,
        "invoice_number": format!("R{}", order.number), "status": "CLOSED", "return_for": order.id,
        "total_price": decimal(Money::from_minor(-order.refunded.minor())), "total_tax": 0, "created_at": time(at), "sale_date": time(at),
        "updated_at": time(at), "line_items": lines,
        "payments": [{ "id": format!("RETPAY-{}", order.id.as_str()), "payment_type_id": "1", "name": "Cash",
            "amount": decimal(Money::from_minor(-order.refunded.minor())), "payment_date": time(at) }], "version": version })
}

fn sales(fake: &FakeLightspeed) -> Vec<Value> {
    let orders = &fake.shop.orders;
    let mut out: Vec<Value> = orders.iter().enumerate().map(|(i, o)| sale_json(fake, o, 100_000 + i as i64)).collect();
    let base = 100_000 + orders.len() as i64;
    out.extend(
        orders.iter().filter(|o| o.refunded.minor() > 0).enumerate().map(|(i, o)| return_json(o, base + i as i64)),
    );
    out
}

/// Priya's number was typed at the till the national way.
fn customer_json(c: &tillpilot::domain::Customer) -> Value {
    let mobile = c.phone.as_ref().map(|p| {
        if c.id.as_str() == "CUST-002" {
            let d = &p.as_str()[2..];
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        } else {
            p.as_str().to_owned()
        }
    });
    json!({ "id": c.id, "customer_code": format!("{}-{}", c.given_name, c.id.as_str()), "first_name": c.given_name,
        "last_name": c.family_name, "email": c.email, "phone": null, "mobile": mobile, "balance": 0, "version": 1 })
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn search(fake: &FakeLightspeed, query: &HashMap<String, String>) -> Response {
    match query.get("type").map(String::as_str) {
        Some("customers") => {
            let found: Vec<Value> = fake
                .shop
                .customers
                .iter()
                .map(customer_json)
                .filter(|c| {
                    ["mobile", "phone"].iter().all(|field| {
                        query
                            .get(*field)
                            .is_none_or(|q| c[*field].as_str().is_some_and(|v| digits(v).contains(&digits(q))))
                    }) && query
                        .get("email")
                        .is_none_or(|e| c["email"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(e)))
                })
                .collect();
            search_page(fake, found, query)
        }
        Some("sales") => {
            let found: Vec<Value> = fake
                .sales
                .lock()
                .unwrap()
                .iter()
                .filter(|s| query.get("invoice_number").is_none_or(|n| s["invoice_number"] == *n))
                .filter(|s| query.get("customer_id").is_none_or(|c| s["customer_id"] == *c))
                .cloned()
                .collect();
            search_page(fake, found, query)
        }
        other => panic!("the fake cannot search {other:?}"),
    }
}

fn consignment_json(c: &Consignment) -> Value {
    json!({ "id": c.id, "name": c.name, "outlet_id": c.outlet_id, "type": c.kind, "status": c.status,
        "supplier_id": c.supplier_id, "consignment_date": "2026-11-26T18:00:00+00:00", "filters": [], "version": c.version })
}

impl FakeLightspeed {
    /// A sale changes at the till (a layby paid off, a void): `change` edits it, it gets the next
    /// version and moves to the end of the version order, as Lightspeed's list does.
    pub fn change_sale(&self, id: &str, change: impl FnOnce(&mut Value)) {
        let version = self.next_version();
        let mut sales = self.sales.lock().unwrap();
        let at = sales.iter().position(|s| s["id"] == id).expect("a sale to change");
        let mut sale = sales.remove(at);
        change(&mut sale);
        sale["version"] = version.into();
        sales.push(sale);
    }

    /// Staff book a supplier order in at the till: each product's `received` is set, the order
    /// becomes RECEIVED and the stock rises. Returns the `consignment.receive` payloads
    /// Lightspeed would deliver, one per line.
    pub fn receive(&self, id: &str, received: &[(&str, u32)]) -> Vec<Value> {
        let version = self.next_version();
        let mut consignments = self.consignments.lock().unwrap();
        let c = consignments.iter_mut().find(|c| c.id == id).expect("a consignment to receive");
        assert_eq!(c.kind, "SUPPLIER");
        assert!(matches!(c.status.as_str(), "SENT" | "DISPATCHED"), "only a sent order is received: {}", c.status);
        let mut payloads = Vec::new();
        let mut stock = self.stock.lock().unwrap();
        for (n, (product, count, got)) in c.lines.iter_mut().enumerate() {
            let arrived = received.iter().find(|(p, _)| p == product).map_or(0, |(_, q)| *q);
            *got = Some(format!("{arrived}.00000"));
            let key = (product.clone(), c.outlet_id.clone());
            let before = stock.get(&key).copied().unwrap_or_else(|| {
                self.shop
                    .stock
                    .iter()
                    .find(|s| s.variation_id.as_str() == product && s.location_id.as_str() == c.outlet_id)
                    .map_or(Quantity::ZERO, |s| s.on_hand)
            });
            stock.insert(key, before + Quantity::from_units(i64::from(arrived)));
            payloads.push(json!({ "id": format!("{}-{n}", c.id), "consignment_id": c.id, "product_id": product,
                "count": count, "received": got, "cost": c.costs.get(product.as_str()), "sequence_number": n }));
        }
        c.status = "RECEIVED".into();
        c.version = version;
        payloads
    }
}

fn create_consignment(fake: &FakeLightspeed, body: &[u8]) -> Response {
    let body: Value = serde_json::from_slice(body).unwrap();
    let version = fake.next_version();
    let mut c = Consignment {
        id: format!("CON-{version}"),
        name: body["name"].as_str().unwrap_or_default().to_owned(),
        outlet_id: body["outlet_id"].as_str().unwrap().to_owned(),
        kind: body["type"].as_str().unwrap().to_owned(),
        status: body["status"].as_str().unwrap_or("OPEN").to_owned(),
        version,
        lines: Vec::new(),
        supplier_id: body["supplier_id"].as_str().map(str::to_owned),
        costs: HashMap::new(),
    };
    if c.kind == "SUPPLIER" && !matches!(c.status.as_str(), "OPEN" | "SENT") {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "a supplier order starts OPEN or SENT" })))
            .into_response();
    }
    if c.kind == "STOCKTAKE" && c.status == "STOCKTAKE_IN_PROGRESS" {
        start_count(fake, &mut c, &body["filters"]);
    }
    let answer = consignment_json(&c);
    fake.consignments.lock().unwrap().push(c);
    if fake.lose_next_create.swap(false, Ordering::SeqCst) {
        return crate::wire::dropped();
    }
    (StatusCode::CREATED, Json(json!({ "data": answer }))).into_response()
}

/// A count going in progress without filters takes in every product of the outlet, uncounted.
fn start_count(fake: &FakeLightspeed, c: &mut Consignment, filters: &Value) {
    if filters.as_array().is_none_or(Vec::is_empty) {
        for s in fake.shop.stock.iter().filter(|s| s.location_id.as_str() == c.outlet_id) {
            if !c.lines.iter().any(|(p, _, _)| p == s.variation_id.as_str()) {
                c.lines.push((s.variation_id.0.clone(), None, None));
            }
        }
    }
}

fn update_consignment(fake: &FakeLightspeed, id: &str, body: &[u8]) -> Response {
    let body: Value = serde_json::from_slice(body).unwrap();
    let version = fake.next_version();
    let mut consignments = fake.consignments.lock().unwrap();
    let Some(c) = consignments.iter_mut().find(|c| c.id == id) else { return not_found() };
    let status = body["status"].as_str().unwrap_or(&c.status).to_owned();
    if c.kind == "SUPPLIER" && status != c.status {
        if matches!(c.status.as_str(), "RECEIVED" | "CANCELLED") {
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": "a received or cancelled order cannot change" })))
                .into_response();
        }
        if c.lines.is_empty() && status != "CANCELLED" {
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": "no status change without products" })))
                .into_response();
        }
    }
    if c.kind == "STOCKTAKE" && status == "STOCKTAKE_IN_PROGRESS" && c.status == "STOCKTAKE_SCHEDULED" {
        start_count(fake, c, &Value::Null);
    }
    if c.kind == "STOCKTAKE" && status == "STOCKTAKE_COMPLETE" && c.status != status {
        // Every product on a completed count takes its counted figure; an uncounted one, 0.
        let mut stock = fake.stock.lock().unwrap();
        for (product, _, received) in &c.lines {
            let counted = received.as_deref().map_or(Quantity::ZERO, |r| Quantity::parse(r).unwrap());
            stock.insert((product.clone(), c.outlet_id.clone()), counted);
        }
    }
    c.status = status;
    c.version = version;
    Json(json!({ "data": consignment_json(c) })).into_response()
}

/// Sets a line's figures; `add` (a POST) adds to the count of a product already on an open
/// or sent supplier order, as Lightspeed does.
fn set_line(fake: &FakeLightspeed, id: &str, product: &str, line: &Value, add: bool) -> Response {
    let mut consignments = fake.consignments.lock().unwrap();
    let Some(c) = consignments.iter_mut().find(|c| c.id == id) else { return not_found() };
    let text = |key: &str| match &line[key] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(cost) = text("cost") {
        c.costs.insert(product.to_owned(), cost);
    }
    let supplier = c.kind == "SUPPLIER";
    if supplier && matches!(c.status.as_str(), "RECEIVED" | "CANCELLED") {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "a received or cancelled order cannot change" })))
            .into_response();
    }
    match c.lines.iter_mut().find(|(p, _, _)| p == product) {
        Some(existing) if add && supplier => {
            let sum = |a: Option<&str>, b: Option<&str>| {
                let q = |t: Option<&str>| t.and_then(Quantity::parse).unwrap_or(Quantity::ZERO);
                (q(a) + q(b)).to_string()
            };
            existing.1 = Some(sum(existing.1.as_deref(), text("count").as_deref()));
        }
        Some(existing) => {
            existing.1 = text("count").or(existing.1.clone());
            existing.2 = text("received").or(existing.2.clone());
        }
        None => c.lines.push((product.to_owned(), text("count"), text("received"))),
    }
    Json(json!({ "data": { "product_id": product, "count": text("count"), "received": text("received") } }))
        .into_response()
}
