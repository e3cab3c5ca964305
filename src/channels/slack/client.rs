//! The Slack Web API methods the bot uses: chat.postMessage, chat.update, response URLs, and
//! the files v2 upload flow (files.getUploadURLExternal, the upload, files.completeUploadExternal).

use crate::channels::ChannelError;
use crate::channels::wire::send;
use crate::config::Secret;
use serde_json::{Value, json};

pub struct SlackClient {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

impl SlackClient {
    pub fn new(base: &str, token: Secret) -> Result<SlackClient, ChannelError> {
        Ok(SlackClient { http: super::super::wire::client()?, base: base.trim_end_matches('/').to_owned(), token })
    }

    /// Calls a method with a JSON body; Slack answers `{"ok": false, "error": ...}` with 200.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, ChannelError> {
        let request = self.http.post(format!("{}/{method}", self.base)).bearer_auth(self.token.expose()).json(body);
        ok(send(request, "Slack").await?)
    }

    /// A form-encoded call (files.getUploadURLExternal takes its arguments this way).
    async fn call_form(&self, method: &str, form: &[(&str, String)]) -> Result<Value, ChannelError> {
        let request = self.http.post(format!("{}/{method}", self.base)).bearer_auth(self.token.expose()).form(form);
        ok(send(request, "Slack").await?)
    }

    /// Posts a message; returns its `ts`.
    pub async fn post_message(&self, channel: &str, message: &Value) -> Result<String, ChannelError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        let answer = self.call("chat.postMessage", &body).await?;
        answer
            .get("ts")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ChannelError::Rejected("chat.postMessage answered without a ts".into()))
    }

    pub async fn update(&self, channel: &str, ts: &str, message: &Value) -> Result<(), ChannelError> {
        let mut body = message.clone();
        body["channel"] = json!(channel);
        body["ts"] = json!(ts);
        self.call("chat.update", &body).await.map(|_| ())
    }

    /// Answers through an interaction's or command's `response_url` (no token needed).
    pub async fn respond(&self, url: &str, message: &Value, replace: bool) -> Result<(), ChannelError> {
        let mut body = message.clone();
        body["replace_original"] = json!(replace);
        body["response_type"] = json!("ephemeral");
        let (status, answer) = send(self.http.post(url).json(&body), "Slack").await?;
        if status >= 400 {
            return Err(ChannelError::Rejected(format!("response_url answered {status}: {answer}")));
        }
        Ok(())
    }

    /// Uploads a PNG into `channel` with the files v2 flow.
    pub async fn upload_png(&self, channel: &str, filename: &str, title: &str, png: &[u8]) -> Result<(), ChannelError> {
        let ticket = self
            .call_form(
                "files.getUploadURLExternal",
                &[("filename", filename.to_owned()), ("length", png.len().to_string())],
            )
            .await?;
        let (Some(url), Some(file_id)) =
            (ticket.get("upload_url").and_then(Value::as_str), ticket.get("file_id").and_then(Value::as_str))
        else {
            return Err(ChannelError::Rejected("files.getUploadURLExternal answered without upload_url".into()));
        };
        let (status, answer) = send(self.http.post(url).body(png.to_vec()), "Slack").await?;
        if status >= 400 {
            return Err(ChannelError::Rejected(format!("the upload answered {status}: {answer}")));
        }
        let files = json!([{ "id": file_id, "title": title }]).to_string();
        self.call("files.completeUploadExternal", &json!({ "files": files, "channel_id": channel })).await.map(|_| ())
    }
}

/// Slack's envelope: `ok` or an error code; `ratelimited` is transient.
fn ok((status, body): (u16, Value)) -> Result<Value, ChannelError> {
    if body.get("ok").and_then(Value::as_bool) == Some(true) {
        return Ok(body);
    }
    let error = body.get("error").and_then(Value::as_str).unwrap_or("no error code").to_owned();
    match error.as_str() {
        "ratelimited" | "rate_limited" => Err(ChannelError::RateLimited(std::time::Duration::from_secs(1))),
        "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
            Err(ChannelError::Unavailable(error))
        }
        _ => Err(ChannelError::Rejected(format!("Slack ({status}): {error}"))),
    }
}
