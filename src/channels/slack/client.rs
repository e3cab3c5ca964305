//! The Slack Web API methods the bot uses, with slack-morphism's request and response models:
//! chat.postMessage, chat.update, response URLs, and the files v2 upload flow
//! (files.getUploadURLExternal, the upload, files.completeUploadExternal). Our reqwest client
//! sends them (one attempt each; the outbox retries).

use crate::channels::ChannelError;
use crate::channels::wire::send;
use crate::config::Secret;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use slack_morphism::prelude::{
    SlackApiChatPostMessageRequest, SlackApiChatPostMessageResponse, SlackApiChatUpdateRequest, SlackApiFilesComplete,
    SlackApiFilesCompleteUploadExternalRequest, SlackApiFilesGetUploadUrlExternalRequest,
    SlackApiFilesGetUploadUrlExternalResponse, SlackApiPostWebhookMessageRequest, SlackChannelId, SlackMessageContent,
    SlackTs,
};

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
    async fn call(&self, method: &str, body: &impl Serialize) -> Result<Value, ChannelError> {
        let request = self.http.post(format!("{}/{method}", self.base)).bearer_auth(self.token.expose()).json(body);
        ok(send(request, "Slack").await?)
    }

    /// A form-encoded call (files.getUploadURLExternal takes its arguments this way).
    async fn call_form(&self, method: &str, form: &impl Serialize) -> Result<Value, ChannelError> {
        let request = self.http.post(format!("{}/{method}", self.base)).bearer_auth(self.token.expose()).form(form);
        ok(send(request, "Slack").await?)
    }

    /// Posts a message; returns its `ts`.
    pub async fn post_message(&self, channel: &str, content: SlackMessageContent) -> Result<String, ChannelError> {
        let request = SlackApiChatPostMessageRequest::new(SlackChannelId::new(channel.to_owned()), content)
            .with_unfurl_links(false)
            .with_unfurl_media(false);
        let answer = self.call("chat.postMessage", &request).await?;
        // The message is out: read its ts however the answer is shaped, or a retry posts it twice.
        match decode::<SlackApiChatPostMessageResponse>("chat.postMessage", &answer) {
            Ok(posted) => Ok(posted.ts.0),
            Err(_) => answer
                .get("ts")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ChannelError::Rejected("chat.postMessage answered without a ts".into())),
        }
    }

    pub async fn update(&self, channel: &str, ts: &str, content: SlackMessageContent) -> Result<(), ChannelError> {
        let request = SlackApiChatUpdateRequest::new(
            SlackChannelId::new(channel.to_owned()),
            content,
            SlackTs::new(ts.to_owned()),
        );
        self.call("chat.update", &request).await.map(|_| ())
    }

    /// Answers through an interaction's or command's `response_url` (no token needed), seen
    /// only by the person who asked.
    pub async fn respond(&self, url: &str, content: SlackMessageContent, replace: bool) -> Result<(), ChannelError> {
        #[derive(Serialize)]
        struct Ephemeral {
            #[serde(flatten)]
            message: SlackApiPostWebhookMessageRequest,
            response_type: &'static str,
        }
        let body = Ephemeral {
            message: SlackApiPostWebhookMessageRequest::new(content).with_replace_original(replace),
            response_type: "ephemeral",
        };
        let (status, answer) = send(self.http.post(url).json(&body), "Slack").await?;
        if status >= 400 {
            return Err(ChannelError::Rejected(format!("response_url answered {status}: {answer}")));
        }
        Ok(())
    }

    /// Uploads a PNG into `channel` with the files v2 flow.
    pub async fn upload_png(&self, channel: &str, filename: &str, title: &str, png: &[u8]) -> Result<(), ChannelError> {
        let ticket = SlackApiFilesGetUploadUrlExternalRequest::new(filename.to_owned(), png.len())
            .with_alt_txt(title.to_owned());
        let answer = self.call_form("files.getUploadURLExternal", &ticket).await?;
        let ticket: SlackApiFilesGetUploadUrlExternalResponse = decode("files.getUploadURLExternal", &answer)?;
        let (status, answer) = send(self.http.post(ticket.upload_url.0.as_str()).body(png.to_vec()), "Slack").await?;
        if status >= 400 {
            return Err(ChannelError::Rejected(format!("the upload answered {status}: {answer}")));
        }
        let complete = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(ticket.file_id).with_title(title.to_owned()),
        ])
        .with_channel_id(SlackChannelId::new(channel.to_owned()));
        self.call("files.completeUploadExternal", &complete).await.map(|_| ())
    }
}

/// Reads a successful answer into its model; an answer Slack shaped differently is refused
/// (permanently: trying again gets the same answer).
fn decode<T: DeserializeOwned>(method: &str, answer: &Value) -> Result<T, ChannelError> {
    serde_json::from_value(answer.clone())
        .map_err(|e| ChannelError::Rejected(format!("{method} answered in a shape Tillpilot does not know: {e}")))
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
