//! One conformance body run against every `Pos`: the simulated shop itself, and the Square
//! connector talking to a fake Square API that serves the same shop in Square's wire format.
//! Then Square's failure handling (429 with Retry-After, 5xx, stalls, malformed JSON, bad
//! credentials), and its mapping of the published example payloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "fakes/square.rs"]
mod fake_square;

use fake_square::Fault;
use std::sync::Arc;
use std::time::Duration;
use tillpilot::config::{Secret, SquareConfig};
use tillpilot::domain::{CustomerId, FulfilmentKind, FulfilmentState, LocationId, Order, OrderId, Phone, VariationId};
use tillpilot::pos::retry::RetryPolicy;
use tillpilot::pos::sim::{SimPos, SimShop};
use tillpilot::pos::square::SquarePos;
use tillpilot::pos::square::client::SquareClient;
use tillpilot::pos::square::mapping;
use tillpilot::pos::{Pos, PosError};

/// What a connector can faithfully report: Square has no "delivered" state for shipments.
fn as_square_sees_it(mut order: Order) -> Order {
    if let Some(f) = &mut order.fulfilment
        && f.kind == FulfilmentKind::Shipment
        && f.state == FulfilmentState::Delivered
    {
        f.state = FulfilmentState::Shipped;
    }
    order
}

/// The same questions, asked of any `Pos`, checked against the shop it fronts.
async fn conformance(pos: &dyn Pos, shop: &SimShop, lossy: fn(Order) -> Order) {
    let name = pos.provider();
    let locations = pos.locations().await.unwrap();
    assert_eq!(locations, shop.locations, "{name}: locations");

    let catalog = pos.catalog().await.unwrap();
    assert_eq!(catalog.items, shop.catalog.items, "{name}: items and variations");
    assert_eq!(catalog.categories.len(), shop.catalog.categories.len(), "{name}: categories");

    let some: Vec<VariationId> =
        shop.catalog.items.iter().take(5).flat_map(|i| i.variations.iter().map(|v| v.id.clone())).collect();
    let mut expected: Vec<_> = shop.stock.iter().filter(|s| some.contains(&s.variation_id)).cloned().collect();
    let mut got = pos.stock_levels(&some, None).await.unwrap();
    expected.sort_by(|a, b| (&a.variation_id, &a.location_id).cmp(&(&b.variation_id, &b.location_id)));
    got.sort_by(|a, b| (&a.variation_id, &a.location_id).cmp(&(&b.variation_id, &b.location_id)));
    assert_eq!(got, expected, "{name}: stock for chosen variations");
    let main = LocationId::new("L-MAIN");
    let at_main = pos.stock_levels(&[], Some(&main)).await.unwrap();
    assert_eq!(
        at_main.len(),
        shop.stock.iter().filter(|s| s.location_id == main).count(),
        "{name}: all stock at one location"
    );

    let expected_1042 = shop.orders.iter().find(|o| o.number == "1042").cloned().map(lossy);
    assert_eq!(pos.order(&OrderId::new("ORD-W-1042")).await.unwrap(), expected_1042, "{name}: order by id");
    assert_eq!(pos.order(&OrderId::new("NO-SUCH-ORDER")).await.unwrap(), None, "{name}: missing order");
    let by_number = pos.orders_by_number("#1043").await.unwrap();
    assert_eq!(by_number.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["ORD-W-1043"], "{name}: by number");
    assert!(pos.orders_by_number("99999999").await.unwrap().is_empty());

    let alex = CustomerId::new("CUST-001");
    let mine = pos.orders_for_customer(&alex).await.unwrap();
    let expected: Vec<Order> =
        shop.orders.iter().rev().filter(|o| o.customer_id.as_ref() == Some(&alex)).cloned().map(lossy).collect();
    assert_eq!(mine, expected, "{name}: a customer's orders, newest first");

    let phone = Phone::parse("+13125550142").unwrap();
    let found = pos.customers_by_phone(&phone).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["CUST-001"], "{name}: by phone");
    let by_email = pos.customers_by_email("Alex.Kim@example.com").await.unwrap();
    assert_eq!(by_email.len(), 1, "{name}: by email");
    assert_eq!(pos.customer(&alex).await.unwrap().map(|c| c.given_name), Some("Alex".into()));

    let end = shop.orders.last().unwrap().created_at_ms + 1;
    let start = end - 2 * 86_400_000;
    let window: Vec<Order> =
        shop.orders.iter().filter(|o| o.created_at_ms >= start && o.created_at_ms < end).cloned().map(lossy).collect();
    assert_eq!(pos.orders_between(start, end, None).await.unwrap(), window, "{name}: orders in a window");

    let vendors = pos.vendors().await.unwrap();
    assert_eq!(
        vendors.iter().map(|v| &v.name).collect::<Vec<_>>(),
        shop.vendors.iter().map(|v| &v.name).collect::<Vec<_>>()
    );
}

