//! Purchase-order drafts a shop owner can sign, on SQLite and PostgreSQL: a shop whose mirror
//! holds only its first five weeks gets orders sized from its recent sales, with every line
//! saying how little history it had, and no reorder point beyond twice the demand it protects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tillpilot::domain::OrderState;

/// The number after `marker` in `text`, up to the first character that is not part of it.
fn number_after(text: &str, marker: &str) -> f64 {
    let at = text.find(marker).unwrap_or_else(|| panic!("no {marker:?} in {text}")) + marker.len();
    let digits: String = text[at..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    digits.trim_end_matches('.').parse().unwrap_or_else(|_| panic!("no number after {marker:?} in {text}"))
}

/// The app over `shop` (35 days mirrored) ordering from the `[[vendors]]` of `configured`.
async fn app_with_vendors(
    db: &common::TestDb,
    shop: &std::sync::Arc<tillpilot::pos::sim::SimShop>,
    configured: tillpilot::config::Config,
) -> tillpilot::app::App {
    configured.validate().unwrap();
    let mut config = common::config(db);
    config.vendors = configured.vendors;
    let pos = std::sync::Arc::new(tillpilot::pos::sim::SimPos::new(shop.clone()));
    let app = tillpilot::app::App::start_with_clock(config, Some(pos.clone()), common::clock()).await.unwrap();
    tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, common::now_ms(), 35, |_, _| {}).await.unwrap();
    app
}

#[tokio::test]
async fn five_weeks_of_history_order_from_the_recent_rate_and_say_so() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        assert!(!plan.drafts.is_empty(), "{}: no drafts", db.label);
        for po in &plan.drafts {
            for line in &po.lines {
                let why = &line.explanation;
                assert!(
                    why.starts_with("only "),
                    "{}: {} does not say its history is short: {why}",
                    db.label,
                    line.name
                );
                assert!(number_after(why, "only ") <= 35.0, "{why}");
                let daily = number_after(why, "forecast ");
                let protection = number_after(why, "lead time ") + number_after(why, "+ review ");
                let reorder_point = number_after(why, "reorder point of ");
                assert!(
                    // The line shows the forecast to 2 decimals and the reorder point to 1.
                    reorder_point <= 2.0 * (daily + 0.005) * protection + 0.05,
                    "{}: {} at {}: reorder point {reorder_point} for {daily}/day over {protection} days",
                    db.label,
                    line.name,
                    po.location_name
                );
            }
        }

        // Oat milk at Main St: the forecast is what it sold a day over the last four weeks.
        let shop = common::shop();
        let oat = shop.catalog.items.iter().find(|i| i.name == "Oat Milk 1L").unwrap().variations[0].id.clone();
        let days_ago = |ms: i64| {
            let day = chrono::TimeZone::timestamp_millis_opt(&shop.timezone, ms).unwrap().date_naive();
            (common::today() - day).num_days()
        };
        let sold: f64 = shop
            .orders
            .iter()
            .filter(|o| o.state != OrderState::Cancelled && o.location_id.as_str() == "L-MAIN")
            .filter(|o| (1..=28).contains(&days_ago(o.created_at_ms)))
            .flat_map(|o| o.lines.iter())
            .filter(|l| l.variation_id.as_ref() == Some(&oat))
            .map(|l| l.quantity.as_f64())
            .sum();
        let line = plan
            .drafts
            .iter()
            .filter(|po| po.location_id.as_str() == "L-MAIN")
            .flat_map(|po| po.lines.iter())
            .find(|l| l.variation_id == oat)
            .expect("oat milk is reordered at Main St");
        let daily = number_after(&line.explanation, "forecast ");
        assert!((daily - sold / 28.0).abs() < 0.006, "{}: forecast {daily}, sold {sold} in 28 days", db.label);
    }
}

