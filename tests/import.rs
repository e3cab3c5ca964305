//! `import sales` on both backends: columns in any order, both timestamp forms, quoting; new
//! items, categories and locations created; bad rows reported by line with nothing written (or
//! skipped on request); a second import adds nothing. Then the CLI path: import a year of
//! history from a CSV and read the backtest as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use tillpilot::jobs::import::{ImportError, import_sales};

const CSV: &str = "\
quantity,unit_price,sku,timestamp,order_id,location,item_name,category,discount,customer_id
2,4.50,NEW-CIDER-1,2026-03-01T10:15:00-06:00,A-1,Harbor Kiosk,\"Cider, Dry 330ml\",Drinks,0.50,C-9
1,4.50,NEW-CIDER-1,2026-03-01 10:20:00,A-2,Harbor Kiosk,\"Cider, Dry 330ml\",Drinks,,
3,2.25,NEW-BUN-2,2026-03-01 10:20:00,A-2,Harbor Kiosk,Cinnamon Bun,Bakery,,
";

async fn count(app: &tillpilot::app::App, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(app.store.pool()).await.unwrap();
    n
}

#[tokio::test]
async fn sales_are_imported_once_with_new_items_and_locations() {
    for db in common::databases().await {
        let app = common::app(&db).await;
        let orders_before = count(&app, "SELECT COUNT(*) FROM orders").await;
        let report = import_sales(&app, CSV.as_bytes(), false).await.unwrap();
        assert_eq!(
            (report.rows, report.orders_added, report.items_created, report.locations_created),
            (3, 2, 2, 1),
            "{}",
            db.label
        );
        assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, orders_before + 2);
        let (total, discount, location): (i64, i64, String) =
            sqlx::query_as("SELECT total_cents, discount_cents, location_id FROM orders WHERE id = 'import:A-1'")
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!((total, discount), (850, 50), "2 × 4.50 − 0.50");
        assert_eq!(location, "loc-harbor-kiosk");
        let (name, category): (String, String) = sqlx::query_as(
            "SELECT i.name, c.name FROM catalog_items i JOIN categories c ON c.id = i.category_id WHERE i.id = 'sku-new-cider-1'",
        )
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert_eq!((name.as_str(), category.as_str()), ("Cider, Dry 330ml", "Drinks"));
        // The local-time row is 10:20 in the shop's time zone.
        let (at,): (i64,) = sqlx::query_as("SELECT created_at_ms FROM orders WHERE id = 'import:A-2'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
        let local = chrono::DateTime::from_timestamp_millis(at).unwrap().with_timezone(&app.timezone);
        assert_eq!(local.format("%Y-%m-%d %H:%M").to_string(), "2026-03-01 10:20");

        let again = import_sales(&app, CSV.as_bytes(), false).await.unwrap();
        assert_eq!((again.orders_added, again.orders_already_imported, again.items_created), (0, 2, 0));
        assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, orders_before + 2, "a second import adds nothing");
        assert!(app.store.audit_since(0).await.unwrap().iter().any(|r| r.kind == "import.sales"));
    }
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_nothing_is_written_unless_skipped() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let csv = "\
timestamp,order_id,location,sku,item_name,category,quantity,unit_price
2026-03-01 10:00:00,B-1,Main St,X1,Thing,Misc,1,2.00
yesterday,B-2,Main St,X1,Thing,Misc,1,2.00
2026-03-01 11:00:00,B-3,Main St,X1,Thing,Misc,lots,2.00
2026-03-01 12:00:00,B-4,Main St,,Thing,Misc,1,2.00
2026-03-01 13:00:00,B-5,Main St,X1,Thing,Misc,1,-2.00
";
    let before = count(&app, "SELECT COUNT(*) FROM orders").await;
    let Err(ImportError::BadRows(bad)) = import_sales(&app, csv.as_bytes(), false).await else {
        panic!("expected bad rows")
    };
    assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), [3, 4, 5, 6]);
    assert!(bad[0].reason.contains("timestamp \"yesterday\""), "{}", bad[0].reason);
    assert!(bad[1].reason.contains("quantity"));
    assert!(bad[2].reason.contains("sku is empty"));
    assert!(bad[3].reason.contains("negative"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM orders").await, before, "nothing written");

    let report = import_sales(&app, csv.as_bytes(), true).await.unwrap();
    assert_eq!((report.orders_added, report.skipped.len()), (1, 4));
    let (location,): (String,) = sqlx::query_as("SELECT location_id FROM orders WHERE id = 'import:B-1'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(location, "L-MAIN", "a known location by name");

    let Err(ImportError::MissingColumns(missing)) = import_sales(&app, "timestamp,sku\n".as_bytes(), false).await
    else {
        panic!("expected missing columns")
    };
    assert!(missing.contains(&"order_id".to_owned()) && missing.contains(&"unit_price".to_owned()));
}

#[test]
fn a_year_imported_from_csv_is_backtested_from_the_cli() {
    let shop = common::shop();
    let dir = tempfile::tempdir().unwrap();
    let sku_of: std::collections::HashMap<_, _> = shop
        .catalog
        .items
        .iter()
        .flat_map(|i| {
            i.variations.iter().map(move |v| (v.id.clone(), (v.sku.clone().unwrap_or_default(), i.name.clone())))
        })
        .collect();
    let mut csv = String::from("timestamp,order_id,location,sku,item_name,category,quantity,unit_price\n");
    // Ten months of one location's sales for 25 items, ending five weeks back, as a shop
    // importing its till's export would (imported orders are keyed apart from the mirror's).
    let end = shop.orders.last().unwrap().created_at_ms - 36 * 86_400_000;
    let start = end - 300 * 86_400_000;
    let wanted: Vec<_> =
        shop.catalog.items.iter().take(25).flat_map(|i| i.variations.iter().map(|v| v.id.clone())).collect();
    for order in shop
        .orders
        .iter()
        .filter(|o| o.created_at_ms >= start && o.created_at_ms < end && o.location_id.as_str() == "L-RIVER")
    {
        for line in order.lines.iter().filter(|l| l.variation_id.as_ref().is_some_and(|v| wanted.contains(v))) {
            let (sku, name) = &sku_of[line.variation_id.as_ref().unwrap()];
            let at = chrono::DateTime::from_timestamp_millis(order.created_at_ms).unwrap().to_rfc3339();
            let price = line.unit_price.minor();
            csv.push_str(&format!(
                "{at},{},Riverside,{sku},{name},,{},{}.{:02}\n",
                order.id,
                line.quantity,
                price / 100,
                price % 100
            ));
        }
    }
    std::fs::write(dir.path().join("history.csv"), csv).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tillpilot")).current_dir(dir.path()).args(args).output().unwrap()
    };
    let out = run(&["--demo", "import", "sales", "history.csv"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Imported "), "{}", String::from_utf8_lossy(&out.stdout));
    let out = run(&["--demo", "backtest", "--json", "--horizon", "28"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["horizon"], 28);
    assert!(report["series"].as_u64().unwrap() >= 10, "{report}");
    for method in ["seasonal_naive", "ses", "seasonal_es", "croston", "sba", "tsb", "adida"] {
        let scores = &report["methods"][method];
        assert!(scores["rmsse"].is_f64() && scores["mase"].is_f64() && scores["bias"].is_f64(), "{method}: {report}");
    }
    assert!(
        report["chosen"]["rmsse"].as_f64().unwrap() < report["methods"]["seasonal_naive"]["rmsse"].as_f64().unwrap()
    );
    let bad = run(&["--demo", "backtest", "--horizon", "0"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `import vendors` on both backends: a spreadsheet of vendors for a POS that keeps none. The
/// reorder run orders from them at their terms (price tiers included); a file with a bad row
/// is refused by line with nothing kept; a second import replaces the first.
#[tokio::test]
async fn vendors_are_imported_from_a_spreadsheet_and_reordered_from() {
    use tillpilot::jobs::import_vendors::import_vendors;
    for db in common::databases().await {
        let label = db.label;
        let shop = common::shop_without_vendors();
        let sku = |name: &str| {
            shop.catalog.items.iter().find(|i| i.name == name).and_then(|i| i.variations[0].sku.clone()).unwrap()
        };
        let pos = std::sync::Arc::new(tillpilot::pos::sim::SimPos::new(shop.clone()));
        let app = tillpilot::app::App::start_with_clock(common::config(&db), Some(pos.clone()), common::clock())
            .await
            .unwrap();
        tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, common::now_ms(), 35, |_, _| {}).await.unwrap();
        assert!(tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap().drafts.is_empty(), "{label}");

        let bad = format!(
            "vendor,sku,unit_cost,lead_time_days\nValley Dairy,{},1.99,2\nValley Dairy,{},abc,\nBakehouse,BREAD-1,2.10,\n",
            sku("Oat Milk 1L"),
            sku("Whole Milk 1L")
        );
        match import_vendors(&app, bad.as_bytes()).await {
            Err(ImportError::BadRows(rows)) => {
                let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
                assert_eq!(lines, [3, 4], "{label}: {rows:?}");
                assert!(rows[0].reason.contains("unit_cost"), "{rows:?}");
                assert!(rows[1].reason.contains("lead time"), "{rows:?}");
            }
            other => panic!("{label}: {other:?}"),
        }
        let kept = app.store.meta(tillpilot::workflows::vendors::IMPORTED_KEY).await.unwrap();
        assert_eq!(kept, None, "{label}: nothing kept from a bad file");

        let good = format!(
            "Vendor,Email,Lead_Time_Days,Minimum_Order,Order_Days,Budget,SKU,Vendor_SKU,Unit_Cost,Pack_Size,Tiers\n\
             Valley Dairy,orders@valleydairy.example,2,50,mon thu,900,{},VD-0112,1.99,6,500:0.50\n\
             Valley Dairy,,,,,,{},,1.45,12,\n\
             Valley Dairy,,,,,,NOT-IN-THE-CATALOG,,3.00,1,\n",
            sku("Oat Milk 1L"),
            sku("Whole Milk 1L")
        );
        let report = import_vendors(&app, good.as_bytes()).await.unwrap();
        assert_eq!((report.vendors, report.items), (1, 3), "{label}");
        assert_eq!(report.unknown_skus, [("Valley Dairy".to_owned(), "NOT-IN-THE-CATALOG".to_owned())]);
        let plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        assert!(!plan.drafts.is_empty(), "{label}: drafts from the imported vendor, who takes orders on Thursdays");
        for po in &plan.drafts {
            assert_eq!(po.budget.as_ref().map(|b| b.text()).as_deref(), Some("Valley Dairy's $900.00 budget"));
            assert_eq!(
                (po.vendor_name.as_str(), po.vendor_email.as_deref()),
                ("Valley Dairy", Some("orders@valleydairy.example"))
            );
            for line in &po.lines {
                assert!(line.name == "Oat Milk 1L" || line.name == "Whole Milk 1L", "{label}: {}", line.name);
                let pack = if line.name == "Oat Milk 1L" { 6 } else { 12 };
                assert_eq!(line.quantity % pack, 0, "{label}: whole packs: {line:?}");
                let code = if line.name == "Oat Milk 1L" { Some("VD-0112") } else { None };
                assert_eq!(line.vendor_sku.as_deref(), code, "{label}");
            }
        }
        let friday = tillpilot::workflows::reorder::plan(&app, common::today() + chrono::Duration::days(1)).await;
        let friday = friday.unwrap();
        assert!(friday.drafts.is_empty(), "{label}: no orders on a Friday");
        assert_eq!(friday.held, ["Valley Dairy takes orders on Mon and Thu; next Mon Nov 30: nothing drafted today"]);

        let days = "vendor,sku,unit_cost,lead_time_days,order_days\nA,X,1.00,2,mon\nA,Y,1.00,,someday\n";
        match tillpilot::jobs::import_vendors::parse(days.as_bytes()) {
            Err(ImportError::BadRows(rows)) => {
                assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [3], "{rows:?}");
                assert!(rows[0].reason.contains("\"someday\" is not a weekday"), "{rows:?}");
            }
            other => panic!("{label}: {other:?}"),
        }

        // Importing again replaces the first import.
        let other = format!("vendor,sku,unit_cost,lead_time_days\nNorth Farm,{},1.30,3\n", sku("Whole Milk 1L"));
        import_vendors(&app, other.as_bytes()).await.unwrap();
        let plan = tillpilot::workflows::reorder::plan(&app, common::today()).await.unwrap();
        assert!(plan.drafts.iter().all(|po| po.vendor_name == "North Farm"), "{label}");
    }
}
