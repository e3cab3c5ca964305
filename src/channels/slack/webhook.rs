//! Slack request verification and parsing: Events API callbacks, slash commands and block
//! actions, all signed with the app's signing secret, read with slack-morphism's models.

use crate::channels::{ChannelKind, ChatAction, ChatEvent, MessageRef};
use crate::config::SlackConfig;
use crate::inbound::{Ack, Headers, Ingress, Repeats, WebhookError};
use slack_morphism::prelude::{
    SlackCommandEvent, SlackEventCallbackBody, SlackInteractionActionContainer, SlackInteractionBlockActionsEvent,
    SlackInteractionEvent, SlackPushEvent, SlackPushEventCallback,
};
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;

pub const SIGNATURE_HEADER: &str = SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER;
pub const TIMESTAMP_HEADER: &str = SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP;
pub const RETRY_HEADER: &str = "x-slack-retry-num";
/// How far a request's timestamp may be from our clock.
pub const WINDOW_SECS: u64 = 300;

/// `v0=` + hex HMAC-SHA256 over `v0:{timestamp}:{body}`, within five minutes of `now_secs`.
/// The window is checked first, on our clock and without overflow for any timestamp; the
/// signature by slack-morphism's constant-time verifier.
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
    // Slack signs text (JSON or a form); bytes that are not UTF-8 cannot carry its signature.
    let body = std::str::from_utf8(body).map_err(|_| WebhookError::BadSignature)?;
    let verifier = SlackEventSignatureVerifier::new(&signing_secret.to_owned().into());
    verifier.verify(signature.trim(), body, timestamp).map_err(|_| WebhookError::BadSignature)
}

/// What a verified Slack request asks of us.
#[derive(Debug, PartialEq, Eq)]
pub enum SlackEvent {
    /// The URL check when the app is set up: echo the challenge.
    UrlVerification(String),
    /// Something a person said or pressed, with the id that names it for dedupe (Slack's
    /// `event_id`; `command:` + trigger id; `action:` + user, action time and value).
    Chat { event_id: String, event: ChatEvent },
    /// A verified request we keep for the record and do not act on (the bot's own messages,
    /// edits, joins, interaction types we do not use, and payloads the model could not read).
    Kept { event_id: String, kind: String },
}

/// Strips the leading `<@BOT>` from a mention.
fn without_mention(text: &str) -> String {
    let trimmed = text.trim_start();
    match trimmed.strip_prefix("<@").and_then(|rest| rest.split_once('>')) {
        Some((_, rest)) => rest.trim().to_owned(),
        None => trimmed.trim().to_owned(),
    }
}

fn said(user: String, channel: String, text: &str, respond_url: Option<String>) -> ChatEvent {
    ChatEvent {
        channel: ChannelKind::Slack,
        user,
        conversation: channel,
        what: ChatAction::Said { text: without_mention(text) },
        respond_url,
        thread: None,
    }
}

/// An Events API body (`url_verification`, `event_callback`).
pub fn parse_event(body: &[u8]) -> Result<SlackEvent, WebhookError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    if !value.is_object() {
        return Err(WebhookError::Malformed("an event must be a JSON object".into()));
    }
    match serde_json::from_value::<SlackPushEvent>(value.clone()) {
        Ok(SlackPushEvent::UrlVerification(check)) => Ok(SlackEvent::UrlVerification(check.challenge)),
        Ok(SlackPushEvent::EventCallback(callback)) => Ok(from_callback(callback)),
        Ok(SlackPushEvent::AppRateLimited(limited)) => {
            tracing::warn!(minute = %limited.minute_rate_limited.0, "Slack is holding back events: the app was rate limited");
            Ok(SlackEvent::Kept {
                event_id: format!("app_rate_limited:{}", limited.minute_rate_limited.0),
                kind: "app_rate_limited".into(),
            })
        }
        Err(err) => Ok(kept_unreadable(&value, &err)),
    }
}

