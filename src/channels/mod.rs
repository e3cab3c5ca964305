//! Where people talk to the bot, and the one outgoing message model every channel renders
//! (ARCHITECTURE.md section 7): text, labelled fields, an optional PNG, and buttons whose action
//! is either a command to send back (a choice) or a signed approval token.

pub mod discord;
pub mod registrations;
pub mod slack;
pub mod sms;
pub mod telegram;
pub mod terminal;
pub mod wire;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The channel a message arrived on or is sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Terminal,
    Slack,
    Telegram,
    Discord,
    Sms,
    Http,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 6] = [
        ChannelKind::Terminal,
        ChannelKind::Slack,
        ChannelKind::Telegram,
        ChannelKind::Discord,
        ChannelKind::Sms,
        ChannelKind::Http,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Terminal => "terminal",
            ChannelKind::Slack => "slack",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Discord => "discord",
            ChannelKind::Sms => "sms",
            ChannelKind::Http => "http",
        }
    }

    pub fn parse(text: &str) -> Option<ChannelKind> {
        ChannelKind::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    #[serde(default)]
    pub fields: Vec<ReplyField>,
    #[serde(default)]
    pub image: Option<ReplyImage>,
    #[serde(default)]
    pub actions: Vec<Button>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyField {
    pub label: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyImage {
    pub alt: String,
    /// PNG bytes, base64-encoded in JSON.
    pub png_base64: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    #[default]
    Default,
    Primary,
    Danger,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    pub style: ButtonStyle,
    /// What pressing the button sends: a command line (`stock id:ITEM-001`) for a choice, or a
    /// signed approval token.
    pub action: String,
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Reply {
        Reply { text: text.into(), ..Reply::default() }
    }

    pub fn field(mut self, label: impl Into<String>, value: impl Into<String>) -> Reply {
        self.fields.push(ReplyField { label: label.into(), value: value.into() });
        self
    }

    /// Adds a choice: a button that sends `action` back as if the person had typed it.
    pub fn choice(mut self, label: impl Into<String>, action: impl Into<String>) -> Reply {
        self.actions.push(Button { label: label.into(), style: ButtonStyle::Default, action: action.into() });
        self
    }
}

impl Reply {
    /// The text with fields and choices folded in, for channels that show plain text only
    /// (notifications, SMS, logs).
    pub fn plain(&self) -> String {
        terminal::render(self)
    }
}

/// A message a channel has posted, so it can be edited later (Slack `channel` + `ts`,
/// Telegram `chat_id` + `message_id`, Discord channel + message id, an SMS number + sid).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: ChannelKind,
    pub target: String,
    pub id: String,
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

/// What a person did on a chat platform, once verified and parsed: the same shape for every
/// platform, so one worker handles them all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatEvent {
    pub channel: ChannelKind,
    /// The platform's id for the person (Slack user, Telegram user, Discord user, phone).
    pub user: String,
    /// Where to answer: the Slack channel, Telegram chat, Discord channel or phone number.
    pub conversation: String,
    pub what: ChatAction,
    /// A short-lived URL to answer through instead of posting (Slack `response_url`, Discord
    /// interaction webhook).
    pub respond_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatAction {
    /// Typed text (a message, a mention, a slash command's text).
    Said { text: String },
    /// A button pressed on one of our messages.
    Clicked {
        action: String,
        message: Option<MessageRef>,
        /// Telegram's callback query id, answered so the client stops its spinner.
        callback_id: Option<String>,
    },
}

/// The inbox row for a chat event: the platform's id for it is the dedupe key, and events of
/// one conversation are processed in order.
pub fn inbox_event(source: &'static str, event_id: String, event: &ChatEvent) -> crate::pos::webhook::WebhookEvent {
    let kind = match event.what {
        ChatAction::Said { .. } => "chat.said",
        ChatAction::Clicked { .. } => "chat.clicked",
    };
    crate::pos::webhook::WebhookEvent {
        source,
        event_id,
        event_type: kind.to_owned(),
        object_id: Some(format!("{}:{}", event.channel, event.conversation)),
        // Serialising these plain structs cannot fail.
        payload: serde_json::to_string(event).unwrap_or_default(),
    }
}

/// Records chat events in the inbox (outside the group-committing intake: the Telegram poller
/// and tests).
pub async fn record(
    store: &crate::store::Store,
    events: &[crate::pos::webhook::WebhookEvent],
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