#[tokio::test]
async fn drafts_get_short_numbers_once_and_an_approval_an_owner_can_decide_on() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let mut plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        let report = tillpilot::workflows::reorder::run(&app, &mut plan, "scheduler").await.unwrap();
        let numbers: Vec<String> = (0..plan.drafts.len()).map(|n| format!("PO-{}", 1001 + n)).collect();
        assert_eq!(report.drafted, numbers, "{}", db.label);
        assert_eq!(plan.drafts.iter().map(|po| po.id.clone()).collect::<Vec<_>>(), numbers);

        let pending = app.store.pending_approvals().await.unwrap();
        let first = &plan.drafts[0];
        let approval = pending.iter().find(|a| a.subject == first.id).expect("an approval for the first draft");
        let text = &approval.detail;
        assert!(
            text.starts_with(&format!(
                "Purchase order {} to {} for {}: {}",
                first.id, first.vendor_name, first.location_name, first.total
            )),
            "{text}"
        );
        assert!(text.contains("asked for by the nightly reorder run"), "{text}");
        let line = &first.lines[0];
        let line_total = line.unit_cost.times_milli(i64::from(line.quantity) * 1000);
        assert!(
            text.contains(&format!("\n• {} × {} at {} = {line_total} (", line.quantity, line.name, line.unit_cost)),
            "{text}"
        );
        assert!(text.contains("/day, ") && text.contains(" on hand, lead ") && text.contains("only "), "{text}");

        // The same day's run again drafts nothing new and asks for nothing twice.
        let mut again = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        let report = tillpilot::workflows::reorder::run(&app, &mut again, "scheduler").await.unwrap();
        assert!(report.drafted.is_empty(), "{}: {:?}", db.label, report.drafted);
        assert_eq!(report.already_drafted, numbers);
        assert_eq!(app.store.pending_approvals().await.unwrap().len(), pending.len());

        // Tomorrow's drafts continue the numbering.
        let mut tomorrow =
            tillpilot::workflows::reorder::plan(&app, common::today() + chrono::Duration::days(1)).await.unwrap();
        let report = tillpilot::workflows::reorder::run(&app, &mut tomorrow, "scheduler").await.unwrap();
        if let Some(next) = report.drafted.first() {
            assert_eq!(*next, format!("PO-{}", 1001 + numbers.len()), "{}", db.label);
        }
    }
}

#[tokio::test]
async fn the_owner_asks_what_to_reorder_and_gets_numbered_drafts_with_buttons() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let outcome = common::ask(&app, "Maria", "reorder dairy").await;
    assert_eq!(outcome.intent.as_deref(), Some("reorder"));
    assert!(outcome.reply.text.ends_with("for approval:"), "{}", outcome.reply.text);
    assert!(!outcome.reply.fields.is_empty());
    for field in &outcome.reply.fields {
        assert!(field.label.starts_with("PO-10"), "{}", field.label);
        assert!(field.value.contains("Dairy"), "only the dairy vendor: {}", field.value);
        assert!(
            outcome.reply.actions.iter().any(|b| b.label == format!("Approve {}", field.label)),
            "{:?}",
            outcome.reply.actions
        );
    }
    let staff = common::ask(&app, "Sam", "reorder dairy").await;
    assert!(staff.reply.actions.is_empty(), "staff cannot draft orders: {}", staff.reply.text);
}

