//! POS webhook intake over real HTTP: the published signature vectors, then signed, forged,
//! malformed, oversized and redelivered requests against the router on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "fakes/lightspeed.rs"]
mod fake_lightspeed;
#[path = "fakes/wire.rs"]
mod wire;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::Arc;
use tillpilot::app::App;
use tillpilot::config::{CloverConfig, Secret, ShopifyConfig, SquareConfig};
use tillpilot::pos::webhook::WebhookError;
use tillpilot::pos::{clover, lightspeed, shopify, square};

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

// ---- Lightspeed -------------------------------------------------------------------------------

/// `payload=<the JSON>`, form-encoded as Lightspeed delivers it.
fn lightspeed_form(payload: &Value) -> String {
    format!("payload={}", form_urlencoded::byte_serialize(payload.to_string().as_bytes()).collect::<String>())
}

fn lightspeed_signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("signature={},algorithm=HMAC-SHA256", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn the_derived_lightspeed_vector_verifies_in_hex_and_base64_and_any_change_fails() {
    let v: Value = serde_json::from_str(&fixture("lightspeed/webhook_signature_derived_vector.json")).unwrap();
    let secret = v["client_secret"].as_str().unwrap();
    let body = fixture("lightspeed/webhook_delivery_inventory_update_form_body.BUILT.txt");
    let header = v["X-Signature"].as_str().unwrap();
    assert!(lightspeed::webhook::verify(secret, body.as_bytes(), Some(header)).is_ok());
    let raw = hex::decode(v["signature_hex"].as_str().unwrap()).unwrap();
    let b64 = format!("algorithm=HMAC-SHA256, signature={}", STANDARD.encode(&raw));
    assert!(lightspeed::webhook::verify(secret, body.as_bytes(), Some(&b64)).is_ok(), "base64, pairs reversed");
    let mut changed = body.clone().into_bytes();
    changed[20] ^= 1;
    assert_eq!(lightspeed::webhook::verify(secret, &changed, Some(header)), Err(WebhookError::BadSignature));
    assert!(lightspeed::webhook::verify("another-secret", body.as_bytes(), Some(header)).is_err());
    assert!(lightspeed::webhook::verify(secret, body.as_bytes(), Some(&header.replace("SHA256", "SHA1"))).is_err());
    assert!(lightspeed::webhook::verify(secret, body.as_bytes(), None).is_err());
    let event = lightspeed::webhook::parse(None, body.as_bytes()).unwrap();
    assert_eq!(event.event_type, "inventory.update");
    assert_eq!(event.object_id.as_deref(), Some("0924dbcd-ef11-11e9-e989-fcc1c199e772"));
}

#[tokio::test]
async fn a_signed_lightspeed_inventory_update_refreshes_that_product_and_a_forged_one_writes_nothing() {
    use tillpilot::domain::{LocationId, Quantity};
    let shop = common::shop();
    for db in common::databases().await {
        let (fake, fake_url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
        let lightspeed_config = || tillpilot::config::LightspeedConfig {
            domain_prefix: "cornerstore".into(),
            client_id: fake_lightspeed::CLIENT_ID.into(),
            client_secret: Secret::new(fake_lightspeed::CLIENT_SECRET),
            access_token: Some(Secret::new(fake_lightspeed::TOKEN)),
            refresh_token: Some(Secret::new(fake_lightspeed::REFRESH)),
            base_url: Some(fake_url.clone()),
            webhook_url: None,
            redirect_uri: None,
        };
        let store = common::store(&db).await;
        let client = tillpilot::pos::lightspeed::client::LightspeedClient::new(
            &lightspeed_config(),
            store.clone(),
            common::clock(),
            std::time::Duration::from_secs(5),
            tillpilot::retry::RetryPolicy::default(),
        )
        .unwrap();
        let pos = Arc::new(lightspeed::LightspeedPos::new(client));
        let mut config = common::config(&db);
        config.pos.lightspeed = Some(lightspeed_config());
        let app = Arc::new(App::start_with_clock(config, Some(pos.clone()), common::clock()).await.unwrap());
        tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, common::now_ms(), 3, |_, _| {}).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(tillpilot::http::serve(app.clone(), listener, std::future::pending()));

        // The till sells two of a product: Lightspeed's figure moves and it tells us.
        let main = LocationId::new("L-MAIN");
        let variation = shop.catalog.items[4].variations[0].id.clone();
        fake.stock.lock().unwrap().insert((variation.0.clone(), main.0.clone()), Quantity::from_units(5));
        let mut payload: Value =
            serde_json::from_str(&fixture("lightspeed/webhook_inventory_update_payload.json")).unwrap();
        payload["product_id"] = variation.0.clone().into();
        payload["product"]["id"] = variation.0.clone().into();
        payload["outlet_id"] = main.0.clone().into();
        payload["count"] = 5.into();
        let body = lightspeed_form(&payload);
        let url = format!("{base}/webhooks/lightspeed?type=inventory.update");
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let audited = audit_count(&app).await;

        // Forged, unsigned, malformed and oversized: refused, nothing written.
        let forged = lightspeed_signature("not-the-secret", &body);
        assert_eq!(post(&url, &[form, ("X-Signature", &forged)], body.clone()).await, 401, "{}", db.label);
        assert_eq!(post(&url, &[form], body.clone()).await, 401, "unsigned");
        let tampered = body.replace("count%22%3A5", "count%22%3A50");
        assert_ne!(tampered, body);
        assert_eq!(
            post(
                &url,
                &[form, ("X-Signature", &lightspeed_signature(fake_lightspeed::CLIENT_SECRET, &body))],
                tampered
            )
            .await,
            401
        );
        let no_payload = "data=%7B%7D".to_owned();
        let signed = lightspeed_signature(fake_lightspeed::CLIENT_SECRET, &no_payload);
        assert_eq!(post(&url, &[form, ("X-Signature", &signed)], no_payload).await, 400);
        let not_json = "payload=%7Bcount".to_owned();
        let signed = lightspeed_signature(fake_lightspeed::CLIENT_SECRET, &not_json);
        assert_eq!(post(&url, &[form, ("X-Signature", &signed)], not_json).await, 400);
        let huge = format!("payload={}", "a".repeat(1024 * 1024));
        let signed = lightspeed_signature(fake_lightspeed::CLIENT_SECRET, &huge);
        assert_eq!(post(&url, &[form, ("X-Signature", &signed)], huge).await, 413);
        assert!(app.store.inbox("lightspeed").await.unwrap().is_empty(), "{}", db.label);
        assert_eq!(audit_count(&app).await, audited, "{}: refusals write nothing", db.label);

        // Signed: recorded once however often it comes, then the worker reads the product's
        // stock from Lightspeed.
        let signature = lightspeed_signature(fake_lightspeed::CLIENT_SECRET, &body);
        for _ in 0..2 {
            assert_eq!(post(&url, &[form, ("X-Signature", &signature)], body.clone()).await, 200, "{}", db.label);
        }
        let rows = app.store.inbox("lightspeed").await.unwrap();
        assert_eq!(rows.len(), 1, "{}", db.label);
        assert_eq!((rows[0].event_type.as_str(), rows[0].state.as_str()), ("inventory.update", "pending"));
        let pass = tillpilot::jobs::inbox_worker::process_due(&app, "w1").await.unwrap();
        assert_eq!(pass.processed, 1, "{}", db.label);
        let stock = app.store.mirror_stock(std::slice::from_ref(&variation), Some(&main)).await.unwrap();
        assert_eq!(stock.iter().map(|s| s.on_hand).collect::<Vec<_>>(), [Quantity::from_units(5)], "{}", db.label);

        // A change whose webhook never came is caught by the next pull.
        let missed = shop.catalog.items[5].variations[0].id.clone();
        fake.stock.lock().unwrap().insert((missed.0.clone(), main.0.clone()), Quantity::from_units(2));
        tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, common::now_ms(), 1, |_, _| {}).await.unwrap();
        let stock = app.store.mirror_stock(std::slice::from_ref(&missed), Some(&main)).await.unwrap();
        assert_eq!(stock.iter().map(|s| s.on_hand).collect::<Vec<_>>(), [Quantity::from_units(2)], "{}", db.label);
    }
}
