//! One conformance body run against every `Pos`: the simulated shop itself, and the Square,
//! Clover, Shopify and Lightspeed connectors, each talking to a fake of its API that serves the
//! same shop in that vendor's wire format.
//! Then Square's failure handling (429 with Retry-After, 5xx, stalls, malformed JSON, bad
//! credentials), and its mapping of the published example payloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "fakes/clover.rs"]
mod fake_clover;
#[path = "fakes/lightspeed.rs"]
mod fake_lightspeed;
#[path = "fakes/shopify.rs"]
mod fake_shopify;
#[path = "fakes/square.rs"]
mod fake_square;
#[path = "fakes/wire.rs"]
mod wire;

use std::sync::Arc;
use std::time::Duration;
use tillpilot::config::{Secret, SquareConfig};
use tillpilot::domain::{
    Catalog, CategoryId, CustomerId, FulfilmentKind, FulfilmentState, Location, LocationId, Order, OrderId, Payment,
    Phone, Quantity, StockLevel, VariationId,
};
use tillpilot::pos::clover::mapping as clover_mapping;
use tillpilot::pos::clover::{CloverPos, client::CloverClient};
use tillpilot::pos::lightspeed::{LightspeedPos, client::LightspeedClient};
use tillpilot::pos::retry::RetryPolicy;
use tillpilot::pos::shopify::{ShopifyPos, client::ShopifyClient};
use tillpilot::pos::sim::{SimPos, SimShop};
use tillpilot::pos::square::SquarePos;
use tillpilot::pos::square::client::SquareClient;
use tillpilot::pos::square::mapping;
use tillpilot::pos::{Pos, PosError};
use wire::Fault;

/// The shop as one connector can express it: what `conformance` expects to read back.
struct Expected {
    locations: Vec<Location>,
    catalog: Catalog,
    stock: Vec<StockLevel>,
    /// Oldest first.
    orders: Vec<Order>,
    payments: Vec<Payment>,
    vendors: Vec<String>,
    /// What each variation costs from its vendor, `(variation, vendor name, cost)` sorted, where
    /// the POS says it.
    costs: Option<Vec<(String, String, i64)>>,
}

impl Expected {
    fn of(shop: &SimShop) -> Expected {
        Expected {
            locations: shop.locations.clone(),
            catalog: shop.catalog.clone(),
            stock: shop.stock.clone(),
            orders: shop.orders.clone(),
            payments: tillpilot::pos::sim::payments::payments(&shop.orders),
            vendors: shop.vendors.iter().map(|v| v.name.clone()).collect(),
            costs: None,
        }
    }

    /// Square has no "delivered" state for shipments.
    fn as_square_sees_it(shop: &SimShop) -> Expected {
        let mut expected = Expected::of(shop);
        for order in &mut expected.orders {
            if let Some(f) = &mut order.fulfilment
                && f.kind == FulfilmentKind::Shipment
                && f.state == FulfilmentState::Delivered
            {
                f.state = FulfilmentState::Shipped;
            }
        }
        expected
    }

    /// One Clover merchant is one location; Clover has no low-stock thresholds, no vendors and
    /// no shipment tracking.
    fn as_clover_sees_it(shop: &SimShop, merchant: &str) -> Expected {
        let mut expected = Expected::of(shop);
        expected.locations.retain(|l| l.id.as_str() == merchant);
        for variation in expected.catalog.items.iter_mut().flat_map(|i| i.variations.iter_mut()) {
            variation.low_stock_at = None;
        }
        expected.stock.retain(|s| s.location_id.as_str() == merchant);
        expected.orders.retain(|o| o.location_id.as_str() == merchant);
        for order in &mut expected.orders {
            order.fulfilment = None;
        }
        expected.payments.retain(|p| p.location_id.as_str() == merchant);
        expected.vendors.clear();
        expected
    }

    /// Shopify's categories are product types (named, not numbered), its quantities whole
    /// units; it has no low-stock thresholds, and its vendors are the names on products, by name.
    fn as_shopify_sees_it(shop: &SimShop) -> Expected {
        let mut expected = Expected::of(shop);
        let names: Vec<(CategoryId, String)> =
            shop.catalog.categories.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
        let name_of = |id: &CategoryId| names.iter().find(|(c, _)| c == id).map(|(_, n)| CategoryId::new(n));
        for item in &mut expected.catalog.items {
            item.category_id = item.category_id.as_ref().and_then(name_of);
            for variation in &mut item.variations {
                variation.low_stock_at = None;
            }
        }
        let used: std::collections::HashSet<_> =
            expected.catalog.items.iter().filter_map(|i| i.category_id.clone()).collect();
        expected.catalog.categories.retain(|c| used.contains(&CategoryId::new(&c.name)));
        for level in &mut expected.stock {
            level.on_hand = Quantity::from_units(fake_shopify::units(level.on_hand));
        }
        for line in expected.orders.iter_mut().flat_map(|o| o.lines.iter_mut()) {
            line.quantity = Quantity::from_units(fake_shopify::units(line.quantity).max(1));
        }
        // Shopify records no card entry method, tips apart from the sale, or gift card digits.
        for payment in &mut expected.payments {
            payment.tip = tillpilot::domain::Money::ZERO;
            payment.card_entry = None;
            if payment.tender == tillpilot::domain::Tender::GiftCard {
                payment.card_last4 = None;
            }
        }
        expected.vendors.sort();
        // A product's vendor is its first variant's (the fake names one per product).
        let mut costs: Vec<(String, String, i64)> = Vec::new();
        for item in &shop.catalog.items {
            let vendor_of =
                |v: &tillpilot::domain::Variation| shop.vendor_terms.iter().find(|t| t.variation_id == v.id);
            let Some(vendor) = item.variations.first().and_then(vendor_of).and_then(|t| {
                shop.vendors.iter().find(|vendor| vendor.id == t.vendor_id).map(|vendor| vendor.name.clone())
            }) else {
                continue;
            };
            for variation in &item.variations {
                if let Some(term) = vendor_of(variation) {
                    costs.push((variation.id.to_string(), vendor.clone(), term.unit_cost.minor()));
                }
            }
        }
        costs.sort();
        expected.costs = Some(costs);
        expected
    }

