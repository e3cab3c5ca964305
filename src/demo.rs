//! The demo: the simulated shop in a data directory of its own, created and seeded on first use
//! so `demo`, `ask --demo`, `chat --demo` and the rest all see the same shop. The seed and the
//! shop's "today" are stored with the data, so the history stays put between runs.

use crate::app::App;
use crate::config::{Config, LoyaltyRule, PosProvider, ReviewConfig};
use crate::jobs::sync;
use crate::pos::sim::{SimOptions, SimPos, SimShop, demo_team, generate};
use crate::store::purchase_orders::{PoLine, PurchaseOrder};
use crate::store::{AuditEntry, Store, Tx, now_ms};
use anyhow::Context;
use chrono::NaiveDate;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_SEED: u64 = 42;

/// Days of order history the demo mirrors at first start: the simulated shop's whole year, as
/// `sync --full` would, so `backtest` and `reorder` have a year to work with from the start.
const HISTORY_DAYS: i64 = 366;

pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("tillpilot.db")
}

/// The demo's configuration: `base` (file and environment) with the database, POS and people
/// taken over by the demo.
pub fn config(mut base: Config, data_dir: &Path, seed: u64) -> Config {
    base.database.url = format!("sqlite://{}", database_path(data_dir).display());
    base.pos.provider = PosProvider::Sim;
    base.pos.sim.seed = seed;
    base.people = demo_team();
    base.review.get_or_insert_with(|| {
        let mut review = ReviewConfig::with_token(DEMO_REVIEW_TOKEN);
        review.loyalty.push(LoyaltyRule {
            code: "LOYAL10".into(),
            percent: 10.0,
            segments: vec!["regular".into(), "vip".into()],
            min_spend: Some(40.0),
            min_visits: None,
            categories: Vec::new(),
            reason: None,
        });
        review
    });
    base
}

/// The bearer token the demo's checkout assistant accepts (the README's curl sends it).
pub const DEMO_REVIEW_TOKEN: &str = "demo-review-token-change-me";

/// Opens (creating and seeding when needed) the demo shop in `data_dir`. A `seed` different
/// from the stored one starts a new shop. `progress` hears about first-time seeding.
pub async fn open(
    base: Config,
    data_dir: &Path,
    seed: Option<u64>,
    mut progress: impl FnMut(f64, &str),
) -> anyhow::Result<App> {
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating the demo directory {}", data_dir.display()))?;
    let probe = config(Config::default(), data_dir, DEFAULT_SEED);
    let store = Store::connect(&probe.database.url).await?;
    store.migrate().await?;
    let stored_seed = store.meta("demo.seed").await?.and_then(|s| s.parse::<u64>().ok());
    let stored_today = store.meta("demo.today").await?.and_then(|s| s.parse::<NaiveDate>().ok());
    let (seed, today, fresh) = match (stored_seed, stored_today, seed) {
        (Some(stored), Some(today), wanted) if wanted.is_none_or(|w| w == stored) => (stored, today, false),
        (stored, _, wanted) => {
            if stored.is_some() {
                // A different seed: start over rather than mix two shops.
                store.close().await;
                for suffix in ["", "-wal", "-shm"] {
                    let path = PathBuf::from(format!("{}{suffix}", database_path(data_dir).display()));
                    if path.exists() {
                        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
                    }
                }
            }
            let tz = probe.timezone();
            (wanted.unwrap_or(DEFAULT_SEED), chrono::Utc::now().with_timezone(&tz).date_naive(), true)
        }
    };
    store.close().await;
    let config = config(base, data_dir, seed);
    let shop = generate(&SimOptions { timezone: config.timezone(), ..SimOptions::new(seed, today) });
    let pos = Arc::new(SimPos::new(Arc::new(shop)));
    let app = App::start(config, Some(pos.clone())).await?;
    if fresh {
        sync::pull(pos.as_ref(), &app.store, app.clock.now_ms(), HISTORY_DAYS, &mut progress).await?;
        let mut tx = app.store.begin().await?;
        seed_purchase_orders(&app.store, pos.shop(), &mut tx).await?;
        app.store.set_meta(&mut tx, "demo.seed", &seed.to_string()).await?;
        app.store.set_meta(&mut tx, "demo.today", &today.to_string()).await?;
        app.store
            .audit(
                &mut tx,
                &AuditEntry {
                    actor: "tillpilot".into(),
                    channel: "cli".into(),
                    kind: "demo.seeded".into(),
                    subject: format!("seed {seed}"),
                    detail: json!({ "seed": seed, "today": today.to_string() }),
                },
            )
            .await?;
        tx.commit().await?;
    }
    Ok(app)
}

/// Two purchase orders already with vendors, so "on order" shows up in stock answers.
async fn seed_purchase_orders(store: &crate::store::Store, shop: &SimShop, tx: &mut Tx) -> anyhow::Result<()> {
    let now = now_ms();
    // (purchase order id, [(item, variation, units)])
    type Wanted = &'static [(&'static str, &'static str, i64)];
    let orders: [(&str, Wanted); 2] = [
        ("PO-DEMO-1", &[("Oat Milk 1L", "Regular", 48), ("Whole Milk 1L", "Regular", 24)]),
        ("PO-DEMO-2", &[("Crew T-Shirt", "Large, Blue", 12)]),
    ];
    for (id, wanted) in orders {
        let mut lines = Vec::new();
        for (item_name, variation_name, qty) in wanted {
            let found = shop
                .catalog
                .items
                .iter()
                .filter(|i| i.name == *item_name)
                .flat_map(|i| i.variations.iter())
                .find(|v| v.name == *variation_name);
            let terms = found.and_then(|v| shop.vendor_terms.iter().find(|t| t.variation_id == v.id));
            if let Some(terms) = terms {
                lines.push((terms.clone(), *qty));
            }
        }
        let Some((first, _)) = lines.first() else { continue };
        let vendor = shop.vendors.iter().find(|v| v.id == first.vendor_id);
        let po_lines: Vec<PoLine> = lines
            .iter()
            .map(|(terms, qty)| {
                let (name, sku) = shop.catalog.variation(&terms.variation_id).map_or_else(
                    || (terms.variation_id.to_string(), None),
                    |(item, v)| (item.display_name(v), v.sku.clone()),
                );
                PoLine {
                    variation_id: terms.variation_id.clone(),
                    sku,
                    vendor_sku: terms.vendor_sku.clone(),
                    name,
                    quantity: u32::try_from(*qty).unwrap_or(0),
                    unit_cost: terms.unit_cost,
                    explanation: "demo stock already on its way".into(),
                    reason: "demo stock already on its way".into(),
                    on_hand_at_draft: 0.0,
                    received: None,
                }
            })
            .collect();
        let location = shop.locations.iter().find(|l| l.id.as_str() == "L-MAIN");
        let po = PurchaseOrder {
            id: id.to_owned(),
            draft_key: String::new(),
            vendor_id: first.vendor_id.clone(),
            vendor_name: vendor.map_or_else(|| first.vendor_id.to_string(), |v| v.name.clone()),
            vendor_email: vendor.and_then(|v| v.email.clone()),
            location_id: crate::domain::LocationId::new("L-MAIN"),
            location_name: location.map_or_else(|| "Main St".to_owned(), |l| l.name.clone()),
            state: "sent".into(),
            total: lines.iter().map(|(t, qty)| t.unit_cost * *qty).sum(),
            lines: po_lines,
            created_at_ms: now - 86_400_000,
            pos_order_id: None,
            accounting_id: None,
            budget: None,
        };
        store.record_sent_po(tx, &po, "Maria", now - 86_400_000).await?;
    }
    Ok(())
}