fn square_config(base_url: &str) -> SquareConfig {
    SquareConfig {
        access_token: Secret::new(fake_square::TOKEN),
        base_url: base_url.into(),
        webhook_signature_key: None,
        webhook_url: None,
        location_ids: Vec::new(),
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(10), max_delay: Duration::from_millis(50) }
}

/// The Square connector over the fake, with its own store (the mirror it resolves order
/// numbers through).
async fn square_pos(base_url: &str, timeout: Duration) -> (SquarePos, tillpilot::store::Store, common::TestDb) {
    let db = common::sqlite_db();
    let store = common::store(&db).await;
    let client = SquareClient::new(&square_config(base_url), timeout, fast_retries()).unwrap();
    (SquarePos::new(client, store.clone(), Vec::new()), store, db)
}

#[tokio::test]
async fn the_simulated_shop_conforms() {
    let shop = common::shop();
    conformance(&SimPos::new(shop.clone()), &shop, |o| o).await;
}

#[tokio::test]
async fn the_square_connector_conforms_through_the_wire_format() {
    let shop = common::shop();
    // Small pages, so every list and search walks its cursor.
    let (fake, url) = fake_square::start(shop.clone(), 37).await;
    let (pos, store, _db) = square_pos(&url, Duration::from_secs(5)).await;
    // As in production: the mirror is synced, and order numbers resolve through it.
    tillpilot::jobs::sync::pull(&pos, &store, 35, |_, _| {}).await.unwrap();
    conformance(&pos, &shop, as_square_sees_it).await;
    let searches = fake
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("POST /v2/orders/search") && c.contains("\"cursor\""))
        .count();
    assert!(searches > 0, "order searches were paginated");
}

#[tokio::test]
async fn sync_through_square_fills_the_mirror_like_the_simulated_shop() {
    let shop = common::shop();
    let (_fake, url) = fake_square::start(shop.clone(), 200).await;
    let (pos, _, _db) = square_pos(&url, Duration::from_secs(5)).await;
    let db = common::sqlite_db();
    let store = common::store(&db).await;
    let via_square = tillpilot::jobs::sync::pull(&pos, &store, 10, |_, _| {}).await.unwrap();
    let db2 = common::sqlite_db();
    let store2 = common::store(&db2).await;
    let via_sim = tillpilot::jobs::sync::pull(&SimPos::new(shop), &store2, 10, |_, _| {}).await.unwrap();
    assert_eq!(via_square, via_sim);
}

#[tokio::test]
async fn square_retries_rate_limits_and_server_errors_but_not_client_errors() {
    let shop = common::shop();
    let (fake, url) = fake_square::start(shop.clone(), 500).await;
    let (pos, _, _db) = square_pos(&url, Duration::from_millis(400)).await;
    let id = OrderId::new("ORD-W-1042");

    fake.fail_next(&[Fault::Status(429, Some("1")), Fault::Status(503, None)]);
    let started = std::time::Instant::now();
    assert!(pos.order(&id).await.unwrap().is_some());
    assert!(started.elapsed() >= Duration::from_millis(950), "Retry-After was honoured");
    assert_eq!(fake.calls().len(), 3);

    fake.fail_next(&[Fault::Stall(Duration::from_secs(2))]);
    assert!(pos.order(&id).await.unwrap().is_some(), "a stalled call times out and is retried");

    fake.fail_next(&[Fault::Status(500, None); 4]);
    assert!(matches!(pos.order(&id).await, Err(PosError::Unavailable(_))), "bounded attempts");

    let before = fake.calls().len();
    fake.fail_next(&[Fault::Malformed]);
    assert!(matches!(pos.order(&id).await, Err(PosError::Malformed(_))));
    fake.fail_next(&[Fault::Status(400, None)]);
    assert!(matches!(pos.order(&id).await, Err(PosError::Rejected { status: 400, .. })));
    assert_eq!(fake.calls().len() - before, 2, "malformed and rejected answers are not retried");

    let client = SquareClient::new(
        &SquareConfig { access_token: Secret::new("wrong"), ..square_config(&url) },
        Duration::from_secs(2),
        fast_retries(),
    )
    .unwrap();
    let db = common::sqlite_db();
    let unauthorized = SquarePos::new(client, common::store(&db).await, Vec::new());
    assert!(matches!(unauthorized.locations().await, Err(PosError::Unauthorized)));
}

