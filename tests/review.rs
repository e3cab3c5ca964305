//! The checkout assistant over real HTTP, on SQLite and PostgreSQL: the cart POS middleware
//! sends today, discounts that do and do not need a manager, gift-card bursts from reviews and
//! from Square's own gift-card webhooks, add-ons mined from the simulated shop's baskets,
//! loyalty discounts, the kill switch and shadow mode, bad requests, and the signed decision
//! callback through the outbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use tillpilot::app::App;
use tillpilot::channels::ChannelKind;
use tillpilot::config::{Config, LoyaltyRule, ReviewConfig, Secret, SlackConfig, SquareConfig};
use tillpilot::domain::{Quantity, StockLevel};

const TOKEN: &str = "review-token-for-tests-0001";
const SQUARE_KEY: &str = "square-signature-key-for-tests";
const SQUARE_URL: &str = "https://bot.example.com/webhooks/square";

/// The cart exactly as POS middleware sends it today.
const EXAMPLE: &str = r#"{"store_id":"STORE_789","register_id":"REG_03","transaction_id":"TXN_20250415_102837",
 "timestamp":"2025-04-15T10:28:37Z","total_amount":149.99,"tender_type":"credit_card",
 "items":[{"sku":"APPLE_AIRPODS_PRO","name":"AirPods Pro (2nd Gen)","quantity":1,"unit_price":249.99,"category":"Electronics/Audio"},
          {"sku":"USB_C_CABLE_1M","name":"USB-C to USB-C Cable (1m)","quantity":1,"unit_price":19.99,"category":"Accessories/Cables"}],
 "customer":{"loyalty_id":"LOY_55621","segment":"tech_enthusiast"}}"#;

fn review_config(callbacks: Option<&str>) -> ReviewConfig {
    let mut review = ReviewConfig::with_token(TOKEN);
    review.callback_allow = callbacks.map(|c| vec![c.to_owned()]).unwrap_or_default();
    review.stores.insert("STORE_1".into(), "81FN9BNFZTKS4".into());
    review.loyalty.push(LoyaltyRule {
        code: "REGULAR10".into(),
        percent: 10.0,
        segments: vec!["regular".into()],
        min_spend: Some(20.0),
        min_visits: None,
        categories: Vec::new(),
        reason: None,
    });
    review
}

async fn start(db: &common::TestDb, callbacks: Option<&str>) -> (Arc<App>, String) {
    let mut config: Config = common::config(db);
    config.review = Some(review_config(callbacks));
    config.policy.never_discount_categories = vec!["Alcohol".into()];
    // The managers' channel; nothing is sent to it unless a test runs the outbox.
    config.slack = Some(SlackConfig {
        bot_token: Secret::new("xoxb-test"),
        signing_secret: Secret::new("slack-signing-secret"),
        api_base_url: "http://127.0.0.1:9".into(),
        owner_channel: Some("C0MANAGERS".into()),
        app_token: None,
    });
    config.pos.square = Some(SquareConfig {
        access_token: Secret::new("EAAA-test"),
        base_url: "http://127.0.0.1:9".into(),
        webhook_signature_key: Some(Secret::new(SQUARE_KEY)),
        webhook_url: Some(SQUARE_URL.into()),
        location_ids: Vec::new(),
    });
    common::spawn_app(config, 35).await
}

async fn post(url: &str, token: Option<&str>, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{url}/api/ai/transaction-review")).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn review(url: &str, cart: &Value) -> Value {
    let (status, body) = post(url, Some(TOKEN), cart.to_string()).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn actions(answer: &Value) -> Vec<String> {
    answer["recommendations"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap().to_owned()).collect()
}

fn find<'a>(answer: &'a Value, action: &str) -> Option<&'a Value> {
    answer["recommendations"].as_array().unwrap().iter().find(|r| r["action"] == action)
}

