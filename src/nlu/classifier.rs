//! The intent classifier: multinomial logistic regression over word, word-pair and character
//! trigram features of the delexicalised message (entities replaced by slot words). It is
//! trained at start from every command's `examples`, plus a built-in set of things a shop bot
//! is asked but does not do, which teaches it to say "none" instead of guessing.

use super::text::tokenize;
use std::collections::HashMap;

/// What the classifier thinks, best first.
#[derive(Clone, Debug, PartialEq)]
pub struct IntentScore {
    /// A command name, or `None` for "not something I do".
    pub intent: Option<String>,
    pub probability: f32,
}

pub struct IntentClassifier {
    classes: Vec<Option<String>>,
    features: HashMap<String, usize>,
    /// `weights[class][feature]`, plus a bias per class at the end of each row.
    weights: Vec<Vec<f32>>,
}

/// Phrasings that belong to no command: the classifier's "none" class.
const OUT_OF_SCOPE: &str = include_str!("out_of_scope.txt");

const EPOCHS: usize = 80;
const LEARNING_RATE: f32 = 0.4;
const L2: f32 = 1e-4;

impl IntentClassifier {
    /// Trains on `(command, example)` pairs. Examples may contain slot words written as
    /// `{product}`, `{order}`, `{location}` and `{customer}` (an email address or phone number).
    pub fn train(examples: &[(String, String)]) -> IntentClassifier {
        let mut data: Vec<(usize, Vec<String>)> = Vec::new();
        let mut classes: Vec<Option<String>> = vec![None];
        for (intent, text) in examples {
            let class = match classes.iter().position(|c| c.as_deref() == Some(intent.as_str())) {
                Some(i) => i,
                None => {
                    classes.push(Some(intent.clone()));
                    classes.len() - 1
                }
            };
            data.push((class, words_of_example(text)));
        }
        for line in OUT_OF_SCOPE.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("//")) {
            data.push((0, words_of_example(line)));
        }
        let mut features: HashMap<String, usize> = HashMap::new();
        let encoded: Vec<(usize, Vec<(usize, f32)>)> = data
            .iter()
            .map(|(class, words)| {
                let names = feature_names(words);
                for name in &names {
                    let next = features.len();
                    features.entry(name.clone()).or_insert(next);
                }
                (*class, vectorize(&names, &features))
            })
            .collect();
        let width = features.len() + 1;
        let mut weights = vec![vec![0f32; width]; classes.len()];
        let mut order: Vec<usize> = (0..encoded.len()).collect();
        let mut state = 0x5EED_u64;
        for _ in 0..EPOCHS {
            for i in (1..order.len()).rev() {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                order.swap(i, (state >> 33) as usize % (i + 1));
            }
            for &i in &order {
                let (class, x) = &encoded[i];
                let probs = softmax(&weights, x);
                for (c, row) in weights.iter_mut().enumerate() {
                    let gradient = probs[c] - if c == *class { 1.0 } else { 0.0 };
                    for &(f, v) in x {
                        row[f] -= LEARNING_RATE * (gradient * v + L2 * row[f]);
                    }
                    row[width - 1] -= LEARNING_RATE * gradient;
                }
            }
        }
        IntentClassifier { classes, features, weights }
    }

    /// Scores a delexicalised message (see `Entities::delexicalized`).
    pub fn classify(&self, words: &[String]) -> Vec<IntentScore> {
        let x = vectorize(&feature_names(words), &self.features);
        let probs = if x.is_empty() {
            // Nothing we have ever seen: certainly not a command.
            let mut p = vec![0.0; self.classes.len()];
            p[0] = 1.0;
            p
        } else {
            softmax(&self.weights, &x)
        };
        let mut scores: Vec<IntentScore> = self
            .classes
            .iter()
            .zip(probs)
            .map(|(intent, probability)| IntentScore { intent: intent.clone(), probability })
            .collect();
        scores.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        scores
    }
}

/// Turns an example into words, with `{slot}` markers as slot words.
fn words_of_example(text: &str) -> Vec<String> {
    let marked = text
        .replace("{product}", " qqproductqq ")
        .replace("{order}", " qqorderqq ")
        .replace("{location}", " qqlocationqq ");
    tokenize(&marked)
        .into_iter()
        .map(|t| match t.norm.as_str() {
            "qqproductqq" => "<product>".to_owned(),
            "qqorderqq" => "<order>".to_owned(),
            "qqlocationqq" => "<location>".to_owned(),
            "qqcustomerqq" => "<customer>".to_owned(),
            _ => t.norm,
        })
        .collect()
}

fn feature_names(words: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for (i, word) in words.iter().enumerate() {
        names.push(format!("w:{word}"));
        if let Some(next) = words.get(i + 1) {
            names.push(format!("b:{word} {next}"));
        }
        if !word.starts_with('<') {
            let padded: Vec<char> = format!("^{word}$").chars().collect();
            for gram in padded.windows(3) {
                names.push(format!("c:{}", gram.iter().collect::<String>()));
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Binary features, L2-normalised; character trigrams count for less than whole words.
fn vectorize(names: &[String], features: &HashMap<String, usize>) -> Vec<(usize, f32)> {
    let mut x: Vec<(usize, f32)> = names
        .iter()
        .filter_map(|n| features.get(n).map(|&f| (f, if n.starts_with("c:") { 0.35 } else { 1.0 })))
        .collect();
    let norm = x.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, v) in &mut x {
            *v /= norm;
        }
    }
    x
}

fn softmax(weights: &[Vec<f32>], x: &[(usize, f32)]) -> Vec<f32> {
    let logits: Vec<f32> =
        weights.iter().map(|row| row[row.len() - 1] + x.iter().map(|&(f, v)| row[f] * v).sum::<f32>()).collect();
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}
