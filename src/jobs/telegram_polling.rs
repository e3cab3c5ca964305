//! Telegram long polling: `getUpdates` in a loop, every update recorded in the inbox before
//! the offset moves past it, so an update is processed once even across a restart.

use crate::channels::telegram::client::TelegramClient;
use crate::channels::{ChannelError, record, telegram};
use crate::store::Store;
use std::time::Duration;

use crate::channels::telegram::POLL_WAIT;

/// Long polling: records every update in the inbox (so it is processed once, even across a
/// restart), then asks for the next ones. Runs until `stop` changes.
pub async fn poll(store: Store, client: TelegramClient, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut offset = 0;
    let mut pause = Duration::from_secs(1);
    loop {
        let batch = tokio::select! {
            batch = client.get_updates(i32::try_from(offset).unwrap_or(i32::MAX), POLL_WAIT) => batch,
            _ = stop.changed() => return,
        };
        match batch {
            Ok(updates) => {
                pause = Duration::from_secs(1);
                // Every update is recorded, read or not, so the offset can move past it.
                let next = updates.iter().map(|u| i64::from(u.id.0) + 1).max().unwrap_or(offset).max(offset);
                let events: Vec<_> = updates
                    .iter()
                    .map(|u| telegram::webhook::inbox_event(u, || serde_json::to_string(u).unwrap_or_default()))
                    .collect();
                // Telegram forgets updates below the offset we send next, so it moves on only once
                // they are safely recorded.
                match record(&store, &events).await {
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
