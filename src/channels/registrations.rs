//! What each platform needs to know about our commands, generated from `commands/` so the
//! registrations never drift from what the bot understands: the Slack app manifest, the
//! Telegram `setMyCommands` payload and the Discord application commands.

use super::ChannelKind;
use crate::commands::{ArgKind, CommandSet, CommandSpec};
use serde_json::{Value, json};

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn on(commands: &CommandSet, channel: ChannelKind) -> Vec<&CommandSpec> {
    commands.all().iter().filter(|c| c.channels.contains(&channel)).collect()
}

/// The Slack app manifest (JSON, which Slack's manifest editor accepts): one `/tillpilot`
/// command for free text, the events and interactivity URLs, and the bot scopes the bot uses.
pub fn slack_manifest(commands: &CommandSet, shop: &str, public_url: &str) -> Value {
    let base = public_url.trim_end_matches('/');
    let hint: Vec<&str> = on(commands, ChannelKind::Slack).iter().map(|c| c.usage.as_str()).collect();
    json!({
        "_metadata": { "major_version": 1, "minor_version": 1 },
        "display_information": {
            "name": "Tillpilot",
            "description": clip(&format!("Operations assistant for {shop}: stock, orders, summaries and approvals."), 140),
        },
        "features": {
            "bot_user": { "display_name": "Tillpilot", "always_online": true },
            "slash_commands": [{
                "command": "/tillpilot",
                "url": format!("{base}/slack/commands"),
                "description": "Ask Tillpilot about stock, orders and more",
                "usage_hint": clip(&hint.join(" | "), 1_000),
                "should_escape": false,
            }],
        },
        "oauth_config": { "scopes": { "bot": [
            "app_mentions:read", "chat:write", "commands", "files:write", "im:history", "im:read", "im:write"
        ] } },
        "settings": {
            "event_subscriptions": { "request_url": format!("{base}/slack/events"), "bot_events": ["app_mention", "message.im"] },
            "interactivity": { "is_enabled": true, "request_url": format!("{base}/slack/interactions") },
            "org_deploy_enabled": false,
            "socket_mode_enabled": false,
            "token_rotation_enabled": false,
        },
    })
}

/// Telegram's `setMyCommands` body: lower-case names up to 32 characters, descriptions up to 256.
pub fn telegram_commands(commands: &CommandSet) -> Value {
    let list: Vec<Value> = on(commands, ChannelKind::Telegram)
        .iter()
        .map(|c| json!({ "command": clip(&c.name.to_lowercase().replace('-', "_"), 32), "description": clip(&c.summary, 256) }))
        .collect();
    json!({ "commands": list })
}

/// Discord application commands (`PUT /applications/{id}/commands`): one per command with its
/// arguments as string options, and `/tillpilot` for free text.
pub fn discord_commands(commands: &CommandSet) -> Value {
    let mut list: Vec<Value> = on(commands, ChannelKind::Discord)
        .iter()
        .map(|c| {
            let options: Vec<Value> = c
                .args
                .iter()
                .map(|a| {
                    let kind = if a.kind == ArgKind::Integer { 4 } else { 3 };
                    json!({ "type": kind, "name": clip(&a.name.to_lowercase(), 32), "description": clip(&a.description, 100),
                        "required": a.required })
                })
                .collect();
            json!({ "name": clip(&c.name.to_lowercase(), 32), "type": 1, "description": clip(&c.summary, 100), "options": options })
        })
        .collect();
    list.push(json!({ "name": "tillpilot", "type": 1, "description": "Ask Tillpilot anything it can help with",
        "options": [{ "type": 3, "name": "text", "description": "What you want to know", "required": true }] }));
    Value::Array(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_come_from_the_command_files() {
        let commands = CommandSet::embedded().unwrap();
        let manifest = slack_manifest(&commands, "Corner Store", "https://bot.example.com/");
        assert_eq!(manifest["settings"]["event_subscriptions"]["request_url"], "https://bot.example.com/slack/events");
        assert_eq!(manifest["features"]["slash_commands"][0]["url"], "https://bot.example.com/slack/commands");
        let telegram = telegram_commands(&commands);
        let names: Vec<&str> =
            telegram["commands"].as_array().unwrap().iter().map(|c| c["command"].as_str().unwrap()).collect();
        assert!(names.contains(&"stock") && names.contains(&"order"), "{names:?}");
        let discord = discord_commands(&commands);
        let stock = discord.as_array().unwrap().iter().find(|c| c["name"] == "stock").unwrap();
        assert_eq!(stock["options"][0]["name"], "product");
        assert_eq!(stock["options"][0]["required"], true);
        assert!(discord.as_array().unwrap().iter().any(|c| c["name"] == "tillpilot"));
    }
}