/// Waits until the recorder has written the review of `transaction`.
async fn recorded(app: &App, transaction: &str) -> tillpilot::store::reviews::ReviewRecord {
    for _ in 0..200 {
        let rows = app.store.reviews_since(0).await.unwrap();
        if let Some(row) = rows.into_iter().find(|r| r.transaction_id == transaction) {
            return row;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("review {transaction} was never recorded");
}

/// A cart of `lines` (sku, name, category, price) whose total is what they come to, less `off`.
fn cart(transaction: &str, register: &str, lines: &[(&str, &str, &str, f64)], off: f64) -> Value {
    let total: f64 = lines.iter().map(|l| l.3).sum::<f64>() - off;
    json!({
        "store_id": "L-MAIN", "register_id": register, "transaction_id": transaction,
        "timestamp": "2026-11-26T17:00:00Z", "total_amount": (total * 100.0).round() / 100.0,
        "tender_type": "credit_card", "cashier_id": "C7",
        "items": lines.iter().map(|(sku, name, category, price)| json!({
            "sku": sku, "name": name, "quantity": 1, "unit_price": price, "category": category })).collect::<Vec<_>>(),
        "customer": { "loyalty_id": format!("LOY-{transaction}"), "segment": "tourist" },
    })
}

#[tokio::test]
async fn the_middleware_example_is_flagged_and_needs_a_manager_whose_decision_is_called_back() {
    for db in common::databases().await {
        let (receiver, calls) = callback_receiver().await;
        let (app, url) = start(&db, Some(&receiver)).await;
        let mut example: Value = serde_json::from_str(EXAMPLE).unwrap();
        example["callback_url"] = json!(format!("{receiver}/decisions"));
        let answer = review(&url, &example).await;
        assert!(answer["review_id"].as_str().unwrap().starts_with("rv_"));
        assert!(answer["risk_score"].as_f64().unwrap() >= 0.5, "{}: {answer}", db.label);
        let approval = find(&answer, "require_manager_approval").expect("a manager must approve");
        assert!(approval["reason"].as_str().unwrap().contains("44%"), "{approval}");
        let flag = find(&answer, "flag_risk").expect("flagged");
        assert!(flag["reason"].as_str().unwrap().contains("$119.99"), "{flag}");
        assert!(find(&answer, "apply_discount").is_none(), "no loyalty discount on a flagged cart");
        let id = approval["approval_id"].as_str().unwrap().to_owned();

        // The manager is asked; the middleware polls and sees it pending.
        let row = recorded(&app, "TXN_20250415_102837").await;
        assert_eq!((row.flagged, row.approval_id.as_deref()), (1, Some(id.as_str())));
        let polled = poll(&url, &id).await;
        assert_eq!(polled["state"], "pending", "{polled}");
        let audit = app.store.audit_tail(20).await.unwrap();
        assert!(audit.iter().any(|r| r.kind == "review" && r.subject == "TXN_20250415_102837"), "{audit:?}");
        assert!(audit.iter().any(|r| r.kind == "approval.requested" && r.subject == id));
        let asked = posted(&app).await;
        assert_eq!(asked.len(), 1, "one request, which carries the flag too: {asked:?}");
        assert!(asked[0].contains("Approval needed") && asked[0].contains("TXN_20250415_102837"), "{asked:?}");
        assert!(asked[0].contains("AirPods Pro (2nd Gen) x1 $249.99"), "the manager sees the cart: {asked:?}");

        // Staff cannot decide it; the manager can, once.
        let sam = app.directory.resolve_terminal("Sam");
        let refused =
            tillpilot::workflows::approvals::decide(&app, &id, true, &sam, ChannelKind::Terminal).await.unwrap();
        assert!(refused.text.contains("Only a manager"), "{}", refused.text);
        assert_eq!(poll(&url, &id).await["state"], "pending");
        let dev = app.directory.resolve_terminal("Dev");
        tillpilot::workflows::approvals::decide(&app, &id, true, &dev, ChannelKind::Terminal).await.unwrap();
        let polled = poll(&url, &id).await;
        assert_eq!((polled["state"].as_str(), polled["decided_by"].as_str()), (Some("approved"), Some("Dev")));

        // The decision goes to the callback, signed with the review token.
        let mut pacing = tillpilot::jobs::outbox_worker::Pacing::default();
        tillpilot::jobs::outbox_worker::send_due(&app, "test", &mut pacing).await.unwrap();
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "{}: one callback", db.label);
        let (signature, body) = &calls[0];
        let mut mac = Hmac::<Sha256>::new_from_slice(TOKEN.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        assert_eq!(signature, &format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!((body["approval_id"].as_str(), body["state"].as_str()), (Some(id.as_str()), Some("approved")));
        assert_eq!(body["transaction_id"], "TXN_20250415_102837");
    }
}

/// What the outbox holds for the managers' Slack channel.
async fn posted(app: &App) -> Vec<String> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT payload FROM outbox WHERE channel = 'slack' AND target = 'C0MANAGERS'")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    rows.into_iter().map(|(p,)| p).collect()
}

async fn poll(url: &str, id: &str) -> Value {
    let response =
        reqwest::Client::new().get(format!("{url}/api/ai/approvals/{id}")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

type Calls = Arc<Mutex<Vec<(String, String)>>>;

/// A POS middleware endpoint that records what it is called with.
async fn callback_receiver() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/decisions",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let signature = headers.get("x-tillpilot-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
                seen.lock().unwrap().push((signature.to_owned(), body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

#[tokio::test]
async fn a_twenty_percent_discount_needs_a_manager_and_a_ten_percent_one_does_not() {
    for db in common::databases().await {
        let (app, url) = start(&db, None).await;
        let lines = [("00708601", "Spaghetti 500g", "Pantry", 40.0), ("00303301", "Sourdough Loaf", "Bakery", 10.0)];
        let mut big = cart("TXN-20", "R1", &lines, 10.0);
        big["discounts"] = json!([{ "code": "FRIEND20", "percent": 20 }]);
        let answer = review(&url, &big).await;
        let approval = find(&answer, "require_manager_approval").expect("20% needs a manager");
        assert_eq!(approval["discount_code"], "FRIEND20");
        assert!(approval["reason"].as_str().unwrap().contains("20%"), "{approval}");
        assert!(find(&answer, "flag_risk").is_none(), "a declared discount explains the total: {answer}");

        let mut small = cart("TXN-10", "R1", &lines, 5.0);
        small["discounts"] = json!([{ "code": "FRIEND10", "percent": 10 }]);
        let answer = review(&url, &small).await;
        assert!(find(&answer, "require_manager_approval").is_none(), "{}: {answer}", db.label);
        assert_eq!(answer["risk_score"], 0.0);

        // An amount off counts by what it covers; alcohol is never discounted.
        let wine = [("00PINOT", "Pinot Noir 750ml", "Alcohol", 18.99), ("00708601", "Spaghetti 500g", "Pantry", 2.49)];
        let mut on_wine = cart("TXN-WINE", "R1", &wine, 1.0);
        on_wine["discounts"] = json!([{ "code": "WINE1", "amount": 1.0, "scope": "category:Alcohol" }]);
        let answer = review(&url, &on_wine).await;
        let approval = find(&answer, "require_manager_approval").expect("alcohol is never discounted");
        assert!(approval["reason"].as_str().unwrap().contains("never discounts"), "{approval}");
        recorded(&app, "TXN-WINE").await;
        let counts = app.store.review_counts(0, i64::MAX).await.unwrap();
        assert_eq!((counts.reviews, counts.approvals_asked), (3, 2), "{}", db.label);
    }
}

#[tokio::test]
async fn a_burst_of_gift_cards_on_one_register_is_flagged_and_posted() {
    for db in common::databases().await {
        let (app, url) = start(&db, None).await;
        let gift = [("GC-50", "Gift Card $50", "Gift Cards", 50.0)];
        for n in 1..=2 {
            let answer = review(&url, &cart(&format!("TXN-GC{n}"), "REG_07", &gift, 0.0)).await;
            assert!(find(&answer, "flag_risk").is_none(), "{n}: {answer}");
        }
        // Another register is not this one's burst.
        let answer = review(&url, &cart("TXN-GC-OTHER", "REG_01", &gift, 0.0)).await;
        assert!(find(&answer, "flag_risk").is_none(), "{answer}");
        let mut third = cart("TXN-GC3", "REG_07", &gift, 0.0);
        third["tender_type"] = json!("gift_card");
        let answer = review(&url, &third).await;
        let reasons: Vec<&str> = answer["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == "flag_risk")
            .map(|r| r["reason"].as_str().unwrap())
            .collect();
        assert!(reasons.iter().any(|r| r.contains("3 gift cards on register REG_07")), "{}: {reasons:?}", db.label);
        assert!(reasons.iter().any(|r| r.contains("paid for with a gift card")), "{reasons:?}");
        assert!(answer["risk_score"].as_f64().unwrap() >= 0.75);
        let row = recorded(&app, "TXN-GC3").await;
        assert_eq!((row.flagged, row.gift_cards), (1, 1));
        assert!(row.approval_id.is_none());
        let flags = posted(&app).await;
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert!(flags[0].contains("Checkout flagged at Main St, register REG_07, cashier C7"), "{flags:?}");

        // The nightly summary counts the day's reviews.
        let summary = tillpilot::workflows::summary::build(&app, common::today()).await.unwrap();
        let reply = tillpilot::workflows::summary::reply(&summary);
        let line = reply.fields.iter().find(|f| f.label == "Checkout reviews").expect("a line on reviews");
        assert_eq!(line.value, "4 carts reviewed, 1 flagged; 0 manager approvals asked, 0 given", "{}", db.label);
    }
}

fn square_sign(body: &str) -> String {
    use base64::Engine;
    let mut mac = Hmac::<Sha256>::new_from_slice(SQUARE_KEY.as_bytes()).unwrap();
    mac.update(SQUARE_URL.as_bytes());
    mac.update(body.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn gift_cards_square_reports_sold_at_the_store_count_toward_a_burst() {
    for db in common::databases().await {
        let (app, url) = start(&db, None).await;
        let fixture: Value = serde_json::from_str(
            &std::fs::read_to_string("tests/fixtures/square/event_gift_card_activity_created.json").unwrap(),
        )
        .unwrap();
        let now = chrono::DateTime::from_timestamp_millis(common::now_ms()).unwrap().to_rfc3339();
        for n in 0..5 {
            let mut event = fixture.clone();
            event["event_id"] = json!(format!("875f2038-6015-492e-9f29-d040b3809e4{n}"));
            event["data"]["object"]["gift_card_activity"]["created_at"] = json!(now);
            event["data"]["object"]["gift_card_activity"]["id"] = json!(format!("gcact_{n}"));
            let body = event.to_string();
            let status = reqwest::Client::new()
                .post(format!("{url}/webhooks/square"))
                .header("x-square-hmacsha256-signature", square_sign(&body))
                .body(body)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status.as_u16(), 200);
        }
        // One event of an object at a time, in the order they came.
        let mut processed = 0;
        loop {
            let pass = tillpilot::jobs::inbox_worker::process_due(&app, "test").await.unwrap();
            if pass.processed == 0 {
                break;
            }
            processed += pass.processed;
        }
        assert_eq!(processed, 5, "{}", db.label);
        let gift = [("GC-25", "Gift Card $25", "Gift Cards", 25.0)];
        let mut at_store = cart("TXN-SQ", "REG_09", &gift, 0.0);
        at_store["store_id"] = json!("STORE_1");
        let answer = review(&url, &at_store).await;
        let flag = find(&answer, "flag_risk").expect("six gift cards at one store in half an hour");
        assert!(flag["reason"].as_str().unwrap().contains("6 gift cards sold at this store"), "{flag}");
    }
}

#[tokio::test]
async fn add_ons_come_from_what_the_shop_sells_together_and_only_when_in_stock() {
    for db in common::databases().await {
        let (app, url) = start(&db, None).await;
        let spaghetti = [("00708601", "Spaghetti 500g", "Pantry", 2.49)];
        let answer = review(&url, &cart("TXN-PASTA", "R2", &spaghetti, 0.0)).await;
        let addon = find(&answer, "suggest_addon").unwrap_or_else(|| panic!("{}: {answer}", db.label));
        assert_eq!(addon["sku"], "00708801", "Marinara Sauce: {addon}");
        assert!(addon["reason"].as_str().unwrap().contains("Marinara Sauce 680g"), "{addon}");

        // Sold out at Main St, as a stock webhook would tell the mirror and the assistant.
        let marinara = app.review.product_by_sku("00708801").unwrap();
        let sold_out = [StockLevel {
            variation_id: tillpilot::domain::VariationId::new(marinara.variation_id),
            location_id: tillpilot::domain::LocationId::new("L-MAIN"),
            on_hand: Quantity::from_units(0),
            // Counted after anything the mirror holds (the simulated POS stamps its counts with
            // the wall clock).
            counted_at_ms: tillpilot::store::now_ms() + 1_000,
        }];
        let mut tx = app.store.begin().await.unwrap();
        app.store.save_stock(&mut tx, &sold_out).await.unwrap();
        tx.commit().await.unwrap();
        app.review.stock_changed(&sold_out);
        let answer = review(&url, &cart("TXN-PASTA2", "R2", &spaghetti, 0.0)).await;
        assert!(
            answer["recommendations"].as_array().unwrap().iter().all(|r| r["sku"] != "00708801"),
            "out of stock is never suggested: {answer}"
        );
    }
}

#[tokio::test]
async fn a_regular_customer_is_offered_the_loyalty_discount_but_never_on_alcohol() {
    for db in common::databases().await {
        let (_app, url) = start(&db, None).await;
        let lines =
            [("00303301", "Sourdough Loaf", "Bakery", 17.49), ("00PINOT", "Pinot Noir 750ml", "Alcohol", 18.99)];
        let mut regular = cart("TXN-LOY", "R3", &lines, 0.0);
        regular["customer"]["segment"] = json!("regular");
        let answer = review(&url, &regular).await;
        let offer = find(&answer, "apply_discount").unwrap_or_else(|| panic!("{}: {answer}", db.label));
        assert_eq!(offer["discount_code"], "REGULAR10");
        let reason = offer["reason"].as_str().unwrap();
        assert!(reason.contains("10% off $17.49") && reason.contains("Alcohol excluded"), "{reason}");
        let tourist = cart("TXN-TOUR", "R3", &lines, 0.0);
        assert!(find(&review(&url, &tourist).await, "apply_discount").is_none());
    }
}

#[tokio::test]
async fn off_answers_nothing_and_shadow_records_without_answering_or_asking() {
    for db in common::databases().await {
        let (app, url) = start(&db, None).await;
        let example: Value = serde_json::from_str(EXAMPLE).unwrap();
        common::ask(&app, "Maria", "flag review shadow").await;
        let answer = review(&url, &example).await;
        assert_eq!((actions(&answer).len(), answer["risk_score"].as_f64()), (0, Some(0.0)), "{}: {answer}", db.label);
        let row = recorded(&app, "TXN_20250415_102837").await;
        assert_eq!((row.mode.as_str(), row.flagged, row.approval_id.as_deref()), ("shadow", 1, None));
        assert!(row.detail.contains("require_manager_approval"), "what it would have said is kept: {}", row.detail);

        common::ask(&app, "Maria", "flag review off").await;
        let mut off = example.clone();
        off["transaction_id"] = json!("TXN_OFF");
        let answer = review(&url, &off).await;
        assert!(actions(&answer).is_empty());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let rows = app.store.reviews_since(0).await.unwrap();
        assert!(rows.iter().all(|r| r.transaction_id != "TXN_OFF"), "off does not review");
        let approvals = app.store.review_counts(0, i64::MAX).await.unwrap().approvals_asked;
        assert_eq!(approvals, 0, "neither mode asks a manager");
    }
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx_and_write_nothing() {
    for db in common::databases().await {
        let (app, url) = start(&db, Some("https://pos.example.com/callbacks/")).await;
        let before = app.store.audit_tail(1).await.unwrap();
        assert_eq!(post(&url, None, EXAMPLE).await.0, 401);
        assert_eq!(post(&url, Some("review-token-for-tests-0002"), EXAMPLE).await.0, 401);
        let (status, body) = post(&url, Some(TOKEN), "{\"store_id\": ").await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().is_some(), "{body}");
        let (status, body) = post(&url, Some(TOKEN), EXAMPLE.replace(r#""register_id":"REG_03","#, "")).await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains("register_id"), "{body}");
        let (status, body) = post(&url, Some(TOKEN), EXAMPLE.replace("\"quantity\":1", "\"quantity\":-1")).await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains("items[0].quantity"), "{body}");
        let mut elsewhere: Value = serde_json::from_str(EXAMPLE).unwrap();
        elsewhere["callback_url"] = json!("http://169.254.169.254/latest/meta-data");
        let (status, body) = post(&url, Some(TOKEN), elsewhere.to_string()).await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains("callback_allow"), "{body}");
        let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024 + 10));
        assert_eq!(post(&url, Some(TOKEN), huge).await.0, 413);
        let unknown = reqwest::Client::new()
            .get(format!("{url}/api/ai/approvals/NOPE12"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status().as_u16(), 404);
        let anonymous = reqwest::Client::new().get(format!("{url}/api/ai/approvals/NOPE12")).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);

        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(app.store.reviews_since(0).await.unwrap().is_empty(), "{}", db.label);
        assert_eq!(app.store.audit_tail(1).await.unwrap(), before, "nothing was audited");
    }
}
