//! The checkout assistant's memory: everything a review reads, held in memory so a checkout
//! never waits on the disk. Rules mined from the mirror's baskets, stock per location, the
//! SKU index, the feature flags, and the fraud rules' recent past. The keeper loads it all at
//! start and refreshes it (flags every two seconds, stock every minute, rules after every
//! sync and at least daily); the inbox worker applies stock counts and gift-card activity as
//! they arrive.

use super::affinity::BasketRules;
use super::fraud::{Memory, Trace, VISIT_DAYS};
use super::recorder::Recorded;
use crate::domain::{GiftCardActivity, LocationId, StockLevel};
use crate::store::StoreError;
use crate::store::flags::{FlagRow, FlagState};
use crate::workflows::Shop;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

/// How much of the mirror's history the basket rules are mined from.
const MINE_DAYS: i64 = 180;
const DAY_MS: i64 = 86_400_000;
const FLAGS_EVERY: Duration = Duration::from_secs(2);
const STOCK_EVERY: Duration = Duration::from_secs(60);
const MINE_EVERY_MS: i64 = DAY_MS;

/// A catalog variation as a cart line names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub variation_id: String,
    pub sku: Option<String>,
    pub name: String,
}

#[derive(Default)]
struct Mined {
    synced_at: Option<String>,
    at_ms: i64,
}

/// On hand (thousandths) and when it was counted, by location, of one variation.
type Counts = HashMap<String, (i64, i64)>;