    /// Lightspeed: every variant is a product, and a family is named by its first variant (the
    /// item's id is that product's);
    /// categories are product types; no low-stock thresholds on products; a delivery is done
    /// once dispatched (no carrier, no tracking, no "delivered"); payments carry no tip, card
    /// digits or entry method.
    fn as_lightspeed_sees_it(shop: &SimShop) -> Expected {
        let mut expected = Expected::of(shop);
        for item in &mut expected.catalog.items {
            item.id = tillpilot::domain::ItemId::new(item.variations[0].id.as_str());
            for variation in &mut item.variations {
                variation.item_id = item.id.clone();
                variation.low_stock_at = None;
            }
        }
        let used: std::collections::HashSet<_> =
            expected.catalog.items.iter().filter_map(|i| i.category_id.clone()).collect();
        expected.catalog.categories.retain(|c| used.contains(&c.id));
        for order in &mut expected.orders {
            if let Some(f) = &mut order.fulfilment {
                (f.carrier, f.tracking_number, f.tracking_url) = (None, None, None);
                match (f.kind, f.state) {
                    (FulfilmentKind::Shipment, FulfilmentState::Delivered | FulfilmentState::Shipped) => {
                        f.state = FulfilmentState::Shipped;
                        order.state = tillpilot::domain::OrderState::Completed;
                    }
                    (FulfilmentKind::Pickup, FulfilmentState::Unfulfilled) => f.state = FulfilmentState::ReadyForPickup,
                    _ => {}
                }
            }
        }
        for payment in &mut expected.payments {
            payment.tip = tillpilot::domain::Money::ZERO;
            payment.card_last4 = None;
            payment.card_entry = None;
        }
        expected
    }
}

fn stock_triples(levels: &[StockLevel]) -> Vec<(String, String, Quantity)> {
    let mut triples: Vec<_> =
        levels.iter().map(|s| (s.variation_id.0.clone(), s.location_id.0.clone(), s.on_hand)).collect();
    triples.sort();
    triples
}

/// The same questions, asked of any `Pos`, checked against the shop as that POS can express it.
async fn conformance(pos: &dyn Pos, expected: &Expected) {
    let name = pos.provider();
    let locations = pos.locations().await.unwrap();
    assert_eq!(locations, expected.locations, "{name}: locations");

    let catalog = pos.catalog().await.unwrap();
    assert_eq!(catalog.items, expected.catalog.items, "{name}: items and variations");
    assert_eq!(catalog.categories.len(), expected.catalog.categories.len(), "{name}: categories");

    let some: Vec<VariationId> =
        expected.catalog.items.iter().take(5).flat_map(|i| i.variations.iter().map(|v| v.id.clone())).collect();
    let chosen: Vec<StockLevel> = expected.stock.iter().filter(|s| some.contains(&s.variation_id)).cloned().collect();
    let got = pos.stock_levels(&some, None).await.unwrap();
    assert_eq!(stock_triples(&got), stock_triples(&chosen), "{name}: stock for chosen variations");
    let main = LocationId::new("L-MAIN");
    let at_main = pos.stock_levels(&[], Some(&main)).await.unwrap();
    let expected_at_main: Vec<StockLevel> = expected.stock.iter().filter(|s| s.location_id == main).cloned().collect();
    assert_eq!(stock_triples(&at_main), stock_triples(&expected_at_main), "{name}: all stock at one location");

    let expected_1042 = expected.orders.iter().find(|o| o.number == "1042").cloned();
    assert_eq!(pos.order(&OrderId::new("ORD-W-1042")).await.unwrap(), expected_1042, "{name}: order by id");
    assert_eq!(pos.order(&OrderId::new("NO-SUCH-ORDER")).await.unwrap(), None, "{name}: missing order");
    let by_number = pos.orders_by_number("#1043").await.unwrap();
    assert_eq!(by_number.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["ORD-W-1043"], "{name}: by number");
    assert_eq!(pos.orders_by_number("1043").await.unwrap(), by_number, "{name}: by number without #");
    assert!(pos.orders_by_number("99999999").await.unwrap().is_empty());

    let alex = CustomerId::new("CUST-001");
    let mine = pos.orders_for_customer(&alex).await.unwrap();
    let theirs: Vec<Order> =
        expected.orders.iter().rev().filter(|o| o.customer_id.as_ref() == Some(&alex)).cloned().collect();
    assert_eq!(mine, theirs, "{name}: a customer's orders, newest first");

    let phone = Phone::parse("+13125550142").unwrap();
    let found = pos.customers_by_phone(&phone).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["CUST-001"], "{name}: by phone");
    let priya = Phone::parse("+13125550143").unwrap();
    let found = pos.customers_by_phone(&priya).await.unwrap();
    assert_eq!(found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["CUST-002"], "{name}: by phone (national)");
    let by_email = pos.customers_by_email("Alex.Kim@example.com").await.unwrap();
    assert_eq!(by_email.len(), 1, "{name}: by email");
    assert_eq!(pos.customer(&alex).await.unwrap().map(|c| c.given_name), Some("Alex".into()));

    let end = expected.orders.last().unwrap().created_at_ms + 1;
    let start = end - 2 * 86_400_000;
    let window: Vec<Order> =
        expected.orders.iter().filter(|o| o.created_at_ms >= start && o.created_at_ms < end).cloned().collect();
    assert_eq!(pos.orders_between(start, end, None).await.unwrap(), window, "{name}: orders in a window");

    let by_time = |mut payments: Vec<Payment>| {
        payments.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        payments
    };
    let paid =
        expected.payments.iter().filter(|p| p.created_at_ms >= start && p.created_at_ms < end).cloned().collect();
    let got = pos.payments_between(start, end, None).await.unwrap();
    assert!(!got.is_empty(), "{name}: payments in a window");
    assert_eq!(by_time(got), by_time(paid), "{name}: payments in a window");

    let vendors = pos.vendors().await.unwrap();
    assert_eq!(vendors.iter().map(|v| v.name.clone()).collect::<Vec<_>>(), expected.vendors, "{name}: vendors");
    if let Some(costs) = &expected.costs {
        let name_of = |id: &tillpilot::domain::VendorId| vendors.iter().find(|v| v.id == *id).unwrap().name.clone();
        let mut got: Vec<(String, String, i64)> = pos
            .vendor_terms()
            .await
            .unwrap()
            .iter()
            .map(|t| (t.variation_id.to_string(), name_of(&t.vendor_id), t.unit_cost.minor()))
            .collect();
        got.sort();
        assert_eq!(&got, costs, "{name}: what each variation costs from its vendor");
    }

    // A stock count written (twice, as a retry would) reads back once.
    let variation = &some[0];
    let location = &expected.locations[0].id;
    for _ in 0..2 {
        pos.record_count(variation, location, Quantity::from_units(17), "count-conformance-1").await.unwrap();
    }
    let after = pos.stock_levels(std::slice::from_ref(variation), Some(location)).await.unwrap();
    assert_eq!(
        after.iter().map(|s| s.on_hand).collect::<Vec<_>>(),
        [Quantity::from_units(17)],
        "{name}: a recorded count reads back"
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
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        jitter: 0.25,
    }
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
    conformance(&SimPos::new(shop.clone()), &Expected::of(&shop)).await;
}