/// A verified body slack-morphism's strict model cannot read is kept, not dropped: Slack adds
/// fields and types faster than any model follows.
fn kept_unreadable(value: &serde_json::Value, err: &serde_json::Error) -> SlackEvent {
    let text = |key: &str| value.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    let kind = text("type").unwrap_or_else(|| "unknown".into());
    tracing::warn!(kind = %kind, error = %err, "kept a Slack payload the model could not read");
    let event_id = text("event_id")
        .or_else(|| text("trigger_id").map(|t| format!("{kind}:{t}")))
        .unwrap_or_else(|| format!("{kind}:{}", crate::signature::sha256_hex(value.to_string().as_bytes())));
    SlackEvent::Kept { event_id, kind: format!("unreadable.{kind}") }
}

/// An `event_callback`, over HTTP or from a Socket Mode envelope: mentions and direct messages
/// from people are chat; everything else is kept.
pub fn from_callback(callback: SlackPushEventCallback) -> SlackEvent {
    let event_id = callback.event_id.0;
    match callback.event {
        SlackEventCallbackBody::AppMention(mention) if mention.edited.is_none() => {
            let text = mention.content.text.unwrap_or_default();
            let mut event = said(mention.user.0, mention.channel.0, &text, None);
            // A mention inside a thread answers the thread's first message.
            event.thread = mention.origin.thread_ts.filter(|t| *t != mention.origin.ts).map(|t| t.0);
            SlackEvent::Chat { event_id, event }
        }
        SlackEventCallbackBody::Message(message) => {
            let direct = message.origin.channel_type.as_ref().is_some_and(|t| t.0 == "im");
            let person = message.sender.bot_id.is_none() && message.subtype.is_none();
            match (direct && person, message.sender.user, message.origin.channel) {
                (true, Some(user), Some(channel)) => {
                    let text = message.content.and_then(|c| c.text).unwrap_or_default();
                    SlackEvent::Chat { event_id, event: said(user.0, channel.0, &text, None) }
                }
                _ => SlackEvent::Kept { event_id, kind: "message".into() },
            }
        }
        other => SlackEvent::Kept { event_id, kind: event_kind(&other) },
    }
}

