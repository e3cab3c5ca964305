//! Discord interactions over HTTP: Ed25519 verification over timestamp + body with serenity's
//! `interactions_endpoint::Verifier` (and our own 300-second window, which Discord's scheme
//! leaves to us), and serenity's `Interaction` model for pings, slash commands and button
//! presses.

use crate::channels::{ChannelKind, ChatAction, ChatEvent, MessageRef};
use crate::config::DiscordConfig;
use crate::inbound::{Ack, Headers, Ingress, Repeats, WebhookError, WebhookEvent};
use serde_json::{Value, json};
use serenity::builder::{CreateInteractionResponse, CreateInteractionResponseMessage};
use serenity::interactions_endpoint::Verifier;
use serenity::model::application::{
    CommandDataOptionValue, CommandInteraction, ComponentInteraction, Interaction as DiscordInteraction,
};

pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
pub const WINDOW_SECS: u64 = 300;

/// The application's public key, from its hex form in the configuration (`None` when it is
/// not a valid Ed25519 key).
pub fn public_key(hex_key: &str) -> Option<Verifier> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim()).ok()?.try_into().ok()?;
    Verifier::try_new(bytes).ok()
}

pub fn verify(
    key: &Verifier,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), WebhookError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else { return Err(WebhookError::BadSignature) };
    if !crate::signature::within_window(timestamp, now_secs, WINDOW_SECS) {
        return Err(WebhookError::BadSignature);
    }
    key.verify(signature.trim(), timestamp, body).map_err(|()| WebhookError::BadSignature)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Interaction {
    Ping,
    /// A slash command or a button press, with the interaction's id (the dedupe key) and token.
    Chat {
        id: String,
        token: String,
        event: Box<ChatEvent>,
        is_click: bool,
    },
    /// A verified interaction we do not handle (autocomplete, modals), or one serenity's model
    /// could not read; kept as received and answered with a note.
    Other {
        id: String,
        kind: i64,
    },
}

/// Fields Discord added after its documentation's examples were written (and that older
/// clients' payloads lack) but that serenity's model requires, filled with Discord's own
/// defaults before reading.
fn with_later_fields(mut value: Value, application_id: &str) -> Value {
    if let Some(object) = value.as_object_mut() {
        let defaults = [
            ("application_id", json!(application_id)),
            ("version", json!(1)),
            ("locale", json!("en-US")),
            ("entitlements", json!([])),
            ("attachment_size_limit", json!(8 * 1024 * 1024)),
        ];
        for (key, default) in defaults {
            object.entry(key).or_insert(default);
        }
        if let Some(member) = object.get_mut("member").and_then(Value::as_object_mut) {
            member.entry("flags").or_insert(json!(0));
            member.entry("deaf").or_insert(json!(false));
            member.entry("mute").or_insert(json!(false));
            member.entry("roles").or_insert(json!([]));
        }
    }
    value
}

/// `application_id` builds the follow-up URL the answer goes through.
pub fn parse(body: &[u8], api_base: &str, application_id: &str) -> Result<Interaction, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let kind = value.get("type").and_then(Value::as_i64).ok_or_else(|| WebhookError::Malformed("no type".into()))?;
    if kind == 1 {
        // Discord checks the endpoint with pings; they are answered whatever else they carry.
        return Ok(Interaction::Ping);
    }
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let webhook = |token: &str| format!("{}/api/v10/webhooks/{application_id}/{token}", api_base.trim_end_matches('/'));
    match serde_json::from_value::<DiscordInteraction>(with_later_fields(value, application_id)) {
        Ok(DiscordInteraction::Ping(_)) => Ok(Interaction::Ping),
        Ok(DiscordInteraction::Command(command)) => Ok(from_command(command, &webhook)),
        Ok(DiscordInteraction::Component(component)) => Ok(from_component(component, &webhook)),
        Ok(other) => Ok(Interaction::Other { id: other.id().to_string(), kind }),
        Err(err) => {
            let id = id.ok_or_else(|| WebhookError::Malformed("an interaction without an id".into()))?;
            tracing::warn!(error = %err, kind, "kept a Discord interaction the model could not read");
            Ok(Interaction::Other { id, kind })
        }
    }
}

/// The person who acted: the guild member in a server, the user in a direct message.
fn who(member: Option<&serenity::model::guild::Member>, user: &serenity::model::user::User) -> String {
    member.map_or(user.id, |m| m.user.id).to_string()
}

