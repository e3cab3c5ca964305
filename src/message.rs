//! The one message model every channel renders (ARCHITECTURE.md section 7): text, labelled
//! fields, an optional PNG, and buttons whose action is either a command to send back (a
//! choice) or a signed approval token; and what a person did on a chat platform, the same
//! shape for every platform.

use serde::{Deserialize, Serialize};
use std::fmt;

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
    /// Email to a vendor (purchase orders), sent through `[smtp]`.
    Email,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 7] = [
        ChannelKind::Terminal,
        ChannelKind::Slack,
        ChannelKind::Telegram,
        ChannelKind::Discord,
        ChannelKind::Sms,
        ChannelKind::Http,
        ChannelKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Terminal => "terminal",
            ChannelKind::Slack => "slack",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Discord => "discord",
            ChannelKind::Sms => "sms",
            ChannelKind::Http => "http",
            ChannelKind::Email => "email",
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

/// A message a channel has posted, so it can be edited later (Slack `channel` + `ts`,
/// Telegram `chat_id` + `message_id`, Discord channel + message id, an SMS number + sid).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: ChannelKind,
    pub target: String,
    pub id: String,
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
    /// The id of the message this one answers, in the same conversation: a Slack thread's
    /// parent `ts`, the Telegram message replied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
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
