//! `cargo bench --bench lookup`: product lookup over 100,000 generated item names (typo
//! queries: latency percentiles and recall@10), and the full `ask` round trip on the demo shop.
//! Single-threaded lookups, so the figures are per core.

use std::collections::HashSet;
use std::time::{Duration, Instant};
use tillpilot::domain::{Catalog, Item, ItemId, Money, Variation, VariationId};
use tillpilot::nlu::ProductIndex;
use tillpilot::pos::sim::Rng;

const BRANDS: &[&str] = &[
    "Acme",
    "Northwind",
    "Bluebird",
    "Sunny",
    "Harvest",
    "Riverbend",
    "Oakridge",
    "Maple",
    "Cedar",
    "Summit",
    "Golden",
    "Prairie",
    "Coastal",
    "Meadow",
    "Alpine",
    "Urban",
    "Rustic",
    "Nordic",
    "Pacific",
    "Atlas",
    "Willow",
    "Granite",
    "Copper",
    "Ember",
    "Orchard",
    "Hollow",
    "Lakeside",
    "Pinecone",
    "Juniper",
    "Saffron",
    "Ivory",
    "Cobalt",
    "Sable",
    "Thistle",
    "Clover",
    "Fable",
    "Beacon",
    "Harbor",
    "Meridian",
    "Quarry",
];
const ADJECTIVES: &[&str] = &[
    "organic",
    "classic",
    "smoky",
    "spicy",
    "sweet",
    "roasted",
    "salted",
    "unsalted",
    "creamy",
    "crunchy",
    "smooth",
    "vanilla",
    "chocolate",
    "strawberry",
    "lemon",
    "ginger",
    "honey",
    "maple",
    "coconut",
    "almond",
    "hazelnut",
    "cinnamon",
    "peppermint",
    "espresso",
    "caramel",
    "raspberry",
    "blueberry",
    "mango",
    "peach",
    "cherry",
    "herbal",
    "toasted",
    "wholegrain",
    "gluten-free",
    "sparkling",
    "chilled",
    "artisan",
    "wild",
    "mild",
    "extra",
];
const NOUNS: &[&str] = &[
    "coffee",
    "tea",
    "milk",
    "yogurt",
    "cheese",
    "butter",
    "bread",
    "bagel",
    "muffin",
    "cookie",
    "cracker",
    "chips",
    "pretzels",
    "granola",
    "cereal",
    "oats",
    "honey",
    "jam",
    "syrup",
    "sauce",
    "pasta",
    "rice",
    "beans",
    "soup",
    "juice",
    "soda",
    "water",
    "kombucha",
    "lemonade",
    "candle",
    "mug",
    "tumbler",
    "notebook",
    "pen",
    "socks",
    "beanie",
    "scarf",
    "tshirt",
    "hoodie",
    "tote",
    "soap",
    "shampoo",
    "lotion",
    "balm",
    "toothpaste",
    "sponge",
    "detergent",
    "batteries",
    "matches",
    "treats",
    "kibble",
    "litter",
    "chocolate",
    "caramels",
    "toffee",
    "nougat",
    "biscotti",
    "brownie",
    "scone",
    "croissant",
    "baguette",
    "focaccia",
    "pizza",
    "dumplings",
    "noodles",
    "ramen",
    "tortillas",
    "salsa",
    "hummus",
    "pesto",
    "olives",
    "pickles",
    "mustard",
    "ketchup",
    "vinegar",
    "oil",
    "salt",
    "pepper",
    "spice",
    "seasoning",
];
const SIZES: &[&str] = &[
    "100g",
    "250g",
    "500g",
    "1kg",
    "330ml",
    "500ml",
    "1L",
    "2L",
    "6 Pack",
    "12 Pack",
    "Small",
    "Large",
    "Family Size",
    "Travel",
    "Mini",
    "Jumbo",
    "Single",
    "Twin Pack",
    "4 Pack",
    "Value",
    "750ml",
    "200g",
    "150g",
    "Bulk",
    "Refill",
];

trait Pick {
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str;
}

impl Pick for Rng {
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len())]
    }
}

fn names(count: usize, rng: &mut Rng) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let name = match rng.below(3) {
            0 => format!("{} {} {}", rng.pick(BRANDS), rng.pick(ADJECTIVES), rng.pick(NOUNS)),
            1 => format!("{} {} {} {}", rng.pick(BRANDS), rng.pick(ADJECTIVES), rng.pick(NOUNS), rng.pick(SIZES)),
            _ => format!("{} {} {} {}", rng.pick(ADJECTIVES), rng.pick(ADJECTIVES), rng.pick(NOUNS), rng.pick(SIZES)),
        };
        if seen.insert(name.to_lowercase()) {
            out.push(name);
        }
    }
    out
}

