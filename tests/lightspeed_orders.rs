//! On a Lightspeed shop an approved purchase order becomes one of Lightspeed's own supplier
//! orders (a `SUPPLIER` consignment with the PO's products, counts and costs, then `SENT`),
//! once even when an answer is lost; when the shop books it in at the till, the signed
//! `consignment.receive` webhook (or, when that never comes, the next pull) marks our PO
//! received with what arrived, a short delivery included. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "fakes/lightspeed.rs"]
mod fake_lightspeed;
#[path = "fakes/wire.rs"]
mod wire;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tillpilot::app::App;
use tillpilot::channels::ChannelKind;
use tillpilot::config::{LightspeedConfig, Secret};
use tillpilot::domain::Quantity;
use tillpilot::pos::Pos;
use tillpilot::pos::lightspeed::{LightspeedPos, client::LightspeedClient, order_name};
use tillpilot::retry::RetryPolicy;
use tillpilot::workflows::reorder;

fn lightspeed_config(url: &str) -> LightspeedConfig {
    LightspeedConfig {
        domain_prefix: "cornerstore".into(),
        client_id: fake_lightspeed::CLIENT_ID.into(),
        client_secret: Secret::new(fake_lightspeed::CLIENT_SECRET),
        access_token: Some(Secret::new(fake_lightspeed::TOKEN)),
        refresh_token: Some(Secret::new(fake_lightspeed::REFRESH)),
        base_url: Some(url.into()),
        webhook_url: None,
        redirect_uri: None,
    }
}

