//! `tillpilot sync`: pulls locations, catalog, stock, customers, vendors and orders from the
//! POS into the mirror, idempotently. Orders are pulled a month at a time so a year of history
//! never sits in memory at once and progress can be shown.

use crate::pos::{Pos, PosError};
use crate::store::{AuditEntry, Store, StoreError};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Pos(#[from] PosError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one sync brought in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub locations: usize,
    pub items: usize,
    pub variations: usize,
    pub stock_levels: usize,
    pub customers: usize,
    pub vendors: usize,
    pub orders: usize,
}

const DAY_MS: i64 = 86_400_000;
/// When the first sync finished (unix ms): nothing is summarised or reordered before it.
pub const FIRST_SYNC: &str = "sync.first_completed_at";
const WINDOW_DAYS: i64 = 31;

/// Pulls everything, orders from the `history_days` days before `now` (unix ms). `progress`
/// is told the share done, from 0.0 to 1.0.
pub async fn pull(
    pos: &dyn Pos,
    store: &Store,
    now: i64,
    history_days: i64,
    mut progress: impl FnMut(f64, &str),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    progress(0.0, "catalog");
    let locations = pos.locations().await?;
    let catalog = pos.catalog().await?;
    let stock = pos.stock_levels(&[], None).await?;
    let vendors = pos.vendors().await?;
    let terms = pos.vendor_terms().await?;
    let mut tx = store.begin().await?;
    store.save_locations(&mut tx, &locations).await?;
    store.save_catalog(&mut tx, &catalog, now).await?;
    store.save_stock(&mut tx, &stock).await?;
    store.save_vendors(&mut tx, &vendors, &terms).await?;
    tx.commit().await.map_err(StoreError::from)?;
    report.locations = locations.len();
    report.items = catalog.items.len();
    report.variations = catalog.items.iter().map(|i| i.variations.len()).sum();
    report.stock_levels = stock.len();
    report.vendors = vendors.len();

    let from = now - history_days * DAY_MS;
    let mut start = from;
    while start < now {
        let end = (start + WINDOW_DAYS * DAY_MS).min(now + DAY_MS);
        let orders = pos.orders_between(start, end, None).await?;
        let mut customer_ids: Vec<_> = orders.iter().filter_map(|o| o.customer_id.clone()).collect();
        customer_ids.sort();
        customer_ids.dedup();
        let mut customers = Vec::new();
        for id in &customer_ids {
            customers.extend(pos.customer(id).await?);
        }
        let mut tx = store.begin().await?;
        store.save_customers(&mut tx, &customers).await?;
        store.save_orders(&mut tx, &orders, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
        report.orders += orders.len();
        start = end;
        progress(((start - from) as f64 / (now - from).max(1) as f64).min(1.0), "orders");
    }
    report.customers =
        usize::try_from(store.count_rows(crate::store::mirror::MirrorTable::Customers).await?).unwrap_or(0);
    let mut tx = store.begin().await?;
    store.set_meta(&mut tx, "sync.completed_at", &now.to_string()).await?;
    store.add_meta(&mut tx, FIRST_SYNC, &now.to_string()).await?;
    tx.commit().await.map_err(StoreError::from)?;
    store
        .audit_now(&AuditEntry {
            actor: "tillpilot".into(),
            channel: "pos".into(),
            kind: "sync.completed".into(),
            subject: pos.provider().into(),
            detail: json!(report),
        })
        .await?;
    progress(1.0, "done");
    Ok(report)
}

/// Days of orders a scheduled reconciliation pulls: enough to cover a weekend of missed
/// webhooks.
pub const RECONCILE_DAYS: i64 = 3;

/// Reconciles every `every` until `stop` changes: pulls recent history into the mirror and
/// refreshes the catalog the NLU matches against.
pub async fn reconcile_on_schedule(
    app: std::sync::Arc<crate::workflows::Shop>,
    every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        match pull(app.pos.as_ref(), &app.store, app.clock.now_ms(), RECONCILE_DAYS, |_, _| {}).await {
            Ok(report) => {
                tracing::info!(orders = report.orders, items = report.items, "reconciled with the POS");
                if let (Ok(catalog), Ok(locations)) = (app.pos.catalog().await, app.pos.locations().await) {
                    app.set_catalog(catalog, locations);
                }
                // Deliveries booked in since: a receipt whose webhook never came, or stock
                // that rose by what was ordered.
                match crate::workflows::reorder::check_received(&app).await {
                    Ok(received) if !received.is_empty() => tracing::info!(?received, "purchase orders received"),
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "could not check purchase orders for receipt"),
                }
            }
            Err(err) => tracing::warn!(error = %err, "reconciliation failed; will try again next time"),
        }
    }
}