fn event_kind(body: &SlackEventCallbackBody) -> String {
    serde_json::to_value(body)
        .ok()
        .and_then(|v| v.get("type").and_then(serde_json::Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// A slash command (`/tillpilot TEXT`), form-encoded.
pub fn parse_command(body: &[u8]) -> Result<SlackEvent, WebhookError> {
    let command: SlackCommandEvent =
        serde_urlencoded::from_bytes(body).map_err(|e| WebhookError::Malformed(format!("a slash command: {e}")))?;
    Ok(from_command(command))
}

/// A slash command over HTTP or Socket Mode: its trigger id names it for dedupe, and the
/// answer goes to its `response_url`.
pub fn from_command(command: SlackCommandEvent) -> SlackEvent {
    let text = command.text.unwrap_or_default();
    SlackEvent::Chat {
        event_id: format!("command:{}", command.trigger_id.0),
        event: said(command.user_id.0, command.channel_id.0, &text, Some(command.response_url.0.to_string())),
    }
}

/// An interaction (form field `payload` holding JSON).
pub fn parse_interaction(body: &[u8]) -> Result<SlackEvent, WebhookError> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| WebhookError::Malformed("no payload".into()))?;
    let value: serde_json::Value =
        serde_json::from_str(&payload).map_err(|e| WebhookError::Malformed(format!("the payload: {e}")))?;
    match serde_json::from_value::<SlackInteractionEvent>(value.clone()) {
        Ok(interaction) => from_interaction(interaction),
        Err(err) => Ok(kept_unreadable(&value, &err)),
    }
}

/// A button press (`block_actions`): the button's value is our action. Other interaction types
/// are kept.
pub fn from_interaction(interaction: SlackInteractionEvent) -> Result<SlackEvent, WebhookError> {
    match interaction {
        SlackInteractionEvent::BlockActions(actions) => block_actions(actions),
        other => {
            let kind = serde_json::to_value(&other)
                .ok()
                .and_then(|v| v.get("type").and_then(serde_json::Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| "interaction".into());
            let trigger = serde_json::to_value(&other)
                .ok()
                .and_then(|v| v.get("trigger_id").and_then(serde_json::Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            Ok(SlackEvent::Kept { event_id: format!("{kind}:{trigger}"), kind })
        }
    }
}

fn block_actions(event: SlackInteractionBlockActionsEvent) -> Result<SlackEvent, WebhookError> {
    let user = event.user.ok_or_else(|| WebhookError::Malformed("a button press without a user".into()))?.id.0;
    let (container_channel, container_ts) = match &event.container {
        SlackInteractionActionContainer::Message(m) => (m.channel_id.clone(), Some(m.message_ts.clone())),
        SlackInteractionActionContainer::MessageAttachment(m) => (m.channel_id.clone(), Some(m.message_ts.clone())),
        SlackInteractionActionContainer::View(_) => (None, None),
    };
    let channel = event
        .channel
        .map(|c| c.id)
        .or(container_channel)
        .ok_or_else(|| WebhookError::Malformed("a button press outside a channel".into()))?
        .0;
    let action = event.actions.unwrap_or_default().into_iter().next();
    let Some((value, action_ts)) = action.and_then(|a| Some((a.value?, a.action_ts))) else {
        return Err(WebhookError::Malformed("a button press without a value".into()));
    };
    let action_ts = action_ts.map(|ts| ts.0).unwrap_or_else(|| event.trigger_id.0.clone());
    let message = event.message.map(|m| m.origin.ts).or(container_ts);
    Ok(SlackEvent::Chat {
        event_id: format!("action:{user}:{action_ts}:{value}"),
        event: ChatEvent {
            channel: ChannelKind::Slack,
            user,
            conversation: channel.clone(),
            what: ChatAction::Clicked {
                action: value,
                message: message.map(|ts| MessageRef { channel: ChannelKind::Slack, target: channel, id: ts.0 }),
                callback_id: None,
            },
            respond_url: event.response_url.map(|u| u.0.to_string()),
            thread: None,
        },
    })
}

impl SlackEvent {
    /// The inbox row for this event (`None` for the URL check, which is only answered);
    /// `payload` is kept as received for events we do not act on.
    pub fn into_inbox(self, payload: &str) -> Option<crate::inbound::WebhookEvent> {
        match self {
            SlackEvent::UrlVerification(_) => None,
            SlackEvent::Chat { event_id, event } => Some(crate::channels::inbox_event("slack", event_id, &event)),
            SlackEvent::Kept { event_id, kind } => Some(crate::inbound::WebhookEvent {
                source: "slack",
                event_id,
                event_type: format!("slack.{kind}"),
                object_id: None,
                payload: payload.to_owned(),
            }),
        }
    }
}

/// Slack retries a delivery it did not see acknowledged with the same signature: a verified
/// repeat is acknowledged, not recorded again.
pub const REPEATS: Repeats = Repeats::Acknowledge { signature_header: SIGNATURE_HEADER, window_secs: WINDOW_SECS };

/// Verifies a request to one of the three Slack routes and reads it with `parse`.
fn ingest(
    config: &SlackConfig,
    headers: &dyn Headers,
    body: &[u8],
    now_secs: i64,
    parse: fn(&[u8]) -> Result<SlackEvent, WebhookError>,
) -> Result<Ingress, WebhookError> {
    let (timestamp, signature) = (headers.header(TIMESTAMP_HEADER), headers.header(SIGNATURE_HEADER));
    verify(config.signing_secret.expose(), timestamp, signature, body, now_secs)?;
    Ok(match parse(body)? {
        SlackEvent::UrlVerification(challenge) => {
            Ingress::Answer(Ack::Json(serde_json::json!({ "challenge": challenge })))
        }
        event => Ingress::record(event.into_inbox(&String::from_utf8_lossy(body)).into_iter().collect()),
    })
}

/// `POST /slack/events`.
pub fn ingest_event(
    config: &SlackConfig,
    headers: &dyn Headers,
    body: &[u8],
    now: i64,
) -> Result<Ingress, WebhookError> {
    ingest(config, headers, body, now, parse_event)
}

/// `POST /slack/commands`: the answer follows through the command's `response_url`.
pub fn ingest_command(
    config: &SlackConfig,
    headers: &dyn Headers,
    body: &[u8],
    now: i64,
) -> Result<Ingress, WebhookError> {
    ingest(config, headers, body, now, parse_command)
}

/// `POST /slack/interactions`.
pub fn ingest_interaction(
    config: &SlackConfig,
    headers: &dyn Headers,
    body: &[u8],
    now: i64,
) -> Result<Ingress, WebhookError> {
    ingest(config, headers, body, now, parse_interaction)
}