#[tokio::test]
async fn configured_vendors_supply_their_items_on_their_own_terms() {
    for db in common::databases().await {
        let shop = common::shop();
        let (oat, sku) = shop
            .catalog
            .items
            .iter()
            .find(|i| i.name == "Oat Milk 1L")
            .map(|i| (i.variations[0].id.clone(), i.variations[0].sku.clone().unwrap()))
            .unwrap();
        let configured: tillpilot::config::Config = toml::from_str(&format!(
            r#"
            [[vendors]]
            name = "Valley Dairy"
            email = "orders@valleydairy.example"
            lead_time_days = 3
            items = [
                {{ sku = "{sku}", unit_cost = 1.99, pack_size = 6 }},
                {{ sku = "NOT-IN-THE-CATALOG", unit_cost = 5.00 }},
            ]
            "#
        ))
        .unwrap();
        let app = app_with_vendors(&db, &shop, configured).await;

        let plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        let valley: Vec<_> = plan.drafts.iter().filter(|po| po.vendor_name == "Valley Dairy").collect();
        assert!(!valley.is_empty(), "{}: no draft for the configured vendor", db.label);
        for po in &valley {
            assert_eq!(po.vendor_email.as_deref(), Some("orders@valleydairy.example"));
            for line in &po.lines {
                assert_eq!(line.variation_id, oat);
                assert_eq!(line.unit_cost, tillpilot::domain::Money::from_minor(199));
                assert_eq!(line.quantity % 6, 0, "whole packs of 6: {}", line.quantity);
                assert!(line.reason.contains("lead 3 d"), "{}", line.reason);
            }
        }
        assert!(
            plan.drafts
                .iter()
                .filter(|po| po.vendor_name != "Valley Dairy")
                .all(|po| po.lines.iter().all(|l| l.variation_id != oat)),
            "{}: oat milk is ordered from Valley Dairy only",
            db.label
        );
    }
}

#[test]
fn a_vendor_without_a_lead_time_or_with_a_free_item_is_refused() {
    for (bad, key) in [
        ("[[vendors]]\nname = \"A\"\nlead_time_days = 0", "vendors[0].lead_time_days"),
        (
            "[[vendors]]\nname = \"A\"\nlead_time_days = 2\nitems = [{ sku = \"X\", unit_cost = 0.0 }]",
            "vendors[0].items[0].unit_cost",
        ),
        (
            "[[vendors]]\nname = \"A\"\nlead_time_days = 2\n[[vendors]]\nname = \"a\"\nlead_time_days = 2",
            "vendors[1].name",
        ),
    ] {
        let config: tillpilot::config::Config = toml::from_str(bad).unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{bad}: {err}");
    }
}

