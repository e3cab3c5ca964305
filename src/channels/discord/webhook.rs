//! Discord interactions over HTTP: Ed25519 verification over timestamp + body (with our own
//! 300-second window, which Discord's scheme leaves to us), and parsing of pings, slash
//! commands and button presses.

use crate::channels::{ChannelKind, ChatAction, ChatEvent, MessageRef};
use crate::inbound::WebhookError;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::Value;

pub const SIGNATURE_HEADER: &str = "x-signature-ed25519";
pub const TIMESTAMP_HEADER: &str = "x-signature-timestamp";
pub const WINDOW_SECS: u64 = 300;

/// The application's public key, from its hex form in the configuration.
pub fn public_key(hex_key: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

pub fn verify(
    key: &VerifyingKey,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), WebhookError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else { return Err(WebhookError::BadSignature) };
    if !crate::signature::within_window(timestamp, now_secs, WINDOW_SECS) {
        return Err(WebhookError::BadSignature);
    }
    let bytes: [u8; 64] =
        hex::decode(signature.trim()).ok().and_then(|b| b.try_into().ok()).ok_or(WebhookError::BadSignature)?;
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify(&message, &Signature::from_bytes(&bytes)).map_err(|_| WebhookError::BadSignature)
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
    /// A verified interaction we do not handle (autocomplete, modals).
    Other {
        id: String,
        kind: i64,
    },
}

/// `application_id` builds the follow-up URL the answer goes through.
pub fn parse(body: &[u8], api_base: &str, application_id: &str) -> Result<Interaction, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let kind = value.get("type").and_then(Value::as_i64).ok_or_else(|| WebhookError::Malformed("no type".into()))?;
    if kind == 1 {
        return Ok(Interaction::Ping);
    }
    let s = |pointer: &str| value.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    let id = s("/id").ok_or_else(|| WebhookError::Malformed("no id".into()))?;
    let token = s("/token").ok_or_else(|| WebhookError::Malformed("no token".into()))?;
    let user =
        s("/member/user/id").or_else(|| s("/user/id")).ok_or_else(|| WebhookError::Malformed("no user".into()))?;
    let channel =
        s("/channel_id").or_else(|| s("/channel/id")).or_else(|| s("/message/channel_id")).unwrap_or_default();
    // A command's deferred answer is completed by editing it; a button press is answered with
    // a follow-up only the presser sees (the message with the buttons stays as it is).
    let webhook = format!("{}/api/v10/webhooks/{application_id}/{token}", api_base.trim_end_matches('/'));
    let respond_url = Some(if kind == 3 { webhook } else { format!("{webhook}/messages/@original") });
    let (what, is_click) = match kind {
        2 => {
            let name = s("/data/name").unwrap_or_default();
            let options: Vec<String> = value
                .pointer("/data/options")
                .and_then(Value::as_array)
                .map(|o| {
                    o.iter()
                        .filter_map(|o| o.get("value"))
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            // `/tillpilot text:…` carries free text; `/stock product:…` is the command itself.
            let text = if name == "tillpilot" { options.join(" ") } else { format!("{name} {}", options.join(" ")) };
            (ChatAction::Said { text: text.trim().to_owned() }, false)
        }
        3 => {
            let action = s("/data/custom_id").ok_or_else(|| WebhookError::Malformed("no custom_id".into()))?;
            let message =
                s("/message/id").map(|m| MessageRef { channel: ChannelKind::Discord, target: channel.clone(), id: m });
            (ChatAction::Clicked { action, message, callback_id: None }, true)
        }
        other => return Ok(Interaction::Other { id, kind: other }),
    };
    Ok(Interaction::Chat {
        id,
        token,
        event: Box::new(ChatEvent { channel: ChannelKind::Discord, user, conversation: channel, what, respond_url }),
        is_click,
    })
}
