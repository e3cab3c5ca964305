//! Approved purchase orders recorded in QuickBooks Online, on SQLite and PostgreSQL: one
//! QuickBooks purchase order per PO, with its number as DocNumber, the vendor found or created,
//! each line's item created with the expense account (or given one), and no second order when
//! the first attempt's answer never came back although QuickBooks had committed it. The
//! rotated refresh token is kept in the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "fakes/quickbooks.rs"]
mod fake_quickbooks;

use std::sync::Arc;
use std::time::Duration;
use tillpilot::app::App;
use tillpilot::channels::ChannelKind;
use tillpilot::config::{QuickBooksConfig, Secret};
use tillpilot::workflows::reorder;

fn quickbooks_config(url: &str) -> QuickBooksConfig {
    QuickBooksConfig {
        realm_id: fake_quickbooks::REALM.into(),
        client_id: fake_quickbooks::CLIENT_ID.into(),
        client_secret: Secret::new(fake_quickbooks::CLIENT_SECRET),
        refresh_token: Some(Secret::new(fake_quickbooks::REFRESH)),
        base_url: Some(url.into()),
        token_url: Some(format!("{url}/oauth2/v1/tokens/bearer")),
        expense_account: "Cost of Goods Sold".into(),
        ap_account: None,
    }
}

async fn make_due(app: &App) {
    sqlx::query("UPDATE outbox SET next_attempt_at_ms = 0 WHERE state = 'pending'")
        .execute(app.store.pool())
        .await
        .unwrap();
}

async fn send(app: &App) {
    let mut pacing = tillpilot::jobs::outbox_worker::Pacing::default();
    tillpilot::jobs::outbox_worker::send_due(app, "w1", &mut pacing).await.unwrap();
}