/// The owner changes a draft from chat before approving it: a quantity, then a line dropped.
/// The approval request is restated (its messages re-rendered), the change audited, and what
/// the vendor gets (the email's CSV) carries the edited lines. Staff cannot change it, nor can
/// anyone once it is decided.
#[tokio::test]
async fn the_owner_edits_a_draft_in_chat_and_the_vendor_gets_the_edited_lines() {
    for db in common::databases().await {
        let label = db.label;
        let app = common::app(&db).await;
        let mut plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        plan.drafts.retain(|po| po.lines.len() >= 3);
        plan.drafts.truncate(1);
        let report = tillpilot::workflows::reorder::run(&app, &mut plan, "scheduler").await.unwrap();
        let (id, approval) = report.approvals[0].clone();
        let po = app.store.purchase_order(&id).await.unwrap().unwrap();
        let (first, second) = (po.lines[0].clone(), po.lines[1].clone());
        let new_quantity = first.quantity + 7;

        let staff = common::ask(&app, "Sam", &format!("{id} {} {new_quantity}", first.name.to_lowercase())).await;
        assert!(staff.reply.text.starts_with("Sorry"), "{label}: {}", staff.reply.text);

        let changed = common::ask(&app, "Maria", &format!("{id} {} {new_quantity}", first.name.to_lowercase())).await;
        assert_eq!(changed.intent.as_deref(), Some("po"), "{label}");
        let text = &changed.reply.text;
        assert!(
            text.starts_with(&format!("{id}: {} {} → {new_quantity}. New total ", first.name, first.quantity)),
            "{label}: {text}"
        );
        assert!(changed.reply.actions.iter().any(|b| b.label == format!("Approve {id}")), "{label}");
        let edited = app.store.purchase_order(&id).await.unwrap().unwrap();
        assert_eq!(edited.lines[0].quantity, new_quantity);
        let line_total =
            |l: &tillpilot::store::purchase_orders::PoLine| l.unit_cost.times_milli(i64::from(l.quantity) * 1000);
        let sum = edited.lines.iter().map(line_total).fold(tillpilot::domain::Money::ZERO, |a, b| a + b);
        assert_eq!(edited.total, sum, "{label}: the total follows the lines");
        let request = app.store.approval(&approval).await.unwrap().unwrap();
        assert!(
            request.detail.contains(&format!("• {new_quantity} × {} at", first.name)),
            "{label}: {}",
            request.detail
        );

        let dropped = common::ask(&app, "Maria", &format!("drop {} from {id}", second.name.to_lowercase())).await;
        assert!(
            dropped.reply.text.starts_with(&format!("{id}: {} dropped.", second.name)),
            "{label}: {}",
            dropped.reply.text
        );
        let edited = app.store.purchase_order(&id).await.unwrap().unwrap();
        assert_eq!(edited.lines.len(), po.lines.len() - 1);
        assert!(edited.lines.iter().all(|l| l.variation_id != second.variation_id));
        let audit = app.store.audit_since(0).await.unwrap();
        assert_eq!(audit.iter().filter(|r| r.kind == "po.edited" && r.subject == id).count(), 2, "{label}");

        let unknown = common::ask(&app, "Maria", &format!("{id} unicorn food 3")).await;
        assert!(unknown.reply.text.contains("has no line for \"unicorn food\""), "{label}: {}", unknown.reply.text);

        // Approved, it goes as edited; after that it cannot change.
        let maria = app.directory.resolve_terminal("Maria");
        tillpilot::workflows::approvals::decide(
            &app,
            &approval,
            true,
            &maria,
            tillpilot::channels::ChannelKind::Terminal,
        )
        .await
        .unwrap();
        let sent = app.store.purchase_order(&id).await.unwrap().unwrap();
        let csv = tillpilot::workflows::purchase_email::csv(&sent).unwrap();
        assert!(csv.contains(&format!(",{new_quantity},")), "{label}: {csv}");
        assert!(!csv.contains(&second.name), "{label}: {csv}");
        let late = common::ask(&app, "Maria", &format!("{id} {} 5", first.name.to_lowercase())).await;
        assert!(late.reply.text.contains("can no longer be changed"), "{label}: {}", late.reply.text);
        assert_eq!(app.store.purchase_order(&id).await.unwrap().unwrap().lines[0].quantity, new_quantity);

        // The delivery comes one line short; the owner books it in from chat.
        let short = new_quantity - 2;
        let got =
            common::ask(&app, "Maria", &format!("{id} arrived but only {short} {}", first.name.to_lowercase())).await;
        assert_eq!(
            got.reply.text,
            format!(
                "{id} from {} received: {short} of {new_quantity} × {}, the other lines as ordered.",
                po.vendor_name, first.name
            ),
            "{label}"
        );
        let booked = app.store.purchase_order(&id).await.unwrap().unwrap();
        assert_eq!(booked.state, "received");
        assert_eq!(booked.lines[0].received, Some(tillpilot::domain::Quantity::from_units(i64::from(short))));
        assert!(
            booked.lines[1..]
                .iter()
                .all(|l| l.received == Some(tillpilot::domain::Quantity::from_units(i64::from(l.quantity))))
        );
        let again = common::ask(&app, "Maria", &format!("{id} received")).await;
        assert!(again.reply.text.contains("nothing to receive"), "{label}: {}", again.reply.text);
    }
}

