//! Crash safety of webhook intake: `tillpilot run` is killed with SIGKILL several times during
//! a burst of signed Square deliveries and restarted. Every acknowledged event must be in the
//! inbox and processed, and none processed twice. Slow, so ignored by default; `.ci/run` runs it.
//! SIGTERM, by contrast, is a clean stop (tested by default).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "crash-test-key";
const URL: &str = "https://bot.example.com/webhooks/square";
const EVENTS: usize = 1_200;
const KILLS: usize = 3;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn write_config(dir: &std::path::Path, addr: &str, database_url: &str) {
    std::fs::write(
        dir.join("tillpilot.toml"),
        format!(
            "[server]\nlisten = \"{addr}\"\n[database]\nurl = \"{database_url}\"\n[pos]\nprovider = \"sim\"\nreconcile_minutes = 0\n\
             [pos.square]\naccess_token = \"unused\"\nwebhook_signature_key = \"{KEY}\"\nwebhook_url = \"{URL}\"\n\
             [[people]]\nname = \"Maria\"\nrole = \"owner\"\n"
        ),
    )
    .unwrap();
}

fn start(dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tillpilot"))
        .current_dir(dir)
        .args(["--config", "tillpilot.toml", "run"])
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// One request on a fresh connection; `None` when the server is not there or hung up.
fn post(addr: &str, body: &str, signature: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "POST /webhooks/square HTTP/1.1\r\nHost: {addr}\r\nx-square-hmacsha256-signature: {signature}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

fn healthy(addr: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = write!(stream, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

fn wait_healthy(addr: &str) {
    let started = Instant::now();
    while !healthy(addr) {
        assert!(started.elapsed() < Duration::from_secs(120), "tillpilot run did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn delivery(i: usize) -> (String, String, String) {
    let event_id = format!("crash-{i:06}");
    let order = format!("ORD-W-{}", 1001 + i % 48);
    let body = format!(
        "{{\"merchant_id\":\"M\",\"type\":\"order.updated\",\"event_id\":\"{event_id}\",\"created_at\":\"2026-11-26T10:00:00Z\",\
         \"data\":{{\"type\":\"order_updated\",\"id\":\"{order}\",\"object\":{{\"order_updated\":{{\"order_id\":\"{order}\",\"state\":\"OPEN\"}}}}}}}}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(URL.as_bytes());
    mac.update(body.as_bytes());
    (event_id, body, STANDARD.encode(mac.finalize().into_bytes()))
}

#[test]
#[ignore = "slow: kills and restarts the server; run by .ci/run"]
fn acknowledged_events_survive_kill_9_and_are_processed_exactly_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dbs = runtime.block_on(common::databases());
    for db in dbs {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        write_config(dir.path(), &addr, &db.url);
        let child = Arc::new(Mutex::new(start(dir.path())));
        wait_healthy(&addr);

        let acked: Arc<Mutex<HashSet<String>>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..8)
            .map(|t| {
                let (addr, acked) = (addr.clone(), acked.clone());
                std::thread::spawn(move || {
                    for i in (t..EVENTS).step_by(8) {
                        let (event_id, body, signature) = delivery(i);
                        // Like a vendor: retry until acknowledged.
                        let started = Instant::now();
                        while post(&addr, &body, &signature) != Some(200) {
                            assert!(
                                started.elapsed() < Duration::from_secs(180),
                                "event {event_id} never acknowledged"
                            );
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        acked.lock().unwrap().insert(event_id);
                    }
                })
            })
            .collect();
        // Kill the server a few times mid-burst, restarting it each time.
        let killer = {
            let (child, acked, done, dir, addr) =
                (child.clone(), acked.clone(), done.clone(), dir.path().to_owned(), addr.clone());
            std::thread::spawn(move || {
                for k in 1..=KILLS {
                    while acked.lock().unwrap().len() < k * EVENTS / (KILLS + 1) && !done.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    let mut running = child.lock().unwrap();
                    running.kill().unwrap(); // SIGKILL
                    running.wait().unwrap();
                    *running = start(&dir);
                    drop(running);
                    wait_healthy(&addr);
                }
            })
        };
        for sender in senders {
            sender.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        killer.join().unwrap();
        let acked = acked.lock().unwrap().clone();
        assert_eq!(acked.len(), EVENTS);

        // Let the worker of the last run finish, then look at the database.
        runtime.block_on(async {
            let store = common::store(&db).await;
            let started = Instant::now();
            loop {
                let states = store.inbox_states().await.unwrap();
                let pending = states.iter().find(|(s, _)| s == "pending").map_or(0, |(_, n)| *n);
                if pending == 0 {
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(120), "{}: {pending} events still pending", db.label);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let rows = store.inbox("square").await.unwrap();
            let recorded: HashSet<String> = rows.iter().map(|r| r.event_id.clone()).collect();
            assert!(acked.is_subset(&recorded), "{}: an acknowledged event was lost", db.label);
            assert!(rows.iter().all(|r| r.state == "done"), "{}: not all processed", db.label);
            let mut processed: HashMap<String, usize> = HashMap::new();
            for record in store.audit_since(0).await.unwrap().into_iter().filter(|r| r.kind == "inbox.processed") {
                let detail: serde_json::Value = serde_json::from_str(&record.detail).unwrap();
                *processed.entry(detail["event_id"].as_str().unwrap().to_owned()).or_default() += 1;
            }
            assert_eq!(processed.len(), recorded.len(), "{}", db.label);
            assert!(processed.values().all(|n| *n == 1), "{}: an event was processed twice", db.label);
            assert!(store.audit_verify().await.unwrap().is_ok(), "{}", db.label);
        });
        let mut running = child.lock().unwrap();
        let _ = running.kill();
        let _ = running.wait();
    }
}

/// What systemd or Kubernetes does to stop a service: SIGTERM. The server stops taking
/// requests, the workers finish what they hold, and it exits 0; nothing is left leased, so the
/// next start processes what was still pending at once rather than after the 60 s lease.
#[test]
fn sigterm_finishes_the_work_in_hand_and_exits_0() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dbs = runtime.block_on(common::databases());
    for db in dbs {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        write_config(dir.path(), &addr, &db.url);
        let mut child = start(dir.path());
        wait_healthy(&addr);
        let sent: Vec<String> = (0..60)
            .map(|i| {
                let (event_id, body, signature) = delivery(i);
                assert_eq!(post(&addr, &body, &signature), Some(200));
                event_id
            })
            .collect();
        let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(term.success());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{}: still running 30 s after SIGTERM", db.label);
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{}: exit status {status:?}", db.label);

        let mut child = start(dir.path());
        wait_healthy(&addr);
        runtime.block_on(async {
            let store = common::store(&db).await;
            let started = Instant::now();
            loop {
                let rows = store.inbox("square").await.unwrap();
                let recorded: HashSet<String> = rows.iter().map(|r| r.event_id.clone()).collect();
                assert!(sent.iter().all(|id| recorded.contains(id)), "{}: an acknowledged event was lost", db.label);
                if rows.iter().all(|r| r.state == "done") {
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(20), "{}: events left leased after SIGTERM", db.label);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let _ = child.kill();
        let _ = child.wait();
    }
}
