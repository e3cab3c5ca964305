//! The intent classifier against a fixed evaluation set of phrasings written for it
//! (`tests/data/intent_eval.tsv`), on the simulated shop's catalog. Fails below 90% accuracy.
#![allow(clippy::unwrap_used)]

mod common;

use tillpilot::dispatch::understand::{self, Understanding};
use tillpilot::nlu::Entities;

const EVAL: &str = include_str!("data/intent_eval.tsv");

#[tokio::test]
async fn classifier_accuracy_on_the_evaluation_set_is_at_least_90_percent() {
    let db = common::sqlite_db();
    let app = common::app(&db).await;
    let view = app.catalog();
    let cases: Vec<(&str, &str)> = EVAL
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .collect();
    assert!(cases.len() >= 150, "the evaluation set has {} phrasings", cases.len());
    let mut correct = 0;
    let mut asked = 0;
    let mut misses = Vec::new();
    for (expected, text) in &cases {
        // The classifier's own top answer (what `understand` would act on, or offer first).
        let predicted = match understand::split_command(&app, text) {
            Some((name, _)) => name,
            None => {
                let entities = Entities::extract(text, &view.index, &view.locations);
                let scores = app.classifier.classify(&entities.delexicalized);
                scores[0].intent.clone().unwrap_or_else(|| "none".into())
            }
        };
        if matches!(understand::understand(&app, text).await, Understanding::Unsure { .. }) {
            asked += 1;
        }
        if predicted == *expected {
            correct += 1;
        } else {
            misses.push(format!("{expected:>7} → {predicted:<7} {text}"));
        }
    }
    let accuracy = f64::from(correct) / cases.len() as f64;
    println!("intent accuracy {:.1}% ({correct}/{}), clarifying questions on {asked}", accuracy * 100.0, cases.len());
    for miss in &misses {
        println!("  miss: {miss}");
    }
    assert!(accuracy >= 0.90, "accuracy {:.1}% is below 90%:\n{}", accuracy * 100.0, misses.join("\n"));
}

#[path = "fakes/llm.rs"]
mod fake_llm;
#[path = "fakes/wire.rs"]
mod wire;

/// What the owner gets for every phrasing, as the intent that answered (or "none").
async fn answered_intents(app: &tillpilot::app::App, cases: &[(&str, &str)]) -> usize {
    let mut correct = 0;
    for (expected, text) in cases {
        let outcome = common::ask(app, "Maria", text).await;
        if outcome.intent.as_deref().unwrap_or("none") == *expected {
            correct += 1;
        }
    }
    correct
}

/// The whole path, dispatcher included, with and without the LLM: a model that understands
/// every phrasing (here a fake that knows the evaluation set's answers, calling the tool as the
/// person's words), and one that refuses every call. Neither may answer fewer phrasings right than the
/// deterministic path alone.
#[tokio::test]
async fn the_llm_path_keeps_at_least_the_deterministic_accuracy() {
    use fake_llm::{Answer, FakeLlm, last_user_text};
    let cases: Vec<(&str, &str)> = EVAL
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .collect();
    let db = common::sqlite_db();
    let mut app = common::app(&db).await;
    let deterministic = answered_intents(&app, &cases).await;

    let (fake, url) = FakeLlm::start().await;
    let config = tillpilot::config::LlmConfig {
        base_url: url,
        api_key: None,
        model: "fake".into(),
        timeout_secs: 5,
        daily_token_budget: 10_000_000,
    };
    app.llm = Some(tillpilot::llm::LlmClient::new(&config).unwrap());
    let answers: std::collections::HashMap<String, String> =
        cases.iter().map(|(intent, text)| ((*text).to_owned(), (*intent).to_owned())).collect();
    fake.respond_with(move |request| {
        let text = last_user_text(request);
        let already_called = request["messages"].as_array().unwrap().iter().any(|m| m["role"] == "tool");
        match answers.get(&text).map(String::as_str) {
            _ if already_called => Answer::text("There you are."),
            Some("none") | None => Answer::text("That is not something this shop's assistant does."),
            Some("stock") => Answer::call("stock", serde_json::json!({ "product": text })),
            Some("anomaly") => Answer::call("anomaly", serde_json::json!({ "verdict": "expected", "alert": "latest" })),
            Some(intent) => Answer::call(intent, serde_json::json!({})),
        }
    });
    let with_llm = answered_intents(&app, &cases).await;
    let asked = fake.request_count();
    // A server that refuses every call (a revoked key: not worth retrying).
    fake.fail_next(&vec![wire::Fault::Status(401, None); 1_000]);
    let with_llm_down = answered_intents(&app, &cases).await;
    let n = cases.len() as f64;
    println!(
        "answered right: deterministic {:.1}%, with the LLM {:.1}% ({asked} requests), with the LLM refusing {:.1}%",
        100.0 * deterministic as f64 / n,
        100.0 * with_llm as f64 / n,
        100.0 * with_llm_down as f64 / n
    );
    assert!(with_llm >= deterministic, "{with_llm} < {deterministic}");
    assert_eq!(with_llm_down, deterministic);
}