#[tokio::test]
async fn the_square_connector_conforms_through_the_wire_format() {
    let shop = common::shop();
    // Small pages, so every list and search walks its cursor.
    let (fake, url) = fake_square::start(shop.clone(), 37).await;
    let (pos, store, _db) = square_pos(&url, Duration::from_secs(5)).await;
    // As in production: the mirror is synced, and order numbers resolve through it.
    tillpilot::jobs::sync::pull(&pos, &store, common::now_ms(), 35, |_, _| {}).await.unwrap();
    conformance(&pos, &Expected::as_square_sees_it(&shop)).await;
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
    let via_square = tillpilot::jobs::sync::pull(&pos, &store, common::now_ms(), 10, |_, _| {}).await.unwrap();
    let db2 = common::sqlite_db();
    let store2 = common::store(&db2).await;
    let via_sim =
        tillpilot::jobs::sync::pull(&SimPos::new(shop), &store2, common::now_ms(), 10, |_, _| {}).await.unwrap();
    assert_eq!(via_square, via_sim);
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

    let payments: mapping::PaymentsPage = fixture("list_payments_response.json");
    let payment = payments.payments[0].to_domain().unwrap();
    assert_eq!(payment.id, "bP9mAsEMYPUGjjGNaNO5ZDVyLhSZY");
    assert_eq!(payment.amount.minor(), 555);
    assert_eq!((payment.tender, payment.card_last4.as_deref()), (tillpilot::domain::Tender::Card, Some("1111")));
    assert_eq!(payment.card_entry.as_deref(), Some("KEYED"));
    assert_eq!(payment.order_id.map(|o| o.0).as_deref(), Some("d7eKah653Z579f3gVtjlxpSlmUcZY"));

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

fn clover_config(base_url: &str, token: &str) -> tillpilot::config::CloverConfig {
    tillpilot::config::CloverConfig {
        merchant_id: "L-MAIN".into(),
        access_token: Secret::new(token),
        base_url: base_url.into(),
        webhook_auth_code: None,
    }
}

async fn clover_pos(
    url: &str,
    page_size: usize,
    timeout: Duration,
) -> (CloverPos, tillpilot::store::Store, common::TestDb) {
    let db = common::sqlite_db();
    let store = common::store(&db).await;
    let mut client = CloverClient::new(&clover_config(url, fake_clover::TOKEN), timeout, fast_retries()).unwrap();
    client.page_size = page_size;
    (CloverPos::new(client, store.clone(), "L-MAIN"), store, db)
}

#[tokio::test]
async fn the_clover_connector_conforms_through_the_wire_format() {
    let shop = common::shop();
    let (fake, url) = fake_clover::start(shop.clone(), "L-MAIN").await;
    let (pos, store, _db) = clover_pos(&url, 250, Duration::from_secs(5)).await;
    tillpilot::jobs::sync::pull(&pos, &store, common::now_ms(), 10, |_, _| {}).await.unwrap();
    conformance(&pos, &Expected::as_clover_sees_it(&shop, "L-MAIN")).await;

    let calls = fake.calls();
    assert!(calls.iter().any(|c| c.contains("\"offset\", \"250\"")), "listings were paged by offset");
    // Clover allows 16 requests per second per token: no one-second window may hold more.
    let times = fake.wire.times();
    let busiest = times
        .iter()
        .map(|start| {
            times.iter().filter(|t| **t >= *start && t.duration_since(*start) < Duration::from_secs(1)).count()
        })
        .max()
        .unwrap();
    assert!(times.len() > 40, "enough calls to test the pace: {}", times.len());
    assert!(busiest <= 16, "{busiest} requests in one second");
}

#[test]
fn published_clover_examples_map_to_the_domain() {
    let read = |name: &str| std::fs::read_to_string(format!("tests/fixtures/clover/{name}")).unwrap();
    let item: clover_mapping::CloverItem = serde_json::from_str(&read("item_expand_categories_response.json")).unwrap();
    let items = clover_mapping::catalog(std::slice::from_ref(&item));
    assert_eq!(items[0].name, "Bangers and Mash");
    assert_eq!(items[0].category_id.as_ref().map(|c| c.as_str()), Some("MHH9XR2YXZ4T4"));
    assert_eq!(items[0].variations[0].price.minor(), 150);
    assert_eq!(items[0].variations[0].sku.as_deref(), Some("024463061095"), "the code stands in for a missing SKU");

    let stock: clover_mapping::CloverStock = serde_json::from_str(&read("item_stock_update_response.json")).unwrap();
    let level = stock.to_domain(&LocationId::new("M1"), 5);
    assert_eq!((level.variation_id.as_str(), level.on_hand.milli()), ("3Z29BX6C013XC", 160_500));
}

fn shopify_config(base_url: &str, token: &str) -> tillpilot::config::ShopifyConfig {
    tillpilot::config::ShopifyConfig {
        shop: "corner.myshopify.com".into(),
        access_token: Secret::new(token),
        api_secret: None,
        base_url: Some(base_url.into()),
    }
}

fn shopify_pos(url: &str, timeout: Duration) -> ShopifyPos {
    ShopifyPos::new(ShopifyClient::new(&shopify_config(url, fake_shopify::TOKEN), timeout, fast_retries()).unwrap())
}

const ROOMY: fake_shopify::Bucket = fake_shopify::Bucket { cost: 10.0, maximum: 1_000_000.0, restore_rate: 1_000.0 };

#[tokio::test]
async fn the_shopify_connector_conforms_through_the_wire_format() {
    let shop = common::shop();
    let (fake, url) = fake_shopify::start(shop.clone(), 45, ROOMY).await;
    conformance(&shopify_pos(&url, Duration::from_secs(5)), &Expected::as_shopify_sees_it(&shop)).await;
    assert!(fake.calls().iter().any(|c| c.contains("\"after\"")), "connections were paged");
}

#[tokio::test]
async fn shopify_waits_for_its_query_cost_bucket_instead_of_failing() {
    let shop = common::shop();
    // Room for two queries, and points for one more every 50 ms.
    let tight = fake_shopify::Bucket { cost: 50.0, maximum: 100.0, restore_rate: 1_000.0 };
    let (fake, url) = fake_shopify::start(shop.clone(), 100, tight).await;
    let pos = shopify_pos(&url, Duration::from_secs(5));
    for _ in 0..12 {
        assert!(pos.order(&OrderId::new("ORD-W-1042")).await.unwrap().is_some());
    }
    assert_eq!(fake.calls().len() - fake.throttled(), 12, "every query was answered");
    assert!(fake.throttled() <= 1, "the client paced itself by the reported bucket: {} throttled", fake.throttled());
}

#[tokio::test]
async fn square_applies_a_stock_count_once_per_idempotency_key_even_when_retried() {
    let shop = common::shop();
    let (fake, url) = fake_square::start(shop.clone(), 500).await;
    let (pos, _, _db) = square_pos(&url, Duration::from_secs(2)).await;
    let variation = shop.catalog.items[0].variations[0].id.clone();
    let main = LocationId::new("L-MAIN");
    // The first attempt fails after Square may have applied it; the retry carries the same key.
    fake.fail_next(&[Fault::Status(500, None)]);
    pos.record_count(&variation, &main, Quantity::from_units(9), "count-42").await.unwrap();
    pos.record_count(&variation, &main, Quantity::from_units(9), "count-42").await.unwrap();
    let writes: Vec<String> =
        fake.calls().into_iter().filter(|c| c.starts_with("POST /v2/inventory/changes/batch-create")).collect();
    assert_eq!(writes.len(), 3, "one failed attempt, its retry, and the repeated call");
    assert!(writes.iter().all(|w| w.contains("\"idempotency_key\":\"count-42\"")));
    assert_eq!(fake.changes.lock().unwrap().len(), 1, "applied once");
    assert!(matches!(
        pos.record_count(&variation, &main, Quantity::from_units(9), "").await,
        Err(PosError::Rejected { status: 400, .. })
    ));
}

#[tokio::test]
async fn clover_notifications_refresh_the_mirror_from_the_api() {
    let shop = common::shop();
    let (fake, url) = fake_clover::start(shop.clone(), "L-MAIN").await;
    let (pos, _, _db) = clover_pos(&url, 1000, Duration::from_secs(5)).await;
    let db = common::sqlite_db();
    let app =
        tillpilot::app::App::start_with_clock(common::config(&db), Some(Arc::new(pos)), common::clock()).await.unwrap();
    sqlx::query("DELETE FROM order_lines WHERE order_id = 'ORD-W-1042'").execute(app.store.pool()).await.unwrap();
    sqlx::query("DELETE FROM orders WHERE id = 'ORD-W-1042'").execute(app.store.pool()).await.unwrap();
    let variation = shop.catalog.items[3].variations[0].id.clone();
    fake.set_stock.lock().unwrap().insert(variation.0.clone(), 31.0);

    let body = serde_json::json!({ "appId": "APP", "merchants": { "L-MAIN": [
        { "objectId": "O:ORD-W-1042", "type": "UPDATE", "ts": 1_700_000_000_000_i64 },
        { "objectId": format!("I:{}", variation.as_str()), "type": "UPDATE", "ts": 1_700_000_000_001_i64 },
    ] } })
    .to_string();
    let tillpilot::pos::clover::webhook::CloverDelivery::Events(events) =
        tillpilot::pos::clover::webhook::read(Some("auth"), Some("auth"), body.as_bytes()).unwrap()
    else {
        panic!("expected events")
    };
    let mut tx = app.store.begin().await.unwrap();
    app.store.receive_events(&mut tx, &events, tillpilot::store::now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    let pass = tillpilot::jobs::inbox_worker::process_due(&app, "w1").await.unwrap();
    assert_eq!(pass.processed, 2);

    let (number,): (String,) =
        sqlx::query_as("SELECT number FROM orders WHERE id = 'ORD-W-1042'").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(number, "1042");
    let stock =
        app.store.mirror_stock(std::slice::from_ref(&variation), Some(&LocationId::new("L-MAIN"))).await.unwrap();
    assert_eq!(stock.iter().map(|s| s.on_hand).collect::<Vec<_>>(), [Quantity::from_units(31)]);
    assert!(fake.calls().iter().any(|c| c.starts_with(&format!("GET item_stocks/{}", variation.as_str()))));
}

// ---- Failure handling, the same for every connector ------------------------------------------

/// A connector over its fake, the same connector with a wrong token, and the fake's wire.
struct OverTheWire<'a> {
    name: &'static str,
    pos: &'a dyn Pos,
    unauthorized: &'a dyn Pos,
    wire: &'a wire::Recorder,
}

/// What every connector does when its POS misbehaves, in the one fault vocabulary: a 429 is
/// waited out for as long as it says; 5xx, a stall past the timeout and a dropped connection
/// are tried again, a bounded number of times; a malformed answer and a client error are not
/// retried; a refused token is `Unauthorized`. (The connectors' timeouts are under 2 s.)
async fn fails_well(c: OverTheWire<'_>) {
    let name = c.name;
    let id = OrderId::new("ORD-W-1042");
    c.wire.fail_next(&[Fault::Status(429, Some("1")), Fault::Status(503, None), Fault::Drop]);
    let (started, before) = (std::time::Instant::now(), c.wire.calls().len());
    assert!(c.pos.order(&id).await.unwrap().is_some(), "{name}: 429, 503 and a dropped connection are retried");
    assert!(started.elapsed() >= Duration::from_millis(950), "{name}: Retry-After was honoured");
    assert_eq!(c.wire.calls().len() - before, 4, "{name}: three faults, then the answer");

    c.wire.fail_next(&[Fault::Stall(Duration::from_secs(2))]);
    assert!(c.pos.order(&id).await.unwrap().is_some(), "{name}: a stalled call times out and is retried");

    c.wire.fail_next(&[Fault::Status(500, None); 4]);
    assert!(matches!(c.pos.order(&id).await, Err(PosError::Unavailable(_))), "{name}: bounded attempts");

    let before = c.wire.calls().len();
    c.wire.fail_next(&[Fault::Malformed]);
    assert!(matches!(c.pos.order(&id).await, Err(PosError::Malformed(_))), "{name}: malformed");
    c.wire.fail_next(&[Fault::Status(400, None)]);
    assert!(matches!(c.pos.order(&id).await, Err(PosError::Rejected { status: 400, .. })), "{name}: rejected");
    assert_eq!(c.wire.calls().len() - before, 2, "{name}: malformed and rejected answers are not retried");

    assert!(matches!(c.unauthorized.locations().await, Err(PosError::Unauthorized)), "{name}: a refused token");
}

#[tokio::test]
async fn square_fails_well() {
    let (fake, url) = fake_square::start(common::shop(), 500).await;
    let (pos, _, _db) = square_pos(&url, Duration::from_millis(800)).await;
    let wrong = SquareClient::new(
        &SquareConfig { access_token: Secret::new("wrong"), ..square_config(&url) },
        Duration::from_secs(2),
        fast_retries(),
    )
    .unwrap();
    let db = common::sqlite_db();
    let unauthorized = SquarePos::new(wrong, common::store(&db).await, Vec::new());
    fails_well(OverTheWire { name: "square", pos: &pos, unauthorized: &unauthorized, wire: &fake.wire }).await;
}

#[tokio::test]
async fn clover_fails_well() {
    let (fake, url) = fake_clover::start(common::shop(), "L-MAIN").await;
    let (pos, _, _db) = clover_pos(&url, 1000, Duration::from_millis(800)).await;
    let wrong = CloverClient::new(&clover_config(&url, "wrong"), Duration::from_secs(2), fast_retries()).unwrap();
    let db = common::sqlite_db();
    let unauthorized = CloverPos::new(wrong, common::store(&db).await, "L-MAIN");
    fails_well(OverTheWire { name: "clover", pos: &pos, unauthorized: &unauthorized, wire: &fake.wire }).await;
}

#[tokio::test]
async fn shopify_fails_well() {
    let (fake, url) = fake_shopify::start(common::shop(), 100, ROOMY).await;
    let pos = shopify_pos(&url, Duration::from_millis(800));
    let unauthorized = ShopifyPos::new(
        ShopifyClient::new(&shopify_config(&url, "wrong"), Duration::from_secs(2), fast_retries()).unwrap(),
    );
    fails_well(OverTheWire { name: "shopify", pos: &pos, unauthorized: &unauthorized, wire: &fake.wire }).await;
}

/// Request timeout for the mirror tests: the POS fails by answering 503, never by stalling, so
/// a loaded machine's slow first sync must not time out.
const MIRROR_TEST_TIMEOUT: Duration = Duration::from_secs(15);

/// When the POS stops answering, the bot answers from the mirror the last sync filled, with
/// the same figures, and says so: for stock and for a customer's order.
async fn answers_from_the_mirror(name: &str, pos: Arc<dyn Pos>, wire: &wire::Recorder, db: &common::TestDb) {
    let store = common::store(db).await;
    tillpilot::jobs::sync::pull(pos.as_ref(), &store, common::now_ms(), 35, |_, _| {}).await.unwrap();
    let app = tillpilot::app::App::start_with_clock(common::config(db), Some(pos), common::clock()).await.unwrap();

    let live = common::ask(&app, "Sam", "stock sourdough").await;
    assert!(!live.reply.text.contains("isn't answering"), "{name}: {}", live.reply.text);

    wire.fail_next(&[Fault::Status(503, None); 64]);
    let stale = common::ask(&app, "Sam", "stock sourdough").await;
    let first_sentence = live.reply.text.split(" Last sold").next().unwrap();
    assert!(
        stale.reply.text.starts_with(first_sentence),
        "{name}: same figures: {} / {}",
        stale.reply.text,
        live.reply.text
    );
    assert!(
        stale
            .reply
            .text
            .contains("The till system isn't answering right now; these figures are from the last sync, today"),
        "{name}: {}",
        stale.reply.text
    );

    let order = common::ask(&app, "+13125550142", "where is my order #1042").await;
    assert!(
        order.reply.text.contains("Order #1042") && order.reply.text.contains("last sync"),
        "{name}: {}",
        order.reply.text
    );
}

#[tokio::test]
async fn when_square_stops_answering_the_bot_answers_from_the_mirror_and_says_so() {
    let (fake, url) = fake_square::start(common::shop(), 500).await;
    let db = common::sqlite_db();
    let client = SquareClient::new(&square_config(&url), MIRROR_TEST_TIMEOUT, fast_retries()).unwrap();
    let pos = Arc::new(SquarePos::new(client, common::store(&db).await, Vec::new()));
    answers_from_the_mirror("square", pos, &fake.wire, &db).await;
}

#[tokio::test]
async fn when_clover_stops_answering_the_bot_answers_from_the_mirror_and_says_so() {
    let (fake, url) = fake_clover::start(common::shop(), "L-MAIN").await;
    let db = common::sqlite_db();
    let client =
        CloverClient::new(&clover_config(&url, fake_clover::TOKEN), MIRROR_TEST_TIMEOUT, fast_retries()).unwrap();
    let pos = Arc::new(CloverPos::new(client, common::store(&db).await, "L-MAIN"));
    answers_from_the_mirror("clover", pos, &fake.wire, &db).await;
}

#[tokio::test]
async fn when_shopify_stops_answering_the_bot_answers_from_the_mirror_and_says_so() {
    let (fake, url) = fake_shopify::start(common::shop(), 100, ROOMY).await;
    let db = common::sqlite_db();
    let pos = Arc::new(shopify_pos(&url, MIRROR_TEST_TIMEOUT));
    answers_from_the_mirror("shopify", pos, &fake.wire, &db).await;
}

// ---- Lightspeed ------------------------------------------------------------------------------

fn lightspeed_config(url: &str, access: Option<&str>, refresh: Option<&str>) -> tillpilot::config::LightspeedConfig {
    tillpilot::config::LightspeedConfig {
        domain_prefix: "cornerstore".into(),
        client_id: fake_lightspeed::CLIENT_ID.into(),
        client_secret: Secret::new(fake_lightspeed::CLIENT_SECRET),
        access_token: access.map(Secret::new),
        refresh_token: refresh.map(Secret::new),
        base_url: Some(url.into()),
        webhook_url: None,
        redirect_uri: None,
    }
}

fn lightspeed_client(
    config: &tillpilot::config::LightspeedConfig,
    store: &tillpilot::store::Store,
    clock: Arc<tillpilot::domain::FixedClock>,
    timeout: Duration,
) -> LightspeedClient {
    LightspeedClient::new(config, store.clone(), clock, timeout, fast_retries()).unwrap()
}

/// The connector over the fake with the shop's first tokens, its store on `db`.
async fn lightspeed_pos(url: &str, db: &common::TestDb, timeout: Duration) -> (LightspeedPos, tillpilot::store::Store) {
    let store = common::store(db).await;
    let config = lightspeed_config(url, Some(fake_lightspeed::TOKEN), Some(fake_lightspeed::REFRESH));
    let mut client = lightspeed_client(&config, &store, common::clock(), timeout);
    client.page_size = 200;
    (LightspeedPos::new(client), store)
}

#[tokio::test]
async fn the_lightspeed_connector_conforms_through_the_wire_format_on_both_databases() {
    let shop = common::shop();
    for db in common::databases().await {
        let (fake, url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
        let (pos, store) = lightspeed_pos(&url, &db, Duration::from_secs(5)).await;
        tillpilot::jobs::sync::pull(&pos, &store, common::now_ms(), 10, |_, _| {}).await.unwrap();
        conformance(&pos, &Expected::as_lightspeed_sees_it(&shop)).await;
        let calls = fake.calls();
        assert!(
            calls.iter().any(|c| c.starts_with("GET /api/2.0/sales") && c.contains("\"after\"")),
            "{}: paged by version",
            db.label
        );
        assert_eq!(
            pos.client().budget().limit,
            Some(fake_lightspeed::ROOMY.limit),
            "{}: the budget was read",
            db.label
        );
        // The count wrote one inventory count with one product on it, completed once.
        let counts = fake.consignments.lock().unwrap().clone();
        assert_eq!(counts.len(), 1, "{}: one count for one key", db.label);
        assert_eq!((counts[0].kind.as_str(), counts[0].status.as_str()), ("STOCKTAKE", "STOCKTAKE_COMPLETE"));
        assert_eq!(counts[0].lines.len(), 1, "{}: only the counted product", db.label);
        assert_eq!(fake.stock.lock().unwrap().len(), 1, "{}: no other product's stock changed", db.label);
    }
}

#[tokio::test]
async fn a_lightspeed_count_whose_answer_was_lost_is_found_again_not_made_twice() {
    let shop = common::shop();
    let (fake, url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
    let db = common::sqlite_db();
    let (pos, _) = lightspeed_pos(&url, &db, Duration::from_secs(2)).await;
    let variation = shop.catalog.items[2].variations[0].id.clone();
    let main = LocationId::new("L-MAIN");
    // The count is created, but the answer never arrives: the create is not retried blind.
    fake.lose_next_create.store(true, std::sync::atomic::Ordering::SeqCst);
    pos.record_count(&variation, &main, Quantity::from_units(12), "count-7").await.unwrap();
    // The same approval clicked again.
    pos.record_count(&variation, &main, Quantity::from_units(12), "count-7").await.unwrap();
    let creates = fake.calls().iter().filter(|c| c.starts_with("POST /api/2.0/consignments ")).count();
    assert_eq!(creates, 1, "one create, never repeated");
    let counts = fake.consignments.lock().unwrap().clone();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].name, tillpilot::pos::lightspeed::count_name("count-7"));
    assert_eq!(counts[0].status, "STOCKTAKE_COMPLETE");
    let after = pos.stock_levels(std::slice::from_ref(&variation), Some(&main)).await.unwrap();
    assert_eq!(after.iter().map(|s| s.on_hand).collect::<Vec<_>>(), [Quantity::from_units(12)]);
    assert_eq!(fake.stock.lock().unwrap().len(), 1, "every other product keeps its stock");
    assert!(matches!(
        pos.record_count(&variation, &main, Quantity::from_units(9), "").await,
        Err(PosError::Rejected { status: 400, .. })
    ));
}

#[tokio::test]
async fn a_lightspeed_count_holding_other_products_is_never_completed() {
    let shop = common::shop();
    let (fake, url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
    let db = common::sqlite_db();
    let (pos, _) = lightspeed_pos(&url, &db, Duration::from_secs(2)).await;
    let variation = shop.catalog.items[2].variations[0].id.clone();
    let main = LocationId::new("L-MAIN");
    // Someone started a count under our name and let Lightspeed fill it with every product.
    let name = tillpilot::pos::lightspeed::count_name("count-8");
    let count = pos
        .ensure_consignment("STOCKTAKE", &main, &name, serde_json::json!({ "status": "STOCKTAKE_IN_PROGRESS" }))
        .await
        .unwrap();
    let err = pos.record_count(&variation, &main, Quantity::from_units(3), "count-8").await.unwrap_err();
    assert!(matches!(&err, PosError::Rejected { status: 409, message } if message.contains("set that to 0")), "{err}");
    let consignments = fake.consignments.lock().unwrap().clone();
    assert_eq!(consignments.iter().find(|c| c.id == count.id).unwrap().status, "STOCKTAKE_IN_PROGRESS");
    assert!(fake.stock.lock().unwrap().is_empty(), "no stock was reset");
}

#[tokio::test]
async fn lightspeed_rotated_refresh_tokens_are_stored_before_use_on_both_databases() {
    let shop = common::shop();
    for db in common::databases().await {
        let (fake, url) = fake_lightspeed::start(shop.clone(), 200, fake_lightspeed::ROOMY).await;
        let store = common::store(&db).await;
        let clock = common::clock();
        // Only a refresh token, as after `connect`: the first call refreshes.
        let config = lightspeed_config(&url, None, Some(fake_lightspeed::REFRESH));
        let pos = LightspeedPos::new(lightspeed_client(&config, &store, clock.clone(), Duration::from_secs(2)));
        assert_eq!(pos.locations().await.unwrap().len(), shop.locations.len());
        let stored = store.meta(tillpilot::pos::lightspeed::client::REFRESH_TOKEN_KEY).await.unwrap();
        assert_eq!(stored.as_deref(), Some("ls-refresh-1"), "{}: the rotated token is in the database", db.label);
        assert_eq!(fake.refreshes.load(std::sync::atomic::Ordering::SeqCst), 1);

        // A day later the access token is about to expire: refreshed before it is refused.
        clock.set(tillpilot::domain::Clock::now(clock.as_ref()) + chrono::Duration::seconds(fake.expires_in - 60));
        pos.locations().await.unwrap();
        assert_eq!(fake.refreshes.load(std::sync::atomic::Ordering::SeqCst), 2, "{}", db.label);
        assert_eq!(
            fake.unauthorized.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "{}: never sent a stale token",
            db.label
        );

        // A restart reads the newest pair from the database, not the spent configured one.
        fake.expire_access_tokens();
        let restarted = LightspeedPos::new(lightspeed_client(&config, &store, clock.clone(), Duration::from_secs(2)));
        assert_eq!(restarted.locations().await.unwrap().len(), shop.locations.len(), "{}", db.label);
        assert_eq!(
            fake.refreshes.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "{}: one refresh after the 401",
            db.label
        );
        let stored = store.meta(tillpilot::pos::lightspeed::client::REFRESH_TOKEN_KEY).await.unwrap();
        assert_eq!(stored.as_deref(), Some("ls-refresh-3"), "{}", db.label);
        let debug = format!("{:?}", restarted.locations().await.map(|l| l.len()));
        assert!(!debug.contains("ls-refresh") && !debug.contains("ls-access"), "no token in answers");
    }
}

#[tokio::test]
async fn lightspeed_spends_its_rate_limit_without_being_turned_away_early() {
    let shop = common::shop();
    let tight = fake_lightspeed::Limit { limit: 6, window: Duration::from_secs(2) };
    let (fake, url) = fake_lightspeed::start(shop.clone(), 200, tight).await;
    let db = common::sqlite_db();
    let store = common::store(&db).await;
    let config = lightspeed_config(&url, Some(fake_lightspeed::TOKEN), None);
    let mut client = lightspeed_client(&config, &store, common::clock(), Duration::from_secs(2));
    client.rate_window = tight.window;
    let pos = LightspeedPos::new(client);
    for _ in 0..10 {
        assert_eq!(pos.locations().await.unwrap().len(), shop.locations.len(), "every read is answered");
    }
    assert_eq!(pos.client().budget().limit, Some(6));
    assert_eq!(fake.early.load(std::sync::atomic::Ordering::SeqCst), 0, "no call before the Retry-After date");
}

#[tokio::test]
async fn lightspeed_fails_well() {
    let (fake, url) = fake_lightspeed::start(common::shop(), 200, fake_lightspeed::ROOMY).await;
    let db = common::sqlite_db();
    let (pos, _) = lightspeed_pos(&url, &db, Duration::from_millis(800)).await;
    // Sale lines are named from the catalog; read it once, as the app does at start.
    pos.catalog().await.unwrap();
    let db2 = common::sqlite_db();
    let store2 = common::store(&db2).await;
    let wrong = lightspeed_config(&url, Some("wrong"), None);
    let unauthorized = LightspeedPos::new(lightspeed_client(&wrong, &store2, common::clock(), Duration::from_secs(2)));
    fails_well(OverTheWire { name: "lightspeed", pos: &pos, unauthorized: &unauthorized, wire: &fake.wire }).await;
}

#[tokio::test]
async fn when_lightspeed_stops_answering_the_bot_answers_from_the_mirror_and_says_so() {
    let (fake, url) = fake_lightspeed::start(common::shop(), 200, fake_lightspeed::ROOMY).await;
    let db = common::sqlite_db();
    let (pos, _) = lightspeed_pos(&url, &db, Duration::from_secs(2)).await;
    answers_from_the_mirror("lightspeed", Arc::new(pos), &fake.wire, &db).await;
}

#[test]
fn published_lightspeed_examples_map_to_the_domain() {
    use tillpilot::pos::lightspeed::mapping as ls;
    fn read<T: serde::de::DeserializeOwned>(name: &str) -> T {
        serde_json::from_str(&std::fs::read_to_string(format!("tests/fixtures/lightspeed/{name}")).unwrap()).unwrap()
    }
    let outlets: ls::Page<ls::LsOutlet> = read("outlets_list_response.json");
    let sydney = outlets.data[2].to_domain();
    assert_eq!((sydney.name.as_str(), sydney.timezone.as_str()), ("Sydney", "Australia/Sydney"));
    assert_eq!(outlets.version.and_then(|v| v.max), Some(1690497245));

    let products: ls::Page<ls::LsProduct> = read("products_list_response.json");
    let (_, items) = ls::catalog(&products.data).unwrap();
    assert_eq!(items[0].name, "Product 0003");
    assert_eq!(items[0].variations[0].price.minor(), 263, "2.63158 rounds to the cent");
    assert_eq!(items[0].variations[0].name, "Regular");
    let bravo: ls::One<ls::LsProduct> = read("product_get_variant_response.json");
    let (categories, items) = ls::catalog(std::slice::from_ref(&bravo.data)).unwrap();
    assert_eq!(categories.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["General"]);
    assert_eq!(items[0].variations[0].name, "Black, Cotton, Cotton");
    let terms = ls::vendor_terms(std::slice::from_ref(&bravo.data)).unwrap();
    assert!(!terms.is_empty(), "the product's supplier and what it charges");
    assert_eq!(terms[0].vendor_sku.as_deref(), Some("code"), "the supplier's code for the product");

    let inventory: ls::Page<ls::LsInventory> = read("product_inventory_response.json");
    let level = inventory.data[0].to_domain(5).unwrap();
    assert_eq!(
        (level.location_id.as_str(), level.on_hand),
        ("b8ca3a65-0183-11e4-fbb5-2816d2677218", Quantity::from_units(21))
    );
    let negative: ls::Page<ls::LsInventory> = read("inventory_list_response.json");
    assert_eq!(negative.data[2].to_domain(5).unwrap().on_hand, Quantity::from_units(-10));

    let sale: ls::One<ls::LsSale> = read("sale_get_response.json");
    let returned: ls::One<ls::LsSale> = read("sale_return_response.json");
    let names = std::collections::HashMap::new();
    let sales = [sale.data, returned.data];
    let orders = ls::orders(&sales, &names).unwrap();
    assert_eq!(orders.len(), 1, "the return is not an order of its own");
    let order = &orders[0];
    assert_eq!((order.number.as_str(), order.state), ("1036", tillpilot::domain::OrderState::Completed));
    assert_eq!(order.total.minor(), 23_150, "201.50 plus 30.00 tax");
    assert_eq!(order.refunded.minor(), 23_000, "the return gave back 200.00 plus 30.00 tax");
    assert_eq!(order.lines.len(), 2);
    let payments = sales[0].payments(order.refunded).unwrap();
    assert_eq!(payments[0].tender, tillpilot::domain::Tender::Cash);

    let customers: ls::Page<ls::LsCustomer> = read("customers_list_response.json");
    let tony = customers.data[0].to_domain();
    assert_eq!((tony.given_name.as_str(), tony.email.as_deref()), ("Anthony", Some("tony@stark.com")));
    assert_eq!(tony.phone, None, "'+001 555 12345678' is not a number we can text");
    let suppliers: ls::Page<ls::LsSupplier> = read("suppliers_list_response.json");
    assert_eq!(suppliers.data[1].to_domain().name, "Peak");
    let token: ls::TokenAnswer = read("token_refresh_response.json");
    assert_eq!((token.expires_in, token.refresh_token.as_deref()), (Some(604800), Some("new_refresh_token")));
}
