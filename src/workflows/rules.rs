//! The shop's rules in plain words ("don't promise delivery dates"): from `policy.rules`, added
//! from chat by the owner, and one for each rule code checks itself (`never_discount_categories`).
//! The LLM is shown them as rules; where code can check a rule it does, whatever the model says.

use crate::channels::{ChannelKind, Reply};
use crate::domain::Person;
use crate::store::StoreError;
use crate::workflows::Shop;

/// The longest rule, in characters.
const MAX_RULE_CHARS: usize = 300;

/// Rules added from chat at most; each one is read by the model on every call.
const MAX_RULES: usize = 30;

/// Every rule in force, as the LLM is told them.
pub async fn in_force(app: &Shop) -> Vec<String> {
    let policy = &app.config.policy;
    let mut rules = policy.rules.clone();
    match app.store.shop_rules().await {
        Ok(added) => rules.extend(added.into_iter().map(|r| r.text)),
        Err(err) => tracing::warn!(error = %err, "the shop's added rules could not be read"),
    }
    if !policy.never_discount_categories.is_empty() {
        rules.push(format!("Never suggest a discount on {}.", policy.never_discount_categories.join(", ")));
    }
    rules
}

/// `rules`: every rule, where it comes from, and the numbers to remove the added ones by.
pub async fn list(app: &Shop) -> Result<Reply, StoreError> {
    let policy = &app.config.policy;
    let added = app.store.shop_rules().await?;
    let mut lines = Vec::new();
    for rule in &policy.rules {
        lines.push(format!("• {rule} (in the config file)"));
    }
    for rule in &added {
        lines.push(format!(
            "{}. {} (added by {}, {})",
            rule.id,
            rule.text,
            rule.added_by,
            super::when(app, rule.added_at_ms)
        ));
    }
    if !policy.never_discount_categories.is_empty() {
        lines.push(format!(
            "• Never suggest a discount on {} (policy.never_discount_categories; checked in code too)",
            policy.never_discount_categories.join(", ")
        ));
    }
    if lines.is_empty() {
        return Ok(Reply::text(
            "The shop has no rules yet. The owner can add one in plain words: rule add don't promise delivery dates",
        ));
    }
    let mut text = format!("The shop's rules, as the assistant is told them:\n{}", lines.join("\n"));
    if !added.is_empty() {
        text.push_str("\n\nThe owner removes a numbered one with \"rule remove N\".");
    }
    Ok(Reply::text(text))
}

/// `rule add <words>` or `rule remove <number>`, for the owner (the command file's roles).
pub async fn change(app: &Shop, person: &Person, channel: ChannelKind, args: &str) -> Result<Reply, StoreError> {
    let args = args.trim();
    let (verb, rest) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
    let rest = rest.trim();
    match verb.to_lowercase().as_str() {
        "add" | "new" => {
            let text = rest.trim_matches(|c: char| c == '"' || c == '\u{201c}' || c == '\u{201d}').trim();
            if text.chars().count() < 3 {
                return Ok(Reply::text("Say the rule in plain words: rule add don't promise delivery dates"));
            }
            if text.chars().count() > MAX_RULE_CHARS {
                return Ok(Reply::text(format!(
                    "That rule is {} characters; keep one under {MAX_RULE_CHARS}, and add another for the rest.",
                    text.chars().count()
                )));
            }
            if app.store.shop_rules().await?.len() >= MAX_RULES {
                return Ok(Reply::text(format!(
                    "The shop has {MAX_RULES} rules already. Remove one first (\"rules\" lists them)."
                )));
            }
            let id = app.store.add_shop_rule(text, &person.name, channel.as_str(), app.clock.now_ms()).await?;
            Ok(Reply::text(format!("Rule {id} added: {text}\nThe assistant follows it from now on.")))
        }
        "remove" | "delete" | "drop" => {
            let Ok(id) = rest.trim_start_matches('#').parse::<i64>() else {
                return Ok(Reply::text("Which one? Say its number from \"rules\": rule remove 2"));
            };
            Ok(match app.store.remove_shop_rule(id, &person.name, channel.as_str(), app.clock.now_ms()).await? {
                Some(text) => Reply::text(format!("Rule {id} removed: {text}")),
                None => Reply::text(format!("There is no rule {id} in force. \"rules\" lists them.")),
            })
        }
        _ => Ok(Reply::text("Say \"rule add\" and the rule in plain words, or \"rule remove\" and its number.")),
    }
}