fn fixture<T: serde::de::DeserializeOwned>(path: &str) -> T {
    serde_json::from_str(&std::fs::read_to_string(format!("tests/fixtures/square/{path}")).unwrap()).unwrap()
}

#[test]
fn published_square_examples_map_to_the_domain() {
    let order: mapping::OrderResponse = fixture("retrieve_order_response.json");
    let order = order.order.to_domain().unwrap();
    assert_eq!(order.id.as_str(), "CAISENgvlJ6jLWAzERDzjyHVybY");
    assert!(!order.lines.is_empty());
    assert_eq!(order.lines[0].name, "Item 1");
    assert_eq!(order.lines[0].unit_price.minor(), 500);
    assert_eq!(order.lines[0].discount.minor(), 250);

    let customers: mapping::CustomersPage = fixture("search_customers_response.json");
    let james = customers.customers[0].to_domain();
    assert_eq!(james.phone.map(|p| p.to_string()).as_deref(), Some("+12125554250"));
    assert_eq!(james.email.as_deref(), Some("james.bond@example.com"));
    assert_eq!(customers.cursor.as_deref(), Some("9dpS093Uy12AzeE"));

    let counts: mapping::CountsPage = fixture("batch_retrieve_inventory_counts_response.json");
    let level = counts.counts[0].to_domain().unwrap().unwrap();
    assert_eq!((level.variation_id.as_str(), level.on_hand.to_string().as_str()), ("W62UWFY35CWMYGVWK6TWJDNI", "79"));

    let locations: mapping::LocationsResponse = fixture("list_locations_response.json");
    assert_eq!(locations.locations[0].to_domain().name, "Grant Park");

    let catalog: mapping::CatalogPage = fixture("list_catalog_response.json");
    let (categories, items, _) = mapping::catalog(&catalog.objects);
    assert_eq!(categories.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["Beverages"]);
    assert!(items.is_empty(), "taxes are not items");

    let vendors: mapping::VendorsPage = fixture("search_vendors_response.json");
    let vendor = vendors.vendors[0].to_domain();
    assert_eq!(
        (vendor.name.as_str(), vendor.email.as_deref()),
        ("Joe's Fresh Seafood", Some("joe@joesfreshseafood.com"))
    );
}

#[tokio::test]
async fn when_square_stops_answering_the_bot_answers_from_the_mirror_and_says_so() {
    let shop = common::shop();
    let (fake, url) = fake_square::start(shop.clone(), 500).await;
    let db = common::sqlite_db();
    let store = common::store(&db).await;
    let client = SquareClient::new(&square_config(&url), Duration::from_secs(2), fast_retries()).unwrap();
    let pos = Arc::new(SquarePos::new(client, store.clone(), Vec::new()));
    tillpilot::jobs::sync::pull(pos.as_ref(), &store, 35, |_, _| {}).await.unwrap();
    let app = tillpilot::app::App::start(common::config(&db), Some(pos)).await.unwrap();

    let live = common::ask(&app, "Sam", "stock sourdough").await;
    assert!(!live.reply.text.contains("isn't answering"), "{}", live.reply.text);

    fake.fail_next(&[Fault::Status(503, None); 64]);
    let stale = common::ask(&app, "Sam", "stock sourdough").await;
    let first_sentence = live.reply.text.split(" Last sold").next().unwrap();
    assert!(stale.reply.text.starts_with(first_sentence), "same figures: {} / {}", stale.reply.text, live.reply.text);
    assert!(
        stale
            .reply
            .text
            .contains("The till system isn't answering right now; these figures are from the last sync, today"),
        "{}",
        stale.reply.text
    );

    let order = common::ask(&app, "+13125550142", "where is my order #1042").await;
    assert!(
        order.reply.text.contains("Order #1042 shipped") && order.reply.text.contains("last sync"),
        "{}",
        order.reply.text
    );
}
