//! The intake benchmark's load generator, run as a process of its own so it does not share the
//! server's runtime: a lean HTTP/1.1 keep-alive client over tokio's `TcpStream` with requests
//! built in place. Each connection sends its next request as soon as the previous one is
//! answered (or, with a rate, on its own schedule), records the latency of every answer, and
//! at the end the process prints one summary line on stdout and, for deliveries, writes the
//! event ids that were acknowledged (answered 2xx) to a file, one a line.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const KEY: &str = "bench-signature-key";
pub const URL: &str = "https://bot.example.com/webhooks/square";
/// The bearer token the review benchmark's server is configured with.
pub const REVIEW_TOKEN: &str = "bench-review-token-0123456789";

/// Ten of the simulated shop's items (seed 42): SKU, name, price, category.
const CART: [(&str, &str, &str, &str); 10] = [
    ("00201801", "Oat Milk 1L", "4.49", "Dairy & Alternatives"),
    ("00202301", "Greek Yogurt 500g", "5.49", "Dairy & Alternatives"),
    ("00203001", "Free Range Eggs 12 Pack", "5.99", "Dairy & Alternatives"),
    ("00303301", "Sourdough Loaf", "7.49", "Bakery"),
    ("00303601", "Butter Croissant", "3.25", "Bakery"),
    ("00404701", "Tortilla Chips 300g", "3.99", "Snacks"),
    ("00506101", "Still Water 500ml", "1.29", "Drinks"),
    ("00506201", "Cola 330ml", "1.79", "Drinks"),
    ("00607501", "Hass Avocado", "1.79", "Produce"),
    ("00708601", "Spaghetti 500g", "2.49", "Pantry"),
];

/// A 10-line cart as POS middleware posts it; its total is what the items come to ($37.96).
fn cart(transaction: &str, register: usize) -> String {
    let items: Vec<String> = CART
        .iter()
        .map(|(sku, name, price, category)| {
            format!(
                "{{\"sku\":\"{sku}\",\"name\":\"{name}\",\"quantity\":1,\"unit_price\":{price},\"category\":\"{category}\"}}"
            )
        })
        .collect();
    format!(
        "{{\"store_id\":\"L-MAIN\",\"register_id\":\"REG_{register:02}\",\"transaction_id\":\"{transaction}\",\
         \"timestamp\":\"2026-11-26T17:00:00Z\",\"total_amount\":37.96,\"tender_type\":\"credit_card\",\
         \"cashier_id\":\"C{register:02}\",\"items\":[{}],\"customer\":{{\"loyalty_id\":\"LOY_{register:04}\",\"segment\":\"regular\"}}}}",
        items.join(",")
    )
}

/// What one run sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `GET /healthz`.
    Health,
    /// A signed delivery to `path`; every one has a fresh event id.
    Signed,
    /// The same delivery with its signature spoiled: verified and refused (401).
    Forged,
    /// A 10-line cart of the simulated shop's items to `path` with the review bearer token;
    /// every one has a fresh transaction id.
    Review,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Health => "health",
            Kind::Signed => "signed",
            Kind::Forged => "forged",
            Kind::Review => "review",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        [Kind::Health, Kind::Signed, Kind::Forged, Kind::Review].into_iter().find(|k| k.name() == s)
    }
}

/// One run, as passed on the command line to the child process.
#[derive(Clone, Debug)]
pub struct Plan {
    pub addr: SocketAddr,
    pub kind: Kind,
    pub path: String,
    pub connections: usize,
    pub seconds: f64,
    /// Requests per second over all connections; 0 for as fast as answered.
    pub rate: u64,
    /// Two digits that make this run's event ids differ from every other run's.
    pub tag: u32,
    /// Where acknowledged event ids go; empty for nowhere.
    pub acked_file: String,
}

impl Plan {
    pub fn to_args(&self) -> Vec<String> {
        vec![
            self.addr.to_string(),
            self.kind.name().into(),
            self.path.clone(),
            self.connections.to_string(),
            self.seconds.to_string(),
            self.rate.to_string(),
            self.tag.to_string(),
            self.acked_file.clone(),
        ]
    }

    pub fn from_args(args: &[String]) -> Option<Plan> {
        let [addr, kind, path, connections, seconds, rate, tag, acked_file] = args else { return None };
        Some(Plan {
            addr: addr.parse().ok()?,
            kind: Kind::parse(kind)?,
            path: path.clone(),
            connections: connections.parse().ok()?,
            seconds: seconds.parse().ok()?,
            rate: rate.parse().ok()?,
            tag: tag.parse().ok()?,
            acked_file: acked_file.clone(),
        })
    }
}

