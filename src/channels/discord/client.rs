//! The Discord REST calls the bot makes, with serenity's builders as bodies: create and edit
//! channel messages, and complete an interaction through its webhook. `Authorization: Bot
//! <token>`; 429 says how long to wait. Our reqwest client sends (serenity's own HTTP client
//! and ratelimiter lose `retry_after`), one attempt per call: the outbox retries.

use super::mapping::Rendered;
use crate::channels::ChannelError;
use crate::channels::wire::send;
use crate::config::Secret;
use serde::Serialize;
use serde_json::Value;

pub struct DiscordClient {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

impl DiscordClient {
    pub fn new(base: &str, token: Secret) -> Result<DiscordClient, ChannelError> {
        Ok(DiscordClient { http: super::super::wire::client()?, base: base.trim_end_matches('/').to_owned(), token })
    }

    pub fn api_base(&self) -> &str {
        &self.base
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ChannelError> {
        let request = request
            .header("Authorization", format!("Bot {}", self.token.expose()))
            .header("User-Agent", "DiscordBot (https://github.com/tillpilot/tillpilot, 0.1)");
        let (status, body) = send(request, "Discord").await?;
        if status >= 400 {
            let message = body.get("message").and_then(Value::as_str).unwrap_or("no message");
            return Err(ChannelError::Rejected(format!("Discord ({status}): {message}")));
        }
        Ok(body)
    }

    fn message_id(body: &Value) -> Result<String, ChannelError> {
        body.get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ChannelError::Rejected("create message answered without an id".into()))
    }

    pub async fn create_message(&self, channel: &str, message: &Rendered) -> Result<String, ChannelError> {
        let url = format!("{}/api/v10/channels/{channel}/messages", self.base);
        let body = self.call(self.http.post(url).json(&message.create())).await?;
        Self::message_id(&body)
    }

    /// Creates a message with a PNG attached (multipart: `payload_json` plus `files[0]`), shown
    /// in the message's first embed.
    pub async fn create_message_with_png(
        &self,
        channel: &str,
        message: &Rendered,
        png: Vec<u8>,
        filename: &str,
    ) -> Result<String, ChannelError> {
        let payload = json_text(&message.create_with_png(png.clone(), filename))?;
        let part = reqwest::multipart::Part::bytes(png)
            .file_name(filename.to_owned())
            .mime_str("image/png")
            .map_err(|e| ChannelError::Rejected(e.to_string()))?;
        let form = reqwest::multipart::Form::new().text("payload_json", payload).part("files[0]", part);
        let url = format!("{}/api/v10/channels/{channel}/messages", self.base);
        let body = self.call(self.http.post(url).multipart(form)).await?;
        Self::message_id(&body)
    }

    pub async fn edit_message(&self, channel: &str, id: &str, message: &Rendered) -> Result<(), ChannelError> {
        let url = format!("{}/api/v10/channels/{channel}/messages/{id}", self.base);
        self.call(self.http.patch(url).json(&message.edit())).await.map(|_| ())
    }

    /// Completes an interaction through its webhook URL: edits the deferred original response,
    /// or posts a follow-up only the person who pressed sees.
    pub async fn interaction_reply(&self, url: &str, message: &Rendered) -> Result<(), ChannelError> {
        if url.ends_with("/messages/@original") {
            return self.call(self.http.patch(url).json(&message.edit_response())).await.map(|_| ());
        }
        self.call(self.http.post(url).json(&message.followup())).await.map(|_| ())
    }
}

fn json_text(body: &impl Serialize) -> Result<String, ChannelError> {
    serde_json::to_string(body).map_err(|e| ChannelError::Rejected(format!("the message does not serialise: {e}")))
}
