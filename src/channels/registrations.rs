//! What each platform needs to know about our commands, generated from `commands/` so the
//! registrations never drift from what the bot understands, in each platform crate's own
//! model: the Slack app manifest (slack-morphism), the Telegram `setMyCommands` payload
//! (teloxide-core) and the Discord application commands (serenity).

use super::ChannelKind;
use crate::commands::{ArgKind, CommandSet, CommandSpec};
use serde_json::Value;
use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::model::application::CommandOptionType;
use slack_morphism::prelude::{
    SlackApiTokenScope, SlackAppManifest, SlackAppManifestDisplayInformation, SlackAppManifestFeatures,
    SlackAppManifestFeaturesBotUser, SlackAppManifestFeaturesSlashCommand, SlackAppManifestMetadata,
    SlackAppManifestOAuthConfig, SlackAppManifestOAuthConfigScopes, SlackAppManifestSettings,
    SlackAppManifestSettingsEventSubscriptions, SlackAppManifestSettingsInteractivity, SlackEventType,
};
use teloxide_core::payloads::SetMyCommands;
use teloxide_core::types::BotCommand;

/// A model that cannot serialise would be a bug in the crate; it shows as `null`.
fn to_json(model: &impl serde::Serialize) -> Value {
    serde_json::to_value(model).unwrap_or(Value::Null)
}

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
    let url = |path: &str| reqwest::Url::parse(&format!("{base}{path}")).ok();
    let hint: Vec<&str> = on(commands, ChannelKind::Slack).iter().map(|c| c.usage.as_str()).collect();
    let command = SlackAppManifestFeaturesSlashCommand::new(
        "/tillpilot".into(),
        "Ask Tillpilot about stock, orders and more".into(),
    )
    .with_should_escape(false)
    .opt_url(url("/slack/commands"))
    .with_usage_hint(clip(&hint.join(" | "), 1_000));
    let scopes = ["app_mentions:read", "chat:write", "commands", "files:write", "im:history", "im:read", "im:write"]
        .map(|s| SlackApiTokenScope::new(s.into()));
    let description = clip(&format!("Operations assistant for {shop}: stock, orders, summaries and approvals."), 140);
    let events = ["app_mention", "message.im"].map(|e| SlackEventType::new(e.into()));
    let manifest = SlackAppManifest::new(
        SlackAppManifestDisplayInformation::new("Tillpilot".into()).with_description(description),
    )
    .with_metadata(SlackAppManifestMetadata::new().with_major_version(1).with_minor_version(1))
    .with_features(
        SlackAppManifestFeatures::new()
            .with_bot_user(SlackAppManifestFeaturesBotUser::new("Tillpilot".into(), true))
            .with_slash_commands(vec![command]),
    )
    .with_oauth_config(
        SlackAppManifestOAuthConfig::new()
            .with_scopes(SlackAppManifestOAuthConfigScopes::new().with_bot(scopes.to_vec())),
    )
    .with_settings(
        SlackAppManifestSettings::new()
            .with_event_subscriptions(
                SlackAppManifestSettingsEventSubscriptions::new()
                    .opt_request_url(url("/slack/events"))
                    .with_bot_events(events.to_vec()),
            )
            .with_interactivity(
                SlackAppManifestSettingsInteractivity::new(true).opt_request_url(url("/slack/interactions")),
            )
            .with_org_deploy_enabled(false)
            .with_socket_mode_enabled(false),
    );
    to_json(&manifest)
}

/// Telegram's `setMyCommands` body: lower-case names up to 32 characters, descriptions up to 256.
pub fn telegram_commands(commands: &CommandSet) -> Value {
    let list = on(commands, ChannelKind::Telegram)
        .iter()
        .map(|c| BotCommand::new(clip(&c.name.to_lowercase().replace('-', "_"), 32), clip(&c.summary, 256)))
        .collect::<Vec<_>>();
    to_json(&SetMyCommands::new(list))
}

/// Discord application commands (`PUT /applications/{id}/commands`): one per command with its
/// arguments as options, and `/tillpilot` for free text.
pub fn discord_commands(commands: &CommandSet) -> Value {
    let mut list: Vec<CreateCommand> = on(commands, ChannelKind::Discord)
        .iter()
        .map(|c| {
            let command = CreateCommand::new(clip(&c.name.to_lowercase(), 32)).description(clip(&c.summary, 100));
            c.args.iter().fold(command, |command, a| {
                let kind =
                    if a.kind == ArgKind::Integer { CommandOptionType::Integer } else { CommandOptionType::String };
                let option =
                    CreateCommandOption::new(kind, clip(&a.name.to_lowercase(), 32), clip(&a.description, 100))
                        .required(a.required);
                command.add_option(option)
            })
        })
        .collect();
    let text = CreateCommandOption::new(CommandOptionType::String, "text", "What you want to know").required(true);
    list.push(CreateCommand::new("tillpilot").description("Ask Tillpilot anything it can help with").add_option(text));
    to_json(&list)
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
