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