/// What a run measured, as printed on the child's stdout.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub ok: u64,
    pub failed: u64,
    pub seconds: f64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl Summary {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }

    fn line(&self) -> String {
        format!(
            "loadgen ok={} failed={} seconds={:.4} p50_us={} p99_us={} max_us={}",
            self.ok, self.failed, self.seconds, self.p50_us, self.p99_us, self.max_us
        )
    }

    pub fn parse(text: &str) -> Option<Summary> {
        let line = text.lines().find(|l| l.starts_with("loadgen "))?;
        let mut summary = Summary::default();
        for field in line.split_whitespace().skip(1) {
            let (key, value) = field.split_once('=')?;
            match key {
                "ok" => summary.ok = value.parse().ok()?,
                "failed" => summary.failed = value.parse().ok()?,
                "seconds" => summary.seconds = value.parse().ok()?,
                "p50_us" => summary.p50_us = value.parse().ok()?,
                "p99_us" => summary.p99_us = value.parse().ok()?,
                "max_us" => summary.max_us = value.parse().ok()?,
                _ => {}
            }
        }
        Some(summary)
    }
}

/// The event id of request `n` on connection `connection` of run `tag`: twelve digits, the
/// same length as the ids this benchmark has always used.
fn event_id(tag: u32, connection: usize, n: u64) -> String {
    format!("bench-{:02}{:02}{:08}-4a5b-9c2d-7e8f90a1b2c3", tag % 100, connection % 100, n % 100_000_000)
}

/// A ~550-byte Square `order.updated` body.
fn body(event_id: &str) -> String {
    format!(
        "{{\n  \"merchant_id\": \"5S9MXCS9Y99KK\",\n  \"type\": \"order.updated\",\n  \"event_id\": \"{event_id}\",\n  \
         \"created_at\": \"2026-11-26T18:09:48.187Z\",\n  \"data\": {{\n    \"type\": \"order_updated\",\n    \"id\": \"eA3vssLHKJrv9H0IdJCM3ojYyeRZY\",\n    \
         \"object\": {{\n      \"order_updated\": {{\n        \"created_at\": \"2026-11-26T18:09:01.000Z\",\n        \"location_id\": \"KKGRQMQ7ZKPCW\",\n        \
         \"order_id\": \"eA3vssLHKJrv9H0IdJCM3ojYyeRZY\",\n        \"state\": \"OPEN\",\n        \"updated_at\": \"2026-11-26T18:09:48.000Z\",\n        \
         \"version\": 4\n      }}\n    }}\n  }}\n}}"
    )
}

/// Builds request `n` of a connection into `out`; returns its event id for deliveries.
fn request(plan: &Plan, signer: &Hmac<Sha256>, connection: usize, n: u64, out: &mut Vec<u8>) -> Option<String> {
    out.clear();
    if plan.kind == Kind::Health {
        let _ = write!(out, "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", plan.path, plan.addr);
        return None;
    }
    let id = event_id(plan.tag, connection, n);
    if plan.kind == Kind::Review {
        // The cart is built once per connection; only its transaction id changes.
        thread_local! {
            static CARTS: std::cell::RefCell<std::collections::HashMap<usize, (String, String)>> = Default::default();
        }
        let body = CARTS.with(|carts| {
            let mut carts = carts.borrow_mut();
            let (head, tail) = carts.entry(connection).or_insert_with(|| {
                let whole = cart("\u{1}", connection % 8);
                let (head, tail) = whole.split_once('\u{1}').expect("the placeholder");
                (head.to_owned(), tail.to_owned())
            });
            format!("{head}{id}{tail}")
        });
        let _ = write!(
            out,
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAuthorization: Bearer {REVIEW_TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
            plan.path,
            plan.addr,
            body.len()
        );
        return Some(id);
    }
    let body = body(&id);
    let mut mac = signer.clone();
    mac.update(body.as_bytes());
    let mut signature = STANDARD.encode(mac.finalize().into_bytes());
    if plan.kind == Kind::Forged {
        // Same length and alphabet, wrong value: the server computes the HMAC and refuses.
        let flipped = if signature.starts_with('A') { "B" } else { "A" };
        signature.replace_range(0..1, flipped);
    }
    let _ = write!(
        out,
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nx-square-hmacsha256-signature: {signature}\r\nContent-Length: {}\r\n\r\n{body}",
        plan.path,
        plan.addr,
        body.len()
    );
    Some(id)
}

/// Reads one response off `stream`; returns its status. `buf` carries bytes between calls.
async fn response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("response head is not text"))?;
            let mut lines = head.split("\r\n");
            let status: u16 = lines
                .next()
                .and_then(|l| l.split(' ').nth(1))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("no status line"))?;
            let length: usize = lines
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .ok_or_else(|| bad("no content-length"))?;
            let total = end + 4 + length;
            while buf.len() < total {
                read_more(stream, buf).await?;
            }
            buf.drain(..total);
            return Ok(status);
        }
        read_more(stream, buf).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "server closed the connection"));
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