/// A Clover or Shopify shop: the POS keeps no vendor records, so the configuration names
/// them. Drafts come from the configured vendor alone, and a price tier that makes a larger
/// order cheaper in all raises the quantity, with the line saying so.
#[tokio::test]
async fn a_shop_whose_pos_keeps_no_vendors_orders_from_configured_ones_at_their_price_tiers() {
    for db in common::databases().await {
        let label = db.label;
        let shop = common::shop_without_vendors();
        let sku = |name: &str| {
            shop.catalog.items.iter().find(|i| i.name == name).and_then(|i| i.variations[0].sku.clone()).unwrap()
        };
        let configured: tillpilot::config::Config = toml::from_str(&format!(
            r#"
            [[vendors]]
            name = "Valley Dairy"
            email = "orders@valleydairy.example"
            lead_time_days = 2
            items = [
                {{ sku = "{oat}", unit_cost = 1.99, pack_size = 6, tiers = [{{ from = 500, unit_cost = 0.50 }}] }},
                {{ sku = "{whole}", unit_cost = 1.45, pack_size = 12 }},
            ]
            "#,
            oat = sku("Oat Milk 1L"),
            whole = sku("Whole Milk 1L"),
        ))
        .unwrap();
        let app = app_with_vendors(&db, &shop, configured).await;

        let plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        assert!(!plan.drafts.is_empty(), "{label}: drafts from the configured vendor");
        assert!(plan.drafts.iter().all(|po| po.vendor_name == "Valley Dairy"), "{label}: no other vendor exists");
        let oat: Vec<_> =
            plan.drafts.iter().flat_map(|po| po.lines.iter()).filter(|l| l.name == "Oat Milk 1L").collect();
        assert!(!oat.is_empty(), "{label}");
        for line in &oat {
            let at_tier = line.quantity >= 500;
            assert_eq!(line.unit_cost.minor(), if at_tier { 50 } else { 199 }, "{label}: {}", line.explanation);
            assert_eq!(line.explanation.contains("at the 500-unit price of $0.50"), at_tier, "{}", line.explanation);
        }
        let raised = oat.iter().find(|l| l.explanation.contains(" rather than ")).expect("a tier raised an order");
        assert_eq!(raised.quantity, 504, "{label}: 500 rounded up to packs of 6");
        assert!(raised.explanation.contains("they cost $252.00, less than $"), "{}", raised.explanation);
    }

    // A tier must be cheaper than the price below it, from a larger quantity.
    let bad = "[[vendors]]\nname = \"A\"\nlead_time_days = 2\nitems = [{ sku = \"X\", unit_cost = 2.0, tiers = [{ from = 10, unit_cost = 2.5 }] }]";
    let config: tillpilot::config::Config = toml::from_str(bad).unwrap();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("vendors[0].items[0].tiers[0]"), "{err}");
}

/// The demo's stock on its way is two purchase orders already with their vendors: they read
/// back whole (vendor, location, named lines), so the nightly run's receipt check and `po`
/// work on them like on any other.
#[tokio::test]
async fn the_demo_stock_on_its_way_reads_back_as_whole_purchase_orders() {
    let dir = tempfile::tempdir().unwrap();
    let app = tillpilot::demo::open(tillpilot::config::Config::default(), dir.path(), None, |_, _| {}).await.unwrap();
    let sent = app.store.purchase_orders_in("sent").await.unwrap();
    let ids: Vec<&str> = sent.iter().map(|po| po.id.as_str()).collect();
    assert_eq!(ids, ["PO-DEMO-1", "PO-DEMO-2"]);
    assert_eq!(sent[0].location_name, "Main St");
    assert!(
        !sent[0].vendor_name.is_empty() && sent[0].vendor_name != sent[0].vendor_id.as_str(),
        "{}",
        sent[0].vendor_name
    );
    assert!(sent[0].lines.iter().any(|l| l.name == "Oat Milk 1L" && l.quantity == 48), "{:?}", sent[0].lines);
    tillpilot::workflows::reorder::check_received(&app).await.unwrap();
}