#[tokio::test]
async fn an_approved_po_becomes_one_quickbooks_purchase_order_even_when_the_answer_is_lost() {
    tillpilot::telemetry::install_crypto();
    for db in common::databases().await {
        let label = db.label;
        let shop = common::shop();
        let (fake, url) = fake_quickbooks::start(None).await;
        let mut config = common::config(&db);
        config.quickbooks = Some(quickbooks_config(&url));
        let pos = Arc::new(tillpilot::pos::sim::SimPos::new(shop.clone()));
        let mut app = App::start_with_clock(config, Some(pos.clone()), common::clock()).await.unwrap();
        // A client that gives up after a second and leaves retrying to the outbox.
        let client = tillpilot::accounting::quickbooks::client::QuickBooksClient::new(
            &quickbooks_config(&url),
            app.store.clone(),
            common::clock(),
            Duration::from_secs(1),
            tillpilot::retry::RetryPolicy { max_attempts: 1, ..Default::default() },
        )
        .unwrap();
        app.accounting =
            Some(Arc::new(tillpilot::accounting::quickbooks::QuickBooks::new(client, &quickbooks_config(&url))));
        tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, common::now_ms(), 35, |_, _| {}).await.unwrap();
        let mut plan = reorder::plan(&app, common::today()).await.unwrap();
        plan.drafts.truncate(1);
        let report = reorder::run(&app, &mut plan, "scheduler").await.unwrap();
        let (id, approval) = report.approvals[0].clone();
        // An item QuickBooks already has under the same name, without an expense account.
        let po = app.store.purchase_order(&id).await.unwrap().unwrap();
        fake.items
            .lock()
            .unwrap()
            .push(serde_json::json!({ "Id": "7", "Name": po.lines[0].name, "Type": "NonInventory", "SyncToken": "2" }));
        let maria = app.directory.resolve_terminal("Maria");
        tillpilot::workflows::approvals::decide(&app, &approval, true, &maria, ChannelKind::Terminal).await.unwrap();

        // QuickBooks commits the order but its answer comes too late: the attempt fails...
        *fake.stall_next_po.lock().unwrap() = Some(Duration::from_secs(5));
        send(&app).await;
        assert_eq!(fake.purchase_orders.lock().unwrap().len(), 1, "{label}: committed in QuickBooks");
        assert_eq!(app.store.purchase_order(&id).await.unwrap().unwrap().accounting_id, None, "{label}");

        // ...and the retry finds it by its number instead of making a second.
        make_due(&app).await;
        send(&app).await;
        let orders = fake.purchase_orders.lock().unwrap().clone();
        assert_eq!(orders.len(), 1, "{label}: one QuickBooks purchase order");
        let order = &orders[0];
        let recorded = app.store.purchase_order(&id).await.unwrap().unwrap();
        assert_eq!(recorded.accounting_id.as_deref(), order["Id"].as_str(), "{label}: the QuickBooks id is kept");
        assert_eq!(order["DocNumber"], id.as_str());
        assert_eq!(order["APAccountRef"]["value"], fake_quickbooks::AP_ACCOUNT);
        let vendors = fake.vendors.lock().unwrap().clone();
        assert_eq!(vendors.len(), 1, "{label}: the vendor was created once");
        assert_eq!(vendors[0]["DisplayName"], po.vendor_name.as_str());
        assert_eq!(order["VendorRef"]["value"], vendors[0]["Id"]);
        let lines = order["Line"].as_array().unwrap();
        assert_eq!(lines.len(), po.lines.len(), "{label}");
        let items = fake.items.lock().unwrap().clone();
        for (line, sent) in po.lines.iter().zip(lines) {
            let detail = &sent["ItemBasedExpenseLineDetail"];
            assert_eq!(detail["Qty"], line.quantity, "{label}: {}", line.name);
            let amount = line.unit_cost.times_milli(i64::from(line.quantity) * 1000).minor() as f64 / 100.0;
            assert!((sent["Amount"].as_f64().unwrap() - amount).abs() < 0.001, "{label}: {sent}");
            let item = items.iter().find(|i| i["Id"] == detail["ItemRef"]["value"]).unwrap();
            assert_eq!(item["Name"], line.name.as_str());
            assert_eq!(item["ExpenseAccountRef"]["value"], fake_quickbooks::COGS_ACCOUNT, "{label}: {item}");
        }
        assert_eq!(items.iter().filter(|i| i["Id"] == "7").count(), 1, "{label}: the existing item was reused");
        let audit = app.store.audit_since(0).await.unwrap();
        assert_eq!(audit.iter().filter(|r| r.kind == "po.recorded_in_accounting" && r.subject == id).count(), 1);

        // Another pass changes nothing; the newest refresh token is the stored one.
        make_due(&app).await;
        send(&app).await;
        assert_eq!(fake.purchase_orders.lock().unwrap().len(), 1, "{label}");
        let stored = app.store.meta(tillpilot::accounting::quickbooks::client::REFRESH_TOKEN_KEY).await.unwrap();
        assert_eq!(stored, Some(fake.refresh.lock().unwrap().clone()), "{label}");
        for entry in &audit {
            let text = format!("{} {}", entry.detail, entry.subject);
            assert!(!text.contains("qbo-refresh") && !text.contains("qbo-access"), "{label}: a token in the audit log");
        }
    }
}

#[tokio::test]
async fn a_po_quickbooks_cannot_take_is_parked_at_once_and_stays_approved() {
    tillpilot::telemetry::install_crypto();
    let db = common::sqlite_db();
    let (fake, url) = fake_quickbooks::start(None).await;
    let mut config = common::config(&db);
    let mut quickbooks = quickbooks_config(&url);
    quickbooks.expense_account = "Purchases".into();
    config.quickbooks = Some(quickbooks);
    let pos = Arc::new(tillpilot::pos::sim::SimPos::new(common::shop()));
    let app = App::start_with_clock(config, Some(pos.clone()), common::clock()).await.unwrap();
    tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, common::now_ms(), 35, |_, _| {}).await.unwrap();
    let mut plan = reorder::plan(&app, common::today()).await.unwrap();
    plan.drafts.truncate(1);
    let report = reorder::run(&app, &mut plan, "scheduler").await.unwrap();
    let (id, approval) = report.approvals[0].clone();
    let maria = app.directory.resolve_terminal("Maria");
    tillpilot::workflows::approvals::decide(&app, &approval, true, &maria, ChannelKind::Terminal).await.unwrap();
    send(&app).await;
    assert!(fake.purchase_orders.lock().unwrap().is_empty());
    let audit = app.store.audit_since(0).await.unwrap();
    let parked = audit.iter().find(|r| r.kind == "po.accounting_parked" && r.subject == id).expect("parked at once");
    assert!(parked.detail.to_string().contains("no account named \\\"Purchases\\\""), "{}", parked.detail);
    let po = app.store.purchase_order(&id).await.unwrap().unwrap();
    assert_eq!((po.state.as_str(), po.accounting_id.as_deref()), ("approved", None));
}
