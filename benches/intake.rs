//! `cargo bench --bench intake`: durable webhook intake against an ack-only route of the same
//! server, under the same load: 64 connections sending signed ~550-byte Square bodies as fast
//! as they are answered, then a steady 1,000 requests per second. Reports throughput of both,
//! their ratio, disk flushes (committed transactions) per acknowledged event, and ack latency
//! percentiles at the steady rate. SQLite by default; set TILLPILOT_BENCH_POSTGRES_URL to a
//! server URL (its database is only used to create a fresh one) to measure PostgreSQL too.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tillpilot::app::App;
use tillpilot::config::{Config, Secret, SquareConfig};
use tillpilot::pos::sim::{SimOptions, SimPos, demo_team, generate};

const KEY: &str = "bench-signature-key";
const URL: &str = "https://bot.example.com/webhooks/square";
const CONNECTIONS: usize = 64;
const BURST: Duration = Duration::from_secs(6);
const STEADY_RATE: u64 = 1_000;
const STEADY: Duration = Duration::from_secs(5);

static NEXT_EVENT: AtomicU64 = AtomicU64::new(0);

/// A signed, ~550-byte Square `order.updated` delivery with a fresh event id.
fn delivery() -> (String, String) {
    let n = NEXT_EVENT.fetch_add(1, Ordering::Relaxed);
    let body = format!(
        "{{\n  \"merchant_id\": \"5S9MXCS9Y99KK\",\n  \"type\": \"order.updated\",\n  \"event_id\": \"bench-{n:012}-4a5b-9c2d-7e8f90a1b2c3\",\n  \
         \"created_at\": \"2026-11-26T18:09:48.187Z\",\n  \"data\": {{\n    \"type\": \"order_updated\",\n    \"id\": \"eA3vssLHKJrv9H0IdJCM3ojYyeRZY\",\n    \
         \"object\": {{\n      \"order_updated\": {{\n        \"created_at\": \"2026-11-26T18:09:01.000Z\",\n        \"location_id\": \"KKGRQMQ7ZKPCW\",\n        \
         \"order_id\": \"eA3vssLHKJrv9H0IdJCM3ojYyeRZY\",\n        \"state\": \"OPEN\",\n        \"updated_at\": \"2026-11-26T18:09:48.000Z\",\n        \
         \"version\": 4\n      }}\n    }}\n  }}\n}}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("key");
    mac.update(URL.as_bytes());
    mac.update(body.as_bytes());
    (body, STANDARD.encode(mac.finalize().into_bytes()))
}

async fn send(client: &reqwest::Client, url: &str) -> Option<Duration> {
    let (body, signature) = delivery();
    let started = Instant::now();
    let response = client.post(url).header("x-square-hmacsha256-signature", signature).body(body).send().await.ok()?;
    response.status().is_success().then(|| started.elapsed())
}

/// 64 connections, each sending as soon as its previous request was answered.
async fn burst(url: &str) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + BURST;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (url, done) = (url.to_owned(), done.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
                while Instant::now() < deadline {
                    if send(&client, &url).await.is_some() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    done.load(Ordering::Relaxed) as f64 / BURST.as_secs_f64()
}

/// A steady request rate over a pool of 64 connections; returns sorted latencies and failures.
async fn steady(url: &str) -> (Vec<Duration>, usize) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().expect("client");
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / STEADY_RATE));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for _ in 0..(STEADY_RATE * STEADY.as_secs()) {
        ticker.tick().await;
        let (client, url) = (client.clone(), url.to_owned());
        tasks.push(tokio::spawn(async move { send(&client, &url).await }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in tasks {
        match task.await.ok().flatten() {
            Some(latency) => latencies.push(latency),
            None => failed += 1,
        }
    }
    latencies.sort();
    (latencies, failed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
}

async fn run(label: &str, database_url: String) {
    let mut config = Config::default();
    config.database.url = database_url;
    config.people = demo_team();
    config.pos.square = Some(SquareConfig {
        access_token: Secret::new("unused"),
        base_url: "http://127.0.0.1:9".into(),
        webhook_signature_key: Some(Secret::new(KEY)),
        webhook_url: Some(URL.into()),
        location_ids: Vec::new(),
    });
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
    let shop = generate(&SimOptions { days: 7, ..SimOptions::new(1, today) });
    let app = Arc::new(App::start(config, Some(Arc::new(SimPos::new(Arc::new(shop))))).await.expect("app"));
    let (router, intake) = tillpilot::http::benchmark_router(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });

    let ack_only = burst(&format!("{base}/bench/ack-only/square")).await;
    let commits_before = intake.commits();
    let rows_before = app.store.inbox("square").await.map(|r| r.len()).unwrap_or(0);
    let durable = burst(&format!("{base}/webhooks/square")).await;
    let commits = intake.commits() - commits_before;
    let recorded = app.store.inbox("square").await.map(|r| r.len()).unwrap_or(0) - rows_before;
    println!(
        "intake [{label}]: ack-only {ack_only:.0} req/s, durable {durable:.0} req/s, ratio {:.2}, {:.3} flushes per event ({commits} commits for {recorded} events)",
        durable / ack_only,
        commits as f64 / recorded.max(1) as f64
    );
    let commits_before = intake.commits();
    let (latencies, failed) = steady(&format!("{base}/webhooks/square")).await;
    let steady_commits = intake.commits() - commits_before;
    println!(
        "intake [{label}]: steady {STEADY_RATE} req/s for {}s: {} acked, {failed} failed, p50 {:.2?}, p99 {:.2?}, max {:.2?}, {:.3} flushes per event",
        STEADY.as_secs(),
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        steady_commits as f64 / latencies.len().max(1) as f64
    );
}

async fn fresh_postgres(base: &str) -> Option<String> {
    sqlx::any::install_default_drivers();
    let name = format!("tillpilot_bench_{}", std::process::id());
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(base).await.ok()?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.ok()?;
    let (prefix, _) = base.rsplit_once('/')?;
    Some(format!("{prefix}/{name}"))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    tillpilot::telemetry::install_crypto();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        if std::env::var("TILLPILOT_BENCH_SKIP_SQLITE").is_err() {
            run("sqlite", format!("sqlite://{}", dir.path().join("bench.db").display())).await;
        }
        if let Ok(base) = std::env::var("TILLPILOT_BENCH_POSTGRES_URL") {
            match fresh_postgres(&base).await {
                Some(url) => run("postgres", url).await,
                None => println!("intake [postgres]: could not create a database at {base}"),
            }
        }
    });
}