/// A PO sent more than its vendor's lead time ago with nothing booked in: the owner channels
/// hear it once, with how to book it in; one still within its lead time stays quiet.
#[tokio::test]
async fn a_delivery_past_its_lead_time_is_reported_once() {
    for db in common::databases().await {
        let label = db.label;
        let mut config = common::config(&db);
        config.slack = Some(tillpilot::config::SlackConfig {
            bot_token: tillpilot::config::Secret::new("xoxb-test"),
            signing_secret: tillpilot::config::Secret::new("slack-signing-secret"),
            api_base_url: "http://127.0.0.1:9/api".into(),
            owner_channel: Some("C0OWNER".into()),
            app_token: None,
        });
        let pos = std::sync::Arc::new(tillpilot::pos::sim::SimPos::new(common::shop()));
        let app = tillpilot::app::App::start_with_clock(config, Some(pos.clone()), common::clock()).await.unwrap();
        tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, common::now_ms(), 35, |_, _| {}).await.unwrap();
        let mut plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        plan.drafts.truncate(2);
        tillpilot::workflows::reorder::run(&app, &mut plan, "scheduler").await.unwrap();
        let day = 86_400_000;
        let (late, on_time) = (&plan.drafts[0], &plan.drafts[1]);
        for (po, sent) in [(late, common::now_ms() - 6 * day), (on_time, common::now_ms() - 3_600_000)] {
            app.store.move_po(&po.id, &["draft"], "approved", "Maria", sent).await.unwrap();
            app.store.move_po(&po.id, &["approved"], "sent", "tillpilot", sent).await.unwrap();
        }
        assert_eq!(tillpilot::workflows::reorder::alert_late(&app).await.unwrap(), vec![late.id.clone()], "{label}");
        assert!(tillpilot::workflows::reorder::alert_late(&app).await.unwrap().is_empty(), "{label}: once");
        let told: Vec<(String,)> = sqlx::query_as("SELECT payload FROM outbox WHERE target = 'C0OWNER'")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
        let alerts: Vec<&String> = told.iter().map(|(p,)| p).filter(|p| p.contains("has not been booked in")).collect();
        assert_eq!(alerts.len(), 1, "{label}: {alerts:?}");
        assert!(alerts[0].contains(&format!("{} to {}", late.id, late.vendor_name)), "{label}: {}", alerts[0]);
        assert!(alerts[0].contains(&format!("reply \\\"{} received\\\"", late.id)), "{label}: {}", alerts[0]);
    }
}

/// `po pending`, `po approved` and `po sent` in chat: the purchase orders in each state with
/// their vendor, location and total, and a sent one with when it was due; staff get no list.
#[tokio::test]
async fn the_owner_lists_purchase_orders_by_state() {
    for db in common::databases().await {
        let label = db.label;
        let app = common::app(&db).await;
        let empty = common::ask(&app, "Maria", "po pending").await;
        assert_eq!(empty.reply.text, "No purchase orders are waiting for approval.", "{label}");
        let drafted = common::ask(&app, "Maria", "reorder").await;
        let drafts: Vec<String> = drafted.reply.fields.iter().map(|f| f.label.clone()).collect();
        assert!(drafts.len() >= 2, "{label}: {}", drafted.reply.text);

        let pending = common::ask(&app, "Maria", "which purchase orders are waiting for approval?").await;
        assert_eq!(pending.intent.as_deref(), Some("po"), "{label}");
        assert!(pending.reply.text.starts_with(&format!("{} purchase orders waiting for approval, $", drafts.len())));
        let listed: Vec<&str> =
            pending.reply.fields.iter().map(|f| f.label.as_str()).filter(|l| l.starts_with("PO-")).collect();
        assert_eq!(listed, drafts.iter().map(String::as_str).collect::<Vec<_>>(), "{label}");
        let hint = pending.reply.fields.iter().find(|f| f.label == "To change one").map(|f| f.value.clone());
        let hint = hint.unwrap_or_default();
        assert!(hint.starts_with(&format!("\"{} ", drafts[0])) && hint.contains(" 24\""), "{label}: {hint}");

        let day = 86_400_000;
        let (late, fresh) = (&drafts[0], &drafts[1]);
        for (po, sent) in [(late, common::now_ms() - 9 * day), (fresh, common::now_ms())] {
            app.store.move_po(po, &["draft"], "approved", "Maria", sent).await.unwrap();
            app.store.move_po(po, &["approved"], "sent", "tillpilot", sent).await.unwrap();
        }
        let sent = common::ask(&app, "Maria", "po sent").await;
        assert!(
            sent.reply.text.starts_with("2 purchase orders sent, not yet booked in"),
            "{label}: {}",
            sent.reply.text
        );
        let line = |id: &str| sent.reply.fields.iter().find(|f| f.label == id).map(|f| f.value.clone()).unwrap();
        assert!(line(late).contains("; sent Tue Nov 17, was due "), "{label}: {}", line(late));
        assert!(line(fresh).contains("; sent Thu Nov 26, due "), "{label}: {}", line(fresh));
        let approved = common::ask(&app, "Maria", "po approved").await;
        assert_eq!(approved.reply.text, "No purchase orders are approved, not yet sent.", "{label}");

        let staff = common::ask(&app, "Sam", "po sent").await;
        assert!(staff.reply.fields.is_empty(), "{label}: staff see no purchase orders: {}", staff.reply.text);
    }
}

