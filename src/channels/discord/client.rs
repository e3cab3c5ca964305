//! The Discord REST calls the bot makes: create and edit channel messages, and edit an
//! interaction's original response. `Authorization: Bot <token>`; 429 says how long to wait.

use crate::channels::ChannelError;
use crate::channels::wire::send;
use crate::config::Secret;
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

    pub async fn create_message(&self, channel: &str, message: &Value) -> Result<String, ChannelError> {
        let url = format!("{}/api/v10/channels/{channel}/messages", self.base);
        let body = self.call(self.http.post(url).json(message)).await?;
        body.get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ChannelError::Rejected("create message answered without an id".into()))
    }

    /// Creates a message with a PNG attached (multipart: `payload_json` plus `files[0]`), shown
    /// in the message's first embed.
    pub async fn create_message_with_png(
        &self,
        channel: &str,
        message: &Value,
        png: Vec<u8>,
        filename: &str,
    ) -> Result<String, ChannelError> {
        let mut payload = message.clone();
        payload["attachments"] = serde_json::json!([{ "id": 0, "filename": filename }]);
        let image = serde_json::json!({ "url": format!("attachment://{filename}") });
        match payload["embeds"].as_array_mut() {
            Some(embeds) if !embeds.is_empty() => embeds[0]["image"] = image,
            _ => payload["embeds"] = serde_json::json!([{ "image": image }]),
        }
        let part = reqwest::multipart::Part::bytes(png)
            .file_name(filename.to_owned())
            .mime_str("image/png")
            .map_err(|e| ChannelError::Rejected(e.to_string()))?;
        let form = reqwest::multipart::Form::new().text("payload_json", payload.to_string()).part("files[0]", part);
        let url = format!("{}/api/v10/channels/{channel}/messages", self.base);
        let body = self.call(self.http.post(url).multipart(form)).await?;
        body.get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ChannelError::Rejected("create message answered without an id".into()))
    }

    pub async fn edit_message(&self, channel: &str, id: &str, message: &Value) -> Result<(), ChannelError> {
        let url = format!("{}/api/v10/channels/{channel}/messages/{id}", self.base);
        self.call(self.http.patch(url).json(message)).await.map(|_| ())
    }

    /// Completes an interaction through its webhook URL: edits the deferred original response,
    /// or posts a follow-up only the person who pressed sees.
    pub async fn interaction_reply(&self, url: &str, message: &Value) -> Result<(), ChannelError> {
        if url.ends_with("/messages/@original") {
            return self.call(self.http.patch(url).json(message)).await.map(|_| ());
        }
        let mut followup = message.clone();
        followup["flags"] = serde_json::json!(64);
        self.call(self.http.post(url).json(&followup)).await.map(|_| ())
    }
}
