//! The Telegram Bot API methods the bot uses: sendMessage, editMessageText, sendPhoto,
//! answerCallbackQuery and getUpdates. Every answer is `{"ok": …}`; flood control is 429 with
//! `parameters.retry_after`.

use crate::channels::ChannelError;
use crate::channels::wire::send;
use crate::config::Secret;
use serde_json::{Value, json};
use std::time::Duration;

pub struct TelegramClient {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

impl TelegramClient {
    pub fn new(api_url: &str, token: Secret) -> Result<TelegramClient, ChannelError> {
        Ok(TelegramClient {
            http: super::super::wire::client()?,
            base: api_url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    fn url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base, self.token.expose())
    }

    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, ChannelError> {
        let answer = send(self.http.post(self.url(method)).json(body), "Telegram").await;
        // The token is in the URL: make sure no error carries it.
        result(answer.map_err(|e| redact(e, self.token.expose()))?)
    }

    pub async fn send_message(&self, chat: &str, message: &Value) -> Result<String, ChannelError> {
        let mut body = message.clone();
        body["chat_id"] = json!(chat);
        let sent = self.call("sendMessage", &body).await?;
        sent.get("message_id")
            .and_then(Value::as_i64)
            .map(|id| id.to_string())
            .ok_or_else(|| ChannelError::Rejected("sendMessage answered without a message_id".into()))
    }

    pub async fn edit_message(&self, chat: &str, message_id: &str, message: &Value) -> Result<(), ChannelError> {
        let mut body = message.clone();
        body["chat_id"] = json!(chat);
        body["message_id"] = json!(message_id.parse::<i64>().unwrap_or_default());
        match self.call("editMessageText", &body).await {
            // Editing to the same content is not an error for us.
            Err(ChannelError::Rejected(e)) if e.contains("message is not modified") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    pub async fn send_photo(&self, chat: &str, png: Vec<u8>, caption: &str) -> Result<(), ChannelError> {
        let part = reqwest::multipart::Part::bytes(png)
            .file_name("chart.png")
            .mime_str("image/png")
            .map_err(|e| ChannelError::Rejected(e.to_string()))?;
        let form = reqwest::multipart::Form::new()
            .text("chat_id", chat.to_owned())
            .text("caption", caption.to_owned())
            .part("photo", part);
        let answer = send(self.http.post(self.url("sendPhoto")).multipart(form), "Telegram").await;
        result(answer.map_err(|e| redact(e, self.token.expose()))?).map(|_| ())
    }

    pub async fn answer_callback(&self, callback_id: &str, text: &str) -> Result<(), ChannelError> {
        let text: String = text.chars().take(200).collect();
        self.call("answerCallbackQuery", &json!({ "callback_query_id": callback_id, "text": text })).await.map(|_| ())
    }

    /// Long-polls for updates after `offset`, waiting up to `wait` for one.
    pub async fn get_updates(&self, offset: i64, wait: Duration) -> Result<Vec<Value>, ChannelError> {
        let body =
            json!({ "offset": offset, "timeout": wait.as_secs(), "allowed_updates": ["message", "callback_query"] });
        let request = self.http.post(self.url("getUpdates")).timeout(wait + Duration::from_secs(10)).json(&body);
        let answer = result(send(request, "Telegram").await.map_err(|e| redact(e, self.token.expose()))?)?;
        Ok(answer.as_array().cloned().unwrap_or_default())
    }
}

fn redact(error: ChannelError, token: &str) -> ChannelError {
    match error {
        ChannelError::Unavailable(text) => ChannelError::Unavailable(text.replace(token, "[redacted]")),
        ChannelError::Rejected(text) => ChannelError::Rejected(text.replace(token, "[redacted]")),
        other => other,
    }
}

fn result((status, body): (u16, Value)) -> Result<Value, ChannelError> {
    if body.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(body.get("result").cloned().unwrap_or(Value::Null));
    }
    let description = body.get("description").and_then(Value::as_str).unwrap_or("no description");
    Err(ChannelError::Rejected(format!("Telegram ({status}): {description}")))
}