/// A vendor's order days, budget and own item codes, from the configuration: on a day it takes
/// orders its drafts cover demand until its next order day and stay within its budget, the
/// approval shows whose budget it is, and its codes are on the lines the vendor gets; a vendor
/// that does not take orders today gets nothing drafted, and the plan says when it will.
#[tokio::test]
async fn a_vendors_order_days_budget_and_codes_shape_its_drafts() {
    for db in common::databases().await {
        let label = db.label;
        let shop = common::shop_without_vendors();
        let sku = |name: &str| {
            shop.catalog.items.iter().find(|i| i.name == name).and_then(|i| i.variations[0].sku.clone()).unwrap()
        };
        assert_eq!(chrono::Datelike::weekday(&common::today()), chrono::Weekday::Thu);
        let configured: tillpilot::config::Config = toml::from_str(&format!(
            r#"
            [[vendors]]
            name = "Valley Dairy"
            email = "orders@valleydairy.example"
            lead_time_days = 2
            order_days = ["mon", "thu"]
            budget = 60.0
            items = [
                {{ sku = "{oat}", vendor_sku = "VD-0112", unit_cost = 1.99, pack_size = 6 }},
                {{ sku = "{whole}", unit_cost = 1.45, pack_size = 12 }},
            ]

            [[vendors]]
            name = "Rise Bakery"
            lead_time_days = 1
            order_days = ["mon"]
            items = [{{ sku = "{bread}", unit_cost = 2.10 }}]
            "#,
            oat = sku("Oat Milk 1L"),
            whole = sku("Whole Milk 1L"),
            bread = sku("Sourdough Loaf"),
        ))
        .unwrap();
        let app = app_with_vendors(&db, &shop, configured).await;

        let plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        assert!(!plan.drafts.is_empty(), "{label}: Valley Dairy takes orders on Thursdays");
        assert!(plan.drafts.iter().all(|po| po.vendor_name == "Valley Dairy"), "{label}: nothing from the bakery");
        assert!(
            plan.held.iter().any(|h| h == "Rise Bakery takes orders on Mon; next Mon Nov 30: nothing drafted today"),
            "{label}: {:?}",
            plan.held
        );
        for po in &plan.drafts {
            assert!(po.total.minor() <= 6000, "{label}: {} is within the $60 budget", po.total);
            let text = tillpilot::workflows::reorder::approval_text(po, "the nightly reorder run");
            assert!(text.contains(&format!("{} of Valley Dairy's $60.00 budget", po.total)), "{label}: {text}");
            for line in &po.lines {
                assert!(
                    line.explanation.contains("lead time 2 days + review 4 days"),
                    "{label}: Thursday to Monday: {}",
                    line.explanation
                );
            }
        }
        let oat = plan.drafts.iter().flat_map(|po| po.lines.iter()).find(|l| l.name == "Oat Milk 1L").unwrap();
        assert_eq!(oat.vendor_sku.as_deref(), Some("VD-0112"), "{label}");
        let po = plan.drafts.iter().find(|po| po.lines.iter().any(|l| l.name == "Oat Milk 1L")).unwrap();
        let csv = tillpilot::workflows::purchase_email::csv(po).unwrap();
        assert!(csv.contains(",VD-0112,Oat Milk 1L,"), "{label}: {csv}");
        assert!(tillpilot::workflows::purchase_email::body(po, "Corner Shop").contains("(your code VD-0112)"));
        let cut: Vec<_> =
            plan.drafts.iter().flat_map(|po| &po.lines).filter(|l| l.explanation.contains("budget")).collect();
        assert!(
            cut.iter().all(|l| l.explanation.contains("to stay within Valley Dairy's $60.00 budget")),
            "{label}: {cut:?}"
        );
    }

    let bad = "[[vendors]]\nname = \"A\"\nlead_time_days = 2\norder_days = [\"someday\"]";
    let config: tillpilot::config::Config = toml::from_str(bad).unwrap();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("vendors[0].order_days") && err.contains("\"someday\""), "{err}");
}

