//! Telegram updates: verification of webhook deliveries, and parsing of messages and button
//! presses (callback queries) from webhook or long-polling updates alike.

use crate::channels::{ChannelKind, ChatAction, ChatEvent, MessageRef};
use crate::config::{TelegramConfig, TelegramMode};
use crate::inbound::{Headers, Ingress, WebhookError};
use crate::signature::secrets_equal;
use serde_json::Value;
use teloxide_core::types::{Update, UpdateKind};

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The `secret_token` given to setWebhook, compared in constant time.
pub fn verify(expected: &str, given: Option<&str>) -> Result<(), WebhookError> {
    match given {
        Some(given) if secrets_equal(given.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(WebhookError::BadSignature),
    }
}

/// Reads a webhook delivery: one update as JSON.
pub fn read_update(body: &[u8]) -> Result<Update, WebhookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(format!("a Telegram update: {e}")))?;
    parse(&with_later_fields(value)).map_err(|e| WebhookError::Malformed(format!("a Telegram update: {e}")))
}

/// teloxide-core reads updates from text only (its model borrows keys as it reads them).
fn parse(value: &Value) -> Result<Update, serde_json::Error> {
    serde_json::from_str(&value.to_string())
}

/// Fields the Bot API has sent for years but that older clients and the documentation's
/// examples leave out (a user's `is_bot`, a chat's `type`, a button press's `chat_instance`),
/// which teloxide-core's model
/// requires, filled in before reading: a private chat for a person's id, a group otherwise.
fn with_later_fields(mut update: Value) -> Value {
    if let Some(query) = update.pointer_mut("/callback_query").and_then(Value::as_object_mut) {
        query.entry("chat_instance").or_insert(Value::String(String::new()));
    }
    for pointer in ["/message", "/edited_message", "/callback_query/message", "/callback_query"] {
        let Some(object) = update.pointer_mut(pointer).and_then(Value::as_object_mut) else { continue };
        if let Some(from) = object.get_mut("from").and_then(Value::as_object_mut) {
            from.entry("is_bot").or_insert(Value::Bool(false));
            from.entry("first_name").or_insert(Value::String(String::new()));
        }
        if let Some(chat) = object.get_mut("chat").and_then(Value::as_object_mut) {
            let person = chat.get("id").and_then(Value::as_i64).is_some_and(|id| id > 0);
            chat.entry("type").or_insert(Value::String(if person { "private" } else { "group" }.into()));
        }
    }
    update
}

/// An update the model could not read as it came, read again with the fields older payloads
/// lack filled in.
fn reread(update: &Update) -> Option<Update> {
    let UpdateKind::Error(raw) = &update.kind else { return None };
    let again = parse(&with_later_fields(raw.clone())).ok()?;
    (!matches!(again.kind, UpdateKind::Error(_))).then_some(again)
}

/// `/stock oat milk` and `/stock@ShopBot oat milk` are commands (`/start` is help); the rest is
/// said as is.
fn typed(text: &str) -> String {
    match text.strip_prefix('/') {
        Some(command) => {
            let (head, rest) = command.split_once(' ').unwrap_or((command, ""));
            let name = head.split('@').next().unwrap_or(head);
            if name == "start" { "help".to_owned() } else { format!("{name} {rest}").trim().to_owned() }
        }
        None => text.to_owned(),
    }
}

/// What a person did in an update, from webhook or long polling alike (None for updates we do
/// not act on, and for those teloxide-core's model could not read, which are kept as received).
pub fn chat_event(update: &Update) -> Option<ChatEvent> {
    if let Some(again) = reread(update) {
        return chat_event(&again);
    }
    match &update.kind {
        UpdateKind::Message(message) => {
            let user = message.from.as_ref()?;
            Some(ChatEvent {
                channel: ChannelKind::Telegram,
                user: user.id.0.to_string(),
                conversation: message.chat.id.0.to_string(),
                what: ChatAction::Said { text: typed(message.text()?) },
                respond_url: None,
                thread: message.reply_to_message().map(|m| m.id.0.to_string()),
            })
        }
        UpdateKind::CallbackQuery(query) => {
            let data = query.data.clone()?;
            let user = query.from.id.0.to_string();
            let conversation = query.message.as_ref().map_or_else(|| user.clone(), |m| m.chat().id.0.to_string());
            Some(ChatEvent {
                channel: ChannelKind::Telegram,
                user,
                conversation: conversation.clone(),
                what: ChatAction::Clicked {
                    action: data,
                    message: query.message.as_ref().map(|m| MessageRef {
                        channel: ChannelKind::Telegram,
                        target: conversation,
                        id: m.id().0.to_string(),
                    }),
                    callback_id: Some(query.id.0.clone()),
                },
                respond_url: None,
                thread: None,
            })
        }
        UpdateKind::Error(raw) => {
            tracing::warn!(update = update.id.0, fields = ?raw.as_object().map(|o| o.keys().collect::<Vec<_>>()), "kept a Telegram update the model could not read");
            None
        }
        _ => None,
    }
}

/// The inbox row for an update: chat events as such, anything else kept as received.
pub fn inbox_event(update: &Update, raw: impl FnOnce() -> String) -> crate::inbound::WebhookEvent {
    let id = update.id.0.to_string();
    match chat_event(update) {
        Some(event) => crate::channels::inbox_event("telegram", id, &event),
        None => crate::inbound::WebhookEvent {
            source: "telegram",
            event_id: id,
            event_type: "telegram.other".into(),
            object_id: None,
            payload: raw(),
        },
    }
}

/// A delivery to `POST /telegram/webhook`, in webhook mode only: the secret token given to
/// setWebhook, then one update, recorded whatever it holds so the offset logic of Telegram's
/// redelivery never loses one.
pub fn ingest(config: &TelegramConfig, headers: &dyn Headers, body: &[u8]) -> Result<Ingress, WebhookError> {
    let secret = Some(config)
        .filter(|t| t.mode == TelegramMode::Webhook)
        .and_then(|t| t.webhook_secret.as_ref())
        .ok_or(WebhookError::NotConfigured)?;
    verify(secret.expose(), headers.header(SECRET_HEADER))?;
    let update = read_update(body)?;
    Ok(Ingress::record(vec![inbox_event(&update, || String::from_utf8_lossy(body).into_owned())]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documentation_example_reads_as_a_message() {
        let body = include_bytes!("../../../tests/fixtures/telegram/update_message_text.json");
        let value: Value = serde_json::from_slice(body).unwrap();
        let patched = with_later_fields(value);
        let update = parse(&patched).unwrap();
        assert!(!matches!(update.kind, UpdateKind::Error(_)), "{:?} {}", update.kind, patched);
        assert_eq!(chat_event(&update).map(|e| e.what), Some(ChatAction::Said { text: "help".into() }));
    }
}
