//! Logging and metrics. Logs go to stderr (stdout belongs to the CLI's answers); metrics are
//! counters rendered in Prometheus text format on `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Sets up `tracing` with `RUST_LOG` (default `info`, `warn` for the chatty CLI commands).
pub fn init(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{default_level},sqlx=warn")));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

/// Makes `ring` the process-wide TLS provider. Two providers end up in the dependency tree, and
/// rustls refuses to pick one by itself; every entry point calls this first. Idempotent.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Counters keyed by metric name and label set.
pub struct Metrics {
    started: Instant,
    /// By name, then by labels: a count that exists is found and added to without allocating.
    counters: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { started: Instant::now(), counters: Mutex::new(BTreeMap::new()) }
    }
}

impl Metrics {
    /// Adds one to `name{labels}`; `labels` is already in Prometheus form (`channel="sms"`).
    pub fn increment(&self, name: &str, labels: &str) {
        self.add(name, labels, 1);
    }

    /// Adds `n` to `name{labels}`.
    pub fn add(&self, name: &str, labels: &str, n: u64) {
        let mut counters = match self.counters.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        let by_labels = match counters.get_mut(name) {
            Some(by_labels) => by_labels,
            None => counters.entry(name.to_owned()).or_default(),
        };
        match by_labels.get_mut(labels) {
            Some(count) => *count += n,
            None => {
                by_labels.insert(labels.to_owned(), n);
            }
        }
    }

    pub fn get(&self, name: &str, labels: &str) -> u64 {
        let counters = match self.counters.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        counters.get(name).and_then(|by_labels| by_labels.get(labels)).copied().unwrap_or(0)
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let counters = match self.counters.lock() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let mut out = String::new();
        out.push_str("# HELP tillpilot_uptime_seconds Seconds since the process started.\n");
        out.push_str("# TYPE tillpilot_uptime_seconds gauge\n");
        out.push_str(&format!("tillpilot_uptime_seconds {}\n", self.started.elapsed().as_secs()));
        for (name, by_labels) in counters {
            out.push_str(&format!("# TYPE {name} counter\n"));
            for (labels, value) in by_labels {
                if labels.is_empty() {
                    out.push_str(&format!("{name} {value}\n"));
                } else {
                    out.push_str(&format!("{name}{{{labels}}} {value}\n"));
                }
            }
        }
        out
    }
}

/// Escapes a Prometheus label value.
pub fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
