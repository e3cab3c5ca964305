//! Discord, over HTTP interactions (no gateway connection).
//!
//! Contract (see the shared PLATFORMS notes, section 7, and discord.com/developers/docs):
//! - Ingress: `POST /discord/interactions`. Headers `X-Signature-Ed25519` (hex) and
//!   `X-Signature-Timestamp`; Ed25519 over timestamp + raw body with the application's public
//!   key; any bad signature gets 401 (Discord sends deliberate bad ones to check). We also
//!   refuse timestamps more than 300 s off.
//! - PING (type 1) → PONG `{"type": 1}`. Slash commands (type 2) are answered within 3 s with
//!   a deferred response (type 5) and completed by editing `@original` through the interaction
//!   webhook; button presses (type 3) with a deferred update (type 6).
//! - Dedupe key: the interaction id.
//! - REST: `{base}/api/v10/...`, `Authorization: Bot <token>`; proactive posts go to
//!   `POST /channels/{id}/messages`; 429 carries `retry_after` (seconds) and `Retry-After`.

pub mod client;
pub mod mapping;
pub mod webhook;

use crate::channels::{Channel, ChannelError, ChannelKind, MessageRef, Reply};
use async_trait::async_trait;
use base64::Engine;
use client::DiscordClient;

pub struct DiscordChannel {
    pub client: DiscordClient,
}

#[async_trait]
impl Channel for DiscordChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Discord
    }

    async fn post(&self, target: &str, reply: &Reply) -> Result<String, ChannelError> {
        match &reply.image {
            Some(image) => {
                let png = base64::engine::general_purpose::STANDARD
                    .decode(&image.png_base64)
                    .map_err(|e| ChannelError::Rejected(format!("the chart is not base64: {e}")))?;
                self.client.create_message_with_png(target, &mapping::render(reply), png, "chart.png").await
            }
            None => self.client.create_message(target, &mapping::render(reply)).await,
        }
    }

    async fn edit(&self, message: &MessageRef, reply: &Reply) -> Result<(), ChannelError> {
        self.client.edit_message(&message.target, &message.id, &mapping::render(reply)).await
    }

    async fn respond(&self, url: &str, reply: &Reply, _replace: bool) -> Result<(), ChannelError> {
        self.client.interaction_reply(url, &mapping::render(reply)).await
    }
}
