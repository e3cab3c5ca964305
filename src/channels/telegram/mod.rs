//! Telegram.
//!
//! Contract (see the shared PLATFORMS notes, section 6, and core.telegram.org/bots/api):
//! - Requests: `{api_url}/bot<token>/METHOD` (method names are case-insensitive); answers are
//!   `{"ok": true, "result"}` or `{"ok": false, "error_code", "description", "parameters"}`.
//! - Ingress: long polling (`getUpdates`, the default: no public URL needed; the loop is
//!   `jobs::telegram_polling`), or webhook mode
//!   at `POST /telegram/webhook`, where every delivery carries `X-Telegram-Bot-Api-Secret-Token`
//!   (the `secret_token` given to setWebhook), compared in constant time.
//! - Dedupe key: `update_id`.
//! - Buttons: inline keyboards; a press is a callback query, answered with
//!   answerCallbackQuery, and the message is edited with editMessageText after a decision.
//! - Flood control: 429 with `parameters.retry_after`; about 30 messages per second overall
//!   and one per second per chat.

pub mod client;
pub mod mapping;
pub mod webhook;

/// How long one getUpdates call waits for something to happen.
pub const POLL_WAIT: std::time::Duration = std::time::Duration::from_secs(25);

use crate::channels::{Channel, ChannelError, ChannelKind, MessageRef, Reply};
use async_trait::async_trait;
use base64::Engine;
use client::TelegramClient;

pub struct TelegramChannel {
    pub client: TelegramClient,
}

#[async_trait]
impl Channel for TelegramChannel {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Telegram
    }

    async fn post(&self, target: &str, reply: &Reply) -> Result<String, ChannelError> {
        if let Some(image) = &reply.image {
            let png = base64::engine::general_purpose::STANDARD
                .decode(&image.png_base64)
                .map_err(|e| ChannelError::Rejected(format!("the chart is not base64: {e}")))?;
            self.client.send_photo(target, png, &image.alt).await?;
        }
        self.client.send_message(target, &mapping::render(reply)).await
    }

    async fn edit(&self, message: &MessageRef, reply: &Reply) -> Result<(), ChannelError> {
        self.client.edit_message(&message.target, &message.id, &mapping::render(reply)).await
    }

    async fn acknowledge(&self, callback_id: &str, note: &str) -> Result<(), ChannelError> {
        self.client.answer_callback(callback_id, note).await
    }
}