fn signed(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(fake_lightspeed::CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("signature={},algorithm=HMAC-SHA256", hex::encode(mac.finalize().into_bytes()))
}

async fn deliver(url: &str, payload: &Value, signature: Option<String>) -> u16 {
    let body =
        format!("payload={}", form_urlencoded::byte_serialize(payload.to_string().as_bytes()).collect::<String>());
    let signature = signature.unwrap_or_else(|| signed(&body));
    reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn decimal(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

#[tokio::test]
async fn an_approved_po_becomes_one_lightspeed_supplier_order_and_its_receipt_comes_back() {
    tillpilot::telemetry::install_crypto();
    let shop = common::shop();
    for db in common::databases().await {
        let label = db.label;
        let (fake, fake_url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
        let store = common::store(&db).await;
        let retries = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            jitter: 0.25,
        };
        let client = LightspeedClient::new(
            &lightspeed_config(&fake_url),
            store,
            common::clock(),
            Duration::from_secs(2),
            retries,
        )
        .unwrap();
        let pos = Arc::new(LightspeedPos::new(client));
        let mut config = common::config(&db);
        config.pos.lightspeed = Some(lightspeed_config(&fake_url));
        let app = Arc::new(App::start_with_clock(config, Some(pos.clone()), common::clock()).await.unwrap());
        // The mirror holds the same shop (the fake serves the simulated one): five weeks of it.
        let sim = tillpilot::pos::sim::SimPos::new(shop.clone());
        tillpilot::jobs::sync::pull(&sim, &app.store, common::now_ms(), 35, |_, _| {}).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(tillpilot::http::serve(app.clone(), listener, std::future::pending()));

        // The nightly run drafts; the owner approves the first two.
        let mut plan = reorder::plan(&app, common::today()).await.unwrap();
        let report = reorder::run(&app, &mut plan, "scheduler").await.unwrap();
        assert!(report.approvals.len() >= 2, "{label}: {:?}", report.drafted);
        let maria = app.directory.resolve_terminal("Maria");
        for (_, approval) in &report.approvals[..2] {
            tillpilot::workflows::approvals::decide(&app, approval, true, &maria, ChannelKind::Terminal).await.unwrap();
        }
        let approved: Vec<_> = report.approvals[..2].iter().map(|(po, _)| po.clone()).collect();

        // The first create's answer is lost after Lightspeed made it: found again, not made twice.
        fake.lose_next_create.store(true, std::sync::atomic::Ordering::SeqCst);
        // Orders to one POS go one after the other, as the worker passes come.
        let mut pacing = tillpilot::jobs::outbox_worker::Pacing::default();
        for _ in 0..2 {
            tillpilot::jobs::outbox_worker::send_due(&app, "w1", &mut pacing).await.unwrap();
        }
        let creates = fake.calls().iter().filter(|c| c.starts_with("POST /api/2.0/consignments ")).count();
        assert_eq!(creates, 2, "{label}: one create per approved PO, none repeated blind");
        let orders = fake.consignments.lock().unwrap().clone();
        assert_eq!(orders.len(), 2, "{label}");
        for id in &approved {
            let po = app.store.purchase_order(id).await.unwrap().unwrap();
            assert_eq!(po.state, "sent", "{label}: {id}");
            let order = orders.iter().find(|c| c.name == order_name(id)).unwrap_or_else(|| panic!("{label}: {id}"));
            assert_eq!(po.pos_order_id.as_deref(), Some(order.id.as_str()), "{label}: the POS's id is kept");
            assert_eq!((order.kind.as_str(), order.status.as_str()), ("SUPPLIER", "SENT"), "{label}");
            assert_eq!(order.outlet_id, po.location_id.as_str());
            assert_eq!(order.supplier_id.as_deref(), Some(po.vendor_id.as_str()), "{label}");
            assert_eq!(order.lines.len(), po.lines.len(), "{label}: {id}");
            for line in &po.lines {
                let (_, count, _) = order.lines.iter().find(|(p, ..)| p == line.variation_id.as_str()).unwrap();
                assert_eq!(count.as_deref(), Some(line.quantity.to_string().as_str()), "{label}: {}", line.name);
                assert_eq!(order.costs[line.variation_id.as_str()], decimal(line.unit_cost.minor()));
            }
        }
        let audit = app.store.audit_since(0).await.unwrap();
        assert_eq!(audit.iter().filter(|r| r.kind == "po.placed_in_pos").count(), 2, "{label}");

        // A retry of the same placing (say its answer timed out) finishes the same order and
        // adds nothing: no second order, no doubled counts.
        let first = app.store.purchase_order(&approved[0]).await.unwrap().unwrap();
        let again = pos.place_purchase_order(&reorder::supplier_order(&first)).await.unwrap();
        assert_eq!(Some(again), first.pos_order_id, "{label}");
        let after = fake.consignments.lock().unwrap().clone();
        assert_eq!(after.len(), 2, "{label}");
        let order = after.iter().find(|c| Some(&c.id) == first.pos_order_id.as_ref()).unwrap();
        let line = &first.lines[0];
        let count = order.lines.iter().find(|(p, ..)| p == line.variation_id.as_str()).unwrap().1.clone();
        assert_eq!(count.as_deref(), Some(line.quantity.to_string().as_str()), "{label}: not doubled");

        // The first order is booked in two short of one line; Lightspeed tells us, signed.
        let short = line.quantity.saturating_sub(2);
        let arrived: Vec<(&str, u32)> = first
            .lines
            .iter()
            .map(|l| (l.variation_id.as_str(), if l.variation_id == line.variation_id { short } else { l.quantity }))
            .collect();
        let payloads = fake.receive(order.id.as_str(), &arrived);
        let url = format!("{base}/webhooks/lightspeed?type=consignment.receive");
        let forged = Some("signature=00ff,algorithm=HMAC-SHA256".to_owned());
        assert_eq!(deliver(&url, &payloads[0], forged).await, 401, "{label}");
        assert!(app.store.inbox("lightspeed").await.unwrap().is_empty(), "{label}: a forged receipt writes nothing");
        for payload in &payloads {
            assert_eq!(deliver(&url, payload, None).await, 200, "{label}");
        }
        tillpilot::jobs::inbox_worker::process_due(&app, "w1").await.unwrap();
        let received = app.store.purchase_order(&first.id).await.unwrap().unwrap();
        assert_eq!(received.state, "received", "{label}");
        let got: Vec<Option<Quantity>> = received.lines.iter().map(|l| l.received).collect();
        let want: Vec<Option<Quantity>> =
            arrived.iter().map(|(_, q)| Some(Quantity::from_units(i64::from(*q)))).collect();
        assert_eq!(got, want, "{label}: what arrived, the short line included");
        let receipts = app.store.audit_since(0).await.unwrap();
        assert_eq!(receipts.iter().filter(|r| r.kind == "po.receipt" && r.subject == first.id).count(), 1, "{label}");

        // The second is booked in but its webhook never comes: the pull after the next sync
        // finds it.
        let second = app.store.purchase_order(&approved[1]).await.unwrap().unwrap();
        let all: Vec<(&str, u32)> = second.lines.iter().map(|l| (l.variation_id.as_str(), l.quantity)).collect();
        fake.receive(second.pos_order_id.as_deref().unwrap(), &all);
        assert_eq!(reorder::check_received(&app).await.unwrap(), vec![second.id.clone()], "{label}");
        let second = app.store.purchase_order(&second.id).await.unwrap().unwrap();
        assert_eq!(second.state, "received");
        assert!(second.lines.iter().all(|l| l.received == Some(Quantity::from_units(i64::from(l.quantity)))));
        assert!(reorder::check_received(&app).await.unwrap().is_empty(), "{label}: received once");
    }
}

#[tokio::test]
async fn a_po_lightspeed_keeps_refusing_is_reported_to_the_owner_as_approved_not_sent() {
    tillpilot::telemetry::install_crypto();
    let shop = common::shop();
    let db = common::sqlite_db();
    let (fake, fake_url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
    let store = common::store(&db).await;
    let client = LightspeedClient::new(
        &lightspeed_config(&fake_url),
        store,
        common::clock(),
        Duration::from_secs(2),
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() },
    )
    .unwrap();
    let pos = Arc::new(LightspeedPos::new(client));
    let mut config = common::config(&db);
    config.pos.lightspeed = Some(lightspeed_config(&fake_url));
    config.slack = Some(tillpilot::config::SlackConfig {
        bot_token: Secret::new("xoxb-test"),
        signing_secret: Secret::new("slack-signing-secret"),
        api_base_url: "http://127.0.0.1:9/api".into(),
        owner_channel: Some("C0OWNER".into()),
        app_token: None,
    });
    let app = App::start_with_clock(config, Some(pos), common::clock()).await.unwrap();
    let sim = tillpilot::pos::sim::SimPos::new(shop.clone());
    tillpilot::jobs::sync::pull(&sim, &app.store, common::now_ms(), 35, |_, _| {}).await.unwrap();
    let mut plan = reorder::plan(&app, common::today()).await.unwrap();
    plan.drafts.truncate(1);
    let report = reorder::run(&app, &mut plan, "scheduler").await.unwrap();
    let (po, approval) = report.approvals[0].clone();
    let maria = app.directory.resolve_terminal("Maria");
    tillpilot::workflows::approvals::decide(&app, &approval, true, &maria, ChannelKind::Terminal).await.unwrap();

    // Lightspeed refuses the order outright (a 4xx is not worth retrying).
    fake.fail_next(&[wire::Fault::Status(422, None)]);
    let mut pacing = tillpilot::jobs::outbox_worker::Pacing::default();
    let pass = tillpilot::jobs::outbox_worker::send_due(&app, "w1", &mut pacing).await.unwrap();
    assert!(pass.parked >= 1, "{pass:?}");
    let po = app.store.purchase_order(&po).await.unwrap().unwrap();
    assert_eq!((po.state.as_str(), po.pos_order_id.as_deref()), ("approved", None));
    let audit = app.store.audit_since(0).await.unwrap();
    assert!(audit.iter().any(|r| r.kind == "po.pos_parked" && r.subject == po.id), "{audit:?}");
    let told: Vec<(String,)> =
        sqlx::query_as("SELECT payload FROM outbox WHERE channel = 'slack' AND target = 'C0OWNER'")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert!(
        told.iter().any(|(payload,)| payload.contains(&format!("Purchase order {} to", po.id))
            && payload.contains("is approved, not sent: placing it in Lightspeed kept failing")),
        "the owner is told: {told:?}"
    );
}

/// Laybys and account sales are the orders a Lightspeed shop's customers ask about: what is
/// left to pay, and where to collect it; nobody else learns of them.
#[tokio::test]
async fn a_customer_asks_about_their_layby_and_hears_what_is_left_to_pay() {
    use tillpilot::domain::{Fulfilment, FulfilmentKind, FulfilmentState, Money, OrderId, OrderState};
    tillpilot::telemetry::install_crypto();
    let mut shop = (*common::shop()).clone();
    let mut phoned = shop.customers.iter().filter(|c| c.phone.is_some());
    let (customer, stranger) = (phoned.next().unwrap().clone(), phoned.next().unwrap().clone());
    let template =
        shop.orders.iter().rev().find(|o| o.state == OrderState::Completed && o.total.minor() > 2_000).unwrap().clone();
    let held = |number: &str, kind: FulfilmentKind, owed: i64| {
        let mut order = template.clone();
        order.id = OrderId::new(format!("SALE-{number}"));
        order.number = number.to_owned();
        order.customer_id = Some(customer.id.clone());
        order.location_id = tillpilot::domain::LocationId::new("L-MAIN");
        order.state = OrderState::Open;
        order.refunded = Money::ZERO;
        order.fulfilment = Some(Fulfilment {
            kind,
            state: FulfilmentState::Unfulfilled,
            carrier: None,
            tracking_number: None,
            tracking_url: None,
            updated_at_ms: order.created_at_ms,
            balance_due: Some(Money::from_minor(owed)),
        });
        order
    };
    let owed = template.total.minor() / 2;
    shop.orders.push(held("90001", FulfilmentKind::Layby, owed));
    shop.orders.push(held("90002", FulfilmentKind::OnAccount, 1_250));
    let shop = Arc::new(shop);
    let db = common::sqlite_db();
    let (_fake, fake_url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
    let store = common::store(&db).await;
    let client = LightspeedClient::new(
        &lightspeed_config(&fake_url),
        store,
        common::clock(),
        Duration::from_secs(2),
        RetryPolicy::default(),
    )
    .unwrap();
    let mut config = common::config(&db);
    config.pos.lightspeed = Some(lightspeed_config(&fake_url));
    let app = App::start_with_clock(config, Some(Arc::new(LightspeedPos::new(client))), common::clock()).await.unwrap();

    let phone = customer.phone.as_ref().unwrap().to_string();
    let text = common::seen(&common::ask(&app, &phone, "where is my order #90001").await);
    let due = Money::from_minor(owed);
    assert!(
        text.starts_with(&format!("Order #90001 is on layby: it is held for you, with {due} left to pay.")),
        "{text}"
    );
    assert!(text.contains("Pay the rest and collect it at Main St"), "{text}");
    let text = common::seen(&common::ask(&app, &phone, "where's my order 90002?").await);
    assert!(text.starts_with("Order #90002 is on account, with $12.50 still to pay."), "{text}");

    let other = stranger.phone.as_ref().unwrap().to_string();
    let text = common::seen(&common::ask(&app, &other, "where is my order #90001").await);
    assert!(text.starts_with("I couldn't find order #90001 for this phone number."), "{text}");
}

/// `tillpilot connect lightspeed` as a shop owner runs it: the address to approve the app at
/// (asking for the scopes Tillpilot needs), then the code exchanged for tokens that land in the
/// database, and one webhook subscription per event type, each at its own URL; run again, it
/// subscribes nothing twice. A bad code is refused and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_lightspeed_stores_the_tokens_and_subscribes_each_webhook_once() {
    let (fake, fake_url) = fake_lightspeed::start(common::shop(), 200, fake_lightspeed::ROOMY).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tillpilot.db");
    let config = dir.path().join("tillpilot.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[database]
url = "sqlite://{db}"

[pos]
provider = "lightspeed"

[pos.lightspeed]
domain_prefix = "cornerstore"
client_id = "{id}"
client_secret = "{secret}"
base_url = "{fake_url}"
webhook_url = "https://bot.example.com/webhooks/lightspeed"
redirect_uri = "https://bot.example.com/lightspeed/callback"
"#,
            db = db.display(),
            id = fake_lightspeed::CLIENT_ID,
            secret = fake_lightspeed::CLIENT_SECRET,
        ),
    )
    .unwrap();
    let run = |args: &'static [&'static str]| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_tillpilot"))
                .arg("--config")
                .arg(&config)
                .args(args)
                .env_remove("RUST_LOG")
                .output()
                .unwrap()
        })
    };
    let text = |out: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };

    let out = run(&["connect", "lightspeed"]).await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    let url =
        shown.split_whitespace().find(|w| w.starts_with("https://secure.retail.lightspeed.app/connect?")).unwrap();
    let query: std::collections::HashMap<String, String> =
        form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes()).into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], fake_lightspeed::CLIENT_ID);
    assert_eq!(query["redirect_uri"], "https://bot.example.com/lightspeed/callback");
    assert!(query["state"].len() >= 16, "an unguessable state");
    for scope in ["sales:read", "inventory:read", "consignments:write:stock_order", "webhooks"] {
        assert!(query["scope"].split(' ').any(|s| s == scope), "{scope} in {}", query["scope"]);
    }
    assert!(shown.contains("tillpilot connect lightspeed --code"), "{shown}");

    let out = run(&["connect", "lightspeed", "--code", "not-the-code"]).await.unwrap();
    assert!(!out.status.success(), "a bad code is refused: {}", text(&out));
    assert!(text(&out).contains("exchanging the code for tokens"), "{}", text(&out));
    assert!(fake.webhooks.lock().unwrap().is_empty());
    let store = tillpilot::store::Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    assert_eq!(store.meta(tillpilot::pos::lightspeed::client::REFRESH_TOKEN_KEY).await.unwrap(), None);

    let out = run(&["connect", "lightspeed", "--code", "fake-code"]).await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Connected to cornerstore"), "{}", text(&out));
    let live = fake.refresh.lock().unwrap().clone();
    assert_eq!(store.meta(tillpilot::pos::lightspeed::client::REFRESH_TOKEN_KEY).await.unwrap(), Some(live));
    let hooks = fake.webhooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), tillpilot::pos::lightspeed::webhook::EVENT_TYPES.len());
    for kind in tillpilot::pos::lightspeed::webhook::EVENT_TYPES {
        let url = format!("https://bot.example.com/webhooks/lightspeed?type={kind}");
        assert!(hooks.iter().any(|h| h["type"] == kind && h["url"] == url.as_str()), "{kind}: {hooks:?}");
    }

    let out = run(&["connect", "lightspeed", "--code", "fake-code"]).await.unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(text(&out).matches("already subscribed").count(), hooks.len(), "{}", text(&out));
    assert_eq!(fake.webhooks.lock().unwrap().len(), hooks.len(), "nothing subscribed twice");
}

