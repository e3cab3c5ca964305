//! A fake QuickBooks Online company on 127.0.0.1 in the Accounting API v3 wire format: the
//! OAuth token endpoint (HTTP Basic client auth; each refresh answers a new refresh token and
//! the one used stops working), `query` with `select * from <Entity> where <Field> = '<value>'`,
//! Vendor, Item (with sparse updates), Account and PurchaseOrder, `requestid` replay (the same
//! id gets the first answer back), the validations a purchase order meets (a vendor, an AP
//! account, items with an expense account, a DocNumber of at most 21 characters, no duplicate
//! DocNumber) answered as `Fault`s, and a stall: commit a purchase order, then hold the answer
//! until the client has given up.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const REALM: &str = "9130356829071234";
pub const CLIENT_ID: &str = "fake-qbo-client";
pub const CLIENT_SECRET: &str = "fake-qbo-secret";
pub const REFRESH: &str = "qbo-refresh-0";
pub const AP_ACCOUNT: &str = "33";
pub const COGS_ACCOUNT: &str = "80";

#[derive(Default)]
pub struct FakeQuickBooks {
    pub vendors: Mutex<Vec<Value>>,
    pub items: Mutex<Vec<Value>>,
    pub accounts: Mutex<Vec<Value>>,
    pub purchase_orders: Mutex<Vec<Value>>,
    /// The one refresh token that works, and the access tokens handed out.
    pub refresh: Mutex<String>,
    pub access: Mutex<Vec<String>>,
    pub refreshes: AtomicUsize,
    /// Answers by request id, replayed for the same id.
    replies: Mutex<HashMap<String, (u16, Value)>>,
    /// Commit the next purchase order, then answer only after this long.
    pub stall_next_po: Mutex<Option<Duration>>,
    pub calls: Mutex<Vec<String>>,
    next_id: AtomicUsize,
    pub down: AtomicBool,
}

impl FakeQuickBooks {
    fn id(&self) -> String {
        (100 + self.next_id.fetch_add(1, Ordering::SeqCst)).to_string()
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

type Shared = Arc<FakeQuickBooks>;

/// Starts the fake with a company that has an AP account, a cost-of-goods account, and one
/// item (`existing_item`, by name) that has no expense account yet.
pub async fn start(existing_item: Option<&str>) -> (Shared, String) {
    let fake = Arc::new(FakeQuickBooks::default());
    *fake.refresh.lock().unwrap() = REFRESH.to_owned();
    fake.accounts.lock().unwrap().extend([
        json!({ "Id": AP_ACCOUNT, "Name": "Accounts Payable (A/P)", "AccountType": "Accounts Payable",
            "Classification": "Liability", "AccountSubType": "AccountsPayable", "SyncToken": "0" }),
        json!({ "Id": COGS_ACCOUNT, "Name": "Cost of Goods Sold", "AccountType": "Cost of Goods Sold",
            "Classification": "Expense", "AccountSubType": "SuppliesMaterialsCogs", "SyncToken": "0" }),
    ]);
    if let Some(name) = existing_item {
        fake.items
            .lock()
            .unwrap()
            .push(json!({ "Id": "7", "Name": name, "Type": "NonInventory", "SyncToken": "2", "Active": true }));
    }
    let router = axum::Router::new().fallback(handle).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (fake, url)
}

fn fault(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "Fault": { "Error": [{ "Message": message, "Detail": message, "code": code, "element": "" }],
            "type": "ValidationFault" }, "time": "2026-11-26T12:00:00.000-08:00" })),
    )
        .into_response()
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect()
}

