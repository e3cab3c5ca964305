//! Where people talk to the bot: one adapter per platform rendering the one message model
//! (`crate::message`, ARCHITECTURE.md section 7) and posting, editing and answering through
//! the platform's API.

pub mod discord;
pub mod registrations;
pub mod slack;
pub mod sms;
pub mod telegram;
pub mod terminal;
pub mod wire;

pub use crate::message::{
    Button, ButtonStyle, ChannelKind, ChatAction, ChatEvent, MessageRef, Reply, ReplyField, ReplyImage,
};

use async_trait::async_trait;
use std::time::Duration;

impl Reply {
    /// The text with fields and choices folded in, for channels that show plain text only
    /// (notifications, SMS, logs).
    pub fn plain(&self) -> String {
        terminal::render(self)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("the platform asked us to slow down (retry after {0:?})")]
    RateLimited(Duration),
    #[error("the platform could not be reached: {0}")]
    Unavailable(String),
    /// Permanent: a bad target, a message that cannot be edited, a number that opted out.
    #[error("the platform refused the message: {0}")]
    Rejected(String),
}

impl ChannelError {
    /// Whether trying again later can help.
    pub fn is_transient(&self) -> bool {
        !matches!(self, ChannelError::Rejected(_))
    }
}

/// Somewhere the bot can post to and edit in.
#[async_trait]
pub trait Channel: Send + Sync {
    fn kind(&self) -> ChannelKind;

    /// Posts `reply` to `target` (a channel, chat or phone number); returns the message id.
    async fn post(&self, target: &str, reply: &Reply) -> Result<String, ChannelError>;

    /// Replaces a posted message with `reply` (its buttons go when `reply` has none).
    async fn edit(&self, message: &MessageRef, reply: &Reply) -> Result<(), ChannelError>;

    /// Answers through a platform's short-lived reply URL (Slack `response_url`, a Discord
    /// interaction token), replacing the original message when `replace`.
    async fn respond(&self, url: &str, reply: &Reply, replace: bool) -> Result<(), ChannelError> {
        let _ = (url, reply, replace);
        Err(ChannelError::Rejected(format!("{} has no reply URLs", self.kind())))
    }

    /// Tells the platform a button press was seen (Telegram's answerCallbackQuery), with a
    /// short note for the person who pressed it.
    async fn acknowledge(&self, callback_id: &str, note: &str) -> Result<(), ChannelError> {
        let _ = (callback_id, note);
        Ok(())
    }
}

/// The inbox row for a chat event: the platform's id for it is the dedupe key, and events of
/// one conversation are processed in order. What was said is stored with card numbers, card
/// codes and secrets masked (`nlu::text::mask_sensitive`): the inbox never holds them.
pub fn inbox_event(source: &'static str, event_id: String, event: &ChatEvent) -> crate::inbound::WebhookEvent {
    let kind = match event.what {
        ChatAction::Said { .. } => "chat.said",
        ChatAction::Clicked { .. } => "chat.clicked",
    };
    let masked;
    let event = match &event.what {
        ChatAction::Said { text } => {
            masked =
                ChatEvent { what: ChatAction::Said { text: crate::nlu::text::mask_sensitive(text) }, ..event.clone() };
            &masked
        }
        ChatAction::Clicked { .. } => event,
    };
    crate::inbound::WebhookEvent {
        source,
        event_id,
        event_type: kind.to_owned(),
        object_id: Some(format!("{}:{}", event.channel, event.conversation)),
        // Serialising these plain structs cannot fail.
        payload: serde_json::to_string(event).unwrap_or_default(),
    }
}

/// What a recorded chat event asks of the inbox worker: an answer to what was said or
/// pressed; events kept for the record ask nothing. `None` when `source` is not a chat
/// platform.
pub fn effect_of(source: &str, event_type: &str, payload: &str) -> Option<Result<crate::inbound::Effect, String>> {
    if !matches!(source, "slack" | "telegram" | "discord" | "sms") {
        return None;
    }
    Some(match event_type {
        "chat.said" | "chat.clicked" => serde_json::from_str::<ChatEvent>(payload)
            .map(|event| crate::inbound::Effect::Chat(Box::new(event)))
            .map_err(|e| format!("a recorded chat event: {e}")),
        _ => Ok(crate::inbound::Effect::NOT_ACTED_ON),
    })
}

/// Records chat events in the inbox (outside the group-committing intake: the Telegram poller
/// and tests).
pub async fn record(
    store: &crate::store::Store,
    events: &[crate::inbound::WebhookEvent],
) -> Result<(), crate::store::StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut tx = store.begin().await?;
    store.receive_events(&mut tx, events, crate::store::now_ms()).await?;
    tx.commit().await?;
    Ok(())
}

/// The channels this shop has configured, by kind.
#[derive(Clone, Default)]
pub struct Channels {
    by_kind: std::collections::HashMap<ChannelKind, std::sync::Arc<dyn Channel>>,
}

impl Channels {
    pub fn insert(&mut self, channel: std::sync::Arc<dyn Channel>) {
        self.by_kind.insert(channel.kind(), channel);
    }

    pub fn get(&self, kind: ChannelKind) -> Option<&std::sync::Arc<dyn Channel>> {
        self.by_kind.get(&kind)
    }

    /// Builds a client for every channel section present in the configuration.
    pub fn from_config(config: &crate::config::Config) -> Result<Channels, ChannelError> {
        let mut channels = Channels::default();
        if let Some(slack) = &config.slack {
            let client = slack::client::SlackClient::new(&slack.api_base_url, slack.bot_token.clone())?;
            channels.insert(std::sync::Arc::new(slack::SlackChannel::new(client)));
        }
        if let Some(telegram) = &config.telegram {
            let client = telegram::client::TelegramClient::new(&telegram.api_url, telegram.bot_token.clone())?;
            channels.insert(std::sync::Arc::new(telegram::TelegramChannel { client }));
        }
        if let Some(discord) = &config.discord {
            let client = discord::client::DiscordClient::new(&discord.api_base_url, discord.bot_token.clone())?;
            channels.insert(std::sync::Arc::new(discord::DiscordChannel { client }));
        }
        if let Some(twilio) = &config.twilio {
            let client = sms::client::TwilioClient::new(
                &twilio.api_base_url,
                &twilio.account_sid,
                twilio.auth_token.clone(),
                twilio.from.as_str(),
            )?;
            channels.insert(std::sync::Arc::new(sms::SmsChannel { client }));
        }
        Ok(channels)
    }
}
