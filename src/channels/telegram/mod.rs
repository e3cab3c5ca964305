//! Telegram.
//!
//! Contract (see the shared PLATFORMS notes, section 6, and core.telegram.org/bots/api):
//! - Requests: `{api_url}/bot<token>/METHOD` (method names are case-insensitive); answers are
//!   `{"ok": true, "result"}` or `{"ok": false, "error_code", "description", "parameters"}`.
//! - Ingress: long polling (`getUpdates`, the default: no public URL needed), or webhook mode
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

use crate::app::App;
use crate::channels::{Channel, ChannelError, ChannelKind, MessageRef, Reply};
use async_trait::async_trait;
use base64::Engine;
use client::TelegramClient;
use std::sync::Arc;
use std::time::Duration;

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

/// How long one getUpdates call waits for something to happen.
const POLL_WAIT: Duration = Duration::from_secs(25);

/// Long polling: records every update in the inbox (so it is processed once, even across a
/// restart), then asks for the next ones. Runs until `stop` changes.
pub async fn poll(app: Arc<App>, client: TelegramClient, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut offset = 0;
    let mut pause = Duration::from_secs(1);
    loop {
        let batch = tokio::select! {
            batch = client.get_updates(offset, POLL_WAIT) => batch,
            _ = stop.changed() => return,
        };
        match batch {
            Ok(updates) => {
                pause = Duration::from_secs(1);
                let mut events = Vec::new();
                let mut next = offset;
                for update in &updates {
                    match webhook::parse_update(update) {
                        Ok((id, event)) => {
                            next = next.max(id + 1);
                            events.extend(event.map(|e| super::inbox_event("telegram", id.to_string(), &e)));
                        }
                        Err(err) => tracing::warn!(error = %err, "an unreadable Telegram update was skipped"),
                    }
                }
                // Telegram forgets updates below the offset we send next, so it moves on only once
                // they are safely recorded.
                match super::record(&app.store, &events).await {
                    Ok(()) => offset = next,
                    Err(err) => {
                        tracing::error!(error = %err, "could not record Telegram updates; asking again");
                        tokio::time::sleep(pause).await;
                    }
                }
            }
            Err(ChannelError::RateLimited(wait)) => tokio::time::sleep(wait).await,
            Err(err) => {
                tracing::warn!(error = %err, "Telegram polling failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(60));
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}