async fn handle(State(fake): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let query = query_map(&uri);
    fake.calls.lock().unwrap().push(format!(
        "{method} {} {}",
        uri.path(),
        query.get("query").cloned().unwrap_or_default()
    ));
    if uri.path() == "/oauth2/v1/tokens/bearer" {
        return token(&fake, &headers, &body);
    }
    if fake.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|b| fake.access.lock().unwrap().iter().any(|a| a == b)) {
        return fault(
            StatusCode::UNAUTHORIZED,
            "3200",
            "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        );
    }
    if query.get("minorversion").map(String::as_str) != Some("75") {
        return fault(StatusCode::BAD_REQUEST, "2020", "minorversion=75 is expected");
    }
    let prefix = format!("/v3/company/{REALM}/");
    let Some(resource) = uri.path().strip_prefix(&prefix) else {
        return fault(StatusCode::NOT_FOUND, "610", "Object Not Found");
    };
    if method == Method::GET && resource == "query" {
        return run_query(&fake, query.get("query").map(String::as_str).unwrap_or_default());
    }
    if method != Method::POST {
        return fault(StatusCode::BAD_REQUEST, "2020", "unsupported");
    }
    let request_id = query.get("requestid").cloned();
    if let Some(id) = &request_id
        && let Some((status, answer)) = fake.replies.lock().unwrap().get(id).cloned()
    {
        return (StatusCode::from_u16(status).unwrap(), Json(answer)).into_response();
    }
    let Ok(object) = serde_json::from_slice::<Value>(&body) else {
        return fault(StatusCode::BAD_REQUEST, "2020", "the body is not JSON");
    };
    let (status, answer, stall) = match resource {
        "vendor" => create_vendor(&fake, object),
        "item" => write_item(&fake, object),
        "purchaseorder" => create_po(&fake, object),
        _ => (404, json!({ "Fault": { "Error": [{ "Message": "Object Not Found", "code": "610" }] } }), None),
    };
    if let Some(id) = request_id {
        fake.replies.lock().unwrap().insert(id, (status, answer.clone()));
    }
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    (StatusCode::from_u16(status).unwrap(), Json(answer)).into_response()
}

fn token(fake: &FakeQuickBooks, headers: &HeaderMap, body: &[u8]) -> Response {
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "invalid_client" }))).into_response();
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let live = fake.refresh.lock().unwrap().clone();
    if form.get("grant_type").map(String::as_str) != Some("refresh_token") || form.get("refresh_token") != Some(&live) {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant" }))).into_response();
    }
    let n = fake.refreshes.fetch_add(1, Ordering::SeqCst) + 1;
    let access = format!("qbo-access-{n}");
    let refresh = format!("qbo-refresh-{n}");
    fake.access.lock().unwrap().push(access.clone());
    *fake.refresh.lock().unwrap() = refresh.clone();
    Json(json!({ "token_type": "bearer", "expires_in": 3600, "refresh_token": refresh,
        "x_refresh_token_expires_in": 8_726_400, "access_token": access }))
    .into_response()
}

/// `select * from Entity where Field = 'value'`, the one shape Tillpilot asks.
fn run_query(fake: &FakeQuickBooks, statement: &str) -> Response {
    let lower = statement.to_lowercase();
    let Some(rest) = lower.strip_prefix("select * from ") else {
        return fault(StatusCode::BAD_REQUEST, "4000", "Error parsing query");
    };
    let entity_len = rest.find(' ').unwrap_or(rest.len());
    let start = "select * from ".len();
    let entity = &statement[start..start + entity_len];
    let condition = statement[start + entity_len..].trim();
    let Some(condition) = condition.strip_prefix("where ").or_else(|| condition.strip_prefix("WHERE ")) else {
        return fault(StatusCode::BAD_REQUEST, "4000", "Error parsing query: a where clause is expected");
    };
    let Some((field, value)) = condition.split_once(" = ") else {
        return fault(StatusCode::BAD_REQUEST, "4000", "Error parsing query");
    };
    let value = value.trim();
    let Some(value) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) else {
        return fault(StatusCode::BAD_REQUEST, "4000", "Error parsing query: quote string values");
    };
    let value = value.replace("\\'", "'").replace("\\\\", "\\");
    let list = match entity {
        "Vendor" => fake.vendors.lock().unwrap().clone(),
        "Item" => fake.items.lock().unwrap().clone(),
        "Account" => fake.accounts.lock().unwrap().clone(),
        "PurchaseOrder" => fake.purchase_orders.lock().unwrap().clone(),
        _ => return fault(StatusCode::BAD_REQUEST, "4001", "Invalid entity"),
    };
    let found: Vec<Value> = list.into_iter().filter(|o| o[field.trim()].as_str() == Some(value.as_str())).collect();
    if found.is_empty() {
        return Json(json!({ "QueryResponse": {}, "time": "2026-11-26T12:00:00.000-08:00" })).into_response();
    }
    Json(json!({ "QueryResponse": { entity: found, "startPosition": 1, "maxResults": 1 }, "time": "2026-11-26T12:00:00.000-08:00" }))
        .into_response()
}

type Written = (u16, Value, Option<Duration>);

