//! `cargo bench --bench review`: the checkout assistant under the load of a busy POS
//! middleware. The server is the product's router over the simulated shop (seed 42, 35 days
//! mirrored, basket rules mined); the load comes from a separate process (this binary
//! re-executed as a load generator), keep-alive connections each sending as soon as it is
//! answered. Side by side against the same server it measures `/healthz` and a 10-line review
//! (every cart with a fresh transaction id, so every one is assessed and recorded) at 16 and at
//! 64 connections, and prints the review's p99 above `/healthz`'s at 16 connections and its
//! throughput against `/healthz`'s at 64 (the targets: at most 2 ms above, at least 0.5x), and
//! the same carts with the `review` flag off (read and answered, neither assessed nor
//! recorded). It then waits for the recorder and checks that every answered review was
//! recorded once.
//! SQLite by default; TILLPILOT_BENCH_POSTGRES_URL measures PostgreSQL too;
//! TILLPILOT_BENCH_SECONDS sets each run's length.

#[path = "support/loadgen.rs"]
mod loadgen;

use loadgen::{Kind, LOADGEN_ENV, Plan, REVIEW_TOKEN, Summary, load, ms};
use std::sync::Arc;
use tillpilot::app::App;
use tillpilot::config::{Config, ReviewConfig};
use tillpilot::domain::{Clock, FixedClock};
use tillpilot::pos::sim::{SimOptions, SimPos, demo_team, generate};

fn seconds() -> f64 {
    std::env::var("TILLPILOT_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5.0)
}

fn show(label: &str, what: &str, s: &Summary) {
    println!(
        "review [{label}]: {what:<16} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms  ({} ok, {} failed)",
        s.per_second(),
        ms(s.p50_us),
        ms(s.p99_us),
        ms(s.max_us),
        s.ok,
        s.failed
    );
}

async fn run(label: &str, database_url: String) {
    let mut config = Config::default();
    config.database.url = database_url;
    config.people = demo_team();
    config.review = Some(ReviewConfig::with_token(REVIEW_TOKEN));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
    let clock = Arc::new(FixedClock::noon(today, chrono_tz::America::Chicago));
    let pos = Arc::new(SimPos::new(Arc::new(generate(&SimOptions::new(42, today)))));
    let app = Arc::new(App::start_with_clock(config, Some(pos.clone()), clock.clone()).await.expect("app"));
    tillpilot::jobs::sync::pull(pos.as_ref(), &app.store, clock.now_ms(), 35, |_, _| {}).await.expect("sync");
    let router = tillpilot::http::router(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    app.review.ready().await;

    let plan = |kind: Kind, path: &str, connections: usize, tag: u32| Plan {
        addr,
        kind,
        path: path.into(),
        connections,
        seconds: seconds(),
        rate: 0,
        tag,
        acked_file: String::new(),
    };
    let warm_up = load(Plan { seconds: 1.0, ..plan(Kind::Review, "/api/ai/transaction-review", 16, 1) }).await;
    let health16 = load(plan(Kind::Health, "/healthz", 16, 0)).await;
    show(label, "/healthz x16", &health16);
    let review16 = load(plan(Kind::Review, "/api/ai/transaction-review", 16, 2)).await;
    show(label, "review x16", &review16);
    let health64 = load(plan(Kind::Health, "/healthz", 64, 0)).await;
    show(label, "/healthz x64", &health64);
    let review64 = load(plan(Kind::Review, "/api/ai/transaction-review", 64, 3)).await;
    show(label, "review x64", &review64);
    println!(
        "review [{label}]:   p99 above /healthz at 16 connections {:+.2} ms (target at most 2), \
         throughput/healthz at 64 connections {:.2} (target at least 0.5)",
        ms(review16.p99_us) - ms(health16.p99_us),
        review64.per_second() / health64.per_second().max(1e-9)
    );
    // The kill switch: the same carts read and answered with nothing, neither assessed nor
    // recorded. The gap between this and the full review is the assessment and its recording.
    tillpilot::workflows::review::flush(&app, std::time::Duration::from_secs(120)).await;
    let flag = tillpilot::store::flags::FlagState::Off;
    app.store.set_flag("review", "", flag, "bench", "cli", clock.now_ms()).await.expect("flag");
    app.review.reload_flags(&app.store).await.expect("flags");
    let off64 = load(plan(Kind::Review, "/api/ai/transaction-review", 64, 4)).await;
    show(label, "review off x64", &off64);
    let answered = warm_up.ok + review16.ok + review64.ok;
    let started = std::time::Instant::now();
    let count = || async { app.store.review_counts(0, i64::MAX).await.expect("count").reviews as u64 };
    let mut recorded = count().await;
    while recorded < answered && started.elapsed() < std::time::Duration::from_secs(120) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        recorded = count().await;
    }
    let details: Vec<(String,)> = sqlx::query_as("SELECT detail FROM audit_log WHERE kind = 'review'")
        .fetch_all(app.store.pool())
        .await
        .expect("read audit");
    let records = details.len();
    let audited: u64 = details
        .iter()
        .map(|(d,)| {
            let detail: serde_json::Value = serde_json::from_str(d).expect("audit detail");
            detail["reviews"].as_array().map_or(1, |r| r.len() as u64)
        })
        .sum();
    let verdict = if recorded == answered && audited == answered { "ok" } else { "FAILED" };
    println!(
        "review [{label}]:   every answered review recorded: {verdict} ({answered} answered, {recorded} review rows, \
         {audited} in {records} audit records; the recorder finished {:.1} s after the load stopped)",
        started.elapsed().as_secs_f64()
    );
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
            run("sqlite", format!("sqlite://{}", dir.path().join("bench.db").display())).await;
        }
        if let Ok(base) = std::env::var("TILLPILOT_BENCH_POSTGRES_URL") {
            match loadgen::fresh_postgres(&base, &format!("tillpilot_review_bench_{}", std::process::id())).await {
                Some(url) => run("postgres", url).await,
                None => println!("review [postgres]: could not create a database at {base}"),
            }
        }
    });
}