/// See the module documentation.
#[derive(Default)]
pub struct ReviewDesk {
    ready: AtomicBool,
    loaded: tokio::sync::Notify,
    /// The flags, with the number of the read that produced them.
    flags: RwLock<(u64, Arc<Vec<FlagRow>>)>,
    /// Flag reads begun, numbered in the order they began.
    flag_reads: std::sync::atomic::AtomicU64,
    /// On hand (thousandths) and when it was counted, by variation and location.
    /// By variation, then location, so a review looks counts up without allocating a key.
    stock: RwLock<HashMap<String, Counts>>,
    by_sku: RwLock<Arc<HashMap<String, Product>>>,
    by_variation: RwLock<Arc<HashMap<String, Product>>>,
    rules: RwLock<Arc<BasketRules>>,
    pub(super) memory: Mutex<Memory>,
    /// Approval ids answered to the middleware and not yet recorded.
    pending: Mutex<std::collections::HashSet<String>>,
    pub(super) recorder: OnceLock<tokio::sync::mpsc::Sender<Recorded>>,
    /// Reviews handed to the recorder, and written by it.
    pub(super) submitted: std::sync::atomic::AtomicU64,
    pub(super) written: std::sync::atomic::AtomicU64,
    mined: Mutex<Mined>,
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    match lock.read() {
        Ok(v) => v.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

fn look_up(index: &RwLock<Arc<HashMap<String, Product>>>, key: &str) -> Option<Product> {
    match index.read() {
        Ok(index) => index.get(key).cloned(),
        Err(poisoned) => poisoned.into_inner().get(key).cloned(),
    }
}

fn write<T>(lock: &RwLock<T>, value: T) {
    match lock.write() {
        Ok(mut slot) => *slot = value,
        Err(poisoned) => *poisoned.into_inner() = value,
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ReviewDesk {
    /// Waits until the first load has finished (at once, after start).
    pub async fn ready(&self) {
        while !self.ready.load(Ordering::Acquire) {
            let notified = self.loaded.notified();
            if self.ready.load(Ordering::Acquire) {
                break;
            }
            notified.await;
        }
    }

    /// The state the `review` flag is in at `location`.
    pub fn mode(&self, location: Option<&LocationId>) -> FlagState {
        crate::workflows::flags::resolve(&read(&self.flags).1, "review", location)
    }

    /// Reads the flags from the store. Of two reads that overlap (the keeper's refresh and a
    /// flag command's), the one that began later is kept, whichever finishes last, so a
    /// refresh that read just before a change cannot put the old state back.
    pub async fn reload_flags(&self, store: &crate::store::Store) -> Result<(), StoreError> {
        let read = self.flag_reads.fetch_add(1, Ordering::AcqRel) + 1;
        let rows = Arc::new(store.flag_rows().await?);
        let mut flags = self.flags.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if read > flags.0 {
            *flags = (read, rows);
        }
        Ok(())
    }

    pub fn product_by_sku(&self, sku: &str) -> Option<Product> {
        look_up(&self.by_sku, sku)
    }

    pub fn product(&self, variation_id: &str) -> Option<Product> {
        look_up(&self.by_variation, variation_id)
    }

    pub fn rules(&self) -> Arc<BasketRules> {
        read(&self.rules)
    }

    /// Units on hand (thousandths) of `variation` at `location`, or anywhere when `None`.
    pub fn on_hand(&self, variation: &str, location: Option<&LocationId>) -> Option<i64> {
        let stock = match self.stock.read() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        match location {
            Some(l) => stock.get(variation)?.get(l.as_str()).map(|(q, _)| *q),
            None => stock.get(variation)?.values().map(|(q, _)| *q).max(),
        }
    }

    /// Stock counts that just arrived; a count older than the one held is ignored.
    pub fn stock_changed(&self, levels: &[StockLevel]) {
        self.merge_stock(levels, true);
    }

    /// Applies `levels` counted at least as late (`or_same`) or strictly later than what is
    /// held, so a full reload that read the mirror just before a webhook's count cannot undo it.
    fn merge_stock(&self, levels: &[StockLevel], or_same: bool) {
        let mut stock = match self.stock.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        for level in levels {
            let at_locations = stock.entry(level.variation_id.as_str().to_owned()).or_default();
            let newer = at_locations
                .get(level.location_id.as_str())
                .is_none_or(|(_, at)| if or_same { level.counted_at_ms >= *at } else { level.counted_at_ms > *at });
            if newer {
                at_locations
                    .insert(level.location_id.as_str().to_owned(), (level.on_hand.milli(), level.counted_at_ms));
            }
        }
    }

    /// A gift card the POS reports sold or topped up.
    pub fn gift_card_sold(&self, activity: &GiftCardActivity) {
        lock(&self.memory).remember_pos_gift_card(
            &activity.id,
            activity.location_id.as_str(),
            activity.at_ms,
            activity.amount,
        );
    }

    pub(super) fn issued(&self, approval_id: &str) {
        lock(&self.pending).insert(approval_id.to_owned());
    }

    pub(super) fn recorded(&self, approval_id: &str) {
        lock(&self.pending).remove(approval_id);
    }

    /// Whether `approval_id` was answered to the middleware and is still being recorded.
    pub fn is_issued(&self, approval_id: &str) -> bool {
        lock(&self.pending).contains(approval_id)
    }

    async fn load_flags(&self, app: &Shop) -> Result<(), StoreError> {
        self.reload_flags(&app.store).await
    }

    async fn load_stock(&self, app: &Shop) -> Result<(), StoreError> {
        let levels = app.store.mirror_stock(&[], None).await?;
        self.merge_stock(&levels, false);
        Ok(())
    }

    fn load_catalog(&self, app: &Shop) {
        let view = app.catalog();
        let mut by_sku = HashMap::new();
        let mut by_variation = HashMap::new();
        for item in &view.catalog.items {
            for variation in &item.variations {
                let product = Product {
                    variation_id: variation.id.as_str().to_owned(),
                    sku: variation.sku.clone(),
                    name: item.display_name(variation),
                };
                if let Some(sku) = &variation.sku {
                    by_sku.insert(sku.clone(), product.clone());
                }
                by_variation.insert(product.variation_id.clone(), product);
            }
        }
        write(&self.by_sku, Arc::new(by_sku));
        write(&self.by_variation, Arc::new(by_variation));
    }

    /// Mines the basket rules again when a sync has finished since the last time, or a day
    /// has passed.
    async fn mine_if_due(&self, app: &Shop) -> Result<bool, StoreError> {
        let synced = app.store.meta("sync.completed_at").await?;
        let now = app.clock.now_ms();
        {
            let mined = lock(&self.mined);
            if mined.at_ms > 0 && mined.synced_at == synced && now - mined.at_ms < MINE_EVERY_MS {
                return Ok(false);
            }
        }
        let lines = app.store.basket_lines_since(now - MINE_DAYS * DAY_MS).await?;
        let rules = tokio::task::spawn_blocking(move || BasketRules::mine(&lines)).await.unwrap_or_default();
        tracing::info!(baskets = rules.baskets, items = rules.rules.len(), "mined what sells together");
        write(&self.rules, Arc::new(rules));
        self.load_catalog(app);
        *lock(&self.mined) = Mined { synced_at: synced, at_ms: now };
        Ok(true)
    }

    /// The fraud rules' memory from recorded reviews and the POS's gift-card events.
    async fn load_memory(&self, app: &Shop) -> Result<(), StoreError> {
        let now = app.clock.now_ms();
        let reviews = app.store.reviews_since(now - VISIT_DAYS * DAY_MS).await?;
        let events =
            app.store.inbox_payloads("square", crate::pos::square::webhook::GIFT_CARD_ACTIVITY, now - DAY_MS).await?;
        let mut memory = Memory::default();
        for r in &reviews {
            memory.remember(&Trace {
                at_ms: r.at_ms,
                register: r.register_id.clone(),
                cashier: r.cashier_id.clone(),
                loyalty_id: r.loyalty_id.clone(),
                gift_cards: u32::try_from(r.gift_cards).unwrap_or(0),
                voids: u32::try_from(r.voids).unwrap_or(0),
                overrides: u32::try_from(r.overrides).unwrap_or(0),
            });
        }
        for payload in events {
            if let Ok(Some(activity)) = crate::pos::square::webhook::gift_card_activity(&payload) {
                memory.remember_pos_gift_card(
                    &activity.id,
                    activity.location_id.as_str(),
                    activity.at_ms,
                    activity.amount,
                );
            }
        }
        *lock(&self.memory) = memory;
        Ok(())
    }

    async fn load(&self, app: &Shop) -> Result<(), StoreError> {
        self.load_flags(app).await?;
        self.load_catalog(app);
        self.load_stock(app).await?;
        self.load_memory(app).await?;
        self.mine_if_due(app).await?;
        Ok(())
    }
}

/// Loads the desk, then keeps it fresh for as long as the process runs.
pub(super) async fn keep(app: Arc<Shop>) {
    let desk = &app.review;
    if let Err(err) = desk.load(&app).await {
        tracing::error!(error = %err, "could not load the checkout assistant's state; reviews start from nothing");
    }
    desk.ready.store(true, Ordering::Release);
    desk.loaded.notify_waiters();
    let mut flags = tokio::time::interval(FLAGS_EVERY);
    let mut stock = tokio::time::interval(STOCK_EVERY);
    flags.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    stock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = flags.tick() => {
                if let Err(err) = desk.load_flags(&app).await {
                    tracing::warn!(error = %err, "could not refresh the review flag");
                }
            }
            _ = stock.tick() => {
                let refreshed = async {
                    desk.load_stock(&app).await?;
                    desk.mine_if_due(&app).await?;
                    Ok::<_, StoreError>(())
                };
                if let Err(err) = refreshed.await {
                    tracing::warn!(error = %err, "could not refresh stock and basket rules for reviews");
                }
                let config = app.config.review.as_ref().map(|r| r.fraud.clone()).unwrap_or_default();
                lock(&desk.memory).sweep(app.clock.now_ms(), &config);
            }
        }
    }
}
