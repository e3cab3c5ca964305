//! POS webhook intake over real HTTP: the published signature vectors, then signed, forged,
//! malformed, oversized and redelivered requests against the router on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::Arc;
use tillpilot::app::App;
use tillpilot::config::{CloverConfig, Secret, ShopifyConfig, SquareConfig};
use tillpilot::pos::webhook::WebhookError;
use tillpilot::pos::{clover, shopify, square};

const SQUARE_KEY: &str = "Ibxx_5AKakO-3qeNVR61Dw";
const SQUARE_URL: &str = "https://bot.example.com/webhooks/square";
const SHOPIFY_SECRET: &str = "test_secret_key";
const CLOVER_AUTH: &str = "0307e264-b33a-4913-88aa-37b10014a0b8";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("tests/fixtures/{path}")).unwrap()
}

fn sign(key: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for part in parts {
        mac.update(part);
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

#[test]
fn every_published_signature_vector_verifies_and_any_one_byte_change_fails() {
    let vectors: Value = serde_json::from_str(&fixture("square/webhook_signature_vectors.json")).unwrap();
    for v in vectors["vectors"].as_array().unwrap() {
        let (key, url, body, sig) = (
            v["signature_key"].as_str().unwrap(),
            v["notification_url"].as_str().unwrap(),
            v["body"].as_str().unwrap(),
            v["x-square-hmacsha256-signature"].as_str().unwrap(),
        );
        let ok = square::webhook::verify(key, url, body.as_bytes(), Some(sig)).is_ok();
        assert_eq!(ok, v["valid"].as_bool().unwrap(), "{}", v["name"]);
        if ok {
            let mut body_changed = body.as_bytes().to_vec();
            body_changed[5] ^= 1;
            assert!(square::webhook::verify(key, url, &body_changed, Some(sig)).is_err());
            assert!(square::webhook::verify(key, &format!("{url}x"), body.as_bytes(), Some(sig)).is_err());
            assert!(square::webhook::verify(&format!("{key}x"), url, body.as_bytes(), Some(sig)).is_err());
        }
    }
    let file_body = fixture("square/webhook_test_notification_body.txt");
    let url = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";
    assert!(
        square::webhook::verify(
            SQUARE_KEY,
            url,
            file_body.trim_end().as_bytes(),
            Some("GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=")
        )
        .is_ok()
    );

    let v: Value = serde_json::from_str(&fixture("shopify/webhook_hmac_vector.json")).unwrap();
    let (secret, body, sig) =
        (v["secret"].as_str().unwrap(), v["body"].as_str().unwrap(), v["X-Shopify-Hmac-Sha256"].as_str().unwrap());
    assert!(shopify::webhook::verify(secret, body.as_bytes(), Some(sig)).is_ok());
    assert_eq!(shopify::webhook::verify(secret, b"{\"foo\": \"baz\"}", Some(sig)), Err(WebhookError::BadSignature));
    assert_eq!(
        shopify::webhook::verify("test_secret_kez", body.as_bytes(), Some(sig)),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(shopify::webhook::verify(secret, body.as_bytes(), None), Err(WebhookError::BadSignature));
}

#[test]
fn clover_notifications_split_into_one_event_per_update() {
    let body = fixture("clover/webhook_notification.json");
    let delivery = clover::webhook::read(Some(CLOVER_AUTH), Some(CLOVER_AUTH), body.as_bytes()).unwrap();
    let clover::webhook::CloverDelivery::Events(events) = delivery else { panic!("expected events") };
    let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["O:GHIVJT2ABCRSC@1537970958000", "O:ABCVJTABCRRSC@1536156558000"]);
    assert_eq!(events[0].event_type, "O:CREATE");
    // The handshake needs no auth code while none is configured, and the code once one is.
    let handshake = fixture("clover/webhook_verification_request.json");
    let code = clover::webhook::CloverDelivery::Verification { code: "ce7643c1-83ea-4218-abe6-da876c9c7a0a".into() };
    assert_eq!(clover::webhook::read(None, None, handshake.as_bytes()), Ok(code));
    assert_eq!(clover::webhook::read(Some(CLOVER_AUTH), None, handshake.as_bytes()), Err(WebhookError::BadSignature));
    assert_eq!(clover::webhook::read(None, None, body.as_bytes()), Err(WebhookError::NotConfigured));
}

async fn serve(db: &common::TestDb) -> (Arc<App>, String) {
    let mut config = common::config(db);
    config.pos.square = Some(SquareConfig {
        access_token: Secret::new("EAAA-test"),
        base_url: "http://127.0.0.1:9".into(),
        webhook_signature_key: Some(Secret::new(SQUARE_KEY)),
        webhook_url: Some(SQUARE_URL.into()),
        location_ids: Vec::new(),
    });
    config.pos.shopify = Some(ShopifyConfig {
        shop: "corner.myshopify.com".into(),
        access_token: Secret::new("shpat_test"),
        api_secret: Some(Secret::new(SHOPIFY_SECRET)),
        base_url: None,
    });
    config.pos.clover = Some(CloverConfig {
        merchant_id: "XYZVJT2ZRRRSC".into(),
        access_token: Secret::new("clover-test"),
        base_url: "http://127.0.0.1:9".into(),
        webhook_auth_code: Some(Secret::new(CLOVER_AUTH)),
    });
    common::spawn_app(config, 35).await
}

fn client() -> reqwest::Client {
    tillpilot::telemetry::install_crypto();
    reqwest::Client::new()
}

async fn post(url: &str, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> u16 {
    let mut request = client().post(url).body(body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn audit_count(app: &App) -> usize {
    app.store.audit_since(0).await.unwrap().len()
}

#[tokio::test]
async fn square_events_are_recorded_once_and_bad_requests_write_nothing() {
    for db in common::databases().await {
        let (app, base) = serve(&db).await;
        let url = format!("{base}/webhooks/square");
        let body = fixture("square/event_order_created.json");
        let sig = sign(SQUARE_KEY, &[SQUARE_URL.as_bytes(), body.as_bytes()]);
        let header = square::webhook::SIGNATURE_HEADER;
        let before = audit_count(&app).await;

        assert_eq!(post(&url, &[(header, &sig)], body.clone()).await, 200, "{}", db.label);
        assert_eq!(post(&url, &[(header, &sig)], body.clone()).await, 200, "a redelivery is acknowledged");
        let rows = app.store.inbox("square").await.unwrap();
        assert_eq!(rows.len(), 1, "{}", db.label);
        let envelope: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(rows[0].event_id, envelope["event_id"].as_str().unwrap());
        assert_eq!(rows[0].event_type, "order.created");
        assert_eq!(rows[0].state, "pending");
        assert_eq!(audit_count(&app).await, before + 1);

        // Forged, unsigned, malformed and oversized requests: refused, nothing written.
        let forged = sign("another-key", &[SQUARE_URL.as_bytes(), body.as_bytes()]);
        assert_eq!(post(&url, &[(header, &forged)], body.clone()).await, 401);
        assert_eq!(post(&url, &[], body.clone()).await, 401);
        let tampered = body.replace("order.created", "order.updated");
        assert_eq!(post(&url, &[(header, &sig)], tampered).await, 401);
        let malformed = "{\"type\": \"order.created\"".to_owned();
        let malformed_sig = sign(SQUARE_KEY, &[SQUARE_URL.as_bytes(), malformed.as_bytes()]);
        assert_eq!(post(&url, &[(header, &malformed_sig)], malformed).await, 400);
        let no_id = "{\"type\": \"order.created\", \"data\": {}}".to_owned();
        let no_id_sig = sign(SQUARE_KEY, &[SQUARE_URL.as_bytes(), no_id.as_bytes()]);
        assert_eq!(post(&url, &[(header, &no_id_sig)], no_id).await, 400);
        let huge = format!("{{\"event_id\":\"big\",\"type\":\"x\",\"pad\":\"{}\"}}", "a".repeat(1024 * 1024));
        let huge_sig = sign(SQUARE_KEY, &[SQUARE_URL.as_bytes(), huge.as_bytes()]);
        assert_eq!(post(&url, &[(header, &huge_sig)], huge).await, 413);
        assert_eq!(app.store.inbox("square").await.unwrap().len(), 1, "{}", db.label);
        assert_eq!(audit_count(&app).await, before + 1);

        // A verified event of a type we do not handle is stored and acknowledged.
        let test = fixture("square/webhook_test_notification_body.txt");
        let test = test.trim_end();
        let test_sig = sign(SQUARE_KEY, &[SQUARE_URL.as_bytes(), test.as_bytes()]);
        assert_eq!(post(&url, &[(header, &test_sig)], test.to_owned()).await, 200);
        assert_eq!(app.store.inbox("square").await.unwrap().len(), 2);
        assert_eq!(app.store.audit_verify().await.unwrap().map(|n| n as usize), Ok(before + 2));
    }
}

#[tokio::test]
async fn shopify_and_clover_deliveries_are_verified_and_deduplicated() {
    for db in common::databases().await {
        let (app, base) = serve(&db).await;
        let order: Value = serde_json::from_str(&fixture("shopify/rest_order_get_response.json")).unwrap();
        let body = order.pointer("/response/order").or_else(|| order.get("order")).unwrap_or(&order).to_string();
        let sig = sign(SHOPIFY_SECRET, &[body.as_bytes()]);
        let url = format!("{base}/webhooks/shopify");
        let headers = [
            ("X-Shopify-Hmac-Sha256", sig.as_str()),
            ("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
            ("X-Shopify-Topic", "orders/create"),
        ];
        assert_eq!(post(&url, &headers, body.clone()).await, 200, "{}", db.label);
        assert_eq!(post(&url, &headers, body.clone()).await, 200);
        assert_eq!(post(&url, &headers[..2], body.clone()).await, 400, "no topic");
        assert_eq!(
            post(&url, &[("X-Shopify-Hmac-Sha256", "bm9wZQ=="), headers[1], headers[2]], body.clone()).await,
            401
        );
        let rows = app.store.inbox("shopify").await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].event_type, "orders/create");

        let url = format!("{base}/webhooks/clover");
        // With the auth code configured, anyone's handshake is refused and writes nothing; the
        // same handshake carrying the code is stored once, however often it comes.
        let handshake = fixture("clover/webhook_verification_request.json");
        let audited = app.store.audit_since(0).await.unwrap().len();
        for _ in 0..20 {
            assert_eq!(post(&url, &[], handshake.clone()).await, 401);
        }
        assert_eq!(app.store.audit_since(0).await.unwrap().len(), audited, "refused handshakes are not audited");
        assert_eq!(app.store.meta("clover.verification_code").await.unwrap(), None);
        for _ in 0..3 {
            assert_eq!(post(&url, &[("X-Clover-Auth", CLOVER_AUTH)], handshake.clone()).await, 200);
        }
        assert_eq!(
            app.store.meta("clover.verification_code").await.unwrap().as_deref(),
            Some("ce7643c1-83ea-4218-abe6-da876c9c7a0a")
        );
        let handshakes = app.store.audit_since(0).await.unwrap();
        assert_eq!(handshakes.iter().filter(|r| r.kind == "webhook.verification").count(), 1);
        let notification = fixture("clover/webhook_notification.json");
        assert_eq!(post(&url, &[("X-Clover-Auth", "wrong")], notification.clone()).await, 401);
        assert_eq!(post(&url, &[], notification.clone()).await, 401);
        assert_eq!(post(&url, &[("X-Clover-Auth", CLOVER_AUTH)], notification.clone()).await, 200);
        assert_eq!(post(&url, &[("X-Clover-Auth", CLOVER_AUTH)], notification).await, 200);
        assert_eq!(app.store.inbox("clover").await.unwrap().len(), 2, "{}", db.label);
        assert_eq!(post(&url, &[("X-Clover-Auth", CLOVER_AUTH)], "{\"merchants\": 3}").await, 400);
    }
}

#[tokio::test]
async fn a_burst_of_2000_deliveries_with_redeliveries_is_recorded_exactly_once() {
    for db in common::databases().await {
        let (app, base) = serve(&db).await;
        let url = format!("{base}/webhooks/square");
        let template = fixture("square/event_inventory_count_updated.json");
        let client = client();
        let bodies: Vec<String> = (0..1_800)
            .map(|i| template.replacen("\"event_id\": \"", &format!("\"event_id\": \"burst-{i}-"), 1))
            .collect();
        // 2,000 deliveries: every event once, 200 of them twice, 32 at a time.
        let mut deliveries: Vec<&String> = bodies.iter().collect();
        deliveries.extend(bodies.iter().step_by(9).take(200));
        let statuses: Vec<u16> = futures_ordered(deliveries.iter().map(|body| {
            let sig = sign(SQUARE_KEY, &[SQUARE_URL.as_bytes(), body.as_bytes()]);
            let request = client.post(&url).header(square::webhook::SIGNATURE_HEADER, sig).body((*body).clone());
            async move { request.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        }))
        .await;
        assert_eq!(statuses.len(), 2_000);
        assert!(
            statuses.iter().all(|s| *s == 200),
            "{}: {:?}",
            db.label,
            statuses.iter().filter(|s| **s != 200).count()
        );
        let rows = app.store.inbox("square").await.unwrap();
        assert_eq!(rows.len(), 1_800, "{}", db.label);
        let mut ids: Vec<&str> = rows.iter().map(|r| r.event_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 1_800);
    }
}

/// Runs the futures 32 at a time, keeping their order.
async fn futures_ordered<F: std::future::Future<Output = u16> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<u16> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(32));
    let handles: Vec<_> = futures
        .map(|future| {
            let semaphore = semaphore.clone();
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await.unwrap();
                future.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