/// Deliveries that take longer than the vendor quotes move its lead time: the next drafts say
/// so and plan for it, and the late alert waits for it.
#[tokio::test]
async fn observed_deliveries_correct_a_vendors_lead_time() {
    for db in common::databases().await {
        let label = db.label;
        let app = common::app(&db).await;
        let day = 86_400_000;
        let first = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        let po = first.drafts.first().expect("a draft").clone();
        let vendor = po.vendor_name.clone();
        let quoted = number_after(&po.lines[0].explanation, "lead time ") as i64;
        let mut plan = tillpilot::workflows::reorder::Plan { drafts: vec![po], held: Vec::new() };
        tillpilot::workflows::reorder::run(&app, &mut plan, "scheduler").await.unwrap();
        // Three earlier deliveries of this vendor's, each 6 days late.
        for n in 0..3 {
            let mut earlier = plan.drafts[0].clone();
            earlier.id = format!("PO-90{n}");
            earlier.draft_key = format!("old-{n}");
            let sent = common::now_ms() - (40 - 10 * n) * day;
            let mut tx = app.store.begin().await.unwrap();
            app.store.record_sent_po(&mut tx, &earlier, "Maria", sent).await.unwrap();
            tx.commit().await.unwrap();
            let received = vec![tillpilot::domain::Quantity::from_units(1); earlier.lines.len()];
            let booked = app.store.receive_po(&earlier.id, &received, "Maria", sent + (quoted + 6) * day).await;
            assert!(booked.unwrap(), "{label}");
        }
        let again =
            tillpilot::workflows::reorder::plan(&app, common::today() + chrono::Duration::days(1)).await.unwrap();
        let line = again
            .drafts
            .iter()
            .filter(|d| d.vendor_name == vendor)
            .flat_map(|d| d.lines.iter())
            .next()
            .expect("the vendor again");
        // (2 × quoted + 3 × (quoted + 6)) / 5 = quoted + 3.6, rounded.
        let expected = quoted + 4;
        assert!(
            line.reason
                .contains(&format!("lead {expected} d (quoted {quoted} d; 3 deliveries averaged {}.0 d)", quoted + 6)),
            "{label}: {}",
            line.reason
        );
        assert!(line.explanation.contains(&format!("lead time {expected} days")), "{label}: {}", line.explanation);
    }
}
