//! Shared test helpers: a fresh store per test on SQLite and (when
//! `TILLPILOT_TEST_POSTGRES_URL` is set) on a fresh PostgreSQL database, the simulated shop
//! generated once per test binary, and an `App` over both.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use tillpilot::app::App;
use tillpilot::channels::ChannelKind;
use tillpilot::config::Config;
use tillpilot::dispatch::{self, Inbound, Outcome};
use tillpilot::domain::{Clock, FixedClock};
use tillpilot::pos::sim::{SimOptions, SimPos, SimShop, demo_team, generate};
use tillpilot::store::Store;

/// A database for one test; SQLite files live in `_dir`.
pub struct TestDb {
    pub label: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

pub fn postgres_base_url() -> Option<String> {
    std::env::var("TILLPILOT_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
}

pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    TestDb { label: "sqlite", url, _dir: Some(dir) }
}

/// A new, empty PostgreSQL database next to the one `TILLPILOT_TEST_POSTGRES_URL` names.
pub async fn postgres_db() -> Option<TestDb> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = postgres_base_url()?;
    sqlx::any::install_default_drivers();
    let name = format!(
        "tillpilot_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        chrono::Utc::now().timestamp_micros() % 1_000_000
    );
    let mut admin =
        <sqlx::AnyConnection as sqlx::Connection>::connect(&base).await.expect("connect to test PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.unwrap();
    let (prefix, _) = base.rsplit_once('/').expect("a database name in TILLPILOT_TEST_POSTGRES_URL");
    Some(TestDb { label: "postgres", url: format!("{prefix}/{name}"), _dir: None })
}

/// SQLite always, PostgreSQL when configured. In CI both run.
pub async fn databases() -> Vec<TestDb> {
    let mut dbs = vec![sqlite_db()];
    dbs.extend(postgres_db().await);
    dbs
}

pub async fn store(db: &TestDb) -> Store {
    let store = Store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// The day the tests run on, whatever the calendar says: the simulated shop's history ends the
/// day before, and every app the tests start reads its clock.
pub fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

/// Noon of `today()` in the demo shop's time zone (Chicago).
pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::noon(today(), chrono_tz::America::Chicago))
}

pub fn now_ms() -> i64 {
    clock().now_ms()
}

/// The simulated shop for seed 42, anchored on `today()`, generated once per test binary.
pub fn shop() -> Arc<SimShop> {
    static SHOP: OnceLock<Arc<SimShop>> = OnceLock::new();
    SHOP.get_or_init(|| Arc::new(generate(&SimOptions::new(42, today())))).clone()
}

/// The simulated shop as a POS that keeps no vendor records sees it (Clover, Shopify).
pub fn shop_without_vendors() -> Arc<SimShop> {
    let mut shop = (*shop()).clone();
    shop.vendors.clear();
    shop.vendor_terms.clear();
    Arc::new(shop)
}

pub fn config(db: &TestDb) -> Config {
    let mut config = Config::default();
    config.database.url = db.url.clone();
    config.people = demo_team();
    config
}

/// The app over the simulated shop, with the last 35 days mirrored.
pub async fn app(db: &TestDb) -> App {
    tillpilot::telemetry::install_crypto();
    let pos = Arc::new(SimPos::new(shop()));
    let app = App::start_with_clock(config(db), Some(pos.clone()), clock()).await.unwrap();
    tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, now_ms(), 35, |_, _| {}).await.unwrap();
    app
}

/// The bot over the simulated shop (`days` of it mirrored), serving HTTP on a free port of
/// 127.0.0.1: what every end-to-end test starts from. `config` names the fresh database and
/// the fakes the test started.
pub async fn spawn_app(config: Config, days: i64) -> (Arc<App>, String) {
    tillpilot::telemetry::install_crypto();
    let pos = Arc::new(SimPos::new(shop()));
    let app = Arc::new(App::start_with_clock(config, Some(pos.clone()), clock()).await.unwrap());
    tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, now_ms(), days, |_, _| {}).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(tillpilot::http::serve(app.clone(), listener, std::future::pending()));
    (app, url)
}

/// Asks on the terminal channel as `who` (a name or an E.164 phone).
pub async fn ask(app: &App, who: &str, text: &str) -> Outcome {
    let sender = app.directory.resolve_terminal(who);
    dispatch::handle(app, Inbound { channel: ChannelKind::Terminal, sender, text: text.to_owned() }).await.unwrap()
}

/// The full text a person sees: the reply text and every field.
pub fn seen(outcome: &Outcome) -> String {
    let mut out = outcome.reply.text.clone();
    for field in &outcome.reply.fields {
        out.push_str(&format!("\n{}: {}", field.label, field.value));
    }
    out
}
