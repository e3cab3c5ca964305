//! Slack.
//!
//! Contract (see the shared PLATFORMS notes, section 5, and docs.slack.dev):
//! - Ingress: `POST /slack/events` (Events API: `url_verification`, `app_mention`, direct
//!   messages), `/slack/commands` (`/tillpilot TEXT`), `/slack/interactions` (`block_actions`).
//! - Signature: `X-Slack-Signature` = `v0=` + hex HMAC-SHA256(signing secret,
//!   `v0:{X-Slack-Request-Timestamp}:{raw body}`); requests more than 300 s off are refused.
//! - Ack: 200 within 3 s, so work happens after the ack and answers go out through the outbox
//!   (chat.postMessage, or the command's `response_url`).
//! - Retries: up to 3, with `X-Slack-Retry-Num`; dedupe on `event_id` (commands on
//!   `trigger_id`, clicks on user + `action_ts`).
//! - Web API: `Authorization: Bearer xoxb-…`; errors are `{"ok": false, "error"}` with 200;
//!   429 with `Retry-After`; about one message per second per channel.
//! - Images: files v2 (`files.getUploadURLExternal`, upload, `files.completeUploadExternal`).
//! - Socket Mode (with an app-level `xapp-` token) replaces the three URLs for shops without a
//!   public address (socket.rs).

pub mod client;
pub mod mapping;
pub mod webhook;

use crate::channels::{Channel, ChannelError, ChannelKind, MessageRef, Reply};
use async_trait::async_trait;
use base64::Engine;
use client::SlackClient;

pub struct SlackChannel {
    client: SlackClient,
}

impl SlackChannel {
    pub fn new(client: SlackClient) -> SlackChannel {
        SlackChannel { client }
    }
}

#[async_trait]
impl Channel for SlackChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Slack
    }

    async fn post(&self, target: &str, reply: &Reply) -> Result<String, ChannelError> {
        let ts = self.client.post_message(target, mapping::render(reply)).await?;
        if let Some(image) = &reply.image {
            let png = base64::engine::general_purpose::STANDARD
                .decode(&image.png_base64)
                .map_err(|e| ChannelError::Rejected(format!("the chart is not base64: {e}")))?;
            // The message is out; a failed upload must not post it again on retry.
            if let Err(err) = self.client.upload_png(target, "chart.png", &image.alt, &png).await {
                tracing::warn!(error = %err, "the chart did not upload to Slack");
            }
        }
        Ok(ts)
    }

    async fn edit(&self, message: &MessageRef, reply: &Reply) -> Result<(), ChannelError> {
        self.client.update(&message.target, &message.id, mapping::render(reply)).await
    }

    async fn respond(&self, url: &str, reply: &Reply, replace: bool) -> Result<(), ChannelError> {
        self.client.respond(url, mapping::render(reply), replace).await
    }
}