fn error(code: &str, message: &str) -> Written {
    (
        400,
        json!({ "Fault": { "Error": [{ "Message": message, "Detail": message, "code": code }], "type": "ValidationFault" } }),
        None,
    )
}

fn create_vendor(fake: &FakeQuickBooks, mut vendor: Value) -> Written {
    let Some(name) = vendor["DisplayName"].as_str().map(str::to_owned) else {
        return error("2020", "Required param missing, need to supply the required value for the API: DisplayName");
    };
    let mut vendors = fake.vendors.lock().unwrap();
    if vendors.iter().any(|v| v["DisplayName"] == name.as_str()) {
        return error("6240", "Duplicate Name Exists Error");
    }
    vendor["Id"] = fake.id().into();
    vendor["SyncToken"] = "0".into();
    vendors.push(vendor.clone());
    (200, json!({ "Vendor": vendor }), None)
}

fn write_item(fake: &FakeQuickBooks, item: Value) -> Written {
    let mut items = fake.items.lock().unwrap();
    if item["sparse"] == true {
        let Some(existing) = items.iter_mut().find(|i| i["Id"] == item["Id"]) else {
            return error("610", "Object Not Found");
        };
        if existing["SyncToken"] != item["SyncToken"] {
            return error("5010", "Stale Object Error");
        }
        for (key, value) in item.as_object().unwrap() {
            if key != "sparse" {
                existing[key] = value.clone();
            }
        }
        let token: u64 = existing["SyncToken"].as_str().unwrap().parse().unwrap();
        existing["SyncToken"] = (token + 1).to_string().into();
        return (200, json!({ "Item": existing }), None);
    }
    let mut item = item;
    if items.iter().any(|i| i["Name"] == item["Name"]) {
        return error("6240", "Duplicate Name Exists Error");
    }
    item["Id"] = fake.id().into();
    item["SyncToken"] = "0".into();
    items.push(item.clone());
    (200, json!({ "Item": item }), None)
}

fn create_po(fake: &FakeQuickBooks, mut po: Value) -> Written {
    let vendor = po["VendorRef"]["value"].as_str().unwrap_or_default().to_owned();
    if !fake.vendors.lock().unwrap().iter().any(|v| v["Id"] == vendor.as_str()) {
        return error("2500", "Invalid Reference Id: the vendor");
    }
    if po["APAccountRef"]["value"].as_str() != Some(AP_ACCOUNT) {
        return error("2020", "Required param missing, need to supply the required value for the API: APAccountRef");
    }
    let doc = po["DocNumber"].as_str().unwrap_or_default().to_owned();
    if doc.chars().count() > 21 {
        return error(
            "2050",
            &format!(
                "String length is either shorter or longer than supported by specification. Min:0 Max:21 supported. Supplied length:{}",
                doc.chars().count()
            ),
        );
    }
    if fake.purchase_orders.lock().unwrap().iter().any(|p| p["DocNumber"] == doc.as_str()) {
        return error("6140", "Duplicate Document Number Error");
    }
    let items = fake.items.lock().unwrap().clone();
    let mut total = 0.0;
    for line in po["Line"].as_array().cloned().unwrap_or_default() {
        let detail = &line["ItemBasedExpenseLineDetail"];
        let Some(item) = items.iter().find(|i| i["Id"] == detail["ItemRef"]["value"]) else {
            return error("2500", "Invalid Reference Id: an item");
        };
        if item["ExpenseAccountRef"]["value"].is_null() {
            return error("6000", "You must select an account for this transaction.");
        }
        let amount = line["Amount"].as_f64().unwrap_or_default();
        let expected = detail["Qty"].as_f64().unwrap_or_default() * detail["UnitPrice"].as_f64().unwrap_or_default();
        if (amount - expected).abs() > 0.005 {
            return error("6070", "Amount is not equal to UnitPrice * Qty");
        }
        total += amount;
    }
    po["Id"] = fake.id().into();
    po["SyncToken"] = "0".into();
    po["TotalAmt"] = ((total * 100.0).round() / 100.0).into();
    po["POStatus"] = "Open".into();
    po["EmailStatus"] = "NotSet".into();
    fake.purchase_orders.lock().unwrap().push(po.clone());
    let stall = fake.stall_next_po.lock().unwrap().take();
    (200, json!({ "PurchaseOrder": po, "time": "2026-11-26T12:00:00.000-08:00" }), stall)
}
