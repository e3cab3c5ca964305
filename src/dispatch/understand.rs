//! From message text to an intent, locally: a slash-style command when the message starts with
//! one, otherwise entity extraction and the intent classifier. When the classifier is unsure
//! and an LLM is configured, the assistant (`assistant.rs`) gets the message next.

use crate::nlu::{Entities, IntentScore};
use crate::workflows::Shop;

/// Confidence at or above which the classifier's answer is taken as it is.
pub const CONFIDENT: f32 = 0.55;

#[derive(Clone, Debug, PartialEq)]
pub enum Understanding {
    /// Run this command on these entities.
    Command { name: String, args: String, entities: Entities },
    /// Unsure between a few commands: ask which.
    Unsure { options: Vec<IntentScore>, entities: Entities, text: String },
    /// Not something any command does.
    Nothing { entities: Entities },
}

impl Understanding {
    pub fn entities(&self) -> &Entities {
        match self {
            Understanding::Command { entities, .. }
            | Understanding::Unsure { entities, .. }
            | Understanding::Nothing { entities } => entities,
        }
    }
}

/// `/stock oat milk` or `stock oat milk` → `("stock", "oat milk")` when `stock` is a command;
/// a message naming `PO-1043` → `("po", the whole message)`.
pub fn split_command<'a>(app: &Shop, text: &'a str) -> Option<(String, &'a str)> {
    let trimmed = text.trim_start();
    let body = trimmed.strip_prefix('/').unwrap_or(trimmed);
    let body = body.strip_prefix("tillpilot ").unwrap_or(body);
    let end = body.find(char::is_whitespace).unwrap_or(body.len());
    let word = body[..end].to_lowercase();
    // A message that names a purchase order by its number (`PO-1043`, ours alone) is about
    // that order: "PO-1043 oat milk 24", "drop brie from PO-1043".
    let names_po = |w: &str| {
        let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-').to_lowercase();
        w.strip_prefix("po-").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    if app.commands.get(&word).is_none() && body.split_whitespace().any(names_po) {
        return app.commands.get("po").map(|c| (c.name.clone(), body.trim()));
    }
    app.commands.get(&word).map(|c| (c.name.clone(), body[end..].trim()))
}

pub async fn understand(app: &Shop, text: &str) -> Understanding {
    let view = app.catalog();
    if let Some((name, args)) = split_command(app, text) {
        let entities = Entities::extract(args, &view.index, &view.locations);
        return Understanding::Command { name, args: args.to_owned(), entities };
    }
    let entities = Entities::extract(text, &view.index, &view.locations);
    let scores = app.classifier.classify(&entities.delexicalized);
    let Some(best) = scores.first().cloned() else { return Understanding::Nothing { entities } };
    let sure = best.probability >= CONFIDENT;
    if let (true, Some(name)) = (sure, &best.intent) {
        return Understanding::Command { name: name.clone(), args: text.to_owned(), entities };
    }
    if sure {
        return Understanding::Nothing { entities };
    }
    let options: Vec<IntentScore> =
        scores.into_iter().filter(|s| s.intent.is_some() && s.probability >= 0.15).take(3).collect();
    if options.is_empty() {
        Understanding::Nothing { entities }
    } else {
        Understanding::Unsure { options, entities, text: text.to_owned() }
    }
}
