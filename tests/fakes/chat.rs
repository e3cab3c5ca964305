//! Fake chat platforms on 127.0.0.1, one server each, speaking the published wire formats and
//! recording every call: the Slack Web API (`/api/{method}`, `{"ok": …}` envelopes, response
//! URLs, the files v2 upload), the Telegram Bot API (`/bot{token}/{method}`, method names
//! matched without regard to case), Discord REST (`/api/v10/…`) and Twilio Messages. Each
//! answers the shared fault vocabulary (`wire::Fault`) in its platform's own shape: a 429 says
//! how long to wait the way the platform does.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const SLACK_TOKEN: &str = "xoxb-fake";
pub const SLACK_APP_TOKEN: &str = "xapp-fake";
pub const TELEGRAM_TOKEN: &str = "123456:fake-telegram";
pub const DISCORD_TOKEN: &str = "discord-bot-fake";
pub const TWILIO_SID: &str = "ACfake0000000000000000000000000000";
pub const TWILIO_TOKEN: &str = "twilio-auth-fake";

/// One recorded call: the method name or path, and the body as JSON (form bodies as an object).
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub body: Value,
}

pub use crate::wire::Fault;
use crate::wire::{answer, with_retry_after};

#[derive(Default)]
pub struct Fake {
    pub calls: Mutex<Vec<Call>>,
    pub faults: Mutex<VecDeque<Fault>>,
    next_id: AtomicU64,
    pub url: Mutex<String>,
    /// Telegram updates the next getUpdates hands out (those at or above its offset).
    pub updates: Mutex<Vec<Value>>,
    /// Where apps.connections.open sends Socket Mode clients.
    pub socket_url: Mutex<String>,
}

impl Fake {
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method.eq_ignore_ascii_case(method)).collect()
    }

    pub fn fail_next(&self, fault: Fault) {
        self.faults.lock().unwrap().push_back(fault);
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn record(&self, method: &str, body: Value) -> Option<Fault> {
        self.calls.lock().unwrap().push(Call { method: method.to_owned(), body });
        self.faults.lock().unwrap().pop_front()
    }
}

fn body_value(headers: &HeaderMap, body: &[u8]) -> Value {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        return json!({ "multipart": true, "png": has(b"\x89PNG"), "payload_json": has(b"name=\"payload_json\""),
            "photo": has(b"name=\"photo\""), "chat_id": has(b"name=\"chat_id\"") });
    }
    let form = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("form-urlencoded"));
    if form {
        let pairs: serde_json::Map<String, Value> =
            form_urlencoded::parse(body).into_owned().map(|(k, v)| (k, Value::String(v))).collect();
        return Value::Object(pairs);
    }
    serde_json::from_slice(body).unwrap_or_else(|_| json!({ "raw_bytes": body.len() }))
}

async fn serve(router: axum::Router, fake: &Arc<Fake>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    *fake.url.lock().unwrap() = url.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

// ---- Slack ----------------------------------------------------------------------------------

pub async fn slack() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new()
        .route("/api/{method}", any(slack_method))
        .route("/respond/{id}", any(slack_respond))
        .route("/upload/{id}", any(slack_upload))
        .with_state(fake.clone());
    let url = serve(router, &fake).await;
    (fake, format!("{url}/api"))
}

