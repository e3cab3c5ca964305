//! Telegram updates: verification of webhook deliveries, and parsing of messages and button
//! presses (callback queries) from webhook or long-polling updates alike.

use crate::channels::{ChannelKind, ChatAction, ChatEvent, MessageRef};
use crate::inbound::WebhookError;
use crate::signature::secrets_equal;
use serde_json::Value;

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The `secret_token` given to setWebhook, compared in constant time.
pub fn verify(expected: &str, given: Option<&str>) -> Result<(), WebhookError> {
    match given {
        Some(given) if secrets_equal(given.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(WebhookError::BadSignature),
    }
}

/// The update's id, and what a person did (None for updates we do not act on).
pub fn parse_update(update: &Value) -> Result<(i64, Option<ChatEvent>), WebhookError> {
    let id = update
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| WebhookError::Malformed("no update_id".into()))?;
    let number = |v: &Value, pointer: &str| v.pointer(pointer).and_then(Value::as_i64);
    if let Some(message) = update.get("message") {
        let (Some(user), Some(chat)) = (number(message, "/from/id"), number(message, "/chat/id")) else {
            return Ok((id, None));
        };
        let Some(text) = message.get("text").and_then(Value::as_str) else { return Ok((id, None)) };
        // `/stock oat milk` and `/stock@ShopBot oat milk` are commands; the rest is said as is.
        let text = match text.strip_prefix('/') {
            Some(command) => {
                let (head, rest) = command.split_once(' ').unwrap_or((command, ""));
                let name = head.split('@').next().unwrap_or(head);
                if name == "start" { "help".to_owned() } else { format!("{name} {rest}").trim().to_owned() }
            }
            None => text.to_owned(),
        };
        return Ok((
            id,
            Some(ChatEvent {
                channel: ChannelKind::Telegram,
                user: user.to_string(),
                conversation: chat.to_string(),
                what: ChatAction::Said { text },
                respond_url: None,
            }),
        ));
    }
    if let Some(query) = update.get("callback_query") {
        let callback_id = query.get("id").and_then(Value::as_str).map(str::to_owned);
        let (Some(user), Some(data)) = (number(query, "/from/id"), query.get("data").and_then(Value::as_str)) else {
            return Ok((id, None));
        };
        let chat = number(query, "/message/chat/id");
        let message_id = number(query, "/message/message_id");
        let conversation = chat.map_or_else(|| user.to_string(), |c| c.to_string());
        return Ok((
            id,
            Some(ChatEvent {
                channel: ChannelKind::Telegram,
                user: user.to_string(),
                conversation: conversation.clone(),
                what: ChatAction::Clicked {
                    action: data.to_owned(),
                    message: message_id.map(|m| MessageRef {
                        channel: ChannelKind::Telegram,
                        target: conversation,
                        id: m.to_string(),
                    }),
                    callback_id,
                },
                respond_url: None,
            }),
        ));
    }
    Ok((id, None))
}