fn option_text(value: &CommandDataOptionValue) -> Option<String> {
    Some(match value {
        CommandDataOptionValue::String(s) => s.clone(),
        CommandDataOptionValue::Integer(n) => n.to_string(),
        CommandDataOptionValue::Number(n) => n.to_string(),
        CommandDataOptionValue::Boolean(b) => b.to_string(),
        CommandDataOptionValue::Autocomplete { value, .. } => value.clone(),
        _ => return None,
    })
}

/// A slash command: `/tillpilot text:…` carries free text; `/stock product:…` is the command
/// itself. Its deferred answer is completed by editing it.
fn from_command(command: CommandInteraction, webhook: &dyn Fn(&str) -> String) -> Interaction {
    let options: Vec<String> = command.data.options.iter().filter_map(|o| option_text(&o.value)).collect();
    let name = command.data.name.as_str();
    let text = if name == "tillpilot" { options.join(" ") } else { format!("{name} {}", options.join(" ")) };
    let event = ChatEvent {
        channel: ChannelKind::Discord,
        user: who(command.member.as_deref(), &command.user),
        conversation: command.channel_id.to_string(),
        what: ChatAction::Said { text: text.trim().to_owned() },
        respond_url: Some(format!("{}/messages/@original", webhook(&command.token))),
        thread: None,
    };
    Interaction::Chat { id: command.id.to_string(), token: command.token, event: Box::new(event), is_click: false }
}

/// A button press: answered with a follow-up only the presser sees (the message with the
/// buttons stays as it is until a decision edits it).
fn from_component(component: ComponentInteraction, webhook: &dyn Fn(&str) -> String) -> Interaction {
    let channel = component.channel_id.to_string();
    let event = ChatEvent {
        channel: ChannelKind::Discord,
        user: who(component.member.as_ref(), &component.user),
        conversation: channel.clone(),
        what: ChatAction::Clicked {
            action: component.data.custom_id,
            message: Some(MessageRef {
                channel: ChannelKind::Discord,
                target: channel,
                id: component.message.id.to_string(),
            }),
            callback_id: None,
        },
        respond_url: Some(webhook(&component.token)),
        thread: None,
    };
    Interaction::Chat { id: component.id.to_string(), token: component.token, event: Box::new(event), is_click: true }
}

/// Discord never sends one signature twice: a verified repeat is a replay.
pub const REPEATS: Repeats = Repeats::Refuse { signature_header: SIGNATURE_HEADER, window_secs: WINDOW_SECS };

fn answer(response: &CreateInteractionResponse) -> Ack {
    Ack::Json(serde_json::to_value(response).unwrap_or_default())
}

/// A request to `POST /discord/interactions`: pings are answered, commands and presses
/// recorded and answered with a deferral within Discord's three seconds (the real answer
/// follows through the interaction's webhook), anything else kept and answered with a note.
pub fn ingest(
    config: &DiscordConfig,
    headers: &dyn Headers,
    body: &[u8],
    now_secs: i64,
) -> Result<Ingress, WebhookError> {
    let key = public_key(&config.public_key).ok_or(WebhookError::NotConfigured)?;
    verify(&key, headers.header(TIMESTAMP_HEADER), headers.header(SIGNATURE_HEADER), body, now_secs)?;
    Ok(match parse(body, &config.api_base_url, &config.application_id)? {
        Interaction::Ping => Ingress::Answer(answer(&CreateInteractionResponse::Pong)),
        Interaction::Chat { id, event, is_click, .. } => {
            let deferred = if is_click {
                CreateInteractionResponse::Acknowledge
            } else {
                CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new())
            };
            Ingress::Record {
                events: vec![crate::channels::inbox_event("discord", id, &event)],
                ack: answer(&deferred),
            }
        }
        Interaction::Other { id, kind } => {
            let kept = WebhookEvent {
                source: "discord",
                event_id: id,
                event_type: format!("discord.interaction.{kind}"),
                object_id: None,
                payload: String::from_utf8_lossy(body).into_owned(),
            };
            let note = CreateInteractionResponseMessage::new()
                .content("Tillpilot cannot act on this kind of interaction yet; it has been noted.")
                .ephemeral(true);
            Ingress::Record { events: vec![kept], ack: answer(&CreateInteractionResponse::Message(note)) }
        }
    })
}