/// One typo (substitution, deletion, insertion or transposition) in one word of five or more
/// letters, lower-cased, sometimes with the words shuffled.
fn typo_query(name: &str, rng: &mut Rng) -> String {
    let mut words: Vec<String> = name.to_lowercase().split_whitespace().map(str::to_owned).collect();
    let long: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].chars().all(|c| c.is_ascii_alphabetic()) && words[i].len() >= 5)
        .collect();
    if !long.is_empty() {
        let w = long[rng.below(long.len())];
        let mut chars: Vec<char> = words[w].chars().collect();
        let at = 1 + rng.below(chars.len() - 2);
        let letter = (b'a' + rng.below(26) as u8) as char;
        match rng.below(4) {
            0 => chars[at] = letter,
            1 => {
                chars.remove(at);
            }
            2 => chars.insert(at, letter),
            _ => chars.swap(at, at + 1),
        }
        words[w] = chars.into_iter().collect();
    }
    if rng.below(4) == 0 {
        words.reverse();
    }
    words.join(" ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn lookup_benchmark() {
    let mut rng = Rng(2026);
    let names = names(100_000, &mut rng);
    let catalog = Catalog {
        categories: Vec::new(),
        items: names
            .iter()
            .enumerate()
            .map(|(i, name)| Item {
                id: ItemId::new(format!("I{i}")),
                name: name.clone(),
                category_id: None,
                variations: vec![Variation {
                    id: VariationId::new(format!("V{i}")),
                    item_id: ItemId::new(format!("I{i}")),
                    name: "Regular".into(),
                    sku: None,
                    price: Money::from_minor(499),
                    low_stock_at: None,
                }],
            })
            .collect(),
    };
    let started = Instant::now();
    let index = ProductIndex::build(&catalog);
    println!("lookup: indexed {} item names in {:.2?}", index.len(), started.elapsed());
    let queries: Vec<(usize, String)> = (0..3_000)
        .map(|_| {
            let i = rng.below(names.len());
            (i, typo_query(&names[i], &mut rng))
        })
        .collect();
    // Warm up caches and the allocator.
    for (_, q) in queries.iter().take(200) {
        std::hint::black_box(index.search(q, 10));
    }
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0;
    for (target, query) in &queries {
        let started = Instant::now();
        let found = index.search(query, 10);
        times.push(started.elapsed());
        let want = format!("I{target}");
        if found.iter().any(|m| m.item_id.as_str() == want) {
            hits += 1;
        }
    }
    times.sort();
    println!(
        "lookup: {} typo queries, top-10: p50 {:.3?}  p99 {:.3?}  max {:.3?}  recall@10 {:.3}",
        queries.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
        f64::from(hits) / queries.len() as f64
    );
}

fn ask_benchmark() {
    tillpilot::telemetry::install_crypto();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = tillpilot::demo::open(tillpilot::config::Config::default(), dir.path(), Some(42), |_, _| {})
            .await
            .expect("demo shop");
        let questions = [
            ("Maria", "how many blue mugs do we have"),
            ("Dev", "is oat milk in stock at Main St"),
            ("Sam", "stock large tshirt"),
            ("+13125550142", "where is my order #1042"),
            ("Sam", "any croissants left at riverside"),
            ("Maria", "order 1043"),
        ];
        let mut times = Vec::new();
        for round in 0..60 {
            for (who, text) in questions {
                let sender = app.directory.resolve_terminal(who);
                let started = Instant::now();
                let inbound = tillpilot::dispatch::Inbound {
                    channel: tillpilot::channels::ChannelKind::Terminal,
                    sender,
                    text: text.into(),
                };
                std::hint::black_box(tillpilot::dispatch::handle(&app, inbound).await.expect("ask"));
                if round > 0 {
                    times.push(started.elapsed());
                }
            }
        }
        times.sort();
        println!(
            "ask: {} round trips on the demo shop (SQLite, audited): p50 {:.2?}  p99 {:.2?}  max {:.2?}",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    });
}

/// A fake OpenAI-compatible server that waits `delay`, then calls `stock` for oat milk, then
/// (with the result in hand) answers in one sentence.
async fn fake_llm(delay: Duration) -> String {
    use axum::Json;
    use serde_json::{Value, json};
    let router = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |Json(body): Json<Value>| async move {
            tokio::time::sleep(delay).await;
            let answered = body["messages"].as_array().is_some_and(|m| m.iter().any(|m| m["role"] == "tool"));
            let message = if answered {
                json!({"role": "assistant", "content": "Here is the oat milk."})
            } else {
                json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function",
                    "function": {"name": "stock", "arguments": "{\"product\": \"oat milk\"}"}}]})
            };
            Json(json!({"id": "c", "object": "chat.completion", "created": 0, "model": "fake",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 600, "completion_tokens": 20, "total_tokens": 620}}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serve") });
    url
}

/// `ask` for a phrasing the classifier is unsure of, so it goes to the LLM: with the fake model
/// answering at once, and answering in 2 s against a 1 s timeout (the deterministic answer).
fn ask_with_llm_benchmark() {
    tillpilot::telemetry::install_crypto();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        for (delay, timeout_secs, asks) in [(Duration::ZERO, 20, 200), (Duration::from_secs(2), 1, 10)] {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut app = tillpilot::demo::open(tillpilot::config::Config::default(), dir.path(), Some(42), |_, _| {})
                .await
                .expect("demo shop");
            let config = tillpilot::config::LlmConfig {
                base_url: fake_llm(delay).await,
                api_key: None,
                model: "fake".into(),
                timeout_secs,
                daily_token_budget: u64::MAX,
            };
            app.llm = Some(tillpilot::llm::LlmClient::new(&config).expect("client"));
            let mut times = Vec::new();
            let mut intents = HashSet::new();
            for _ in 0..asks {
                let sender = app.directory.resolve_terminal("Sam");
                let inbound = tillpilot::dispatch::Inbound {
                    channel: tillpilot::channels::ChannelKind::Terminal,
                    sender,
                    text: "what's the craic with the white stuff for the coffees".into(),
                };
                let started = Instant::now();
                let outcome = tillpilot::dispatch::handle(&app, inbound).await.expect("ask");
                times.push(started.elapsed());
                intents.insert(outcome.intent.unwrap_or_else(|| "none".into()));
            }
            times.sort();
            println!(
                "ask via the LLM (fake model answers in {delay:?}, timeout {timeout_secs} s): {} round trips, \
                 p50 {:.2?}  p99 {:.2?}  max {:.2?}; answered as {intents:?}",
                times.len(),
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                times[times.len() - 1]
            );
        }
    });
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    lookup_benchmark();
    ask_benchmark();
    ask_with_llm_benchmark();
}