async fn slack_method(
    State(fake): State<Arc<Fake>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let value = body_value(&headers, &body);
    let fault = fake.record(&method, value.clone());
    let token = if method == "apps.connections.open" { SLACK_APP_TOKEN } else { SLACK_TOKEN };
    if auth != Some(&format!("Bearer {token}")) {
        return Json(json!({ "ok": false, "error": "invalid_auth" })).into_response();
    }
    let slack_error = |status: StatusCode, after: Option<&str>| {
        if status == StatusCode::TOO_MANY_REQUESTS {
            with_retry_after((status, Json(json!({ "ok": false, "error": "ratelimited" }))).into_response(), after)
        } else {
            status.into_response()
        }
    };
    if let Some(response) = answer(fault, slack_error, "{\"ok\": tr").await {
        return response;
    }
    let base = fake.url.lock().unwrap().clone();
    let answer = match method.as_str() {
        "chat.postMessage" => {
            if value.get("channel").is_none() || (value.get("text").is_none() && value.get("blocks").is_none()) {
                json!({ "ok": false, "error": "no_text" })
            } else {
                {
                    let ts = format!("1700000000.{:06}", fake.id());
                    json!({ "ok": true, "channel": value["channel"], "ts": ts,
                        "message": { "type": "message", "bot_id": "B0TILLPILOT", "text": value["text"], "ts": ts } })
                }
            }
        }
        "chat.update" => json!({ "ok": true, "channel": value["channel"], "ts": value["ts"], "text": value["text"] }),
        "files.getUploadURLExternal" => {
            let id = fake.id();
            json!({ "ok": true, "upload_url": format!("{base}/upload/F{id}"), "file_id": format!("F{id}") })
        }
        "files.completeUploadExternal" => json!({ "ok": true, "files": [{ "id": "F1", "title": "chart" }] }),
        "apps.connections.open" => json!({ "ok": true, "url": fake.socket_url.lock().unwrap().clone() }),
        _ => json!({ "ok": false, "error": "unknown_method" }),
    };
    Json(answer).into_response()
}

async fn slack_respond(
    State(fake): State<Arc<Fake>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    fake.record(&format!("response_url/{id}"), body_value(&headers, &body));
    "ok".into_response()
}

async fn slack_upload(State(fake): State<Arc<Fake>>, Path(id): Path<String>, body: Bytes) -> Response {
    fake.record(&format!("upload/{id}"), json!({ "bytes": body.len(), "png": body.starts_with(b"\x89PNG") }));
    format!("OK - {}", body.len()).into_response()
}

// ---- Telegram -------------------------------------------------------------------------------

pub async fn telegram() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new().route("/{bot}/{method}", any(telegram_method)).with_state(fake.clone());
    let url = serve(router, &fake).await;
    (fake, url)
}

async fn telegram_method(
    State(fake): State<Arc<Fake>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let value = body_value(&headers, &body);
    // Method names are case-insensitive (teloxide sends `SendMessage`); record them lower-case.
    let method = method.to_ascii_lowercase();
    let fault = fake.record(&method, value.clone());
    if bot != format!("bot{TELEGRAM_TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "ok": false, "error_code": 401, "description": "Unauthorized" })),
        )
            .into_response();
    }
    let telegram_error = |status: StatusCode, after: Option<&str>| {
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs: u64 = after.and_then(|a| a.parse().ok()).unwrap_or(1);
            (status, Json(json!({ "ok": false, "error_code": 429,
                "description": format!("Too Many Requests: retry after {secs}"), "parameters": { "retry_after": secs } })))
                .into_response()
        } else {
            status.into_response()
        }
    };
    if let Some(response) = answer(fault, telegram_error, "{\"ok\": true, \"result\": {").await {
        return response;
    }
    let result = match method.as_str() {
        "sendmessage" | "sendphoto" => telegram_message(fake.id(), &value),
        "editmessagetext" => telegram_message(value.get("message_id").and_then(Value::as_u64).unwrap_or(0), &value),
        "answercallbackquery" | "setmycommands" => json!(true),
        "getme" => json!({ "id": 42, "is_bot": true, "first_name": "Tillpilot", "username": "tillpilot_bot" }),
        "getupdates" => {
            let offset = value.get("offset").and_then(Value::as_i64).unwrap_or(0);
            let batch: Vec<Value> = {
                let mut updates = fake.updates.lock().unwrap();
                updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                updates.clone()
            };
            if batch.is_empty() {
                // A long poll that found nothing: wait a little, as Telegram would.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            json!(batch)
        }
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({ "ok": false, "error_code": 404, "description": "Not Found: method not found" })),
            )
                .into_response();
        }
    };
    Json(json!({ "ok": true, "result": result })).into_response()
}