/// The sales list has no date filter: the first read walks every sale, and every later one
/// reads only what changed after the highest version seen, so a reconciliation every few
/// minutes costs a request or two instead of the whole history, and still sees a sale voided
/// at the till since.
#[tokio::test]
async fn later_reads_of_lightspeed_sales_fetch_only_what_changed() {
    use tillpilot::domain::OrderState;
    let shop = common::shop();
    let (fake, fake_url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
    let db = common::sqlite_db();
    let store = common::store(&db).await;
    let mut client = LightspeedClient::new(
        &lightspeed_config(&fake_url),
        store,
        common::clock(),
        Duration::from_secs(5),
        RetryPolicy::default(),
    )
    .unwrap();
    client.page_size = 200;
    let pos = LightspeedPos::new(client);
    let sales_calls = || fake.calls().iter().filter(|c| c.starts_with("GET /api/2.0/sales ")).count();
    let day = 86_400_000;
    let (from, to) = (common::now_ms() - 7 * day, common::now_ms());

    let first = pos.orders_between(from, to, None).await.unwrap();
    let walked = sales_calls();
    assert!(walked > 10, "the first read pages through every sale: {walked} pages");
    let victim = first.iter().find(|o| o.state == OrderState::Completed).unwrap().clone();

    let again = pos.orders_between(from, to, None).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(sales_calls() - walked, 1, "nothing changed: one empty page");

    fake.change_sale(victim.id.as_str(), |sale| sale["status"] = "VOIDED".into());
    let after = pos.orders_between(from, to, None).await.unwrap();
    assert_eq!(sales_calls() - walked, 3, "one page with the change, one empty");
    let voided = after.iter().find(|o| o.id == victim.id).unwrap();
    assert_eq!(voided.state, OrderState::Cancelled);
    assert_eq!(after.len(), first.len());
}
