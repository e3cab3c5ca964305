//! The `tillpilot` binary as a newcomer uses it: `ask --demo`, `audit`, configuration errors,
//! and `demo` serving its health endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tillpilot(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tillpilot"))
        .current_dir(dir)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run tillpilot")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn ask_json_prints_the_reply_with_intent_entities_and_audit_id() {
    let dir = tempfile::tempdir().unwrap();
    let out = tillpilot(dir.path(), &["ask", "--demo", "--json", "how many blue mugs do we have"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["intent"], "stock");
    assert!(json["text"].as_str().unwrap().starts_with("Ceramic Mug (Blue): "), "{json}");
    let product = &json["entities"]["products"][0];
    assert_eq!(product["name"], "Ceramic Mug (Blue)");
    assert!(product["item_id"].is_string() && product["variation_id"].is_string());
    assert_eq!(json["entities"]["order_numbers"], serde_json::json!([]));
    assert_eq!(json["entities"]["locations"], serde_json::json!([]));
    assert!(json["audit_id"].as_i64().unwrap() > 0);
    assert!(json["fields"].is_array() && json["actions"].is_array() && json["image"].is_null());

    // The same data dir is the same shop: the audit log now holds both exchanges.
    let out = tillpilot(dir.path(), &["ask", "--demo", "--json", "--as", "+13125550142", "where is my order #1042"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["intent"], "order");
    assert_eq!(json["entities"]["order_numbers"], serde_json::json!(["1042"]));
    let tail = tillpilot(dir.path(), &["audit", "--demo", "tail", "-n", "4", "--json"]);
    let kinds: Vec<String> = stdout(&tail)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["message.in", "message.out", "message.in", "message.out"]);
}

#[test]
fn an_unknown_person_is_told_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = tillpilot(dir.path(), &["ask", "--demo", "--as", "Mallory", "stock oat milk"]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        "I don't know you yet. Ask the shop's owner to add you to Tillpilot, then try again."
    );
}

#[test]
fn audit_verify_passes_then_names_the_first_tampered_record() {
    let dir = tempfile::tempdir().unwrap();
    for question in ["stock oat milk", "where is order 1042", "help"] {
        assert!(tillpilot(dir.path(), &["ask", "--demo", question]).status.success());
    }
    let ok = tillpilot(dir.path(), &["audit", "--demo", "verify"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).starts_with("Audit log intact: "), "{}", stdout(&ok));

    let db = dir.path().join("tillpilot-demo/tillpilot.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = tillpilot::store::Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        sqlx::query("UPDATE audit_log SET detail = '{\"text\":\"stock whisky\"}' WHERE seq = 4")
            .execute(store.pool())
            .await
            .unwrap();
        store.close().await;
    });
    let broken = tillpilot(dir.path(), &["audit", "--demo", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(stderr(&broken).contains("audit log broken at sequence 4"), "{}", stderr(&broken));

    let export = tillpilot(dir.path(), &["audit", "--demo", "export", "--since", "2000-01-01"]);
    assert_eq!(stdout(&export).lines().count(), 8);
    let bad = tillpilot(dir.path(), &["audit", "--demo", "export", "--since", "last tuesday"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn configuration_errors_exit_2_and_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[shop]\nname = \"Corner\"\ntimezon = \"America/Chicago\"\n").unwrap();
    let out = tillpilot(dir.path(), &["--config", "bad.toml", "migrate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("shop") && stderr(&out).contains("timezon"), "{}", stderr(&out));

    let out = Command::new(env!("CARGO_BIN_EXE_tillpilot"))
        .current_dir(dir.path())
        .args(["migrate"])
        .env("TILLPILOT__SCHEDULE__SUMMARY_AT", "9pm")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("schedule.summary_at"), "{}", stderr(&out));

    let secret = Command::new(env!("CARGO_BIN_EXE_tillpilot"))
        .current_dir(dir.path())
        .args(["migrate"])
        .env("TILLPILOT__SLACK__BOT_TOKEN", "xoxb-super-secret")
        .env("TILLPILOT__SLACK__SIGNING_SECRET", "shh")
        .env("TILLPILOT__SLACK__API_BASE_URL", "not a url")
        .output()
        .unwrap();
    assert_eq!(secret.status.code(), Some(2));
    assert!(!stderr(&secret).contains("xoxb-super-secret"));

    let usage = tillpilot(dir.path(), &["frobnicate"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn the_example_configuration_is_valid() {
    let text = std::fs::read_to_string("tillpilot.example.toml").unwrap();
    let config = tillpilot::config::Config::from_toml(&text).unwrap();
    assert!(config.slack.is_some() && config.telegram.is_some() && config.discord.is_some() && config.twilio.is_some());
    assert!(config.llm.is_some() && config.smtp.is_some() && config.review.is_some() && !config.people.is_empty());
    assert!(config.quickbooks.is_some());
}

fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[test]
fn demo_serves_health_readiness_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tillpilot"))
        .current_dir(dir.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    let mut printed = Vec::new();
    let addr = loop {
        let line = lines.next().expect("demo exited early").unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("Listening on http://") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no address printed");
    };
    // It lists the people you can be.
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push(line.clone());
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let all = printed.join("\n");
    for who in ["Maria", "Dev", "Sam", "+13125550142"] {
        assert!(all.contains(who), "{all}");
    }
    assert_eq!(http_get(&addr, "/healthz"), (200, "ok\n".into()));
    assert_eq!(http_get(&addr, "/readyz").0, 200);
    let (status, metrics) = http_get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("tillpilot_uptime_seconds"), "{metrics}");
    assert_eq!(http_get(&addr, "/nope").0, 404);
    child.kill().unwrap();
    child.wait().unwrap();
}