/// A sent message as the Bot API returns it: the chat is a private one for a person's id, a
/// group for a negative id.
fn telegram_message(id: u64, sent: &Value) -> Value {
    let chat_id = sent.get("chat_id").and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok())).unwrap_or(0);
    let chat = if chat_id < 0 {
        json!({ "id": chat_id, "type": "group", "title": "Shop" })
    } else {
        json!({ "id": chat_id, "type": "private", "first_name": "Staff" })
    };
    json!({ "message_id": id, "date": 1700000000, "chat": chat,
        "from": { "id": 42, "is_bot": true, "first_name": "Tillpilot", "username": "tillpilot_bot" },
        "text": sent.get("text").or_else(|| sent.get("caption")).cloned().unwrap_or(json!("")) })
}

// ---- Discord --------------------------------------------------------------------------------

pub async fn discord() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new().route("/api/v10/{*path}", any(discord_route)).with_state(fake.clone());
    let url = serve(router, &fake).await;
    (fake, url)
}

async fn discord_route(
    State(fake): State<Arc<Fake>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let value = body_value(&headers, &body);
    let path = uri.path().trim_start_matches("/api/v10/").to_owned();
    // Interaction webhooks are authorised by their token, the rest by the bot token.
    let is_webhook = path.starts_with("webhooks/");
    let fault = fake.record(&format!("{method} {path}"), value);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if !is_webhook && auth != Some(&format!("Bot {DISCORD_TOKEN}")) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "message": "401: Unauthorized", "code": 0 }))).into_response();
    }
    let discord_error = |status: StatusCode, after: Option<&str>| {
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs: f64 = after.and_then(|a| a.parse().ok()).unwrap_or(1.0);
            let body = json!({ "message": "You are being rate limited.", "retry_after": secs, "global": false });
            with_retry_after((status, Json(body)).into_response(), after)
        } else {
            status.into_response()
        }
    };
    if let Some(response) = answer(fault, discord_error, "{\"id\": \"9").await {
        return response;
    }
    let id = fake.id();
    Json(json!({ "id": format!("9000{id}"), "channel_id": path.split('/').nth(1) })).into_response()
}

// ---- Twilio ---------------------------------------------------------------------------------

pub async fn twilio() -> (Arc<Fake>, String) {
    let fake = Arc::new(Fake::default());
    let router = axum::Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", any(twilio_messages))
        .with_state(fake.clone());
    let url = serve(router, &fake).await;
    (fake, url)
}

async fn twilio_messages(
    State(fake): State<Arc<Fake>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use base64::Engine;
    let value = body_value(&headers, &body);
    let fault = fake.record("Messages.json", value.clone());
    let expected =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}")));
    if sid != TWILIO_SID || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "code": 20003, "message": "Authenticate", "status": 401 })))
            .into_response();
    }
    let twilio_error = |status: StatusCode, _: Option<&str>| {
        let code = if status == StatusCode::TOO_MANY_REQUESTS { 20429 } else { 20500 };
        (status, Json(json!({ "code": code, "message": status.canonical_reason(), "status": status.as_u16() })))
            .into_response()
    };
    if let Some(response) = answer(fault, twilio_error, "{\"sid\": \"SM").await {
        return response;
    }
    if value.get("To").is_none() || value.get("Body").is_none() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "code": 21604, "message": "A 'To' phone number is required.", "status": 400 })),
        )
            .into_response();
    }
    let id = fake.id();
    (
        StatusCode::CREATED,
        Json(json!({ "sid": format!("SM{id:032}"), "status": "queued", "to": value["To"], "body": value["Body"] })),
    )
        .into_response()
}
