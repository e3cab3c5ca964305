//! Slack request verification and parsing: Events API callbacks, slash commands and block
//! actions, all signed with the app's signing secret.

use crate::channels::{ChannelKind, ChatAction, ChatEvent, MessageRef};
use crate::inbound::WebhookError;
use crate::signature::{hmac_sha256_hex, secrets_equal};
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const RETRY_HEADER: &str = "x-slack-retry-num";
/// How far a request's timestamp may be from our clock.
pub const WINDOW_SECS: u64 = 300;

/// `v0=` + hex HMAC-SHA256 over `v0:{timestamp}:{body}`, within five minutes of `now_secs`.
pub fn verify(
    signing_secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), WebhookError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else { return Err(WebhookError::BadSignature) };
    if !crate::signature::within_window(timestamp, now_secs, WINDOW_SECS) {
        return Err(WebhookError::BadSignature);
    }
    let expected =
        format!("v0={}", hmac_sha256_hex(signing_secret.as_bytes(), &[b"v0:", timestamp.as_bytes(), b":", body]));
    if secrets_equal(expected.as_bytes(), signature.trim().as_bytes()) {
        Ok(())
    } else {
        Err(WebhookError::BadSignature)
    }
}

/// What an Events API request asks of us.
#[derive(Debug, PartialEq, Eq)]
pub enum SlackEvent {
    /// The URL check when the app is set up: echo the challenge.
    UrlVerification(String),
    /// Something a person said to the bot, with Slack's event id for dedupe.
    Chat { event_id: String, event: ChatEvent },
    /// A verified event we do not act on (the bot's own messages, edits, joins).
    Ignored { event_id: String, event_type: String },
}

/// Strips the leading `<@BOT>` from a mention.
fn without_mention(text: &str) -> String {
    let trimmed = text.trim_start();
    match trimmed.strip_prefix("<@").and_then(|rest| rest.split_once('>')) {
        Some((_, rest)) => rest.trim().to_owned(),
        None => trimmed.trim().to_owned(),
    }
}

pub fn parse_event(body: &[u8]) -> Result<SlackEvent, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    match value.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            let challenge = text(&value, "challenge").ok_or_else(|| WebhookError::Malformed("no challenge".into()))?;
            Ok(SlackEvent::UrlVerification(challenge))
        }
        Some("event_callback") => {
            let event_id = text(&value, "event_id").ok_or_else(|| WebhookError::Malformed("no event_id".into()))?;
            let event = value.get("event").ok_or_else(|| WebhookError::Malformed("no event".into()))?;
            let event_type = text(event, "type").unwrap_or_default();
            let from_a_person = event.get("bot_id").is_none() && event.get("subtype").is_none();
            let direct = event_type == "message" && event.get("channel_type").and_then(Value::as_str) == Some("im");
            if !(from_a_person && (event_type == "app_mention" || direct)) {
                return Ok(SlackEvent::Ignored { event_id, event_type });
            }
            let (Some(user), Some(channel)) = (text(event, "user"), text(event, "channel")) else {
                return Err(WebhookError::Malformed("a message without user or channel".into()));
            };
            let said = without_mention(&text(event, "text").unwrap_or_default());
            Ok(SlackEvent::Chat {
                event_id,
                event: ChatEvent {
                    channel: ChannelKind::Slack,
                    user,
                    conversation: channel,
                    what: ChatAction::Said { text: said },
                    respond_url: None,
                },
            })
        }
        Some(other) => Ok(SlackEvent::Ignored { event_id: String::new(), event_type: other.to_owned() }),
        None => Err(WebhookError::Malformed("no type".into())),
    }
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A slash command (`/tillpilot TEXT`): its trigger id names it for dedupe.
pub fn parse_command(body: &[u8]) -> Result<(String, ChatEvent), WebhookError> {
    command_from_fields(&form(body))
}

/// A slash command from its fields (form-encoded over HTTP, a JSON object in Socket Mode).
pub fn command_from_fields(fields: &[(String, String)]) -> Result<(String, ChatEvent), WebhookError> {
    let (Some(user), Some(channel)) = (field(fields, "user_id"), field(fields, "channel_id")) else {
        return Err(WebhookError::Malformed("a command without user_id or channel_id".into()));
    };
    let id = field(fields, "trigger_id").map_or_else(|| format!("{user}:{channel}:{}", fields.len()), str::to_owned);
    Ok((
        id,
        ChatEvent {
            channel: ChannelKind::Slack,
            user: user.to_owned(),
            conversation: channel.to_owned(),
            what: ChatAction::Said { text: field(fields, "text").unwrap_or_default().trim().to_owned() },
            respond_url: field(fields, "response_url").map(str::to_owned),
        },
    ))
}

/// A button press (`block_actions`): the button's value is our action.
pub fn parse_interaction(body: &[u8]) -> Result<(String, ChatEvent), WebhookError> {
    let fields = form(body);
    let payload = field(&fields, "payload").ok_or_else(|| WebhookError::Malformed("no payload".into()))?;
    let value: Value = serde_json::from_str(payload).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    interaction_from_json(&value)
}

/// A `block_actions` payload (form field `payload` over HTTP, the envelope's payload in Socket
/// Mode).
pub fn interaction_from_json(value: &Value) -> Result<(String, ChatEvent), WebhookError> {
    if value.get("type").and_then(Value::as_str) != Some("block_actions") {
        return Err(WebhookError::Malformed("not a block_actions payload".into()));
    }
    let s = |pointer: &str| value.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    let user = s("/user/id").ok_or_else(|| WebhookError::Malformed("no user".into()))?;
    let channel = s("/channel/id")
        .or_else(|| s("/container/channel_id"))
        .ok_or_else(|| WebhookError::Malformed("no channel".into()))?;
    let action = s("/actions/0/value").ok_or_else(|| WebhookError::Malformed("no action value".into()))?;
    let action_ts = s("/actions/0/action_ts").unwrap_or_default();
    let message = s("/message/ts").or_else(|| s("/container/message_ts"));
    Ok((
        format!("{user}:{action_ts}:{action}"),
        ChatEvent {
            channel: ChannelKind::Slack,
            user,
            conversation: channel.clone(),
            what: ChatAction::Clicked {
                action,
                message: message.map(|ts| MessageRef { channel: ChannelKind::Slack, target: channel, id: ts }),
                callback_id: None,
            },
            respond_url: s("/response_url"),
        },
    ))
}