struct Connection {
    latencies_us: Vec<u32>,
    failed: u64,
    acked: Vec<String>,
}

async fn connection(plan: Plan, index: usize, start: Instant) -> Connection {
    let mut out = Connection { latencies_us: Vec::new(), failed: 0, acked: Vec::new() };
    let mut signer = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("any key length is accepted");
    signer.update(URL.as_bytes());
    let Ok(mut stream) = TcpStream::connect(plan.addr).await else {
        out.failed += 1;
        return out;
    };
    let _ = stream.set_nodelay(true);
    let deadline = start + Duration::from_secs_f64(plan.seconds);
    // At a fixed rate each connection takes every `connections`-th slot of the schedule.
    let interval = (plan.rate > 0).then(|| Duration::from_secs_f64(plan.connections as f64 / plan.rate as f64));
    let mut next_send = start + interval.map_or(Duration::ZERO, |i| i.mul_f64(index as f64 / plan.connections as f64));
    let (mut request_bytes, mut buf) = (Vec::with_capacity(1024), Vec::with_capacity(4096));
    let mut n = 0u64;
    loop {
        if let Some(interval) = interval {
            tokio::time::sleep_until(next_send.into()).await;
            next_send += interval;
        }
        if Instant::now() >= deadline {
            break;
        }
        let id = request(&plan, &signer, index, n, &mut request_bytes);
        n += 1;
        let sent = Instant::now();
        if stream.write_all(&request_bytes).await.is_err() {
            out.failed += 1;
            break;
        }
        match response(&mut stream, &mut buf).await {
            Ok(status) if (200..300).contains(&status) || (plan.kind == Kind::Forged && status == 401) => {
                out.latencies_us.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if let Some(id) = id
                    && matches!(plan.kind, Kind::Signed | Kind::Review)
                {
                    out.acked.push(id);
                }
            }
            Ok(_) => out.failed += 1,
            Err(_) => {
                out.failed += 1;
                break;
            }
        }
    }
    out
}

/// The child process: runs `plan` and reports.
pub fn main(args: &[String]) {
    let Some(plan) = Plan::from_args(args) else {
        eprintln!("loadgen: bad arguments {args:?}");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (connections, elapsed) = runtime.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..plan.connections).map(|i| tokio::spawn(connection(plan.clone(), i, start))).collect();
        let mut done = Vec::new();
        for task in tasks {
            if let Ok(c) = task.await {
                done.push(c);
            }
        }
        (done, start.elapsed())
    });
    let mut latencies: Vec<u32> = connections.iter().flat_map(|c| c.latencies_us.iter().copied()).collect();
    latencies.sort_unstable();
    let at = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0);
    let summary = Summary {
        ok: latencies.len() as u64,
        failed: connections.iter().map(|c| c.failed).sum(),
        seconds: elapsed.as_secs_f64(),
        p50_us: at(0.5).into(),
        p99_us: at(0.99).into(),
        max_us: latencies.last().copied().unwrap_or(0).into(),
    };
    if !plan.acked_file.is_empty() {
        let mut text = String::new();
        for id in connections.iter().flat_map(|c| &c.acked) {
            text.push_str(id);
            text.push('\n');
        }
        std::fs::write(&plan.acked_file, text).expect("write acknowledged ids");
    }
    println!("{}", summary.line());
}

/// Set in the child process, whose arguments are a `Plan`.
pub const LOADGEN_ENV: &str = "TILLPILOT_LOADGEN";

/// Runs `plan` in a child process (this benchmark re-executed) and waits for its summary.
pub async fn load(plan: Plan) -> Summary {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe).env(LOADGEN_ENV, "1").args(plan.to_args()).output()
    })
    .await
    .expect("join")
    .expect("start the load generator");
    let stdout = String::from_utf8_lossy(&output.stdout);
    Summary::parse(&stdout).unwrap_or_else(|| {
        panic!("the load generator said nothing useful: {stdout} {}", String::from_utf8_lossy(&output.stderr))
    })
}

pub fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// A fresh database named `name` on the server `base` points at, keeping its host, port and
/// options.
pub async fn fresh_postgres(base: &str, name: &str) -> Option<String> {
    sqlx::any::install_default_drivers();
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(base).await.ok()?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await.ok()?;
    let (url, query) = base.split_once('?').map_or((base, None), |(u, q)| (u, Some(q)));
    let (prefix, _) = url.rsplit_once('/')?;
    Some(match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    })
}
