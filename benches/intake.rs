//! `cargo bench --bench intake`: durable webhook intake as a POS would load it. The server runs
//! in this process on the runtime the product uses; the load comes from a separate process (this
//! binary re-executed as a load generator, so nothing beyond cargo is needed): 64 keep-alive
//! connections, each sending as soon as it is answered. Against the same server it measures
//! `/healthz`, a signed ~550-byte Square delivery with a spoiled signature (verified and
//! refused, 401), the ack-only route (verified and parsed, not recorded), and durable intake
//! (`/webhooks/square`, every delivery with a fresh event id), each with throughput and ack
//! latency p50/p99, `/healthz` and durable intake in alternating rounds (TILLPILOT_BENCH_ROUNDS,
//! 3 unless set); then a steady 1,000 deliveries per second. It prints durable intake's ratio
//! to `/healthz` in each round and in the middle one, to the refused delivery, disk flushes (committed transactions) per
//! acknowledged event, and checks that every acknowledged delivery is in the inbox exactly
//! once. SQLite by default; set TILLPILOT_BENCH_POSTGRES_URL to a server URL (its database is
//! only used to create a fresh one; `postgres:///test?host=/var/run/postgresql` for the Unix
//! socket) to measure PostgreSQL too. TILLPILOT_BENCH_SECONDS sets each run's length.

#[path = "support/loadgen.rs"]
mod loadgen;

use loadgen::{KEY, Kind, LOADGEN_ENV, Plan, Summary, URL, load, ms};
use std::collections::HashMap;
use std::sync::Arc;
use tillpilot::app::App;
use tillpilot::config::{Config, Secret, SquareConfig};
use tillpilot::jobs::intake::Intake;
use tillpilot::pos::sim::{SimOptions, SimPos, demo_team, generate};

const CONNECTIONS: usize = 64;
const STEADY_RATE: u64 = 1_000;

fn seconds() -> f64 {
    std::env::var("TILLPILOT_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5.0)
}

/// Rounds of `/healthz` beside durable intake (TILLPILOT_BENCH_ROUNDS, 3 unless set).
fn rounds() -> u32 {
    std::env::var("TILLPILOT_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).filter(|&n| n > 0).unwrap_or(3)
}

fn show(label: &str, route: &str, s: &Summary) {
    println!(
        "intake [{label}]: {route:<9} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} ok, {} failed)",
        s.per_second(),
        ms(s.p50_us),
        ms(s.p99_us),
        ms(s.max_us),
        s.ok,
        s.failed
    );
}

/// Every acknowledged id of one run against the inbox.
struct Check {
    acked: usize,
    once: usize,
    missing: usize,
    more: usize,
    /// Recorded with this run's ids but never acknowledged.
    unacked: usize,
}

/// Every id in `acked_file` against the inbox rows with the ids of run `tag`.
async fn exactly_once(app: &App, acked_file: &std::path::Path, tag: u32) -> Check {
    let acked = std::fs::read_to_string(acked_file).unwrap_or_default();
    let acked: Vec<&str> = acked.lines().collect();
    let prefix = format!("bench-{:02}", tag % 100);
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event_id, COUNT(*) FROM inbox WHERE source = 'square' AND event_id LIKE $1 GROUP BY event_id",
    )
    .bind(format!("{prefix}%"))
    .fetch_all(app.store.pool())
    .await
    .expect("read the inbox");
    let mut counts: HashMap<String, i64> = rows.into_iter().collect();
    let (mut once, mut missing, mut more) = (0, 0, 0);
    for id in &acked {
        match counts.remove(*id) {
            Some(1) => once += 1,
            Some(_) => more += 1,
            None => missing += 1,
        }
    }
    Check { acked: acked.len(), once, missing, more, unacked: counts.len() }
}

async fn durable(label: &str, app: &App, intake: &Intake, plan: Plan, dir: &std::path::Path) -> (Summary, f64, Check) {
    let acked_file = dir.join(format!("acked-{label}-{}.txt", plan.tag));
    let tag = plan.tag;
    let commits_before = intake.commits();
    let summary = load(Plan { acked_file: acked_file.display().to_string(), ..plan }).await;
    let commits = intake.commits() - commits_before;
    let check = exactly_once(app, &acked_file, tag).await;
    (summary, commits as f64 / check.acked.max(1) as f64, check)
}

fn show_check(label: &str, Check { acked, once, missing, more, unacked }: Check) {
    let verdict = if once == acked && missing == 0 && more == 0 { "ok" } else { "FAILED" };
    println!(
        "intake [{label}]:   exactly once {verdict}: {acked} acknowledged, {once} in the inbox once, {missing} missing, \
         {more} more than once, {unacked} recorded but not acknowledged"
    );
}

async fn run(label: &str, database_url: String, dir: &std::path::Path) {
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
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });

    let plan = |kind: Kind, path: &str, rate: u64, tag: u32| Plan {
        addr,
        kind,
        path: path.into(),
        connections: CONNECTIONS,
        seconds: seconds(),
        rate,
        tag,
        acked_file: String::new(),
    };
    // A short warm-up so connections, statement caches and the page cache are in use.
    let _ = load(Plan { seconds: 1.0, ..plan(Kind::Signed, "/webhooks/square", 0, 1) }).await;

    let refused = load(plan(Kind::Forged, "/webhooks/square", 0, 0)).await;
    show(label, "refused", &refused);
    let ack_only = load(plan(Kind::Signed, "/bench/ack-only/square", 0, 0)).await;
    show(label, "ack-only", &ack_only);
    // `/healthz` and durable intake side by side, in rounds: on a shared machine either can
    // move by a fifth from one run to the next, so each ratio compares neighbouring runs and
    // the figure reported is the middle round's.
    let mut pairs = Vec::new();
    for round in 0..rounds() {
        let health = load(plan(Kind::Health, "/healthz", 0, 0)).await;
        show(label, "/healthz", &health);
        let (burst, flushes, check) =
            durable(label, &app, &intake, plan(Kind::Signed, "/webhooks/square", 0, 10 + round), dir).await;
        show(label, "durable", &burst);
        let ratio = burst.per_second() / health.per_second().max(1e-9);
        println!("intake [{label}]:   round {}: durable/healthz {ratio:.2}, {flushes:.3} flushes per event", round + 1);
        show_check(label, check);
        pairs.push((ratio, health, burst));
    }
    pairs.sort_by(|(a, ..), (b, ..)| a.total_cmp(b));
    let (ratio, health, burst) = &pairs[pairs.len() / 2];
    println!("intake [{label}]: the middle of {} rounds:", pairs.len());
    show(label, "/healthz", health);
    show(label, "durable", burst);
    println!(
        "intake [{label}]:   durable/healthz {ratio:.2}, durable/refused {:.2}, durable/ack-only {:.2}",
        burst.per_second() / refused.per_second().max(1e-9),
        burst.per_second() / ack_only.per_second().max(1e-9),
    );

    let (steady, flushes, check) =
        durable(label, &app, &intake, plan(Kind::Signed, "/webhooks/square", STEADY_RATE, 3), dir).await;
    show(label, "steady", &steady);
    println!("intake [{label}]:   steady {STEADY_RATE} deliveries/s, {flushes:.3} flushes per event");
    show_check(label, check);
    app.store.close().await;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::env::var_os(LOADGEN_ENV).is_some() {
        return loadgen::main(&args);
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    tillpilot::telemetry::install_crypto();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        if std::env::var("TILLPILOT_BENCH_SKIP_SQLITE").is_err() {
            run("sqlite", format!("sqlite://{}", dir.path().join("bench.db").display()), dir.path()).await;
        }
        if let Ok(base) = std::env::var("TILLPILOT_BENCH_POSTGRES_URL") {
            match loadgen::fresh_postgres(&base, &format!("tillpilot_bench_{}", std::process::id())).await {
                Some(url) => run("postgres", url, dir.path()).await,
                None => println!("intake [postgres]: could not create a database at {base}"),
            }
        }
    });
}
